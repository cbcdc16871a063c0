"""Keyspace notifications (notify.c): every write command reports what redis-server reports.

Each script runs on both servers with ``notify-keyspace-events`` set, a subscriber on
``__key*@*__:*`` and the active expiry cycle off (so that a key past its TTL is met by
the commands, not deleted behind their back). The subscriber's messages are read up to a
marker PUBLISHed last, and compared with redis-server's byte for byte and in order, as
are the script's replies (except those of random picks).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from differential import assert_same
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient, encode_command

PATTERN = "__key*@*__:*"
MARKER = "__keymarker@0__:end"
DUMPED = object()  # an argument standing for the payload of the script's last DUMP
WAIT = 5.0


class Sleep:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Block:
    """A blocking command sent on a second connection; the script goes on once it blocked."""

    def __init__(self, *args: str) -> None:
        self.args = args


class Served:
    """The reply of the last ``Block`` command (after a push served it)."""


class Random:
    """A command whose reply is random (SPOP ...): its events are compared, not its reply."""

    def __init__(self, *args: str) -> None:
        self.args = args


Step = tuple[Any, ...] | Sleep | Block | Served | Random


def _blocked_clients(client: RawClient) -> int:
    info = client.call("INFO", "clients")
    return int(info.split(b"blocked_clients:")[1].split(b"\r\n")[0])


def _wait_blocked(client: RawClient, count: int) -> None:
    deadline = time.monotonic() + WAIT
    while _blocked_clients(client) != count:
        assert time.monotonic() < deadline, "the blocking command never blocked"
        time.sleep(0.005)


def _bulk_payload(reply: bytes) -> bytes:
    """A bulk string's content; b"" for a null (DUMP of a missing key)."""
    head, _, rest = reply.partition(b"\r\n")
    return rest[:int(head[1:])] if head[:1] == b"$" and head != b"$-1" else b""


def run(port: int, classes: str, script: Sequence[Step], resp3: bool) -> tuple[list[bytes], list[bytes]]:
    """The script's replies and the messages the subscriber got, on one server."""
    with RawClient(port) as main, RawClient(port) as sub, RawClient(port) as waiter:
        if resp3:
            for client in (main, sub, waiter):
                client.call("HELLO", "3")
        main.call("FLUSHALL")
        main.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        assert main.call("CONFIG", "SET", "notify-keyspace-events", classes) == b"+OK\r\n"
        sub.call("PSUBSCRIBE", PATTERN)
        replies = []
        payload = b""
        try:
            for step in script:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                elif isinstance(step, Block):
                    waiter.send_raw(encode_command(*step.args))
                    _wait_blocked(main, 1)
                elif isinstance(step, Served):
                    replies.append(waiter.read_reply())
                elif isinstance(step, Random):
                    main.call(*step.args)
                elif step[0] == "DUMP":  # payloads may differ in encoding details
                    payload = _bulk_payload(main.call(*step)) or payload
                else:
                    replies.append(main.call(*[payload if a is DUMPED else a for a in step]))
            main.call("PUBLISH", MARKER, "end")
            messages = []
            while not messages or MARKER.encode() not in messages[-1]:
                messages.append(sub.read_reply())
        finally:
            main.call("CONFIG", "SET", "notify-keyspace-events", "")
            main.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    return replies, messages[:-1]


def assert_same_events(node: ServerProcess, reference: ServerProcess, classes: str,
                       script: Sequence[Step], resp3: bool = False) -> list[bytes]:
    ours, our_messages = run(node.port, classes, script, resp3)
    theirs, their_messages = run(reference.port, classes, script, resp3)
    assert ours == theirs
    for n, (mine, ref) in enumerate(zip(our_messages, their_messages, strict=False)):
        assert mine == ref, f"message {n}: redslot {mine!r} != redis-server {ref!r}"
    assert len(our_messages) == len(their_messages), (our_messages, their_messages)
    return their_messages


STRINGS: list[Step] = [
    ("SET", "s", "v"), ("SET", "s", "w", "XX"), ("SET", "s", "x", "NX"), ("SET", "nx", "v", "XX"),
    ("SET", "s2", "v", "EX", "100"), ("SET", "s3", "v", "PX", "100000", "GET"),
    ("SET", "s3", "w", "KEEPTTL", "GET"), ("SETNX", "s", "x"), ("SETNX", "s4", "x"),
    ("SETEX", "s5", "100", "v"), ("PSETEX", "s6", "100000", "v"),
    ("GETEX", "s5", "PERSIST"), ("GETEX", "s5", "PERSIST"), ("GETEX", "s6", "EX", "200"),
    ("GETEX", "s6", "PXAT", "1"), ("GETEX", "s4"), ("GETEX", "missing", "EX", "5"),
    ("GETDEL", "s4"), ("GETDEL", "s4"), ("GETSET", "s", "new"), ("GETSET", "fresh", "v"),
    ("MSET", "m1", "a", "m2", "b", "m1", "c"), ("MSETNX", "m3", "a", "m1", "b"),
    ("MSETNX", "m3", "a", "m4", "b"), ("APPEND", "ap", "x"), ("APPEND", "ap", "y"),
    ("SETRANGE", "sr", "3", "abc"), ("SETRANGE", "sr", "0", ""), ("SETRANGE", "sr", "1", "Z"),
    ("SETRANGE", "nokey", "5", ""), ("INCR", "c"), ("INCRBY", "c", "5"), ("DECR", "c"),
    ("DECRBY", "c", "2"), ("INCR", "s"), ("INCRBYFLOAT", "f", "1.5"), ("INCRBYFLOAT", "f", "2"),
    ("INCRBYFLOAT", "s", "1"), ("GET", "missing"), ("STRLEN", "missing"),
    ("MGET", "missing", "s", "other"), ("GETRANGE", "missing", "0", "1"),
    ("LCS", "s", "missing"), ("RPUSH", "list", "a"), ("APPEND", "list", "x"),
    ("SET", "list", "now-a-string"),
]

LISTS: list[Step] = [
    ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d"), ("LPUSHX", "nol", "x"),
    ("RPUSHX", "l", "e"), ("LPUSHX", "l", "f"), ("LINSERT", "l", "BEFORE", "a", "z"),
    ("LINSERT", "l", "AFTER", "nothere", "z"), ("LINSERT", "nol", "AFTER", "a", "z"),
    ("LSET", "l", "0", "q"), ("LSET", "l", "99", "q"), ("LREM", "l", "0", "nothere"),
    ("LREM", "l", "1", "q"), ("LPOP", "l"), ("RPOP", "l", "2"), ("LPOP", "l", "0"),
    ("LPOP", "nol"), ("LTRIM", "l", "0", "-1"), ("LTRIM", "l", "0", "1"),
    ("LTRIM", "l", "1", "0"), ("LTRIM", "nol", "0", "1"), ("RPUSH", "l2", "a"), ("RPOP", "l2"),
    ("RPUSH", "one", "x"), ("LREM", "one", "0", "x"), ("RPUSH", "two", "x", "y"),
    ("LPOP", "two", "5"),
    ("RPUSH", "src", "1", "2", "3"), ("LMOVE", "src", "dst", "LEFT", "RIGHT"),
    ("LMOVE", "src", "dst", "RIGHT", "LEFT"), ("RPOPLPUSH", "src", "dst"),
    ("RPOPLPUSH", "src", "dst"), ("LMOVE", "dst", "dst", "LEFT", "RIGHT"),
    ("RPUSH", "solo", "x"), ("LMOVE", "solo", "solo", "LEFT", "LEFT"),
    ("SET", "str", "v"), ("LMOVE", "dst", "str", "LEFT", "LEFT"),
    ("LMPOP", "2", "nokey", "dst", "LEFT", "COUNT", "10"), ("LMPOP", "1", "nokey", "LEFT"),
    ("LRANGE", "missing", "0", "-1"), ("LLEN", "missing"), ("LINDEX", "missing", "0"),
    ("LPOS", "missing", "a"), ("RPUSH", "b1", "x"), ("BLPOP", "b1", "0"),
    ("RPUSH", "b2", "x", "y"), ("BRPOP", "b2", "0"), ("RPUSH", "b3", "x"),
    ("BLMOVE", "b3", "b4", "RIGHT", "LEFT", "0"), ("BRPOPLPUSH", "b4", "b5", "0"),
    ("RPUSH", "b6", "1", "2", "3"), ("BLMPOP", "0", "1", "b6", "RIGHT", "COUNT", "5"),
]

BLOCKING: list[Step] = [
    Block("BLPOP", "q", "5"), ("RPUSH", "q", "job"), Served(),
    Block("BRPOP", "q", "5"), ("RPUSH", "q", "a", "b"), Served(),
    Block("BLMOVE", "bq", "bd", "LEFT", "RIGHT", "5"), ("LPUSH", "bq", "x", "y"), Served(),
    Block("BRPOPLPUSH", "bq2", "bd", "5"), ("RPUSH", "bq2", "z"), Served(),
    Block("BLMPOP", "5", "2", "none", "bm", "RIGHT", "COUNT", "2"),
    ("RPUSH", "bm", "1", "2", "3"), Served(),
    Block("BZPOPMIN", "bz", "5"), ("ZADD", "bz", "1", "a"), Served(),
    Block("BZPOPMAX", "bz", "5"), ("ZADD", "bz", "1", "a", "2", "b"), Served(),
    Block("BZMPOP", "5", "1", "bz2", "MIN", "COUNT", "3"), ("ZADD", "bz2", "1", "a", "2", "b"),
    Served(), ("MULTI",), ("RPUSH", "tq", "1"), ("EXEC",),
    Block("BLPOP", "tq2", "5"), ("MULTI",), ("RPUSH", "tq2", "a", "b"), ("LPOP", "tq2"),
    ("EXEC",), Served(), ("LLEN", "tq2"),
]

SETS: list[Step] = [
    ("SADD", "st", "a", "b", "c"), ("SADD", "st", "a"), ("SREM", "st", "nothere"),
    ("SREM", "st", "a"), ("SREM", "st", "b", "c", "d"), ("SREM", "nokey", "a"),
    ("SADD", "s1", "1", "2", "3"), ("SMOVE", "s1", "s2", "1"), ("SMOVE", "s1", "s1", "2"),
    ("SMOVE", "s1", "s2", "9"), ("SADD", "s2", "2"), ("SMOVE", "s1", "s2", "2"),
    ("SMOVE", "s1", "s3", "3"), ("SMOVE", "nokey", "s3", "3"),
    ("SADD", "p", "1", "2", "3", "4", "5", "6", "7", "8"), Random("SPOP", "p"),
    Random("SPOP", "p", "2"), ("SPOP", "p", "0"), Random("SPOP", "p", "1"),
    Random("SPOP", "p", "4"), ("SADD", "p1", "x"), ("SPOP", "p1"), ("SPOP", "p1"),
    ("SADD", "p2", "x", "y"), Random("SPOP", "p2", "5"), ("SPOP", "nokey", "2"),
    ("SADD", "a", "1", "2", "3"), ("SADD", "b", "2", "3", "4"),
    ("SINTERSTORE", "d", "a", "b"), ("SINTERSTORE", "d", "a", "missing"),
    ("SINTERSTORE", "d", "a", "missing"), ("SUNIONSTORE", "d", "a", "b"),
    ("SDIFFSTORE", "d", "a", "b"), ("SDIFFSTORE", "d", "a", "a"), ("SDIFFSTORE", "d", "a", "a"),
    ("SUNIONSTORE", "a", "a", "b"), ("SINTERSTORE", "d", "missing", "other"),
    ("SISMEMBER", "missing", "a"), ("SMEMBERS", "missing"), ("SCARD", "missing"),
    ("SINTER", "missing", "a"), ("SUNION", "missing", "a"), ("SDIFF", "a", "missing"),
    ("SINTERCARD", "2", "a", "missing"), ("SMISMEMBER", "missing", "a"),
    ("SRANDMEMBER", "missing"),
]

ZSETS: list[Step] = [
    ("ZADD", "z", "1", "a", "2", "b"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "XX", "5", "no"),
    ("ZADD", "z", "CH", "3", "a"), ("ZINCRBY", "z", "1", "a"), ("ZADD", "z", "INCR", "1", "b"),
    ("ZADD", "z", "NX", "INCR", "1", "a"), ("ZADD", "z", "GT", "0", "a"),
    ("ZADD", "z", "LT", "0", "a"), ("ZADD", "nz", "XX", "1", "a"), ("ZINCRBY", "nz", "2", "m"),
    ("ZADD", "z", "INCR", "inf", "a"), ("ZADD", "z", "INCR", "-inf", "a"),
    ("ZREM", "z", "nothere"), ("ZREM", "z", "a"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z"),
    ("ZPOPMIN", "nz"), ("ZPOPMIN", "nz", "0"), ("ZPOPMAX", "nz", "5"), ("ZREM", "nz", "x"),
    ("ZADD", "z2", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
    ("ZREMRANGEBYRANK", "z2", "0", "0"), ("ZREMRANGEBYRANK", "z2", "10", "20"),
    ("ZREMRANGEBYSCORE", "z2", "2", "2"), ("ZREMRANGEBYSCORE", "z2", "10", "20"),
    ("ZADD", "lex", "0", "a", "0", "b", "0", "c"), ("ZREMRANGEBYLEX", "lex", "[a", "[a"),
    ("ZREMRANGEBYLEX", "lex", "[x", "[z"), ("ZREMRANGEBYLEX", "lex", "-", "+"),
    ("ZREMRANGEBYSCORE", "z2", "-inf", "+inf"), ("ZREMRANGEBYRANK", "nokey", "0", "-1"),
    ("ZADD", "za", "1", "a", "2", "b"), ("ZADD", "zb", "3", "b", "4", "c"),
    ("ZUNIONSTORE", "zd", "2", "za", "zb"), ("ZINTERSTORE", "zd", "2", "za", "zb"),
    ("ZDIFFSTORE", "zd", "2", "za", "zb"), ("ZDIFFSTORE", "zd", "2", "za", "za"),
    ("ZDIFFSTORE", "zd", "2", "za", "za"), ("ZINTERSTORE", "zd", "2", "za", "missing"),
    ("ZUNIONSTORE", "zd", "1", "za"), ("ZRANGESTORE", "zr", "za", "0", "0"),
    ("ZRANGESTORE", "zr", "za", "5", "10"), ("ZRANGESTORE", "zr", "missing", "0", "-1"),
    ("ZADD", "zr", "1", "x"), ("ZRANGESTORE", "zr", "missing", "0", "-1"),
    ("ZMPOP", "2", "missing", "zb", "MAX", "COUNT", "1"), ("ZMPOP", "1", "zb", "MIN", "COUNT", "5"),
    ("ZMPOP", "1", "zb", "MIN"), ("BZPOPMIN", "za", "0"), ("BZPOPMAX", "za", "0"),
    ("ZADD", "zc", "1", "a"), ("BZMPOP", "0", "1", "zc", "MAX"),
    ("ZSCORE", "missing", "a"), ("ZRANGE", "missing", "0", "-1"), ("ZCARD", "missing"),
    ("ZRANK", "missing", "a"), ("ZUNION", "2", "missing", "za"), ("ZINTER", "1", "missing"),
    ("ZRANDMEMBER", "missing"), ("ZCOUNT", "missing", "0", "1"),
]

HASHES: list[Step] = [
    ("HSET", "h", "f", "v"), ("HSET", "h", "f", "v"), ("HMSET", "h", "a", "1", "b", "2"),
    ("HSETNX", "h", "f", "x"), ("HSETNX", "h", "g", "x"), ("HSETNX", "h2", "g", "x"),
    ("HINCRBY", "h", "n", "1"), ("HINCRBY", "h", "f", "1"), ("HINCRBY", "h3", "n", "5"),
    ("HINCRBYFLOAT", "h", "fl", "1.5"), ("HINCRBYFLOAT", "h", "f", "1"),
    ("HINCRBYFLOAT", "h4", "fl", "2.5"), ("HDEL", "h", "nothere"), ("HDEL", "h", "f"),
    ("HDEL", "h", "a", "b", "g", "n", "fl", "z"), ("HDEL", "nokey", "f"),
    ("HGET", "missing", "f"), ("HGETALL", "missing"), ("HMGET", "missing", "a"),
    ("HLEN", "missing"), ("HEXISTS", "missing", "f"), ("HKEYS", "missing"),
    ("HRANDFIELD", "missing"), ("HSTRLEN", "missing", "f"),
    ("HSET", "ht", "f", "x" * 70), ("HSET", "ht", "f", "v"), ("HSET", "ht", "g", "v", "g", "w"),
    ("HINCRBY", "ht", "n", "1"), ("HSETNX", "ht", "n", "2"), ("HDEL", "ht", "nothere"),
    ("HDEL", "ht", "g"), ("HDEL", "ht", "f", "n"),
]

KEYS: list[Step] = [
    ("SET", "k1", "v"), ("SET", "k2", "v"), ("DEL", "k1", "missing", "k2", "k1"),
    ("SET", "k3", "v"), ("UNLINK", "k3", "missing"), ("EXISTS", "missing", "k3"),
    ("TYPE", "missing"), ("TTL", "missing"), ("PTTL", "missing"), ("EXPIRETIME", "missing"),
    ("PEXPIRETIME", "missing"), ("TOUCH", "missing"), ("OBJECT", "ENCODING", "missing"),
    ("SET", "r", "v"), ("RENAME", "r", "r2"), ("SET", "r3", "x"), ("RENAME", "r2", "r3"),
    ("SET", "r4", "y"), ("RENAMENX", "r3", "r4"), ("RENAMENX", "r3", "r5"),
    ("RENAME", "r5", "r5"), ("RENAME", "missing", "r6"), ("RENAMENX", "r5", "r5"),
    ("SET", "cp", "v", "EX", "1000"), ("COPY", "cp", "cp2"), ("COPY", "cp", "cp2"),
    ("COPY", "cp", "cp2", "REPLACE"), ("COPY", "cp", "cp", "DB", "1"), ("COPY", "missing", "x"),
    ("COPY", "cp", "cp2", "DB", "1", "REPLACE"), ("MOVE", "cp", "1"), ("MOVE", "cp2", "1"),
    ("MOVE", "missing", "1"), ("SELECT", "1"), ("DEL", "cp"), ("RENAME", "cp2", "cp3"),
    ("SET", "db1", "x"), ("SELECT", "0"), ("SET", "mv", "v"), ("MOVE", "mv", "1"),
    ("SET", "mv", "w"), ("MOVE", "mv", "1"), ("SELECT", "1"), ("MOVE", "mv", "0"), ("SELECT", "0"), ("SWAPDB", "0", "1"), ("DEL", "db1"),
    ("SET", "e", "v"), ("EXPIRE", "e", "100"), ("EXPIRE", "e", "100", "NX"),
    ("EXPIRE", "e", "200", "XX"), ("PEXPIRE", "e", "1000", "GT"), ("EXPIREAT", "e", "99999999999"),
    ("PEXPIREAT", "e", "99999999999000", "LT"), ("PEXPIRE", "e", "-1"), ("PEXPIRE", "e", "100"),
    ("SET", "e2", "v"), ("EXPIREAT", "e2", "1"), ("SET", "e3", "v"), ("PERSIST", "e3"),
    ("EXPIRE", "e3", "100"), ("PERSIST", "e3"), ("PERSIST", "missing"),
    ("EXPIRE", "missing", "10"), ("SET", "e4", "v"), ("EXPIRE", "e4", "-5", "NX"),
    ("FLUSHDB",), ("SELECT", "1"), ("FLUSHDB",), ("SELECT", "0"), ("SET", "f", "v"),
    ("FLUSHALL",),
]

# PEXPIRE gets 20 ms, not 1: redis-server computes the deadline and tests "already expired"
# with two clock reads (expireGenericCommand, checkAlreadyExpired), so a millisecond tick
# between them turns PEXPIRE k 1 into a DEL with a "del" event now and then.
EXPIRY: list[Step] = [
    ("SET", "dsrc", "v"), ("DUMP", "dsrc"), ("SET", "lz", "v"), ("PEXPIRE", "lz", "20"), ("SET", "lz2", "v", "PX", "1"),
    ("RPUSH", "lz3", "a"), ("PEXPIRE", "lz3", "20"), ("SET", "lz4", "v", "PX", "1"),
    ("SET", "lz5", "v", "PX", "1"), ("SET", "lz6", "v", "PX", "1"), ("SET", "lz7", "v", "PX", "1"),
    ("SADD", "lz8", "a"), ("PEXPIRE", "lz8", "20"), ("SET", "lz9", "v", "PX", "1"),
    ("SET", "lz10", "v", "PX", "1"), ("SET", "lz11", "v", "PX", "1"), ("SET", "lz12", "v"),
    ("PEXPIRE", "lz12", "20"), ("SET", "lz13", "v", "PX", "1"), ("SET", "lz14", "v", "PX", "1"),
    Sleep(0.06),
    ("GET", "lz"), ("LPUSH", "lz2", "x"), ("RPOP", "lz3"), ("DEL", "lz4"), ("SET", "lz5", "w"),
    ("EXISTS", "lz6"), ("INCR", "lz7"), ("SADD", "a", "1"), ("SUNIONSTORE", "lz9", "a"),
    ("SINTERSTORE", "lz10", "a", "missing"), ("SCARD", "lz8"), ("RENAME", "a", "lz11"),
    ("RESTORE", "lz12", "0", DUMPED, "REPLACE"),
    ("MSET", "lz13", "1"), ("TTL", "lz14"),
]

DUMPS: list[Step] = [
    ("RPUSH", "src", "a", "b"), ("DUMP", "src"), ("DUMP", "missing"),
    ("RESTORE", "r1", "0", DUMPED), ("RESTORE", "r1", "0", DUMPED),
    ("RESTORE", "r1", "0", DUMPED, "REPLACE"), ("RESTORE", "r1", "100000", DUMPED, "REPLACE"),
    ("RESTORE", "r1", "1", DUMPED, "REPLACE", "ABSTTL"), ("RESTORE", "r2", "1", DUMPED, "ABSTTL"),
    ("RESTORE", "r3", "0", "bad-payload"), ("RESTORE", "r3", "0", DUMPED, "IDLETIME", "5"),
    ("SET", "r4", "v", "PX", "1"), Sleep(0.02), ("RESTORE", "r4", "1", DUMPED, "REPLACE", "ABSTTL"),
]

SORTS: list[Step] = [
    ("RPUSH", "sl", "3", "1", "2"), ("SORT", "sl", "STORE", "sd"), ("SORT", "sl", "STORE", "sd"),
    ("SORT", "missing", "STORE", "sd"), ("SORT", "missing", "STORE", "sd"),
    ("SORT", "sl", "LIMIT", "5", "5", "STORE", "sd"), ("SORT", "sl", "STORE", "sl"),
    ("MSET", "w_1", "3", "w_2", "2", "o_1", "one"), ("SORT", "sl", "BY", "w_*", "GET", "o_*"),
    ("SORT", "sl", "BY", "w_*", "GET", "#", "GET", "o_*", "STORE", "sd"),
    ("SORT", "sl", "BY", "nosort", "GET", "o_*"), ("SORT_RO", "missing"),
    ("SADD", "ss", "b", "a"), ("SORT", "ss", "ALPHA", "STORE", "sd2"),
    ("SORT", "ss", "BY", "nosort", "STORE", "sd3"),
]

STREAMS: list[Step] = [
    ("XADD", "x", "1-1", "f", "v"), ("XADD", "x", "MAXLEN", "1", "2-1", "f", "v"),
    ("XADD", "x", "MAXLEN", "~", "0", "3-1", "f", "v"), ("XADD", "x", "1-1", "f", "v"),
    ("XADD", "nox", "NOMKSTREAM", "1-1", "f", "v"), ("XADD", "x", "4-1", "f", "v"),
    ("XDEL", "x", "4-1", "99-1"), ("XDEL", "x", "99-1"), ("XTRIM", "x", "MAXLEN", "5"),
    ("XADD", "x", "5-1", "f", "v"), ("XTRIM", "x", "MAXLEN", "0"), ("XSETID", "x", "9-9"),
    ("XGROUP", "CREATE", "y", "g", "$", "MKSTREAM"), ("XGROUP", "CREATE", "y", "g", "$"),
    ("XGROUP", "SETID", "y", "g", "0"), ("XGROUP", "CREATECONSUMER", "y", "g", "c1"),
    ("XGROUP", "CREATECONSUMER", "y", "g", "c1"), ("XADD", "y", "1-1", "f", "v"),
    ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "y", ">"),
    ("XREADGROUP", "GROUP", "g", "c3", "NOACK", "STREAMS", "y", ">"),
    ("XCLAIM", "y", "g", "c4", "0", "1-1"), ("XAUTOCLAIM", "y", "g", "c5", "0", "0"),
    ("XACK", "y", "g", "1-1"), ("XGROUP", "DELCONSUMER", "y", "g", "c1"),
    Block("XREADGROUP", "GROUP", "g", "c6", "BLOCK", "0", "STREAMS", "y", ">"),
    ("XADD", "y", "2-1", "f", "v"), Served(), ("XGROUP", "DESTROY", "y", "g"),
    ("DUMP", "y"), ("RESTORE", "z", "0", DUMPED), ("DEL", "y", "z"),
]

GEOS: list[Step] = [
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
    ("GEOADD", "g", "NX", "1", "1", "Palermo"), ("GEOADD", "g", "XX", "CH", "2", "2", "Palermo"),
    ("GEOADD", "g", "XX", "1", "1", "nobody"), ("GEOADD", "g", "200", "1", "bad"),
    ("GEORADIUS", "g", "15", "37", "200", "km"), ("GEOSEARCH", "g", "FROMMEMBER", "Catania", "BYRADIUS", "1", "km"),
    ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "gd"),
    ("GEORADIUSBYMEMBER", "g", "Catania", "500", "km", "STOREDIST", "gd"),
    ("GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"),
    ("GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "-100", "0", "BYRADIUS", "1", "km"),
    ("GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "-100", "0", "BYRADIUS", "1", "km"),
    ("GEORADIUS", "missing", "15", "37", "200", "km", "STORE", "gd"),
    ("SET", "gx", "v", "PX", "1"), Sleep(0.02), ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "gx"),
    ("SET", "gy", "v", "PX", "1"), Sleep(0.02), ("GEORADIUS", "g", "-100", "0", "1", "km", "STORE", "gy"),
]

HLLS: list[Step] = [
    ("PFADD", "h", "a", "b"), ("PFADD", "h", "a"), ("PFADD", "h"), ("PFADD", "h2"),
    ("PFCOUNT", "h"), ("PFCOUNT", "h", "h2"), ("PFMERGE", "h3", "h", "h2"),
    ("PFMERGE", "h3"), ("PFDEBUG", "TODENSE", "h3"), ("SET", "bad", "x"), ("PFADD", "bad", "a"),
    ("PFMERGE", "bad", "h"), ("SET", "hx", "v", "PX", "1"), Sleep(0.02), ("PFADD", "hx", "a"),
    ("SET", "hy", "v", "PX", "1"), Sleep(0.02), ("PFMERGE", "hy", "h"),
]

POPULATE: list[Step] = [
    ("DEBUG", "POPULATE", "3", "p"), ("SET", "p:1", "x"), ("DEBUG", "POPULATE", "3", "p"),
]

FAMILIES = {
    "strings": STRINGS, "lists": LISTS, "blocking": BLOCKING, "sets": SETS, "zsets": ZSETS,
    "hashes": HASHES, "keys": KEYS, "expiry": EXPIRY, "dump": DUMPS, "sort": SORTS,
    "streams": STREAMS, "populate": POPULATE, "geo": GEOS, "hyperloglog": HLLS,
}
EVERY_STEP = [step for script in FAMILIES.values() for step in script]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("family", FAMILIES)
def test_every_write_reports_the_events_redis_reports(node, reference, family, resp3):
    messages = assert_same_events(node, reference, "KEAmn", FAMILIES[family], resp3)
    assert messages  # the script exercised something


@pytest.mark.parametrize("classes", ["Kl", "Eg", "E$", "Kx", "Em", "En", "Ksh", "Ez", "KEA",
                                     "gK$E", "K", "A", "t"])
def test_only_the_configured_classes_are_reported(node, reference, classes):
    assert_same_events(node, reference, classes, EVERY_STEP)


def test_keymiss_and_new_are_outside_all(node, reference):
    messages = assert_same_events(node, reference, "KEA", [
        ("GET", "missing"), ("SET", "k", "v"),
    ])
    assert b"keymiss" not in b"".join(messages) and b"new" not in b"".join(messages)


@pytest.fixture(scope="module")
def target() -> Iterator[ServerProcess]:
    """Where MIGRATE sends keys: a redis-server whose own events are watched too."""
    proc = start_redis_server()
    yield proc
    proc.stop()


MIGRATIONS: list[Step] = [
    ("SET", "mk", "v"), ("SET", "mk2", "w"), ("SET", "mk3", "x"), ("SET", "mk4", "y", "PX", "1"),
    Sleep(0.02),
    ("MIGRATE", "127.0.0.1", "{target}", "mk", "0", "5000", "REPLACE"),
    ("MIGRATE", "127.0.0.1", "{target}", "", "0", "5000", "COPY", "REPLACE", "KEYS", "mk2"),
    ("MIGRATE", "127.0.0.1", "{target}", "", "0", "5000", "REPLACE", "KEYS", "mk2", "missing",
     "mk3", "mk4"),
    ("MIGRATE", "127.0.0.1", "{target}", "missing", "0", "5000"),
    ("SET", "mk", "again"), ("MIGRATE", "127.0.0.1", "{target}", "mk", "0", "5000"),
]


def _migrations(server: ServerProcess, target: ServerProcess) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """The source's replies and events, and the events the target reported."""
    script = [tuple(str(target.port) if a == "{target}" else a for a in step)
              if isinstance(step, tuple) else step for step in MIGRATIONS]
    with RawClient(target.port) as admin, RawClient(target.port) as sub:
        admin.call("FLUSHALL")
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEAn")
        sub.call("PSUBSCRIBE", PATTERN)
        replies, events = run(server.port, "KEAmn", script, False)
        admin.call("PUBLISH", MARKER, "end")
        there: list[bytes] = []
        while not there or MARKER.encode() not in there[-1]:
            there.append(sub.read_reply())
        admin.call("CONFIG", "SET", "notify-keyspace-events", "")
    return replies, events, there[:-1]


def test_migrate_reports_del_here_and_restore_there(node, reference, target):
    ours = _migrations(node, target)
    theirs = _migrations(reference, target)
    assert ours == theirs
    assert b"restore" in b"".join(theirs[2]) and b"del" in b"".join(theirs[1])


def test_config_notify_keyspace_events_is_normalised_like_redis(node, reference):
    script = []
    for classes in ["KEA", "AKE", "EKA", "Kg$lshzxetd", "KEAn", "nAKE", "Em", "mK", "g",
                    "", "KEAm", "A", "Kn", "xe", "zzz", "KEA n", "KEAX", "K\x00E", "$"]:
        script += [("CONFIG", "SET", "notify-keyspace-events", classes),
                   ("CONFIG", "GET", "notify-keyspace-events")]
    script.append(("CONFIG", "SET", "notify-keyspace-events", ""))
    assert_same(node, reference, script)
    assert_same(node, reference, script, resp3=True)


def _expired_message(server: ServerProcess) -> bytes:
    with RawClient(server.port) as main, RawClient(server.port) as sub:
        main.call("FLUSHALL")
        main.call("CONFIG", "SET", "notify-keyspace-events", "Ex")
        sub.call("SUBSCRIBE", "__keyevent@0__:expired")
        main.call("SET", "soon", "v", "PX", "50")
        sub.sock.settimeout(WAIT)
        try:
            return sub.read_reply()
        finally:
            main.call("CONFIG", "SET", "notify-keyspace-events", "")


def test_the_active_expiry_cycle_reports_expired(node, reference):
    message = _expired_message(node)
    assert message == _expired_message(reference)
    assert message.endswith(b"$4\r\nsoon\r\n")


def test_a_node_with_notifications_off_sends_nothing(node, reference):
    assert assert_same_events(node, reference, "", EVERY_STEP) == []


def _replica_events(master: ServerProcess, replica: ServerProcess) -> list[bytes]:
    """What a subscriber on ``replica`` hears while it syncs with ``master`` and follows
    its stream (a snapshot load reports nothing; the streamed commands report as usual)."""
    with RawClient(master.port) as main, RawClient(replica.port) as sub, \
            RawClient(replica.port) as admin:
        main.call("SET", "before-sync", "v")
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEAn")
        sub.call("PSUBSCRIBE", PATTERN)
        admin.call("REPLICAOF", "127.0.0.1", str(master.port))
        deadline = time.monotonic() + 10
        while b"master_link_status:up" not in admin.call("INFO", "replication"):
            assert time.monotonic() < deadline, "the replica never synced"
            time.sleep(0.05)
        for req in [("SET", "k", "v", "EX", "100"), ("LPUSH", "l", "a"), ("RPOP", "l"),
                    ("SET", "gone", "v", "PX", "1"), ("SADD", "s", "a")]:
            main.call(*req)
        time.sleep(0.05)
        main.call("GET", "gone")  # expired on the master by now: it streams a DEL
        assert main.call("WAIT", "1", "5000") == b":1\r\n"
        admin.call("PUBLISH", MARKER, "end")
        got: list[bytes] = []
        sub.sock.settimeout(WAIT)
        while not got or MARKER.encode() not in got[-1]:
            got.append(sub.read_reply())
        admin.call("REPLICAOF", "NO", "ONE")
    return got[:-1]


def test_a_replica_reports_the_events_of_its_masters_stream():
    ours = start_node(), start_node()
    theirs = start_redis_server(), start_redis_server()
    try:
        mine = _replica_events(*ours)
        ref = _replica_events(*theirs)
    finally:
        for proc in (*ours, *theirs):
            proc.stop()
    assert mine == ref
    assert b"__keyevent@0__:del" in b"".join(ref) and b"before-sync" not in b"".join(ref)


def _own_events(server: ServerProcess) -> list[bytes]:
    """A RESP3 client subscribed to the events of its own commands: what it reads."""
    with RawClient(server.port) as c:
        c.call("HELLO", "3")
        c.call("FLUSHALL")
        c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        out = [c.call("PSUBSCRIBE", PATTERN)]
        for req in [("SET", "k", "v"), ("INCR", "n"), ("SADD", "s", "a"), ("APPEND", "a", "v")]:
            c.send_raw(encode_command(*req))
            out += [c.read_reply() for _ in range(3)]
        c.call("CONFIG", "SET", "notify-keyspace-events", "")
    return out


def test_a_resp3_subscriber_gets_its_own_events_before_the_reply(node, reference):
    """Where Redis notifies before it replies (SET, INCR, SADD, APPEND ...). Redis 7.0 replies
    first for some commands (RPUSH, LPOP, HSET, ZADD ...) and splits some replies (ZPOPMIN):
    redslot always sends the events first (README, Limits)."""
    ours = _own_events(node)
    assert ours == _own_events(reference)
    assert ours[1].startswith(b">4\r\n$8\r\npmessage") and ours[3] == b"+OK\r\n"


@pytest.mark.parametrize("kind", ["redslot", "redis-server"])
def test_eviction_reports_evicted(kind: str) -> None:
    """Keys evicted under maxmemory are reported as "evicted" (class e), each one gone."""
    server = start_node() if kind == "redslot" else start_redis_server()
    try:
        with RawClient(server.port) as sub, RawClient(server.port) as c:
            c.call("CONFIG", "SET", "notify-keyspace-events", "Ee")
            sub.call("SUBSCRIBE", "__keyevent@0__:evicted")
            used = int(c.call("INFO", "memory").split(b"used_memory:")[1].split(b"\r\n")[0])
            c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
            c.call("CONFIG", "SET", "maxmemory", str(used + 2_000_000))
            for i in range(400):  # 4 MB of values against a 2 MB allowance
                c.call("SET", f"big:{i}", "v" * 10_000)
            # eviction may go on in the background for a moment: wait until it settles
            count, deadline = -1, time.monotonic() + 10
            while True:
                stats = c.call("INFO", "stats")
                now = int(stats.split(b"evicted_keys:")[1].split(b"\r\n")[0])
                if now == count:
                    break
                assert time.monotonic() < deadline
                count = now
                time.sleep(0.3)
            sub.sock.settimeout(5)
            evicted = [sub.read_reply().rsplit(b"\r\n", 2)[-2] for _ in range(count)]
            assert evicted and all(k.startswith(b"big:") for k in evicted)
            assert c.call("EXISTS", *evicted) == b":0\r\n"
            assert len(set(evicted)) == count > 0
    finally:
        server.stop()
