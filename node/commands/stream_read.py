"""XREAD and XREADGROUP, with BLOCK (t_stream.c xreadCommand, blocked.c).

XREADGROUP changes the group (its last delivered ID, its PEL, maybe a new consumer) on a
read, and replicates by those effects, as Redis does: one XCLAIM per entry delivered
(with its delivery time and count, so the replica's PEL is the same), XGROUP SETID when
NOACK moved the group without a PEL, XGROUP CREATECONSUMER when NOACK made a consumer.
The read itself is never replicated.

A read that finds nothing blocks with BLOCK (outside MULTI), on every stream named, until
an XADD gives one of them an entry past the ID asked for (for a group, past its last
delivered ID at that moment), the timeout fires, or CLIENT UNBLOCK. A stream or group
deleted meanwhile answers a blocked XREADGROUP with Redis's errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.blocking import block
from ..keyspace.database import Database, now_ms
from ..keyspace.notify import NOTIFY_STREAM
from ..protocol.reply import NULL_ARRAY, encode, register_encoder
from ..table.command import command
from ..types.stream import ENTRIES_READ_INVALID, MAX_ID, Stream, format_id
from ..types.stream_groups import Consumer, Group, Nack
from .args import arg_text, to_int
from .stream_args import parse_id, word
from .streams import stream_for_read

if TYPE_CHECKING:
    from .context import Client

XREAD_BLOCKED_DEFAULT_COUNT = 1000

Effects = list[list[bytes]]


def xclaim_effect(key: bytes, group_name: bytes, group: Group, stream_id: bytes,
                  nack: Nack) -> list[bytes]:
    """streamPropagateXCLAIM: the PEL entry as it now is, forced on the replica."""
    owner = nack.consumer.name if nack.consumer is not None else b""
    return [b"XCLAIM", key, group_name, owner, b"0", stream_id, b"TIME",
            b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count, b"FORCE",
            b"JUSTID", b"LASTID", format_id(group.last_id)]


def setid_effect(key: bytes, group_name: bytes, group: Group) -> list[bytes]:
    """streamPropagateGroupID."""
    return [b"XGROUP", b"SETID", key, group_name, format_id(group.last_id), b"ENTRIESREAD",
            b"%d" % group.entries_read]


def lookup_or_create_consumer(db: Database, key: bytes, group: Group, name: bytes,
                              now: int) -> tuple[Consumer, bool]:
    """streamLookupConsumer then streamCreateConsumer: (consumer, created)."""
    consumer = group.consumer(name, now)
    if consumer is not None:
        return consumer, False
    consumer = group.add_consumer(name, now)
    assert consumer is not None
    db.stats.dirty += 1
    db.notify(NOTIFY_STREAM, "xgroup-createconsumer", key)
    return consumer, True


def read_new(s: Stream, start: int, count: int, key: bytes, group_name: bytes, group: Group,
             consumer: Consumer, noack: bool, effects: Effects | None) -> list[Any]:
    """streamReplyWithRange with a group: deliver entries >= start, advancing the group."""
    out: list[Any] = []
    now = now_ms()
    moved = False
    for stream_id, node, j in s.range(start, MAX_ID):
        if stream_id > group.last_id:
            if (group.entries_read != ENTRIES_READ_INVALID
                    and not s.has_tombstones_in(stream_id)):
                group.entries_read += 1
            elif s.entries_added:
                group.entries_read = s.estimate_distance(stream_id)
            group.last_id = stream_id
            moved = noack
        text = format_id(stream_id)
        out.append([text, node.pairs(j)])
        if not noack:
            nack = group.pel.get(stream_id)
            if nack is None:
                nack = Nack(consumer, now)
                group.pel.add(stream_id, nack)
                consumer.pel.add(stream_id, nack)
            else:
                if nack.consumer is not None:
                    nack.consumer.pel.remove(stream_id)
                nack.consumer = consumer
                nack.delivery_time = now
                nack.delivery_count = 1
                consumer.pel.add(stream_id, nack)
            if effects is not None:
                effects.append(xclaim_effect(key, group_name, group, text, nack))
        if len(out) == count:
            break
    if moved and effects is not None:
        effects.append(setid_effect(key, group_name, group))
    return out


def read_history(s: Stream, start: int, count: int, consumer: Consumer) -> list[Any]:
    """streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries; a deleted
    one is answered with a null in place of its fields."""
    out: list[Any] = []
    now = now_ms()
    for stream_id in consumer.pel.from_id(start):
        if count and len(out) >= count:
            break
        found = s.find(stream_id)
        if found is None:
            out.append([format_id(stream_id), NULL_ARRAY])
            continue
        node, j = found
        out.append([format_id(stream_id), node.pairs(j)])
        nack = consumer.pel.nacks[stream_id]
        nack.delivery_time = now
        nack.delivery_count += 1
    return out


class StreamsReply(list):  # type: ignore[type-arg]
    """(key, entries) pairs: a RESP3 map, or in RESP2 an array of [key, entries] arrays.
    A key named twice in one XREAD is answered twice, in both protocols, as Redis does."""

    __slots__ = ()


def _encode_streams(out: list[bytes], value: StreamsReply, resp3: bool) -> None:
    out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % len(value))
    for key, entries in value:
        if not resp3:
            out.append(b"*2\r\n")
        encode(out, key, resp3)
        encode(out, entries, resp3)


register_encoder(StreamsReply, _encode_streams)


def _parse(c: Client, argv: list[bytes], group_read: bool) -> tuple[int, int, int, int,
                                                                    bytes | None,
                                                                    bytes | None, bool]:
    """(timeout ms or -1, count, first key index, number of streams, group, consumer,
    noack)."""
    timeout = -1
    count = 0
    streams_arg = streams_count = 0
    group_name = consumer_name = None
    noack = False
    i = 1
    argc = len(argv)
    while i < argc:
        more = argc - i - 1
        opt = word(argv[i])
        if opt == b"block" and more:
            i += 1
            timeout = to_int(argv[i], errors.BLOCK_TIMEOUT_NOT_INTEGER)
            if timeout < 0:
                raise CommandError(errors.TIMEOUT_NEGATIVE)
        elif opt == b"count" and more:
            i += 1
            count = max(to_int(argv[i]), 0)
        elif opt == b"streams" and more:
            streams_arg = i + 1
            streams_count = argc - streams_arg
            if streams_count % 2:
                raise CommandError(errors.XREAD_UNBALANCED)
            streams_count //= 2
            break
        elif opt == b"group" and more >= 2:
            if not group_read:
                raise CommandError(errors.XREAD_GROUP_OPTION)
            group_name, consumer_name = argv[i + 1], argv[i + 2]
            i += 2
        elif opt == b"noack":
            if not group_read:
                raise CommandError(errors.XREAD_NOACK_OPTION)
            noack = True
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if not streams_arg:
        raise CommandError(errors.SYNTAX)
    if group_read and group_name is None:
        raise CommandError(errors.XREADGROUP_NO_GROUP_OPTION)
    return timeout, count, streams_arg, streams_count, group_name, consumer_name, noack


def _xread(c: Client, argv: list[bytes], group_read: bool) -> Any:
    timeout, count, first, n, group_name, consumer_name, noack = _parse(c, argv, group_read)
    db = c.db
    keys = argv[first:first + n]
    ids: list[int] = []
    groups: list[Group] = []
    for key, arg in zip(keys, argv[first + n:], strict=True):
        s = stream_for_read(db, key)
        if group_name is not None:
            group = None if s is None else s.group(group_name)
            if group is None:
                raise CommandError(errors.XREADGROUP_NOGROUP % (arg_text(key), arg_text(group_name)))
            groups.append(group)
        if arg == b"$":
            if group_read:
                raise CommandError(errors.XREADGROUP_DOLLAR)
            ids.append(0 if s is None else s.last_id)
        elif arg == b">":
            if not group_read:
                raise CommandError(errors.XREAD_GREATER)
            ids.append(MAX_ID)
        else:
            ids.append(parse_id(arg, strict=True))
    served: list[tuple[bytes, list[Any]]] = []
    # The effects are built only when something (replicas, the AOF) will read them.
    effects: Effects | None = [] if c.server.propagation.active else None
    for i, key in enumerate(keys):
        s = stream_for_read(db, key)
        if s is None:
            continue
        gt = ids[i]
        history = False
        serve = False
        if groups:
            if gt != MAX_ID:
                serve = history = True
            elif s.length:
                last = groups[i].last_id
                if s.last_valid_id() > last:
                    serve = True
                    gt = last
        elif s.length and s.last_valid_id() > gt:
            serve = True
        if not serve:
            continue
        start = gt + 1
        if groups:
            assert group_name is not None and consumer_name is not None
            served.append((key, _group_read(db, s, key, group_name, groups[i], consumer_name,
                                            start, count, noack, history, effects)))
            db.stats.dirty += 1
            db.resized(key)
        else:
            served.append((key, _plain_read(s, start, count)))
    if group_read:
        c.rewrite(*(effects or ()))
    if served:
        return StreamsReply(served)
    if timeout == -1 or c.multi:
        return NULL_ARRAY
    return _block(c, keys, ids, timeout, count or XREAD_BLOCKED_DEFAULT_COUNT, group_name,
                  consumer_name, noack)


def _plain_read(s: Stream, start: int, count: int) -> list[Any]:
    return s.entries(start, MAX_ID, count)


def _group_read(db: Database, s: Stream, key: bytes, group_name: bytes, group: Group,
                consumer_name: bytes, start: int, count: int, noack: bool, history: bool,
                effects: Effects | None) -> list[Any]:
    consumer, created = lookup_or_create_consumer(db, key, group, consumer_name, now_ms())
    if created and noack and effects is not None:
        effects.append([b"XGROUP", b"CREATECONSUMER", key, group_name, consumer_name])
    if history:
        return read_history(s, start, count, consumer)
    return read_new(s, start, count, key, group_name, group, consumer, noack, effects)


def _block(c: Client, keys: list[bytes], ids: list[int], timeout: int, count: int,
           group_name: bytes | None, consumer_name: bytes | None, noack: bool) -> Any:
    wanted: dict[bytes, int] = {}
    for key, stream_id in zip(keys, ids, strict=True):
        wanted.setdefault(key, stream_id)  # blockForKeys: a key named twice keeps its first ID

    def serve(db: Database, key: bytes) -> Any:
        """serveClientsBlockedOnStreamKey / unblockDeletedStreamReadgroupClients."""
        value = db.peek(key)
        if value is None or value.__class__ is not Stream:
            return None if group_name is None else CommandError(errors.XREADGROUP_KEY_GONE)
        s = value
        gt = wanted[key]
        group = None
        if group_name is not None:
            group = s.group(group_name)
            if group is None:
                return CommandError(errors.XREADGROUP_GROUP_GONE)
            gt = group.last_id
        if s.last_id <= gt:
            return None
        propagation = c.server.propagation
        effects: Effects | None = [] if propagation.active else None
        if group is None:
            entries = _plain_read(s, gt + 1, count)
        else:
            assert group_name is not None and consumer_name is not None
            entries = _group_read(db, s, key, group_name, group, consumer_name, gt + 1, count,
                                  noack, False, effects)
            db.resized(key)
        if effects:
            for effect in effects:
                propagation.add(db.id, effect)
        return StreamsReply([(key, entries)])

    return block(c, keys, "stream", timeout / 1000, serve, _null_array)


def _null_array() -> Any:
    return NULL_ARRAY


@command("xread")
def xread(c: Client, argv: list[bytes]) -> Any:
    return _xread(c, argv, False)


@command("xreadgroup")
def xreadgroup(c: Client, argv: list[bytes]) -> Any:
    return _xread(c, argv, True)
