#!/usr/bin/env python3
"""A chaos worker in Python: until --until (epoch ms), acquire the lock,
write `begin` and `end` to the fenced store with the fence (a random time in
the critical section between them), release; record every step."""
import argparse
import random
import sys
import time

import ferrolock
from common import Record, Store


def main() -> int:
    ap = argparse.ArgumentParser()
    for a in ("url", "name", "log"):
        ap.add_argument("--" + a, required=True)
    for a in ("ttl-ms", "wait-ms", "hold-ms", "store", "until"):
        ap.add_argument("--" + a, type=int, required=True)
    args = ap.parse_args()
    record, store = Record(args.log, "python"), Store(args.store)
    holder = f"python-{__import__('os').getpid()}"
    with ferrolock.connect(args.url) as locks:
        lock = locks.lock(args.name, ttl=args.ttl_ms / 1000, holder=holder)
        while time.time() * 1000 < args.until:
            start = time.monotonic()
            try:
                held = lock.acquire(args.wait_ms / 1000)
            except ferrolock.LockTimeout:
                record("timeout", waited_ms=(time.monotonic() - start) * 1000)
                continue
            except ferrolock.BackendUnavailable as e:
                record("unavailable", waited_ms=(time.monotonic() - start) * 1000, error=str(e))
                time.sleep(0.05)
                continue
            record("acquired", fence=held.fence, waited_ms=(time.monotonic() - start) * 1000)
            ok_begin = store.write(held.fence, holder, "begin")
            time.sleep(random.uniform(0, args.hold_ms / 1000))
            ok_end = store.write(held.fence, holder, "end")
            try:
                released = held.release()
            except ferrolock.BackendUnavailable as e:
                released = None
                record("release-unavailable", error=str(e))
            record("released", fence=held.fence, ok=released, lost=held.lost, begin=ok_begin, end=ok_end)
    record("exit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
