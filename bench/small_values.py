#!/usr/bin/env python3
"""Throughput on small sets and sorted sets (intset and listpack encodings) against
redis-server, in one run: set up as bench/run.py (same CPU quota, interleaved runs, medians).

redis-benchmark's own SADD and ZADD tests grow one big set each (hashtable, skiplist), so
they do not exercise the compact encodings; these commands spread over 100,000 keys
(``-r``) do: ZADD of one member to a random small key (listpack), ZSCORE and ZRANK in
those keys, and ZRANGE over a whole 100-member listpack sorted set. SADD to a random small
key is there too, though as hashtables: redis-benchmark's ``__rand_int__`` is zero-padded,
not a canonical integer, so neither server makes an intset of it. HSET, HGET, SADD and
ZADD within one key of 100 fields or members measure the cost of changing a listpack of
that size in place (each write copies it once in both servers).

    python3 bench/small_values.py                # -P 16, 200,000 requests, 3 runs
    python3 bench/small_values.py --quick
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

import redis
from comparison import KINDS, add_options, measure, pipelines_of, ratio_table, servers
from datatypes import run_command
from run import CpuQuota

KEYS = 100_000
# name: (-r, the command). The last four work on one key of 100 members or fields (-r 100),
# which stays compact in both servers (a listpack; a 7.0 redis-server keeps a set of
# strings in a hashtable), and changes or reads one member of it per request.
COMMANDS = {
    "sadd-small": (KEYS, ("SADD", "ss:__rand_int__", "__rand_int__")),
    "zadd-listpack": (KEYS, ("ZADD", "zs:__rand_int__", "__rand_int__", "m:__rand_int__")),
    "zscore-listpack": (KEYS, ("ZSCORE", "zs:__rand_int__", "m:__rand_int__")),
    "zrank-listpack": (KEYS, ("ZRANK", "zs:__rand_int__", "m:__rand_int__")),
    "zrange100": (KEYS, ("ZRANGE", "zset:100", "0", "99")),
    "hset-in-100": (100, ("HSET", "hash:100", "f:__rand_int__", "v:__rand_int__")),
    "hget-in-100": (100, ("HGET", "hash:100", "f:__rand_int__")),
    "sadd-in-100": (100, ("SADD", "set:100", "m:__rand_int__")),
    "zadd-in-100": (100, ("ZADD", "zadd:100", "__rand_int__", "m:__rand_int__")),
}

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, requests=200_000, pipelines="16")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients, args.repeat = 2000, 5, 1
    quota = CpuQuota(args.cpu_share)
    try:
        with ExitStack() as stack:
            ports = servers(stack, quota)
            for kind in KINDS:
                redis.Redis(port=ports[kind]).zadd("zset:100", {b"m%03d" % i: i for i in range(100)})
            results = measure(ports, pipelines_of(args), args.repeat, lambda port, pipeline: {
                name: run_command(port, pipeline, args.requests, args.clients, keyspace, *cmd)
                for name, (keyspace, cmd) in COMMANDS.items()})
    finally:
        quota.remove()
    print(f"\nrequests/s, median of {args.repeat}; -c {args.clients} -n {args.requests} "
          f"-r {KEYS} (the *-in-100 tests: -r 100)")
    ratio_table(results, pipelines_of(args), 16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
