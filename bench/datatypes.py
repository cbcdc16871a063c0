#!/usr/bin/env python3
"""Data-type throughput and memory of a redslot node against Debian's redis-server, in one run.

The servers and the load generator are set up as in bench/run.py (whose pieces this reuses):
both servers pinned to one core inside the same CPU quota, redis-benchmark pinned to the
other core, both servers up together and their runs interleaved, medians of --repeat runs.

Throughput: redis-benchmark's own LPUSH, LPOP, SADD, HSET and ZADD tests, then two custom
commands: ZRANGE over a whole 100-member sorted set, and ZRANK of a random member of a
1M-member sorted set. redis-benchmark replaces ``__rand_int__`` with twelve zero-padded
digits of random() % -r, so the big set's members are named ``member:%012d`` to be hit.

Memory: the bytes one small hash key (3 short fields) and one sorted-set member cost, from
INFO before and after loading them with ``redis-cli --pipe``. redis-server's figure is its
allocator count (used_memory); redslot's figure is its RSS delta (used_memory_rss), the
kernel's count, which also holds allocator slack redis-server's does not. redslot's own
used_memory delta (an estimate, node/footprint.py) is printed beside it.

    python3 bench/datatypes.py           # the full figures (under 5 minutes on 2 cores)
    python3 bench/datatypes.py --quick   # a tiny smoke run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from contextlib import ExitStack

import redis
from comparison import KINDS, add_options, measure, pipelines_of, ratio_table, servers
from run import CLIENT_CPU, CpuQuota, benchmark_figures, run_benchmark, tools_present

BUILTIN_TESTS = "lpush,lpop,sadd,hset,zadd"
ZRANGE_KEY = b"zset:100"
ZRANK_KEY = b"zset:big"
ZADD_BATCH = 1000


def resp(*args: bytes) -> bytes:
    """One request in RESP, as ``redis-cli --pipe`` wants it."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def big_zset_protocol(members: int) -> bytes:
    """ZADD batches giving member:%012d the score (so the rank) %d."""
    requests = []
    for start in range(0, members, ZADD_BATCH):
        args = [b"ZADD", ZRANK_KEY]
        for i in range(start, min(members, start + ZADD_BATCH)):
            args += [b"%d" % i, b"member:%012d" % i]
        requests.append(resp(*args))
    return b"".join(requests)


def hashes_protocol(keys: int) -> bytes:
    return b"".join(resp(b"HSET", b"hash:%07d" % i, b"name", b"user%d" % i, b"age", b"%d" % (i % 90),
                         b"city", b"Paris") for i in range(keys))


def pipe(port: int, protocol: bytes) -> None:
    out = subprocess.run(["taskset", "-c", CLIENT_CPU, "redis-cli", "-h", "127.0.0.1", "-p", str(port),
                          "--pipe"], input=protocol, capture_output=True, check=True, timeout=600).stdout
    if b"errors: 0," not in out:
        raise RuntimeError(f"redis-cli --pipe to port {port}: {out.decode(errors='replace')}")


def memory(port: int) -> tuple[int, int]:
    info = redis.Redis(port=port).info("memory")
    return info["used_memory"], info["used_memory_rss"]


def load_and_measure(ports: dict[str, int], protocol: bytes) -> dict[str, tuple[int, int]]:
    """(used_memory delta, used_memory_rss delta) per server for loading ``protocol``."""
    deltas = {}
    for kind in KINDS:
        used, rss = memory(ports[kind])
        pipe(ports[kind], protocol)
        used_after, rss_after = memory(ports[kind])
        deltas[kind] = (used_after - used, rss_after - rss)
    return deltas


def run_command(port: int, pipeline: int, requests: int, clients: int, keyspace: int,
                *command: str) -> float:
    (rate,) = benchmark_figures(port, pipeline, requests, clients,
                                ["-r", str(keyspace), *command]).values()
    return rate


def prepare_zsets(ports: dict[str, int], members: int) -> dict[str, tuple[int, int]]:
    """Load both sorted sets; the big one's load is measured on the fresh servers."""
    deltas = load_and_measure(ports, big_zset_protocol(members))
    last = b"member:%012d" % (members - 1)
    for kind in KINDS:
        r = redis.Redis(port=ports[kind])
        r.zadd(ZRANGE_KEY, {b"m%03d" % i: i for i in range(100)})
        if r.zrank(ZRANK_KEY, last) != members - 1 or r.zcard(ZRANGE_KEY) != 100:
            raise RuntimeError(f"{kind}: the sorted sets did not load as expected")
    return deltas


def throughput_run(port: int, pipeline: int, args: argparse.Namespace) -> dict[str, float]:
    figures = run_benchmark(port, pipeline, args.requests, args.clients, BUILTIN_TESTS)
    figures["zrange100"] = run_command(port, pipeline, args.requests, args.clients, 100,
                                       "ZRANGE", ZRANGE_KEY.decode(), "0", "99")
    figures["zrank"] = run_command(
        port, pipeline, args.requests, args.clients, args.members,
        "ZRANK", ZRANK_KEY.decode(), "member:__rand_int__")
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap, requests=100_000)
    ap.add_argument("--members", type=int, default=1_000_000, help="members of the ZRANK/memory sorted set")
    ap.add_argument("--hashes", type=int, default=1_000_000, help="hash keys for the memory figure")
    args = ap.parse_args()
    if args.quick:
        args.requests, args.clients, args.repeat = 2000, 5, 1
        args.members, args.hashes = 10_000, 10_000
    if not tools_present("redis-cli"):
        return 2
    pipelines = pipelines_of(args)
    quota = CpuQuota(args.cpu_share)
    try:
        with ExitStack() as stack:
            ports = servers(stack, quota)
            print(f"loading {args.members:,} sorted-set members and a 100-member sorted set", flush=True)
            zset_memory = prepare_zsets(ports, args.members)
            results = measure(ports, pipelines, args.repeat,
                              lambda port, pipeline: throughput_run(port, pipeline, args))
        # Fresh servers, so that the benchmark's own keys and freed buffers stay out of it.
        with ExitStack() as stack:
            ports = servers(stack, quota)
            print(f"loading {args.hashes:,} hashes", flush=True)
            hash_memory = load_and_measure(ports, hashes_protocol(args.hashes))
    finally:
        quota.remove()

    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients} -n {args.requests}; zrange100 = "
          f"ZRANGE of all 100 members, zrank = ZRANK of a random member of {args.members:,}")
    ratios = ratio_table(results, pipelines, 10)

    print("\nmemory: redis-server = INFO used_memory delta; redslot = INFO used_memory_rss delta")
    print(f"{'dataset':40} {'redis-server':>13} {'redslot':>10} {'ratio':>6}   redis-server RSS delta"
          "   redslot used_memory delta")
    memory_figures = {}
    for name, deltas, count in (
            (f"hash, bytes/key ({args.hashes:,} x 3 fields)", hash_memory, args.hashes),
            (f"zset, bytes/member ({args.members:,})", zset_memory, args.members)):
        ref, ref_rss = deltas["redis"][0] / count, deltas["redis"][1] / count
        ours = deltas["redslot"][1] / count
        ours_used = deltas["redslot"][0] / count
        ratios[name] = ours / ref
        memory_figures[name] = {"redis_used_memory": ref, "redis_rss": ref_rss, "redslot_rss": ours,
                                "redslot_used_memory": ours_used}
        rss_ratio = f"(rss/rss ratio {ours / ref_rss:.2f})" if ref_rss > 0 else "(too small to show)"
        print(f"{name:40} {ref:>13,.1f} {ours:>10,.1f} {ours / ref:>6.2f}   {ref_rss:,.1f} {rss_ratio}"
              f"   {ours_used:,.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"time": time.time(), "args": vars(args) | {"json": str(args.json)},
                                         "results": results, "memory": memory_figures,
                                         "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
