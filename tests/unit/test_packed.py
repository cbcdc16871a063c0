"""The packed form of small values (node/types/packed.py): what goes in comes out, and the
value lookup agrees with a dict for every key and non-key, at both length widths."""

from __future__ import annotations

import random
from array import array

import pytest
from redslot.node.base.compiled import pure as pure_build
from redslot.node.types import packed as packed_module
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


# --- the C functions (_packed.c) and their plain-Python twins ---

C = None if pure_build() else pytest.importorskip("redslot.node.types._packed")
TWINS = [("python", packed_module._pack_py, packed_module._unpack_py, packed_module._index_of_py,
          packed_module._field_index_py, packed_module._value_of_py, packed_module._splice_py)]
if C is not None:
    TWINS.append(("c", C.pack, C.unpack, C.index_of, C.field_index, C.value_of, C.splice))
LENGTHS = [0, 1, 3, 64, 255, 256, 300]


def random_elements(rnd: random.Random, most: int = 10) -> list[bytes]:
    return [rnd.choice([b"a", b"b", b""]) * rnd.choice(LENGTHS) if rnd.random() < 0.3
            else rnd.randbytes(rnd.choice(LENGTHS)) for _ in range(rnd.randrange(0, most))]


class Tailed(bytes):
    """Like a PackedSet: bytes subclass, packed elements then one trailing byte."""


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t[0])
@pytest.mark.parametrize("seed", range(3))
def test_splice_is_pack_of_the_edited_list_plus_the_trailer(twin, seed: int) -> None:
    """Byte for byte what packing the edited list gives, including the width rule (four-
    byte lengths only while an element is 256 bytes or longer, so removing the last long
    element narrows them), with the trailer kept, replaced or dropped with the last
    element."""
    _, c_pack, _, _, _, _, c_splice = twin
    rnd = random.Random(seed)
    for _ in range(1500):
        elements = random_elements(rnd)
        old_tail = rnd.choice([b"", b"\x07", b"tail!"])
        packed = pack(elements) + old_tail if elements else b""
        if rnd.random() < 0.3:
            packed = Tailed(packed)
        at = rnd.randrange(0, len(elements) + 1)
        remove = rnd.randrange(0, len(elements) - at + 1)
        new = random_elements(rnd, 4)
        trailer = rnd.choice([None, b"", b"\x09"])
        edited = elements[:at] + new + elements[at + remove:]
        tail = (old_tail if elements else b"") if trailer is None else trailer
        expected = pack(edited) + tail if edited else b""
        got = c_splice(packed, at, remove, new, trailer)
        assert type(got) is bytes
        assert got == expected, (elements, at, remove, new, trailer)
        assert c_pack(edited) == pack(edited)


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t[0])
def test_splice_refuses_a_range_outside_the_list(twin) -> None:
    c_splice = twin[6]
    packed = pack([b"a", b"b"])
    for at, remove in [(-1, 0), (3, 0), (0, 3), (2, 1), (1, -1)]:
        with pytest.raises(IndexError):
            c_splice(packed, at, remove, [], None)


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t[0])
@pytest.mark.parametrize("seed", range(3))
def test_lookups_agree_with_the_list(twin, seed: int) -> None:
    """unpack, index_of (any position), field_index (fields only: a value equal to a
    field is never taken for it) and value_of, at both widths, on bytes and a subclass."""
    _, c_pack, c_unpack, c_index_of, c_field_index, c_value_of, _ = twin
    rnd = random.Random(seed)
    for _ in range(500):
        elements = random_elements(rnd, 12)
        if len(elements) & 1:
            elements.pop()
        packed = c_pack(elements)
        if rnd.random() < 0.3:
            packed = Tailed(packed + b"\x03" if packed else packed)
        assert c_unpack(packed) == elements
        fields = elements[::2]
        for probe in {*elements, b"", b"zz", b"a" * 256}:
            assert c_index_of(packed, probe) == (elements.index(probe) if probe in elements else -1)
            want = 2 * fields.index(probe) if probe in fields else -1
            assert c_field_index(packed, probe) == want
            assert c_value_of(packed, probe) == (elements[want + 1] if want >= 0 else None)
