#!/usr/bin/env python3
"""Nanoseconds of a node's own work per one-request read, in process, with no socket.

At pipeline 1 a node's CPU per request is mostly the kernel's and the event loop's
(bench/cpu_per_request.py: a do-nothing uvloop server uses ~90% of what the node does);
what is left, the node's own work (parse, dispatch, the command, its bookkeeping, the
reply), is a few hundred nanoseconds that the noise of a loaded machine hides in any
throughput figure. This calls a client's ``data_received`` directly, each time with one
whole request, as a read at -P 1 brings it, on a transport that takes the reply and
does nothing; it prints the fastest and the median of ``--repeat`` runs per command.
Compare two trees in one sitting (PYTHONPATH), alternating:

    python3 bench/own_work.py
    PYTHONPATH=/work/wt/before python3 bench/own_work.py --tests get,set
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from typing import Any

KEYS = 100_000
REQUESTS = {
    "get": lambda i: b"*2\r\n$3\r\nGET\r\n$10\r\nkey:%06d\r\n" % (i % KEYS),
    "set": lambda i: b"*3\r\n$3\r\nSET\r\n$10\r\nkey:%06d\r\n$3\r\nxxx\r\n" % (i % KEYS),
    "incr": lambda i: b"*2\r\n$4\r\nINCR\r\n$10\r\nctr:%06d\r\n" % (i % KEYS),
    "lpush": lambda i: b"*3\r\n$5\r\nLPUSH\r\n$6\r\nmylist\r\n$3\r\nxxx\r\n",
    "hset": lambda i: b"*4\r\n$4\r\nHSET\r\n$10\r\nh:%08d\r\n$2\r\nf1\r\n$3\r\nxxx\r\n" % (i % KEYS),
}


class NullTransport:
    """Takes every reply (the node writes through it: no socket to write to directly)."""

    def __init__(self) -> None:
        self.writes = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.writes += 1

    def get_write_buffer_size(self) -> int:
        return 0

    def close(self) -> None:
        pass


async def measure(tests: list[str], requests: int, repeat: int) -> dict[str, list[float]]:
    from redslot.node.server.client import Client
    from redslot.node.server.main import load_config
    from redslot.node.server.server import Server

    workdir = tempfile.mkdtemp(prefix="bench-own-")
    server = Server(load_config(["--save", "", "--port", "0", "--appendonly", "no",
                                 "--dir", workdir]))
    client = Client(server)
    transport = NullTransport()
    client.connection_made(transport)  # type: ignore[arg-type]
    gc.freeze()  # the server's objects stay out of the collections this loop triggers
    results: dict[str, list[float]] = {}
    rounds = max(1, requests // 1000)
    for test in tests:
        batch = [REQUESTS[test](i) for i in range(1000)]
        for _ in range(repeat):
            receive = client.data_received
            began = time.perf_counter_ns()
            for _ in range(rounds):
                for data in batch:
                    receive(data)
            results.setdefault(test, []).append((time.perf_counter_ns() - began) / (rounds * 1000))
            server.dbs[0].delete(b"mylist")  # LPUSH's list stays one size from run to run
    assert transport.writes == len(tests) * repeat * rounds * 1000, "a request was not answered"
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", default=",".join(REQUESTS))
    ap.add_argument("--requests", type=int, default=200_000, help="per run")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tests = args.tests.split(",")
    unknown = [t for t in tests if t not in REQUESTS]
    if unknown:
        print(f"unknown tests: {', '.join(unknown)} (known: {', '.join(REQUESTS)})",
              file=sys.stderr)
        return 2
    results = asyncio.run(measure(tests, args.requests, args.repeat))
    from redslot.node.base.compiled import build
    print(f"ns per one-request read, {args.repeat} runs of {args.requests}; build: {build()}")
    for test, runs in results.items():
        print(f"{test:6} fastest {min(runs):7.0f}  median {statistics.median(runs):7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
