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
import sys
from contextlib import ExitStack

import redis
from comparison import KINDS, add_options, measure, pipelines_of, ratio_table, servers, write_json
from datatypes import run_command
from run import CpuQuota, tools_present

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
    add_options(ap, requests=100_000, pipelines="1,16")
    ap.add_argument("--keys", type=int, default=100_000, help="keys the scripts spread over (-r)")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients, args.repeat = 2000, 5, 1
    if not tools_present():
        return 2
    pipelines = pipelines_of(args)
    quota = CpuQuota(args.cpu_share)
    try:
        with ExitStack() as stack:
            ports = servers(stack, quota)
            sha = prepare(ports)
            results = measure(ports, pipelines, args.repeat,
                              lambda port, pipeline: throughput_run(port, pipeline, sha, args))
    finally:
        quota.remove()
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients} -n {args.requests} -r {args.keys}; "
          "evalsha/fcall = GET + INCR of a random key, eval = EVAL returning ARGV[1]")
    write_json(args, results, ratio_table(results, pipelines, 10))
    return 0

if __name__ == "__main__":
    sys.exit(main())
