"""The packed form of small values (node/types/packed.py): what goes in comes out, and the
value lookup agrees with a dict for every key and non-key, at both length widths."""

from __future__ import annotations

import random
from array import array

import pytest
from redslot.node.types.packed import count, pack, unpack, value_of


def random_pairs(rnd: random.Random) -> list[bytes]:
    keys = {rnd.randbytes(rnd.randrange(0, 6)) for _ in range(rnd.randrange(0, 12))}
    elements: list[bytes] = []
    for key in keys:
        elements += [key, rnd.randbytes(rnd.choice([0, 3, 255, 256, 300]))]
    return elements


@pytest.mark.parametrize("seed", range(4))
def test_pack_round_trips_and_value_of_agrees_with_a_dict(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(500):
        elements = random_pairs(rnd)
        packed = pack(elements)
        assert unpack(packed) == elements
        assert count(packed) == len(elements)
        table = dict(zip(elements[::2], elements[1::2], strict=True))
        for probe in [*table, b"", b"zz", b"\x01\x02", *table.values()]:
            assert value_of(packed, probe) == table.get(probe), (elements, probe)


def test_a_value_equal_to_a_key_is_not_taken_for_one() -> None:
    packed = pack([b"a", b"b", b"b", b"c"])
    assert value_of(packed, b"b") == b"c"
    assert value_of(pack([b"a", b"b"]), b"b") is None
    assert value_of(pack([]), b"a") is None


def test_the_layout_is_width_count_lengths_then_elements() -> None:
    """The form value_of and count read without unpacking: a width byte, a 4-byte count,
    the lengths at that width, the elements end to end."""
    assert pack([b"ab", b"", b"c"]) == b"\x01\x03\x00\x00\x00\x02\x00\x01abc"
    wide = pack([b"x" * 256, b"y"])
    assert wide[:13] == b"\x04\x02\x00\x00\x00" + array("I", [256, 1]).tobytes()
    assert wide[13:] == b"x" * 256 + b"y" and unpack(wide) == [b"x" * 256, b"y"]
