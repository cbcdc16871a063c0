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
import json
import shutil
import statistics
import sys
from contextlib import ExitStack
from pathlib import Path

import redis
from datatypes import KINDS, interleaved, run_command, servers
from run import CpuQuota

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
    ap.add_argument("--requests", type=int, default=50_000, help="requests per test (-n)")
    ap.add_argument("--clients", type=int, default=50, help="connections (-c)")
    ap.add_argument("--pipelines", default="16,1", help="pipeline depths (-P), comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is kept")
    ap.add_argument("--elements", type=int, default=100_000, help="elements in each dense HLL")
    ap.add_argument("--cpu-share", type=float, default=0.5,
                    help="CPU quota for each server, as a fraction of one core")
    ap.add_argument("--quick", action="store_true", help="a tiny smoke run: 1000 requests, 1 run")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients, args.repeat, args.elements = 1000, 5, 1, 20_000
    for tool in ("redis-server", "redis-benchmark", "taskset"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing (apt-get install redis-server redis-tools util-linux)", file=sys.stderr)
            return 2
    pipelines = [int(p) for p in args.pipelines.split(",")]
    quota = CpuQuota(args.cpu_share)
    runs: dict[str, dict[int, list[dict[str, float]]]] = {k: {p: [] for p in pipelines} for k in KINDS}
    try:
        with ExitStack() as stack:
            ports = servers(stack, quota)
            print(f"loading three dense HLLs of {args.elements:,} elements", flush=True)
            for kind in KINDS:
                load(ports[kind], args.elements)
            for pipeline, i, kind in interleaved(pipelines, args.repeat):
                figures = {name: run_command(ports[kind], pipeline, args.requests, args.clients,
                                             keyspace, *command)
                           for name, (keyspace, command) in TESTS.items()}
                runs[kind][pipeline].append(figures)
                print(f"  {kind:8} -P {pipeline:<3} run {i + 1}: "
                      + " ".join(f"{t}={v:,.0f}" for t, v in figures.items()), flush=True)
    finally:
        quota.remove()

    results = {kind: {p: {t: statistics.median(r[t] for r in kind_runs) for t in kind_runs[0]}
                      for p, kind_runs in by_pipeline.items()} for kind, by_pipeline in runs.items()}
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients} -n {args.requests}; "
          f"dense HLLs of {args.elements:,} elements")
    print(f"{'test':13} {'-P':>3} {'redis-server':>13} {'redslot':>10} {'ratio':>6}")
    ratios: dict[str, float] = {}
    for pipeline in pipelines:
        for test, ref in results["redis"][pipeline].items():
            ours = results["redslot"][pipeline][test]
            ratios[f"{test} -P {pipeline}"] = ours / ref if ref else 0.0
            print(f"{test:13} {pipeline:>3} {ref:>13,.0f} {ours:>10,.0f} {ours / ref if ref else 0.0:>6.2f}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
