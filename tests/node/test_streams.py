"""Stream commands against Debian's redis-server 7.0.15, byte for byte in RESP2 and RESP3.

IDs are explicit (``*`` picks the clock, which differs between two servers), and replies
that carry times (idle, delivery and seen times) are compared for shape only.
"""

from __future__ import annotations

import time

from differential import Request, assert_same, assert_same_resp3
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient


def both(node: ServerProcess, reference: ServerProcess, script: list[Request]) -> None:
    assert_same(node, reference, script)
    assert_same_resp3(node, reference, script)


def filled(n: int, key: str = "s", start: int = 1) -> list[Request]:
    return [("XADD", key, f"{i}-1", "f", f"v{i}") for i in range(start, start + n)]


# --- XADD ---

def test_xadd_ids_and_errors(node, reference):
    both(node, reference, [
        ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "1-1", "a", "1"),
        ("XADD", "s", "1-0", "a", "1"), ("XADD", "s", "1-*", "b", "2"),
        ("XADD", "s", "5", "c", "3"), ("XADD", "s", "5-*", "c", "3"), ("XADD", "s", "7-*", "d", "4"),
        ("XADD", "s", "0-0", "a", "1"), ("XADD", "t", "0-0", "a", "1"), ("XADD", "t", "0-*", "a", "1"),
        ("XADD", "s", "abc", "a", "1"), ("XADD", "s", "1-x", "a", "1"), ("XADD", "s", "-", "a", "1"),
        ("XADD", "s", "+", "a", "1"), ("XADD", "s", "-1", "a", "1"), ("XADD", "s", "8", "a"),
        ("XADD", "s", "8"), ("XADD", "s", "8", "a", "1", "b"), ("XADD", "s"),
        ("XADD", "s", "18446744073709551615-18446744073709551615", "a", "1"),
        ("XADD", "s", "9-1", "a", "1"), ("XADD", "s", "18446744073709551616", "a", "1"),
        ("XADD", "s", "10-01", "x", "y"), ("XADD", "s", " 11", "x", "y"),
        ("XADD", "s", "+12", "x", "y"), ("XRANGE", "s", "-", "+"), ("XLEN", "s"),
        ("XADD", "nokey", "NOMKSTREAM", "1-1", "a", "1"), ("EXISTS", "nokey"),
        ("SET", "str", "x"), ("XADD", "str", "1-1", "a", "1"), ("XLEN", "str"),
        ("XADD", "s", "nomkstream", "20-1", "a", "1"), ("XLEN", "nokey"),
    ])


def test_xadd_exhausted_stream(node, reference):
    top = "18446744073709551615-18446744073709551615"
    both(node, reference, [
        ("XADD", "s", top, "a", "1"), ("XADD", "s", "*", "a", "1"),
        ("XADD", "s", "18446744073709551615-*", "a", "1"),
        ("XADD", "u", "18446744073709551615-18446744073709551614", "a", "1"),
        ("XADD", "u", "18446744073709551615-*", "a", "1"),
        ("XADD", "u", "18446744073709551615-*", "a", "1"), ("XRANGE", "u", "-", "+"),
    ])


def test_xadd_trimming_options(node, reference):
    both(node, reference, [
        *filled(300),
        ("XADD", "s", "MAXLEN", "250", "301-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "~", "100", "302-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "=", "90", "303-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MINID", "~", "200", "304-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MINID", "250", "305-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "~", "10", "LIMIT", "5", "306-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "10", "LIMIT", "5", "307-1", "f", "v"),
        ("XADD", "s", "LIMIT", "5", "307-1", "f", "v"),
        ("XADD", "s", "LIMIT", "0", "307-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "-1", "308-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "x", "308-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "1", "MINID", "1", "308-1", "f", "v"),
        ("XADD", "s", "LIMIT", "-1", "308-1", "f", "v"),
        ("XADD", "s", "MINID", "(5", "308-1", "f", "v"),
        ("XADD", "s", "MAXLEN", "~", "308-1", "f", "v"), ("XLEN", "s"),
        ("XADD", "s", "MAXLEN", "0", "309-1", "f", "v"), ("XLEN", "s"), ("XRANGE", "s", "-", "+"),
        ("XINFO", "STREAM", "s"),
    ])


def test_node_splitting_by_bytes_and_entries(node, reference):
    big = "x" * 700
    script: list[Request] = [("XADD", "b", f"{i}-0", "field", big) for i in range(1, 40)]
    script += [("XADD", "m", f"{i}-0", *(("k", "v") if i % 3 else ("other", "v", "k2", "12")))
               for i in range(1, 400)]
    script += [("XINFO", "STREAM", "b"), ("XINFO", "STREAM", "m"),
               ("XTRIM", "b", "MAXLEN", "~", "20"), ("XINFO", "STREAM", "b"),
               ("XTRIM", "m", "MINID", "~", "250"), ("XINFO", "STREAM", "m"),
               ("DUMP", "b"), ("DUMP", "m")]
    assert_same(node, reference, script[:-2])
    _same_dumps(node, reference, script, ["b", "m"])


def _same_dumps(node: ServerProcess, reference: ServerProcess, script: list[Request],
                keys: list[str]) -> None:
    """DUMP bodies equal (the trailers carry each server's RDB version)."""
    dumps = []
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            for req in script:
                c.call(*req)
            dumps.append([c.call("DUMP", key) for key in keys])
    for ours, theirs in zip(*dumps, strict=True):
        assert ours[:-10] == theirs[:-10] or ours.split(b"\r\n", 1)[1][:-12] == \
            theirs.split(b"\r\n", 1)[1][:-12]


def test_small_node_limits_config(node, reference):
    script: list[Request] = []
    for server_args in (("stream-node-max-entries", "7"), ("stream-node-max-bytes", "200")):
        script += [("CONFIG", "SET", *server_args), ("DEL", "s"), *filled(60),
                   ("XINFO", "STREAM", "s"), ("XTRIM", "s", "MAXLEN", "~", "33"),
                   ("XINFO", "STREAM", "s")]
    script += [("CONFIG", "SET", "stream-node-max-entries", "0"),
               ("CONFIG", "SET", "stream-node-max-bytes", "0"), ("DEL", "s"), *filled(200),
               ("XINFO", "STREAM", "s"),
               ("CONFIG", "SET", "stream-node-max-entries", "100"),
               ("CONFIG", "SET", "stream-node-max-bytes", "4096"),
               ("CONFIG", "GET", "stream-node-max-bytes"), ("CONFIG", "GET", "stream-node-max-entries")]
    both(node, reference, script)


# --- ranges ---

def test_xrange_and_xrevrange(node, reference):
    both(node, reference, [
        *filled(30), ("XDEL", "s", "3-1", "10-1"),
        ("XRANGE", "s", "-", "+"), ("XRANGE", "s", "-", "+", "COUNT", "3"),
        ("XRANGE", "s", "5", "8"), ("XRANGE", "s", "(5-1", "(8-1"), ("XRANGE", "s", "(5", "8"),
        ("XRANGE", "s", "5-1", "5-1"), ("XRANGE", "s", "9", "5"), ("XRANGE", "s", "-", "+", "COUNT", "0"),
        ("XRANGE", "s", "-", "+", "COUNT", "-2"), ("XRANGE", "s", "-", "+", "count", "2", "COUNT", "4"),
        ("XRANGE", "s", "-", "+", "COUNT"), ("XRANGE", "s", "-", "+", "FOO", "1"),
        ("XRANGE", "s", "(-", "+"), ("XRANGE", "s", "-", "(+"), ("XRANGE", "s", "(", "+"),
        ("XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"),
        ("XRANGE", "s", "-", "(0-0"), ("XRANGE", "s", "x", "+"), ("XRANGE", "s", "-", "y"),
        ("XRANGE", "nokey", "-", "+"), ("XRANGE", "nokey", "-", "+", "COUNT", "0"),
        ("XREVRANGE", "s", "+", "-"), ("XREVRANGE", "s", "+", "-", "COUNT", "4"),
        ("XREVRANGE", "s", "(20", "(12"), ("XREVRANGE", "s", "12", "20"),
        ("XREVRANGE", "s", "(0-1", "-"), ("XREVRANGE", "nokey", "+", "-"),
        ("SET", "str", "1"), ("XRANGE", "str", "-", "+"), ("XREVRANGE", "str", "+", "-"),
        ("XRANGE", "str", "x", "+"),
    ])


def test_xlen_xdel_and_tombstones(node, reference):
    both(node, reference, [
        *filled(250), ("XLEN", "s"), ("XDEL", "s", "1-1", "2-1", "2-1", "999-1"),
        ("XDEL", "s", "x"), ("XDEL", "s", "5-1", "x"), ("XLEN", "s"),
        ("XDEL", "nokey", "1-1"), ("XDEL", "nokey", "x"),
        *[("XDEL", "s", f"{i}-1") for i in range(101, 201)],
        ("XINFO", "STREAM", "s"), ("XLEN", "s"), ("XRANGE", "s", "95", "205"),
        ("XDEL", "s", *[f"{i}-1" for i in range(1, 251)]), ("XLEN", "s"), ("EXISTS", "s"),
        ("XINFO", "STREAM", "s"), ("XADD", "s", "1-1", "a", "b"), ("XADD", "s", "251-1", "a", "b"),
        ("XINFO", "STREAM", "s"),
    ])


def test_xtrim(node, reference):
    both(node, reference, [
        *filled(350), ("XDEL", "s", "150-1", "260-1"),
        ("XTRIM", "s", "MAXLEN", "340"), ("XTRIM", "s", "MAXLEN", "~", "320"),
        ("XTRIM", "s", "MAXLEN", "~", "180"), ("XLEN", "s"),
        ("XTRIM", "s", "MINID", "~", "255"), ("XLEN", "s"), ("XTRIM", "s", "MINID", "257"),
        ("XTRIM", "s", "MINID", "=", "258-0"), ("XLEN", "s"),
        ("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "50"), ("XLEN", "s"),
        ("XTRIM", "s"), ("XTRIM", "s", "LIMIT", "2"), ("XTRIM", "s", "MAXLEN", "1", "LIMIT", "2"),
        ("XTRIM", "s", "FOO"), ("XTRIM", "s", "MAXLEN", "-1"), ("XTRIM", "s", "MINID", "-"),
        ("XTRIM", "nokey", "MAXLEN", "1"), ("XTRIM", "s", "MAXLEN", "1", "MINID", "2"),
        ("XINFO", "STREAM", "s"), ("XTRIM", "s", "MAXLEN", "0"), ("EXISTS", "s"), ("XLEN", "s"),
        ("XINFO", "STREAM", "s"),
    ])


def test_xsetid(node, reference):
    both(node, reference, [
        *filled(5), ("XSETID", "s", "3-0"), ("XSETID", "s", "5-1"), ("XSETID", "s", "10-0"),
        ("XADD", "s", "9-0", "a", "b"), ("XSETID", "s", "10-0", "ENTRIESADDED", "3"),
        ("XSETID", "s", "10-0", "ENTRIESADDED", "30", "MAXDELETEDID", "4-0"),
        ("XSETID", "s", "10-0", "MAXDELETEDID", "11-0"), ("XSETID", "s", "10-0", "ENTRIESADDED", "-1"),
        ("XSETID", "s", "10-0", "FOO"), ("XSETID", "s", "10-0", "ENTRIESADDED"), ("XSETID", "s", "-"),
        ("XSETID", "nokey", "1-1"), ("XINFO", "STREAM", "s"), ("XDEL", "s", "1-1", "2-1", "3-1", "4-1", "5-1"),
        ("XSETID", "s", "0-1"), ("XINFO", "STREAM", "s"),
    ])


# --- groups ---

def test_xgroup_subcommands(node, reference):
    both(node, reference, [
        ("XGROUP", "CREATE", "s", "g", "$"), ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"),
        ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), ("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "5"),
        ("XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "-2"),
        ("XGROUP", "CREATE", "s", "g3", "0", "FOO"), ("XGROUP", "CREATE", "s", "g3", "x"),
        ("XGROUP", "CREATE", "s", "g3", "-"), ("XGROUP", "SETID", "s", "nog", "0"),
        ("XGROUP", "SETID", "s", "g", "5-5"), ("XGROUP", "SETID", "s", "g", "-", "ENTRIESREAD", "3"),
        ("XGROUP", "SETID", "s", "g", "$", "MKSTREAM"), ("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "c1"), ("XGROUP", "CREATECONSUMER", "s", "g", "c1"),
        ("XGROUP", "CREATECONSUMER", "s", "nog", "c1"), ("XGROUP", "DELCONSUMER", "s", "g", "c1"),
        ("XGROUP", "DELCONSUMER", "s", "g", "c1"), ("XGROUP", "DESTROY", "s", "g2"),
        ("XGROUP", "DESTROY", "s", "g2"), ("XGROUP", "DESTROY", "nokey", "g"),
        ("XGROUP", "CREATE", "nokey", "g", "0"), ("XGROUP", "FOO", "s", "g"),
        ("XGROUP", "DESTROY", "s", "g", "x"), ("XGROUP", "HELP"), ("XGROUP", "CREATE", "s"),
        ("SET", "str", "1"), ("XGROUP", "CREATE", "str", "g", "0"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "c1", "x"),
    ])


def test_xreadgroup_xack_and_pending_summary(node, reference):
    both(node, reference, [
        *filled(10), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "1-1"),
        ("XPENDING", "s", "g"), ("XACK", "s", "g", "1-1", "4-1", "99-1"), ("XACK", "s", "g", "x"),
        ("XACK", "s", "nog", "1-1"), ("XACK", "nokey", "g", "1-1"), ("XPENDING", "s", "g"),
        ("XDEL", "s", "2-1"), ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "carol", "NOACK", "COUNT", "2", "STREAMS", "s", ">"),
        ("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "$"),
        ("XREADGROUP", "GROUP", "nog", "alice", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "nokey", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s"),
        ("XREADGROUP", "STREAMS", "s", ">"), ("XREADGROUP", "GROUP", "g", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "x", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "-1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "x"),
        ("XPENDING", "s", "nog"), ("XPENDING", "nokey", "g"), ("XPENDING", "s", "g", "-"),
        ("XPENDING", "s", "g", "-", "+", "x"), ("XPENDING", "s", "g", "IDLE", "5", "-", "+"),
        ("XPENDING", "s", "g", "x", "+", "1"), ("XPENDING", "s", "g", "(-", "+", "1"),
        ("SET", "str", "1"), ("XPENDING", "str", "g"), ("XACK", "str", "g", "1-1"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "str", ">"),
    ])


def test_xread(node, reference):
    both(node, reference, [
        *filled(5), *filled(3, "t", 10),
        ("XREAD", "STREAMS", "s", "0"), ("XREAD", "COUNT", "2", "STREAMS", "s", "t", "2", "0"),
        ("XREAD", "STREAMS", "s", "t", "$", "$"), ("XREAD", "STREAMS", "s", "t", "5-1", "11-0"),
        ("XREAD", "STREAMS", "nokey", "0"), ("XREAD", "STREAMS", "s", ">"),
        ("XREAD", "STREAMS", "s"), ("XREAD", "STREAMS", "s", "t", "0"), ("XREAD", "COUNT", "1"),
        ("XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"), ("XREAD", "NOACK", "STREAMS", "s", "0"),
        ("XREAD", "STREAMS", "s", "-"), ("XREAD", "STREAMS", "s", "x"),
        ("XREAD", "COUNT", "-5", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "x", "STREAMS", "s", "0"),
        ("XREAD", "FOO", "STREAMS", "s", "0"), ("XREAD", "COUNT", "1", "STREAMS", "s", "3"),
        ("SET", "str", "1"), ("XREAD", "STREAMS", "str", "0"), ("XREAD", "STREAMS", "s", "str", "0", "0"),
        ("XDEL", "s", "5-1"), ("XREAD", "STREAMS", "s", "4-1"), ("XREAD", "STREAMS", "s", "4"),
    ])


def test_xpending_extended_and_xclaim(node, reference):
    both(node, reference, [
        *filled(8), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "5", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "2-1", "JUSTID"),
        ("XCLAIM", "s", "g", "bob", "0", "3-1", "RETRYCOUNT", "7", "TIME", "1000"),
        ("XCLAIM", "s", "g", "carol", "0", "4-1", "IDLE", "500000000000000", "JUSTID"),
        ("XCLAIM", "s", "g", "carol", "3600000", "5-1"),
        ("XCLAIM", "s", "g", "carol", "0", "99-1", "FORCE"),
        ("XDEL", "s", "6-1"), ("XCLAIM", "s", "g", "carol", "0", "6-1", "7-1", "JUSTID"),
        ("XCLAIM", "s", "g", "dave", "0", "8-1", "9-1", "LASTID", "50-0", "JUSTID"),
        ("XADD", "s", "9-1", "f", "v"), ("XCLAIM", "s", "g", "dave", "0", "9-1", "FORCE", "JUSTID"),
        ("XCLAIM", "s", "g", "dave", "0", "1-1", "FOO"), ("XCLAIM", "s", "g", "dave", "x", "1-1"),
        ("XCLAIM", "s", "g", "dave", "0", "1-1", "IDLE", "x"), ("XCLAIM", "s", "g", "dave", "0", "1-1", "TIME", "x"),
        ("XCLAIM", "s", "g", "dave", "0", "1-1", "RETRYCOUNT", "x"),
        ("XCLAIM", "s", "g", "dave", "0", "1-1", "LASTID", "x"), ("XCLAIM", "s", "nog", "dave", "x", "1-1"),
        ("XCLAIM", "nokey", "g", "dave", "0", "1-1"), ("XCLAIM", "s", "g", "dave", "0", "1-1", "IDLE"),
        ("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s"),
        ("XPENDING", "s", "g", "-", "+", "0"),
        ("XPENDING", "s", "g", "-", "+", "10", "nobody"), ("XPENDING", "s", "g", "(1-1", "(9-1", "-3"),
    ])


def test_xautoclaim(node, reference):
    both(node, reference, [
        *filled(20), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XDEL", "s", "3-1", "4-1", "9-1"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "5"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "(7-1", "COUNT", "3", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "bob", "3600000", "0"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "0-0", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "0"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "x"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "0", "FOO"),
        ("XAUTOCLAIM", "s", "g", "carol", "x", "0"), ("XAUTOCLAIM", "s", "g", "carol", "0", "x"),
        ("XAUTOCLAIM", "s", "nog", "carol", "0", "0"), ("XAUTOCLAIM", "nokey", "g", "carol", "0", "0"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "(18446744073709551615-18446744073709551615"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "576460752303423487"),
        ("XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "576460752303423488"),
        ("XPENDING", "s", "g"),
    ])


def test_xinfo(node, reference):
    both(node, reference, [
        ("XINFO", "STREAM", "nokey"), ("XINFO", "HELP"), ("XINFO", "HELP", "x"),
        *filled(15), ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "h", "$"),
        ("XINFO", "STREAM", "s"), ("XINFO", "STREAM", "s", "FULL", "COUNT", "x"),
        ("XINFO", "STREAM", "s", "FOO"), ("XINFO", "STREAM", "s", "FULL", "FOO", "1"),
        ("XINFO", "STREAM", "s", "FULL", "COUNT"), ("XINFO", "GROUPS", "s"),
        ("XINFO", "CONSUMERS", "s", "nog"), ("XINFO", "CONSUMERS", "s", "g"),
        ("XINFO", "FOO", "s"), ("XINFO", "GROUPS", "nokey"), ("SET", "str", "1"),
        ("XINFO", "STREAM", "str"), ("XDEL", "s", "1-1", "7-1"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "h", "5-1"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "h", "0-0"), ("XINFO", "GROUPS", "s"),
        ("XREADGROUP", "GROUP", "g", "c", "NOACK", "COUNT", "3", "STREAMS", "s", ">"),
        ("XINFO", "GROUPS", "s"), ("XTRIM", "s", "MAXLEN", "2"), ("XINFO", "GROUPS", "s"),
        ("XINFO", "STREAM", "s"),
    ])


def test_xinfo_full_shape_with_times(node, reference):
    """XINFO STREAM FULL and XINFO CONSUMERS carry times: compared once they are masked."""
    script: list[Request] = [
        *filled(12), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "4", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "3", "STREAMS", "s", ">"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "zed"),
    ]
    results = []
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            for req in script:
                c.call(*req)
            results.append(_masked(c, ("XINFO", "STREAM", "s", "FULL", "COUNT", "2")))
            results.append(_masked(c, ("XINFO", "STREAM", "s", "FULL")))
            results.append(_masked(c, ("XINFO", "CONSUMERS", "s", "g")))
            results.append(_masked(c, ("XPENDING", "s", "g", "-", "+", "10")))
    assert results[:4] == results[4:]


def _masked(c: RawClient, req: Request) -> bytes:
    """The reply with every integer of 1e12 or more (a time in ms) and idle times masked."""
    import re
    reply = c.call(*req)
    reply = re.sub(rb":1\d{12}\r\n", b":T\r\n", reply)
    return re.sub(rb"(idle\r\n):\d+\r\n|\r\n:[0-9]{1,3}\r\n(?=:\d+\r\n)", rb"\1:I\r\n", reply)


# --- persistence of values ---

def test_dump_restore_both_ways(node, reference):
    script: list[Request] = [
        *filled(120), ("XADD", "s", "500-0", "other", "1", "x", "-12"), ("XDEL", "s", "5-1", "50-1"),
        ("XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "0"), ("XGROUP", "CREATE", "s", "h", "$"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"),
        ("XCLAIM", "s", "g", "bob", "0", "2-1", "TIME", "1700000000000", "RETRYCOUNT", "3"),
        ("XGROUP", "CREATECONSUMER", "s", "h", "idle-one"),
        ("XADD", "empty", "1-1", "a", "b"), ("XDEL", "empty", "1-1"),
    ]
    payloads = {}
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            for req in script:
                c.call(*req)
            payloads[server.port] = {key: c.call("DUMP", key) for key in ("s", "empty")}
    ours, theirs = payloads[node.port], payloads[reference.port]
    for key in ("s", "empty"):
        body_ours = ours[key].split(b"\r\n", 1)[1][:-2]
        body_theirs = theirs[key].split(b"\r\n", 1)[1][:-2]
        # Consumers' seen times differ (they are the servers' clocks): compare the entries.
        assert body_ours[:-10].split(b"\x01g")[0] == body_theirs[:-10].split(b"\x01g")[0]
    import redis
    from differential import retrailer
    r_ours, r_theirs = redis.Redis(port=node.port), redis.Redis(port=reference.port)
    dumped_ours, dumped_theirs = r_ours.dump("s"), r_theirs.dump("s")
    assert dumped_ours is not None and dumped_theirs is not None
    r_theirs.restore("from-ours", 0, retrailer(dumped_ours, 10))
    r_ours.restore("from-theirs", 0, dumped_theirs)
    for r in (r_ours, r_theirs):
        assert r.xrange("s") == r.xrange("from-ours" if r is r_theirs else "from-theirs")
    full_theirs = r_theirs.xinfo_stream("from-ours", full=True)
    full_ours = r_ours.xinfo_stream("s", full=True)
    assert full_theirs == full_ours
    assert r_ours.xinfo_stream("from-theirs", full=True) == r_theirs.xinfo_stream("s", full=True)
    assert r_ours.dump("from-theirs")[:-10] == dumped_theirs[:-10]
    assert r_ours.memory_usage("from-theirs", samples=0) == \
        r_theirs.memory_usage("from-ours", samples=0)
    assert r_ours.type("s") == b"stream"
    assert r_ours.object("encoding", "s") == b"stream"
    assert r_ours.memory_usage("s") > 0
    assert r_ours.copy("s", "c")
    assert r_ours.xinfo_stream("c", full=True) == full_ours
    assert r_ours.execute_command("DEBUG", "DIGEST-VALUE", "s") == \
        r_theirs.execute_command("DEBUG", "DIGEST-VALUE", "s")


def test_type_object_and_digest(node, reference):
    both(node, reference, [
        *filled(3), ("TYPE", "s"), ("OBJECT", "ENCODING", "s"), ("DEBUG", "DIGEST-VALUE", "s"),
        ("COPY", "s", "t"), ("XRANGE", "t", "-", "+"), ("DEBUG", "DIGEST-VALUE", "t"),
        ("XGROUP", "CREATE", "s", "g", "0"), ("COPY", "s", "u"), ("XINFO", "GROUPS", "u"),
    ])


# --- persistence ---

def test_streams_survive_save_and_restart(tmp_path):
    proc = start_node("--dir", str(tmp_path), "--appendonly", "no")
    try:
        with RawClient(proc.port) as c:
            for req in filled(150):
                c.call(*req)
            c.call("XGROUP", "CREATE", "s", "g", "0")
            c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
            c.call("XDEL", "s", "2-1")
            before = c.call("XINFO", "STREAM", "s", "FULL")
            assert c.call("SAVE") == b"+OK\r\n"
    finally:
        proc.stop()
    again = start_node("--dir", str(tmp_path), "--appendonly", "no")
    try:
        with RawClient(again.port) as c:
            assert c.call("XINFO", "STREAM", "s", "FULL") == before
    finally:
        again.stop()
    check = __import__("subprocess").run(["redis-check-rdb", str(tmp_path / "dump.rdb")],
                                         capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_redis_rdb_with_streams_loads_in_redslot(tmp_path):
    theirs = start_redis_server("--dir", str(tmp_path))
    try:
        with RawClient(theirs.port) as c:
            for req in filled(130):
                c.call(*req)
            c.call("XGROUP", "CREATE", "s", "g", "0")
            c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
            c.call("XDEL", "s", "2-1")
            expected = c.call("XINFO", "STREAM", "s", "FULL")
            c.call("SAVE")
    finally:
        theirs.stop()
    ours = start_node("--dir", str(tmp_path))
    try:
        with RawClient(ours.port) as c:
            assert c.call("XINFO", "STREAM", "s", "FULL") == expected
    finally:
        ours.stop()


def test_idle_time_counts_from_delivery(r):
    r.xadd("s", {"f": "v"}, id="1-1")
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "alice", {"s": ">"})
    time.sleep(0.05)
    pending = r.xpending_range("s", "g", "-", "+", 10)
    assert pending[0]["time_since_delivered"] >= 40
    assert r.xinfo_consumers("s", "g")[0]["idle"] >= 40


def test_migrate_moves_a_stream_with_its_groups(node):
    target = start_node()
    try:
        with RawClient(node.port) as c, RawClient(target.port) as t:
            c.call("FLUSHALL")
            for req in filled(250):
                c.call(*req)
            c.call("XGROUP", "CREATE", "s", "g", "0")
            c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "7", "STREAMS", "s", ">")
            before = c.call("XINFO", "STREAM", "s", "FULL")
            assert c.call("MIGRATE", "127.0.0.1", str(target.port), "s", "0", "5000") == b"+OK\r\n"
            assert c.call("EXISTS", "s") == b":0\r\n"
            assert t.call("XINFO", "STREAM", "s", "FULL") == before
    finally:
        target.stop()


def test_memory_usage_matches_redis(node, reference):
    big = "x" * 300
    both(node, reference, [
        *filled(1), ("MEMORY", "USAGE", "s"), *filled(130, start=2), ("MEMORY", "USAGE", "s"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "0"), ("MEMORY", "USAGE", "s", "SAMPLES", "1"),
        ("XDEL", "s", "5-1", "120-1", "131-1"), ("MEMORY", "USAGE", "s", "SAMPLES", "0"),
        ("XTRIM", "s", "MAXLEN", "100"), ("MEMORY", "USAGE", "s", "SAMPLES", "0"),
        ("XTRIM", "s", "MINID", "~", "50"), ("MEMORY", "USAGE", "s", "SAMPLES", "0"),
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "h", "$"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "7", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "3", "STREAMS", "s", ">"),
        ("XACK", "s", "g", "40-1"), ("XGROUP", "CREATECONSUMER", "s", "h", "carol"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "0"), ("MEMORY", "USAGE", "s"),
        *[("XADD", "b", f"{i}-0", "f", big, "g", str(i)) for i in range(1, 40)],
        ("XADD", "b", "50-0", "other", "1"), ("MEMORY", "USAGE", "b", "SAMPLES", "0"),
        ("XDEL", "b", *[f"{i}-0" for i in range(1, 30)]), ("MEMORY", "USAGE", "b", "SAMPLES", "0"),
        ("COPY", "b", "c"), ("MEMORY", "USAGE", "c", "SAMPLES", "0"),
        ("CONFIG", "SET", "stream-node-max-bytes", "300"), *filled(20, "small"),
        ("MEMORY", "USAGE", "small", "SAMPLES", "0"),
        ("CONFIG", "SET", "stream-node-max-bytes", "4096"),
    ])
