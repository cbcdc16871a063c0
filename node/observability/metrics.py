"""The node's side of its metrics and probes: it starts, supervises and stops the exporter.

Scrapes must never stall commands. A thread of the node serving HTTP did: its Python work
(parsing INFO, rendering ~1 ms of Prometheus text) held the GIL, and the command loop waited
for it up to the 5 ms switch interval, so GET p99 rose by 5 to 34% under a scrape every
100 ms. So ``/metrics``, ``/healthz`` and ``/readyz`` are served by a child process,
exporter.py, started with exec (``python -m redslot.node.observability.exporter``: nothing of the node's
heap is forked), and the node only answers it what INFO answers.

The node binds the HTTP socket itself, before its own listeners, and hands it to every
exporter it starts: a metrics port in use still stops the node at start, and while an
exporter is being restarted, scrapes wait in the socket's backlog instead of being refused.
The private channel is a socketpair, one per exporter, its other end passed to the child:
no name to find, nothing another process could connect to, and none of requirepass,
protected-mode or maxclients in the way; the exporter is not a client (CLIENT LIST, INFO
clients and commandstats stay what they were). It speaks RESP, one request per round trip:

- ``STATUS`` -> the reason the node is not ready, empty when it is (``/readyz``); each
  answer is the node's sign of life for ``/healthz``.
- ``SNAPSHOT`` -> ``[reason, INFO ALL, CLUSTER INFO, slots, keys, acks pending, keys
  migrated, keys imported]``: the command loop pays one INFO ALL and, in cluster mode,
  CLUSTER INFO and the key count of every non-empty slot (two packed arrays, uint16 slots
  and uint32 counts, 0.3 to 0.5 ms for 16384 slots), asked once per scrape rather than
  published: Prometheus scrapes every 15 s or so.

The exporter dies with the node (it asks the kernel for SIGKILL when its parent dies, and it
exits when the channel closes); the node stops it at shutdown and restarts it when it exits
on its own, after RESTART_FIRST seconds doubling up to RESTART_MAX while it keeps failing.
A failing exporter is logged and never stops the node.
"""

from __future__ import annotations

import array
import asyncio
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any, cast

from ..base import errors
from ..cluster.info import info_text as cluster_info_text
from ..protocol.reply import encode, error_line
from ..protocol.request import RequestParser
from .info import info_text

if TYPE_CHECKING:
    from .context import Server

SUPERVISE_INTERVAL = 0.25
RESTART_FIRST = 0.25
RESTART_MAX = 10.0
STABLE_AFTER = 30.0  # an exporter that ran this long failing again starts the backoff over
STOP_TIMEOUT = 2.0
LISTEN_BACKLOG = 128
_INFO_ALL = [b"all"]


def not_ready_reason(server: Server) -> str:
    if not server.loaded or server.snapshots.loading is not None:
        return "loading the dataset"
    state = server.cluster
    if state is not None and state.held:
        return "held by cluster-await-confirm: waiting for CLUSTER SETTOPOLOGY"
    if state is not None and not state.lease.valid():
        # Fenced (cluster-lease-fencing): every keyed command gets CLUSTERDOWN.
        return f"fenced: {state.lease.fence_reason(False)}"
    return ""


def snapshot_reply(server: Server) -> list[Any]:
    """On the command loop: one INFO ALL (and CLUSTER INFO and the slots' key counts)."""
    state = server.cluster
    cluster_info = ""
    slots = counts = b""
    if state is not None:
        cluster_info = cluster_info_text(state)
        index = server.dbs[0].slot_index
        if index is not None:
            by_slot = index.by_slot
            slots = array.array("H", list(by_slot)).tobytes()
            counts = array.array("I", list(map(len, by_slot.values()))).tobytes()
    acks = sum(len(c.held_writes) for c in server.replication.gate.waiting)
    return [not_ready_reason(server).encode(), info_text(server, _INFO_ALL).encode(),
            cluster_info.encode(), slots, counts, acks, server.stat_migrated_keys,
            server.stat_imported_keys]


class ExporterChannel(asyncio.Protocol):
    """The node's end of the socketpair: answers STATUS and SNAPSHOT on the command loop."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.parser = RequestParser()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        out: list[bytes] = []
        for argv in self.parser.feed(data):
            name = argv[0].upper() if argv else b""
            if name == b"SNAPSHOT":
                encode(out, snapshot_reply(self.server), False)
            elif name == b"STATUS":
                encode(out, not_ready_reason(self.server).encode(), False)
            else:
                what = name.decode(errors="replace")
                out.append(b"-%s\r\n" % error_line(errors.EXPORTER_UNKNOWN_REQUEST % what))
        self.transport.write(b"".join(out))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def listen_host(bind: str, metrics_bind: str) -> str:
    """metrics-bind, else the first bind address (``*``: every IPv4 address)."""
    if metrics_bind:
        return metrics_bind
    first = bind.split()[0].lstrip("-") if bind.split() else "*"
    return {"*": "0.0.0.0", "::*": "::"}.get(first, first)


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


class MetricsServer:
    """Starts the exporter process, restarts it when it exits, stops it with the node."""

    def __init__(self, server: Server) -> None:
        self.server = server
        config = server.config
        self.host = listen_host(config["bind"], config["metrics-bind"])
        self.port: int = config["metrics-port"]
        self.sock: socket.socket | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.failures = 0  # exits in a row, each after less than STABLE_AFTER seconds
        self._channel: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    def start(self) -> None:
        """Bind the HTTP socket (OSError when it cannot) and start the exporter."""
        try:
            self.sock = _listening_socket(self.host, self.port)
        except OSError as exc:
            raise OSError(f"Could not start the metrics server on {self.host}:{self.port}: "
                          f"{exc}") from exc
        self.server.log_notice(f"Metrics and probes served on http://{self.host}:{self.port}/")
        self._spawn()

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._close_channel()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _spawn(self) -> None:
        assert self.sock is not None
        ours, theirs = socket.socketpair()
        argv = [sys.executable, "-m", "redslot.node.observability.exporter",
                "--listen-fd", str(self.sock.fileno()), "--channel-fd", str(theirs.fileno()),
                "--parent", str(self.server.pid)]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         pass_fds=(self.sock.fileno(), theirs.fileno()))
        except OSError as exc:
            ours.close()
            self.proc = None
            self.server.log_warning(f"Could not start the metrics exporter: {exc}")
            self._schedule(self._restart_delay())
            return
        finally:
            theirs.close()
        self.started_at = time.monotonic()
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.connect_accepted_socket(lambda: ExporterChannel(self.server),
                                                             ours))
        task.add_done_callback(self._channel_ready)
        self._schedule(SUPERVISE_INTERVAL)

    def _channel_ready(self, task: asyncio.Task[tuple[asyncio.Transport, Any]]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            self.server.log_warning(f"Metrics exporter channel failed: {task.exception()}")
            return
        transport, _ = task.result()
        if self._stopped:
            transport.close()
        else:
            self._channel = transport

    def _close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def _schedule(self, delay: float) -> None:
        if not self._stopped:
            self._timer = asyncio.get_running_loop().call_later(delay, self._supervise)

    def _restart_delay(self) -> float:
        delay = min(RESTART_FIRST * 2 ** self.failures, RESTART_MAX)
        self.failures += 1
        return delay

    def _supervise(self) -> None:
        """Every SUPERVISE_INTERVAL: a waitpid that does not block; a restart when needed."""
        self._timer = None
        proc = self.proc
        if proc is None:
            self._spawn()
            return
        code = proc.poll()
        if code is None:
            self._schedule(SUPERVISE_INTERVAL)
            return
        self._close_channel()
        self.proc = None
        if time.monotonic() - self.started_at >= STABLE_AFTER:
            self.failures = 0
        delay = self._restart_delay()
        self.server.log_warning(f"Metrics exporter (pid {proc.pid}) exited with code {code}, "
                                f"restarting it in {delay:g}s")
        self._schedule(delay)
