"""Integer arguments (commands/integers.py) against string2ll's rules, stated as a pattern:
an optional '-', then "0" alone or digits without a leading zero, within 64 bits. The
compiled build reads short arguments digit by digit, the interpreted one with int()."""

from __future__ import annotations

import random
import re

import pytest
from redslot.node.base.errors import CommandError
from redslot.node.commands.integers import LLONG_MAX, LLONG_MIN, to_int

STRING2LL = re.compile(rb"-?(?:0|[1-9][0-9]*)")


def expected(arg: bytes | bytearray) -> int | None:
    if len(arg) > 20 or not STRING2LL.fullmatch(arg) or arg == b"-0":
        return None
    value = int(arg)
    return value if LLONG_MIN <= value <= LLONG_MAX else None


def parsed(arg: bytes | bytearray) -> int | None:
    try:
        return to_int(arg)
    except CommandError:
        return None


EDGES = [b"", b"-", b"0", b"-0", b"00", b"01", b"-01", b"1", b"-1", b"+1", b" 1", b"1 ",
         b"1a", b"a", b"1.0", b"--1", b"-a", b"1-", b"9" * 18, b"-" + b"9" * 18, b"9" * 19,
         b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
         b"-9223372036854775809", b"0" * 25, b"\xd9\xa1", b"1\x00"]


@pytest.mark.parametrize("arg", EDGES)
def test_edge_arguments_parse_as_string2ll(arg):
    assert parsed(arg) == expected(arg)
    assert parsed(bytearray(arg)) == expected(arg)


def test_random_arguments_parse_as_string2ll():
    rng = random.Random(7)
    for _ in range(50_000):
        arg = bytes(rng.choice(b"0123456789-+ a") for _ in range(rng.randrange(0, 22)))
        number = str(rng.randrange(-2**64, 2**64) >> rng.randrange(64)).encode()
        for case in (arg, number):
            assert parsed(case) == expected(case), case


def test_a_refused_argument_raises_the_callers_message():
    with pytest.raises(CommandError) as exc:
        to_int(b"12x", "ERR custom")
    assert exc.value.message == "ERR custom"
