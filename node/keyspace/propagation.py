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

An effect normally goes to both targets, the replicas and the AOF. A script's
``redis.set_repl`` narrows the effects it makes to one of them (``restrict``, Redis's
PROPAGATE_AOF / PROPAGATE_REPL); such a command's flush then writes the two streams apart,
each with its own SELECTs, and the MULTI/EXEC around several effects to both, as
propagatePendingCommands does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol.command import encode_command

if TYPE_CHECKING:
    from collections.abc import Callable

MULTI = [b"MULTI"]
EXEC = [b"EXEC"]

# Propagation targets (server.h PROPAGATE_*)
TARGET_AOF = 1
TARGET_REPL = 2
TARGET_ALL = 3


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
                 "written", "following", "split")

    def __init__(self) -> None:
        self.active = False
        # (db, argv) for both targets, (db, argv, target) for one (``restrict``)
        self.pending: list[tuple[Any, ...]] = []
        self.split = False  # some pending effect has one target only
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

    def restrict(self, start: int, target: int) -> None:
        """The effects pending from ``start`` on go to ``target`` only (a script's
        redis.set_repl); those for a target that is off are dropped, as alsoPropagate's
        shouldPropagate drops them (so they count for no MULTI/EXEC either)."""
        available = (TARGET_AOF if self.aof is not None else 0) | (
            TARGET_REPL if self.backlog is not None else 0)
        kept = []
        for entry in self.pending[start:]:
            effective = target & available & (entry[2] if len(entry) > 2 else TARGET_ALL)
            if effective == TARGET_ALL:
                kept.append(entry[:2])
            elif effective:
                kept.append((entry[0], entry[1], effective))
                self.split = True
        self.pending[start:] = kept

    def flush(self) -> None:
        """propagatePendingCommands: one command as is, several inside MULTI/EXEC."""
        pending = self.pending
        if not pending:
            return
        if self.split:
            self._flush_split()
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

    def _flush_split(self) -> None:
        """flush when some effect has one target: the replicas' stream and the AOF's
        written apart (feedAppendOnlyFile and replicationFeedSlaves each SELECT for
        their own), MULTI and EXEC going to both."""
        pending = self.pending
        wrap = len(pending) > 1
        streams: dict[int, list[bytes]] = {TARGET_REPL: [], TARGET_AOF: []}
        selected = {TARGET_REPL: self.selected_db, TARGET_AOF: self.selected_db}

        def put(target: int, db_id: int, argv: list[bytes]) -> None:
            chunks = streams[target]
            if db_id != selected[target]:
                chunks.append(encode_command([b"SELECT", b"%d" % db_id]))
                selected[target] = db_id
            chunks.append(encode_command(argv))

        last = len(pending) - 1
        for i, entry in enumerate(pending):
            db_id, argv = entry[0], entry[1]
            target = entry[2] if len(entry) > 2 else TARGET_ALL
            for each in (TARGET_REPL, TARGET_AOF):
                if wrap and i == 0:
                    put(each, db_id, MULTI)
                if target & each:
                    put(each, db_id, argv)
                if wrap and i == last:
                    put(each, db_id, EXEC)
        pending.clear()
        self.split = False
        agreed = selected[TARGET_REPL] == selected[TARGET_AOF]
        self.selected_db = selected[TARGET_REPL] if agreed else -1
        if streams[TARGET_REPL] and self.backlog is not None:
            self.feed(b"".join(streams[TARGET_REPL]), aof=False)
        if streams[TARGET_AOF] and self.aof is not None:
            self.aof(b"".join(streams[TARGET_AOF]))

    def feed(self, data: bytes, durable: bool = True, aof: bool = True) -> None:
        """feedReplicationBuffer: stream bytes to the backlog and the replicas, and to the
        AOF unless they are only the link's own traffic (PING, REPLCONF GETACK, not
        ``durable``) or a script's effects for the replicas only (not ``aof``)."""
        if self.following:
            if durable and aof and self.aof is not None:
                self.aof(data)
            return
        self.relay(data, durable, aof)

    def relay(self, data: bytes, durable: bool = True, aof: bool = True) -> None:
        """The stream as it is: our own on a master, the master's bytes on a replica.
        ``written`` moves with every durable byte, so a zero-loss reply waits for a
        script's replica-only effects too."""
        self.offset += len(data)
        if durable:
            self.written = self.offset
        if self.backlog is not None:
            self.backlog.append(data)
        for sink in self.sinks:
            sink(data)
        if durable and aof and self.aof is not None:
            self.aof(data)
