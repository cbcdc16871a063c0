"""What a key and its value cost this process: the figures behind used_memory and eviction.

Redis counts every allocation (zmalloc); a Python process cannot, cheaply. So each key's
cost is estimated when it is written, from the sizes CPython allocates for its objects
(``sys.getsizeof`` rounded up as the allocators round: pymalloc's 16-byte classes up to 512
bytes, glibc malloc's 16-byte chunks with an 8-byte header above that), and kept in the
key's ``Database.sizes`` column; the keyspace keeps the running total (keyspace.py). Aggregates are
estimated from their container sizes (exact, O(1)) plus their element count times the
mean cost of a few elements at fixed positions, so an estimate costs O(1), moves only when
the value changes, and is exact for small values (every element is looked at up to
``EXACT_UPTO``). tests/node/test_memory_accounting.py holds the estimates against the process's
RSS growth for each type.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any, Final

from ..base.sampling import KeySample
from .typeinfo import SHARED_INTEGERS

SMALL_REQUEST = 512  # pymalloc serves requests up to this size
EXACT_UPTO = 8  # aggregates of up to this many elements are summed element by element
SAMPLES = 4

getsizeof = sys.getsizeof


def alloc(nbytes: int) -> int:
    """The bytes an allocation of ``nbytes`` takes: pymalloc size class, or a malloc chunk."""
    if nbytes <= SMALL_REQUEST:
        return (nbytes + 15) & ~15
    return max((nbytes + 8 + 15) & ~15, 32)


def obj(value: Any) -> int:
    """One object's allocation (its own block only, not what it refers to)."""
    return alloc(getsizeof(value))


BYTES_HEADER = getsizeof(b"")  # 33: a bytes object of length n asks for 33 + n bytes
INT = alloc(getsizeof(1 << 40))  # an int object beyond the small-int cache
FLOAT = alloc(getsizeof(1.5))


# CPython keeps one bytes object per single byte (and one empty one): a slice of one byte,
# which is what the protocol parser makes of a one-byte argument, is that object, and
# costs nothing more (measured: 300k one-byte values took 48 bytes a key less than the
# 48 a new object would, tracemalloc).
_ONE_BYTE: Final = tuple(bytes(range(256))[i:i + 1] for i in range(256))
_EMPTY: Final = _ONE_BYTE[0][:0]


# The keyspace keeps one bytes object per integer below SHARED_INTEGERS too, made on
# first use, as Redis its shared integers: INCR and its kin store such a result as that
# object (``integer_bytes``), so a small counter costs nothing for its value and an INCR
# allocates nothing and touches no object of the key's own (a cache miss a call).
_SHARED_DIGITS: Final[list[bytes | None]] = [None] * SHARED_INTEGERS  # Final: no lookup by name


def integer_bytes(n: int) -> bytes:
    """``b"%d" % n``: the shared object when 0 <= n < SHARED_INTEGERS."""
    if not 0 <= n < SHARED_INTEGERS:
        return b"%d" % n
    digits = _SHARED_DIGITS[n]
    if digits is None:
        digits = _ONE_BYTE[48 + n] if n < 10 else b"%d" % n
        _SHARED_DIGITS[n] = digits
    return digits


def shared_bytes(b: bytes) -> bool:
    """Whether ``b`` (at most 4 bytes long) is the interpreter's own object for its value
    (one byte or none) or the keyspace's for its digits (``integer_bytes``)."""
    if len(b) <= 1:
        return b is _ONE_BYTE[b[0]] if b else b is _EMPTY
    n = 0
    for char in b:
        if not 48 <= char <= 57:
            return False
        n = n * 10 + char - 48
    return b[0] != 48 and _SHARED_DIGITS[n] is b


def bytes_cost(b: bytes) -> int:
    if len(b) <= 4 and shared_bytes(b):
        return 0
    return alloc(BYTES_HEADER + len(b))


def blob_cost(b: bytes | bytearray) -> int:
    """A string value: a bytes object, or a bytearray (SdsString) and its separate buffer."""
    if type(b) is bytes:
        return bytes_cost(b)
    buffer = b.__alloc__()  # type: ignore[union-attr]
    return alloc(getsizeof(b) - buffer) + alloc(buffer)


def elements_cost(items: Iterable[Any], count: int, cost: Callable[[Any], int]) -> int:
    """``count`` elements' cost: summed when few, else the first SAMPLES' mean times count."""
    if count <= EXACT_UPTO:
        return sum(map(cost, items))
    return sum(map(cost, islice(items, SAMPLES))) * count // SAMPLES


def picked_cost(items: list[Any], cost: Callable[[Any], int]) -> int:
    """Elements of a list: summed when few, else the mean of four fixed positions."""
    n = len(items)
    if n <= EXACT_UPTO:
        return sum(map(cost, items))
    picks = cost(items[0]) + cost(items[n // 3]) + cost(items[2 * n // 3]) + cost(items[-1])
    return picks * n // 4


FOOTPRINTS: dict[type, Callable[[Any], int]] = {}  # filled by registry.register


def footprint(value: Any) -> int:
    """The bytes ``value`` costs this process (its objects, the value's own containers)."""
    return FOOTPRINTS[type(value)](value)


def rounded(size: int) -> int:
    return (size + 15) & ~15


def index_cost(index: KeySample) -> int:
    """A positional index (base/sampling.py): its list, and once a removal built it, its map
    (table, object, position ints)."""
    keys, where = index.keys, index.where
    return obj(keys) if where is None else obj(keys) + obj(where) + 48 + len(where) * INT
