"""XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS (t_stream.c xinfoCommand),
with Redis 7.0's fields: entries-read and lag per group, idle per consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.database import now_ms
from ..table.command import command
from ..types.stream import MAX_ID, Stream, format_id
from ..types.stream_groups import Group
from .args import help_reply, subcommand_syntax_error, to_int
from .stream_args import word
from .streams import entries_reply, stream_for_read

if TYPE_CHECKING:
    from .context import Client

XINFO_HELP = (
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
)


def _stream(c: Client, key: bytes) -> Stream:
    s = stream_for_read(c.db, key)
    if s is None:
        raise CommandError(errors.NO_SUCH_KEY)
    return s


def _entries_read(group: Group) -> int | None:
    return None if group.entries_read == -1 else group.entries_read


@command("xinfo|help")
def xinfo_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("XINFO", XINFO_HELP)


@command("xinfo|consumers")
def xinfo_consumers(c: Client, argv: list[bytes]) -> Any:
    s = _stream(c, argv[2])
    group = s.group(argv[3])
    if group is None:
        raise CommandError(errors.XGROUP_NOGROUP % (
            argv[3].decode("utf-8", "surrogateescape"),
            argv[2].decode("utf-8", "surrogateescape")))
    now = now_ms()
    return [{b"name": consumer.name, b"pending": len(consumer.pel),
             b"idle": max(now - consumer.seen_time, 0)}
            for consumer in group.sorted_consumers()]


@command("xinfo|groups")
def xinfo_groups(c: Client, argv: list[bytes]) -> Any:
    s = _stream(c, argv[2])
    groups = s.groups or {}
    return [{b"name": name, b"consumers": len(group.consumers), b"pending": len(group.pel),
             b"last-delivered-id": format_id(group.last_id),
             b"entries-read": _entries_read(group), b"lag": s.lag(group)}
            for name, group in sorted(groups.items())]


@command("xinfo|stream")
def xinfo_stream(c: Client, argv: list[bytes]) -> Any:
    s = _stream(c, argv[2])
    options = argv[3:]
    full = bool(options)
    count = 10
    if full:
        if len(options) not in (1, 3) or word(options[0]) != b"full":
            raise subcommand_syntax_error(argv)
        if len(options) == 3:
            if word(options[1]) != b"count":
                raise subcommand_syntax_error(argv)
            count = to_int(options[2])
            if count < 0:
                count = 10
    info: dict[bytes, Any] = {
        b"length": s.length,
        b"radix-tree-keys": len(s.nodes),
        b"radix-tree-nodes": s.rax_nodes(),
        b"last-generated-id": format_id(s.last_id),
        b"max-deleted-entry-id": format_id(s.max_deleted),
        b"entries-added": s.entries_added,
        b"recorded-first-entry-id": format_id(s.first_id),
    }
    if not full:
        info[b"groups"] = len(s.groups or {})
        first = entries_reply(s, 0, MAX_ID, 1)
        last = entries_reply(s, 0, MAX_ID, 1, rev=True)
        info[b"first-entry"] = first[0] if first else None
        info[b"last-entry"] = last[0] if last else None
        return info
    info[b"entries"] = entries_reply(s, 0, MAX_ID, count)
    info[b"groups"] = [_group_full(s, name, group, count)
                       for name, group in sorted((s.groups or {}).items())]
    return info


def _group_full(s: Stream, name: bytes, group: Group, count: int) -> dict[bytes, Any]:
    pel = group.pel
    order = pel.order if not count else pel.order[:count]
    pending = []
    for stream_id in order:
        nack = pel.nacks[stream_id]
        owner = nack.consumer.name if nack.consumer is not None else b""
        pending.append([format_id(stream_id), owner, nack.delivery_time, nack.delivery_count])
    consumers = []
    for consumer in group.sorted_consumers():
        own = consumer.pel.order if not count else consumer.pel.order[:count]
        consumers.append({
            b"name": consumer.name, b"seen-time": consumer.seen_time,
            b"pel-count": len(consumer.pel),
            b"pending": [[format_id(i), consumer.pel.nacks[i].delivery_time,
                          consumer.pel.nacks[i].delivery_count] for i in own]})
    return {b"name": name, b"last-delivered-id": format_id(group.last_id),
            b"entries-read": _entries_read(group), b"lag": s.lag(group),
            b"pel-count": len(pel), b"pending": pending, b"consumers": consumers}
