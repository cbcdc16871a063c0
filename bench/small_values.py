#!/usr/bin/env python3
"""Throughput on small sets and sorted sets (intset and listpack encodings) against
redis-server, in one run: set up as bench/run.py (same CPU quota, interleaved runs, medians).

redis-benchmark's own SADD and ZADD tests grow one big set each (hashtable, skiplist), so
they do not exercise the compact encodings; these commands spread over 100,000 keys
(``-r``) do: ZADD of one member to a random small key (listpack), ZSCORE and ZRANK in
those keys, and ZRANGE over a whole 100-member listpack sorted set. SADD to a random small
key is there too, though as hashtables: redis-benchmark's ``__rand_int__`` is zero-padded,
not a canonical integer, so neither server makes an intset of it.

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
COMMANDS = {
    "sadd-small": ("SADD", "ss:__rand_int__", "__rand_int__"),
    "zadd-listpack": ("ZADD", "zs:__rand_int__", "__rand_int__", "m:__rand_int__"),
    "zscore-listpack": ("ZSCORE", "zs:__rand_int__", "m:__rand_int__"),
    "zrank-listpack": ("ZRANK", "zs:__rand_int__", "m:__rand_int__"),
    "zrange100": ("ZRANGE", "zset:100", "0", "99"),
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
                name: run_command(port, pipeline, args.requests, args.clients, KEYS, *cmd)
                for name, cmd in COMMANDS.items()})
    finally:
        quota.remove()
    print(f"\nrequests/s, median of {args.repeat}; -c {args.clients} -n {args.requests} -r {KEYS}")
    ratio_table(results, pipelines_of(args), 16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
