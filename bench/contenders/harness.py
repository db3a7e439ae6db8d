"""The contract of bench/README.md for Python contenders: `pair` and
`worker` loops around one library's acquire and release.

A contender's script calls `main(name, make)`, where `make(client, lock_name)`
returns `(acquire, release)`: `acquire()` takes the lock (blocking, ttl
10 s) and returns what `release(it)` needs.
"""
import argparse
import json
import sys
import time

import redis

TTL_S = 10


def _pair(args, name, make):
    client = redis.Redis.from_url(args.url)
    acquire, release = make(client, "bench-pair-%s-%d" % (name.split()[0], __import__("os").getpid()))
    for _ in range(max(50, args.pairs // 4)):  # warm-up
        release(acquire())
    figures = []
    for _ in range(args.rounds):
        t = time.perf_counter_ns()
        for _ in range(args.pairs):
            release(acquire())
        figures.append((time.perf_counter_ns() - t) / args.pairs)
    print(json.dumps({"name": name, "ns_per_pair": figures}), flush=True)


def _worker(args, make):
    client = redis.Redis.from_url(args.url)
    plain = redis.Redis.from_url(args.url)
    acquire, release = make(client, args.lock)
    plain.ping()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit("expected go")
    records = []
    now = time.time_ns
    for _ in range(args.iterations):
        t0 = now()
        held = acquire()
        t1 = now()
        value = int(plain.get(args.counter) or 0)  # deliberately not atomic
        plain.set(args.counter, value + 1)
        t2 = now()
        release(held)
        records.append((t0, t1, t2))
    out = sys.stdout
    for t0, t1, t2 in records:
        out.write('{"w": %d, "t0": %d, "t1": %d, "t2": %d}\n' % (args.worker, t0, t1, t2))
    out.write("done\n")
    out.flush()


def main(name, make):
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["pair", "worker"])
    p.add_argument("--url", required=True)
    p.add_argument("--pairs", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--lock")
    p.add_argument("--counter")
    p.add_argument("--iterations", type=int)
    p.add_argument("--worker", type=int)
    args = p.parse_args()
    if args.mode == "pair":
        _pair(args, name, make)
    else:
        _worker(args, make)
