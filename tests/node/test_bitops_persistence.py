"""Bitmaps survive replication (to a redslot and to a redis-server replica), the AOF and
RDB snapshots: the same dataset (DEBUG DIGEST) and values after the bit commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from nodes import ServerProcess, start_node, start_redis_server
from replication_wait import until


def bit_writes(r: redis.Redis) -> None:
    """Every bit write: creation, growth, no-op writes, BITFIELD overflow modes, BITOP
    storing and deleting, on plain, int-encoded and expiring strings, and in MULTI."""
    r.setbit("b", 7, 1)
    r.setbit("b", 7, 1)
    r.setbit("b", 1000, 1)
    r.set("n", 12345)
    r.setbit("n", 0, 0)
    r.set("ttl", "abc", ex=1000)
    r.setbit("ttl", 30, 1)
    r.execute_command("BITFIELD", "f", "SET", "i8", "0", "-100", "INCRBY", "u5", "#4", "40",
                      "OVERFLOW", "SAT", "INCRBY", "i16", "#3", "99999",
                      "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9")
    r.execute_command("BITFIELD", "f", "OVERFLOW", "WRAP", "INCRBY", "i64", "100", "-5")
    r.execute_command("BITOP", "XOR", "x", "b", "n", "f", "missing")
    r.execute_command("BITOP", "NOT", "notb", "b")
    r.set("gone", "v")
    r.execute_command("BITOP", "AND", "gone", "missing")
    with r.pipeline(transaction=True) as tx:
        tx.setbit("m", 3, 1)
        tx.execute_command("BITFIELD", "m", "INCRBY", "u8", "8", "7")
        tx.execute()


def digest(r: redis.Redis) -> bytes:
    return r.execute_command("DEBUG", "DIGEST")


@pytest.fixture
def procs() -> Iterator[Callable[[ServerProcess], ServerProcess]]:
    started: list[ServerProcess] = []

    def track(proc: ServerProcess) -> ServerProcess:
        started.append(proc)
        return proc

    yield track
    for proc in reversed(started):
        proc.stop()


def test_replicas_of_both_kinds_reach_the_same_bitmaps(procs):
    master = procs(start_node())
    replicas = [procs(start_node("--replicaof", "127.0.0.1", str(master.port))),
                procs(start_redis_server("--replicaof", "127.0.0.1", str(master.port)))]
    m = redis.Redis(port=master.port)
    clients = [redis.Redis(port=p.port) for p in replicas]
    for client in clients:
        until(lambda c=client: c.info("replication").get("master_link_status") == "up")
    bit_writes(m)
    offset = m.info("replication")["master_repl_offset"]
    for client in clients:
        until(lambda c=client: c.info("replication")["master_repl_offset"] == offset)
        assert digest(client) == digest(m)
        for key in ("b", "n", "ttl", "f", "x", "notb", "m"):
            assert client.get(key) == m.get(key), key
        assert client.exists("gone") == 0


def test_bitmaps_survive_an_aof_restart(procs):
    node = procs(start_node("--appendonly", "yes"))
    r = redis.Redis(port=node.port)
    bit_writes(r)
    expected = digest(r)
    node.stop(keep_dir=True)
    again = procs(start_node("--appendonly", "yes", "--dir", node.workdir))
    assert digest(redis.Redis(port=again.port)) == expected


def test_bitmaps_survive_a_snapshot_and_load_in_redis_server(procs):
    node = procs(start_node())
    r = redis.Redis(port=node.port)
    bit_writes(r)
    expected = digest(r)
    r.save()
    node.stop(keep_dir=True)
    again = procs(start_node("--dir", node.workdir))
    assert digest(redis.Redis(port=again.port)) == expected
    again.stop(keep_dir=True)
    reference = procs(start_redis_server("--dir", node.workdir))
    assert digest(redis.Redis(port=reference.port)) == expected
