"""List commands, byte for byte against Debian's redis-server 7.0.15 (RESP2 and RESP3).

Where 7.2 differs we follow 7.0.15: OBJECT ENCODING is always ``quicklist`` (7.2 says
``listpack`` for small lists) and LPOS ... RANK -9223372036854775808 scans from the tail
taking every match (7.2 rejects that rank).
"""

from __future__ import annotations

import random

import pytest
import redis
from differential import replies, retrailer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redslot.node.types.listpack import decode_listpack, encode_listpack
from redslot.node.types.lists import ListValue
from resp import RawClient

LLONG_MIN = str(-(2**63))
LLONG_MAX = str(2**63 - 1)
PROTOCOLS = [("HELLO", "2"), ("HELLO", "3")]


def assert_same(node, reference, script):
    """Byte-equal replies to every request after the first (a HELLO, whose reply differs)."""
    ours = replies(node.port, script)
    theirs = replies(reference.port, script)
    for req, mine, ref in zip(script[1:], ours[1:], theirs[1:], strict=True):
        assert mine == ref, f"{req!r}: redslot {mine!r} != redis-server {ref!r}"


def same(node, reference, *script):
    """The script under RESP2 then RESP3."""
    for hello in PROTOCOLS:
        assert_same(node, reference, [hello, *script])


# --- pushes ---

def test_lpush_rpush_reply_the_new_length_and_order(node, reference):
    same(node, reference, ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d", "e"),
         ("LRANGE", "l", 0, -1), ("LLEN", "l"), ("TYPE", "l"), ("OBJECT", "ENCODING", "l"))


def test_pushx_only_pushes_to_an_existing_list(node, reference):
    same(node, reference, ("LPUSHX", "l", "a"), ("RPUSHX", "l", "a", "b"), ("EXISTS", "l"),
         ("RPUSH", "l", "x"), ("LPUSHX", "l", "a", "b"), ("RPUSHX", "l", "c", "d"),
         ("LRANGE", "l", 0, -1))


def test_pushes_on_a_string_are_wrongtype(node, reference):
    same(node, reference, ("SET", "s", "v"), ("LPUSH", "s", "a"), ("RPUSH", "s", "a"),
         ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"), ("LINSERT", "s", "BEFORE", "a", "b"),
         ("LPOP", "s"), ("RPOP", "s", 2), ("LLEN", "s"), ("LRANGE", "s", 0, 1),
         ("LINDEX", "s", 0), ("LSET", "s", 0, "x"), ("LREM", "s", 0, "a"), ("LTRIM", "s", 0, 1),
         ("LPOS", "s", "a"), ("LMOVE", "s", "d", "LEFT", "LEFT"), ("RPOPLPUSH", "s", "d"),
         ("LMPOP", 1, "s", "LEFT"), ("GET", "s"))


# --- pops ---

def test_pop_without_count_replies_a_bulk_and_deletes_the_emptied_list(node, reference):
    same(node, reference, ("RPUSH", "l", "a", "b"), ("LPOP", "l"), ("RPOP", "l"), ("EXISTS", "l"),
         ("LPOP", "l"), ("RPOP", "l"))


def test_pop_with_count_replies_arrays_and_null_arrays(node, reference):
    same(node, reference, ("LPOP", "missing", 0), ("RPOP", "missing", 3),
         ("RPUSH", "l", 1, 2, 3, 4, 5), ("LPOP", "l", 0), ("LPOP", "l", 2), ("RPOP", "l", 2),
         ("RPOP", "l", 10), ("EXISTS", "l"), ("RPUSH", "l", "x"), ("LPOP", "l", 5))


def test_pop_count_errors(node, reference):
    same(node, reference, ("RPUSH", "l", "a"), ("LPOP", "l", -1), ("LPOP", "l", "x"),
         ("RPOP", "missing", -1), ("LPOP", "l", 1, 2), ("RPOP", "l", 1, 2),
         ("LPOP", "l", LLONG_MAX), ("LRANGE", "l", 0, -1))


def test_pops_alternate_between_ends(node, reference):
    script = [("RPUSH", "l", *range(20)), ("LPUSH", "l", *range(100, 110))]
    for i in range(30):
        script.append(("LPOP", "l") if i % 3 else ("RPOP", "l", 2))
    same(node, reference, *script)


# --- reads ---

def test_lrange_index_arithmetic(node, reference):
    script: list[tuple] = [("LRANGE", "missing", 0, -1), ("LPUSH", "l", *range(5)),
                           ("RPUSH", "l", *range(10, 15))]
    for start, end in [(0, -1), (2, 7), (-3, -1), (-100, 100), (5, 2), (9, 9), (10, 20),
                       (-1, -2), (4, 5), (0, 0), (LLONG_MIN, LLONG_MAX), (3, -8)]:
        script.append(("LRANGE", "l", start, end))
    script += [("LRANGE", "l", "x", 1), ("LRANGE", "missing", 0, "x"), ("LRANGE", "l", 0, "1.5")]
    same(node, reference, *script)


def test_lindex_and_llen(node, reference):
    same(node, reference, ("LLEN", "missing"), ("LINDEX", "missing", 0), ("LINDEX", "missing", "x"),
         ("RPUSH", "l", "a", "b", "c"), ("LPUSH", "l", "z"), ("LINDEX", "l", 0),
         ("LINDEX", "l", 3), ("LINDEX", "l", -1), ("LINDEX", "l", -4), ("LINDEX", "l", 4),
         ("LINDEX", "l", -5), ("LINDEX", "l", "x"), ("LINDEX", "l", LLONG_MIN), ("LLEN", "l"))


def test_integer_looking_elements_come_back_as_sent(node, reference):
    values = ["0", "-1", "007", "+5", "1.0", "9223372036854775807", "9223372036854775808",
              "-9223372036854775808", " 1", "", "12345678901234567890123"]
    same(node, reference, ("RPUSH", "l", *values), ("LRANGE", "l", 0, -1),
         ("LPOS", "l", "007"), ("LREM", "l", 0, "0"), ("LRANGE", "l", 0, -1))


# --- LPOS ---

def test_lpos_rank_count_maxlen(node, reference):
    script: list[tuple] = [("RPUSH", "l", "a", "b", "c", "a", "b", "a", "c", "a")]
    for opts in [(), ("RANK", 2), ("RANK", -1), ("RANK", -3), ("RANK", 9), ("COUNT", 0),
                 ("COUNT", 2), ("COUNT", 2, "RANK", -2), ("MAXLEN", 3), ("MAXLEN", 4, "COUNT", 0),
                 ("RANK", -1, "MAXLEN", 2), ("COUNT", 0, "MAXLEN", 1, "RANK", -1),
                 ("rank", 1, "rank", 3), ("COUNT", 1, "COUNT", 0), ("RANK", LLONG_MIN),
                 ("RANK", LLONG_MIN, "COUNT", 2), ("RANK", LLONG_MAX, "COUNT", 0)]:
        script.append(("LPOS", "l", "a", *opts))
    script += [("LPOS", "l", "zz"), ("LPOS", "l", "zz", "COUNT", 3), ("LPOS", "missing", "a"),
               ("LPOS", "missing", "a", "COUNT", 0)]
    same(node, reference, *script)


def test_lpos_errors(node, reference):
    same(node, reference, ("RPUSH", "l", "a"), ("LPOS", "l", "a", "RANK", 0),
         ("LPOS", "l", "a", "RANK", "x"), ("LPOS", "l", "a", "COUNT", -1),
         ("LPOS", "l", "a", "COUNT", "x"), ("LPOS", "l", "a", "MAXLEN", -1),
         ("LPOS", "l", "a", "MAXLEN", "1.5"), ("LPOS", "l", "a", "RANK"),
         ("LPOS", "l", "a", "FOO", 1), ("LPOS", "missing", "a", "RANK", 0),
         ("LPOS", "l", "a", "COUNT\x00x", 1))


# --- in place ---

def test_lset(node, reference):
    same(node, reference, ("LSET", "missing", 0, "x"), ("LSET", "missing", "x", "x"),
         ("RPUSH", "l", "a", "b"), ("LPUSH", "l", "z"), ("LSET", "l", 0, "A"), ("LSET", "l", -1, "B"),
         ("LSET", "l", 1, "M"), ("LSET", "l", 3, "x"), ("LSET", "l", -4, "x"),
         ("LSET", "l", "x", "y"), ("LRANGE", "l", 0, -1))


def test_linsert(node, reference):
    same(node, reference, ("LINSERT", "missing", "BEFORE", "a", "b"),
         ("LINSERT", "missing", "SIDEWAYS", "a", "b"), ("RPUSH", "l", "a", "b", "a"),
         ("LPUSH", "l", "h"), ("LINSERT", "l", "before", "a", "x"),
         ("LINSERT", "l", "AFTER", "a", "y"), ("LINSERT", "l", "After", "h", "i"),
         ("LINSERT", "l", "BEFORE", "h", "g"), ("LINSERT", "l", "AFTER", "zz", "q"),
         ("LINSERT", "l", "middle", "a", "q"), ("LRANGE", "l", 0, -1))


def test_lrem(node, reference):
    items = ["a", "b", "a", "c", "a", "b", "a"]
    script: list[tuple] = [("LREM", "missing", 0, "a"), ("LREM", "missing", "x", "a")]
    for count in [0, 1, 2, -1, -2, 100, -100, LLONG_MIN]:
        script += [("DEL", "l"), ("RPUSH", "l", *items[3:]), ("LPUSH", "l", *items[:3]),
                   ("LREM", "l", count, "a"), ("LRANGE", "l", 0, -1)]
    script += [("LREM", "l", 0, "zz"), ("LREM", "l", "x", "b"), ("LREM", "l", 0, "b"),
               ("LREM", "l", 0, "c"), ("EXISTS", "l")]
    same(node, reference, *script)


def test_ltrim(node, reference):
    script: list[tuple] = [("LTRIM", "missing", 0, 1), ("LTRIM", "missing", "x", 1)]
    for start, end in [(0, -1), (1, -2), (2, 4), (-3, -1), (5, 2), (0, 0), (-100, 100),
                       (20, 30), (LLONG_MIN, LLONG_MAX), (9, 9)]:
        script += [("DEL", "l"), ("RPUSH", "l", *range(5, 10)), ("LPUSH", "l", *range(5)),
                   ("LTRIM", "l", start, end), ("LRANGE", "l", 0, -1), ("EXISTS", "l")]
    script.append(("LTRIM", "l", 0, "x"))
    same(node, reference, *script)


# --- moves ---

def test_lmove_every_direction(node, reference):
    script: list[tuple] = [("RPUSH", "src", "a", "b", "c", "d")]
    for wf in ("LEFT", "RIGHT"):
        for wt in ("left", "right"):
            script += [("LMOVE", "src", "dst", wf, wt), ("LRANGE", "dst", 0, -1)]
    script += [("LRANGE", "src", 0, -1), ("EXISTS", "src"), ("LMOVE", "src", "dst", "LEFT", "LEFT")]
    same(node, reference, *script)


def test_lmove_to_itself_rotates(node, reference):
    same(node, reference, ("RPUSH", "l", 1, 2, 3), ("LMOVE", "l", "l", "LEFT", "RIGHT"),
         ("LRANGE", "l", 0, -1), ("RPOPLPUSH", "l", "l"), ("LRANGE", "l", 0, -1),
         ("DEL", "l"), ("RPUSH", "l", "only"), ("LMOVE", "l", "l", "RIGHT", "LEFT"),
         ("LRANGE", "l", 0, -1))


def test_lmove_errors(node, reference):
    same(node, reference, ("LMOVE", "missing", "d", "UP", "LEFT"),
         ("LMOVE", "missing", "d", "LEFT", "DOWN"), ("LMOVE", "missing", "d", "LEFT", "LEFT"),
         ("RPUSH", "l", "a"), ("SET", "s", "x"), ("LMOVE", "l", "s", "LEFT", "LEFT"),
         ("RPOPLPUSH", "l", "s"), ("LRANGE", "l", 0, -1), ("RPOPLPUSH", "missing", "s"),
         ("LMOVE", "l", "d", "LEFT\x00x", "RIGHT"))


def test_rpoplpush(node, reference):
    same(node, reference, ("RPUSH", "a", 1, 2, 3), ("RPOPLPUSH", "a", "b"), ("RPOPLPUSH", "a", "b"),
         ("RPOPLPUSH", "a", "b"), ("RPOPLPUSH", "a", "b"), ("LRANGE", "b", 0, -1), ("EXISTS", "a"))


def test_lmpop(node, reference):
    same(node, reference, ("LMPOP", 2, "a", "b", "LEFT"), ("RPUSH", "b", 1, 2, 3, 4),
         ("LMPOP", 2, "a", "b", "LEFT"), ("LMPOP", 2, "a", "b", "RIGHT", "COUNT", 2),
         ("LMPOP", 1, "b", "left", "count", 10), ("EXISTS", "b"), ("RPUSH", "a", "x"),
         ("SET", "s", "v"), ("LMPOP", 2, "s", "a", "LEFT"), ("LMPOP", 2, "a", "s", "LEFT"))


def test_lmpop_errors(node, reference):
    same(node, reference, ("LMPOP", 0, "a", "LEFT"), ("LMPOP", -1, "a", "LEFT"),
         ("LMPOP", "x", "a", "LEFT"), ("LMPOP", 2, "a", "LEFT"), ("LMPOP", 1, "a", "UP"),
         ("LMPOP", 1, "a", "LEFT", "COUNT", 0), ("LMPOP", 1, "a", "LEFT", "COUNT", "x"),
         ("LMPOP", 1, "a", "LEFT", "COUNT", 1, "COUNT", 2), ("LMPOP", 1, "a", "LEFT", "COUNT"),
         ("LMPOP", 1, "a", "LEFT", "FOO"), ("LMPOP", 3, "a", "LEFT"))


def test_arity_errors(node, reference):
    same(node, reference, ("LPUSH", "l"), ("RPUSHX", "l"), ("LPOP",), ("LRANGE", "l", 0),
         ("LINSERT", "l", "BEFORE", "a"), ("LMOVE", "a", "b", "LEFT"), ("LMPOP", 1, "a"),
         ("LPOS", "l"), ("RPOPLPUSH", "a"))


# --- introspection and persistence ---

def test_memory_usage_matches_for_single_and_multi_node_lists(node, reference):
    script: list[tuple] = [("RPUSH", "small", "a", "b", "c"), ("RPUSH", "ints", *range(300))]
    script.append(("RPUSH", "big", *[f"element-{i}" * (1 + i % 7) for i in range(2000)]))
    script.append(("RPUSH", "huge", "x" * 5000, "y" * 70000, "z" * 100))
    for key in ("small", "ints", "big", "huge"):
        script += [("MEMORY", "USAGE", key), ("MEMORY", "USAGE", key, "SAMPLES", 0)]
    same(node, reference, *script)


def test_digest_matches(node, reference):
    same(node, reference, ("RPUSH", "l", "a", "1", "", "x" * 100), ("LPUSH", "l", "-5"),
         ("DEBUG", "DIGEST-VALUE", "l"), ("DEBUG", "DIGEST"))


def _dump_bodies_match(node, reference, script, keys):
    with RawClient(node.port) as ours, RawClient(reference.port) as theirs:
        for c in (ours, theirs):
            c.call("FLUSHALL")
            for req in script:
                c.call(*req)
            c.call("CONFIG", "SET", "list-max-listpack-size", "-2")
    for key in keys:
        mine = redis.Redis(port=node.port).dump(key)
        ref = redis.Redis(port=reference.port).dump(key)
        assert mine is not None and mine[:-10] == ref[:-10], key


def test_dump_payload_body_matches_for_rpush_built_lists(node, reference):
    script: list[tuple] = [("RPUSH", "l", "a", "12", "-4000", "70000", "hello" * 30)]
    script.append(("RPUSH", "big", *[f"item:{i}" for i in range(3000)]))
    script.append(("RPUSH", "wide", "a", "y" * 9000, "c", "z" * 5000, "d"))
    _dump_bodies_match(node, reference, script, ["l", "big", "wide"])


@pytest.mark.parametrize("fill", ["3", "0", "-1", "-5", "-9"])
def test_list_max_listpack_size_shapes_nodes(node, reference, fill):
    script: list[tuple] = [("CONFIG", "SET", "list-max-ziplist-size", fill),
                           ("RPUSH", "l", *[f"v{i}" * (1 + i % 50) for i in range(400)]),
                           ("MEMORY", "USAGE", "l", "SAMPLES", 0)]
    _dump_bodies_match(node, reference, script, ["l"])
    same(node, reference, *script, ("CONFIG", "GET", "list-max-listpack-size"),
         ("CONFIG", "SET", "list-max-listpack-size", "-2"))


def test_restore_moves_lists_both_ways(node, reference):
    ours = redis.Redis(port=node.port)
    theirs = redis.Redis(port=reference.port)
    items = [b"a", b"1", b"-70000", b"x" * 300, b""] + [b"%d" % i for i in range(5000)]
    for client in (ours, theirs):
        client.flushall()
        client.rpush("l", *items[:2500])
        client.lpush("l", *items[2500:])
    expected = theirs.lrange("l", 0, -1)
    ours.restore("from-ref", 0, theirs.dump("l"))
    assert ours.lrange("from-ref", 0, -1) == expected
    theirs.restore("from-us", 0, retrailer(ours.dump("l"), 10))
    assert theirs.lrange("from-us", 0, -1) == expected


def test_listpack_round_trip():
    values = [b"", b"0", b"127", b"128", b"-1", b"-4096", b"4095", b"4096", b"-32769",
              b"8388607", b"8388608", b"2147483648", b"-9223372036854775808", b"007", b"+1",
              b"x" * 63, b"x" * 64, b"x" * 4095, b"x" * 4096]
    assert decode_listpack(encode_listpack(values)) == values


def test_changes_since_last_save_count_elements_as_redis(node, reference):
    script = [("RPUSH", "l", 1, 2, 3, 4, 5), ("LPUSH", "l", "a", "b"), ("LPUSHX", "l", "x", "y"),
              ("LPOP", "l", 3), ("RPOP", "l"), ("LSET", "l", 0, "q"),
              ("LINSERT", "l", "BEFORE", "q", "w"), ("LREM", "l", 0, "w"), ("LTRIM", "l", 1, -2),
              ("LTRIM", "l", 0, -1), ("LMOVE", "l", "m", "LEFT", "RIGHT"), ("RPOPLPUSH", "l", "l"),
              ("LMPOP", 2, "z", "l", "LEFT", "COUNT", 2), ("LPOP", "l", 0), ("LTRIM", "l", 5, 1)]
    counts = []
    for port in (node.port, reference.port):
        client = redis.Redis(port=port)
        client.flushall()
        base = client.info("persistence")["rdb_changes_since_last_save"]
        steps = []
        for req in script:
            client.execute_command(*req)
            steps.append(client.info("persistence")["rdb_changes_since_last_save"] - base)
        counts.append(steps)
    assert counts[0] == counts[1]


def test_copy_is_deep(r):
    r.rpush("l", "a", "b")
    assert r.copy("l", "c")
    r.rpush("c", "z")
    assert r.lrange("l", 0, -1) == [b"a", b"b"]
    assert r.lrange("c", 0, -1) == [b"a", b"b", b"z"]


def test_watch_sees_list_changes(node):
    client = redis.Redis(port=node.port)
    client.flushall()
    client.rpush("l", "a")
    with client.pipeline() as pipe:
        pipe.watch("l")
        client.lset("l", 0, "b")
        pipe.multi()
        pipe.lpush("l", "c")
        with pytest.raises(redis.WatchError):
            pipe.execute()


def test_list_value_matches_a_python_list():
    rng = random.Random(5)
    model: list[bytes] = []
    value = ListValue()
    for step in range(3000):
        op = rng.randrange(6)
        item = b"%d" % step
        if op == 0:
            model.insert(0, item)
            value.head.append(item)
        elif op == 1:
            model.append(item)
            value.tail.append(item)
        elif op == 2 and model:
            n = rng.randint(1, len(model))
            assert value.pop_left_many(n) == model[:n]
            del model[:n]
        elif op == 3 and model:
            n = rng.randint(1, len(model))
            assert value.pop_right_many(n) == model[::-1][:n]
            del model[len(model) - n:]
        elif op == 4 and model:
            i = rng.randrange(len(model))
            j = rng.randrange(i, len(model))
            assert value.range(i, j) == model[i:j + 1]
            assert value.get(j) == model[j]
        elif op == 5:
            i = rng.randint(0, len(model))
            model.insert(i, item)
            value.insert(i, item)
        assert value.to_list() == model


# --- random sequences ---

_KEYS = st.sampled_from(["a", "b", "s"])
_ELEMS = st.sampled_from(["x", "y", "1", "-2", "z" * 70])
_INTS = st.integers(-6, 6)
_SIDES = st.sampled_from(["LEFT", "RIGHT"])
_COMMAND = st.one_of(
    st.tuples(st.sampled_from(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), _KEYS, _ELEMS, _ELEMS),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), _KEYS),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), _KEYS, st.integers(-1, 4)),
    st.tuples(st.just("LRANGE"), _KEYS, _INTS, _INTS),
    st.tuples(st.just("LTRIM"), _KEYS, _INTS, _INTS),
    st.tuples(st.just("LINDEX"), _KEYS, _INTS),
    st.tuples(st.just("LSET"), _KEYS, _INTS, _ELEMS),
    st.tuples(st.just("LREM"), _KEYS, _INTS, _ELEMS),
    st.tuples(st.just("LINSERT"), _KEYS, st.sampled_from(["BEFORE", "AFTER"]), _ELEMS, _ELEMS),
    st.tuples(st.just("LPOS"), _KEYS, _ELEMS, st.just("RANK"), st.sampled_from([1, -1, 2, -2]),
              st.just("COUNT"), st.integers(0, 3), st.just("MAXLEN"), st.integers(0, 5)),
    st.tuples(st.just("LMOVE"), _KEYS, _KEYS, _SIDES, _SIDES),
    st.tuples(st.just("RPOPLPUSH"), _KEYS, _KEYS),
    st.tuples(st.just("LMPOP"), st.just(2), _KEYS, _KEYS, _SIDES, st.just("COUNT"),
              st.integers(1, 3)),
    st.tuples(st.sampled_from(["LLEN", "TYPE", "EXISTS"]), _KEYS),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(protocol=st.sampled_from(PROTOCOLS), script=st.lists(_COMMAND, min_size=1, max_size=40))
def test_random_command_sequences_match(node, reference, protocol, script):
    full = [("SET", "s", "str"), *script, ("LRANGE", "a", 0, -1), ("LRANGE", "b", 0, -1),
            ("DEBUG", "DIGEST")]
    assert_same(node, reference, [protocol, *full])
