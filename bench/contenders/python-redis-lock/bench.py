"""python-redis-lock (redis_lock.Lock), library defaults: acquire() blocks
(blocking=True, no timeout), waking on its signal list (BLPOP, the releaser
LPUSHes one token) with the lock's expire as BLPOP timeout; auto_renewal off
(its default). A Lock instance is one acquisition, so each acquire makes one."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import redis_lock  # noqa: E402
import harness  # noqa: E402


def make(client, name):
    def acquire():
        lock = redis_lock.Lock(client, name, expire=harness.TTL_S)
        if not lock.acquire(blocking=True):
            raise RuntimeError("acquire returned False")
        return lock

    def release(held):
        held.release()

    return acquire, release


harness.main("python-redis-lock %s" % redis_lock.__version__, make)
