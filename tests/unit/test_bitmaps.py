"""The bit algorithms (node/types/bitmaps.py) against bit-by-bit reference versions, on
sizes around their chunk boundaries (the 64 KB scan step, adler32's 8190-byte span)."""

from __future__ import annotations

import random

import pytest
from redslot.node.types.bitmaps import (
    FAIL,
    SAT,
    SCAN_CHUNK,
    WRAP,
    combine,
    count_bits,
    count_bits_between,
    find_bit,
    get_signed,
    get_unsigned,
    set_bits,
    signed_overflow,
    unsigned_overflow,
)

SIZES = [1, 2, 9, 8190, 8191, 8192, SCAN_CHUNK - 1, SCAN_CHUNK, SCAN_CHUNK + 1, 3 * SCAN_CHUNK + 7]


def bits_of(data: bytes) -> str:
    return "".join(f"{b:08b}" for b in data)


def bitmap(size: int, kind: str, rng: random.Random) -> bytes:
    if kind == "zeros":
        return bytes(size)
    if kind == "ones":
        return b"\xff" * size
    if kind == "sparse":
        out = bytearray(size)
        for _ in range(3):
            out[rng.randrange(size)] |= 1 << rng.randrange(8)
        return bytes(out)
    return rng.randbytes(size)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["zeros", "ones", "sparse", "random"])
def test_counting_and_searching_agree_with_a_bit_by_bit_scan(size, kind):
    rng = random.Random(size * 7 + len(kind))
    data = bitmap(size, kind, rng)
    bits = bits_of(data)
    spans = [(0, size * 8 - 1)] + [sorted(rng.randrange(size * 8) for _ in range(2)) for _ in range(6)]
    for lo, hi in spans:
        assert count_bits_between(data, lo, hi) == bits[lo:hi + 1].count("1")
        assert count_bits(data, lo >> 3, hi >> 3) == bits[lo & ~7:(hi | 7) + 1].count("1")
        for bit in (0, 1):
            found = bits.find(str(bit), lo, hi + 1)
            assert find_bit(data, bit, lo, hi) == found
            assert find_bit(bytearray(data), bit, lo, hi) == found


@pytest.mark.parametrize("op", [b"and", b"or", b"xor"])
def test_combine_pads_shorter_sources_with_zero_bytes(op):
    rng = random.Random(3)
    sources = [rng.randbytes(n) for n in (5, 0, 40, 17)]
    length = max(map(len, sources))
    padded = [s + bytes(length - len(s)) for s in sources]
    expected = bytearray(padded[0])
    for source in padded[1:]:
        for i, b in enumerate(source):
            expected[i] = {b"and": expected[i] & b, b"or": expected[i] | b, b"xor": expected[i] ^ b}[op]
    assert combine(op, sources, length) == expected
    assert combine(b"not", [sources[0]], 5) == bytes(255 - b for b in sources[0])


def test_fields_read_and_write_across_bytes_and_past_the_end():
    rng = random.Random(4)
    data = bytearray(rng.randbytes(20))
    for _ in range(500):
        bits = rng.randint(1, 64)
        offset = rng.randrange(20 * 8 - bits + 1)
        text = bits_of(bytes(data))[offset:offset + bits]
        assert get_unsigned(data, offset, bits) == int(text, 2)
        signed = int(text, 2) - (1 << bits) if text[0] == "1" else int(text, 2)
        assert get_signed(data, offset, bits) == signed
        value = rng.randrange(-(1 << 63), 1 << 64)
        before = bits_of(bytes(data))
        set_bits(data, offset, bits, value)
        after = bits_of(bytes(data))
        assert after[offset:offset + bits] == format(value & ((1 << bits) - 1), f"0{bits}b")
        assert after[:offset] == before[:offset] and after[offset + bits:] == before[offset + bits:]
    assert get_unsigned(b"\xff", 4, 8) == 0xF0
    assert get_signed(b"", 100, 64) == 0


@pytest.mark.parametrize("value, incr, bits, behaviour, expected", [
    (255, 1, 8, WRAP, (1, 0)), (255, 1, 8, SAT, (1, 255)), (0, -1, 8, SAT, (-1, 0)),
    (0, -1, 8, WRAP, (-1, 255)), (2**64 - 1, 0, 8, SAT, (1, 255)), (5, 3, 8, FAIL, (0, 0)),
    (3, 2**63 - 1, 63, WRAP, (1, 2)), (0, -(2**63), 63, SAT, (-1, 0)), (7, 0, 3, WRAP, (0, 0)),
])
def test_unsigned_overflow_follows_the_c_arithmetic(value, incr, bits, behaviour, expected):
    assert unsigned_overflow(value, incr, bits, behaviour) == expected


@pytest.mark.parametrize("value, incr, bits, behaviour, expected", [
    (127, 1, 8, WRAP, (1, -128)), (127, 1, 8, SAT, (1, 127)), (-128, -1, 8, SAT, (-1, -128)),
    (2**63 - 1, 1, 64, WRAP, (1, -(2**63))), (-(2**63), -1, 64, SAT, (-1, -(2**63))),
    (1000, 0, 8, WRAP, (1, -24)), (-1000, 0, 8, SAT, (-1, -128)), (0, 0, 1, WRAP, (0, 0)),
    (1, 0, 1, WRAP, (1, -1)), (-5, 2**63 - 1, 64, FAIL, (0, 0)), (5, -(2**63), 64, SAT, (0, 0)),
    (-1, -(2**63), 64, SAT, (-1, -(2**63))), (2**62, 2**62, 64, WRAP, (1, -(2**63))),
])
def test_signed_overflow_follows_the_c_arithmetic(value, incr, bits, behaviour, expected):
    assert signed_overflow(value, incr, bits, behaviour) == expected
