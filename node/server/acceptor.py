"""Listening sockets (TCP, Unix) whose connections get their client at once (acceptTcpHandler).

asyncio's own servers accept a connection in one loop callback and make its protocol and
transport in later ones, so a connection accepted in the very turn a long script starts
has no client until the script ends: the busy script's hook (scripting/busy.py) cannot
see it and it would wait instead of getting -BUSY as in Redis. Here the listening socket
is watched with ``add_reader`` and each accepted socket gets its ``Client`` in the same
callback, listed in ``Server.connecting`` until the event loop has made its transport
(``connect_accepted_socket``). The busy hook serves the ones still listed itself; those
it adopted keep the transport it gave them until the script ends.
TLS listeners stay asyncio servers: their handshake needs the loop (and busy scripts leave
TLS connections to it anyway).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from typing import Any

ACCEPTS_PER_CALL = 1000  # MAX_ACCEPTS_PER_CALL
RETRY_DELAY = 1.0  # seconds before accepting again when out of descriptors
OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def listening_sockets(host: str | None, port: int, family: int,
                      backlog: int) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for ``host``, as loop.create_server makes."""
    infos = socket.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    made: list[socket.socket] = []
    try:
        for af, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(af, kind, proto)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if af == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise OSError(exc.errno, f"error while attempting to bind on address "
                                         f"{address!r}: {str(exc.strerror).lower()}") from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in made:
            sock.close()
        raise
    return made


def unix_listening_socket(path: str, backlog: int) -> socket.socket:
    """A listening, non-blocking Unix socket at ``path``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class Acceptor:
    """One listening address's sockets, accepting into ``on_socket`` (an asyncio.Server's
    ``sockets``, ``close`` and ``wait_closed`` for the server's lifecycle)."""

    def __init__(self, sockets: list[socket.socket],
                 on_socket: Callable[[socket.socket], None]) -> None:
        self.sockets = sockets
        self.on_socket = on_socket
        self.loop = asyncio.get_running_loop()
        for sock in sockets:
            self.loop.add_reader(sock.fileno(), self._ready, sock)

    def _ready(self, sock: socket.socket) -> None:
        for _ in range(ACCEPTS_PER_CALL):
            try:
                conn, _addr = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno in OUT_OF_RESOURCES:  # still readable: pause instead of spinning
                    self.loop.remove_reader(sock.fileno())
                    self.loop.call_later(RETRY_DELAY, self._resume, sock)
                return
            conn.setblocking(False)
            self.on_socket(conn)

    def _resume(self, sock: socket.socket) -> None:
        if sock.fileno() >= 0:
            self.loop.add_reader(sock.fileno(), self._ready, sock)

    def close(self) -> None:
        for sock in self.sockets:
            if sock.fileno() >= 0:
                self.loop.remove_reader(sock.fileno())
                sock.close()

    async def wait_closed(self) -> None:
        return None


async def attach(client: Any, sock: socket.socket) -> None:
    """The event loop's transport for an accepted socket, unless the busy hook adopted the
    client meanwhile (it hands it over itself) or it was closed."""
    if client.transport is not None or sock.fileno() < 0:
        return
    loop = asyncio.get_running_loop()
    try:
        await loop.connect_accepted_socket(lambda: client, sock)
    except OSError:
        sock.close()
