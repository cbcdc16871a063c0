"""A client's socket side: the transport, the peer's addresses, TCP keepalive, byte
counters, raw writes and write back-pressure.

``Client`` (client.py) adds what a client is to the server: its state and how its
requests run. Both are compiled (base/compiled.py) as native classes, so the
per-request path reads their fields as C struct members; that is why they do not
subclass ``asyncio.Protocol`` (a Python class): the event loop calls a protocol's
methods by name, and ``eof_received`` is here for it. Their ``__slots__`` list every
field, which the pure-Python build keeps to as well.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ..base.compiled import extension
from ..keyspace.session import Session

if TYPE_CHECKING:
    from .hot import ServerHot
    from .server import Server


# A read this large probably left more behind: libuv reads a ready socket again and again
# (up to 32 buffers) before it looks at any other, so a client streaming a pipeline (a
# ``redis-cli --pipe`` bulk load) held every other client, the control plane's lease
# renewals included, for seconds. After such a read the connection skips a loop turn, as
# Redis reads at most 16 KB from a client per turn.
FULL_READ: Final = 65536

# A reply written straight to the socket (_sockio.c) while the transport holds nothing
# unsent: uvloop's transport.write makes the same write(2) after a sixth of a request's
# user-space time at pipeline 1 (perf, LPUSH -P 1: 4.0% of the node's CPU, 2.3% after). None in the pure build (every write takes the transport).
_sockio = extension("server._sockio")
SEND: Final[Callable[[int, bytes], int] | None] = None if _sockio is None else _sockio.send
# The transports whose socket may be written directly: uvloop's plain TCP and Unix ones
# (never TLS: its bytes are records only its transport makes).
DIRECT_TRANSPORTS: Final = frozenset({("uvloop.loop", "TCPTransport"),
                                      ("uvloop.loop", "UnixTransport")})


class Connection(Session):
    __slots__ = ("server", "hot", "transport", "addr", "laddr", "fd", "tls", "tot_net_in",
                 "tot_net_out", "reply_peak", "write_paused", "turn_paused", "direct", "unsent")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.hot: ServerHot = server.hot  # what the read cycle reads of the server
        self.transport: asyncio.Transport | None = None
        self.addr = self.laddr = ""
        self.fd = -1
        self.tls = False
        self.tot_net_in = 0
        self.tot_net_out = 0
        self.reply_peak = 0
        self.write_paused = False
        self.turn_paused = False
        # The transport whose socket ``write`` may write itself (DIRECT_TRANSPORTS), or
        # None; ``unsent``: the transport may hold bytes of ours, so later ones follow them.
        self.direct: asyncio.BaseTransport | None = None
        self.unsent = False

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
        kind = type(transport)
        self.direct = (transport if SEND is not None and self.fd >= 0 and not self.tls
                       and (kind.__module__, kind.__name__) in DIRECT_TRANSPORTS else None)
        self.unsent = False

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

    def eof_received(self) -> bool | None:
        """The peer shut its side: the transport closes (asyncio.Protocol's default)."""
        return None

    def pause_writing(self) -> None:
        """The peer reads slower than we write: stop reading its requests meanwhile."""
        self.write_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.transport is not None and not self.turn_paused:
            self.transport.resume_reading()

    def yield_turn(self) -> None:
        """Read nothing more from this peer until the loop has served the others once."""
        if self.transport is not None and not self.turn_paused:
            self.turn_paused = True
            self.transport.pause_reading()
            asyncio.get_running_loop().call_soon(self._end_turn)

    def _end_turn(self) -> None:
        self.turn_paused = False
        if self.transport is not None and not self.write_paused and not self.transport.is_closing():
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        """Send ``data``: straight to the socket while the transport holds nothing of ours
        and is open (a closing one may have closed the descriptor, a number the next
        accepted connection may get), the rest through the transport."""
        transport = self.transport
        if transport is not None:
            hot = self.hot
            size = len(data)
            self.tot_net_out += size
            hot.stat_net_output_bytes += size
            hot.stat_total_writes_processed += 1
            if transport is self.direct and not self.unsent and not transport.is_closing():
                send = SEND
                assert send is not None
                sent = send(self.fd, data)
                if sent == size:
                    return
                if sent > 0:
                    data = data[sent:]
            self.unsent = True
            transport.write(data)

    def write_through_transport(self) -> None:
        """From now on every write goes through the transport: another writer uses it
        directly (a replica's link, written by the replication stream)."""
        self.direct = None


def format_addr(addr: Any) -> str:
    if not addr:
        return ""
    if isinstance(addr, tuple):
        host, port = addr[0], addr[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(addr)
