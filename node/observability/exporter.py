"""The metrics exporter: the child process that serves a node's /metrics, /healthz, /readyz.

A process of its own so that parsing INFO and rendering Prometheus text never hold the
node's GIL (metrics.py says why and how it is started). It inherits from the node the
listening HTTP socket and its end of a socketpair, over which it asks the node, in RESP,
``STATUS`` every HEARTBEAT_INTERVAL seconds and ``SNAPSHOT`` once per scrape (at most one
of each outstanding: scrapes arriving meanwhile share the one asked).

- ``/metrics``: the families of metrics_families.py from a fresh snapshot; when the node
  does not answer within SNAPSHOT_WAIT seconds (a long command, DEBUG SLEEP), the last
  snapshot is served with ``redis_up 0``, as redis_exporter reports a Redis it cannot reach.
- ``/healthz``: 200 while the node answered within HEALTHY_WITHIN seconds, else 503.
- ``/readyz``: asks STATUS now (waiting SNAPSHOT_WAIT seconds at most); 200 when the node's
  last answer gave no reason to wait (loaded, not held by cluster-await-confirm, not fenced
  by an expired or never granted lease under cluster-lease-fencing) and it answered within
  HEALTHY_WITHIN seconds; else 503 and the reason.

It runs in the SCHED_IDLE scheduling class: on a core the node keeps busy, the scheduler
runs the exporter's millisecond of work per scrape only in the node's gaps (it still gets a
small share when there are none), so that a scrape rather than the commands waits. Measured
with bench/scrape_latency.py on one core without a quota, this moved GET p99 least: about
+4% against +20% at nice 0 and +30% at nice 10 (scrapes took ~100 ms instead of ~5 ms).

It exits when the node does: the kernel sends it SIGKILL when its parent dies
(PR_SET_PDEATHSIG), and it stops when the channel to the node closes. It ignores SIGINT:
a Ctrl-C in a terminal reaches the node too, which stops it.

    python -m redslot.node.observability.exporter --listen-fd N --channel-fd M --parent PID
"""

from __future__ import annotations

import argparse
import array
import asyncio
import collections
import ctypes
import os
import signal
import socket
import sys
import time
from typing import Any, cast

import hiredis
from aiohttp import web

from .metrics_families import Snapshot, families, render

HEARTBEAT_INTERVAL = 0.25
HEALTHY_WITHIN = 2.0
SNAPSHOT_WAIT = 0.5
PR_SET_PDEATHSIG = 1
NICENESS = 19  # where SCHED_IDLE is refused
NOT_ANSWERED = "no answer from the node yet"
# The text format every Prometheus reads (redis_exporter's too), as render() writes it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def die_with_parent(parent: int) -> None:
    """SIGKILL from the kernel when the node exits; at once if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        print(f"exporter: prctl(PR_SET_PDEATHSIG) failed: {os.strerror(ctypes.get_errno())}",
              file=sys.stderr)
    if os.getppid() != parent:
        sys.exit(0)


def yield_to_the_node() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        os.nice(NICENESS)


class NodeLink(asyncio.Protocol):
    """The exporter's end of the socketpair: requests in order, replies matched in order."""

    def __init__(self, closed: asyncio.Future[None]) -> None:
        self.closed = closed
        self.reader = hiredis.Reader()
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for future in self.waiting:
            if not future.done():
                future.set_exception(ConnectionError("the node closed the channel"))
        if not self.closed.done():
            self.closed.set_result(None)

    def ask(self, name: bytes) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        if self.transport is None:
            future.set_exception(ConnectionError("the node closed the channel"))
            return future
        self.waiting.append(future)
        self.transport.write(b"*1\r\n$%d\r\n%s\r\n" % (len(name), name))
        return future


def parse_snapshot(reply: list[Any], taken: float) -> tuple[str, Snapshot]:
    """The node's SNAPSHOT reply: its not-ready reason and the snapshot."""
    reason, info, cluster_info, slots, counts, acks, migrated, imported = reply
    slot_keys = dict(zip(array.array("H", slots), array.array("I", counts), strict=True))
    return reason.decode(), Snapshot(taken, info.decode(), cluster_info.decode(), slot_keys,
                                     acks, migrated, imported)


class Exporter:
    def __init__(self, link: NodeLink) -> None:
        self.link = link
        self.answered = time.monotonic()  # the node's last answer; a grace period at start
        self.reason = NOT_ANSWERED
        self.last: Snapshot | None = None
        self._pending: asyncio.Future[Any] | None = None  # SNAPSHOT
        self._status: asyncio.Future[Any] | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def heartbeat(self) -> None:
        """STATUS every HEARTBEAT_INTERVAL; the next one only after the answer."""
        while not self.link.closed.done():
            await self._fresh_status(None)
            await asyncio.sleep(HEARTBEAT_INTERVAL)

    async def _fresh_status(self, wait: float | None) -> None:
        """Ask the node's STATUS now (one request outstanding at most) and note its answer,
        waiting ``wait`` seconds for it at most (None: as long as it takes)."""
        pending = self._status
        if pending is None or pending.done():
            pending = self._status = self.link.ask(b"STATUS")
        try:
            reply = await asyncio.wait_for(asyncio.shield(pending), wait)
        except (TimeoutError, ConnectionError):
            return
        self.answered = time.monotonic()
        self.reason = reply.decode()

    async def _fresh_snapshot(self) -> Snapshot | None:
        """A snapshot asked of the node now, or None when it does not answer in time."""
        pending = self._pending
        if pending is None or pending.done():
            pending = self._pending = self.link.ask(b"SNAPSHOT")
        try:
            reply = await asyncio.wait_for(asyncio.shield(pending), SNAPSHOT_WAIT)
        except (TimeoutError, ConnectionError):
            return None
        now = time.monotonic()
        self.answered = now
        self.reason, self.last = parse_snapshot(reply, now)
        return self.last

    async def _metrics(self, request: web.Request) -> web.Response:
        snapshot = await self._fresh_snapshot()
        up = snapshot is not None
        snapshot = snapshot or self.last
        if snapshot is None:
            return web.Response(status=503, text="no snapshot yet: the node does not answer\n")
        body = render(families(snapshot, up, time.monotonic() - snapshot.taken))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    def _silence(self) -> float:
        return time.monotonic() - self.answered

    async def _healthz(self, request: web.Request) -> web.Response:
        silence = self._silence()
        if silence > HEALTHY_WITHIN:
            return web.Response(status=503, text=f"command loop silent for {silence:.1f}s\n")
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        await self._fresh_status(SNAPSHOT_WAIT)
        reason = self.reason
        silence = self._silence()
        if silence > HEALTHY_WITHIN:
            reason = f"command loop silent for {silence:.1f}s"
        if reason:
            return web.Response(status=503, text=reason + "\n")
        return web.Response(text="ready\n")


async def serve(listen_fd: int, channel_fd: int) -> None:
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    channel = socket.socket(fileno=channel_fd)
    _, link = await loop.connect_accepted_socket(lambda: NodeLink(closed), channel)
    exporter = Exporter(link)
    runner = web.AppRunner(exporter.app(), access_log=None)
    await runner.setup()
    await web.SockSite(runner, socket.socket(fileno=listen_fd)).start()
    heartbeat = loop.create_task(exporter.heartbeat())
    try:
        await closed
    finally:
        heartbeat.cancel()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m redslot.node.observability.exporter", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen-fd", type=int, required=True, help="the listening HTTP socket")
    ap.add_argument("--channel-fd", type=int, required=True, help="this end of the socketpair")
    ap.add_argument("--parent", type=int, required=True, help="the node's pid")
    args = ap.parse_args(argv)
    die_with_parent(args.parent)
    yield_to_the_node()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(serve(args.listen_fd, args.channel_fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
