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
    if value[4] == DENSE:
        return estimate(histogram(unpack(value)))
    histo = sparse_histogram(value)
    return None if histo is None else estimate(histo)


def registers(value: bytes | bytearray) -> int | None:
    """The raw registers (what hllMerge folds in), or None if the value is invalid."""
    if value[4] == DENSE:
        return unpack(value)
    return sparse_raw(value)


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

