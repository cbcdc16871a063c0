"""Stream commands on entries (t_stream.c): XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM,
XSETID.

XADD replicates as the entry it added: an ID Redis chose (``*``, ``ms-*``) is written in,
and an approximate trim (``~``) becomes the exact trim it turned out to be, so replicas
and the AOF hold the same entries whatever their node sizes. A stream with blocked
readers is signalled ready after XADD (stream_read.py serves them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import WRONGTYPE, CommandError
from ..keyspace.database import Database, now_ms
from ..keyspace.notify import NOTIFY_STREAM
from ..protocol.reply import NULL_ARRAY, OK
from ..table.command import command
from ..types.stream import MAX_ID, Stream, StreamNode, format_id
from .args import to_int
from .stream_args import exact_trim_argv, parse_id, parse_trim, range_bounds, trim, word

if TYPE_CHECKING:
    from .context import Client


def stream_for_read(db: Database, key: bytes) -> Stream | None:
    value = db.lookup_read(key)
    if value is not None and value.__class__ is not Stream:
        raise CommandError(WRONGTYPE)
    return value


def stream_for_write(db: Database, key: bytes) -> Stream | None:
    value = db.lookup_write(key)
    if value is not None and value.__class__ is not Stream:
        raise CommandError(WRONGTYPE)
    return value


def entry_reply(stream_id: int, node: StreamNode, j: int) -> list[Any]:
    return [format_id(stream_id), node.pairs(j)]


def entries_reply(s: Stream, start: int, end: int, count: int, rev: bool = False) -> list[Any]:
    """streamReplyWithRange without a group: up to ``count`` entries (0: all)."""
    if not rev:
        return s.entries(start, end, count)
    out = []
    for stream_id, node, j in s.range(start, end, rev):
        out.append([format_id(stream_id), node.pairs(j)])
        if len(out) == count:
            break
    return out


# --- XADD ---

@command("xadd")
def xadd(c: Client, argv: list[bytes]) -> Any:
    args, idpos = parse_trim(c, argv, True)
    field_pos = idpos + 1
    pairs = len(argv) - field_pos
    if pairs < 2 or pairs % 2:
        raise CommandError(errors.WRONG_ARITY % "xadd")
    if args.id_given and args.seq_given and args.id == 0:
        raise CommandError(errors.STREAM_ID_ZERO)
    db = c.db
    key = argv[1]
    s = stream_for_write(db, key)
    if s is None:
        if args.no_mkstream:
            return None
        s = Stream()
        db.add(key, s)
    if s.last_id == MAX_ID:
        raise CommandError(errors.STREAM_EXHAUSTED)
    last = s.last_id
    if not args.id_given:
        ms = now_ms()
        stream_id = ms << 64 if ms > last >> 64 else last + 1
    elif not args.seq_given and args.id >> 64 == last >> 64:
        if last & 0xFFFFFFFFFFFFFFFF == 0xFFFFFFFFFFFFFFFF:
            raise CommandError(errors.STREAM_TOO_LARGE)
        stream_id = last + 1
    else:
        stream_id = args.id
    if stream_id <= last:
        raise CommandError(errors.STREAM_ID_TOO_SMALL)
    config = c.server.config
    s.append(stream_id, argv[field_pos:], config["stream-node-max-entries"],
             config["stream-node-max-bytes"])
    reply = format_id(stream_id)
    db.modified(key)
    db.notify(NOTIFY_STREAM, "xadd", key)
    effect = argv
    if args.strategy:
        if trim(s, args):
            db.notify(NOTIFY_STREAM, "xtrim", key)
        if args.approx:
            effect = exact_trim_argv(argv, s, args)
    if not args.id_given or not args.seq_given:
        effect = list(effect)
        effect[idpos] = reply
    if effect is not argv:
        c.rewrite(effect)
    db.signal_ready(key)
    return reply


# --- reads ---

def _range(c: Client, argv: list[bytes], rev: bool) -> Any:
    start, end = range_bounds(argv[3], argv[2]) if rev else range_bounds(argv[2], argv[3])
    count = -1
    j = 4
    while j < len(argv):
        if word(argv[j]) == b"count" and j + 1 < len(argv):
            count = max(to_int(argv[j + 1]), 0)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    s = stream_for_read(c.db, argv[1])
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return entries_reply(s, start, end, max(count, 0), rev)


@command("xrange")
def xrange(c: Client, argv: list[bytes]) -> Any:
    return _range(c, argv, False)


@command("xrevrange")
def xrevrange(c: Client, argv: list[bytes]) -> Any:
    return _range(c, argv, True)


@command("xlen")
def xlen(c: Client, argv: list[bytes]) -> Any:
    s = stream_for_read(c.db, argv[1])
    return 0 if s is None else s.length


# --- removals ---

@command("xdel")
def xdel(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    key = argv[1]
    s = stream_for_write(db, key)
    if s is None:
        return 0
    ids = [parse_id(arg, strict=True) for arg in argv[2:]]
    deleted = 0
    first_entry = False
    for stream_id in ids:
        if s.delete(stream_id):
            if stream_id == s.first_id:
                first_entry = True
            if stream_id > s.max_deleted:
                s.max_deleted = stream_id
            deleted += 1
    if deleted:
        s.after_delete(first_entry)
        db.modified(key)
        db.notify(NOTIFY_STREAM, "xdel", key)
        db.stats.dirty += deleted - 1
    return deleted


@command("xtrim")
def xtrim(c: Client, argv: list[bytes]) -> Any:
    args, _ = parse_trim(c, argv, False)
    db = c.db
    key = argv[1]
    s = stream_for_write(db, key)
    if s is None:
        return 0
    deleted = trim(s, args)
    if deleted:
        db.notify(NOTIFY_STREAM, "xtrim", key)
        if args.approx:
            c.rewrite(exact_trim_argv(argv, s, args))
        db.modified(key)
        db.stats.dirty += deleted - 1
    return deleted


# --- XSETID ---

@command("xsetid")
def xsetid(c: Client, argv: list[bytes]) -> Any:
    stream_id = parse_id(argv[2], strict=True)
    entries_added = -1
    max_deleted = 0
    i = 3
    while i < len(argv):
        more = len(argv) - 1 - i
        opt = word(argv[i])
        if opt == b"entriesadded" and more:
            entries_added = to_int(argv[i + 1])
            if entries_added < 0:
                raise CommandError(errors.XSETID_ENTRIES_ADDED)
        elif opt == b"maxdeletedid" and more:
            max_deleted = parse_id(argv[i + 1], strict=True)
            if stream_id < max_deleted:
                raise CommandError(errors.XSETID_MAX_DELETED)
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    db = c.db
    s = stream_for_write(db, argv[1])
    if s is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if s.length:
        if stream_id < s.last_valid_id():
            raise CommandError(errors.XSETID_TOO_SMALL)
        if entries_added != -1 and s.length > entries_added:
            raise CommandError(errors.XSETID_ENTRIES_SMALL)
    s.last_id = stream_id
    if entries_added != -1:
        s.entries_added = entries_added
    if max_deleted:
        s.max_deleted = max_deleted
    db.stats.dirty += 1
    db.notify(NOTIFY_STREAM, "xsetid", argv[1])
    return OK
