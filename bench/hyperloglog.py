#!/usr/bin/env python3
"""HyperLogLog throughput of a redslot node against Debian's redis-server, in one run.

Set up as bench/run.py (whose pieces this reuses): both servers pinned to one core inside
the same CPU quota, redis-benchmark pinned to the other core, runs interleaved, medians of
--repeat runs. redis-benchmark replaces each ``__rand_int__`` with a random number below -r.

    pfadd         PFADD of one random element to a dense HLL (100k elements loaded)
    pfadd-sparse  PFADD of one random element to one of 1000 small (sparse) HLLs
    pfcount       PFCOUNT of that dense HLL (the cached count, as repeated counts are)
    pfcount3      PFCOUNT of three dense HLLs (their union, computed every time)
    pfmerge3      PFMERGE of three dense HLLs into a fourth

    python3 bench/hyperloglog.py           # the full figures (about 2 minutes on 2 cores)
    python3 bench/hyperloglog.py --quick   # a tiny smoke run
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

import redis
from comparison import KINDS, add_options, measure, pipelines_of, ratio_table, servers, write_json
from datatypes import run_command
from run import CpuQuota, tools_present

DENSE_KEYS = ("hll:a", "hll:b", "hll:c")
LOAD_BATCH = 10_000

TESTS: dict[str, tuple[int, tuple[str, ...]]] = {
    # name: (-r keyspace, command)
    "pfadd": (1_000_000, ("PFADD", DENSE_KEYS[0], "element:__rand_int__")),
    "pfadd-sparse": (1000, ("PFADD", "hll:small:__rand_int__", "element:__rand_int__")),
    "pfcount": (1, ("PFCOUNT", DENSE_KEYS[0])),
    "pfcount3": (1, ("PFCOUNT", *DENSE_KEYS)),
    "pfmerge3": (1, ("PFMERGE", "hll:merged", *DENSE_KEYS)),
}


def load(port: int, elements: int) -> None:
    """Three dense HLLs of ``elements`` elements each, overlapping by half."""
    r = redis.Redis(port=port)
    for n, key in enumerate(DENSE_KEYS):
        start = n * elements // 2
        for first in range(start, start + elements, LOAD_BATCH):
            r.pfadd(key, *(b"element:%012d" % i for i in range(first, first + LOAD_BATCH)))
        if r.execute_command("PFDEBUG", "ENCODING", key) != b"dense":
            raise RuntimeError(f"port {port}: {key} did not turn dense")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, requests=50_000)
    ap.add_argument("--elements", type=int, default=100_000, help="elements in each dense HLL")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients, args.repeat, args.elements = 1000, 5, 1, 20_000
    if not tools_present():
        return 2
    pipelines = pipelines_of(args)
    quota = CpuQuota(args.cpu_share)

    def run(port: int, pipeline: int) -> dict[str, float]:
        return {name: run_command(port, pipeline, args.requests, args.clients, keyspace, *command)
                for name, (keyspace, command) in TESTS.items()}

    try:
        with ExitStack() as stack:
            ports = servers(stack, quota)
            print(f"loading three dense HLLs of {args.elements:,} elements", flush=True)
            for kind in KINDS:
                load(ports[kind], args.elements)
            results = measure(ports, pipelines, args.repeat, run)
    finally:
        quota.remove()
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients} -n {args.requests}; "
          f"dense HLLs of {args.elements:,} elements")
    write_json(args, results, ratio_table(results, pipelines, 13))
    return 0

if __name__ == "__main__":
    sys.exit(main())
