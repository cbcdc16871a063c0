"""MIGRATE's cached outgoing connections (cluster.c migrateGetSocket and friends).

A resharding tool sends thousands of MIGRATEs to the same target, so the connection to each
``host:port`` is kept and reused; one unused for more than 10 seconds is closed by the
cron (migrateCloseTimedoutSockets), and at most 64 are kept. The sockets are blocking with
a timeout on every connect, read and write: MIGRATE holds the event loop while it talks to
the target, as Redis holds its main thread, but never longer than its timeout per step.
With tls-cluster every connection is TLS, whatever the target (as migrateGetSocket does);
the handshake is one more step within the timeout.
"""

from __future__ import annotations

import random
import socket
import ssl
import time

CACHE_ITEMS = 64
CACHE_TTL = 10  # seconds
MAX_LINE = 1023  # connSyncReadLine into a 1024-byte buffer
MAX_TIMEOUT_MS = 2**31 - 1  # beyond this the platform's socket timeouts overflow


class MigrateTimeout(Exception):
    """A connect, read or write that ran out of time: MIGRATE does not retry it."""


class MigrateSocket:
    """One cached connection; ``last_dbid`` spares the SELECT when it is unchanged."""

    __slots__ = ("sock", "tls", "last_dbid", "last_use", "pending", "at")

    def __init__(self, sock: socket.socket, tls: bool) -> None:
        self.sock = sock
        self.tls = tls
        self.last_dbid = -1
        self.last_use = time.time()
        self.pending = b""
        self.at = 0  # where the next line in ``pending`` starts

    def write(self, data: bytes, timeout_ms: int) -> None:
        """connSyncWrite in 64 KB chunks, each within the timeout."""
        sock = self.sock
        sock.settimeout(timeout_ms / 1000)
        view = memoryview(data)
        try:
            for start in range(0, len(data), 64 * 1024):
                sock.sendall(view[start:start + 64 * 1024])
        except TimeoutError:
            raise MigrateTimeout from None

    def read_line(self, timeout_ms: int) -> bytes:
        """connSyncReadLine: one reply line without its CRLF, within the timeout.

        ``pending`` is consumed from ``at`` on rather than re-sliced per line: a pipelined
        MIGRATE (migrate.py) reads thousands of replies out of one buffer."""
        sock = self.sock
        deadline = time.monotonic() + timeout_ms / 1000
        end = self.pending.find(b"\n", self.at)
        while end < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MigrateTimeout
            sock.settimeout(left)
            try:
                chunk = sock.recv(64 * 1024)
            except TimeoutError:
                raise MigrateTimeout from None
            if not chunk:
                raise ConnectionError("connection closed by the target")
            self.pending = self.pending[self.at:] + chunk
            self.at = 0
            end = self.pending.find(b"\n")
        line = self.pending[self.at:min(end, self.at + MAX_LINE)]
        self.at = end + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            raise ConnectionError("empty reply line")
        return line

    def close(self) -> None:
        self.sock.close()


class MigrateSockets:
    """The cache, keyed by the ``host:port`` text as given to MIGRATE."""

    def __init__(self) -> None:
        self.cached: dict[bytes, MigrateSocket] = {}

    def get(self, host: bytes, port: bytes, timeout_ms: int,
            tls: ssl.SSLContext | None = None) -> MigrateSocket:
        """The cached connection, or a new one (OSError or MigrateTimeout when it fails);
        over TLS with ``tls`` (a cached connection of the other kind is replaced)."""
        name = host + b":" + port
        cs = self.cached.get(name)
        if cs is not None and cs.tls == (tls is not None):
            cs.last_use = time.time()
            return cs
        if cs is not None:
            self.cached.pop(name).close()
        if len(self.cached) >= CACHE_ITEMS:
            victim = random.choice(list(self.cached))
            self.cached.pop(victim).close()
        try:
            port_number = int(port)
        except ValueError:
            port_number = 0
        try:
            sock = socket.create_connection(
                (host.decode("utf-8", "surrogateescape"), port_number), timeout=timeout_ms / 1000)
        except TimeoutError:
            raise MigrateTimeout from None
        except socket.gaierror:
            raise
        except OSError:
            # Redis connects without blocking and learns of a refusal only when its first
            # write fails (IOERR ... writing): an unconnected socket fails the same way.
            sock = socket.socket()
        else:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls is not None:
                try:
                    sock = tls.wrap_socket(sock)
                except TimeoutError:
                    sock.close()
                    raise MigrateTimeout from None
                except OSError:
                    sock.close()
                    raise
        cs = self.cached[name] = MigrateSocket(sock, tls is not None)
        return cs

    def close(self, host: bytes, port: bytes) -> None:
        cs = self.cached.pop(host + b":" + port, None)
        if cs is not None:
            cs.close()

    def close_idle(self, now: float) -> None:
        """migrateCloseTimedoutSockets: drop connections unused for more than 10 seconds."""
        for name, cs in list(self.cached.items()):
            if now - cs.last_use > CACHE_TTL:
                cs.close()
                del self.cached[name]

    def close_all(self) -> None:
        for cs in self.cached.values():
            cs.close()
        self.cached.clear()
