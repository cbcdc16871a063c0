"""The node's metrics and probes server: ``/metrics``, ``/healthz``, ``/readyz`` over HTTP.

Scrapes must never stall commands, so the HTTP server (aiohttp) runs in a thread of its
own with its own event loop, and the command loop does only what INFO does: when a scrape
arrives the thread asks the command loop (``call_soon_threadsafe``) for a snapshot, which
is the text of ``INFO ALL`` and ``CLUSTER INFO`` (so every figure comes from the code that
INFO uses, never computed a second way) plus a few counters; parsing it and rendering the
Prometheus text (metrics_families.py) happen in the thread. The thread waits for the
snapshot at most SNAPSHOT_WAIT seconds; a command loop that does not answer by then (a
long command, DEBUG SLEEP) gets the last snapshot served with ``redis_up 0``, as
redis_exporter reports a Redis it cannot reach.

Asked for, rather than published by the command loop every 100 ms: a snapshot costs the
command loop what an INFO ALL costs (0.15 to 0.25 ms), so publishing would pay that ten
times a second whether anyone scrapes or not (Prometheus scrapes every 15 s or so), while
on demand it is paid once per scrape. With a scrape every 100 ms both cost the same, and
bench/scrape_latency.py could not tell them apart by GET p99; the cheaper rule stays.

Probes (the Kubernetes contract): ``/healthz`` is 200 while the command loop has run its
heartbeat (every HEARTBEAT_INTERVAL s) within HEALTHY_WITHIN s, else 503; ``/readyz`` is
200 once the data is loaded and, in cluster mode, the node is not held by
``cluster-await-confirm``, and the command loop answers; 503 with a one-line reason
otherwise. Both only read plain attributes from this thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from .commands.cluster import info_text as cluster_info_text
from .info import info_text
from .metrics_families import families, render

if TYPE_CHECKING:
    from .server import Server

HEARTBEAT_INTERVAL = 0.25
HEALTHY_WITHIN = 2.0
SNAPSHOT_WAIT = 0.5
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
_INFO_ALL = [b"all"]
# The text format every Prometheus reads (redis_exporter's too), as render() writes it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Snapshot:
    """The figures of one moment, taken on the command loop, read in the metrics thread."""

    taken: float  # time.monotonic()
    info: str  # INFO ALL
    cluster_info: str  # CLUSTER INFO, empty on a standalone node
    # A copy of the slot index's dict (slot -> its keys): a dict copy costs some 60 us for
    # 16384 slots where a list of pairs costs 2 ms; the sets are only measured (len), in
    # the metrics thread.
    slot_keys: dict[int, set[bytes]]
    acks_pending: int
    migrated_keys: int
    imported_keys: int


def take_snapshot(server: Server) -> Snapshot:
    """On the command loop: the cost of one INFO ALL (and CLUSTER INFO) and a dict copy."""
    state = server.cluster
    slot_keys: dict[int, set[bytes]] = {}
    cluster_info = ""
    if state is not None:
        cluster_info = cluster_info_text(state)
        index = server.dbs[0].slot_index
        if index is not None:
            slot_keys = index.by_slot.copy()
    acks = sum(len(c.held_writes) for c in server.replication.gate.waiting)
    return Snapshot(time.monotonic(), info_text(server, _INFO_ALL), cluster_info, slot_keys,
                    acks, server.stat_migrated_keys, server.stat_imported_keys)


def listen_host(bind: str, metrics_bind: str) -> str:
    """metrics-bind, else the first bind address (``*``: every IPv4 address)."""
    if metrics_bind:
        return metrics_bind
    first = bind.split()[0].lstrip("-") if bind.split() else "*"
    return {"*": "0.0.0.0", "::*": "::"}.get(first, first)


class MetricsServer:
    def __init__(self, server: Server) -> None:
        self.server = server
        config = server.config
        self.host = listen_host(config["bind"], config["metrics-bind"])
        self.port: int = config["metrics-port"]
        self.heartbeat = time.monotonic()
        self._beat_handle: asyncio.TimerHandle | None = None
        self._command_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._pending: concurrent.futures.Future[Snapshot] | None = None
        self.last: Snapshot | None = None

    # --- lifecycle, called on the command loop ---

    def start(self) -> None:
        """Start the thread and wait until it listens; OSError when it cannot."""
        self._command_loop = asyncio.get_running_loop()
        self._beat()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(started,),
                                        name="redslot-metrics", daemon=True)
        self._thread.start()
        try:
            started.result(START_TIMEOUT)
        except OSError as exc:
            raise OSError(f"Could not start the metrics server on {self.host}:{self.port}: "
                          f"{exc}") from exc
        self.server.log_notice(f"Metrics and probes served on http://{self.host}:{self.port}/")

    def stop(self) -> None:
        if self._beat_handle is not None:
            self._beat_handle.cancel()
            self._beat_handle = None
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the thread's loop already ended
                pass
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)

    def _beat(self) -> None:
        """The command loop's sign of life that /healthz reads."""
        self.heartbeat = time.monotonic()
        assert self._command_loop is not None
        self._beat_handle = self._command_loop.call_later(HEARTBEAT_INTERVAL, self._beat)

    def _snapshot_requested(self, future: concurrent.futures.Future[Snapshot]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(take_snapshot(self.server))
        except Exception as exc:
            future.set_exception(exc)

    # --- the metrics thread ---

    def _run(self, started: concurrent.futures.Future[None]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(started))
        finally:
            loop.close()

    async def _serve(self, started: concurrent.futures.Future[None]) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port, reuse_address=True).start()
        except OSError as exc:
            await runner.cleanup()
            started.set_exception(exc)
            return
        started.set_result(None)
        try:
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    async def _fresh_snapshot(self) -> Snapshot | None:
        """A snapshot asked of the command loop now, or None when it does not answer in
        time; at most one request is outstanding, later scrapes wait for the same one."""
        pending = self._pending
        if pending is None or pending.done():
            pending = self._pending = concurrent.futures.Future()
            assert self._command_loop is not None
            try:
                self._command_loop.call_soon_threadsafe(self._snapshot_requested, pending)
            except RuntimeError:  # the command loop is closed: shutting down
                return None
        try:
            snapshot = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(pending)),
                                              SNAPSHOT_WAIT)
        except TimeoutError:
            return None
        self.last = snapshot
        return snapshot

    async def _metrics(self, request: web.Request) -> web.Response:
        snapshot = await self._fresh_snapshot()
        up = snapshot is not None
        snapshot = snapshot or self.last
        if snapshot is None:
            return web.Response(status=503, text="no snapshot yet: the command loop is busy\n")
        body = render(families(snapshot, up, time.monotonic() - snapshot.taken))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    def _silence(self) -> float:
        return time.monotonic() - self.heartbeat

    async def _healthz(self, request: web.Request) -> web.Response:
        silence = self._silence()
        if silence > HEALTHY_WITHIN:
            return web.Response(status=503, text=f"command loop silent for {silence:.1f}s\n")
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        reason = self.not_ready_reason()
        if reason:
            return web.Response(status=503, text=reason + "\n")
        return web.Response(text="ready\n")

    def not_ready_reason(self) -> str:
        server = self.server
        if not server.loaded or server.snapshots.loading is not None:
            return "loading the dataset"
        state = server.cluster
        if state is not None and state.held:
            return "held by cluster-await-confirm: waiting for CLUSTER SETTOPOLOGY"
        silence = self._silence()
        if silence > HEALTHY_WITHIN:
            return f"command loop silent for {silence:.1f}s"
        return ""
