#!/usr/bin/env python3
"""How close used_memory is to the real memory: used_memory growth against RSS growth.

For each workload a fresh node is loaded with ``--elements`` elements over pipelined
redis-py calls; the report gives both deltas per element and their ratio (1.00: the
estimate of node/footprint.py matches what the kernel counts). RSS also holds allocator
slack and freed blocks not yet reused, so ratios settle as the load grows; a million
elements gives stable figures in about two minutes.

With ``--redis`` the same load goes into a redis-server too, and its used_memory delta
per element (its allocator's count) is printed with redslot's RSS delta over it: the
ratio the memory targets are stated in.

    python3 bench/footprint.py                    # every workload, 1M elements
    python3 bench/footprint.py --elements 100000 string hash3
    python3 bench/footprint.py --redis hash3
    python3 bench/footprint.py --redis --elements 300000 intset5 set5 zset5

The intset5, set5 and zset5 workloads add one whole 5-member value per element: their
figures are bytes per key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from nodes import ServerProcess, start_node, start_redis_server  # noqa: E402

WORKLOADS = {
    "string": lambda p, i: p.set(f"key:{i:010d}", "v" * 20),
    "string100": lambda p, i: p.set(f"key:{i:010d}", "x" * 100),
    "expiring": lambda p, i: p.set(f"key:{i:010d}", "v", px=10**9),
    "hash3": lambda p, i: p.hset(f"user:{i}", mapping={"name": f"n{i}", "age": "42",
                                                      "email": "someone@example.com"}),
    "hash200": lambda p, i: p.hset(f"big:{i // 200}", f"field:{i}", f"v{i}"),
    "list": lambda p, i: p.rpush(f"list:{i // 1000}", f"element-{i}"),
    "set": lambda p, i: p.sadd(f"set:{i // 1000}", f"member-{i}"),
    "zset-small": lambda p, i: p.zadd(f"zs:{i // 10}", {f"m{i}": i}),
    "intset5": lambda p, i: p.sadd(f"is:{i}", *range(i, i + 5)),
    "set5": lambda p, i: p.sadd(f"ss:{i}", *(f"tag{j}" for j in range(i % 7, i % 7 + 5))),
    "zset5": lambda p, i: p.zadd(f"z5:{i}", {f"member{j}": i + j for j in range(5)}),
    "zset-big": lambda p, i: p.zadd(f"zset:{i // 100_000}", {f"member-{i}": i * 1.5}),
}


def measure(kind: str, elements: int, start: Callable[[], ServerProcess] = start_node
            ) -> tuple[float, float]:
    node = start()
    try:
        r = redis.Redis(port=node.port, socket_timeout=60)
        before = r.info("memory")
        add = WORKLOADS[kind]
        pipe = r.pipeline(transaction=False)
        for i in range(elements):
            add(pipe, i)
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        after = r.info("memory")
        return ((after["used_memory"] - before["used_memory"]) / elements,
                (after["used_memory_rss"] - before["used_memory_rss"]) / elements)
    finally:
        node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--redis", action="store_true",
                        help="also load a redis-server and print its used_memory per element")
    parser.add_argument("workloads", nargs="*", help=f"of {', '.join(WORKLOADS)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    args.workloads = args.workloads or list(WORKLOADS)
    extra = f" {'redis used':>11} {'rss/redis':>10}" if args.redis else ""
    print(f"{'workload':12} {'used B/elem':>12} {'rss B/elem':>11} {'used/rss':>9}{extra}")
    for kind in args.workloads:
        used, rss = measure(kind, args.elements)
        line = f"{kind:12} {used:>12.1f} {rss:>11.1f} {used / rss:>9.3f}"
        if args.redis:
            ref, _ = measure(kind, args.elements, start_redis_server)
            line += f" {ref:>11.1f} {rss / ref:>10.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
