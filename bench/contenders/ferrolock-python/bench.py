"""ferrolock's Python package, synchronous API, on Redis: `lock.acquire()`
(blocking, waits as long as needed; woken by release notices, FIFO queue)
and `held.release()`. ttl 10 s; renewal off for the pair (as the contract
asks), on (the default) for the workers."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ferrolock  # noqa: E402
import harness  # noqa: E402

_url = sys.argv[sys.argv.index("--url") + 1]
_pair = sys.argv[1] == "pair"
_locks = ferrolock.connect(_url)


def make(_client, name):
    lock = _locks.lock(name, ttl=harness.TTL_S, timeout=None, auto_renew=not _pair)

    def acquire():
        return lock.acquire()

    def release(held):
        if not held.release():
            raise RuntimeError("release found the lock lost")

    return acquire, release


harness.main("ferrolock-python %s (sync API)" % ferrolock.__version__, make)
