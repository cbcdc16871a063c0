"""The packed form of small values (node/types/packed.py): what goes in comes out, and the
value lookup agrees with a dict for every key and non-key, at both length widths."""

from __future__ import annotations

import random

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
