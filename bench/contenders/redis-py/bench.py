"""redis-py's own Lock (redis.lock.Lock), library defaults: acquire() blocks
(blocking=True, no blocking_timeout) by trying SET NX PX and sleeping
sleep=0.1 s between tries; release() is a compare-and-delete script."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import redis  # noqa: E402
import harness  # noqa: E402


def make(client, name):
    lock = client.lock(name, timeout=harness.TTL_S)

    def acquire():
        if not lock.acquire():
            raise RuntimeError("acquire returned False")
        return lock

    def release(held):
        held.release()

    return acquire, release


harness.main("redis-py %s Lock (sleep 0.1 s polling)" % redis.__version__, make)
