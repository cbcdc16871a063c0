"""Consumer group commands (t_stream.c): XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

XCLAIM and XAUTOCLAIM replicate as one forced XCLAIM per PEL entry they touched, with
the entry's resulting delivery time and count (streamPropagateXCLAIM), never as
themselves: a replica's clock and idle times must not decide what it claims.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.database import now_ms
from ..keyspace.notify import NOTIFY_STREAM
from ..protocol.reply import NULL_ARRAY, OK
from ..table.command import command
from ..types.stream import ENTRIES_READ_INVALID, MAX_ID, Stream, format_id
from ..types.stream_groups import Consumer, Group, Nack
from .args import arg_text, help_reply, subcommand_syntax_error, to_int
from .stream_args import parse_id, parse_interval, range_bounds, word
from .stream_read import Effects, lookup_or_create_consumer, setid_effect, xclaim_effect
from .streams import stream_for_read, stream_for_write

if TYPE_CHECKING:
    from .context import Client

LONG_MAX = 2**63 - 1
XAUTOCLAIM_ATTEMPTS_FACTOR = 10
XAUTOCLAIM_MAX_COUNT = LONG_MAX // 16
XAUTOCLAIM_ALLOCATABLE = 1 << 32  # beyond this COUNT, Redis's transient array cannot be had

XGROUP_HELP = (
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
)


def nogroup(key: bytes, group: bytes) -> CommandError:
    return CommandError(errors.STREAM_NOGROUP % (arg_text(key), arg_text(group)))


def _group_of(c: Client, key: bytes, name: bytes) -> tuple[Stream | None, Group | None]:
    s = stream_for_read(c.db, key)
    return s, None if s is None else s.group(name)


# --- XGROUP ---

def _xgroup(c: Client, argv: list[bytes]) -> Any:
    """xgroupCommand: the shared option and key checks, then the subcommand."""
    sub = word(argv[1])
    mkstream = False
    entries_read = ENTRIES_READ_INVALID
    i = 5
    while i < len(argv):
        opt = word(argv[i])
        if sub == b"create" and opt == b"mkstream":
            mkstream = True
            i += 1
        elif sub in (b"create", b"setid") and opt == b"entriesread" and i + 1 < len(argv):
            entries_read = to_int(argv[i + 1])
            if entries_read < 0 and entries_read != ENTRIES_READ_INVALID:
                raise CommandError(errors.XGROUP_ENTRIESREAD)
            i += 2
        else:
            raise subcommand_syntax_error(argv)
    db = c.db
    key = argv[2]
    name = argv[3]
    s = stream_for_write(db, key)
    group = None
    if not mkstream:
        if s is None:
            raise CommandError(errors.XGROUP_NO_KEY)
        group = s.group(name)
        if group is None and sub in (b"setid", b"createconsumer", b"delconsumer"):
            raise CommandError(errors.XGROUP_NOGROUP % (arg_text(name), arg_text(key)))
    argc = len(argv)
    if sub == b"create" and 5 <= argc <= 8:
        if argv[4] == b"$":
            last_id = 0 if s is None else s.last_id
        else:
            last_id = parse_id(argv[4], strict=True)
        if s is None:
            s = Stream()
            db.add(key, s)
            db.stats.dirty -= 1  # ``add`` counts a change; Redis counts the group only
        if s.groups is None:
            s.groups = {}
        if name in s.groups:
            raise CommandError(errors.XGROUP_BUSYGROUP)
        s.groups[name] = Group(last_id, entries_read)
        db.stats.dirty += 1
        db.resized(key)
        db.notify(NOTIFY_STREAM, "xgroup-create", key)
        return OK
    assert s is not None
    if sub == b"setid" and argc in (5, 7):
        assert group is not None
        group.last_id = s.last_id if argv[4] == b"$" else parse_id(argv[4])
        group.entries_read = entries_read
        db.stats.dirty += 1
        db.notify(NOTIFY_STREAM, "xgroup-setid", key)
        return OK
    if sub == b"destroy" and argc == 4:
        if group is None:
            return 0
        assert s.groups is not None
        del s.groups[name]
        db.stats.dirty += 1
        db.resized(key)
        db.notify(NOTIFY_STREAM, "xgroup-destroy", key)
        db.signal_ready(key)
        return 1
    if sub == b"createconsumer" and argc == 5:
        assert group is not None
        created = group.add_consumer(argv[4], now_ms())
        if created is None:
            return 0
        db.stats.dirty += 1
        db.resized(key)
        db.notify(NOTIFY_STREAM, "xgroup-createconsumer", key)
        return 1
    if sub == b"delconsumer" and argc == 5:
        assert group is not None
        consumer = group.consumer(argv[4], 0, refresh=False)
        if consumer is None:
            return 0
        pending = len(consumer.pel)
        group.delete_consumer(consumer)
        db.stats.dirty += 1
        db.resized(key)
        db.notify(NOTIFY_STREAM, "xgroup-delconsumer", key)
        return pending
    raise subcommand_syntax_error(argv)


for _sub in ("create", "setid", "destroy", "createconsumer", "delconsumer"):
    command("xgroup|" + _sub)(_xgroup)


@command("xgroup|help")
def xgroup_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("XGROUP", XGROUP_HELP)


# --- XACK ---

@command("xack")
def xack(c: Client, argv: list[bytes]) -> Any:
    _, group = _group_of(c, argv[1], argv[2])
    if group is None:
        return 0
    ids = [parse_id(arg, strict=True) for arg in argv[3:]]
    acknowledged = 0
    for stream_id in ids:
        if group.acknowledge(stream_id):
            acknowledged += 1
            c.db.stats.dirty += 1
    if acknowledged:
        c.db.resized(argv[1])
    return acknowledged


# --- XPENDING ---

@command("xpending")
def xpending(c: Client, argv: list[bytes]) -> Any:
    argc = len(argv)
    if argc != 3 and not 6 <= argc <= 9:
        raise CommandError(errors.SYNTAX)
    minidle = count = 0
    start = end = 0
    consumer_name = None
    if argc >= 6:
        at = 3
        if word(argv[3]) == b"idle":
            minidle = to_int(argv[4])
            if argc < 8:
                raise CommandError(errors.SYNTAX)
            at += 2
        count = max(to_int(argv[at + 2]), 0)
        start, end = range_bounds(argv[at], argv[at + 1])
        if at + 3 < argc:
            consumer_name = argv[at + 3]
    _, group = _group_of(c, argv[1], argv[2])
    if group is None:
        raise nogroup(argv[1], argv[2])
    pel = group.pel
    if argc == 3:
        if not len(pel):
            return [0, None, None, NULL_ARRAY]
        owners = [[consumer.name, b"%d" % len(consumer.pel)]
                  for consumer in group.sorted_consumers() if len(consumer.pel)]
        return [len(pel), format_id(pel.order[0]), format_id(pel.order[-1]), owners]
    if consumer_name is not None:
        consumer = group.consumer(consumer_name, 0, refresh=False)
        if consumer is None:
            return []
        pel = consumer.pel
    now = now_ms()
    out = []
    for stream_id in pel.from_id(start):
        if not count or stream_id > end:
            break
        nack = pel.nacks[stream_id]
        if minidle and now - nack.delivery_time < minidle:
            continue
        count -= 1
        owner = nack.consumer.name if nack.consumer is not None else b""
        out.append([format_id(stream_id), owner, max(now - nack.delivery_time, 0),
                    nack.delivery_count])
    return out


# --- claiming ---

def _claim(c: Client, key: bytes, group: Group, stream_id: int, nack: Nack,
           consumer: Consumer | None, name: bytes) -> Consumer:
    """Give a PEL entry to the claiming consumer (made on first use)."""
    if consumer is None:
        consumer, _ = lookup_or_create_consumer(c.db, key, group, name, now_ms())
    if nack.consumer is not consumer:
        if nack.consumer is not None:
            nack.consumer.pel.remove(stream_id)
        consumer.pel.add(stream_id, nack)
        nack.consumer = consumer
    return consumer


def _drop(group: Group, stream_id: int, nack: Nack) -> None:
    group.pel.remove(stream_id)
    if nack.consumer is not None:
        nack.consumer.pel.remove(stream_id)


@command("xclaim")
def xclaim(c: Client, argv: list[bytes]) -> Any:
    key, group_name = argv[1], argv[2]
    s, group = _group_of(c, key, group_name)
    if s is None or group is None:
        raise nogroup(key, group_name)
    minidle = max(to_int(argv[4], errors.XCLAIM_MIN_IDLE), 0)
    ids: list[int] = []
    j = 5
    while j < len(argv):
        try:
            ids.append(parse_id(argv[j], strict=True))
        except CommandError:
            break
        j += 1
    id_args = argv[5:j]
    now = now_ms()
    retrycount = delivery = -1
    force = justid = False
    last_id = 0
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = word(argv[j])
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            delivery = now - to_int(argv[j], errors.XCLAIM_IDLE)
        elif opt == b"time" and more:
            j += 1
            delivery = to_int(argv[j], errors.XCLAIM_TIME)
        elif opt == b"retrycount" and more:
            j += 1
            retrycount = to_int(argv[j], errors.XCLAIM_RETRYCOUNT)
        elif opt == b"lastid" and more:
            j += 1
            last_id = parse_id(argv[j], strict=True)
        else:
            raise CommandError(errors.XCLAIM_OPTION % arg_text(argv[j].split(b"\0", 1)[0]))
        j += 1
    db = c.db
    effects: Effects = []
    propagate_last_id = False
    if last_id > group.last_id:
        group.last_id = last_id
        propagate_last_id = True
    if delivery == -1 or delivery < 0 or delivery > now:
        delivery = now
    consumer = None
    out: list[Any] = []
    for stream_id, arg in zip(ids, id_args, strict=True):
        nack = group.pel.get(stream_id)
        found = s.find(stream_id)
        if found is None:
            if nack is not None:
                effects.append(xclaim_effect(key, group_name, group, arg, nack))
                propagate_last_id = False
                db.stats.dirty += 1
                _drop(group, stream_id, nack)
            continue
        if force and nack is None:
            nack = Nack(None, now)
            group.pel.add(stream_id, nack)
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        consumer = _claim(c, key, group, stream_id, nack, consumer, argv[3])
        nack.delivery_time = delivery
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        if justid:
            out.append(format_id(stream_id))
        else:
            node, index = found
            out.append([format_id(stream_id), node.pairs(index)])
        effects.append(xclaim_effect(key, group_name, group, arg, nack))
        propagate_last_id = False
        db.stats.dirty += 1
    if propagate_last_id:
        effects.append(setid_effect(key, group_name, group))
        db.stats.dirty += 1
    db.resized(key)
    c.rewrite(*effects)
    return out


@command("xautoclaim")
def xautoclaim(c: Client, argv: list[bytes]) -> Any:
    key, group_name = argv[1], argv[2]
    minidle = max(to_int(argv[4], errors.XAUTOCLAIM_MIN_IDLE), 0)
    start, exclusive = parse_interval(argv[5], 0)
    if exclusive:
        if start == MAX_ID:
            raise CommandError(errors.STREAM_INVALID_START)
        start += 1
    count = 100
    justid = False
    j = 6
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = word(argv[j])
        if opt == b"count" and more:
            count = to_int(argv[j + 1], errors.XAUTOCLAIM_COUNT)
            if not 1 <= count <= XAUTOCLAIM_MAX_COUNT:
                raise CommandError(errors.XAUTOCLAIM_COUNT)
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    s, group = _group_of(c, key, group_name)
    if s is None or group is None:
        raise nogroup(key, group_name)
    if count > XAUTOCLAIM_ALLOCATABLE:
        raise CommandError(errors.XAUTOCLAIM_NO_MEMORY)
    db = c.db
    effects: Effects = []
    attempts = count * XAUTOCLAIM_ATTEMPTS_FACTOR
    pending = group.pel.from_id(start)
    now = now_ms()
    consumer = None
    claimed: list[Any] = []
    deleted: list[bytes] = []
    examined = 0
    while attempts and count and examined < len(pending):
        attempts -= 1
        stream_id = pending[examined]
        examined += 1
        nack = group.pel.nacks[stream_id]
        found = s.find(stream_id)
        if found is None:
            text = format_id(stream_id)
            effects.append(xclaim_effect(key, group_name, group, text, nack))
            db.stats.dirty += 1
            _drop(group, stream_id, nack)
            deleted.append(text)
            count -= 1
            continue
        if minidle and now - nack.delivery_time < minidle:
            continue
        consumer = _claim(c, key, group, stream_id, nack, consumer, argv[3])
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        if justid:
            claimed.append(format_id(stream_id))
        else:
            node, index = found
            claimed.append([format_id(stream_id), node.pairs(index)])
        count -= 1
        effects.append(xclaim_effect(key, group_name, group, format_id(stream_id), nack))
        db.stats.dirty += 1
    cursor = format_id(pending[examined]) if examined < len(pending) else b"0-0"
    db.resized(key)
    c.rewrite(*effects)
    return [cursor, claimed, deleted]
