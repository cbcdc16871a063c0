#!/usr/bin/env python3
"""A long protocol fuzz run against one node: frames, time, and another client's PINGs.

Many connections at once each send a batch of random and malformed frames
(tests/support/protocol_fuzz.py: well-formed requests of harmless commands, inline lines
with quotes, escapes and odd blanks, mutated frames, headers announcing 2**31 arguments or
512 MB, one protocol error at most), half-close, and read the replies until the node
closes. Meanwhile one more client, in a process of its own (so that the load generator's
event loop does not delay it), PINGs every 10 ms and keeps its round trips. The run
stops at --frames frames or --max-seconds, whichever comes first; it fails if the node
dies, leaves a connection hanging, stops answering PING or logs a traceback. The same
client PINGs the idle node for --idle-seconds first: on a shared machine that is the
latency the machine alone causes.

Batches come from a seeded pool (--seed, --pool) cycled through, so a run can be replayed
and generating frames does not cost the load generator more than sending them.

    python3 bench/fuzz_protocol.py                        # 10M frames (bounded by --max-seconds)
    python3 bench/fuzz_protocol.py --frames 200000        # a quick smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing import Event, Process, Queue
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from nodes import start_node  # noqa: E402
from protocol_fuzz import batch  # noqa: E402

READ_TIMEOUT = 10.0  # a connection the node has not closed by then is hung


class Run:
    def __init__(self, port: int, pool: list[tuple[bytes, int]], frames: int,
                 deadline: float) -> None:
        self.port = port
        self.pool = pool
        self.target = frames
        self.deadline = deadline
        self.frames = 0
        self.connections = 0
        self.hung = 0
        self.next = 0

    def done(self) -> bool:
        return self.frames >= self.target or time.monotonic() >= self.deadline

    async def worker(self) -> None:
        while not self.done():
            data, count = self.pool[self.next % len(self.pool)]
            self.next += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                writer.write(data)
                writer.write_eof()
                await asyncio.wait_for(_drain_until_closed(reader), READ_TIMEOUT)
            except TimeoutError:
                self.hung += 1
            except ConnectionError:
                pass
            finally:
                writer.close()
            self.frames += count
            self.connections += 1

async def _drain_until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


def pinger(port: int, stop: EventType, results: Queue[list[float]]) -> None:
    """Another client's PING round trips (s) until ``stop``; inf for a PING unanswered."""
    rtts: list[float] = []
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as sock:
        while not stop.is_set():
            start = time.monotonic()
            sock.sendall(b"PING\r\n")
            try:
                reply = sock.recv(64)
            except TimeoutError:
                reply = b""
            if reply != b"+PONG\r\n":
                rtts.append(float("inf"))
                break
            rtts.append(time.monotonic() - start)
            time.sleep(0.01)
    results.put(rtts)


def pings_during(port: int, action: Callable[[], object]) -> list[float]:
    """The PING round trips of a client in another process while ``action`` runs."""
    stop: EventType = Event()
    results: Queue[list[float]] = Queue()
    ping = Process(target=pinger, args=(port, stop, results))
    ping.start()
    try:
        action()
    finally:
        stop.set()
    rtts = results.get(timeout=60)
    ping.join(10)
    return rtts


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
    return 0


async def fuzz(run: Run, connections: int) -> None:
    await asyncio.gather(*(run.worker() for _ in range(connections)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=10_000_000, help="frames to send")
    ap.add_argument("--max-seconds", type=float, default=1800, help="stop after this long")
    ap.add_argument("--connections", type=int, default=32, help="concurrent connections")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--pool", type=int, default=20_000, help="distinct batches to cycle through")
    ap.add_argument("--idle-seconds", type=float, default=10, help="PINGs before the load")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = [batch(rng) for _ in range(args.pool)]
    node = start_node()
    try:
        rss_before = rss_kb(node.proc.pid)
        idle = pings_during(node.port, lambda: time.sleep(args.idle_seconds))
        run = Run(node.port, pool, args.frames, time.monotonic() + args.max_seconds)
        start = time.monotonic()
        rtts = pings_during(node.port, lambda: asyncio.run(fuzz(run, args.connections)))
        elapsed = time.monotonic() - start
        alive = node.proc.poll() is None
        rss_after = rss_kb(node.proc.pid) if alive else 0
        log = node.log
    finally:
        node.stop()
    pings = sorted(rtts)
    failures = sum(rtt == float("inf") for rtt in rtts)
    figures = {
        "frames": run.frames, "connections": run.connections, "seconds": round(elapsed, 1),
        "frames_per_second": round(run.frames / elapsed), "hung_connections": run.hung,
        "node_alive": alive, "tracebacks_in_log": log.count("Traceback"),
        "pings": len(pings), "ping_failures": failures,
        "ping_worst_ms": round(pings[-1] * 1000, 2) if pings else None,
        "ping_p99_ms": round(pings[int(len(pings) * 0.99)] * 1000, 2) if pings else None,
        "ping_median_ms": round(statistics.median(pings) * 1000, 2) if pings else None,
        "idle_ping_worst_ms": round(max(idle) * 1000, 2),
        "idle_ping_p99_ms": round(sorted(idle)[int(len(idle) * 0.99)] * 1000, 2),
        "rss_before_mb": round(rss_before / 1024, 1), "rss_after_mb": round(rss_after / 1024, 1),
        "seed": args.seed, "pool": args.pool,
    }
    for name, value in figures.items():
        print(f"{name:20} {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    ok = alive and not run.hung and not failures and "Traceback" not in log
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
