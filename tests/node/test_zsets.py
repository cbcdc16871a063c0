"""Sorted sets: every command's replies and errors byte-compared with redis-server 7.0,
in RESP2 and RESP3, plus the structure's own guarantees (ZSCAN, encodings, DUMP/RESTORE)."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import pytest
import redis
from differential import Request, retrailer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodes import ServerProcess
from resp import RawClient


def run(port: int, script: Sequence[Request], resp3: bool) -> list[bytes]:
    with RawClient(port) as c:
        c.call("FLUSHALL")
        c.call("CONFIG", "SET", "zset-max-listpack-entries", "128")
        if resp3:
            c.call("HELLO", "3")
        return [c.call(*req) for req in script]


def same(node: ServerProcess, reference: ServerProcess, script: Sequence[Request]) -> None:
    """The script gives byte-identical replies on both servers, in RESP2 and in RESP3."""
    for resp3 in (False, True):
        ours = run(node.port, script, resp3)
        theirs = run(reference.port, script, resp3)
        for req, mine, ref in zip(script, ours, theirs, strict=True):
            assert mine == ref, f"resp3={resp3} {req!r}: redslot {mine!r} != redis-server {ref!r}"


SMALL = ("ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d", "-1.5", "e", "inf", "f")
BIG = ("ZADD", "big", *[x for i in range(300) for x in (str(i % 37 * 0.5), "m%03d" % i)])
LEX = ("ZADD", "lex", *[x for m in "abcdefgxyz" for x in ("0", m)])


# --- ZADD ---

def test_zadd_adds_and_counts_new_members(node, reference):
    same(node, reference, [SMALL, ("ZADD", "z", "5", "a", "9", "new"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
                           ("ZCARD", "z"), ("TYPE", "z"), ("OBJECT", "ENCODING", "z")])


@pytest.mark.parametrize("entries", ["0", "1", "128"])
def test_zadd_of_one_pair_creating_a_set_matches_redis(node, reference, entries):
    """ZADD of one pair on a missing key (its listpack built at once) with each flag, at
    the value limit and past it, at each entry limit: replies (RESP2 and RESP3),
    encodings, contents, MEMORY USAGE and DUMP as redis-server's."""
    forms = [(), ("NX",), ("XX",), ("GT",), ("LT",), ("CH",), ("INCR",), ("NX", "INCR"),
             ("XX", "INCR"), ("GT", "CH", "INCR")]
    script: list[Request] = [("CONFIG", "SET", "zset-max-listpack-entries", entries)]
    for n, flags in enumerate(forms):
        for m, (score, member) in enumerate([("1.5", "m"), ("-inf", ""), ("-0", "x" * 64),
                                             ("2", "x" * 65), ("nan", "n")]):
            key = f"k{n}.{m}"
            script += [("ZADD", key, *flags, score, member), ("OBJECT", "ENCODING", key),
                       ("ZRANGE", key, "0", "-1", "WITHSCORES")]
            if entries != "0" and len(member) <= 64:  # a listpack: its size is Redis's
                script.append(("MEMORY", "USAGE", key))
            script += [("ZADD", key, "3", "other"), ("OBJECT", "ENCODING", key)]
    script.append(("CONFIG", "SET", "zset-max-listpack-entries", "128"))
    same(node, reference, script)
    ours, theirs = redis.Redis(port=node.port), redis.Redis(port=reference.port)
    ours.zadd("d", {"m": 1.5})
    theirs.zadd("d", {"m": 1.5})
    assert ours.dump("d")[:-10] == theirs.dump("d")[:-10]


def test_zadd_flags_nx_xx_gt_lt_ch(node, reference):
    same(node, reference, [
        SMALL,
        ("ZADD", "z", "NX", "10", "a", "10", "n1"), ("ZSCORE", "z", "a"),
        ("ZADD", "z", "XX", "10", "a", "10", "n2"), ("ZSCORE", "z", "n2"),
        ("ZADD", "z", "XX", "CH", "11", "a", "10", "b", "2", "c"),
        ("ZADD", "z", "GT", "CH", "1", "a", "20", "b"), ("ZADD", "z", "LT", "ch", "1", "a", "30", "b"),
        ("ZADD", "z", "gt", "5", "brandnew"), ("ZADD", "z", "XX", "GT", "0", "a"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
        ("ZADD", "nokey", "XX", "1", "a"), ("EXISTS", "nokey"),
        ("ZADD", "nokey", "XX", "INCR", "1", "a"),
    ])


def test_zadd_incr_replies_new_score_or_nil(node, reference):
    same(node, reference, [
        SMALL, ("ZADD", "z", "INCR", "2.5", "a"), ("ZADD", "z", "INCR", "NX", "2", "a"),
        ("ZADD", "z", "INCR", "XX", "2", "zz"), ("ZADD", "z", "INCR", "GT", "-1", "a"),
        ("ZADD", "z", "INCR", "LT", "0", "a"), ("ZADD", "z", "INCR", "0", "a"),
        ("ZADD", "z", "INCR", "-inf", "f"), ("ZADD", "z", "INCR", "1e300", "a"),
        ("ZADD", "z", "INCR", "1e308", "a"), ("ZADD", "z", "INCR", "1e308", "a"),
    ])


def test_zadd_option_conflicts_and_syntax(node, reference):
    same(node, reference, [
        ("ZADD", "z", "NX", "XX", "1", "a"), ("ZADD", "z", "GT", "LT", "1", "a"),
        ("ZADD", "z", "NX", "GT", "1", "a"), ("ZADD", "z", "NX", "LT", "1", "a"),
        ("ZADD", "z", "INCR", "1", "a", "2", "b"), ("ZADD", "z", "1"), ("ZADD", "z", "1", "a", "2"),
        ("ZADD", "z", "NX"), ("ZADD", "z", "CH", "INCR"), ("ZADD", "z", "NX", "XX", "1"),
        ("ZADD", "z", "x", "a"), ("ZADD", "z", "1", "a", "nan", "b"), ("EXISTS", "z"),
    ])


@pytest.mark.parametrize("score", [
    "1", "-1", "+1", "1.5", ".5", "5.", "1e3", "1E-3", "0x10", "0x1p3", "inf", "+inf", "-inf",
    "Infinity", "-INF", "1e400", "-1e400", "1e-400", "0e500", "0.0000", "4.9e-324", "", " 1",
    "1 ", "nan", "NaN", "1a", "--1", "0.1", "3.0000000000000004", "-0", "123456789012345678",
    "0x", "e5", "1e", "1e+", "00012", "1.7976931348623157e308",
    # around the plain-integer shortcut: 15 digits, 16 (past it), a lone or doubled sign
    "999999999999999", "-999999999999999", "9007199254740993", "-9007199254740993", "-",
    "-00", "0", "-+1",
    # around the plain-decimal shortcut: signs, leading/trailing dots and zeros, 24 chars
    "-1.5", "+1.5", "-.5", "-5.", "1.2.3", "1.-2", "-0.0", "00.50", "0.1000000000000000055511",
    "12345678901234567890.125", "1234567890123456789012.5", "-123456789012345678901.25",
    "0.30000000000000004", "1.5 ", "1.5e", "9007199254740993.0",
])
def test_zadd_score_parsing_and_printing(node, reference, score):
    same(node, reference, [("ZADD", "z", score, "m"), ("ZSCORE", "z", "m"),
                           ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZSCAN", "z", "0")])


def test_zincrby(node, reference):
    same(node, reference, [
        ("ZINCRBY", "z", "1.5", "a"), ("ZINCRBY", "z", "-3", "a"), ("ZINCRBY", "z", "x", "a"),
        ("ZINCRBY", "z", "inf", "a"), ("ZINCRBY", "z", "-inf", "a"), ("ZSCORE", "z", "a"),
        ("ZINCRBY", "z", "nan", "a"), ("ZINCRBY", "z", "", "a"),
    ])


def test_wrongtype_on_string_key(node, reference):
    same(node, reference, [("SET", "s", "x")] + [req for req in [
        ("ZADD", "s", "1", "a"), ("ZADD", "s", "x", "a"), ("ZINCRBY", "s", "1", "a"),
        ("ZREM", "s", "a"), ("ZCARD", "s"), ("ZSCORE", "s", "a"), ("ZMSCORE", "s", "a"),
        ("ZRANK", "s", "a"), ("ZREVRANK", "s", "a"), ("ZCOUNT", "s", "0", "1"),
        ("ZLEXCOUNT", "s", "-", "+"), ("ZRANGE", "s", "0", "1"), ("ZRANGE", "s", "x", "1"),
        ("ZRANGESTORE", "d", "s", "0", "1"), ("ZREVRANGE", "s", "0", "1"),
        ("ZRANGEBYSCORE", "s", "0", "1"), ("ZRANGEBYLEX", "s", "-", "+"),
        ("ZREMRANGEBYRANK", "s", "0", "1"), ("ZREMRANGEBYSCORE", "s", "0", "1"),
        ("ZREMRANGEBYLEX", "s", "-", "+"), ("ZPOPMIN", "s"), ("ZPOPMAX", "s", "2"),
        ("ZPOPMIN", "s", "0"), ("ZMPOP", "1", "s", "MIN"), ("ZRANDMEMBER", "s"),
        ("ZRANDMEMBER", "s", "2"), ("ZUNION", "1", "s"), ("ZINTER", "2", "s", "t"),
        ("ZDIFF", "1", "s"), ("ZUNIONSTORE", "d", "1", "s"), ("ZINTERCARD", "1", "s"),
        ("ZSCAN", "s", "0"), ("ZSCAN", "s", "x"),
    ]])


def test_string_commands_refuse_a_listpack_sorted_set(node, reference):
    """A small sorted set is stored as its packed bytes (a bytes subclass): not a string."""
    same(node, reference, [("ZADD", "v", "1", "a"), ("GET", "v"), ("MGET", "v", "nokey"),
                           ("STRLEN", "v"), ("GETRANGE", "v", "0", "1"), ("APPEND", "v", "x"),
                           ("INCR", "v"), ("SETBIT", "v", "1", "1"), ("BITCOUNT", "v"),
                           ("PFCOUNT", "v"), ("LCS", "v", "v"), ("RPUSH", "l", "1"),
                           ("SORT", "l", "BY", "nosort", "GET", "v"), ("ZRANGE", "v", "0", "-1")])


# --- removal and lookups ---

def test_zrem_deletes_empty_key(node, reference):
    same(node, reference, [SMALL, ("ZREM", "z", "a", "a", "x", "b"), ("ZREM", "nokey", "a"),
                           ("ZREM", "z", "c", "d", "e", "f"), ("EXISTS", "z")])


def test_point_lookups(node, reference):
    same(node, reference, [
        SMALL, ("ZSCORE", "z", "a"), ("ZSCORE", "z", "f"), ("ZSCORE", "z", "x"),
        ("ZSCORE", "nokey", "x"), ("ZMSCORE", "z", "a", "x", "e"), ("ZMSCORE", "nokey", "a", "b"),
        ("ZCARD", "z"), ("ZCARD", "nokey"),
        ("ZRANK", "z", "a"), ("ZRANK", "z", "f"), ("ZRANK", "z", "x"), ("ZRANK", "nokey", "x"),
        ("ZREVRANK", "z", "a"), ("ZREVRANK", "z", "f"), ("ZREVRANK", "z", "d"),
    ])


def test_zrank_on_large_set(node, reference):
    same(node, reference, [BIG, *[("ZRANK", "big", "m%03d" % i) for i in range(0, 300, 17)],
                           *[("ZREVRANK", "big", "m%03d" % i) for i in range(5, 300, 29)],
                           ("OBJECT", "ENCODING", "big")])


def test_zrank_withscore_is_72_behaviour(r):
    r.zadd("z", {"a": 1.5, "b": 2})
    assert r.execute_command("ZRANK", "z", "b", "WITHSCORE") == [1, 2.0]
    assert r.execute_command("ZREVRANK", "z", "b", "WITHSCORE") == [0, 2.0]
    assert r.execute_command("ZRANK", "z", "x", "WITHSCORE") is None
    assert r.execute_command("ZRANK", "nokey", "x", "WITHSCORE") is None
    with pytest.raises(Exception, match="syntax error"):
        r.execute_command("ZRANK", "z", "b", "WITHSCORES")
    with pytest.raises(Exception, match="wrong number of arguments for 'zrank'"):
        r.execute_command("ZRANK", "z", "b", "WITHSCORE", "x")


# --- ranges ---

RANGE_CASES = [
    ("0", "-1"), ("1", "2"), ("-2", "-1"), ("-100", "100"), ("3", "1"), ("10", "20"),
    ("-1", "-3"), ("x", "1"),
]


def test_zrange_by_rank(node, reference):
    script: list[Request] = [SMALL, BIG]
    for key in ("z", "big", "nokey"):
        for lo, hi in RANGE_CASES:
            script.append(("ZRANGE", key, lo, hi))
            script.append(("ZRANGE", key, lo, hi, "WITHSCORES"))
            script.append(("ZREVRANGE", key, lo, hi, "withscores"))
            script.append(("ZRANGE", key, lo, hi, "REV"))
    same(node, reference, script)


SCORE_CASES = [
    ("-inf", "+inf"), ("1", "3"), ("(1", "3"), ("1", "(3"), ("(1", "(3"), ("3", "1"),
    ("-inf", "-inf"), ("inf", "inf"), ("(inf", "inf"), ("-inf", "(-inf"), ("2", "2"),
    ("(2", "2"), ("", "3"), ("(", "5"), (" 1", "3"), ("1e400", "inf"), ("x", "1"), ("1", "nan"),
    ("((1", "2"), ("[1", "2"), ("0x1", "0x2"), ("-0", "0"), ("1 ", "2"),
]


def test_zrange_by_score_with_limits(node, reference):
    script: list[Request] = [SMALL, BIG]
    for key in ("z", "big", "nokey"):
        for lo, hi in SCORE_CASES:
            script.append(("ZCOUNT", key, lo, hi))
            script.append(("ZRANGEBYSCORE", key, lo, hi, "WITHSCORES"))
            script.append(("ZREVRANGEBYSCORE", key, hi, lo))
            script.append(("ZRANGE", key, lo, hi, "BYSCORE", "LIMIT", "1", "3"))
            script.append(("ZRANGE", key, hi, lo, "BYSCORE", "REV", "LIMIT", "2", "-1", "WITHSCORES"))
        for off, cnt in (("0", "0"), ("-1", "2"), ("0", "-5"), ("5", "3"), ("1000", "1"), ("x", "1")):
            script.append(("ZRANGEBYSCORE", key, "-inf", "inf", "LIMIT", off, cnt))
            script.append(("ZREVRANGEBYSCORE", key, "inf", "-inf", "LIMIT", off, cnt, "WITHSCORES"))
    same(node, reference, script)


LEX_CASES = [
    ("-", "+"), ("[a", "[c"), ("(a", "(c"), ("[b", "+"), ("-", "(x"), ("+", "-"), ("[z", "[a"),
    ("[aa", "[zz"), ("(g", "[g"), ("[g", "[g"), ("a", "[c"), ("[a", "c"), ("", "+"), ("-a", "+"),
    ("++", "-"), ("[", "(zzz"),
]


def test_zrange_by_lex(node, reference):
    script: list[Request] = [LEX, ("ZADD", "mixed", "1", "b", "2", "a", "3", "d", "4", "c")]
    for key in ("lex", "mixed", "nokey"):
        for lo, hi in LEX_CASES:
            script.append(("ZLEXCOUNT", key, lo, hi))
            script.append(("ZRANGEBYLEX", key, lo, hi))
            script.append(("ZREVRANGEBYLEX", key, hi, lo))
            script.append(("ZRANGE", key, lo, hi, "BYLEX", "LIMIT", "1", "2"))
            script.append(("ZRANGE", key, hi, lo, "BYLEX", "REV", "LIMIT", "0", "3"))
            script.append(("ZREVRANGEBYLEX", key, hi, lo, "LIMIT", "1", "-1"))
    same(node, reference, script)


def test_zrange_option_errors(node, reference):
    same(node, reference, [
        SMALL, ("ZRANGE", "z", "0", "1", "LIMIT", "0", "1"), ("ZRANGE", "z", "0", "1", "LIMIT", "0", "-1"),
        ("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"), ("ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"),
        ("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"), ("ZRANGE", "z", "0", "1", "REV", "REV"),
        ("ZRANGE", "z", "0", "1", "LIMIT", "0"), ("ZRANGE", "z", "0", "1", "foo"),
        ("ZRANGEBYSCORE", "z", "0", "1", "REV"), ("ZRANGEBYSCORE", "z", "0", "1", "BYSCORE"),
        ("ZREVRANGE", "z", "0", "1", "REV"), ("ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "a", "b"),
        ("ZRANGE", "z", "a", "b", "BYLEX"), ("ZRANGE", "z", "x", "1", "BYSCORE"),
        ("ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "1", "x"),
        ("ZRANGESTORE", "d", "z", "0", "1", "WITHSCORES"), ("ZRANGE", "z", "0", "1", "withscores", "withscores"),
        ("ZRANGE", "nokey", "x", "1"), ("ZRANGE", "nokey", "0", "1", "LIMIT", "0", "1"),
    ])


def test_zrangestore(node, reference):
    same(node, reference, [
        SMALL, BIG, ("ZRANGESTORE", "d", "z", "1", "3"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZRANGESTORE", "d", "z", "3", "1", "BYSCORE", "REV", "LIMIT", "0", "2"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"), ("SET", "s", "x"), ("EXPIRE", "d", "100"),
        ("ZRANGESTORE", "d", "z", "0", "0"), ("TTL", "d"),
        ("ZRANGESTORE", "d", "z", "[a", "[b", "BYLEX"), ("ZRANGESTORE", "d", "nokey", "0", "-1"),
        ("EXISTS", "d"), ("ZRANGESTORE", "s", "z", "0", "-1"), ("TYPE", "s"),
        ("ZRANGESTORE", "d", "z", "5", "10"), ("EXISTS", "d"),
        ("ZRANGESTORE", "d", "big", "0", "-1"), ("OBJECT", "ENCODING", "d"),
        ("ZRANGESTORE", "d", "big", "0", "127"), ("OBJECT", "ENCODING", "d"),
        ("ZRANGESTORE", "d", "big", "0", "128"), ("OBJECT", "ENCODING", "d"),
        ("ZRANGESTORE", "z", "z", "0", "1"), ("ZRANGE", "z", "0", "-1"),
    ])


def test_zremrange(node, reference):
    same(node, reference, [
        SMALL, ("ZREMRANGEBYRANK", "z", "1", "2"), ("ZRANGE", "z", "0", "-1"),
        ("ZREMRANGEBYSCORE", "z", "(3", "inf"), ("ZRANGE", "z", "0", "-1"),
        ("ZREMRANGEBYRANK", "z", "5", "10"), ("ZREMRANGEBYRANK", "z", "x", "1"),
        ("ZREMRANGEBYSCORE", "z", "x", "1"), ("ZREMRANGEBYLEX", "z", "x", "1"),
        ("ZREMRANGEBYRANK", "nokey", "0", "1"), ("ZREMRANGEBYRANK", "nokey", "x", "1"),
        ("ZREMRANGEBYRANK", "z", "0", "-1"), ("EXISTS", "z"),
        LEX, ("ZREMRANGEBYLEX", "lex", "(b", "[f"), ("ZRANGE", "lex", "0", "-1"),
        ("ZREMRANGEBYLEX", "lex", "-", "+"), ("EXISTS", "lex"),
        BIG, ("ZREMRANGEBYSCORE", "big", "3", "(10"), ("ZCARD", "big"),
        ("ZREMRANGEBYRANK", "big", "10", "-10"), ("ZRANGE", "big", "0", "-1", "WITHSCORES"),
        ("OBJECT", "ENCODING", "big"),
    ])


# --- pops and random members ---

def test_zpopmin_zpopmax(node, reference):
    same(node, reference, [
        SMALL, ("ZPOPMIN", "z"), ("ZPOPMAX", "z"), ("ZPOPMIN", "z", "2"), ("ZPOPMAX", "z", "0"),
        ("ZPOPMAX", "z", "10"), ("EXISTS", "z"), ("ZPOPMIN", "nokey"), ("ZPOPMIN", "nokey", "2"),
        ("ZPOPMIN", "z", "-1"), ("ZPOPMIN", "z", "x"), ("ZPOPMIN", "z", "1", "2"),
        ("ZPOPMIN", "nokey", "0"), ("ZPOPMIN", "nokey", "-1"),
    ])


def test_zmpop(node, reference):
    same(node, reference, [
        SMALL, ("ZADD", "y", "1", "q"), ("ZMPOP", "2", "nokey", "z", "MIN"),
        ("ZMPOP", "2", "z", "y", "max", "COUNT", "3"), ("ZMPOP", "1", "nokey", "MIN"),
        ("ZMPOP", "1", "y", "MAX", "COUNT", "10"), ("EXISTS", "y"),
        ("ZMPOP", "0", "z", "MIN"), ("ZMPOP", "-1", "z", "MIN"), ("ZMPOP", "x", "z", "MIN"),
        ("ZMPOP", "3", "z", "MIN"), ("ZMPOP", "1", "z", "MID"), ("ZMPOP", "1", "z", "MIN", "COUNT"),
        ("ZMPOP", "1", "z", "MIN", "COUNT", "0"), ("ZMPOP", "1", "z", "MIN", "COUNT", "x"),
        ("ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"), ("ZMPOP", "1", "z", "MIN", "foo"),
        ("SET", "s", "x"), ("ZMPOP", "2", "nokey", "s", "MIN"), ("ZMPOP", "2", "z", "s", "MIN"),
    ])


def test_zrandmember_deterministic_cases(node, reference):
    same(node, reference, [
        SMALL, ("ZRANDMEMBER", "nokey"), ("ZRANDMEMBER", "nokey", "3"), ("ZRANDMEMBER", "z", "0"),
        ("ZRANDMEMBER", "z", "6"), ("ZRANDMEMBER", "z", "100", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "x"), ("ZRANDMEMBER", "z", "1", "foo"),
        ("ZRANDMEMBER", "z", "1", "WITHSCORES", "x"), ("ZRANDMEMBER", "z", "-9223372036854775808"),
        ("ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "4611686018427387904", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "9223372036854775808"),
    ])


def test_zrandmember_picks_members(r):
    r.zadd("z", {f"m{i}": i for i in range(200)})
    members = {f"m{i}".encode() for i in range(200)}
    assert r.zrandmember("z") in members
    picks = r.zrandmember("z", 50)
    assert len(picks) == 50 and len(set(picks)) == 50 and set(picks) <= members
    repeated = r.zrandmember("z", -500)
    assert len(repeated) == 500 and set(repeated) <= members
    pairs = r.execute_command("ZRANDMEMBER", "z", "-3", "WITHSCORES")
    assert len(pairs) == 3 and all(float(p[0][1:]) == p[1] for p in pairs)


# --- algebra ---

def test_zunion_zinter_zdiff(node, reference):
    setup = [("ZADD", "a", "1", "x", "2", "y", "3", "z"), ("ZADD", "b", "10", "y", "20", "z", "30", "w"),
             ("ZADD", "c", "inf", "x", "-inf", "y", "5", "z")]
    script: list[Request] = list(setup)
    for op in ("ZUNION", "ZINTER"):
        script += [
            (op, "2", "a", "b"), (op, "2", "a", "b", "WITHSCORES"),
            (op, "3", "a", "b", "c", "WITHSCORES"), (op, "2", "a", "c", "WEIGHTS", "0", "1", "WITHSCORES"),
            (op, "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"), (op, "2", "a", "b", "aggregate", "max", "withscores"),
            (op, "2", "a", "c", "WEIGHTS", "2", "-1", "AGGREGATE", "SUM", "WITHSCORES"),
            (op, "2", "a", "nokey", "WITHSCORES"), (op, "1", "a", "WEIGHTS", "x"),
            (op, "1", "a", "AGGREGATE", "avg"), (op, "0", "a"), (op, "-1", "a"), (op, "x", "a"),
            (op, "3", "a", "b"), (op, "2", "a", "b", "WEIGHTS", "1"), (op, "1", "a", "WITHSCORES", "x"),
            (op, "2", "a", "a", "WITHSCORES"),
        ]
    script += [
        ("ZDIFF", "2", "a", "b"), ("ZDIFF", "2", "a", "b", "WITHSCORES"), ("ZDIFF", "1", "nokey"),
        ("ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"), ("ZDIFF", "2", "a", "b", "AGGREGATE", "MIN"),
        ("ZDIFF", "0", "a"), ("ZDIFF", "3", "c", "a", "nokey", "WITHSCORES"),
    ]
    same(node, reference, script)


def test_store_forms(node, reference):
    same(node, reference, [
        ("ZADD", "a", "1", "x", "2", "y"), ("ZADD", "b", "3", "y", "4", "w"), ("SET", "s", "v"),
        ("ZUNIONSTORE", "d", "2", "a", "b"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "2", "3"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZDIFFSTORE", "d", "2", "a", "b"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("ZINTERSTORE", "d", "2", "a", "nokey"), ("EXISTS", "d"),
        ("ZUNIONSTORE", "d", "1", "a", "WITHSCORES"), ("ZUNIONSTORE", "d", "0", "a"),
        ("ZUNIONSTORE", "s", "1", "a"), ("TYPE", "s"), ("ZINTERSTORE", "d", "2", "a", "s"),
        ("ZDIFFSTORE", "a", "2", "a", "b"), ("ZRANGE", "a", "0", "-1", "WITHSCORES"),
        ("OBJECT", "ENCODING", "a"),
    ])


def test_zintercard(node, reference):
    same(node, reference, [
        ("ZADD", "a", "1", "x", "2", "y", "3", "z"), ("ZADD", "b", "1", "y", "2", "z", "3", "x"),
        ("ZINTERCARD", "2", "a", "b"), ("ZINTERCARD", "2", "a", "b", "LIMIT", "2"),
        ("ZINTERCARD", "2", "a", "b", "LIMIT", "0"), ("ZINTERCARD", "2", "a", "b", "LIMIT", "-1"),
        ("ZINTERCARD", "2", "a", "nokey"), ("ZINTERCARD", "0", "a"), ("ZINTERCARD", "3", "a", "b"),
        ("ZINTERCARD", "1", "a", "WITHSCORES"), ("ZINTERCARD", "1", "a", "LIMIT"),
        ("ZINTERCARD", "1", "a", "LIMIT", "x"), ("ZINTERCARD", "x", "a"),
    ])


def test_algebra_on_large_sets_converts_encodings(node, reference):
    same(node, reference, [
        BIG, ("ZADD", "other", "1", "m001", "2", "m002"),
        ("ZINTERSTORE", "d", "2", "big", "other"), ("OBJECT", "ENCODING", "d"),
        ("ZUNIONSTORE", "d", "2", "big", "other"), ("OBJECT", "ENCODING", "d"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
    ])


# --- ZSCAN ---

def test_zscan_small_set_whole(node, reference):
    same(node, reference, [SMALL, ("ZSCAN", "z", "0"), ("ZSCAN", "z", "0", "MATCH", "[a-c]"),
                           ("ZSCAN", "z", "0", "COUNT", "1"), ("ZSCAN", "z", "0", "TYPE", "zset"),
                           ("ZSCAN", "z", "0", "COUNT", "0"), ("ZSCAN", "nokey", "0"),
                           ("ZSCAN", "z", "abc"), ("ZSCAN", "z", "0", "MATCH")])


def test_zscan_skiplist_prints_scores_as_d2string(node, reference):
    replies = []
    for server in (node, reference):
        c = redis.Redis(port=server.port)
        c.set_response_callback("ZSCAN", lambda response, **options: response)
        c.flushall()
        c.execute_command("ZADD", "k", "0.1", "a", "1e17", "b", "1e-20", "c", "1.5e30", "d", "-0", "e",
                          "3", "f", "inf", "g", "2.5", "h", "4503599627370497", "i", "-7", "j" * 70)
        cursor, flat = c.execute_command("ZSCAN", "k", "0", "COUNT", "100")
        replies.append((cursor, sorted(zip(flat[::2], flat[1::2], strict=True))))
        c.close()
    assert replies[0] == replies[1]


def test_zscan_large_set_returns_every_member_while_growing(r):
    r.zadd("z", {f"m{i}": i for i in range(1000)})
    seen: set[bytes] = set()
    cursor = 0
    rounds = 0
    while True:
        cursor, batch = r.zscan("z", cursor, count=37)
        seen.update(m for m, _ in batch)
        r.zadd("z", {f"new{rounds}-{j}": j for j in range(20)})
        r.zrem("z", f"new{rounds}-0")
        rounds += 1
        if cursor == 0:
            break
    assert {f"m{i}".encode() for i in range(1000)} <= seen
    assert rounds < 100


# --- encodings, introspection, DUMP ---

def test_encoding_thresholds(node, reference):
    same(node, reference, [
        ("ZADD", "z", "1", "a" * 64), ("OBJECT", "ENCODING", "z"), ("ZADD", "z", "1", "b" * 65),
        ("OBJECT", "ENCODING", "z"), ("ZREM", "z", "b" * 65), ("OBJECT", "ENCODING", "z"),
        ("ZADD", "y", "1", "b" * 65), ("OBJECT", "ENCODING", "y"),
        ("ZADD", "w", *[x for i in range(128) for x in (str(i), str(i))]), ("OBJECT", "ENCODING", "w"),
        ("ZADD", "w", "1", "x"), ("OBJECT", "ENCODING", "w"),
        ("CONFIG", "SET", "zset-max-listpack-entries", "0"), ("ZADD", "v", "1", "a"),
        ("OBJECT", "ENCODING", "v"), ("CONFIG", "SET", "zset-max-ziplist-entries", "128"),
        ("CONFIG", "GET", "zset-max-listpack-entries"), ("CONFIG", "GET", "zset-max-ziplist-value"),
        ("CONFIG", "SET", "zset-max-listpack-value", "1kb"), ("CONFIG", "GET", "zset-max-listpack-value"),
        ("CONFIG", "SET", "zset-max-listpack-value", "-1"), ("CONFIG", "SET", "zset-max-listpack-entries", "x"),
        ("CONFIG", "SET", "zset-max-listpack-value", "64"),
    ])


def test_debug_digest_matches(node, reference):
    same(node, reference, [SMALL, BIG, ("DEBUG", "DIGEST-VALUE", "z", "big"), ("DEBUG", "DIGEST")])


def test_memory_usage_of_small_zset_matches(node, reference):
    same(node, reference, [SMALL, ("MEMORY", "USAGE", "z"), ("ZADD", "n", "1", "1", "2", "200000"),
                           ("MEMORY", "USAGE", "n")])


@pytest.mark.parametrize("setup", [SMALL, BIG, LEX])
def test_dump_restore_both_ways(node, reference, setup):
    with RawClient(node.port) as ours, RawClient(reference.port) as theirs:
        for c in (ours, theirs):
            c.call("FLUSHALL")
            c.call(*setup)
        key = setup[1]
        rn = redis.Redis(port=node.port)
        rr = redis.Redis(port=reference.port)
        their_dump = rr.dump(key)
        our_dump = rn.dump(key)
        assert our_dump[:-10] == their_dump[:-10]
        rn.restore("from-redis", 0, their_dump)
        rr.restore("from-redslot", 0, retrailer(our_dump, 10))
        expected = rr.zrange(key, 0, -1, withscores=True)
        assert rn.zrange("from-redis", 0, -1, withscores=True) == expected
        assert rr.zrange("from-redslot", 0, -1, withscores=True) == expected
        assert rn.object("encoding", "from-redis") == rr.object("encoding", key)
        rn.close()
        rr.close()


def test_copy_is_deep(r):
    r.zadd("z", {"a": 1})
    assert r.copy("z", "c")
    r.zadd("c", {"b": 2})
    assert r.zcard("z") == 1 and r.zcard("c") == 2


# --- random differential sequences ---

def test_random_command_sequences_match(node, reference):
    rng = random.Random(7)
    members = [b"a", b"b", b"c", b"d", b"e", b"ff", b"g" * 70]
    scores = [b"0", b"1", b"-1", b"2.5", b"inf", b"-inf", b"(1", b"1e3"]
    keys = [b"k1", b"k2"]
    script: list[Request] = [("CONFIG", "SET", "zset-max-listpack-entries", "4")]
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and len(script) < 1500:
        k = rng.choice(keys)
        m = rng.choice(members)
        s = rng.choice(scores)
        s2 = rng.choice(scores)
        script.append(rng.choice([
            (b"ZADD", k, s, m), (b"ZADD", k, b"INCR", s, m), (b"ZADD", k, b"GT", b"CH", s, m),
            (b"ZREM", k, m), (b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"), (b"ZRANK", k, m),
            (b"ZCOUNT", k, s, s2), (b"ZRANGEBYSCORE", k, s, s2, b"WITHSCORES"),
            (b"ZREMRANGEBYSCORE", k, s, s2), (b"ZPOPMIN", k), (b"ZPOPMAX", k, b"2"),
            (b"ZUNIONSTORE", b"k2", b"2", b"k1", b"k2"), (b"ZINTER", b"2", b"k1", b"k2", b"WITHSCORES"),
            (b"ZINCRBY", k, s, m), (b"ZCARD", k), (b"OBJECT", b"ENCODING", k),
            (b"ZREVRANGE", k, b"0", b"2", b"WITHSCORES"), (b"ZMSCORE", k, m, b"zz"),
        ]))
    same(node, reference, script)


_member = st.sampled_from([b"a", b"b", b"c", b"dd", b"e" * 70, b"1", b"-2"])
_score = st.sampled_from([b"0", b"-0", b"1", b"-1", b"2.5", b"inf", b"-inf", b"1e17", b"0.1", b"x"])
_bound = st.sampled_from([b"-inf", b"+inf", b"0", b"(0", b"1", b"(2.5", b"3", b"(inf", b"x"])
_lex = st.sampled_from([b"-", b"+", b"[a", b"(b", b"[dd", b"(zz", b"c"])
_key = st.sampled_from([b"k1", b"k2", b"s"])
_int = st.sampled_from([b"0", b"1", b"-1", b"2", b"-3", b"10"])
_request = st.one_of(
    st.tuples(st.just(b"ZADD"), _key, _score, _member),
    st.tuples(st.just(b"ZADD"), _key, st.sampled_from([b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"]),
              _score, _member),
    st.tuples(st.just(b"ZINCRBY"), _key, _score, _member),
    st.tuples(st.just(b"ZREM"), _key, _member, _member),
    st.tuples(st.just(b"ZSCORE"), _key, _member),
    st.tuples(st.just(b"ZRANK"), _key, _member),
    st.tuples(st.just(b"ZREVRANK"), _key, _member),
    st.tuples(st.just(b"ZRANGE"), _key, _int, _int, st.just(b"WITHSCORES")),
    st.tuples(st.just(b"ZRANGE"), _key, _bound, _bound, st.just(b"BYSCORE"), st.just(b"LIMIT"), _int, _int),
    st.tuples(st.just(b"ZREVRANGEBYSCORE"), _key, _bound, _bound, st.just(b"WITHSCORES")),
    st.tuples(st.just(b"ZRANGEBYLEX"), _key, _lex, _lex),
    st.tuples(st.just(b"ZLEXCOUNT"), _key, _lex, _lex),
    st.tuples(st.just(b"ZCOUNT"), _key, _bound, _bound),
    st.tuples(st.just(b"ZREMRANGEBYRANK"), _key, _int, _int),
    st.tuples(st.just(b"ZREMRANGEBYSCORE"), _key, _bound, _bound),
    st.tuples(st.just(b"ZPOPMIN"), _key), st.tuples(st.just(b"ZPOPMAX"), _key, _int),
    st.tuples(st.just(b"ZMPOP"), st.just(b"2"), _key, _key, st.sampled_from([b"MIN", b"MAX"])),
    st.tuples(st.just(b"ZUNIONSTORE"), _key, st.just(b"2"), _key, _key, st.just(b"AGGREGATE"),
              st.sampled_from([b"SUM", b"MIN", b"MAX"])),
    st.tuples(st.just(b"ZINTER"), st.just(b"2"), _key, _key, st.just(b"WITHSCORES")),
    st.tuples(st.just(b"ZDIFFSTORE"), _key, st.just(b"2"), _key, _key),
    st.tuples(st.just(b"ZRANGESTORE"), _key, _key, _int, _int),
    st.tuples(st.just(b"ZCARD"), _key), st.tuples(st.just(b"OBJECT"), st.just(b"ENCODING"), _key),
    st.tuples(st.just(b"SET"), st.just(b"s"), st.just(b"v")),
    st.tuples(st.just(b"ZREVRANGEBYLEX"), _key, _lex, _lex, st.just(b"LIMIT"), _int, _int),
    st.tuples(st.just(b"ZREMRANGEBYLEX"), _key, _lex, _lex),
    st.tuples(st.just(b"ZRANDMEMBER"), _key, st.just(b"100"), st.just(b"WITHSCORES")),
    st.tuples(st.just(b"ZINTERCARD"), st.just(b"2"), _key, _key),
    st.tuples(st.just(b"ZUNION"), st.just(b"2"), _key, _key, st.just(b"WEIGHTS"), _score, _score,
              st.just(b"WITHSCORES")),
    st.tuples(st.just(b"ZMSCORE"), _key, _member, _member),
    st.tuples(st.just(b"DEBUG"), st.just(b"DIGEST-VALUE"), _key),
    st.tuples(st.just(b"ZRANGE"), _key, _lex, _lex, st.just(b"BYLEX"), st.just(b"REV")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(script=st.lists(_request, min_size=1, max_size=40))
def test_property_random_sequences_match_redis(node, reference, script):
    with RawClient(node.port) as ours, RawClient(reference.port) as theirs:
        for c in (ours, theirs):
            c.call("FLUSHALL")
            c.call("CONFIG", "SET", "zset-max-listpack-entries", "3")
        for req in script:
            assert ours.call(*req) == theirs.call(*req), req


def test_restore_follows_configured_listpack_limit(node, reference):
    with RawClient(node.port) as c:
        c.call("FLUSHALL")
        c.call("CONFIG", "SET", "zset-max-listpack-entries", "128")
        c.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
        rn = redis.Redis(port=node.port)
        payload = rn.dump("z")
        c.call("CONFIG", "SET", "zset-max-listpack-entries", "2")
        rn.restore("r", 0, payload)
        assert rn.object("encoding", "r") == b"skiplist"
        c.call("CONFIG", "SET", "zset-max-listpack-entries", "128")
        rn.restore("r2", 0, payload)
        assert rn.object("encoding", "r2") == b"listpack"
        rn.close()


def test_algebra_accepts_plain_sets(node, reference):
    same(node, reference, [
        ("SADD", "s", "x", "y", "1"), ("ZADD", "z", "5", "x", "7", "q"),
        ("ZUNION", "2", "s", "z", "WITHSCORES"), ("ZINTER", "2", "s", "z", "WEIGHTS", "3", "2", "WITHSCORES"),
        ("ZDIFF", "2", "s", "z", "WITHSCORES"), ("ZINTERCARD", "2", "s", "z"),
        ("ZUNIONSTORE", "d", "1", "s"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
    ])


def test_only_real_changes_touch_watched_keys(node, reference):
    same(node, reference, [
        SMALL, ("WATCH", "z"), ("ZADD", "z", "NX", "5", "a"), ("ZREM", "z", "nope"),
        ("ZADD", "z", "1", "a"), ("ZREMRANGEBYSCORE", "z", "100", "200"),
        ("MULTI",), ("ZCARD", "z"), ("EXEC",),
        ("WATCH", "z"), ("ZINCRBY", "z", "1", "a"), ("MULTI",), ("ZCARD", "z"), ("EXEC",),
        ("WATCH", "z"), ("ZPOPMIN", "z"), ("MULTI",), ("ZCARD", "z"), ("EXEC",),
    ])


def test_a_stored_skiplist_keeps_the_sign_of_zero(pair):
    """ZRANGESTORE / ZUNIONSTORE into a skiplist (a member past zset-max-listpack-value)
    keep -0; into a listpack it becomes 0, as in Redis."""
    long_member = "m" * 70
    for client in pair:
        client.zadd("z", {long_member: -0.0, "short": 1})
        client.zadd("s", {"short": -0.0})
    replies = [[c.zrangestore("d", "z", 0, -1), c.execute_command("ZSCORE", "d", long_member),
                c.zunionstore("u", ["z"]), c.execute_command("ZSCORE", "u", long_member),
                c.zrangestore("d2", "s", 0, -1), c.execute_command("ZSCORE", "d2", "short")]
               for c in pair]
    assert [repr(x) for x in replies[0]] == [repr(x) for x in replies[1]]
    assert repr(replies[0][1]) == "-0.0"
