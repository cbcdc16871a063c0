"""String commands against Debian's redis-server: replies, errors, RESP3 and expiry effects.

WRONGTYPE cases need a key of another type; none exists yet in redslot, so they are left to
the type modules' tests (LPUSH/SADD ... then GET, APPEND, INCR, LCS on that key).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence

import pytest
from differential import Request, assert_same
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)
Step = Request | float


def run_steps(port: int, steps: Sequence[Step], resp3: bool = False) -> list[bytes]:
    """Replies to ``steps`` on a flushed server; a float step sleeps that many seconds."""
    with RawClient(port) as c:
        c.call("FLUSHALL")
        if resp3:
            c.call("HELLO", "3")
        out = []
        for step in steps:
            if isinstance(step, float):
                time.sleep(step)
            else:
                out.append(c.call(*step))
        return out


def assert_same_steps(node: ServerProcess, reference: ServerProcess, steps: Sequence[Step],
                      resp3: bool = False) -> None:
    requests = [s for s in steps if not isinstance(s, float)]
    ours = run_steps(node.port, steps, resp3)
    theirs = run_steps(reference.port, steps, resp3)
    for req, mine, ref in zip(requests, ours, theirs, strict=True):
        assert mine == ref, f"{req!r}: redslot {mine!r} != redis-server {ref!r}"


def assert_same_resp3(node: ServerProcess, reference: ServerProcess,
                      script: Sequence[Request]) -> None:
    assert_same_steps(node, reference, script, resp3=True)


# --- GET and SET ---

def test_get_and_plain_set_match_redis(node, reference):
    assert_same(node, reference, [
        ("GET", "k"), ("SET", "k", "v"), ("GET", "k"), ("SET", "k", "other"), ("GET", "k"),
        ("SET", "empty", ""), ("GET", "empty"), ("SET", "bin", b"\x00\xff\r\n"), ("GET", "bin"),
        ("SET", "n", "12345"), ("GET", "n"), ("get", "K"), ("SET", "k"), ("GET",),
        ("GET", "a", "b"),
    ])


def test_set_nx_and_xx_only_write_when_the_key_is_absent_or_present(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "1", "XX"), ("GET", "k"), ("SET", "k", "1", "NX"), ("SET", "k", "2", "NX"),
        ("GET", "k"), ("SET", "k", "3", "xx"), ("GET", "k"), ("SET", "k", "4", "nx", "nx"),
        ("SET", "k", "5", "XX", "XX"), ("GET", "k"),
    ])


def test_set_get_returns_the_old_value_even_when_nx_or_xx_abort(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "1", "GET"), ("SET", "k", "2", "GET"), ("SET", "k", "3", "NX", "GET"),
        ("GET", "k"), ("SET", "j", "1", "XX", "GET"), ("GET", "j"),
        ("SET", "j", "1", "NX", "GET"), ("SET", "k", "4", "GET", "GET", "XX"), ("GET", "k"),
        ("SET", "k", "5", "get", "KEEPTTL"),
    ])


@pytest.mark.parametrize("options", [
    ("NX", "XX"), ("XX", "NX"), ("EX", "10", "PX", "100"), ("PX", "100", "EX", "10"),
    ("EX", "10", "KEEPTTL"), ("KEEPTTL", "PX", "10"), ("EXAT", "10", "PXAT", "10"),
    ("PXAT", "10", "EX", "10"), ("EX",), ("PX",), ("EXAT",), ("PXAT",), ("PERSIST",),
    ("FOO",), ("NX", "FOO"), ("EX", "abc", "NX", "XX"), ("NXX",), ("N",), ("GETT",),
    ("KEEPTTL", "EXAT", "10"), ("EX", "10", "EX"),
])
def test_set_option_conflicts_are_syntax_errors(node, reference, options):
    assert_same(node, reference, [("SET", "k", "old"), ("SET", "k", "v", *options), ("GET", "k")])


def test_set_repeated_expire_options_take_the_last_value(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v", "EX", "abc", "EX", "100"), ("GET", "k"),
        ("SET", "k", "v", "PX", "1", "PX", "x"), ("GET", "k"),
        ("SET", "k", "v", "KEEPTTL", "KEEPTTL"), ("GET", "k"),
    ])


def test_set_option_names_are_compared_as_c_strings(node, reference):
    assert_same(node, reference, [("SET", "k", "v", b"NX\x00junk"), ("GET", "k"),
                                  ("SET", "k", "w", b"x\x00x")])


@pytest.mark.parametrize("option, value", [
    ("EX", "0"), ("EX", "-1"), ("PX", "0"), ("PX", "-5"), ("EXAT", "0"), ("PXAT", "-1"),
    ("EX", "abc"), ("EX", "1.5"), ("PX", " 1"), ("EX", str(LLONG_MAX)), ("EX", "9223372036854775"),
    ("EX", "9223372036854776"), ("PX", str(LLONG_MAX)), ("PX", "9223372036854000000"),
    ("EXAT", "9223372036854775"), ("EXAT", "9223372036854776"), ("PXAT", str(LLONG_MAX)),
    ("EX", str(LLONG_MAX + 1)), ("EX", "01"), ("EX", "+1"), ("EX", ""),
])
def test_set_expire_values_are_checked_like_redis(node, reference, option, value):
    assert_same(node, reference, [("SET", "k", "v", option, value), ("GET", "k")])


def test_set_with_an_absolute_time_in_the_past_leaves_no_key(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v", "PXAT", "1"), ("GET", "k"), ("SET", "k", "v", "EXAT", "1", "GET"),
        ("GET", "k"), ("SET", "k", "v", "PXAT", "1", "NX"), ("MGET", "k"),
    ])


def test_set_px_expires_the_key(node, reference):
    assert_same_steps(node, reference, [
        ("SET", "k", "v", "PX", "100"), ("SET", "s", "v", "PX", "100000"), ("GET", "k"), 0.25,
        ("GET", "k"), ("GET", "s"), ("SET", "k", "v", "XX"), ("GET", "k"),
    ])


def test_set_keepttl_keeps_and_plain_set_drops_the_ttl(node, reference):
    assert_same_steps(node, reference, [
        ("SET", "keep", "1", "PX", "100"), ("SET", "keep", "2", "KEEPTTL"),
        ("SET", "drop", "1", "PX", "100"), ("SET", "drop", "2"),
        ("SET", "get", "1", "PX", "100"), ("SET", "get", "2", "GET"), 0.25,
        ("GET", "keep"), ("GET", "drop"), ("GET", "get"),
    ])


def test_setnx_setex_and_psetex_match_redis(node, reference):
    assert_same(node, reference, [
        ("SETNX", "k", "1"), ("SETNX", "k", "2"), ("GET", "k"),
        ("SETEX", "e", "100", "v"), ("GET", "e"), ("SETEX", "e", "0", "v"),
        ("SETEX", "e", "-1", "v"), ("SETEX", "e", "x", "v"), ("SETEX", "e", str(LLONG_MAX), "v"),
        ("PSETEX", "p", "100000", "v"), ("GET", "p"), ("PSETEX", "p", "0", "v"),
        ("PSETEX", "p", str(LLONG_MAX), "v"), ("PSETEX", "p", "1.0", "v"),
        ("SETEX", "e", "10"), ("SETNX", "k"), ("PSETEX", "p", "1", "v", "x"),
    ])


def test_setex_and_psetex_expire_the_key(node, reference):
    assert_same_steps(node, reference, [
        ("PSETEX", "p", "100", "v"), ("SETEX", "s", "100", "v"), 0.25,
        ("GET", "p"), ("GET", "s"),
    ])


# --- GETEX, GETDEL, GETSET ---

def test_getex_without_options_is_a_get(node, reference):
    assert_same(node, reference, [("GETEX", "k"), ("SET", "k", "v"), ("GETEX", "k")])


@pytest.mark.parametrize("options", [
    ("PERSIST", "EX", "10"), ("EX", "10", "PERSIST"), ("EX", "10", "PX", "10"), ("NX",),
    ("XX",), ("GET",), ("KEEPTTL",), ("EX",), ("PXAT",), ("FOO",), ("PERSIST", "PERSIST"),
])
def test_getex_option_errors_match_redis(node, reference, options):
    assert_same(node, reference, [("GETEX", "missing", *options), ("SET", "k", "v"),
                                  ("GETEX", "k", *options)])


@pytest.mark.parametrize("option, value", [
    ("EX", "0"), ("EX", "-1"), ("PX", "abc"), ("EX", "9223372036854775"),
    ("PX", str(LLONG_MAX)), ("EXAT", "9223372036854776"), ("PXAT", "0"),
])
def test_getex_checks_the_expire_only_for_an_existing_key(node, reference, option, value):
    assert_same(node, reference, [("GETEX", "k", option, value), ("SET", "k", "v"),
                                  ("GETEX", "k", option, value), ("GET", "k")])


def test_getex_with_a_past_absolute_time_replies_and_deletes(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"), ("GETEX", "k", "PXAT", "1"), ("GET", "k"),
        ("SET", "k", "w"), ("GETEX", "k", "EXAT", "1"), ("GETEX", "k"),
    ])


def test_getex_sets_and_persist_removes_the_ttl(node, reference):
    assert_same_steps(node, reference, [
        ("SET", "px", "v"), ("GETEX", "px", "PX", "100"),
        ("SET", "ex", "v", "PX", "100"), ("GETEX", "ex", "EX", "100"),
        ("SET", "persist", "v", "PX", "100"), ("GETEX", "persist", "persist"),
        ("SET", "plain", "v", "PX", "100"), ("GETEX", "plain"), 0.25,
        ("GET", "px"), ("GET", "ex"), ("GET", "persist"), ("GET", "plain"),
    ])


def test_getdel_returns_the_value_and_removes_the_key(node, reference):
    assert_same(node, reference, [
        ("GETDEL", "k"), ("SET", "k", "v"), ("GETDEL", "k"), ("GET", "k"), ("GETDEL", "k"),
    ])


def test_getset_replaces_the_value_and_drops_the_ttl(node, reference):
    assert_same_steps(node, reference, [
        ("GETSET", "k", "1"), ("GETSET", "k", "2"), ("GET", "k"),
        ("SET", "t", "1", "PX", "100"), ("GETSET", "t", "2"), 0.25, ("GET", "t"),
    ])


# --- MGET, MSET, MSETNX ---

def test_mget_mset_and_msetnx_match_redis(node, reference):
    assert_same(node, reference, [
        ("MGET", "a", "b"), ("MSET", "a", "1", "b", "2", "a", "3"), ("MGET", "a", "b", "c", "a"),
        ("MSET", "a"), ("MSET", "a", "1", "b"), ("MSETNX", "a", "1", "c"),
        ("MSETNX", "c", "1", "d", "2"), ("MSETNX", "d", "x", "a", "y"), ("MGET", "c", "d", "e"),
        ("MSETNX", "e", "1", "e", "2"), ("GET", "e"), ("MGET",),
    ])


def test_mset_drops_the_ttl_and_msetnx_sees_expired_keys_as_absent(node, reference):
    assert_same_steps(node, reference, [
        ("SET", "a", "1", "PX", "100"), ("MSET", "a", "2"), ("SET", "b", "1", "PX", "100"),
        0.25, ("MSETNX", "b", "2", "c", "3"), ("MGET", "a", "b", "c"),
    ])


# --- APPEND, STRLEN, SETRANGE, GETRANGE ---

def test_append_and_strlen_match_redis(node, reference):
    assert_same(node, reference, [
        ("STRLEN", "k"), ("APPEND", "k", "foo"), ("APPEND", "k", ""), ("APPEND", "k", "bar"),
        ("GET", "k"), ("STRLEN", "k"), ("APPEND", "e", ""), ("GET", "e"), ("STRLEN", "e"),
        ("SET", "n", "10"), ("APPEND", "n", "5"), ("INCR", "n"), ("APPEND", "n", "x"),
        ("INCR", "n"), ("GET", "n"),
    ])


def test_append_keeps_the_ttl(node, reference):
    assert_same_steps(node, reference, [
        ("SET", "k", "a", "PX", "100"), ("APPEND", "k", "b"), ("APPEND", "k", "c"), ("GET", "k"),
        0.25, ("GET", "k"),
    ])


def test_edited_values_still_work_with_every_string_command(node, reference):
    assert_same(node, reference, [
        ("SET", "n", "1"), ("APPEND", "n", "2"), ("INCRBYFLOAT", "n", "0.5"), ("APPEND", "n", "5"),
        ("INCRBYFLOAT", "n", "1"), ("SETRANGE", "i", "0", "42"), ("INCR", "i"),
        ("SETRANGE", "i", "0", "7"), ("DECRBY", "i", "10"), ("APPEND", "s", "ohmy"),
        ("APPEND", "s", "text"), ("SET", "t", "mynewtext"), ("LCS", "s", "t"),
        ("GETRANGE", "s", "2", "-2"), ("GETSET", "s", "x"), ("APPEND", "s", "y"), ("GETDEL", "s"),
        ("APPEND", "g", "a"), ("APPEND", "g", "b"), ("GETEX", "g", "PX", "100000"),
        ("MGET", "g", "n", "i"), ("SET", "g", "new", "GET"), ("STRLEN", "g"),
    ])


def test_many_appends_build_the_exact_string(node):
    chunks = [bytes([65 + i % 26]) * 1024 for i in range(1000)]
    with RawClient(node.port) as c:
        c.call("FLUSHALL")
        for i, chunk in enumerate(chunks):
            assert c.call("APPEND", "big", chunk) == b":%d\r\n" % (1024 * (i + 1))
        expected = b"".join(chunks)
        assert c.call("GET", "big") == b"$%d\r\n%s\r\n" % (len(expected), expected)
        assert c.call("STRLEN", "big") == b":1024000\r\n"
        assert c.call("GETRANGE", "big", "1023", "1024") == b"$2\r\nAB\r\n"


def test_setrange_matches_redis(node, reference):
    assert_same(node, reference, [
        ("SETRANGE", "k", "0", ""), ("GET", "k"), ("STRLEN", "k"), ("SETRANGE", "k", "5", ""),
        ("GET", "k"), ("SETRANGE", "k", "3", "abc"), ("GET", "k"), ("SETRANGE", "k", "1", "X"),
        ("GET", "k"), ("SETRANGE", "k", "10", ""), ("SETRANGE", "k", "10", "Z"), ("GET", "k"),
        ("SETRANGE", "k", "-1", "x"), ("SETRANGE", "k", "x", "x"), ("SETRANGE", "k", "1.0", "x"),
        ("SETRANGE", "k", str(LLONG_MAX), "x"), ("SETRANGE", "k", "536870911", "xy"),
        ("SETRANGE", "m", "536870912", "x"), ("SETRANGE", "m", "-1", ""), ("GET", "m"),
        ("SET", "n", "1234"), ("SETRANGE", "n", "1", "9"), ("INCR", "n"), ("GET", "n"),
    ])


def test_setrange_on_a_large_string_edits_in_place(node):
    with RawClient(node.port) as c:
        c.call("FLUSHALL")
        assert c.call("SETRANGE", "k", "100000", "end") == b":100003\r\n"
        for offset in range(0, 100000, 1000):
            c.call("SETRANGE", "k", offset, "x")
        expected = bytearray(100003)
        expected[100000:] = b"end"
        for offset in range(0, 100000, 1000):
            expected[offset] = ord("x")
        assert c.call("GET", "k") == b"$100003\r\n%s\r\n" % expected


def test_setrange_keeps_the_ttl(node, reference):
    assert_same_steps(node, reference, [
        ("SET", "k", "abc", "PX", "100"), ("SETRANGE", "k", "1", "X"), ("GET", "k"), 0.25,
        ("GET", "k"),
    ])


@pytest.mark.parametrize("start, end", [
    (0, -1), (0, 0), (1, 3), (-3, -1), (-1, -3), (-100, 100), (5, 3), (3, 3), (10, 20),
    (-1, -1), (0, 100), (-10, -20), (2, -2), (LLONG_MIN, LLONG_MAX), (LLONG_MAX, LLONG_MIN),
    (-3, 1), (6, -1), (-7, 0),
])
def test_getrange_and_substr_match_redis(node, reference, start, end):
    assert_same(node, reference, [
        ("SET", "k", "abcdef"), ("SET", "e", ""), ("GETRANGE", "k", start, end),
        ("SUBSTR", "k", start, end), ("GETRANGE", "e", start, end),
        ("GETRANGE", "missing", start, end),
    ])


def test_getrange_argument_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "abc"), ("GETRANGE", "k", "a", "1"), ("GETRANGE", "k", "0", "1.5"),
        ("GETRANGE", "missing", "x", "1"), ("GETRANGE", "k", str(LLONG_MAX + 1), "1"),
        ("GETRANGE", "k", "0"), ("SUBSTR", "k", "0", "1", "2"),
    ])


@pytest.fixture(scope="module")
def small_node() -> Iterator[ServerProcess]:
    proc = start_node("--proto-max-bulk-len", "1mb")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def small_reference() -> Iterator[ServerProcess]:
    proc = start_redis_server("--proto-max-bulk-len", "1mb")
    yield proc
    proc.stop()


def test_strings_may_not_outgrow_proto_max_bulk_len(small_node, small_reference):
    near = "x" * (1024 * 1024 - 4)
    assert_same(small_node, small_reference, [
        ("SET", "k", near), ("APPEND", "k", "1234"), ("APPEND", "k", "5"), ("STRLEN", "k"),
        ("SETRANGE", "k", 1024 * 1024 - 1, "y"), ("SETRANGE", "k", 1024 * 1024, "y"),
        ("SETRANGE", "new", 1024 * 1024 - 1, "ab"), ("SETRANGE", "new", 1024 * 1024, ""),
        ("GET", "new"), ("LCS", "a", "b"),
        ("SET", "a", "a" * 600), ("SET", "b", "a" * 600), ("LCS", "a", "b", "LEN"),
        ("SET", "b", "a" * 400), ("LCS", "a", "b", "LEN"),
    ])


# --- counters ---

def test_incr_decr_incrby_decrby_match_redis(node, reference):
    assert_same(node, reference, [
        ("INCR", "k"), ("INCR", "k"), ("DECR", "k"), ("DECR", "d"), ("INCRBY", "k", "10"),
        ("INCRBY", "k", "-100"), ("DECRBY", "k", "-5"), ("DECRBY", "k", "5"), ("GET", "k"),
        ("INCRBY", "k", "abc"), ("INCRBY", "k", "1.5"), ("INCRBY", "k", str(LLONG_MAX + 1)),
        ("DECRBY", "k", "x"), ("incrby", "k", "+1"), ("INCRBY", "k", " 1"), ("GET", "k"),
    ])


@pytest.mark.parametrize("value", [
    "abc", "", " 1", "1 ", "01", "+1", "1.0", "0x10", "-0", "1e3", "99999999999999999999",
    str(LLONG_MAX + 1), str(LLONG_MIN - 1), "0" * 25, "-",
])
def test_incr_on_a_non_integer_value_fails(node, reference, value):
    assert_same(node, reference, [
        ("SET", "k", value), ("INCR", "k"), ("DECR", "k"), ("INCRBY", "k", "2"),
        ("DECRBY", "k", "2"), ("GET", "k"),
    ])


def test_incr_overflow_is_refused_and_leaves_the_value(node, reference):
    assert_same(node, reference, [
        ("SET", "k", str(LLONG_MAX)), ("INCR", "k"), ("INCRBY", "k", "0"), ("DECRBY", "k", "-1"),
        ("SET", "k", str(LLONG_MIN)), ("DECR", "k"), ("INCRBY", "k", "-1"), ("GET", "k"),
        ("DECRBY", "k", str(LLONG_MIN)), ("DECRBY", "missing", str(LLONG_MIN)),
        ("INCRBY", "k", str(LLONG_MAX)), ("SET", "k", "-1"), ("INCRBY", "k", str(LLONG_MIN)),
        ("DECRBY", "k", str(LLONG_MAX)), ("GET", "k"), ("SET", "k", "1"),
        ("INCRBY", "k", str(LLONG_MAX)),
    ])


def test_counters_below_and_past_10000_change_alone(node, reference):
    """Small results are stored as one shared object per value (as Redis's shared
    integers): editing one key never shows in another holding the same number."""
    assert_same(node, reference, [
        ("SET", "a", "9998"), ("INCR", "a"), ("INCR", "b"), ("INCRBY", "b", "9998"),
        ("OBJECT", "ENCODING", "a"), ("OBJECT", "REFCOUNT", "a"), ("APPEND", "a", "1"),
        ("GET", "a"), ("GET", "b"), ("OBJECT", "ENCODING", "a"), ("INCR", "b"),
        ("OBJECT", "ENCODING", "b"), ("OBJECT", "REFCOUNT", "b"), ("DECR", "b"),
        ("SETRANGE", "b", "0", "8"), ("GET", "b"), ("INCR", "c"), ("DECRBY", "c", "2"),
        ("OBJECT", "REFCOUNT", "c"), ("INCR", "c"), ("INCR", "c"), ("GET", "c"),
    ])


def test_incr_keeps_the_ttl(node, reference):
    assert_same_steps(node, reference, [
        ("SET", "k", "1", "PX", "100"), ("INCR", "k"), ("INCRBYFLOAT", "k", "1.5"), ("GET", "k"),
        0.25, ("GET", "k"), ("INCR", "k"),
    ])


@pytest.mark.parametrize("value, increment", [
    ("10.5", "0.1"), ("0", "3.0e3"), ("1.1", "2.2"), ("-5", "2.5"), ("0.1", "-0.1"),
    ("3", "-3.0000000000000000001"), ("1e300", "1e300"), ("0", "1e4000"), ("0", "1e5000"),
    ("0", "1e-4940"), ("0", "1e-5000"), ("0", "-0.0"), ("0x10", "1"), ("0", " 1"), ("0", "1 "),
    ("0", ".5"), ("0", "5."), ("0", "+.5e+1"), ("0", "infinity"), ("0", "-INF"), ("0", "nan"),
    ("0", "0x1p-16500"), ("0", "0x1p-16440"), ("0", "1e"), ("0", "0x"), ("0", "0x.8"),
    ("0", "1_0"), ("0", "0x1P3"), ("abc", "1"), ("1", "abc"), ("", "1"), ("1", ""),
    ("5.0e3", "0"), ("1.23456789012345678901234567890", "0"), ("0.1", "0.2"), ("1", "1e-20"),
    ("123456789012345678901234567890", "1"), ("-1", "0.99999999999999999999"),
    ("1e4932", "1e4932"), ("0", "0x1.fffffffffffffffep+16383"), ("-0.0000000000000000001", "0"),
    ("3.14159265358979323846264338327950288", "0"), ("0", "1.000000000000000000005"),
    ("0", "0" * 5119), ("0", "0." + "0" * 5117 + "1"), ("inf", "1"), ("-inf", "inf"),
    ("0", "1e-4951"), ("0", "1e-4950"), ("1", "-1"), ("7", "-0.000000000000000001"),
    ("1.5", "1e17"), ("0", "123.456e-2"), ("0", "-1e-18"), ("0", "5e-18"), ("0", "1.5e-17"),
])
def test_incrbyfloat_matches_redis_long_double_arithmetic(node, reference, value, increment):
    assert_same(node, reference, [
        ("SET", "k", value), ("INCRBYFLOAT", "k", increment), ("GET", "k"),
        ("INCRBYFLOAT", "missing", increment),
    ])


def test_incrbyfloat_repeated_steps_match_redis(node, reference):
    script: list[Request] = [("INCRBYFLOAT", "k", "0.1") for _ in range(30)]
    script += [("INCRBYFLOAT", "k", "-1.7e-3") for _ in range(10)]
    script += [("INCRBYFLOAT", "k", "1e20"), ("INCRBYFLOAT", "k", "-1e20"), ("GET", "k")]
    assert_same(node, reference, script)


# --- LCS ---

def test_lcs_replies_match_redis(node, reference):
    assert_same(node, reference, [
        ("MSET", "a", "ohmytext", "b", "mynewtext"), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b", "IDX"), ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "a", "b", "idx", "minmatchlen", "-3", "withmatchlen"),
        ("LCS", "a", "b", "LEN", "MINMATCHLEN", "2"), ("LCS", "a", "missing"),
        ("LCS", "missing", "a", "IDX"), ("LCS", "x", "y", "LEN"), ("LCS", "a", "a", "IDX"),
        ("LCS", "a", "b", "WITHMATCHLEN"),
    ])


@pytest.mark.parametrize("options", [
    ("LEN", "IDX"), ("IDX", "LEN"), ("FOO",), ("MINMATCHLEN",), ("MINMATCHLEN", "x"),
    ("MINMATCHLEN", "1.5"), ("IDX", "MINMATCHLEN"), ("LEN", "LEN", "FOO"),
    ("MINMATCHLEN", "x", "LEN", "IDX"),
])
def test_lcs_option_errors_match_redis(node, reference, options):
    assert_same(node, reference, [("MSET", "a", "abc", "b", "abd"), ("LCS", "a", "b", *options)])


def test_lcs_on_random_strings_matches_redis(node, reference):
    rng = random.Random(7)
    script: list[Request] = []
    for _ in range(40):
        a = "".join(rng.choice("ACGT") for _ in range(rng.randint(0, 60)))
        b = "".join(rng.choice("ACG") for _ in range(rng.randint(0, 60)))
        script += [("MSET", "a", a, "b", b), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
                   ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
                   ("LCS", "b", "a", "IDX", "MINMATCHLEN", "2")]
    assert_same(node, reference, script)


def test_lcs_on_long_strings_matches_redis(node, reference):
    rng = random.Random(11)
    a = bytes(rng.choice(b"abcdefgh") for _ in range(2000))
    b = bytes(rng.choice(b"abcdefgh") for _ in range(1500))
    assert_same(node, reference, [
        ("MSET", "a", a, "b", b), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN"),
    ])


# --- RESP3 ---

def test_string_replies_in_resp3_match_redis(node, reference):
    assert_same_resp3(node, reference, [
        ("GET", "k"), ("SET", "k", "v", "GET"), ("SET", "k", "w", "GET"), ("SET", "k", "x", "NX"),
        ("SET", "j", "x", "XX"), ("MGET", "k", "j"), ("GETEX", "j"), ("GETDEL", "j"),
        ("GETSET", "j", "1"), ("SETNX", "j", "2"), ("INCRBYFLOAT", "j", "1.5"),
        ("GETRANGE", "j", "0", "-1"), ("GETRANGE", "none", "0", "-1"), ("STRLEN", "none"),
        ("MSET", "a", "ohmytext", "b", "mynewtext"), ("LCS", "a", "b", "IDX"),
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "2"), ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b"), ("MSETNX", "a", "1"), ("SET", "k", "v", "NX", "EX", "0"),
    ])


def test_redis_py_resp3_client_sees_redis_types(r):
    assert r.get("k") is None
    assert r.set("k", "v") is True
    assert r.set("k", "w", get=True) == b"v"
    assert r.set("k", "x", nx=True) is None
    assert r.mget("k", "missing") == [b"w", None]
    assert r.incrbyfloat("f", 10.5) == 10.5
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.get("f") == b"10.6"
    assert r.incr("n") == 1
    assert r.append("s", "ab") == 2
    assert r.setrange("s", 4, "z") == 5
    assert r.get("s") == b"ab\x00\x00z"
    r.mset({"a": "ohmytext", "b": "mynewtext"})
    assert r.lcs("a", "b") == b"mytext"
    assert r.lcs("a", "b", idx=True, minmatchlen=4, withmatchlen=True) == {
        b"matches": [[[4, 7], [5, 8], 4]], b"len": 6}
    assert r.getex("k", px=100000) == b"w"
    assert r.getdel("k") == b"w"
    assert r.getdel("k") is None


def test_redis_py_resp2_client_gets_the_lcs_index_as_a_flat_list(r2):
    r2.mset({"a": "ohmytext", "b": "mynewtext"})
    reply = r2.execute_command("LCS", "a", "b", "IDX")
    assert reply == [b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6]


def test_set_expiry_from_redis_py_is_honoured(r):
    assert r.set("k", "v", px=100) is True
    assert r.get("k") == b"v"
    time.sleep(0.25)
    assert r.get("k") is None
    assert r.mget("k") == [None]


# --- encoding and allocation history (found by tests/test_differential_random.py) ---

def test_setrange_on_a_new_key_makes_an_exact_raw_string(node, reference):
    assert_same(node, reference, [
        ("SETRANGE", "k", "1", "hello world"), ("MEMORY", "USAGE", "k"),
        ("OBJECT", "ENCODING", "k"), ("APPEND", "k", "abcd"), ("MEMORY", "USAGE", "k"),
    ])


def test_appends_that_fit_the_free_space_keep_the_allocation(node, reference):
    script: list[Request] = [("SET", "k", "x")]
    for _ in range(12):
        script += [("APPEND", "k", "yz"), ("MEMORY", "USAGE", "k")]
    assert_same(node, reference, script)


def test_append_to_a_long_set_value_starts_from_its_trimmed_sds(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "y" * 45), ("APPEND", "k", "a\r\nb\x00c"), ("MEMORY", "USAGE", "k"),
        ("SET", "j", "y" * 60), ("APPEND", "j", "abc"), ("MEMORY", "USAGE", "j"),
        ("SETRANGE", "j", "70", "q"), ("MEMORY", "USAGE", "j"),
    ])


def test_incrbyfloat_integer_result_is_an_embstr(node, reference):
    assert_same(node, reference, [
        ("INCRBYFLOAT", "k", "3"), ("OBJECT", "ENCODING", "k"), ("MEMORY", "USAGE", "k"),
        ("OBJECT", "REFCOUNT", "k"), ("SETRANGE", "k", "0", "4"), ("OBJECT", "ENCODING", "k"),
        ("INCRBYFLOAT", "f", "1e60"), ("OBJECT", "ENCODING", "f"), ("MEMORY", "USAGE", "f"),
        ("APPEND", "f", "1"), ("MEMORY", "USAGE", "f"),
    ])


def test_copy_duplicates_encoding_but_not_sharing(node, reference):
    assert_same(node, reference, [
        ("SET", "i", "7"), ("COPY", "i", "ic"), ("OBJECT", "REFCOUNT", "ic"),
        ("OBJECT", "ENCODING", "ic"), ("APPEND", "ic", "1"), ("MEMORY", "USAGE", "ic"),
        ("SET", "r", "y" * 45), ("COPY", "r", "rc"), ("APPEND", "rc", "abc"),
        ("MEMORY", "USAGE", "rc"), ("APPEND", "r", "x" * 20), ("COPY", "r", "rc2"),
        ("MEMORY", "USAGE", "rc2"), ("OBJECT", "ENCODING", "rc2"),
        ("INCRBYFLOAT", "e", "5"), ("COPY", "e", "ec"), ("OBJECT", "ENCODING", "ec"),
    ])
