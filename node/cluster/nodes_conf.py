"""The topology table as text: CLUSTER NODES lines, nodes.conf, pushed tables.

One format serves three purposes, as in Redis: CLUSTER NODES shows it, nodes.conf stores
it (plus a ``vars`` line with the epochs, and 7.2's ``shard-id`` aux field), and tables
travel between nodes in it (CLUSTER SETTOPOLOGY from the control plane, CLUSTER
MERGETOPOLOGY between peers). Parsing is strict: a table that does not parse is refused
whole, never half applied.

nodes.conf is written atomically (a temporary file, fsync, rename, fsync of the
directory) so that a crash leaves either the old table or the new one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..keyspace.slots import SLOTS

NODE_ID = re.compile(r"[0-9a-f]{40}")
KNOWN_FLAGS = ("myself", "master", "slave", "fail?", "fail", "handshake", "noaddr", "nofailover")


class TableError(ValueError):
    """The text is not a topology table; the message says where."""


@dataclass
class Row:
    """One parsed line of a table."""

    id: str
    ip: str
    port: int
    cport: int
    hostname: str
    flags: set[str]
    master_id: str | None
    ping_sent: int
    pong_recv: int
    config_epoch: int
    connected: bool
    slots: list[int] = field(default_factory=list)
    migrating: dict[int, str] = field(default_factory=dict)
    importing: dict[int, str] = field(default_factory=dict)
    shard_id: str = ""
    pport: int = 0  # a TLS node's plaintext port (the ``tcp-port`` aux field)


@dataclass
class Table:
    rows: list[Row]
    current_epoch: int | None = None
    last_vote_epoch: int = 0
    topology_epoch: int = 0


def _int(text: str, what: str, lo: int = 0, hi: int = 2**64 - 1) -> int:
    if not text.isascii() or not text.isdigit():
        raise TableError(f"{what} '{text}' is not a number")
    value = int(text)
    if not lo <= value <= hi:
        raise TableError(f"{what} {value} is out of range")
    return value


def _node_id(text: str) -> str:
    if not NODE_ID.fullmatch(text):
        raise TableError(f"'{text}' is not a node id (40 hex digits)")
    return text


def _slot(text: str) -> int:
    return _int(text, "slot", 0, SLOTS - 1)


def parse_row(line: str) -> Row:
    fields = line.split()
    if len(fields) < 8:
        raise TableError(f"a node line needs at least 8 fields: '{line[:80]}'")
    node_id = _node_id(fields[0])
    address, *aux = fields[1].split(",")
    hostname = aux.pop(0) if aux and "=" not in aux[0] else ""
    shard_id = ""
    pport = 0
    for item in aux:
        key, _, value = item.partition("=")
        if key == "shard-id":
            shard_id = value
        elif key == "tcp-port":
            pport = _int(value, "tcp-port", 0, 65535)
    host_port, _, cport_text = address.partition("@")
    ip, sep, port_text = host_port.rpartition(":")
    if not sep:
        raise TableError(f"'{fields[1]}' is not ip:port@cport")
    port = _int(port_text, "port", 0, 65535)
    cport = _int(cport_text, "bus port", 0, 65535) if cport_text else 0
    flags = set()
    for flag in fields[2].split(","):
        if flag == "noflags":
            continue
        if flag not in KNOWN_FLAGS:
            raise TableError(f"unknown node flag '{flag}'")
        flags.add(flag)
    master_id = None if fields[3] == "-" else _node_id(fields[3])
    if fields[7] not in ("connected", "disconnected"):
        raise TableError(f"link state '{fields[7]}' is neither connected nor disconnected")
    row = Row(node_id, ip, port, cport, hostname, flags, master_id,
              _int(fields[4], "ping time"), _int(fields[5], "pong time"),
              _int(fields[6], "config epoch"), fields[7] == "connected", shard_id=shard_id,
              pport=pport)
    for item in fields[8:]:
        if item.startswith("["):
            match = re.fullmatch(r"\[(\d+)-([<>])-([0-9a-f]{40})\]", item)
            if match is None:
                raise TableError(f"'{item}' is not [slot->-id] or [slot-<-id]")
            slot = _slot(match.group(1))
            (row.migrating if match.group(2) == ">" else row.importing)[slot] = match.group(3)
            continue
        start, dash, end = item.partition("-")
        first = _slot(start)
        last = _slot(end) if dash else first
        if first > last:
            raise TableError(f"slot range '{item}' is reversed")
        row.slots.extend(range(first, last + 1))
    return row


_parsed_rows: dict[str, Row] = {}


def parse_row_cached(line: str) -> Row:
    """parse_row, remembered: peers push whole tables many times a second while a reshard
    runs, and most of their lines are the same as in the last push. Rows are never
    modified after parsing, so one parsed line can serve every table it appears in."""
    row = _parsed_rows.get(line)
    if row is None:
        if len(_parsed_rows) >= 128:  # a row may hold 16384 slots: keep few
            _parsed_rows.clear()
        row = _parsed_rows[line] = parse_row(line)
    return row


def parse_table(text: str) -> Table:
    """A table in CLUSTER NODES / nodes.conf format; blank lines are skipped."""
    table = Table([])
    seen: set[str] = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        words = line.split()
        if words[0].lower() == "vars":
            for i in range(1, len(words) - 1, 2):
                name = words[i].lower()
                if name == "currentepoch":
                    table.current_epoch = _int(words[i + 1], "currentEpoch")
                elif name == "lastvoteepoch":
                    table.last_vote_epoch = _int(words[i + 1], "lastVoteEpoch")
                elif name == "topologyepoch":
                    table.topology_epoch = _int(words[i + 1], "topologyEpoch")
            continue
        row = parse_row_cached(line)
        if row.id in seen:
            raise TableError(f"node {row.id} appears twice")
        seen.add(row.id)
        table.rows.append(row)
    claimed = [row.slots for row in table.rows]
    if sum(map(len, claimed)) != len(set().union(*claimed)):
        owners: dict[int, str] = {}  # the slow search, only to name the culprit
        for row in table.rows:
            for slot in row.slots:
                if slot in owners:
                    raise TableError(f"slot {slot} is claimed by {owners[slot]} and {row.id}")
                owners[slot] = row.id
    return table


def load(path: str) -> Table | None:
    """The table stored at ``path``, or None when there is none yet (missing or empty)."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    if not text.strip():
        return None
    table = parse_table(text)
    if sum("myself" in row.flags for row in table.rows) != 1:
        raise TableError("the file must have exactly one 'myself' line")
    return table


def save(path: str, text: str, fsync: bool = True) -> None:
    """Replace ``path`` with ``text`` atomically, and durably with ``fsync`` (as Redis,
    which fsyncs nodes.conf when epochs or slot owners change, not for every edit)."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode("utf-8", "surrogateescape"))
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if not fsync:
        return
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
