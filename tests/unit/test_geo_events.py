"""Geo writes report the keyspace events geo.c and t_zset.c report, at the same points:
GEOADD is a ZADD ("zadd"), a stored search is "georadiusstore" or "geosearchstore", an
emptied destination is deleted ("del"), and a write that changes nothing reports nothing."""

from __future__ import annotations

from typing import Any

import pytest
from redslot.node.commands import geo, geo_search
from redslot.node.keyspace.database import Database
from redslot.node.keyspace.notify import NOTIFY_ALL, NOTIFY_GENERIC, NOTIFY_KEYEVENT, NOTIFY_ZSET
from redslot.node.keyspace.stats import KeyspaceStats


class Client:
    """The handlers' view of a client: a database, the zset limits, no replication."""

    def __init__(self) -> None:
        self.db = Database(0, KeyspaceStats())
        self.server = self
        self.config = {"zset-max-listpack-entries": 128, "zset-max-listpack-value": 64}
        self.events: list[tuple[int, str, bytes]] = []
        notifier = self.db.stats.notifier
        notifier.flags = NOTIFY_ALL | NOTIFY_KEYEVENT
        notifier.publish = lambda kind, event, key, dbid: self.events.append((kind, event, key))

    def rewrite(self, *effects: list[bytes]) -> None:
        pass

    def run(self, module: Any, handler: str, *args: str) -> Any:
        self.events.clear()
        return getattr(module, handler)(self, [a.encode() for a in (handler, *args)])


@pytest.fixture
def c() -> Client:
    client = Client()
    client.run(geo, "geoadd", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
    return client


def test_geoadd_reports_zadd_once_per_command(c):
    assert c.run(geo, "geoadd", "g", "1", "1", "a", "2", "2", "b") == 2
    assert c.events == [(NOTIFY_ZSET, "zadd", b"g")]


def test_geoadd_that_changes_nothing_reports_nothing(c):
    assert c.run(geo, "geoadd", "g", "NX", "1", "1", "Palermo") == 0
    assert c.run(geo, "geoadd", "g", "13.361389", "38.115556", "Palermo") == 0
    assert c.events == []


def test_georadius_store_reports_georadiusstore(c):
    assert c.run(geo_search, "georadius", "g", "15", "37", "200", "km", "STORE", "d") == 2
    assert c.events == [(NOTIFY_ZSET, "georadiusstore", b"d")]


def test_geosearchstore_reports_geosearchstore(c):
    assert c.run(geo_search, "geosearchstore", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS",
                 "200", "km", "STOREDIST") == 2
    assert c.events == [(NOTIFY_ZSET, "geosearchstore", b"d")]


def test_an_empty_result_deletes_the_destination_with_del(c):
    c.run(geo_search, "georadius", "g", "15", "37", "200", "km", "STORE", "d")
    assert c.run(geo_search, "georadius", "g", "-100", "0", "1", "km", "STORE", "d") == 0
    assert c.events == [(NOTIFY_GENERIC, "del", b"d")]
    assert c.run(geo_search, "georadius", "g", "-100", "0", "1", "km", "STORE", "d") == 0
    assert c.events == []


def test_a_missing_source_deletes_the_destination_with_del(c):
    c.run(geo_search, "georadius", "g", "15", "37", "200", "km", "STORE", "d")
    assert c.run(geo_search, "geosearchstore", "d", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km") == 0
    assert c.events == [(NOTIFY_GENERIC, "del", b"d")]


def test_searches_without_store_report_nothing(c):
    assert c.run(geo_search, "georadius", "g", "15", "37", "200", "km") == [b"Palermo", b"Catania"]
    assert c.events == []
