"""Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP) against Debian's redis-server:
replies, error texts, growth of the string and its encoding and memory afterwards, RESP2
and RESP3, DUMP/RESTORE both ways, and a read-only replica.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from differential import assert_same, assert_same_resp3, retrailer
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient

LLONG_MAX = 2**63 - 1
SYNC_TIMEOUT = 20.0
ONE_MB = 1024 * 1024


def both(node: ServerProcess, reference: ServerProcess, script: list) -> None:
    assert_same(node, reference, script)
    assert_same_resp3(node, reference, script)


# --- SETBIT and GETBIT ---

def test_setbit_creates_grows_and_returns_the_old_bit(node, reference):
    both(node, reference, [
        ("SETBIT", "k", "7", "1"), ("GET", "k"), ("SETBIT", "k", "7", "1"), ("SETBIT", "k", "7", "0"),
        ("GET", "k"), ("SETBIT", "k", "100", "1"), ("STRLEN", "k"), ("GET", "k"),
        ("GETBIT", "k", "100"), ("GETBIT", "k", "99"), ("GETBIT", "k", "101"),
        ("GETBIT", "k", "4000000000"), ("GETBIT", "missing", "3"), ("SETBIT", "k", "0", "0"),
        ("SETBIT", "k", "1", "1"), ("GET", "k"),
    ])


def test_setbit_and_getbit_argument_errors(node, reference):
    both(node, reference, [
        ("SETBIT", "k", "-1", "1"), ("SETBIT", "k", "x", "1"), ("SETBIT", "k", "1.0", "1"),
        ("SETBIT", "k", "", "1"), ("SETBIT", "k", "+1", "1"), ("SETBIT", "k", "01", "1"),
        ("SETBIT", "k", str(LLONG_MAX), "1"), ("SETBIT", "k", str(LLONG_MAX + 1), "1"),
        ("SETBIT", "k", "4294967296", "1"), ("SETBIT", "k", "1", "2"), ("SETBIT", "k", "1", "-1"),
        ("SETBIT", "k", "1", "x"), ("SETBIT", "k", "1", ""), ("SETBIT", "k", "1", " 1"),
        ("SETBIT", "k", "-1", "x"), ("GETBIT", "k", "-1"), ("GETBIT", "k", "4294967296"),
        ("GETBIT", "k", "abc"), ("EXISTS", "k"), ("SETBIT", "k", "1"), ("GETBIT", "k"),
        ("GETBIT", "k", "1", "2"), ("SETBIT", "k", "1", "1", "1"),
    ])


def test_bit_offsets_are_limited_by_proto_max_bulk_len(node, reference):
    limit = str(8 * ONE_MB)
    script = [
        ("CONFIG", "SET", "proto-max-bulk-len", "1mb"), ("SETBIT", "k", limit, "1"),
        ("GETBIT", "k", limit), ("SETBIT", "k", str(8 * ONE_MB - 1), "1"), ("STRLEN", "k"),
        ("BITFIELD", "k", "GET", "u8", limit), ("BITFIELD", "k", "SET", "u8", str(8 * ONE_MB - 1), "1"),
        ("STRLEN", "k"), ("BITFIELD", "k", "GET", "u8", "#1048576"), ("BITFIELD", "k", "GET", "u8", "#1048575"),
        ("CONFIG", "SET", "proto-max-bulk-len", "512mb"),
    ]
    try:
        assert_same(node, reference, script)
    finally:
        for server in (node, reference):
            with RawClient(server.port) as c:
                c.call("CONFIG", "SET", "proto-max-bulk-len", "512mb")


@pytest.mark.parametrize("start", [
    ("SET", "k", "12345"), ("SET", "k", "hello"), ("SET", "k", "x" * 44), ("SET", "k", "y" * 45),
    ("SET", "k", "z" * 300), ("APPEND", "k", "abc"), ("SETRANGE", "k", "10", "abc"),
    ("INCRBYFLOAT", "k", "1.5"), ("SET", "k", "7"), ("SET", "k", ""),
])
def test_encoding_and_memory_after_bit_writes_match_redis(node, reference, start):
    """dbUnshareStringValue makes a raw sds even when no bit changes; sdsgrowzero grows it
    greedily."""
    script = [start]
    for offset, bit in (("0", "0"), ("1", "1"), ("50", "1"), ("400", "0"), ("3000", "1"),
                        ("3001", "1"), ("100000", "1")):
        script += [("SETBIT", "k", offset, bit), ("OBJECT", "ENCODING", "k"), ("MEMORY", "USAGE", "k"),
                   ("STRLEN", "k")]
    script += [("BITFIELD", "k", "SET", "u8", "900000", "255"), ("MEMORY", "USAGE", "k"),
               ("APPEND", "k", "tail"), ("MEMORY", "USAGE", "k"), ("GET", "k")]
    assert_same(node, reference, script)


def test_encoding_and_memory_after_bitfield_and_bitop_match_redis(node, reference):
    assert_same(node, reference, [
        ("BITFIELD", "f", "SET", "u8", "0", "65"), ("OBJECT", "ENCODING", "f"), ("MEMORY", "USAGE", "f"),
        ("SET", "g", "12"), ("BITFIELD", "g", "GET", "u8", "0"), ("OBJECT", "ENCODING", "g"),
        ("BITFIELD", "g", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"), ("OBJECT", "ENCODING", "g"),
        ("MEMORY", "USAGE", "g"), ("BITFIELD", "g", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "9"),
        ("MEMORY", "USAGE", "g"), ("GET", "g"),
        ("SET", "a", "ab"), ("BITOP", "OR", "d", "a"), ("OBJECT", "ENCODING", "d"), ("MEMORY", "USAGE", "d"),
        ("SET", "b", "x" * 100), ("BITOP", "XOR", "d", "a", "b"), ("MEMORY", "USAGE", "d"),
        ("SET", "n", "123"), ("BITOP", "AND", "d", "n", "n"), ("OBJECT", "ENCODING", "d"), ("GET", "d"),
    ])


def test_bit_writes_keep_the_ttl(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v", "EX", "1000"), ("SETBIT", "k", "100", "1"), ("TTL", "k"),
        ("BITFIELD", "k", "SET", "u8", "1000", "1"), ("TTL", "k"), ("SET", "t", "v", "EX", "1000"),
        ("BITOP", "NOT", "t", "k"), ("TTL", "t"),
    ])


def test_bit_commands_refuse_other_types(node, reference):
    both(node, reference, [
        ("RPUSH", "l", "a"), ("SETBIT", "l", "1", "1"), ("GETBIT", "l", "1"), ("BITCOUNT", "l"),
        ("BITCOUNT", "l", "x", "y"), ("BITPOS", "l", "1"), ("BITPOS", "l", "2"), ("SET", "s", "abc"),
        ("BITOP", "AND", "d", "s", "l"), ("BITOP", "AND", "d", "l", "missing"), ("EXISTS", "d"),
        ("BITOP", "OR", "l", "s"), ("LRANGE", "l", "0", "-1"), ("GET", "l"),
        ("BITFIELD", "l", "GET", "u8", "0"), ("BITFIELD", "l", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "l", "GET", "u8", "0"), ("BITFIELD", "l"), ("BITFIELD", "l", "GET", "u8", "x"),
        ("SETBIT", "l", "-1", "1"),
    ])


# --- BITCOUNT ---

RANGES = [
    ("0", "-1"), ("0", "0"), ("1", "1"), ("-1", "-1"), ("-2", "-1"), ("-1", "-2"), ("-100", "-1"),
    ("-100", "100"), ("0", "100"), ("5", "2"), ("2", "5"), ("100", "200"), ("-5", "-10"),
    ("0", "7"), ("1", "6"), ("3", "3"), ("7", "8"), ("9", "22"), ("-7", "-3"), ("-30", "-20"),
    ("-9223372036854775808", "9223372036854775807"), ("0", "-9223372036854775808"),
]


@pytest.mark.parametrize("value", [b"", b"\xff", b"foobar", b"\x00\x81\xff\x7e\x01", b"12345",
                                   bytes(range(256))])
def test_bitcount_ranges_in_bytes_and_bits(node, reference, value):
    script: list = [("SET", "k", value), ("BITCOUNT", "k")]
    for start, end in RANGES:
        script += [("BITCOUNT", "k", start, end), ("BITCOUNT", "k", start, end, "BYTE"),
                   ("BITCOUNT", "k", start, end, "bit")]
    both(node, reference, script)


def test_bitcount_argument_errors_and_missing_keys(node, reference):
    both(node, reference, [
        ("BITCOUNT", "missing", "x", "y"), ("BITCOUNT", "missing", "0"), ("SET", "k", "foobar"),
        ("BITCOUNT", "k", "0"), ("BITCOUNT", "k", "x", "1"), ("BITCOUNT", "k", "1", "x"),
        ("BITCOUNT", "k", "0", "1", "WORD"), ("BITCOUNT", "k", "-1", "-5", "WORD"),
        ("BITCOUNT", "k", "0", "1", "BIT", "x"), ("BITCOUNT", "k", "0", "1", b"bit\x00x"),
        ("BITCOUNT", "k", "1.5", "2"), ("BITCOUNT", "k", "9223372036854775808", "1"), ("BITCOUNT",),
    ])


# --- BITPOS ---

@pytest.mark.parametrize("value", [b"", b"\x00", b"\xff", b"\xff\xf0\x00", b"\x00\x00\x01",
                                   b"\xff\xff\xff", b"\x00\x00\x00", b"foobar", b"\x0f\xff\x00\xf0"])
def test_bitpos_ranges_in_bytes_and_bits(node, reference, value):
    script: list = [("SET", "k", value), ("BITPOS", "k", "0"), ("BITPOS", "k", "1")]
    for bit in ("0", "1"):
        for start, _ in RANGES:
            script.append(("BITPOS", "k", bit, start))
        for start, end in RANGES:
            script += [("BITPOS", "k", bit, start, end), ("BITPOS", "k", bit, start, end, "byte"),
                       ("BITPOS", "k", bit, start, end, "BIT")]
    both(node, reference, script)


def test_bitpos_argument_errors_and_missing_keys(node, reference):
    both(node, reference, [
        ("BITPOS", "missing", "0"), ("BITPOS", "missing", "1"), ("BITPOS", "missing", "1", "x"),
        ("BITPOS", "missing", "2"), ("BITPOS", "missing", "x"), ("BITPOS", "missing", "-1"),
        ("SET", "k", "\x00\xff"), ("BITPOS", "k", "1", "x"), ("BITPOS", "k", "1", "0", "x"),
        ("BITPOS", "k", "1", "0", "1", "WORD"), ("BITPOS", "k", "1", "x", "1", "WORD"),
        ("BITPOS", "k", "1", "0", "x", "WORD"), ("BITPOS", "k", "1", "0", "1", "BIT", "x"),
        ("BITPOS", "k", "01"), ("BITPOS", "k", "1", "0", "1", b"BIT\x00"), ("BITPOS", "k"),
    ])


def test_bitpos_on_a_large_string_finds_bits_far_in(node, reference):
    size = 3 * 65536 + 5
    script: list = [("SETBIT", "k", str(size * 8 - 1), "0"), ("BITPOS", "k", "1"), ("BITPOS", "k", "0")]
    for offset in ("0", "65535", "524287", "524288", str(2 * 65536 * 8 + 3), str(size * 8 - 2)):
        script += [("SETBIT", "k", offset, "1"), ("BITPOS", "k", "1"), ("BITPOS", "k", "1", "1"),
                   ("BITPOS", "k", "1", "-3"), ("BITPOS", "k", "1", "8", "-1", "BIT"),
                   ("BITPOS", "k", "1", "65536"), ("BITPOS", "k", "1", "9", "-2", "bit")]
    script += [("BITOP", "NOT", "n", "k"), ("BITPOS", "n", "0"), ("BITPOS", "n", "0", "65536"),
               ("BITPOS", "n", "0", "100", "200000"), ("BITPOS", "n", "1", "-2"), ("BITCOUNT", "n"),
               ("BITCOUNT", "n", "7", "-9", "BIT")]
    assert_same(node, reference, script)


# --- BITOP ---

def test_bitop_of_strings_of_different_lengths(node, reference):
    script: list = [("SET", "a", "foobar"), ("SET", "b", "abcdef\xff\x01"), ("SET", "c", "x" * 70),
                    ("SET", "n", "-12"), ("SET", "e", "")]
    for op in ("AND", "OR", "XOR"):
        for keys in (("a", "b"), ("b", "a"), ("a", "b", "c"), ("c", "missing"), ("missing", "c"),
                     ("a",), ("n", "a"), ("e", "a"), ("a", "a", "a", "a")):
            script += [("BITOP", op, "dest", *keys), ("GET", "dest"), ("STRLEN", "dest")]
    for key in ("a", "b", "c", "n", "e", "missing"):
        script += [("BITOP", "NOT", "dest", key), ("GET", "dest"), ("EXISTS", "dest")]
    both(node, reference, script)


def test_bitop_of_many_and_long_sources(node, reference):
    keys = [f"{{t}}{i}" for i in range(20)]
    script: list = [("SET", key, bytes((i * 37 + j) % 256 for j in range(40 + 13 * i))) for i, key in
                    enumerate(keys)]
    for op in ("AND", "OR", "XOR"):
        script += [("BITOP", op, "d", *keys), ("GET", "d"), ("BITOP", op, "d", *keys[:16]), ("GET", "d"),
                   ("BITOP", op, "d", *keys[3:5]), ("GET", "d")]
    assert_same(node, reference, script)


def test_bitop_with_an_empty_result_deletes_the_target(node, reference):
    both(node, reference, [
        ("SET", "d", "old"), ("BITOP", "AND", "d", "missing", "other"), ("EXISTS", "d"),
        ("BITOP", "OR", "d", "missing"), ("SET", "e", ""), ("SET", "d", "old"),
        ("BITOP", "XOR", "d", "e", "missing"), ("EXISTS", "d"), ("RPUSH", "d", "x"),
        ("BITOP", "NOT", "d", "e"), ("TYPE", "d"), ("BITOP", "NOT", "d", "missing"),
    ])


def test_bitop_overwrites_a_target_of_another_type_and_may_read_it_first(node, reference):
    both(node, reference, [
        ("RPUSH", "d", "x"), ("SET", "a", "ab"), ("BITOP", "OR", "d", "a"), ("TYPE", "d"), ("GET", "d"),
        ("BITOP", "XOR", "a", "a", "d"), ("GET", "a"), ("BITOP", "NOT", "a", "a"), ("GET", "a"),
    ])


def test_bitop_argument_errors(node, reference):
    both(node, reference, [
        ("SET", "a", "x"), ("BITOP", "NAND", "d", "a"), ("BITOP", "NOT", "d", "a", "a"),
        ("BITOP", "not", "d"), ("BITOP", "", "d", "a"), ("BITOP", b"and\x00x", "d", "a"), ("GET", "d"),
        ("BITOP", "AND", "d"), ("BITOP", "x", "d", "missing"), ("BITOP", "ANDX", "d", "a"),
    ])


# --- DUMP / RESTORE of bitmaps ---

BITMAPS = [
    [("SETBIT", "k", "7", "1")],
    [("SETBIT", "k", "200", "1")],
    [("SETBIT", "k", "90000", "1"), ("SETBIT", "k", "3", "1")],
    [("SET", "k", "12"), ("SETBIT", "k", "7", "0")],
    [("SET", "k", "12"), ("SETBIT", "k", "6", "0")],
    [("BITFIELD", "k", "SET", "i64", "#3", "-5", "SET", "u7", "1000", "99")],
    [("SET", "a", "foo"), ("BITOP", "NOT", "k", "a")],
]


@pytest.fixture
def clients(node, reference) -> Iterator[list[redis.Redis]]:
    pair = [redis.Redis(port=s.port, socket_timeout=30) for s in (node, reference)]
    for client in pair:
        client.flushall()
    yield pair
    for client in pair:
        client.close()


@pytest.mark.parametrize("writes", BITMAPS)
def test_bitmap_dumps_match_redis_and_restore_both_ways(clients, writes):
    ours, theirs = clients
    for client in clients:
        for request in writes:
            client.execute_command(*request)
    mine, ref = ours.dump("k"), theirs.dump("k")
    assert mine[:-10] == ref[:-10]
    value = theirs.get("k")
    ours.restore("r", 0, ref)
    theirs.restore("r", 0, retrailer(mine, 10))
    assert ours.get("r") == theirs.get("r") == value
    for client in clients:
        client.setbit("r", 3, 1)
    assert ours.get("r") == theirs.get("r")
    assert ours.memory_usage("r") == theirs.memory_usage("r")


# --- replicas, WATCH and speed ---

def test_a_read_only_replica_refuses_bitfield_even_with_only_gets(node, reference):
    """BITFIELD is a write command (its flags), so a read-only replica answers -READONLY
    whatever its subcommands; BITFIELD_RO is the read-only form."""
    with RawClient(reference.port) as c:
        c.call("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    replicas = [start_node("--replicaof", "127.0.0.1", str(node.port)),
                start_redis_server("--replicaof", "127.0.0.1", str(reference.port))]
    try:
        # The replicas may first load a snapshot of an earlier test's data (a "k" with bit
        # 3 set among others): they have this test's writes once they show the marker
        # written after them (one replication stream, in order).
        for server in (node, reference):
            with RawClient(server.port) as c:
                c.call("FLUSHALL")
                c.call("SETBIT", "k", "3", "1")
                c.call("SET", "synced", "bitfield-ro")
        for replica in replicas:
            deadline = time.monotonic() + SYNC_TIMEOUT
            with RawClient(replica.port) as c:
                while c.call("GET", "synced") != b"$11\r\nbitfield-ro\r\n":
                    assert time.monotonic() < deadline, "the replica did not sync"
                    time.sleep(0.1)
        script = [("BITFIELD", "k", "GET", "u8", "0"), ("BITFIELD_RO", "k", "GET", "u8", "0"),
                  ("BITFIELD", "k", "SET", "u8", "0", "1"), ("SETBIT", "k", "1", "1"),
                  ("BITFIELD_RO", "k", "INCRBY", "u8", "0", "1"), ("GETBIT", "k", "3"),
                  ("BITCOUNT", "k"), ("BITPOS", "k", "1")]
        out = []
        for replica in replicas:
            with RawClient(replica.port) as c:
                out.append([c.call(*request) for request in script])
        assert out[0] == out[1]
    finally:
        for replica in replicas:
            replica.stop()


def test_setbit_that_changes_nothing_leaves_a_watch_alone(node, reference):
    for server in (node, reference):
        with RawClient(server.port) as c, RawClient(server.port) as other:
            c.call("FLUSHALL")
            c.call("SETBIT", "k", "5", "1")
            c.call("WATCH", "k")
            assert other.call("SETBIT", "k", "5", "1") == b":1\r\n"
            assert other.call("BITFIELD", "k", "SET", "u1", "5", "1") == b"*1\r\n:1\r\n"
            c.call("MULTI")
            c.call("GET", "k")
            assert c.call("EXEC") == b"*1\r\n$1\r\n\x04\r\n"
            c.call("WATCH", "k")
            other.call("SETBIT", "k", "5", "0")
            c.call("MULTI")
            c.call("GET", "k")
            assert c.call("EXEC") == b"*-1\r\n"


def test_bitcount_and_bitpos_of_a_megabyte_are_fast(node):
    with RawClient(node.port) as c:
        c.call("SETBIT", "big", str(8 * ONE_MB - 1), "1")
        c.call("BITOP", "NOT", "ones", "big")
        begin = time.monotonic()
        for _ in range(20):
            assert c.call("BITCOUNT", "big") == b":1\r\n"
            assert c.call("BITPOS", "big", "1") == b":%d\r\n" % (8 * ONE_MB - 1)
            assert c.call("BITPOS", "ones", "0", "0", "-1") == b":%d\r\n" % (8 * ONE_MB - 1)
            assert c.call("BITCOUNT", "ones", "1", "-1", "BIT") == b":%d\r\n" % (8 * ONE_MB - 2)
        assert time.monotonic() - begin < 5.0


def test_reads_and_writes_count_keyspace_hits_and_misses_as_redis(node, reference):
    """Reads (GETBIT, BITCOUNT, BITPOS, BITOP's sources, BITFIELD with only GETs) count a
    hit or a miss; writes (SETBIT, BITFIELD with a SET or INCRBY) count neither."""
    script = [
        ("SETBIT", "a", "1", "1"), ("GETBIT", "a", "1"), ("GETBIT", "missing", "1"),
        ("BITCOUNT", "a"), ("BITCOUNT", "missing"), ("BITPOS", "a", "1"), ("BITPOS", "missing", "1"),
        ("BITOP", "OR", "d", "a", "missing", "a"), ("BITFIELD", "a", "GET", "u8", "0"),
        ("BITFIELD", "missing", "GET", "u8", "0"), ("BITFIELD", "a", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "a", "GET", "u8", "0"), ("BITFIELD_RO", "nope", "GET", "u8", "0"),
        ("GETBIT", "a", "x"), ("BITPOS", "a", "3"),
    ]
    stats = []
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            c.call("CONFIG", "RESETSTAT")
            for request in script:
                c.call(*request)
        info = redis.Redis(port=server.port).info("stats")
        stats.append((info["keyspace_hits"], info["keyspace_misses"]))
    assert stats[0] == stats[1]
