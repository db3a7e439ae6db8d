#!/usr/bin/env python3
"""The critical section of a chaos worker made of `ferrolock run`: run as
its command, with FERROLOCK_FENCE in the environment. Writes `begin` and
`end` to the fenced store; argv: STORE_PORT LOG HOLD_MS."""
import os
import random
import sys
import time

from common import Record, Store

port, log, hold_ms = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
fence = int(os.environ["FERROLOCK_FENCE"])
holder = f"cli-{os.getppid()}"
record, store = Record(log, "cli"), Store(port)
# The wait began when cli_worker.sh started `ferrolock run` (its process start included).
waited_ms = (time.time_ns() - int(os.environ["FERROLOCK_CHAOS_START"])) / 1e6
record("acquired", fence=fence, runner=os.getppid(), waited_ms=waited_ms)
ok_begin = store.write(fence, holder, "begin")
time.sleep(random.uniform(0, hold_ms / 1000))
ok_end = store.write(fence, holder, "end")
record("body-done", fence=fence, begin=ok_begin, end=ok_end)
