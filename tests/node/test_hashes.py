"""Hash commands against Debian's redis-server 7.0.15: replies, errors, encodings, DUMP.

Listpack-encoded hashes keep insertion order in both servers, so their replies are compared
byte for byte. Hashtable-encoded hashes answer in Redis's dict order (seeded at random per
process), so their replies are compared as sets of fields/pairs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import redis
from differential import Request, assert_same, assert_same_resp3, retrailer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient

LLONG_MAX = 2**63 - 1


@pytest.fixture(scope="module")
def small_limits() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Both servers with tiny listpack limits (4 entries, 8-byte values)."""
    args = ("--hash-max-listpack-entries", "4", "--hash-max-listpack-value", "8")
    ours, theirs = start_node(*args), start_redis_server(*args)
    yield ours, theirs
    ours.stop()
    theirs.stop()


BIG = [x for i in range(600) for x in (f"f{i}", f"v{i}")]


# --- setting and reading ---

def test_hset_hget_hmget_match_redis(node, reference):
    assert_same(node, reference, [
        ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "3", "c", "4", "a", "5"),
        ("HGET", "h", "a"), ("HGET", "h", "zz"), ("HGET", "nokey", "a"),
        ("HMGET", "h", "a", "zz", "b"), ("HMGET", "nokey", "a", "b"),
        ("HSET", "bin", b"\x00\r\n", b"\xff"), ("HGET", "bin", b"\x00\r\n"),
        ("HSET", "e", "", ""), ("HGET", "e", ""), ("HGETALL", "h"),
    ])


def test_hset_and_hmset_arity_errors(node, reference):
    assert_same(node, reference, [
        ("HSET", "h", "a"), ("HSET", "h", "a", "1", "b"), ("HMSET", "h", "a", "1", "b"),
        ("HMSET", "h", "a"), ("hset", "h"), ("HGET", "h"), ("HMGET", "h"),
        ("HMSET", "h", "a", "1"), ("HGETALL", "h"), ("EXISTS", "h"),
    ])


def test_hsetnx_sets_only_new_fields(node, reference):
    assert_same(node, reference, [
        ("HSETNX", "h", "a", "1"), ("HSETNX", "h", "a", "2"), ("HSETNX", "h", "b", "3"),
        ("HGETALL", "h"), ("HSETNX", "h", "a"),
    ])


def test_hdel_counts_and_deletes_the_emptied_key(node, reference):
    assert_same(node, reference, [
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HDEL", "h", "a", "a", "zz"),
        ("HDEL", "nokey", "a"), ("HGETALL", "h"), ("HDEL", "h", "b", "c", "d"),
        ("EXISTS", "h"), ("TYPE", "h"), ("HDEL", "h"),
    ])


def test_hlen_hstrlen_hexists_match_redis(node, reference):
    assert_same(node, reference, [
        ("HSET", "h", "a", "hello", "n", "-123", "big", "12345678901234567890"),
        ("HLEN", "h"), ("HLEN", "nokey"), ("HSTRLEN", "h", "a"), ("HSTRLEN", "h", "n"),
        ("HSTRLEN", "h", "big"), ("HSTRLEN", "h", "zz"), ("HSTRLEN", "nokey", "a"),
        ("HEXISTS", "h", "a"), ("HEXISTS", "h", "zz"), ("HEXISTS", "nokey", "a"),
    ])


def test_hgetall_hkeys_hvals_keep_insertion_order(node, reference):
    assert_same(node, reference, [
        ("HSET", "h", "z", "1", "a", "2", "m", "3"), ("HSET", "h", "a", "9"),
        ("HDEL", "h", "z"), ("HSET", "h", "z", "0"),
        ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"),
        ("HGETALL", "nokey"), ("HKEYS", "nokey"), ("HVALS", "nokey"),
    ])


def test_resp3_replies_match_redis(node, reference):
    assert_same_resp3(node, reference, [
        ("HSET", "h", "a", "1", "b", "2"), ("HGETALL", "h"), ("HGETALL", "nokey"),
        ("HGET", "nokey", "a"), ("HMGET", "h", "a", "x"), ("HKEYS", "h"), ("HEXISTS", "h", "a"),
        ("HRANDFIELD", "h", "5", "WITHVALUES"), ("HRANDFIELD", "h", "5"),
        ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "3", "WITHVALUES"),
        ("HINCRBYFLOAT", "h", "a", "0.5"), ("HSCAN", "h", "0"), ("HSCAN", "nokey", "0"),
    ])


def test_wrongtype_on_every_command(node, reference):
    script: list[Request] = [("SET", "s", "x")]
    for req in [("HSET", "s", "a", "1"), ("HMSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"),
                ("HGET", "s", "a"), ("HMGET", "s", "a"), ("HDEL", "s", "a"), ("HLEN", "s"),
                ("HSTRLEN", "s", "a"), ("HEXISTS", "s", "a"), ("HGETALL", "s"),
                ("HKEYS", "s"), ("HVALS", "s"), ("HINCRBY", "s", "a", "1"),
                ("HINCRBYFLOAT", "s", "a", "1"), ("HRANDFIELD", "s"),
                ("HRANDFIELD", "s", "2"), ("HSCAN", "s", "0")]:
        script.append(req)
    script += [("HSET", "h", "a", "1"), ("GET", "h"), ("APPEND", "h", "x"), ("TYPE", "h")]
    assert_same(node, reference, script)


STRING_READS_AND_WRITES: list[Request] = [
    ("GET", "v"), ("MGET", "v", "nokey"), ("STRLEN", "v"), ("GETRANGE", "v", "0", "1"),
    ("SETRANGE", "v", "0", "x"), ("APPEND", "v", "x"), ("INCR", "v"), ("GETDEL", "v"),
    ("SETBIT", "v", "1", "1"), ("GETBIT", "v", "1"), ("BITCOUNT", "v"), ("PFADD", "v", "a"),
    ("PFCOUNT", "v"), ("LCS", "v", "v"), ("RPUSH", "l", "1"), ("SORT", "l", "BY", "nosort", "GET", "v"),
]
"""String commands on a key ``v`` holding another type (a bytes subclass when small)."""


def test_string_commands_refuse_a_listpack_hash(node, reference):
    assert_same(node, reference, [("HSET", "v", "a", "1"), *STRING_READS_AND_WRITES,
                                  ("HGETALL", "v")])


# --- counters ---

def test_hincrby_matches_redis(node, reference):
    assert_same(node, reference, [
        ("HINCRBY", "h", "n", "5"), ("HINCRBY", "h", "n", "-8"), ("HINCRBY", "new", "x", "0"),
        ("HINCRBY", "h", "n", "x"), ("HINCRBY", "h", "n", "1.5"),
        ("HINCRBY", "h", "n", "9223372036854775808"),
        ("HSET", "h", "s", "abc", "sp", " 1", "z", "007"), ("HINCRBY", "h", "s", "1"),
        ("HINCRBY", "h", "sp", "1"), ("HINCRBY", "h", "z", "1"),
        ("HSET", "h", "m", str(LLONG_MAX)), ("HINCRBY", "h", "m", "1"),
        ("HINCRBY", "h", "m", "-1"), ("HSET", "h", "l", str(-LLONG_MAX - 1)),
        ("HINCRBY", "h", "l", "-1"), ("HINCRBY", "nokey2", "a", "x"), ("EXISTS", "nokey2"),
        ("HGETALL", "h"),
    ])


def test_hincrbyfloat_matches_redis(node, reference):
    assert_same(node, reference, [
        ("HINCRBYFLOAT", "h", "f", "10.5"), ("HINCRBYFLOAT", "h", "f", "0.1"),
        ("HINCRBYFLOAT", "h", "f", "-5.0e3"), ("HINCRBYFLOAT", "h", "f", "abc"),
        ("HINCRBYFLOAT", "h", "f", "inf"), ("HINCRBYFLOAT", "h", "f", "-inf"),
        ("HINCRBYFLOAT", "h", "f", "nan"), ("HINCRBYFLOAT", "l", "f", "1e400"),
        ("HINCRBYFLOAT", "l", "f", "-1e300"), ("HGET", "l", "f"), ("OBJECT", "ENCODING", "l"),
        ("HSET", "h", "s", "abc", "i", "inf", "n", "3"), ("HINCRBYFLOAT", "h", "s", "1"),
        ("HINCRBYFLOAT", "h", "i", "1"), ("HINCRBYFLOAT", "h", "n", "0.25"),
        ("HINCRBYFLOAT", "h", "z", "3.0"), ("HINCRBYFLOAT", "h", "x", "0x10"),
        ("HINCRBYFLOAT", "h", "y", "1.23456789012345678901234"), ("HGETALL", "h"),
        ("HINCRBYFLOAT", "h", "f", ""), ("HINCRBYFLOAT", "h", "f", " 1"),
    ])


# --- HRANDFIELD ---

def test_hrandfield_deterministic_cases_match_redis(node, reference):
    for hello in ("2", "3"):
        script: list[Request] = [
            ("HELLO", hello), ("HSET", "h", "a", "1", "b", "2", "c", "3"),
            ("HRANDFIELD", "h", "3"), ("HRANDFIELD", "h", "10", "WITHVALUES"),
            ("HRANDFIELD", "h", "0"), ("HRANDFIELD", "h", "0", "WITHVALUES"),
            ("HRANDFIELD", "h", "-0"), ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "-5"),
            ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", "1", "WITHVALUE"),
            ("HRANDFIELD", "h", "1", "WITHVALUES", "x"),
            ("HRANDFIELD", "h", "-9223372036854775808"),
            ("HRANDFIELD", "h", "9223372036854775808"),
            ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
            ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
            ("HRANDFIELD", "nokey", "x"), ("HRANDFIELD", "nokey", "1", "bad"),
        ]
        replies = []
        for server in (node, reference):
            with RawClient(server.port) as c:
                c.call("FLUSHALL")
                replies.append([c.call(*req) for req in script][1:])
        assert replies[0] == replies[1]


def test_hrandfield_negative_count_repeats_and_resp3_nests_pairs(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    fields = r.execute_command("HRANDFIELD", "h", "-20")
    assert len(fields) == 20 and set(fields) <= {b"a", b"b"}
    pairs = r.execute_command("HRANDFIELD", "h", "-7", "WITHVALUES")
    assert len(pairs) == 7
    assert all(p in ([b"a", b"1"], [b"b", b"2"]) for p in pairs)
    one = r.execute_command("HRANDFIELD", "h")
    assert one in (b"a", b"b")


def test_hrandfield_positive_count_is_unique(r):
    for n in (10, 700):
        r.delete("h")
        r.hset("h", mapping={f"f{i}": i for i in range(n)})
        for count in (1, n // 3, n - 1, n // 2 + 3):
            fields = r.execute_command("HRANDFIELD", "h", count)
            assert len(fields) == count and len(set(fields)) == count
            assert all(f.startswith(b"f") for f in fields)


def test_hrandfield_resp2_withvalues_is_flat(r2):
    r2.hset("h", mapping={"a": "1"})
    assert r2.execute_command("HRANDFIELD", "h", "-2", "WITHVALUES") == [b"a", b"1", b"a", b"1"]


def test_hrandfield_listpack_sample_keeps_insertion_order(r):
    r.hset("h", mapping={f"f{i:02d}": i for i in range(50)})
    fields = r.execute_command("HRANDFIELD", "h", 20)
    assert fields == sorted(fields)


# --- HSCAN ---

def test_hscan_small_hash_returns_everything_at_once(node, reference):
    assert_same(node, reference, [
        ("HSET", "h", "a1", "1", "b1", "2", "a2", "3"), ("HSCAN", "h", "0"),
        ("HSCAN", "h", "0", "MATCH", "a*"), ("HSCAN", "h", "0", "COUNT", "1"),
        ("HSCAN", "h", "7"), ("HSCAN", "nokey", "0"), ("HSCAN", "nokey", "0", "bad", "x"),
        ("HSCAN", "h", "x"), ("HSCAN", "h", "-1"), ("HSCAN", "h", "0", "COUNT", "0"),
        ("HSCAN", "h", "0", "COUNT", "x"), ("HSCAN", "h", "0", "TYPE", "string"),
        ("HSCAN", "h", "0", "MATCH"), ("HSCAN", "h", "18446744073709551616"),
    ])


def _full_scan(client: redis.Redis, key: str, **kw: object) -> dict[bytes, bytes]:
    seen: dict[bytes, bytes] = {}
    cursor = 0
    while True:
        cursor, batch = client.hscan(key, cursor, **kw)  # type: ignore[arg-type]
        seen.update(batch)
        if cursor == 0:
            return seen


def test_hscan_large_hash_visits_every_field(r):
    r.hset("h", mapping={f"f{i}": f"v{i}" for i in range(2000)})
    assert _full_scan(r, "h", count=37) == {b"f%d" % i: b"v%d" % i for i in range(2000)}
    matched = _full_scan(r, "h", match="f1*", count=100)
    assert set(matched) == {b"f%d" % i for i in range(2000) if str(i).startswith("1")}


def test_hscan_returns_fields_present_throughout_while_the_hash_changes(r):
    rng = random.Random(7)
    r.hset("h", mapping={f"stay{i}": 1 for i in range(1500)})
    r.hset("h", mapping={f"tmp{i}": 1 for i in range(1500)})
    seen: set[bytes] = set()
    cursor, extra = 0, 0
    while True:
        cursor, batch = r.hscan("h", cursor, count=50)
        seen.update(batch)
        for _ in range(40):
            r.hdel("h", f"tmp{rng.randrange(1500)}")
            r.hset("h", f"new{extra}", 1)
            extra += 1
        if cursor == 0:
            break
    assert {b"stay%d" % i for i in range(1500)} <= seen


# --- encodings, sizes, digests ---

def test_encoding_follows_the_listpack_limits(small_limits):
    ours, theirs = small_limits
    assert_same(ours, theirs, [
        ("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"), ("OBJECT", "ENCODING", "h"),
        ("MEMORY", "USAGE", "h"), ("DEBUG", "DIGEST-VALUE", "h"),
        # at the limit, a field changed in place keeps the listpack (and its order)
        ("HSET", "h", "b", "22"), ("OBJECT", "ENCODING", "h"), ("HGETALL", "h"),
        ("HSET", "h", "e", "5"), ("OBJECT", "ENCODING", "h"), ("HDEL", "h", "a", "b", "c"),
        ("OBJECT", "ENCODING", "h"),
        ("HSET", "v", "a", "123456789"), ("OBJECT", "ENCODING", "v"),
        ("HSET", "k", "123456789", "a"), ("OBJECT", "ENCODING", "k"),
        ("HSETNX", "n", "a", "12345678"), ("OBJECT", "ENCODING", "n"),
        ("HSETNX", "n", "b", "123456789"), ("OBJECT", "ENCODING", "n"),
        ("HINCRBY", "i", "123456789", "1"), ("OBJECT", "ENCODING", "i"),
        ("HINCRBY", "j", "a", "123456789"), ("OBJECT", "ENCODING", "j"),
        ("HINCRBYFLOAT", "f", "a", "1.5"), ("OBJECT", "ENCODING", "f"),
        ("HINCRBYFLOAT", "f", "a", "0.0000001"), ("OBJECT", "ENCODING", "f"),
        ("HSET", "x", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6"),
        ("OBJECT", "ENCODING", "x"), ("HLEN", "x"),
    ])


def test_hset_creating_a_hash_matches_redis_at_and_past_the_limits(small_limits):
    """HSET on a missing key (packed at once when its pairs make a listpack): a field
    given twice counts once and keeps its last value, a long string or too many pairs make
    a hashtable; replies, encodings, order, MEMORY USAGE and DUMP as redis-server's."""
    ours, theirs = small_limits
    many = [x for i in range(10) for x in (f"f{i}", f"{i}")]
    assert_same(ours, theirs, [
        ("HSET", "a", "f", "1"), ("HSET", "b", "f", "1", "g", "2", "f", "3"),
        ("HSET", "c", "a", "1", "b", "2", "c", "3", "d", "4"),
        ("HSET", "d", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"),
        ("HSET", "e", "a", "12345678"), ("HSET", "f", "a", "123456789"),
        ("HSET", "g", "12345678", "a", "x", "y"), ("HSET", "h", "123456789", "a"),
        ("HSET", "i", "a", "1", "a", "2", "a", "3", "a", "4", "a", "5"),
        ("HSET", "j", *many), ("HSET", "k", "", ""), ("HMSET", "l", "x", "1", "x", "2"),
        *[request for key in "abcdefghijkl" for request in (
            ("OBJECT", "ENCODING", key), ("HLEN", key), ("DEBUG", "DIGEST-VALUE", key))],
        *[request for key in "abceikl" for request in (  # the listpacks: same order, size
            ("HGETALL", key), ("MEMORY", "USAGE", key))],
    ])
    for key in "abceikl":  # listpacks: the same bytes (but the checksum trailer)
        assert (redis.Redis(port=ours.port).dump(key)[:-10]
                == redis.Redis(port=theirs.port).dump(key)[:-10]), key


def test_config_names_and_aliases_match_redis(node, reference):
    assert_same(node, reference, [
        ("CONFIG", "GET", "hash-max-listpack-entries"),
        ("CONFIG", "GET", "hash-max-ziplist-value"),
        ("CONFIG", "SET", "hash-max-listpack-entries", "1kb"),
        ("CONFIG", "SET", "hash-max-listpack-value", "-1"),
        ("CONFIG", "SET", "hash-max-ziplist-entries", "600"),
        ("CONFIG", "GET", "hash-max-listpack-entries"),
        ("HSET", "big", *BIG), ("OBJECT", "ENCODING", "big"),
        ("CONFIG", "SET", "hash-max-listpack-entries", "512"),
        ("HSET", "big2", *BIG), ("OBJECT", "ENCODING", "big2"),
    ])


def test_memory_usage_and_digest_match_redis(node, reference):
    assert_same(node, reference, [
        ("HSET", "h", "a", "1", "bb", "-4000", "c", "70000", "d", "-9000000", "e", "5000000000",
         "f", "x" * 63, "g", "y" * 40),
        ("MEMORY", "USAGE", "h"), ("DEBUG", "DIGEST-VALUE", "h"),
        ("HSET", "big", *BIG), ("MEMORY", "USAGE", "big", "SAMPLES", "0"),
        ("DEBUG", "DIGEST-VALUE", "big"), ("DEBUG", "DIGEST-VALUE", "h", "big", "nokey"),
        ("HSET", "lv", "a", "z" * 200), ("MEMORY", "USAGE", "lv", "SAMPLES", "0"),
        ("DEBUG", "DIGEST-VALUE", "lv"), ("OBJECT", "ENCODING", "lv"),
    ])


def test_hashtable_replies_hold_the_same_content(pair):
    for client in pair:
        client.hset("big", mapping=dict(zip(BIG[::2], BIG[1::2], strict=True)))
        client.hdel("big", "f3", "f300")
        client.hset("big", "n", 5)
        client.hincrby("big", "n", 7)
        client.hincrbyfloat("big", "n", 0.5)
    ours, theirs = pair
    assert ours.hgetall("big") == theirs.hgetall("big")
    assert sorted(ours.hkeys("big")) == sorted(theirs.hkeys("big"))
    assert sorted(ours.hvals("big")) == sorted(theirs.hvals("big"))
    assert ours.hlen("big") == theirs.hlen("big") == 599


MORE = [x for i in range(600, 1100) for x in (f"f{i}", f"w{i}")]


def test_hset_on_a_hashtable_counts_new_fields_once(node, reference):
    assert_same(node, reference, [
        ("HSET", "big", *BIG), ("HSET", "big", "f1", "x", "new", "y", "new", "z", "f1", "u"),
        ("HGET", "big", "new"), ("HGET", "big", "f1"), ("HGET", "big", "nothere"),
        ("MEMORY", "USAGE", "big", "SAMPLES", "0"), ("HSET", "big", *MORE), ("HLEN", "big"),
        ("HSET", "big", *MORE), ("HLEN", "big"), ("OBJECT", "ENCODING", "big"),
    ])


def test_hset_on_a_hashtable_fails_the_exec_of_a_watcher(node, reference):
    for server in (node, reference):
        with RawClient(server.port) as c, RawClient(server.port) as other:
            c.call("FLUSHALL")
            c.call("HSET", "big", *BIG)
            c.call("WATCH", "big")
            other.call("HSET", "big", "f1", "changed")
            c.call("MULTI")
            c.call("PING")
            assert c.call("EXEC") == b"*-1\r\n", server


# --- DUMP / RESTORE / COPY ---

def test_listpack_dump_is_byte_identical_to_redis(pair):
    ours, theirs = pair
    for client in pair:
        client.hset("h", mapping={"a": "1", "n": "-9223372036854775808", "s": "x" * 70,
                                  "m": "y" * 5000, "2": "-4000", "t": "127"})
        client.hset("g", mapping={"a": "1", "b": "12345678901234567890123"})
    assert ours.dump("g")[:-10] == theirs.dump("g")[:-10]
    assert ours.execute_command("OBJECT", "ENCODING", "h") == b"hashtable"


def test_redis_payloads_restore_with_the_same_content_and_encoding(pair):
    ours, theirs = pair
    theirs.hset("small", mapping={"a": "1", "b": "-70000", "c": "text"})
    theirs.hset("big", mapping=dict(zip(BIG[::2], BIG[1::2], strict=True)))
    for key in ("small", "big"):
        ours.restore(key, 0, theirs.dump(key))
        assert ours.hgetall(key) == theirs.hgetall(key)
        assert (ours.execute_command("OBJECT", "ENCODING", key)
                == theirs.execute_command("OBJECT", "ENCODING", key))
        assert (ours.execute_command("DEBUG", "DIGEST-VALUE", key)
                == theirs.execute_command("DEBUG", "DIGEST-VALUE", key))


def test_redslot_payloads_restore_in_redis(pair):
    ours, theirs = pair
    ours.hset("small", mapping={"a": "1", "b": "-70000", "c": "text"})
    ours.hset("big", mapping=dict(zip(BIG[::2], BIG[1::2], strict=True)))
    for key in ("small", "big"):
        theirs.restore(key, 0, retrailer(ours.dump(key), 10))
        assert theirs.hgetall(key) == ours.hgetall(key)


def test_restore_rejects_corrupt_listpacks(r):
    r.hset("h", "a", "1")
    good = r.dump("h")
    body = bytearray(good[:-10])
    body[5] ^= 0x40
    with pytest.raises(redis.ResponseError, match="Bad data format"):
        r.restore("k", 0, retrailer(bytes(body), 11))


def test_copy_is_deep_and_keeps_the_encoding(r):
    r.hset("h", mapping={"a": "1"})
    r.hset("big", mapping=dict(zip(BIG[::2], BIG[1::2], strict=True)))
    r.copy("h", "h2")
    r.copy("big", "big2")
    r.hset("h", "a", "changed")
    r.hdel("big", "f1")
    assert r.hget("h2", "a") == b"1" and r.hlen("big2") == 600
    assert r.object("encoding", "big2") == b"hashtable"
    assert r.object("encoding", "h2") == b"listpack"
    assert len(_full_scan(r, "big2", count=25)) == 600


# --- random sequences ---

FIELDS = st.sampled_from([b"a", b"b", b"c", b"n", b"", b"x" * 70])
VALUES = st.sampled_from([b"1", b"-5", b"abc", b"1.5", b"9223372036854775807", b"", b"y" * 70,
                          b"0", b"x"])
KEYS = st.sampled_from([b"h", b"g", b"s"])
COMMAND = st.one_of(
    st.tuples(st.just(b"HSET"), KEYS, FIELDS, VALUES),
    st.tuples(st.just(b"HSETNX"), KEYS, FIELDS, VALUES),
    st.tuples(st.just(b"HGET"), KEYS, FIELDS),
    st.tuples(st.just(b"HMGET"), KEYS, FIELDS, FIELDS),
    st.tuples(st.just(b"HDEL"), KEYS, FIELDS, FIELDS),
    st.tuples(st.just(b"HLEN"), KEYS),
    st.tuples(st.just(b"HSTRLEN"), KEYS, FIELDS),
    st.tuples(st.just(b"HEXISTS"), KEYS, FIELDS),
    st.tuples(st.just(b"HGETALL"), KEYS),
    st.tuples(st.just(b"HINCRBY"), KEYS, FIELDS, VALUES),
    st.tuples(st.just(b"HINCRBYFLOAT"), KEYS, FIELDS, VALUES),
    st.tuples(st.just(b"HRANDFIELD"), KEYS, st.sampled_from([b"0", b"10", b"x"])),
    st.tuples(st.just(b"HSCAN"), KEYS, st.just(b"0")),
    st.tuples(st.just(b"OBJECT"), st.just(b"ENCODING"), KEYS),
    st.tuples(st.just(b"SET"), st.just(b"s"), VALUES),
)


@pytest.fixture(scope="module")
def raw_pair(node, reference) -> Iterator[tuple[RawClient, RawClient]]:
    clients = (RawClient(node.port), RawClient(reference.port))
    yield clients
    for c in clients:
        c.close()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([b"2", b"3"]), st.lists(COMMAND, min_size=1, max_size=30))
def test_random_sequences_match_redis(raw_pair, protocol, commands):
    ours, theirs = raw_pair
    for c in raw_pair:
        c.call("FLUSHALL")
        c.call("HELLO", protocol)
    for req in commands:
        mine, ref = ours.call(*req), theirs.call(*req)
        if req[0] in (b"HGETALL", b"HSCAN", b"HRANDFIELD"):
            if b"hashtable" in ours.call("OBJECT", "ENCODING", req[1]):
                continue
        assert mine == ref, f"{req!r}: redslot {mine!r} != redis-server {ref!r}"


def test_restore_follows_listpack_limits_given_at_startup(small_limits, reference):
    """--hash-max-listpack-entries 4 on the command line reaches RESTORE: a 6-field
    listpack payload becomes a hashtable, while a long value alone keeps the listpack."""
    with redis.Redis(port=reference.port, socket_timeout=30) as source:
        source.flushall()
        source.hset("six", mapping={f"f{i}": str(i) for i in range(6)})
        source.hset("long", mapping={"a": "x" * 20})
        payloads = {key: source.dump(key) for key in ("six", "long")}
    ours, theirs = (redis.Redis(port=s.port, socket_timeout=30) for s in small_limits)
    with ours, theirs:
        for client in (ours, theirs):
            client.flushall()
            for key, payload in payloads.items():
                client.restore(key, 0, payload)
        for key, encoding in {"six": b"hashtable", "long": b"listpack"}.items():
            assert (ours.object("encoding", key) == theirs.object("encoding", key)
                    == encoding), key
            assert ours.hgetall(key) == theirs.hgetall(key)


def test_restore_applies_the_current_listpack_limits(pair):
    ours, theirs = pair
    theirs.hset("three", mapping={"a": "1", "b": "2", "c": "3"})
    theirs.hset("long", mapping={"a": "x" * 20})
    theirs.hset("wide", mapping={"a": "x" * 100})
    payloads = {key: theirs.dump(key) for key in ("three", "long", "wide")}
    try:
        for client in pair:
            client.config_set("hash-max-listpack-entries", 2)
            client.config_set("hash-max-listpack-value", 10)
            for key, payload in payloads.items():
                client.restore(key + "2", 0, payload)
            client.config_set("hash-max-listpack-value", 200)
            client.restore("wide3", 0, payloads["wide"])
        expected = {"three2": b"hashtable", "long2": b"listpack", "wide2": b"hashtable",
                    "wide3": b"listpack"}
        for key, encoding in expected.items():
            assert (ours.execute_command("OBJECT", "ENCODING", key)
                    == theirs.execute_command("OBJECT", "ENCODING", key) == encoding), key
    finally:
        for client in pair:
            client.config_set("hash-max-listpack-entries", 512)
            client.config_set("hash-max-listpack-value", 64)
