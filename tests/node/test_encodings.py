"""Compact encodings follow redis-server's at every step: a key walked one member at a time
across the listpack / intset limits, with the limits changed by CONFIG SET on the way,
answers OBJECT ENCODING, its reads and (for the compact encodings) MEMORY USAGE exactly as redis-server 7.0 does, and
its DUMP payload is byte-identical but for the RDB version in the trailer (so RDB and
RESTORE see the same encoding); and the compact values survive RDB, AOF, replication and
MIGRATE with their encodings."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence

import redis
from differential import Request
from nodes import ServerProcess, start_node
from resp import RawClient

DEFAULTS = [("CONFIG", "SET", "zset-max-listpack-entries", "128"),
            ("CONFIG", "SET", "zset-max-listpack-value", "64"),
            ("CONFIG", "SET", "set-max-intset-entries", "512")]


def replies(port: int, script: Sequence[Request]) -> list[bytes]:
    with RawClient(port) as c:
        c.call("FLUSHALL")
        for req in DEFAULTS:
            c.call(*req)
        out = [c.call(*req) for req in script]
        return [reply[:-12] if req[0] == "DUMP" else reply  # bulk minus trailer and CRLF
                for req, reply in zip(script, out, strict=True)]


def same(node: ServerProcess, reference: ServerProcess, script: Sequence[Request]) -> None:
    ours = replies(node.port, script)
    theirs = replies(reference.port, script)
    encoding = b""
    for req, mine, ref in zip(script, ours, theirs, strict=True):
        if req[:2] == ("MEMORY", "USAGE") and encoding in (b"skiplist", b"hashtable"):
            continue  # an estimate for these encodings (node/types/zset.py, sets.py)
        if req[0] == "SMEMBERS" and encoding == b"hashtable":  # in Redis's dict order
            mine, ref = sorted(mine.split(b"\r\n")), sorted(ref.split(b"\r\n"))
        if req[0] == "DUMP" and encoding == b"hashtable":
            mine, ref = len(mine), len(ref)
        assert mine == ref, f"{req!r}: redslot {mine!r} != redis-server {ref!r}"
        if req[0] == "OBJECT":
            encoding = ref.split(b"\r\n")[1]


def probe(key: str, read: Request) -> list[Request]:
    return [("OBJECT", "ENCODING", key), ("MEMORY", "USAGE", key), read, ("DUMP", key)]


def zprobe(key: str) -> list[Request]:
    return probe(key, ("ZRANGE", key, "0", "-1", "WITHSCORES"))


def test_a_sorted_set_walks_from_listpack_to_skiplist(node, reference):
    script: list[Request] = [("CONFIG", "SET", "zset-max-listpack-entries", "6")]
    for i in range(8):
        script += [("ZADD", "z", str(i % 3 - 0.5), f"m{i}"), *zprobe("z")]
    script += [("ZREM", "z", "m0", "m1", "m2", "m3"), *zprobe("z"),
               ("ZRANGESTORE", "copy", "z", "0", "-1"), *zprobe("copy")]
    same(node, reference, script)


def test_a_long_member_converts_and_a_raised_limit_keeps_the_listpack(node, reference):
    script: list[Request] = [("ZADD", "z", "1", "a", "2", "b"), *zprobe("z"),
                             ("CONFIG", "SET", "zset-max-listpack-value", "4"),
                             ("ZADD", "z", "3", "abcd"), *zprobe("z"),
                             ("ZADD", "z", "4", "abcde"), *zprobe("z"),
                             ("CONFIG", "SET", "zset-max-listpack-value", "300"),
                             ("ZADD", "y", "1", "x" * 299, "-0", "zero", "2", "x" * 10),
                             *zprobe("y"), ("ZINCRBY", "y", "5", "zero"), ("ZSCORE", "y", "zero"),
                             ("ZRANK", "y", "x" * 10), ("ZPOPMIN", "y"), *zprobe("y"),
                             ("ZUNIONSTORE", "u", "2", "y", "z"), *zprobe("u")]
    same(node, reference, script)


def test_dumped_listpacks_restore_under_lower_limits_as_redis_server_does(node, reference):
    theirs = redis.Redis(port=reference.port)
    theirs.flushall()
    theirs.zadd("z", {f"m{i}": i * 1.5 for i in range(10)})
    payload = theirs.dump("z")
    theirs.close()
    script: list[Request] = [("CONFIG", "SET", "zset-max-listpack-entries", "4"),
                             ("RESTORE", "r", "0", payload), *zprobe("r"),
                             ("ZADD", "r", "100", "n"), *zprobe("r")]
    same(node, reference, script)


def sprobe(key: str) -> list[Request]:
    return probe(key, ("SMEMBERS", key))


def test_a_set_walks_from_intset_to_hashtable(node, reference):
    script: list[Request] = [("CONFIG", "SET", "set-max-intset-entries", "5")]
    for n in (7, -3, 40000, 7, 5000000000, 2):
        script += [("SADD", "s", str(n)), *sprobe("s")]
    script += [("SREM", "s", "5000000000", "40000"), *sprobe("s"), ("SISMEMBER", "s", "07"),
               ("SADD", "s", "9", "10"), ("OBJECT", "ENCODING", "s"), ("SCARD", "s"),
               ("SADD", "t", "1", "2", "x"), ("OBJECT", "ENCODING", "t"),
               ("SADD", "u", "3", "1", "2"), ("SMOVE", "t", "u", "x"), ("OBJECT", "ENCODING", "u"),
               ("SADD", "v", "1"), ("SMOVE", "u", "v", "2"), *sprobe("v"),
               ("SINTERSTORE", "i", "v", "u"), ("SUNIONSTORE", "w", "v", "v"), *sprobe("w"),
               ("SDIFFSTORE", "d", "w", "nothing"), *sprobe("d"), ("SPOP", "d", "5"),
               ("EXISTS", "d")]
    same(node, reference, script)


def test_dumped_intsets_restore_as_redis_server_does(node, reference):
    theirs = redis.Redis(port=reference.port)
    theirs.flushall()
    theirs.sadd("s", *range(-2, 8), 70000)
    payload = theirs.dump("s")
    theirs.close()
    script: list[Request] = [("RESTORE", "r", "0", payload), *sprobe("r"),
                             ("CONFIG", "SET", "set-max-intset-entries", "4"),
                             ("RESTORE", "q", "0", payload), *sprobe("q"),
                             ("SREM", "r", "70000"), ("SADD", "r", "1"), *sprobe("r")]
    same(node, reference, script)


def fill(r: redis.Redis) -> None:
    """One key of each encoding, the compact ones edited after creation."""
    r.sadd("ints", 5, -70000, 3)
    r.srem("ints", 3)
    r.sadd("wide", 1, 2**40)
    r.sadd("strs", "a", "b", 1)
    r.zadd("small", {"a": 1.5, "b": -0.0, "c": 3, "d": 1e300})
    r.zrem("small", "c")
    r.zincrby("small", 2, "a")
    r.zadd("big", {f"m{i}": i for i in range(200)})


def state(r: redis.Redis) -> list[object]:
    keys = ["ints", "wide", "strs", "small", "big"]
    return [[r.object("encoding", k) for k in keys], sorted(r.smembers("ints")),
            sorted(r.smembers("wide")), sorted(r.smembers("strs")),
            r.zrange("small", 0, -1, withscores=True), r.zrange("big", 0, -1, withscores=True),
            r.execute_command("DEBUG", "DIGEST")]


def wait_until(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_compact_values_survive_rdb_aof_replication_and_migrate():
    source = start_node("--appendonly", "yes")
    datadir = source.workdir
    replica = target = None
    try:
        r = redis.Redis(port=source.port, socket_timeout=30)
        fill(r)
        expected = state(r)
        assert expected[0] == [b"intset", b"intset", b"hashtable", b"listpack", b"skiplist"]
        r.execute_command("DEBUG", "RELOAD")
        assert state(r) == expected
        for _ in range(2):  # the AOF as written by the commands, then as rewritten
            source.stop(keep_dir=True)
            source = start_node("--appendonly", "yes", "--aof-use-rdb-preamble", "no",
                                "--dir", datadir)
            r = redis.Redis(port=source.port, socket_timeout=30)
            assert state(r) == expected
            r.bgrewriteaof()
            wait_until(lambda r=r: r.info("persistence")["aof_rewrite_in_progress"] == 0)
        replica = start_node("--replicaof", "127.0.0.1", str(source.port))
        rr = redis.Redis(port=replica.port, socket_timeout=30)
        wait_until(lambda: rr.info("replication")["master_link_status"] == "up"
                   and rr.dbsize() == 5)
        assert state(rr) == expected
        r.sadd("ints", 9)
        r.zadd("small", {"e": 4})
        wait_until(lambda: rr.zcard("small") == 4)
        expected = state(r)
        assert state(rr) == expected
        target = start_node()
        rt = redis.Redis(port=target.port, socket_timeout=30)
        r.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000,
                          "KEYS", "ints", "wide", "strs", "small", "big")
        assert state(rt) == expected
    finally:
        for node in (source, replica, target):
            if node is not None:
                node.stop()
        shutil.rmtree(datadir, ignore_errors=True)
