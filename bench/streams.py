#!/usr/bin/env python3
"""Stream throughput and memory of a redslot node against Debian's redis-server, in one run.

Set up as bench/datatypes.py (whose pieces this reuses): both servers pinned to one core in
the same CPU quota, redis-benchmark on the other core, runs interleaved, medians of
--repeat runs.

Throughput (redis-benchmark custom commands):
- xadd: ``XADD stream:add * field value`` (a new entry per request);
- xrange10: ``XRANGE stream:range <random ms> + COUNT 10`` on a stream of --entries
  entries with IDs ``i-0`` (redis-benchmark's ``__rand_int__`` is twelve zero-padded
  digits, which a stream ID's ms part accepts as strtoull does);
- xreadgroup: ``XREADGROUP GROUP g c COUNT 1 STREAMS stream:group >`` (one new entry
  delivered, and added to the PEL, per request), on a group recreated before each run
  over a stream holding enough entries.

Memory: the bytes one entry (one field, a 10-byte value) costs in a stream of --memory
entries, from INFO before and after loading it with ``redis-cli --pipe``: redis-server's
allocator count (used_memory) against redslot's RSS delta, as datatypes.py measures.

    python3 bench/streams.py            # the full figures
    python3 bench/streams.py --quick    # a tiny smoke run
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

import redis
from comparison import KINDS, add_options, measure, pipelines_of, ratio_table, servers
from datatypes import load_and_measure, pipe, resp, run_command
from run import CpuQuota

BATCH = 1000


def xadd_protocol(key: bytes, entries: int) -> bytes:
    """XADD batches through MULTI-less pipelining: entry i gets ID i-0."""
    return b"".join(resp(b"XADD", key, b"%d-0" % i, b"field", b"value%05d" % (i % 100000))
                    for i in range(1, entries + 1))


def throughput_run(port: int, pipeline: int, args: argparse.Namespace) -> dict[str, float]:
    r = redis.Redis(port=port)
    r.delete("stream:add")
    figures = {"xadd": run_command(port, pipeline, args.requests, args.clients, 1,
                                   "XADD", "stream:add", "*", "field", "value")}
    figures["xrange10"] = run_command(port, pipeline, args.requests, args.clients, args.entries,
                                      "XRANGE", "stream:range", "__rand_int__", "+", "COUNT", "10")
    r.execute_command("XGROUP", "DESTROY", "stream:group", "g")
    r.execute_command("XGROUP", "CREATE", "stream:group", "g", "0")
    figures["xreadgroup"] = run_command(port, pipeline, args.requests, args.clients, 1,
                                        "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS",
                                        "stream:group", ">")
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, requests=100_000, json_file=False)
    ap.add_argument("--entries", type=int, default=100_000, help="entries of the XRANGE stream")
    ap.add_argument("--memory", type=int, default=1_000_000, help="entries for the memory figure")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients, args.repeat = 2000, 5, 1
        args.entries, args.memory = 10_000, 10_000
    pipelines = pipelines_of(args)
    quota = CpuQuota(args.cpu_share)
    try:
        with ExitStack() as stack:
            ports = servers(stack, quota)
            print(f"loading {args.memory:,} stream entries", flush=True)
            memory = load_and_measure(ports, xadd_protocol(b"stream:memory", args.memory))
            group_entries = args.requests * (args.repeat + 1)
            for kind in KINDS:
                pipe(ports[kind], xadd_protocol(b"stream:range", args.entries))
                pipe(ports[kind], xadd_protocol(b"stream:group", group_entries))
                redis.Redis(port=ports[kind]).execute_command(
                    "XGROUP", "CREATE", "stream:group", "g", "0")
            results = measure(ports, pipelines, args.repeat,
                              lambda port, pipeline: throughput_run(port, pipeline, args))
    finally:
        quota.remove()
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients} -n {args.requests}")
    ratio_table(results, pipelines, 11)
    ref = memory["redis"][0] / args.memory
    ours = memory["redslot"][1] / args.memory
    print(f"\nmemory, bytes/entry ({args.memory:,} entries, 1 field): redis-server used_memory "
          f"{ref:,.1f}, redslot RSS {ours:,.1f} (ratio {ours / ref:.2f}); redslot used_memory "
          f"{memory['redslot'][0] / args.memory:,.1f}, redis-server RSS "
          f"{memory['redis'][1] / args.memory:,.1f}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
