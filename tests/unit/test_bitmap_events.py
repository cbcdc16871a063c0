"""The keyspace events and dirty counts of the bit commands, as bitops.c makes them: handlers
called on a bare database whose notifier records what it is asked to publish (pub/sub,
which would deliver the events, is not needed for that)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from redslot.node.commands.bitfield import bitfield
from redslot.node.commands.bitmaps import bitop, setbit
from redslot.node.keyspace.database import Database
from redslot.node.keyspace.notify import NOTIFY_ALL, NOTIFY_GENERIC, NOTIFY_STRING
from redslot.node.keyspace.stats import KeyspaceStats


class Recorder:
    def __init__(self) -> None:
        self.db = Database(0, KeyspaceStats())
        self.events: list[tuple[int, str, bytes]] = []
        self.db.stats.notifier.flags = NOTIFY_ALL
        self.db.stats.notifier.publish = self.publish
        self.client = SimpleNamespace(db=self.db, is_master=False,
                                      server=SimpleNamespace(config={"proto-max-bulk-len": 512 << 20}))

    def publish(self, kind: int, event: str, key: bytes, dbid: int) -> None:
        self.events.append((kind, event, key))

    def run(self, handler: Any, *args: bytes) -> tuple[Any, list[tuple[int, str, bytes]], int]:
        """The reply, the events published and the dirty count added by one call."""
        self.events = []
        dirty = self.db.stats.dirty
        reply = handler(self.client, [b"cmd", *args])
        self.db.stats.settle()
        return reply, self.events, self.db.stats.dirty - dirty


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


SETBIT_EVENT = [(NOTIFY_STRING, "setbit", b"k")]


def test_setbit_reports_only_a_change(rec):
    assert rec.run(setbit, b"k", b"7", b"1") == (0, SETBIT_EVENT, 1)
    assert rec.run(setbit, b"k", b"7", b"1") == (1, [], 0)
    assert rec.run(setbit, b"k", b"7", b"0") == (1, SETBIT_EVENT, 1)
    assert rec.run(setbit, b"k", b"100", b"0") == (0, SETBIT_EVENT, 1)  # grown
    rec.db.set(b"s", b"abc")
    rec.events = []
    assert rec.run(setbit, b"s", b"0", b"0") == (0, [], 0)  # re-encoded only


def test_bitfield_reports_one_event_and_counts_each_change(rec):
    reply, events, dirty = rec.run(bitfield, b"k", b"SET", b"u8", b"0", b"1", b"INCRBY", b"u8",
                                   b"8", b"2", b"SET", b"u8", b"16", b"0", b"GET", b"u8", b"0")
    assert (reply, events, dirty) == ([0, 2, 0, 1], SETBIT_EVENT, 3)  # a new key: all count
    reply, events, dirty = rec.run(bitfield, b"k", b"SET", b"u8", b"0", b"1", b"INCRBY", b"u8",
                                   b"8", b"1", b"INCRBY", b"u8", b"16", b"0")
    assert (reply, events, dirty) == ([1, 3, 0], SETBIT_EVENT, 1)
    assert rec.run(bitfield, b"k", b"SET", b"u8", b"0", b"1") == ([1], [], 0)
    assert rec.run(bitfield, b"k", b"GET", b"u8", b"0") == ([1], [], 0)
    assert rec.run(bitfield, b"k", b"OVERFLOW", b"FAIL", b"INCRBY", b"u8", b"0", b"300") == \
        ([None], [], 0)


def test_bitop_reports_set_or_the_deletion_of_its_target(rec):
    rec.db.set(b"a", b"ab")
    assert rec.run(bitop, b"OR", b"d", b"a") == (2, [(NOTIFY_STRING, "set", b"d")], 1)
    assert rec.run(bitop, b"AND", b"d", b"missing") == (0, [(NOTIFY_GENERIC, "del", b"d")], 1)
    assert rec.run(bitop, b"AND", b"d", b"missing") == (0, [], 0)
