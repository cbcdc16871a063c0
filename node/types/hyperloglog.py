"""HyperLogLog (hyperloglog.c): the header, the hash, dense registers and the estimator.

An HLL is a plain string, so that GET, DUMP/RESTORE, RDB and replication carry it as
Redis does, and both servers read each other's: a 16-byte header (``HYLL``, the
encoding byte, three unused bytes, the cached cardinality little-endian with its top bit
set when stale) and then the registers, sparse (hll_sparse.py) or dense (16384 6-bit
registers packed LSB first, 12288 bytes). Commands change a value in place, as an
``SdsString``, so the cache and every byte follow Redis's.

Speed in pure Python comes from treating the registers as one integer: the 16384
registers are unpacked to one byte each (``raw`` registers, Redis's HLL_RAW) with a
handful of whole-integer masks and shifts, merged with a bytewise max done the same way
(SWAR), and histogrammed through their bit planes, all at C speed.
"""

from __future__ import annotations

import math
import struct

from .typeinfo import SdsString

HLL_P = 14
REGISTERS = 1 << HLL_P
HLL_Q = 64 - HLL_P
HEADER_SIZE = 16
DENSE_SIZE = HEADER_SIZE + REGISTERS * 6 // 8
DENSE = 0
SPARSE = 1
MAGIC = b"HYLL"
CARD_STALE = 0x80  # in the cached cardinality's last byte
_CARD_LAST = HEADER_SIZE - 1
_ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)
_SEED = 0xADC83B19
_M = 0xC6A4A7935BD1E995
_MASK64 = (1 << 64) - 1
_INDEX_MASK = REGISTERS - 1
_RUN_STOP = 1 << HLL_Q


# --- the hash (MurmurHash64A, endian-neutral as Redis has it) ---

def murmurhash64a(data: bytes, seed: int = _SEED) -> int:
    size = len(data)
    h = (seed ^ (size * _M)) & _MASK64
    blocks = size >> 3
    if blocks:
        for k in struct.unpack_from("<%dQ" % blocks, data):
            k = (k * _M) & _MASK64
            k ^= k >> 47
            h ^= (k * _M) & _MASK64
            h = (h * _M) & _MASK64
    if size & 7:
        h ^= int.from_bytes(data[blocks << 3:], "little")
        h = (h * _M) & _MASK64
    h ^= h >> 47
    h = (h * _M) & _MASK64
    return h ^ (h >> 47)


def pattern(element: bytes) -> tuple[int, int]:
    """hllPatLen: the register an element goes to, and its run of zeroes plus one."""
    h = murmurhash64a(element)
    rest = (h >> HLL_P) | _RUN_STOP
    return h & _INDEX_MASK, (rest & -rest).bit_length()


# --- the header ---

def is_hll(value: bytes | bytearray) -> bool:
    """isHLLObjectOrReply's checks on a string's bytes: magic, known encoding, dense size."""
    if len(value) < HEADER_SIZE or value[:4] != MAGIC:
        return False
    encoding = value[4]
    return encoding == SPARSE or (encoding == DENSE and len(value) == DENSE_SIZE)


def cached_card(value: bytearray) -> int | None:
    """The cached cardinality, or None when it is stale."""
    if value[_CARD_LAST] & CARD_STALE:
        return None
    return int.from_bytes(value[8:HEADER_SIZE], "little")


def store_card(value: bytearray, card: int) -> None:
    value[8:HEADER_SIZE] = card.to_bytes(8, "little")


def invalidate(value: bytearray) -> None:
    value[_CARD_LAST] |= CARD_STALE


# --- dense registers ---

def dense_set(value: bytearray, index: int, count: int) -> int:
    """hllDenseSet: raise register ``index`` to ``count``; 1 if it changed, else 0."""
    bit = index * 6
    byte = HEADER_SIZE + (bit >> 3)
    shift = bit & 7
    if shift <= 2:  # the register lies in one byte (the last one always does)
        word = value[byte]
        if (word >> shift) & 63 >= count:
            return 0
        value[byte] = (word & ~(63 << shift) & 0xFF) | (count << shift)
        return 1
    word = value[byte] | (value[byte + 1] << 8)
    if (word >> shift) & 63 >= count:
        return 0
    word = (word & ~(63 << shift)) | (count << shift)
    value[byte] = word & 0xFF
    value[byte + 1] = word >> 8
    return 1


def _repeated(word: int, size: int) -> int:
    """``word`` (``size`` bytes) repeated over 16384 bytes, little-endian."""
    return int.from_bytes(word.to_bytes(size, "little") * (REGISTERS // size), "little")


# Four registers fill three bytes; spread to four bytes, each 32-bit word holds them at
# bits 0, 6, 12, 18 (packed) or 0, 8, 16, 24 (raw).
_PACKED = tuple(_repeated(63 << (6 * i), 4) for i in range(4))
_RAW = tuple(_repeated(63 << (8 * i), 4) for i in range(4))
_HIGH_BITS = _repeated(0x80, 1)
# The masks of an 8x8 bit transpose within each 64-bit word (Hacker's Delight 7-3).
_TRANSPOSE = ((7, _repeated(0x00AA00AA00AA00AA, 8)), (14, _repeated(0x0000CCCC0000CCCC, 8)),
              (28, _repeated(0x00000000F0F0F0F0, 8)))
_ALL_REGISTERS = (1 << REGISTERS) - 1


def unpack(value: bytes | bytearray, offset: int = HEADER_SIZE) -> int:
    """The 16384 registers of the dense register bytes at ``offset``, one byte each,
    as one little-endian integer (Redis's HLL_RAW form)."""
    spread = bytearray(REGISTERS)
    spread[0::4] = value[offset::3]
    spread[1::4] = value[offset + 1::3]
    spread[2::4] = value[offset + 2::3]
    x = int.from_bytes(spread, "little")
    m0, m1, m2, m3 = _PACKED
    return (x & m0) | ((x & m1) << 2) | ((x & m2) << 4) | ((x & m3) << 6)


def pack(raw: int) -> bytearray:
    """Dense register bytes for raw registers (each below 64)."""
    m0, m1, m2, m3 = _RAW
    x = (raw & m0) | ((raw & m1) >> 2) | ((raw & m2) >> 4) | ((raw & m3) >> 6)
    spread = x.to_bytes(REGISTERS, "little")
    packed = bytearray(DENSE_SIZE - HEADER_SIZE)
    packed[0::3] = spread[0::4]
    packed[1::3] = spread[1::4]
    packed[2::3] = spread[2::4]
    return packed


def raw_bytes(raw: int) -> bytes:
    return raw.to_bytes(REGISTERS, "little")


def raw_max(a: int, b: int) -> int:
    """The bytewise max of two raw register sets (values below 128), SWAR."""
    high = ((a | _HIGH_BITS) - b) & _HIGH_BITS  # 0x80 in each byte where a >= b
    return b ^ ((a ^ b) & (high - (high >> 7)))


def histogram(raw: int) -> list[int]:
    """hllRawRegHisto: how many registers hold each value 0..63.

    The registers' bit planes are cut out at once (an 8x8 bit transpose in every 64-bit
    word puts bit k of eight registers in byte k), then the registers are split plane by
    plane, high bit first, as sets of bits: the counts are the sizes of the leaves."""
    x = raw
    for shift, mask in _TRANSPOSE:
        t = (x ^ (x >> shift)) & mask
        x ^= t ^ (t << shift)
    data = x.to_bytes(REGISTERS, "little")
    nodes = [(0, _ALL_REGISTERS)]
    for bit in range(5, -1, -1):
        plane = int.from_bytes(data[bit::8], "little")
        split = []
        for value, members in nodes:
            ones = members & plane
            zeros = members ^ ones
            if zeros:
                split.append((value, zeros))
            if ones:
                split.append((value | (1 << bit), ones))
        nodes = split
    histo = [0] * 64
    for value, members in nodes:
        histo[value] = members.bit_count()
    return histo


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        z_prime = z
        z += x * y
        y += y
        if z_prime == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        z_prime = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if z_prime == z:
            return z / 3


def estimate(histo: list[int]) -> int:
    """hllCount's estimate from the register histogram, rounded as llroundl."""
    m = float(REGISTERS)
    z = m * _tau((m - histo[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = _ALPHA_INF * m * m / z
    whole = math.floor(e)
    return int(whole) + (1 if e - whole >= 0.5 else 0)


# --- a fresh value ---

def new_hll() -> SdsString:
    """createHLLObject: sparse, every register in one XZERO opcode, the cache valid at 0."""
    return SdsString(MAGIC + bytes((SPARSE, 0, 0, 0)) + bytes(8) + b"\x7f\xff")
