"""The replication stream: the effects of write commands, in order, as RESP commands.

What changed the dataset is propagated, not what was asked (server.c call() and
alsoPropagate): a command that made the dataset dirty is propagated as sent unless its
handler rewrote it (``Client.propagate_as``: SET EX -> SET PXAT, EXPIRE -> PEXPIREAT,
INCRBYFLOAT -> SET KEEPTTL, SPOP -> SREM, a served BLPOP -> LPOP ...), so a replica
replaying the stream reaches the same dataset whatever the clock or the random draws.
Deletions the server makes on its own (expiry, eviction) are added as DEL. The effects
of one top-level command (an EXEC, or a push that served blocked clients) are flushed
together, inside MULTI/EXEC when there are several, as propagatePendingCommands does.

Flushed bytes go to the backlog (partial resynchronisation) and to every replica
(replication.py); ``master_repl_offset`` counts them. Nothing is done while no replica
was ever attached: ``active`` is False and the hot path skips all of this.

A replica's stream is its master's, byte for byte (``relay``): its offset is what it
acknowledges and what it asks to continue from, so nothing of its own may enter it
(replicationFeedSlaves returns on a replica). While ``following``, its own effects go to
the AOF only and its own link traffic nowhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol.command import encode_command

if TYPE_CHECKING:
    from collections.abc import Callable

MULTI = [b"MULTI"]
EXEC = [b"EXEC"]


class Backlog:
    """The last ``size`` bytes of the stream and the offset of its first byte."""

    __slots__ = ("size", "buf", "first_offset")

    def __init__(self, size: int, next_offset: int) -> None:
        self.size = size
        self.buf = bytearray()
        self.first_offset = next_offset  # offset of buf[0] (1-based, as Redis counts)

    def append(self, data: bytes) -> None:
        self.buf += data
        excess = len(self.buf) - self.size
        if excess > self.size:  # trim in large steps: amortised O(1) per byte
            del self.buf[:excess]
            self.first_offset += excess

    def histlen(self) -> int:
        return min(len(self.buf), self.size)

    def since(self, offset: int) -> bytes | None:
        """The bytes after ``offset`` (the last byte a replica has), or None if gone."""
        start = offset + 1 - self.first_offset
        if start < len(self.buf) - self.size or start < 0 or start > len(self.buf):
            return None
        return bytes(self.buf[start:])

    def resize(self, size: int) -> None:
        self.size = size


class Propagation:
    """Collects a command's effects and writes them to the stream."""

    __slots__ = ("active", "pending", "selected_db", "offset", "backlog", "sinks", "aof",
                 "written", "following")

    def __init__(self) -> None:
        self.active = False
        self.pending: list[tuple[int, list[bytes]]] = []
        self.selected_db = -1  # the db the stream last SELECTed
        self.offset = 0  # master_repl_offset
        self.backlog: Backlog | None = None
        self.sinks: list[Callable[[bytes], None]] = []  # replicas
        self.aof: Callable[[bytes], None] | None = None  # the append-only file (aof.py)
        self.written = 0  # the offset at the end of the last write (link traffic excluded)
        self.following = False  # a replica: only its master's bytes are streamed

    def start(self, backlog_size: int) -> None:
        """createReplicationBacklog: from now on every write is streamed."""
        if self.backlog is None:
            self.backlog = Backlog(backlog_size, self.offset + 1)
            self.selected_db = -1  # the next effect starts with a SELECT
        self.active = True

    def add(self, db_id: int, argv: list[bytes]) -> None:
        self.pending.append((db_id, argv))

    def flush(self) -> None:
        """propagatePendingCommands: one command as is, several inside MULTI/EXEC."""
        pending = self.pending
        if not pending:
            return
        chunks = []
        wrap = len(pending) > 1
        for i, (db_id, argv) in enumerate(pending):
            if db_id != self.selected_db:
                chunks.append(encode_command([b"SELECT", b"%d" % db_id]))
                self.selected_db = db_id
            if wrap and i == 0:
                chunks.append(encode_command(MULTI))
            chunks.append(encode_command(argv))
        if wrap:
            chunks.append(encode_command(EXEC))
        pending.clear()
        self.feed(b"".join(chunks))

    def feed(self, data: bytes, durable: bool = True) -> None:
        """feedReplicationBuffer: stream bytes to the backlog and the replicas, and to the
        AOF unless they are only the link's own traffic (PING, REPLCONF GETACK)."""
        if self.following:
            if durable and self.aof is not None:
                self.aof(data)
            return
        self.relay(data, durable)

    def relay(self, data: bytes, durable: bool = True) -> None:
        """The stream as it is: our own on a master, the master's bytes on a replica."""
        self.offset += len(data)
        if durable:
            self.written = self.offset
        if self.backlog is not None:
            self.backlog.append(data)
        for sink in self.sinks:
            sink(data)
        if durable and self.aof is not None:
            self.aof(data)
