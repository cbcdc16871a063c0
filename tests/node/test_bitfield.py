"""BITFIELD and BITFIELD_RO against Debian's redis-server: every type width, ``#`` offsets,
OVERFLOW WRAP | SAT | FAIL at the limits of each width, several operations per call, and
every error text, over RESP2 and RESP3.
"""

from __future__ import annotations

import pytest
from differential import assert_same, assert_same_resp3

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)


def both(node, reference, script: list) -> None:
    assert_same(node, reference, script)
    assert_same_resp3(node, reference, script)


def test_get_set_and_incrby_of_several_fields_in_one_call(node, reference):
    both(node, reference, [
        ("BITFIELD", "k", "SET", "i8", "0", "-100", "GET", "u4", "0", "INCRBY", "i5", "#3", "100",
         "GET", "i5", "#3", "SET", "u16", "#2", "65535", "GET", "u8", "32", "GET", "i16", "#2"),
        ("GET", "k"), ("BITFIELD", "k"), ("BITFIELD", "missing"), ("BITFIELD", "missing", "GET", "u8", "0"),
        ("EXISTS", "missing"), ("BITFIELD", "k", "GET", "i64", "0", "GET", "u63", "1", "GET", "i1", "0"),
        ("BITFIELD", "k", "get", "u8", "0", "Set", "u8", "0", "1", "incrBY", "u8", "0", "2"),
        ("BITFIELD", "k", "OVERFLOW", "SAT"), ("BITFIELD", "k", "overflow", "wrap", "overflow", "fail"),
    ])


@pytest.mark.parametrize("width", ["i1", "u1", "i2", "u2", "i7", "u7", "i8", "u8", "i13", "u31",
                                   "i32", "u32", "i33", "i63", "u63", "i64"])
def test_overflow_behaviours_at_the_limits_of_each_width(node, reference, width):
    bits = int(width[1:])
    signed = width[0] == "i"
    top = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    bottom = -top - 1 if signed else 0
    values = sorted({top, bottom, top + 1, bottom - 1, 0, 1, -1, top // 2, LLONG_MAX, LLONG_MIN,
                     2 * top + 5, -2 * top - 5, LLONG_MAX - 1, LLONG_MIN + 1})
    values = [v for v in values if LLONG_MIN <= v <= LLONG_MAX]
    script: list = []
    for behaviour in ("WRAP", "SAT", "FAIL"):
        for offset in ("0", "5", "#2"):
            for value in values:
                script.append(("BITFIELD", "k", "OVERFLOW", behaviour, "SET", width, offset, str(value),
                               "GET", width, offset))
                for incr in (1, -1, top, -top - 1, LLONG_MAX, LLONG_MIN, 3):
                    script.append(("BITFIELD", "k", "OVERFLOW", behaviour, "INCRBY", width, offset,
                                   str(incr), "GET", width, offset))
        script.append(("GET", "k"))
    assert_same(node, reference, script)


def test_overflow_applies_to_the_operations_after_it(node, reference):
    both(node, reference, [
        ("BITFIELD", "k", "SET", "u2", "0", "3", "INCRBY", "u2", "0", "1", "OVERFLOW", "SAT",
         "INCRBY", "u2", "0", "5", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "1", "SET", "u2", "0", "9",
         "OVERFLOW", "WRAP", "INCRBY", "u2", "0", "1"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "200"), ("GET", "f"), ("EXISTS", "f"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i8", "800", "200"), ("STRLEN", "f"),
    ])


def test_fields_cross_byte_boundaries_and_the_end_of_the_string(node, reference):
    script: list = [("SET", "k", "\xa5\x5a\xff\x00\x81")]
    for offset in ("0", "1", "3", "7", "9", "15", "30", "33", "39", "40", "100"):
        for width in ("u1", "u3", "i5", "u9", "i17", "u33", "i64", "u63"):
            script.append(("BITFIELD_RO", "k", "GET", width, offset))
    script += [("BITFIELD", "k", "SET", "u9", "35", "511"), ("GET", "k"),
               ("BITFIELD", "k", "INCRBY", "i64", "3", "-1"), ("GET", "k")]
    both(node, reference, script)


def test_int_encoded_strings_read_as_their_digits(node, reference):
    both(node, reference, [
        ("SET", "n", "12345"), ("BITFIELD", "n", "GET", "u8", "0", "GET", "i16", "#2"),
        ("BITFIELD_RO", "n", "GET", "u40", "0"), ("OBJECT", "ENCODING", "n"),
        ("BITFIELD", "n", "INCRBY", "u8", "0", "1"), ("GET", "n"), ("OBJECT", "ENCODING", "n"),
    ])


@pytest.mark.parametrize("args", [
    ("GET",), ("GET", "u8"), ("SET", "u8", "0"), ("INCRBY", "u8", "0"), ("OVERFLOW",),
    ("FOO", "u8", "0"), ("GET", "u64", "0"), ("GET", "u0", "0"), ("GET", "i65", "0"),
    ("GET", "x8", "0"), ("GET", "U8", "0"), ("GET", "I8", "0"), ("GET", "", "0"), ("GET", "i", "0"),
    ("GET", "i08", "0"), ("GET", "i-8", "0"), ("GET", "i+8", "0"), ("GET", "u99999999999999999999", "0"),
    ("GET", b"i8\x00x", "0"), ("GET", b"i\x008", "0"), ("GET", "u8", "-1"), ("GET", "u8", "x"),
    ("GET", "u8", "#-1"), ("GET", "u8", "#"), ("GET", "u8", "##1"), ("GET", "u8", "4294967296"),
    ("GET", "u8", "#536870912"), ("GET", "u8", "#536870911"), ("GET", "i64", "#67108864"),
    ("GET", "i64", "#144115188075855872"), ("GET", "i64", "#9223372036854775807"),
    ("GET", "u8", str(LLONG_MAX)), ("SET", "u8", "0", "x"), ("SET", "u8", "0", "1.5"),
    ("SET", "u8", "0", str(LLONG_MAX + 1)), ("INCRBY", "u8", "0", ""), ("OVERFLOW", "SATURATE"),
    ("OVERFLOW", "x", "GET", "u8", "0"), ("OVERFLOW", b"sat\x00x", "INCRBY", "u8", "0", "300"),
    (b"get\x00x", "u8", "0"), ("GET", "u8", "0", "SET"), ("GET", "u8", "0", "SET", "u8", "x", "1"),
    ("SET", "u8", "0", "1", "GET", "u8", "#x"), ("GET", "u8", "0", "OVERFLOW", "FAIL", "FOO"),
])
def test_argument_errors(node, reference, args):
    both(node, reference, [("SET", "k", "ab"), ("BITFIELD", "k", *args), ("BITFIELD_RO", "k", *args),
                           ("BITFIELD", "missing", *args), ("GET", "k"), ("EXISTS", "missing")])


def test_bitfield_ro_only_gets(node, reference):
    both(node, reference, [
        ("SET", "k", "\x10\x20"), ("BITFIELD_RO", "k", "GET", "u8", "0", "GET", "i4", "#1"),
        ("BITFIELD_RO", "k", "SET", "u8", "0", "1"), ("BITFIELD_RO", "k", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "k", "OVERFLOW", "FAIL"), ("BITFIELD_RO", "k", "OVERFLOW", "FAIL", "GET", "u2", "1"),
        ("BITFIELD_RO", "missing", "GET", "i8", "0"), ("BITFIELD_RO", "missing", "SET", "i8", "0", "1"),
        ("BITFIELD_RO", "k", "SET", "u8", "0", "x"), ("BITFIELD_RO", "k"), ("GET", "k"), ("EXISTS", "missing"),
    ])
