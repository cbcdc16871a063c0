"""Serving other clients while a script runs past busy-reply-threshold
(processEventsWhileBlocked, protectClient).

A script runs inside the command that started it, on the event loop's thread, and the
loop cannot be re-entered from there. So every HOOK_INSTRUCTIONS Lua instructions, once
past the threshold, the count hook polls the other clients' sockets itself (``poll`` with
no wait) and feeds what it reads to their ``data_received``, exactly as the loop would:
their requests go through dispatch, which answers -BUSY to all but the commands flagged
allow_busy (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE, MULTI, AUTH ...), and their
replies are written at once (transports write immediately when their buffer is empty).
The caller's socket is left alone, as Redis protects it, and so are TLS connections (their
bytes are TLS records, which only their transport can read: they wait for the script to
end, as a client blocked on a slow network would); a peer that hung up is skipped
until the loop runs again and closes it. New connections are accepted from the listening
sockets too, on a ``BusyTransport`` (plain blocking sends), and so are connections accepted
before the script started whose transport the loop had not made yet (``Server.connecting``,
server/acceptor.py); once the script ends each is handed to the event loop
(``connect_accepted_socket``), its client kept as it is. The short
dispatch path is switched off meanwhile, so every request takes those checks.

SIGTERM and SIGINT reach the event loop only once the script returns; meanwhile a Python
handler notes them, and the hook then ends the script as SHUTDOWN NOSAVE does, after
which the loop's own handler shuts the server down as usual.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Server


SEND_TIMEOUT = 1.0  # seconds a reply to a connection accepted while busy may take


class BusyTransport(asyncio.Transport):
    """A connection accepted while a script runs, until the event loop takes it over."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            return
        try:
            self.sock.settimeout(SEND_TIMEOUT)
            self.sock.sendall(data)
        except OSError:
            self.close()
        finally:
            if not self.closed:
                self.sock.setblocking(False)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        try:
            if name == "peername":
                return self.sock.getpeername()
            if name == "sockname":
                return self.sock.getsockname()
        except OSError:
            return default
        return self.sock if name == "socket" else default

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()

    def abort(self) -> None:
        self.close()


class Handover(asyncio.Protocol):
    """The event loop's side of a connection accepted while busy: the client it already has."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.client.transport = transport

    def data_received(self, data: bytes) -> None:
        self.client.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.connection_lost(exc)

    def pause_writing(self) -> None:
        self.client.pause_writing()

    def resume_writing(self) -> None:
        self.client.resume_writing()


async def handover(client: Any, transport: BusyTransport) -> None:
    """Give a connection accepted while busy to the event loop, unless closed meanwhile or
    the loop made its transport already (accepted just before the script started)."""
    sock = transport.sock
    if sock.fileno() < 0 or client.transport is not transport:
        return
    loop = asyncio.get_running_loop()
    await loop.connect_accepted_socket(lambda: Handover(client), sock)


SIGNALS = (signal.SIGTERM, signal.SIGINT)


class BusyState:
    __slots__ = ("server", "fast_dispatch", "hung_up", "listeners", "accepted", "signalled",
                 "saved_handlers")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.fast_dispatch = True
        self.hung_up: set[int] = set()
        self.listeners: dict[int, socket.socket] = {}
        self.accepted: list[Any] = []
        self.signalled = False
        self.saved_handlers: dict[int, Any] = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signalled = True

    def enter(self, ctx: Any) -> None:
        """enterScriptTimedoutMode."""
        server = self.server
        server.busy_script = ctx
        self.fast_dispatch = server.fast_dispatch
        server.fast_dispatch = False
        for sig in SIGNALS:
            previous = signal.getsignal(sig)
            if previous is not None:
                self.saved_handlers[sig] = previous
                signal.signal(sig, self._on_signal)
        for listener in server.listeners:
            if listener is server.tls_listener:
                continue  # TLS connections wait for the loop: their bytes are not requests
            for lsock in listener.sockets or ():
                dup = socket.fromfd(lsock.fileno(), lsock.family, lsock.type)
                dup.setblocking(False)
                self.listeners[dup.fileno()] = dup

    def leave(self, ctx: Any) -> None:
        """exitScriptTimedoutMode."""
        server = self.server
        server.busy_script = None
        server.fast_dispatch = self.fast_dispatch
        self.hung_up.clear()
        for sig, previous in self.saved_handlers.items():
            signal.signal(sig, previous)
        self.saved_handlers.clear()
        self.signalled = False
        for dup in self.listeners.values():
            dup.close()
        self.listeners.clear()
        loop = asyncio.get_event_loop()
        for client in self.accepted:
            transport = client.transport
            if isinstance(transport, BusyTransport) and not transport.closed:
                loop.create_task(handover(client, transport))
        self.accepted.clear()

    def accept(self, listener: socket.socket) -> None:
        """A new connection while busy: a client on a BusyTransport (acceptTcpHandler)."""
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        sock.setblocking(False)
        self.adopt(self.server.new_client(), sock)

    def adopt(self, client: Any, sock: socket.socket) -> None:
        client.connection_made(BusyTransport(sock))
        self.accepted.append(client)

    def adopt_connecting(self) -> None:
        """Connections accepted before the script started whose transport the loop has not
        made yet (server/acceptor.py): served now, as Redis serves every accepted client."""
        for client, sock in list(self.server.connecting.values()):
            if sock.fileno() >= 0:
                self.adopt(client, sock)
            else:
                self.server.connecting.pop(id(client), None)

    def shutting_down(self) -> bool:
        """SHUTDOWN NOSAVE was served, or SIGTERM / SIGINT arrived, while busy."""
        event = self.server.shutdown_event
        return self.signalled or (event is not None and event.is_set())

    def process_events(self, ctx: Any) -> None:
        server = self.server
        if server.connecting:
            self.adopt_connecting()
        caller = ctx.caller
        by_fd: dict[int, Any] = {}
        for client in list(server.clients.values()):
            if client is caller or client.closing or client.is_master:
                continue
            transport = client.transport
            if transport is None or transport.get_extra_info("sslcontext") is not None:
                continue  # a TLS client's socket carries records, read by its transport
            sock = transport.get_extra_info("socket")
            if sock is None:
                continue
            fd = sock.fileno()
            if fd >= 0 and fd not in self.hung_up:
                by_fd[fd] = client
        poller = select.poll()
        for fd in (*by_fd, *self.listeners):
            poller.register(fd, select.POLLIN)
        tracker = server.tracker
        current = tracker.current
        try:
            for fd, _events in poller.poll(0):
                if fd in self.listeners:
                    self.accept(self.listeners[fd])
                    continue
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.hung_up.add(fd)
                    continue
                by_fd[fd].data_received(data)
        finally:
            tracker.current = current
