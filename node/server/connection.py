"""A client's socket side: the transport, the peer's addresses, TCP keepalive, byte
counters, raw writes and write back-pressure.

``Client`` (client.py) adds what a client is to the server: its state and how its
requests run. Both declare ``__slots__`` (asyncio's protocols do too): no per-instance
dict, and faster attribute reads on the per-request path.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Server


class Connection(asyncio.Protocol):
    __slots__ = ("server", "transport", "addr", "laddr", "fd", "tls", "tot_net_in",
                 "tot_net_out", "reply_peak")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.addr = self.laddr = ""
        self.fd = -1
        self.tls = False
        self.tot_net_in = 0
        self.tot_net_out = 0
        self.reply_peak = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family == socket.AF_UNIX:  # Redis: "<path>:0"
            self.addr = self.laddr = f"{transport.get_extra_info('sockname')}:0"
        else:
            self.addr = format_addr(transport.get_extra_info("peername"))
            self.laddr = format_addr(transport.get_extra_info("sockname"))
        self.fd = sock.fileno() if sock is not None else -1
        self.tls = transport.get_extra_info("sslcontext") is not None

    def is_loopback(self) -> bool:
        """connIsLocal: the peer is on the loopback interface (127.*, ::1)."""
        peer = self.transport.get_extra_info("peername") if self.transport else None
        if not peer:
            return True  # a Unix socket
        host = peer[0].removeprefix("::ffff:")
        return host.startswith("127.") or host == "::1"

    def set_keepalive(self, interval: int) -> None:
        """anetKeepAlive: probe an idle peer after ``interval`` s, then every interval/3 s."""
        sock = self.transport.get_extra_info("socket") if self.transport else None
        if sock is None:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, interval)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(interval // 3, 1))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        except OSError:
            pass

    def pause_writing(self) -> None:
        """The peer reads slower than we write: stop reading its requests meanwhile."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.tot_net_out += len(data)
            self.server.stat_net_output_bytes += len(data)
            self.server.stat_total_writes_processed += 1
            self.transport.write(data)


def format_addr(addr: Any) -> str:
    if not addr:
        return ""
    if isinstance(addr, tuple):
        host, port = addr[0], addr[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(addr)
