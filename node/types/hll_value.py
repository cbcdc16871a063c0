"""An HLL value of either encoding: add an element, count, registers, decode (hllAdd,
hllCount, hllMerge and PFDEBUG DECODE of hyperloglog.c)."""

from __future__ import annotations

from .hll_sparse import sparse_histogram, sparse_raw, sparse_set
from .hyperloglog import (
    DENSE,
    HEADER_SIZE,
    dense_set,
    estimate,
    histogram,
    pattern,
    unpack,
)
from .typeinfo import SdsString


def add(value: SdsString, element: bytes, max_bytes: int) -> int:
    """hllAdd: 1 if a register changed, 0 if not, -1 if the (sparse) value is invalid."""
    index, count = pattern(element)
    if value[4] == DENSE:
        return dense_set(value, index, count)
    return sparse_set(value, index, count, max_bytes)


def count(value: bytes | bytearray) -> int | None:
    """hllCount of a value, or None if its sparse opcodes are invalid."""
    if value[4] != DENSE:
        histo = sparse_histogram(value)
        return None if histo is None else estimate(histo)
    raw = registers(value)
    return None if raw is None else estimate(histogram(raw))


# Decoded registers of the values read last, by object: (encoding and registers bytes,
# raw registers). An entry serves only while the value still holds those bytes, so any
# change (PFADD, SETRANGE, ...) or a new object at the same address simply misses.
_DECODED: dict[int, tuple[bytes, int]] = {}
_DECODED_SIZE = 32


def registers(value: bytes | bytearray) -> int | None:
    """The raw registers (what hllMerge folds in), or None if the value is invalid.

    Unpacking costs tens of microseconds, comparing the bytes with those last decoded
    one: PFCOUNT over several keys and PFMERGE mostly read values that did not change."""
    body = value[4:5] + value[HEADER_SIZE:]
    seen = _DECODED.get(id(value))
    if seen is not None and seen[0] == body:
        return seen[1]
    raw = unpack(value) if value[4] == DENSE else sparse_raw(value)
    if raw is not None:
        if len(_DECODED) >= _DECODED_SIZE:
            del _DECODED[next(iter(_DECODED))]
        _DECODED[id(value)] = (bytes(body), raw)
    return raw


def decode(value: bytes | bytearray) -> bytes:
    """PFDEBUG DECODE: the sparse opcodes as ``z:len``, ``Z:len`` and ``v:value,len``."""
    out = []
    pos = HEADER_SIZE
    end = len(value)
    while pos < end:
        b = value[pos]
        if b < 0x40:
            out.append(b"z:%d" % (b + 1))
            pos += 1
        elif b < 0x80:
            low = value[pos + 1] if pos + 1 < end else 0
            out.append(b"Z:%d" % (((b & 0x3F) << 8 | low) + 1))
            pos += 2
        else:
            out.append(b"v:%d,%d" % (((b >> 2) & 31) + 1, (b & 3) + 1))
            pos += 1
    return b" ".join(out)

