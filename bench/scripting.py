#!/usr/bin/env python3
"""Script throughput of a redslot node against Debian's redis-server, in one run.

Set up as bench/run.py does (both servers pinned to one core inside the same CPU quota,
redis-benchmark pinned to the other core, runs interleaved, medians of --repeat runs), with
three commands redis-benchmark sends as given:

- evalsha: EVALSHA of a script doing GET then INCR on one of -r keys (SCRIPT LOAD first);
- fcall: FCALL of a library function doing the same;
- eval: EVAL of a one-line script returning its argument (the script cache path).

    python3 bench/scripting.py           # the full figures (a few minutes on 2 cores)
    python3 bench/scripting.py --quick   # a tiny smoke run
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import redis
from datatypes import KINDS, interleaved, run_command, servers
from run import CpuQuota

GET_INCR = ("local v = redis.call('GET', KEYS[1]) "
            "redis.call('INCR', KEYS[1]) return v")
LIBRARY = ("#!lua name=benchlib\n"
           "redis.register_function('getincr', function(keys, args) "
           "local v = redis.call('GET', keys[1]) redis.call('INCR', keys[1]) return v end)\n")
ECHO = "return ARGV[1]"


def prepare(ports: dict[str, int]) -> str:
    """Load the script and the library on both servers; the script's SHA1."""
    shas = set()
    for kind in KINDS:
        r = redis.Redis(port=ports[kind])
        shas.add(r.script_load(GET_INCR))
        r.function_load(LIBRARY, replace=True)
        if r.fcall("getincr", 1, "probe") is not None or r.get("probe") != b"1":
            raise RuntimeError(f"{kind}: the benchmark function does not work")
    if len(shas) != 1:
        raise RuntimeError(f"the two servers disagree on the script's SHA1: {shas}")
    return shas.pop()


def throughput_run(port: int, pipeline: int, sha: str, args: argparse.Namespace) -> dict[str, float]:
    n, c, keys = args.requests, args.clients, args.keys
    return {
        "evalsha": run_command(port, pipeline, n, c, keys, "EVALSHA", sha, "1", "key:__rand_int__"),
        "fcall": run_command(port, pipeline, n, c, keys, "FCALL", "getincr", "1", "key:__rand_int__"),
        "eval": run_command(port, pipeline, n, c, keys, "EVAL", ECHO, "0", "x"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=100_000, help="requests per test (-n)")
    ap.add_argument("--clients", type=int, default=50, help="connections (-c)")
    ap.add_argument("--pipelines", default="1,16", help="pipeline depths (-P), comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is kept")
    ap.add_argument("--keys", type=int, default=100_000, help="keys the scripts spread over (-r)")
    ap.add_argument("--cpu-share", type=float, default=0.5,
                    help="CPU quota for each server, as a fraction of one core")
    ap.add_argument("--quick", action="store_true", help="a tiny smoke run: 2000 requests, 1 run")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients, args.repeat = 2000, 5, 1
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
            sha = prepare(ports)
            for pipeline, i, kind in interleaved(pipelines, args.repeat):
                runs[kind][pipeline].append(throughput_run(ports[kind], pipeline, sha, args))
                print(f"  {kind:8} -P {pipeline:<3} run {i + 1}: "
                      + " ".join(f"{t}={v:,.0f}" for t, v in runs[kind][pipeline][-1].items()),
                      flush=True)
    finally:
        quota.remove()
    results = {kind: {p: {t: statistics.median(r[t] for r in kind_runs) for t in kind_runs[0]}
                      for p, kind_runs in by_pipeline.items()} for kind, by_pipeline in runs.items()}
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients} -n {args.requests} -r {args.keys}; "
          "evalsha/fcall = GET + INCR of a random key, eval = EVAL returning ARGV[1]")
    print(f"{'test':10} {'-P':>3} {'redis-server':>13} {'redslot':>10} {'ratio':>6}")
    ratios: dict[str, float] = {}
    for pipeline in pipelines:
        for test, ref in results["redis"][pipeline].items():
            ours = results["redslot"][pipeline][test]
            ratios[f"{test} -P {pipeline}"] = ours / ref if ref else 0.0
            print(f"{test:10} {pipeline:>3} {ref:>13,.0f} {ours:>10,.0f} {ours / ref if ref else 0.0:>6.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"time": time.time(), "args": vars(args) | {"json": str(args.json)},
                                         "results": results, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
