"""A raw RESP client for tests: sends requests as given, returns replies as exact bytes.

Differential tests compare these bytes between redslot and redis-server, so every reply,
error text and RESP3 type must match to the byte.
"""

from __future__ import annotations

import socket


class RawClient:
    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args: bytes | str | int) -> bytes:
        """Send one command as a multibulk; return its whole reply, raw."""
        self.send_raw(encode_command(*args))
        return self.read_reply()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def _line(self, pos: int) -> int:
        while True:
            nl = self.buf.find(b"\r\n", pos)
            if nl >= 0:
                return nl
            self._fill()

    def _skip(self, pos: int) -> int:
        """Offset after one complete RESP value starting at ``pos``."""
        nl = self._line(pos)
        kind = self.buf[pos:pos + 1]
        head = self.buf[pos + 1:nl]
        end = nl + 2
        if kind in b"$=!" and head != b"-1":
            end += int(head) + 2
            while len(self.buf) < end:
                self._fill()
        elif kind in b"*~>" and head != b"-1":
            for _ in range(int(head)):
                end = self._skip(end)
        elif kind == b"%" or kind == b"|":
            for _ in range(2 * int(head)):
                end = self._skip(end)
        return end

    def read_reply(self) -> bytes:
        end = self._skip(0)
        reply, self.buf = self.buf[:end], self.buf[end:]
        return reply

    def read_until_closed(self, timeout: float = 5.0) -> bytes:
        """Everything the server sends until it closes the connection."""
        self.sock.settimeout(timeout)
        data = self.buf
        self.buf = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk


def encode_command(*args: bytes | str | int) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)
