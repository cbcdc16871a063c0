"""MIGRATE and RESTORE-ASKING, against Debian's redis-server 7.0 in both directions.

Error texts and replies are compared byte for byte with redis-server; transfers run
redslot -> redis-server, redis-server -> redslot and redslot -> redslot for every type.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import redis
from differential import assert_same
from nodes import ServerProcess, free_port, start_node, start_redis_server
from resp import RawClient


@pytest.fixture(scope="module")
def node2() -> Iterator[ServerProcess]:
    proc = start_node()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def reference2() -> Iterator[ServerProcess]:
    proc = start_redis_server()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def locked() -> Iterator[ServerProcess]:
    """A redis-server with a password, as a MIGRATE target."""
    proc = start_redis_server("--requirepass", "sesame")
    yield proc
    proc.stop()


def flushed(*procs: ServerProcess, password: str | None = None) -> list[redis.Redis]:
    clients = [redis.Redis(port=p.port, socket_timeout=10, password=password) for p in procs]
    for c in clients:
        c.flushall()
    return clients


def fill_every_type(c: redis.Redis) -> list[str]:
    """One key of each type and encoding; returns the key names."""
    c.set("str", "hello")
    c.set("int", "12345")
    c.set("big", "x" * 70000)
    c.rpush("list", *range(5))
    c.rpush("biglist", *[f"item-{i}" * 3 for i in range(2000)])
    c.hset("hash", mapping={"a": "1", "b": "2"})
    c.hset("bighash", mapping={f"f{i}": "v" * 100 for i in range(300)})
    c.sadd("intset", *range(10))
    c.sadd("set", *[f"m{i}" for i in range(600)])
    c.zadd("zset", {"a": 1, "b": 2.5})
    c.zadd("bigzset", {f"m{i}": i / 3 for i in range(300)})
    c.set("ttl", "v", px=100000)
    return ["str", "int", "big", "list", "biglist", "hash", "bighash", "intset", "set",
            "zset", "bigzset", "ttl"]


def snapshot(c: redis.Redis, keys: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k in keys:
        kind = c.type(k).decode()
        if kind == "string":
            out[k] = c.get(k)
        elif kind == "list":
            out[k] = c.lrange(k, 0, -1)
        elif kind == "hash":
            out[k] = c.hgetall(k)
        elif kind == "set":
            out[k] = c.smembers(k)
        elif kind == "zset":
            out[k] = c.zrange(k, 0, -1, withscores=True)
        else:
            out[k] = kind
    return out


def transfer_every_type(src: ServerProcess, dst: ServerProcess) -> None:
    s, d = flushed(src, dst)
    keys = fill_every_type(s)
    before = snapshot(s, keys)
    assert s.execute_command("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000, "KEYS", *keys) == b"OK"
    assert s.dbsize() == 0
    assert snapshot(d, keys) == before
    assert 90000 < d.pttl("ttl") <= 100000
    assert d.pttl("str") == -1


# --- transfers of every type ---

def test_every_type_moves_from_redslot_to_redis(node, reference):
    transfer_every_type(node, reference)


def test_every_type_moves_from_redis_to_redslot(node, reference):
    transfer_every_type(reference, node)


def test_every_type_moves_between_redslot_nodes(node, node2):
    transfer_every_type(node, node2)


def test_single_key_form_moves_one_key(node, reference):
    s, d = flushed(node, reference)
    s.set("a", "1")
    s.set("b", "2")
    assert s.execute_command("MIGRATE", "127.0.0.1", reference.port, "a", 0, 1000) == b"OK"
    assert s.keys() == [b"b"]
    assert d.get("a") == b"1"


def test_copy_keeps_the_source_keys(node, node2):
    s, d = flushed(node, node2)
    s.set("a", "1")
    assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "a", 0, 1000, "COPY") == b"OK"
    assert s.get("a") == b"1" and d.get("a") == b"1"


def test_replace_overwrites_the_target_key(node, node2):
    s, d = flushed(node, node2)
    s.set("a", "new")
    d.rpush("a", "old")
    assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "a", 0, 1000,
                             "REPLACE") == b"OK"
    assert d.get("a") == b"new"


def test_destination_db_is_selected(node, node2):
    s, d = flushed(node, node2)
    s.set("a", "1")
    s.set("b", "2")
    assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "a", 5, 1000) == b"OK"
    assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "b", 0, 1000) == b"OK"
    d.execute_command("SELECT", 5)
    assert d.keys() == [b"a"]
    d.execute_command("SELECT", 0)
    assert d.keys() == [b"b"]


def test_huge_and_non_positive_timeouts_work(node, node2):
    s, d = flushed(node, node2)
    s.set("a", "1")
    s.set("b", "2")
    assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "a", 0,
                             "9223372036854775807") == b"OK"
    assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "b", 0, -5) == b"OK"
    assert sorted(d.keys()) == [b"a", b"b"]


def test_missing_keys_are_skipped_in_the_keys_form(node, reference):
    s, d = flushed(node, reference)
    s.set("a", "1")
    assert s.execute_command("MIGRATE", "127.0.0.1", reference.port, "", 0, 1000,
                             "KEYS", "nope", "a", "gone") == b"OK"
    assert d.keys() == [b"a"]


# --- replies and errors, byte for byte ---

def test_argument_errors_match_redis(node, reference):
    port = free_port()  # nothing listens there; none of these gets that far
    assert_same(node, reference, [
        ("MIGRATE", "127.0.0.1", port, "k", 0, 1000),
        ("MIGRATE", "127.0.0.1", port, "", 0, 1000, "KEYS", "a", "b"),
        ("SET", "k", "v"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 1000, "BOGUS"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 1000, "AUTH"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 1000, "AUTH2", "user"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 1000, "KEYS", "k"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, "soon"),
        ("MIGRATE", "127.0.0.1", port, "k", "zero", 1000),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 1000, "COPY", "REPLACE", "KEYS"),
        ("MIGRATE", "127.0.0.1", port),
    ])


def test_refused_connection_reports_a_write_error_like_redis(node, reference):
    port = free_port()
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("MIGRATE", "127.0.0.1", port, "k", 0, 500),
        ("EXISTS", "k"),
    ])


def test_unresolvable_host_reports_a_connect_error_like_redis(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("MIGRATE", "no-such-host.invalid", 6390, "k", 0, 500),
    ])


def test_busykey_from_the_target_is_passed_through_like_redis(node, reference, reference2):
    target = flushed(reference2)[0]
    target.set("k", "there")
    replies = []
    for src in (node, reference):
        with RawClient(src.port) as c:
            c.call("FLUSHALL")
            c.call("SET", "k", "here")
            replies.append(c.call("MIGRATE", "127.0.0.1", reference2.port, "k", 0, 1000))
            assert c.call("GET", "k") == b"$4\r\nhere\r\n"
    assert replies[0] == replies[1]
    assert replies[0].startswith(b"-ERR Target instance replied with error: BUSYKEY")


def test_auth_errors_from_the_target_match_redis(node, reference, locked):
    for args in [(), ("AUTH", "wrong"), ("AUTH2", "default", "wrong")]:
        replies = []
        for src in (node, reference):
            with RawClient(src.port) as c:
                c.call("FLUSHALL")
                c.call("SET", "k", "v")
                replies.append(c.call("MIGRATE", "127.0.0.1", locked.port, "k", 0, 1000, *args))
        assert replies[0] == replies[1], args
        assert replies[0].startswith(b"-ERR Target instance replied with error: ")


def test_auth_and_auth2_log_in_to_the_target(node, locked):
    s = flushed(node)[0]
    target = flushed(locked, password="sesame")[0]
    s.set("a", "1")
    s.set("b", "2")
    assert s.execute_command("MIGRATE", "127.0.0.1", locked.port, "a", 0, 1000,
                             "AUTH", "sesame") == b"OK"
    assert s.execute_command("MIGRATE", "127.0.0.1", locked.port, "b", 0, 1000,
                             "AUTH2", "default", "sesame") == b"OK"
    assert sorted(target.keys()) == [b"a", b"b"]


def test_auth_password_is_redacted_in_the_slowlog(node, locked):
    s = flushed(node)[0]
    flushed(locked, password="sesame")
    s.config_set("slowlog-log-slower-than", 0)
    try:
        s.slowlog_reset()
        s.set("a", "1")
        s.execute_command("MIGRATE", "127.0.0.1", locked.port, "a", 0, 1000, "AUTH", "sesame")
        entries = [e["command"] for e in s.slowlog_get(10)]
    finally:
        s.config_set("slowlog-log-slower-than", 10000)
    migrate = next(e for e in entries if e.startswith(b"MIGRATE"))
    assert b"sesame" not in migrate and b"(redacted)" in migrate


def test_restore_asking_restores_like_restore(node, reference):
    payload = redis.Redis(port=reference.port).dump("nothing")
    assert payload is None
    with RawClient(reference.port) as c:
        c.call("SET", "src", "value")
        dumped = c.call("DUMP", "src")
    body = dumped.split(b"\r\n", 1)[1][:-2]
    assert_same(node, reference, [
        ("RESTORE-ASKING", "k", 0, body),
        ("GET", "k"),
        ("RESTORE-ASKING", "k", 0, body),
        ("RESTORE-ASKING", "k", 0, body, "REPLACE"),
        ("RESTORE-ASKING", "k", 0, b"bad payload"),
    ])


# --- connections: cache, retry, timeout ---

def migrate_connections(target: redis.Redis) -> int:
    """Connections the target sees besides this one."""
    return len(target.client_list()) - 1


def test_connection_is_cached_and_reused(node, node2):
    s, d = flushed(node, node2)
    kill_other_clients(d)
    for i in range(5):
        s.set(f"k{i}", i)
        assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, f"k{i}", 0, 1000) == b"OK"
    assert d.dbsize() == 5
    assert migrate_connections(d) == 1


def kill_other_clients(target: redis.Redis) -> None:
    me = target.client_id()
    for client in target.client_list():
        if int(client["id"]) != me:
            target.client_kill_filter(_id=int(client["id"]))


def test_killed_cached_connection_is_reopened(node, node2):
    s, d = flushed(node, node2)
    s.set("a", "1")
    assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "a", 0, 1000) == b"OK"
    kill_other_clients(d)
    s.set("b", "2")
    assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "b", 0, 1000) == b"OK"
    assert sorted(d.keys()) == [b"a", b"b"]


def test_idle_cached_connection_is_closed_after_ten_seconds(node, reference2):
    s, d = flushed(node, reference2)
    kill_other_clients(d)
    s.set("a", "1")
    assert s.execute_command("MIGRATE", "127.0.0.1", reference2.port, "a", 0, 1000) == b"OK"
    assert migrate_connections(d) == 1
    deadline = time.monotonic() + 15
    while migrate_connections(d) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert migrate_connections(d) == 0
    assert time.monotonic() > deadline - 15 + 9  # not before the 10 s


def test_silent_target_times_out_reading_like_redis(node, reference):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        assert_same(node, reference, [
            ("SET", "k", "v"),
            ("MIGRATE", "127.0.0.1", port, "k", 0, 300),
            ("EXISTS", "k"),
        ])
        assert time.monotonic() - started < 5


def test_expired_key_is_not_migrated(node, node2):
    s, d = flushed(node, node2)
    s.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    try:
        s.set("a", "1", px=1)
        time.sleep(0.01)
        assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "a", 0, 1000) == b"NOKEY"
    finally:
        s.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
    assert d.dbsize() == 0


def test_replicas_see_migrate_as_a_del_of_the_moved_keys(node, node2):
    s, d = flushed(node, node2)
    replica_proc = start_redis_server("--replicaof", "127.0.0.1", str(node.port))
    try:
        replica = redis.Redis(port=replica_proc.port, socket_timeout=10)
        s.mset({"a": "1", "b": "2", "c": "3"})
        deadline = time.monotonic() + 15
        while replica.dbsize() != 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert replica.dbsize() == 3
        assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "", 0, 1000,
                                 "KEYS", "a", "b") == b"OK"
        assert s.execute_command("MIGRATE", "127.0.0.1", node2.port, "c", 0, 1000,
                                 "COPY") == b"OK"
        s.set("marker", "1")
        while replica.get("marker") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(replica.keys()) == [b"c", b"marker"]
        replica.close()
    finally:
        replica_proc.stop()
