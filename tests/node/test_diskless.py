"""Diskless full syncs (repl-diskless-sync): the snapshot over the socket, EOF-marked,
between redslot nodes and with redis-server 7.0 on either end."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient

KEYS = 20_000  # a payload well past one socket read (and asyncio's 64 KB line limit)


def fill(port: int) -> None:
    with RawClient(port) as c:
        c.call("DEBUG", "POPULATE", str(KEYS), "key", "20")
        c.call("RPUSH", "list", *[f"item{i}" for i in range(300)])
        c.call("HSET", "hash", "f", "v")


def linked(replica: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with RawClient(replica) as c:
        while b"master_link_status:up" not in c.call("INFO", "replication"):
            assert time.monotonic() < deadline, "the replica never finished its sync"
            time.sleep(0.05)


def until_equal(read: Callable[[], object], expected: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while read() != expected:
        assert time.monotonic() < deadline, f"never reached {expected!r}"
        time.sleep(0.05)


def same_data(master: int, replica: int) -> None:
    with RawClient(master) as m, RawClient(replica) as r:
        for request in (("DBSIZE",), ("GET", "key:777"), ("LRANGE", "list", "0", "-1"),
                        ("HGETALL", "hash")):
            until_equal(lambda request=request: r.call(*request), m.call(*request))


@pytest.mark.parametrize("master_kind,replica_kind", [
    ("redslot", "redslot"), ("redslot", "redis-server"), ("redis-server", "redslot")])
def test_diskless_full_sync(master_kind: str, replica_kind: str) -> None:
    start = {"redslot": start_node, "redis-server": start_redis_server}
    master = start[master_kind]("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
    replica: ServerProcess | None = None
    try:
        fill(master.port)
        replica = start[replica_kind]("--replicaof", "127.0.0.1", str(master.port))
        linked(replica.port)
        same_data(master.port, replica.port)
        with RawClient(master.port) as m:  # the stream follows the snapshot
            m.call("SET", "after", "sync")
        with RawClient(replica.port) as r:
            until_equal(lambda: r.call("GET", "after"), b"$4\r\nsync\r\n")
        if master_kind == "redslot":
            assert "target: replicas sockets" in master.log
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


def test_writes_during_a_diskless_sync_reach_the_replica() -> None:
    master = start_node("--repl-diskless-sync-delay", "1")
    replica = None
    try:
        fill(master.port)
        replica = start_node("--replicaof", "127.0.0.1", str(master.port))
        with RawClient(master.port) as m:
            for _ in range(200):  # while the replica waits for the delay and loads
                m.call("INCR", "counter")
                time.sleep(0.005)
        linked(replica.port)
        with RawClient(replica.port) as r:
            until_equal(lambda: r.call("GET", "counter"), b"$3\r\n200\r\n")
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


def test_a_disk_sync_when_diskless_is_off() -> None:
    master = start_node("--repl-diskless-sync", "no")
    replica = None
    try:
        fill(master.port)
        replica = start_node("--replicaof", "127.0.0.1", str(master.port))
        linked(replica.port)
        same_data(master.port, replica.port)
        assert "target: replicas sockets" not in master.log
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


def test_diskless_settings_match_redis_defaults(node: ServerProcess, reference: ServerProcess) -> None:
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("CONFIG", "SET", "repl-diskless-sync-delay", "5")
    replies = []
    for server in (node, reference):
        with RawClient(server.port) as c:
            replies.append([c.call("CONFIG", "GET", name) for name in (
                "repl-diskless-sync", "repl-diskless-sync-delay",
                "repl-diskless-sync-max-replicas", "repl-diskless-load")]
                + [c.call("CONFIG", "SET", "repl-diskless-load", "maybe")])
    assert replies[0] == replies[1]
