"""The C array encoder (protocol/_encode.c) against reply.py's element-by-element one.

Both must give the same bytes for every array the C one accepts, and the C one must
decline (None) every array holding an element it does not encode, so reply.py's path
takes the whole array. Real replies of the node are held to redis-server's by the
differential tests; this holds the two encoders to each other on arrays no command
happens to return.
"""

from __future__ import annotations

import math
import random
import sys

import pytest
from redslot.node.base.errors import CommandError
from redslot.node.protocol import reply

array = reply._encode_array
pytestmark = pytest.mark.skipif(array is None, reason="the C extensions are not built")

EDGE_INTS = [0, 1, -1, 9, 10, -10, 99, 2**31, -(2**31), 2**63 - 1, -(2**63), 10**18]
EDGE_FLOATS = [0.0, -0.0, 1.5, -2.25, 1e300, -1e-300, 5e-324, 1.7976931348623157e308,
               math.inf, -math.inf, 0.1, 1 / 3, 123456789.0, 1e16, 1e17, 3.0]


def by_parts(items, resp3: bool) -> bytes:
    out: list[bytes] = []
    reply._array_parts(out, items, resp3)
    return b"".join(out)


def element(rng: random.Random):
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randbytes(rng.choice([0, 1, 3, 9, 10, 99, 100, 1023, 1024, 5000]))
    if kind == 1:
        return None
    if kind == 2:
        return rng.choice(EDGE_INTS + [rng.randrange(-(2**63), 2**63)])
    if kind == 3:
        return rng.choice(EDGE_FLOATS + [rng.uniform(-1e6, 1e6), rng.random() * 10 ** rng.randrange(-20, 20)])
    return b"m%03d" % rng.randrange(1000)


@pytest.mark.parametrize("resp3", [False, True])
def test_random_arrays_encode_as_reply_py_does(resp3):
    rng = random.Random(7)
    for _ in range(3000):
        items = [element(rng) for _ in range(rng.choice([0, 1, 2, 5, 100]))]
        for seq in (items, tuple(items)):
            assert array(seq, resp3) == by_parts(seq, resp3), seq


@pytest.mark.parametrize("resp3", [False, True])
@pytest.mark.parametrize("value", EDGE_INTS + EDGE_FLOATS + [b"", b"\r\n", None])
def test_edge_elements_encode_as_reply_py_does(value, resp3):
    assert array([b"x", value], resp3) == by_parts([b"x", value], resp3)


@pytest.mark.parametrize("odd", [True, False, 2**63, -(2**63) - 1, bytearray(b"ab"),
                                 memoryview(b"ab"), "OK", [b"nested"], (1, 2), {b"k": b"v"},
                                 CommandError("ERR x"), reply.NULL_ARRAY,
                                 reply.SetReply([b"a"])])
def test_an_element_it_does_not_encode_leaves_the_whole_array_to_reply_py(odd):
    items = [b"a", 1, odd, b"b"]
    assert array(items, False) is None and array(items, True) is None
    out: list[bytes] = []
    reply._array(out, items, False)
    assert b"".join(out) == by_parts(items, False)


def test_only_lists_and_tuples_are_encoded():
    assert array(reply.SetReply([b"a"]), False) is None
    assert array(reply.Push([b"a"]), True) is None


def test_no_reference_is_leaked_or_taken():
    items = [b"shared-member", 7, 2.5, None] * 10
    before = [sys.getrefcount(x) for x in items[:4]]
    for _ in range(1000):
        array(items, False)
        array(items + [True], True)
    assert [sys.getrefcount(x) for x in items[:4]] == before
