"""Small sets packed into one bytes object (an intset, or Redis 7.2's listpack of strings)
against Debian's redis-server 7.0.15, which keeps small string sets in a dict: what a
client can see must not change across the listpack limits (128 members, 64 bytes).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis
from differential import retrailer
from redslot.node.types.rdb import crc64


def both(pair: Sequence[redis.Redis], *args: object) -> list[object]:
    return [client.execute_command(*args) for client in pair]


def assert_same_set(pair: Sequence[redis.Redis], key: str) -> None:
    """Members, size, encoding, MEMORY USAGE and digest as Redis's (read once Redis's
    incremental rehash is over: each lookup moves it on)."""
    for client in pair:
        for _ in range(200):
            client.sismember(key, "probe")
    mine, ref = both(pair, "SMEMBERS", key)
    assert sorted(mine) == sorted(ref), key  # type: ignore[call-overload]
    for args in (("SCARD", key), ("OBJECT", "ENCODING", key), ("MEMORY", "USAGE", key),
                 ("DEBUG", "DIGEST-VALUE", key)):
        mine, ref = both(pair, *args)
        assert mine == ref, args


@pytest.mark.parametrize("members", [["a", "b", "c"], [1, 2, 3]], ids=["listpack", "intset"])
def test_string_commands_on_a_small_set_answer_wrongtype(pair, members):
    """The packed encodings are bytes objects: no string command may take one for a string."""
    commands = [("GET", "s"), ("STRLEN", "s"), ("APPEND", "s", "x"), ("GETRANGE", "s", 0, 1),
                ("SETRANGE", "s", 0, "x"), ("INCR", "s"), ("INCRBYFLOAT", "s", 1),
                ("GETBIT", "s", 0), ("SETBIT", "s", 0, 1), ("BITCOUNT", "s"),
                ("BITPOS", "s", 1), ("BITFIELD", "s", "GET", "u8", 0), ("PFCOUNT", "s"),
                ("PFADD", "s", "x"), ("LCS", "s", "s"), ("GETDEL", "s"), ("GETEX", "s"),
                ("GETSET", "s", "x"), ("SET", "s", "x", "GET"), ("SUBSTR", "s", 0, 1)]
    for client in pair:
        client.sadd("s", *members)
    for args in commands:
        errors = []
        for client in pair:
            with pytest.raises(redis.ResponseError) as caught:
                client.execute_command(*args)
            errors.append(str(caught.value))
        assert errors[0] == errors[1], args
    assert both(pair, "MGET", "s") == [[None], [None]]
    assert both(pair, "OBJECT", "REFCOUNT", "s") == [1, 1]
    assert_same_set(pair, "s")


def test_a_set_crossing_128_members_matches_redis_on_each_side(pair):
    for client in pair:
        client.sadd("s", *[f"m{i}" for i in range(127)])
    assert_same_set(pair, "s")
    for n in (128, 129, 140):
        for client in pair:
            client.sadd("s", *[f"m{i}" for i in range(n)])
        assert_same_set(pair, "s")


def test_a_member_longer_than_64_bytes_matches_redis(pair):
    for client in pair:
        client.sadd("s", "a", "b" * 64)
    assert_same_set(pair, "s")
    for client in pair:
        client.sadd("s", "c" * 65)
    assert_same_set(pair, "s")
    assert both(pair, "SISMEMBER", "s", "c" * 65) == [1, 1]


def test_an_intset_gaining_a_string_matches_redis(pair):
    for client in pair:
        client.sadd("few", *range(5))
        client.sadd("few", "x")
        client.sadd("many", *range(127))
        client.sadd("many", "x", "y")
        client.sadd("full", *range(128))
        client.sadd("full", "x")
    for key in ("few", "many", "full"):
        assert_same_set(pair, key)


def test_removals_from_a_listpack_shrink_its_dict_as_redis_does(pair):
    for client in pair:
        client.sadd("s", *[f"m{i}" for i in range(100)])
        client.srem("s", *[f"m{i}" for i in range(90)])
        client.sadd("t", *[f"m{i}" for i in range(100)])
        for i in range(96):
            client.srem("t", f"m{i}")
    assert_same_set(pair, "s")
    assert_same_set(pair, "t")


def test_removing_every_member_deletes_the_key(pair):
    for client in pair:
        client.sadd("s", "a", "b")
        client.srem("s", "a", "b", "c")
    assert both(pair, "EXISTS", "s") == [0, 0]


def test_spop_and_smove_keep_a_listpack_consistent(r):
    r.sadd("s", *[f"m{i}" for i in range(20)])
    r.expire("s", 1000)
    popped = r.spop("s", 5)
    assert len(set(popped)) == 5 and r.scard("s") == 15
    assert not set(popped) & r.smembers("s")
    assert r.smove("s", "d", r.srandmember("s")) == 1
    assert r.scard("s") == 14 and r.scard("d") == 1
    assert r.ttl("s") > 900


def test_srandmember_picks_every_member_of_a_listpack(r):
    r.sadd("s", "a", "b", "c")
    assert {r.srandmember("s") for _ in range(200)} == {b"a", b"b", b"c"}
    assert sorted(r.srandmember("s", 3)) == [b"a", b"b", b"c"]
    assert set(r.srandmember("s", -50)) == {b"a", b"b", b"c"}


def test_copy_of_a_listpack_is_presized_as_redis_copies(pair):
    for client in pair:
        client.sadd("s", *[f"m{i}" for i in range(60)])
        client.srem("s", *[f"m{i}" for i in range(52)])
        client.copy("s", "c")
        client.sadd("s", "new")
    assert_same_set(pair, "s")
    assert_same_set(pair, "c")


def test_set_algebra_over_listpacks_matches_redis(pair):
    for client in pair:
        client.sadd("a", "x", "y", "z", 1)
        client.sadd("b", "y", "z", "w")
        client.sadd("i", 1, 2, 3)
    for op in ("SINTER", "SUNION", "SDIFF"):
        mine, ref = both(pair, op, "a", "b", "i")
        assert sorted(mine) == sorted(ref), op  # type: ignore[call-overload]
        both(pair, op + "STORE", "dst", "a", "b", "i")
        assert_same_set(pair, "dst")


def test_listpack_dump_restores_in_redis_7_0(pair):
    ours, theirs = pair
    ours.sadd("s", "a", "b", "hello")
    payload = ours.dump("s")
    assert payload[0] == 2  # RDB_TYPE_SET: 7.0 knows no listpack sets
    theirs.restore("s", 0, retrailer(payload, 10))
    assert theirs.smembers("s") == {b"a", b"b", b"hello"}


def test_a_redis_7_2_listpack_payload_restores(r):
    """RDB_TYPE_SET_LISTPACK (20): a listpack of "a", "b", "12" as Redis 7.2 dumps it."""
    listpack = (bytes.fromhex("0f000000") + b"\x03\x00" + b"\x81a\x02" + b"\x81b\x02"
                + b"\x0c\x01" + b"\xff")
    assert len(listpack) == 15
    body = bytes([20, len(listpack)]) + listpack + (11).to_bytes(2, "little")
    r.restore("s", 0, body + crc64(body).to_bytes(8, "little"))
    assert r.smembers("s") == {b"a", b"b", b"12"}
    assert r.object("encoding", "s") == b"hashtable"
