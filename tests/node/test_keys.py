"""Keyspace commands: DEL, EXISTS, TYPE, RENAME, COPY, MOVE, TOUCH, RANDOMKEY, KEYS, SCAN."""

from __future__ import annotations

import random
import time
from types import SimpleNamespace

import pytest
import redis
from differential import assert_same, assert_same_resp3
from nodes import free_port, start_node, start_redis_server
from redslot.node.base.errors import CommandError
from redslot.node.commands import keys
from redslot.node.commands.keys import copy_value, parse_cursor, scan_positions
from redslot.node.keyspace.database import Database, now_ms
from redslot.node.keyspace.stats import KeyspaceStats
from redslot.node.types.typeinfo import SdsString


def full_scan(client: redis.Redis, *args: object, count: int = 10) -> list[bytes]:
    keys: list[bytes] = []
    cursor = 0
    for _ in range(100000):
        cursor, batch = client.execute_command("SCAN", cursor, "COUNT", count, *args)
        keys.extend(batch)
        if int(cursor) == 0:
            return keys
    raise AssertionError("SCAN did not terminate")


def both(node, reference):
    clients = [redis.Redis(port=s.port, socket_timeout=10) for s in (node, reference)]
    for client in clients:
        client.flushall()
    return clients


# --- DEL, UNLINK, EXISTS, TOUCH, TYPE, RANDOMKEY ---

def test_del_and_unlink_count_deleted_keys(node, reference):
    assert_same(node, reference, [
        ("MSET", "a", "1", "b", "2", "c", "3"),
        ("DEL", "a", "a", "x"),
        ("UNLINK", "b", "c", "b"),
        ("EXISTS", "a", "b", "c"),
        ("DEL",),
        ("UNLINK",),
    ])


def test_exists_counts_duplicates(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "1"),
        ("EXISTS", "a", "a", "a", "nokey"),
        ("EXISTS", "nokey"),
        ("EXISTS",),
    ])


def test_touch_counts_existing_keys(node, reference):
    assert_same(node, reference, [
        ("MSET", "a", "1", "b", "2"),
        ("TOUCH", "a", "b", "c", "a"),
        ("TOUCH",),
    ])


def test_type_names_string_and_none(node, reference):
    assert_same(node, reference, [
        ("SET", "s", "v"),
        ("TYPE", "s"),
        ("TYPE", "nokey"),
        ("TYPE",),
    ])
    assert_same_resp3(node, reference, [("SET", "s", "v"), ("TYPE", "s"), ("TYPE", "nokey")])


def test_randomkey_on_empty_and_single_key_db(node, reference):
    assert_same(node, reference, [
        ("RANDOMKEY",),
        ("SET", "only", "v"),
        ("RANDOMKEY",),
        ("DEL", "only"),
        ("RANDOMKEY",),
        ("RANDOMKEY", "extra"),
    ])
    assert_same_resp3(node, reference, [("RANDOMKEY",), ("SET", "k", "v"), ("RANDOMKEY",)])


def test_randomkey_returns_every_key_eventually(r):
    r.mset({"foo": "x", "bar": "y"})
    seen = {r.randomkey() for _ in range(200)}
    assert seen == {b"foo", b"bar"}


def test_randomkey_skips_expired_keys(r):
    r.set("gone", "v", px=20)
    r.set("stays", "v")
    time.sleep(0.05)
    assert {r.randomkey() for _ in range(50)} == {b"stays"}


# --- RENAME and RENAMENX ---

def test_rename_errors_and_same_key(node, reference):
    assert_same(node, reference, [
        ("RENAME", "nokey", "x"),
        ("RENAMENX", "nokey", "x"),
        ("RENAME", "nokey", "nokey"),
        ("SET", "a", "1"),
        ("RENAME", "a", "a"),
        ("RENAMENX", "a", "a"),
        ("GET", "a"),
        ("RENAME", "a"),
    ])


def test_rename_overwrites_and_renamenx_refuses(node, reference):
    assert_same(node, reference, [
        ("MSET", "a", "1", "b", "2"),
        ("RENAMENX", "a", "b"),
        ("MGET", "a", "b"),
        ("RENAME", "a", "b"),
        ("MGET", "a", "b"),
        ("RENAMENX", "b", "c"),
        ("MGET", "b", "c"),
    ])


def test_rename_keeps_the_source_ttl_and_drops_the_destination_ttl(node, reference):
    assert_same(node, reference, [
        ("SET", "src", "1", "EX", "100"),
        ("SET", "dst", "2", "EX", "500"),
        ("RENAME", "src", "dst"),
        ("TTL", "dst"),
        ("SET", "plain", "3"),
        ("SET", "other", "4", "EX", "300"),
        ("RENAME", "plain", "other"),
        ("TTL", "other"),
        ("TTL", "plain"),
    ])


def test_rename_of_an_expired_key_is_no_such_key(r):
    r.set("a", "1", px=10)
    time.sleep(0.03)
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.rename("a", "b")


# --- COPY ---

def test_copy_errors(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "1"),
        ("COPY", "a", "a"),
        ("COPY", "a", "a", "DB", "0"),
        ("COPY", "a", "b", "DB"),
        ("COPY", "a", "b", "DB", "x"),
        ("COPY", "a", "b", "DB", "16"),
        ("COPY", "a", "b", "DB", "-1"),
        ("COPY", "a", "b", "DB", "99999999999"),
        ("COPY", "a", "b", "BOGUS"),
        ("COPY", "a", "b", "REPLACE", "BOGUS"),
        ("COPY", "nokey", "b"),
        ("COPY", "a"),
    ])


def test_copy_replace_and_ttl(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "hello", "EX", "100"),
        ("SET", "b", "old"),
        ("COPY", "a", "b"),
        ("GET", "b"),
        ("COPY", "a", "b", "REPLACE"),
        ("GET", "b"),
        ("TTL", "b"),
        ("SET", "c", "no-ttl"),
        ("SET", "d", "with-ttl", "EX", "50"),
        ("COPY", "c", "d", "replace"),
        ("TTL", "d"),
    ])


def test_copy_to_another_db(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "v"),
        ("COPY", "a", "a", "DB", "1"),
        ("COPY", "a", "a", "DB", "1"),
        ("SELECT", "1"),
        ("GET", "a"),
        ("SET", "a", "other"),
        ("SELECT", "0"),
        ("COPY", "a", "a", "DB", "1", "REPLACE"),
        ("SELECT", "1"),
        ("GET", "a"),
    ])


def test_copy_is_independent_of_the_source(r):
    r.set("a", "abc")
    r.append("a", "def")
    assert r.copy("a", "b") == 1
    r.append("a", "!")
    r.setrange("b", 0, "X")
    assert r.get("a") == b"abcdef!"
    assert r.get("b") == b"Xbcdef"


def test_copy_value_duplicates_mutable_strings():
    value = SdsString(b"abc")
    copied = copy_value(value)
    value[0] = ord("z")
    assert copied == b"abc"


# --- MOVE ---

def test_move_errors(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "1"),
        ("MOVE", "a", "0"),
        ("MOVE", "a", "16"),
        ("MOVE", "a", "-1"),
        ("MOVE", "a", "x"),
        ("MOVE", "a", "2147483648"),
        ("MOVE", "nokey", "1"),
        ("MOVE", "a"),
    ])


def test_move_moves_value_and_ttl_unless_the_target_has_the_key(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "1", "EX", "100"),
        ("MOVE", "a", "1"),
        ("EXISTS", "a"),
        ("SELECT", "1"),
        ("GET", "a"),
        ("TTL", "a"),
        ("SELECT", "0"),
        ("SET", "a", "again"),
        ("MOVE", "a", "1"),
        ("GET", "a"),
        ("SELECT", "1"),
        ("GET", "a"),
    ])


def test_move_and_copy_across_dbs_are_refused_in_cluster_mode():
    ours = start_node("--cluster-enabled", "yes")
    try:
        theirs = start_redis_server("--cluster-enabled", "yes", "--cluster-port", str(free_port()))
    except BaseException:
        ours.stop()
        raise
    try:
        for proc in (ours, theirs):
            ref = redis.Redis(port=proc.port, socket_timeout=10)
            ref.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            deadline = time.monotonic() + 10
            while b"cluster_state:ok" not in ref.execute_command("CLUSTER", "INFO"):
                assert time.monotonic() < deadline, "cluster did not come up"
                time.sleep(0.05)
            ref.close()
        assert_same(ours, theirs, [
            ("SET", "{t}a", "1"),
            ("MOVE", "{t}a", "1"),
            ("MOVE", "{t}a", "x"),
            ("COPY", "{t}a", "{t}b", "DB", "1"),
            ("COPY", "{t}a", "{t}b", "DB", "0"),
            ("GET", "{t}b"),
        ])
    finally:
        ours.stop()
        theirs.stop()


# --- KEYS ---

def test_keys_with_pattern(node, reference):
    for client in both(node, reference):
        for key in ("foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z"):
            client.set(key, "hello")
        assert sorted(client.keys("foo*")) == [b"foo_a", b"foo_b", b"foo_c"]
        assert sorted(client.keys("*")) == [
            b"foo_a", b"foo_b", b"foo_c", b"key_x", b"key_y", b"key_z"]
        assert client.keys("nomatch*") == []
        client.close()


def test_keys_star_includes_the_empty_key(node, reference):
    assert_same(node, reference, [
        ("SET", "", "v"),
        ("KEYS", "*"),
        ("KEYS", "*x"),
        ("KEYS", ""),
        ("KEYS", "?"),
    ])


def test_keys_leaves_out_expired_keys(r):
    r.set("gone", "v", px=20)
    r.set("stays", "v")
    time.sleep(0.05)
    assert r.keys("*") == [b"stays"]


# --- SCAN ---

def test_scan_argument_errors(node, reference):
    assert_same(node, reference, [
        ("SCAN", "x"),
        ("SCAN", " 0"),
        ("SCAN", "0x10"),
        ("SCAN", "1.5"),
        ("SCAN", "18446744073709551616"),
        ("SCAN", "-18446744073709551616"),
        ("SCAN", "+"),
        ("SCAN", "0", "COUNT", "0"),
        ("SCAN", "0", "COUNT", "-1"),
        ("SCAN", "0", "COUNT", "x"),
        ("SCAN", "0", "COUNT"),
        ("SCAN", "0", "MATCH"),
        ("SCAN", "0", "TYPE"),
        ("SCAN", "0", "BOGUS", "1"),
        ("SCAN", "x", "COUNT", "0"),
        ("SCAN",),
    ])


@pytest.mark.parametrize("arg,value", [
    (b"0", 0), (b"", 0), (b"+5", 5), (b"-1", 2**64 - 1), (b"18446744073709551615", 2**64 - 1),
    (b"-0", 0), (b"7\0junk", 7),
])
def test_cursor_parsing_follows_strtoul(arg, value):
    assert parse_cursor(arg) == value


@pytest.mark.parametrize("arg", [b"x", b" 1", b"\t1", b"1 ", b"0x1", b"+", b"-", b"2" * 21])
def test_cursor_parsing_rejects_what_redis_rejects(arg):
    with pytest.raises(CommandError, match="invalid cursor"):
        parse_cursor(arg)


def test_scan_on_empty_db_returns_cursor_zero(node, reference):
    assert_same(node, reference, [
        ("SCAN", "0"),
        ("SCAN", "12345"),
    ])
    assert_same_resp3(node, reference, [("SCAN", "0"), ("SET", "a", "1"), ("SCAN", "0")])


def test_full_scan_returns_every_key_like_redis(node, reference):
    results = []
    for client in both(node, reference):
        client.mset({f"key:{i}": i for i in range(1000)})
        for count in (1, 10, 1000):
            keys = full_scan(client, count=count)
            results.append(sorted(set(keys)))
            assert len(set(keys)) == 1000
        client.close()
    assert results[:3] == results[3:]


def test_scan_match_and_type_filter_like_redis(node, reference):
    results = []
    for client in both(node, reference):
        client.mset({f"user:{i}": i for i in range(200)})
        client.mset({f"item:{i}": i for i in range(200)})
        results.append((
            sorted(full_scan(client, "MATCH", "user:1*")),
            sorted(full_scan(client, "MATCH", "*:[0-4]", "TYPE", "string")),
            sorted(full_scan(client, "TYPE", "STRING", "MATCH", "item:19?")),
            full_scan(client, "TYPE", "hash"),
            full_scan(client, "TYPE", "nosuchtype"),
            sorted(full_scan(client, "MATCH", "*", count=7)),
        ))
        client.close()
    assert results[0] == results[1]


def test_scan_cursor_is_a_bulk_string(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "1"),
        ("SCAN", "0"),
        ("SCAN", "0", "COUNT", "100", "MATCH", "a"),
        ("SCAN", "0", "MATCH", "nomatch"),
    ])


def test_scan_skips_expired_keys(r):
    r.mset({f"live:{i}": 1 for i in range(20)})
    for i in range(20):
        r.set(f"gone:{i}", 1, px=20)
    time.sleep(0.05)
    assert sorted(full_scan(r)) == sorted(f"live:{i}".encode() for i in range(20))
    assert r.dbsize() == 20


def test_scan_deletes_the_expired_keys_it_meets():
    db = Database(0, KeyspaceStats())
    for i in range(10):
        db.add(b"live:%d" % i, b"v")
        db.add(b"gone:%d" % i, b"v")
        db.set_expire(b"gone:%d" % i, now_ms() - 1)
    cursor, found = keys.scan(SimpleNamespace(db=db), [b"SCAN", b"0", b"COUNT", b"100"])
    assert cursor == b"0"
    assert sorted(found) == sorted(b"live:%d" % i for i in range(10))
    assert len(db) == 10
    assert db.stats.expired == 10


def test_scan_returns_every_stable_key_despite_deletes_and_inserts_between_calls(r):
    stable = {f"stable:{i}".encode() for i in range(400)}
    churn = [f"churn:{i}".encode() for i in range(400)]
    r.mset({k: 1 for k in stable})
    r.mset({k: 1 for k in churn})
    rng = random.Random(7)
    seen: set[bytes] = set()
    cursor, inserted = 0, 0
    for _ in range(10000):
        cursor, batch = r.scan(cursor, count=5)
        seen.update(batch)
        if cursor == 0:
            break
        for _ in range(rng.randint(0, 3)):
            if churn:
                r.delete(churn.pop(rng.randrange(len(churn))))
        for _ in range(rng.randint(0, 3)):
            r.set(f"new:{inserted}", 1)
            inserted += 1
    else:
        raise AssertionError("SCAN did not terminate")
    assert stable <= seen


def test_scan_positions_guarantee_under_random_mutations():
    """The model behind SCAN: any key present throughout is visited at least once."""
    for seed in range(30):
        rng = random.Random(seed)
        db = Database(0, KeyspaceStats())
        stable = {b"s%d" % i for i in range(rng.randint(0, 60))}
        others = [b"o%d" % i for i in range(rng.randint(0, 60))]
        keys = list(stable) + others
        rng.shuffle(keys)
        for key in keys:
            db.add(key, b"v")
        seen: set[bytes] = set()
        cursor, fresh = 0, 0
        while True:
            cursor, batch = scan_positions(db, cursor, rng.randint(1, 8))
            seen.update(batch)
            if cursor == 0:
                break
            for _ in range(rng.randint(0, 6)):
                if others and rng.random() < 0.6:
                    db.delete(others.pop(rng.randrange(len(others))))
                else:
                    db.add(b"n%d" % fresh, b"v")
                    fresh += 1
        assert stable <= seen, seed


def test_scan_cursor_beyond_the_end_is_clamped(r):
    r.mset({f"k{i}": 1 for i in range(5)})
    cursor, batch = r.scan(10**12, count=100)
    assert cursor == 0
    assert sorted(batch) == sorted(f"k{i}".encode() for i in range(5))
