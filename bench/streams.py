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
import statistics
import sys
from contextlib import ExitStack

import redis
from datatypes import KINDS, interleaved, load_and_measure, pipe, resp, run_command, servers
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
    ap.add_argument("--requests", type=int, default=100_000, help="requests per test (-n)")
    ap.add_argument("--clients", type=int, default=50, help="connections (-c)")
    ap.add_argument("--pipelines", default="16,1", help="pipeline depths (-P), comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is kept")
    ap.add_argument("--entries", type=int, default=100_000, help="entries of the XRANGE stream")
    ap.add_argument("--memory", type=int, default=1_000_000, help="entries for the memory figure")
    ap.add_argument("--cpu-share", type=float, default=0.5,
                    help="CPU quota for each server, as a fraction of one core")
    ap.add_argument("--quick", action="store_true", help="a tiny smoke run")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients, args.repeat = 2000, 5, 1
        args.entries, args.memory = 10_000, 10_000
    pipelines = [int(p) for p in args.pipelines.split(",")]
    quota = CpuQuota(args.cpu_share)
    runs: dict[str, dict[int, list[dict[str, float]]]] = {k: {p: [] for p in pipelines}
                                                          for k in KINDS}
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
            for pipeline, i, kind in interleaved(pipelines, args.repeat):
                runs[kind][pipeline].append(throughput_run(ports[kind], pipeline, args))
                print(f"  {kind:8} -P {pipeline:<3} run {i + 1}: "
                      + " ".join(f"{t}={v:,.0f}" for t, v in runs[kind][pipeline][-1].items()),
                      flush=True)
    finally:
        quota.remove()
    results = {kind: {p: {t: statistics.median(r[t] for r in kind_runs) for t in kind_runs[0]}
                      for p, kind_runs in by_pipeline.items()}
               for kind, by_pipeline in runs.items()}
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients} -n {args.requests}")
    print(f"{'test':11} {'-P':>3} {'redis-server':>13} {'redslot':>10} {'ratio':>6}")
    for pipeline in pipelines:
        for test, ref in results["redis"][pipeline].items():
            ours = results["redslot"][pipeline][test]
            print(f"{test:11} {pipeline:>3} {ref:>13,.0f} {ours:>10,.0f} "
                  f"{ours / ref if ref else 0.0:>6.2f}")
    ref = memory["redis"][0] / args.memory
    ours = memory["redslot"][1] / args.memory
    print(f"\nmemory, bytes/entry ({args.memory:,} entries, 1 field): redis-server used_memory "
          f"{ref:,.1f}, redslot RSS {ours:,.1f} (ratio {ours / ref:.2f}); redslot used_memory "
          f"{memory['redslot'][0] / args.memory:,.1f}, redis-server RSS "
          f"{memory['redis'][1] / args.memory:,.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
