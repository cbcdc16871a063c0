#!/usr/bin/env python3
"""PUBLISH throughput and message latency of a redslot node against Debian's redis-server,
in one run.

The servers are set up as in bench/run.py (whose pieces this reuses): both pinned to one
core inside the same CPU quota, both up together, their runs interleaved, medians of
--repeat runs. The load generator is this process, pinned to the other core: one asyncio
loop (uvloop when installed) holding the subscriber and publisher connections.

Throughput, for 1, 10 and 100 subscribers of one channel: --publishers connections send
PUBLISH in pipelined batches of --pipeline (waiting for a batch's replies before the next)
until --deliveries messages have been delivered in all (at least --min-messages
publishes); the figure is publishes per second, from the first one sent until the last
subscriber has read its last message. Every message of a run has the same length, so a
subscriber counts what it receives by bytes; a run fails unless each subscriber got
exactly every message.

Latency: one publisher, one message at a time (the next once every subscriber has it),
each carrying the time it was sent; a subscriber takes the difference when it reads the
message: p50 and p99 over every delivery of --rounds messages.

    python3 bench/pubsub.py           # the figures (about 40 s on 2 cores)
    python3 bench/pubsub.py --quick   # a tiny smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run.py, also under PYTHONSAFEPATH

from run import CLIENT_CPU, CpuQuota, server, tools_present  # noqa: E402

KINDS = ("redis", "redslot")
CHANNEL = b"bench:channel"
PAYLOAD = 32  # bytes per message; the latency run's stamp is zero-padded to this length
RUN_TIMEOUT = 120.0


def command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def message_frame(payload: bytes) -> bytes:
    """What a RESP2 subscriber of CHANNEL receives for ``payload``."""
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(CHANNEL), CHANNEL, len(payload), payload)


class Reader(asyncio.Protocol):
    """A connection that counts the bytes it receives; ``wait_for(n)`` returns once ``n``
    have arrived. With ``stamped``, each message's payload is a send time (ns) and the
    reader records how long ago that was when the message arrives."""

    def __init__(self, frame_length: int = 0, stamped: bool = False) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.received = 0
        self.target = 0
        self.waiter: asyncio.Future[None] | None = None
        self.frame_length = frame_length
        self.stamped = stamped
        self.pending = b""
        self.latencies: list[int] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        self.received += len(data)
        if self.stamped:
            self.pending += data
            while len(self.pending) >= self.frame_length:
                frame, self.pending = (self.pending[:self.frame_length],
                                       self.pending[self.frame_length:])
                self.latencies.append(now - int(frame[-2 - PAYLOAD:-2]))
        if self.waiter is not None and self.received >= self.target and not self.waiter.done():
            self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection closed: {exc}"))

    async def wait_for(self, total: int) -> None:
        if self.received >= total:
            return
        self.target = total
        self.waiter = asyncio.get_running_loop().create_future()
        await self.waiter
        self.waiter = None

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(port: int, reader: Reader) -> Reader:
    loop = asyncio.get_running_loop()
    await loop.create_connection(lambda: reader, "127.0.0.1", port)
    return reader


async def subscribers(port: int, count: int, stamped: bool = False) -> list[Reader]:
    """``count`` connections subscribed to CHANNEL, confirmations read."""
    frame_length = len(message_frame(b"x" * PAYLOAD))
    readers = [await connect(port, Reader(frame_length, stamped)) for _ in range(count)]
    confirmation = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(CHANNEL), CHANNEL)
    for reader in readers:
        reader.stamped = False
        reader.send(command(b"SUBSCRIBE", CHANNEL))
        await asyncio.wait_for(reader.wait_for(len(confirmation)), RUN_TIMEOUT)
        reader.received = 0
        reader.stamped = stamped
    return readers


async def throughput(port: int, subscriber_count: int, messages: int, publishers: int,
                     pipeline: int) -> float:
    """Publishes per second until every subscriber has every message."""
    readers = await subscribers(port, subscriber_count)
    senders = [await connect(port, Reader()) for _ in range(publishers)]
    batch = command(b"PUBLISH", CHANNEL, b"m" * PAYLOAD) * pipeline
    reply = len(b":%d\r\n" % subscriber_count)
    shares = [messages // publishers + (i < messages % publishers) for i in range(publishers)]

    async def publish(sender: Reader, share: int) -> None:
        sent = 0
        while sent < share:
            n = min(pipeline, share - sent)
            sender.send(batch if n == pipeline else command(b"PUBLISH", CHANNEL, b"m" * PAYLOAD) * n)
            sent += n
            await sender.wait_for(sent * reply)

    frame = len(message_frame(b"m" * PAYLOAD))
    try:
        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(
            *(publish(s, share) for s, share in zip(senders, shares, strict=True)),
            *(r.wait_for(messages * frame) for r in readers)), RUN_TIMEOUT)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.05)
        extra = [r.received - messages * frame for r in readers if r.received != messages * frame]
        if extra:
            raise RuntimeError(f"subscribers received {extra} bytes more than the messages sent")
        if any(s.received != share * reply for s, share in zip(senders, shares, strict=True)):
            raise RuntimeError("a PUBLISH reply was not the subscriber count")
    finally:
        for conn in readers + senders:
            conn.close()
    return messages / elapsed


async def latency(port: int, subscriber_count: int, rounds: int) -> list[int]:
    """Publish-to-receive times (ns) of every delivery, one message in flight at a time."""
    readers = await subscribers(port, subscriber_count, stamped=True)
    sender = await connect(port, Reader())
    frame = len(message_frame(b"0" * PAYLOAD))
    reply = len(b":%d\r\n" % subscriber_count)
    try:
        for i in range(1, rounds + 1):
            stamp = b"%0*d" % (PAYLOAD, time.perf_counter_ns())
            sender.send(command(b"PUBLISH", CHANNEL, stamp))
            await asyncio.wait_for(asyncio.gather(
                sender.wait_for(i * reply), *(r.wait_for(i * frame) for r in readers)), RUN_TIMEOUT)
    finally:
        for conn in [*readers, sender]:
            conn.close()
    return [ns for r in readers for ns in r.latencies]


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6


def interleaved(counts: list[int], repeat: int) -> Iterator[tuple[int, int, str]]:
    for count in counts:
        for i in range(repeat):
            for kind in (KINDS if i % 2 == 0 else KINDS[::-1]):
                yield count, i, kind


def run_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", default="1,10,100", help="subscriber counts, comma-separated")
    ap.add_argument("--deliveries", type=int, default=200_000,
                    help="messages delivered per throughput run, over all subscribers")
    ap.add_argument("--min-messages", type=int, default=10000, help="publishes per throughput run, at least")
    ap.add_argument("--publishers", type=int, default=8, help="publishing connections")
    ap.add_argument("--pipeline", type=int, default=64, help="PUBLISH commands per batch")
    ap.add_argument("--rounds", type=int, default=500, help="messages per latency run")
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure; the median is kept")
    ap.add_argument("--cpu-share", type=float, default=0.5,
                    help="CPU quota for each server, as a fraction of one core")
    ap.add_argument("--quick", action="store_true",
                    help="a tiny smoke run: 1 run, 2000 deliveries, 50 latency rounds")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    if args.quick:
        args.deliveries, args.min_messages, args.rounds, args.repeat = 2000, 200, 50, 1
    if not tools_present():
        return 2
    counts = [int(n) for n in args.subscribers.split(",")]
    os.sched_setaffinity(0, {int(CLIENT_CPU)})
    loop = run_loop()
    quota = CpuQuota(args.cpu_share)
    rates: dict[str, dict[int, list[float]]] = {k: {n: [] for n in counts} for k in KINDS}
    delays: dict[str, dict[int, list[int]]] = {k: {n: [] for n in counts} for k in KINDS}
    try:
        with ExitStack() as stack:
            ports = {kind: stack.enter_context(server(kind, quota)) for kind in KINDS}
            for n, i, kind in interleaved(counts, args.repeat):
                messages = max(args.min_messages, args.deliveries // n)
                rate = loop.run_until_complete(
                    throughput(ports[kind], n, messages, args.publishers, args.pipeline))
                rates[kind][n].append(rate)
                print(f"  {kind:8} {n:>3} subscriber(s) run {i + 1}: {rate:,.0f} publishes/s "
                      f"({rate * n:,.0f} deliveries/s)", flush=True)
            for n, _, kind in interleaved(counts, 1):
                delays[kind][n] = loop.run_until_complete(latency(ports[kind], n, args.rounds))
    finally:
        quota.remove()
        loop.close()

    print(f"\nPUBLISH throughput, publishes/s (median of {args.repeat}); each server on one core "
          f"with a {args.cpu_share:.0%} CPU quota; {args.publishers} publishers, pipeline "
          f"{args.pipeline}, {PAYLOAD}-byte messages")
    print(f"{'subscribers':>11} {'redis-server':>13} {'redslot':>10} {'ratio':>6}")
    results: dict[str, dict[str, dict[int, float]]] = {k: {"publishes_per_s": {}, "p50_ms": {},
                                                          "p99_ms": {}} for k in KINDS}
    ratios: dict[str, float] = {}
    for n in counts:
        for kind in KINDS:
            results[kind]["publishes_per_s"][n] = statistics.median(rates[kind][n])
        ref, ours = (results[k]["publishes_per_s"][n] for k in KINDS)
        ratios[f"throughput {n} subscribers"] = ours / ref
        print(f"{n:>11} {ref:>13,.0f} {ours:>10,.0f} {ours / ref:>6.2f}")
    print(f"\nmessage latency, publish to receive, ms ({args.rounds} messages one at a time, "
          f"every delivery counted)")
    print(f"{'subscribers':>11} {'redis p50':>10} {'p99':>7} {'redslot p50':>12} {'p99':>7} "
          f"{'p50 ratio':>10} {'p99 ratio':>10}")
    for n in counts:
        for kind in KINDS:
            results[kind]["p50_ms"][n] = percentile(delays[kind][n], 0.50)
            results[kind]["p99_ms"][n] = percentile(delays[kind][n], 0.99)
        r50, o50 = (results[k]["p50_ms"][n] for k in KINDS)
        r99, o99 = (results[k]["p99_ms"][n] for k in KINDS)
        ratios[f"p50 latency {n} subscribers"] = o50 / r50
        ratios[f"p99 latency {n} subscribers"] = o99 / r99
        print(f"{n:>11} {r50:>10.3f} {r99:>7.3f} {o50:>12.3f} {o99:>7.3f} {o50 / r50:>10.2f} "
              f"{o99 / r99:>10.2f}")
    print("\nsummary: redslot/redis-server PUBLISH throughput "
          + ", ".join(f"{ratios[f'throughput {n} subscribers']:.2f} ({n} sub.)" for n in counts)
          + "; latency p50 "
          + ", ".join(f"{ratios[f'p50 latency {n} subscribers']:.2f}" for n in counts)
          + ", p99 " + ", ".join(f"{ratios[f'p99 latency {n} subscribers']:.2f}" for n in counts)
          + " (x redis-server's)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"time": time.time(), "args": vars(args) | {"json": str(args.json)},
                                         "results": results, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
