"""Bit-level algorithms on string values (bitops.c): counting, searching and combining bits,
and reading or writing integers of 1 to 64 bits at any bit offset (BITFIELD).

Bit 0 is the most significant bit of the first byte, so a run of bytes read big-endian as
one Python int holds the bits in order: the first set bit follows from ``int.bit_length``
and BITOP combines whole strings as ints; popcounts are summed by table and checksum (see
``count_bits``). Every pass over a large string thus runs in C, never as a Python loop
per byte or bit.
"""

from __future__ import annotations

from functools import reduce
from zlib import adler32

Bytes = bytes | bytearray

SCAN_CHUNK = 1 << 16
"""Bytes examined per step by ``count_bits`` and ``find_bit``: a hit near the start of a
search costs little, and a chunk with nothing to count or find is skipped whole."""
_ZEROS = bytes(SCAN_CHUNK)
_ONES = b"\xff" * SCAN_CHUNK
_POPCOUNTS = bytes(i.bit_count() for i in range(256))
_ADLER_SPAN = 8190  # 8 * 8190 < 65521, so adler32's byte sum never wraps

BITOP_NAMES = (b"and", b"or", b"xor", b"not")
_COMBINE = {b"and": int.__and__, b"or": int.__or__, b"xor": int.__xor__}

# BITFIELD OVERFLOW behaviours (BFOVERFLOW_*)
WRAP, SAT, FAIL = 0, 1, 2

_U64 = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1


def int64(value: int) -> int:
    """``value`` as C's int64_t holds it after unsigned 64-bit arithmetic (wrapped)."""
    value &= _U64
    return value - (1 << 64) if value >> 63 else value


# --- counting and searching ---

def count_bits(data: Bytes, first: int, last: int) -> int:
    """Set bits in the bytes ``first`` to ``last`` inclusive (redisPopcount).

    Runs of ``SCAN_CHUNK`` zero bytes are skipped at memcmp speed, as sparse bitmaps are
    common. Other bytes are mapped to their popcounts with ``translate`` and summed by
    zlib's adler32, whose first half is the byte sum modulo 65521: exact over
    ``_ADLER_SPAN`` bytes of at most 8 each. That is about twice as fast as
    ``int.from_bytes(...).bit_count()`` on dense bitmaps.
    """
    count = 0
    for pos in range(first, last + 1, SCAN_CHUNK):
        stop = min(pos + SCAN_CHUNK, last + 1)
        if stop - pos == SCAN_CHUNK and data.startswith(_ZEROS, pos, stop):
            continue
        counts = data[pos:stop].translate(_POPCOUNTS)
        with memoryview(counts) as view:
            for start in range(0, len(counts), _ADLER_SPAN):
                with view[start:start + _ADLER_SPAN] as span:
                    count += adler32(span, 0) & 0xFFFF
    return count


def count_bits_between(data: Bytes, lo: int, hi: int) -> int:
    """Set bits among the bits ``lo`` to ``hi`` inclusive (BITCOUNT ... BIT)."""
    first, last = lo >> 3, hi >> 3
    count = count_bits(data, first, last)
    count -= (data[first] >> (8 - (lo & 7))).bit_count()
    return count - (data[last] & ((1 << (7 - (hi & 7))) - 1)).bit_count()


def find_bit(data: Bytes, bit: int, lo: int, hi: int) -> int:
    """The first bit equal to ``bit`` among the bits ``lo`` to ``hi`` inclusive, or -1.

    The bytes are examined ``SCAN_CHUNK`` at a time: a chunk with nothing to find (all
    clear, or all set when looking for a clear bit) is skipped at memcmp speed; otherwise
    it is read as an int, inverted for a clear bit, so both look for its first set bit.
    """
    first, last = lo >> 3, hi >> 3
    skip = _ONES if not bit else _ZEROS
    with memoryview(data) as view:
        pos = first
        while pos <= last:
            stop = min(pos + SCAN_CHUNK, last + 1)
            if stop - pos == SCAN_CHUNK and data.startswith(skip, pos, stop):
                pos = stop
                continue
            with view[pos:stop] as span:
                chunk = int.from_bytes(span, "big")
            width = (stop - pos) * 8
            if not bit:
                chunk ^= (1 << width) - 1
            if pos == first:
                chunk &= (1 << (width - (lo & 7))) - 1
            if stop == last + 1:
                tail = 7 - (hi & 7)
                chunk = chunk >> tail << tail
            if chunk:
                return pos * 8 + width - chunk.bit_length()
            pos = stop
    return -1


# --- BITOP ---

def combine(op: bytes, sources: list[Bytes], length: int) -> bytes:
    """BITOP ``op`` over ``sources`` zero-padded to ``length`` bytes (NOT takes one)."""
    values = [int.from_bytes(s, "big") << (8 * (length - len(s))) for s in sources]
    if op == b"not":
        result = values[0] ^ ((1 << (8 * length)) - 1)
    else:
        result = reduce(_COMBINE[op], values)
    return result.to_bytes(length, "big")


# --- BITFIELD integers ---

def get_unsigned(data: Bytes, offset: int, bits: int) -> int:
    """getUnsignedBitfield: ``bits`` bits from bit ``offset``; bits past the end read 0."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    window = data[first:last + 1]
    number = int.from_bytes(window, "big") << (8 * (last + 1 - first - len(window)))
    return (number >> (7 - ((offset + bits - 1) & 7))) & ((1 << bits) - 1)


def get_signed(data: Bytes, offset: int, bits: int) -> int:
    """getSignedBitfield: the same bits read as two's complement."""
    value = get_unsigned(data, offset, bits)
    return value - (1 << bits) if value >> (bits - 1) else value


def set_bits(data: bytearray, offset: int, bits: int, value: int) -> None:
    """setUnsignedBitfield / setSignedBitfield: the low ``bits`` bits of ``value`` (two's
    complement for negatives) written from bit ``offset``; ``data`` is long enough."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    shift = 7 - ((offset + bits - 1) & 7)
    mask = ((1 << bits) - 1) << shift
    number = int.from_bytes(data[first:last + 1], "big")
    number = (number & ~mask) | ((value << shift) & mask)
    data[first:last + 1] = number.to_bytes(last + 1 - first, "big")


def unsigned_overflow(value: int, incr: int, bits: int, behaviour: int) -> tuple[int, int]:
    """checkUnsignedBitfieldOverflow: (1 over, -1 under or 0, the value to store instead).

    ``value`` is a uint64_t (a SET value arrives as its 64-bit pattern, so a negative one
    counts as huge) and ``incr`` an int64_t; the comparisons wrap as the C ones do.
    """
    top = (1 << bits) - 1
    if value > top or (incr > 0 and incr > int64(top - value)):
        direction, limit = 1, top
    elif incr < 0 and incr < int64(-value):
        direction, limit = -1, 0
    else:
        return 0, 0
    if behaviour == WRAP:
        limit = (value + incr) & top
    return direction, limit


def signed_overflow(value: int, incr: int, bits: int, behaviour: int) -> tuple[int, int]:
    """checkSignedBitfieldOverflow: as ``unsigned_overflow`` for signed ``bits``-bit
    integers; WRAP keeps the low bits, sign-extended."""
    top = INT64_MAX if bits == 64 else (1 << (bits - 1)) - 1
    bottom = -top - 1
    maxincr = int64(top - value)
    minincr = int64(bottom - value)
    if value > top or (bits != 64 and incr > maxincr) or (
            value >= 0 and incr > 0 and incr > maxincr):
        direction, limit = 1, top
    elif value < bottom or (bits != 64 and incr < minincr) or (
            value < 0 and incr < 0 and incr < minincr):
        direction, limit = -1, bottom
    else:
        return 0, 0
    if behaviour == WRAP:
        low = (value + incr) & ((1 << bits) - 1)
        limit = low - (1 << bits) if low >> (bits - 1) else low
    return direction, limit
