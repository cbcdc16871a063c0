"""A list of short byte strings packed into one bytes object: small values' compact form.

A Python object per field costs 48 bytes or more (a 3-field hash as a dict of bytes took
about 560 bytes); packed, the same fields cost their length plus one byte each. Like
Redis's listpack, a change makes the next value, copying the bytes around it (``splice``),
which stays cheap at the sizes it is used for (the types convert to their big structure
past Redis's listpack limits).

Layout: a width byte (1 when every element is shorter than 256 bytes, else 4), the element
count (4 bytes, little-endian), the element lengths (``width`` bytes each, native order:
the form lives only in memory, snapshots use Redis's listpack), then the elements end to
end, then whatever the owner appends (a set's bucket byte). The empty list is ``b""``.

The compiled build reads and edits the form in C (``_packed.c``: a change copies the bytes
around it instead of unpacking every element); the functions below are its plain-Python
twins, which give the same results (tests/unit/test_packed.py holds the two together).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Final, cast

from ..base.compiled import extension

EMPTY = b""
_HEADER = 5


def _pack_py(elements: list[bytes]) -> bytes:
    """The one-byte lengths are made by ``bytes`` from the lengths directly, which refuses
    one of 256 or more (then four-byte lengths): 0.77 -> 0.54 us for a 3-field hash in
    plain Python against building a list and taking its max."""
    if not elements:
        return EMPTY
    count = len(elements).to_bytes(4, "little")
    try:
        lengths = bytes(map(len, elements))
    except ValueError:
        return b"".join([b"\x04", count, array("I", map(len, elements)).tobytes(), *elements])
    return b"".join([b"\x01", count, lengths, *elements])


def count(packed: bytes) -> int:
    """How many elements ``packed`` holds, without unpacking it (four byte reads: compiled,
    126 -> 35 ns a call against a slice and ``int.from_bytes``)."""
    if not packed:
        return 0
    return packed[1] | packed[2] << 8 | packed[3] << 16 | packed[4] << 24


def _unpack_py(packed: bytes) -> list[bytes]:
    """The elements, sliced out by a plain loop over the lengths: compiled, that is a
    few native operations per element (accumulate and zip went through generic calls:
    4.1x as long compiled for a one-field hash, 2.8x for 16 fields; 2.4x and 1.2x in plain
    Python)."""
    if not packed:
        return []
    n = count(packed)
    start = _HEADER + packed[0] * n
    out: list[bytes] = []
    pos = start
    if packed[0] == 1:
        for i in range(_HEADER, start):
            end = pos + packed[i]
            out.append(packed[pos:end])
            pos = end
    else:
        for length in array("I", packed[_HEADER:start]):
            end = pos + length
            out.append(packed[pos:end])
            pos = end
    return out


def _find_field(packed: bytes, field: bytes) -> tuple[int, int, bytes | array[int]]:
    """In fields and values alternating, the position of the field ``field`` (even), where
    its value starts and the lengths; (-1, 0, b"") when absent. Values are never compared,
    and no other element is sliced out."""
    if not packed:
        return -1, 0, EMPTY
    n = count(packed)
    start = _HEADER + packed[0] * n
    lengths: bytes | array[int] = (packed[_HEADER:start] if packed[0] == 1
                                   else array("I", packed[_HEADER:start]))
    size = len(field)
    pos = start
    for i in range(0, n, 2):
        length = lengths[i]
        end = pos + length
        if length == size and packed[pos:end] == field:
            return i, end, lengths
        pos = end + lengths[i + 1]
    return -1, 0, EMPTY


def _value_of_py(packed: bytes, key: bytes) -> bytes | None:
    """The value after the field ``key`` (None if ``key`` is not a field): HGET's path,
    twice as fast as ``unpack`` on a small hash."""
    i, at, lengths = _find_field(packed, key)
    return None if i < 0 else packed[at:at + lengths[i + 1]]


def _index_of_py(packed: bytes, element: bytes) -> int:
    """The position of ``element`` in ``packed`` (-1 when absent), comparing only the
    elements of its length and slicing out no other: a small set's membership test."""
    if not packed:
        return -1
    n = count(packed)
    start = _HEADER + packed[0] * n
    size = len(element)
    pos = start
    if packed[0] == 1:
        for i in range(_HEADER, start):
            length = packed[i]
            if length == size and packed[pos:pos + length] == element:
                return i - _HEADER
            pos += length
        return -1
    for i, length in enumerate(array("I", packed[_HEADER:start])):
        if length == size and packed[pos:pos + length] == element:
            return i
        pos += length
    return -1


def _field_index_py(packed: bytes, field: bytes) -> int:
    """In fields and values alternating, the position of the field ``field`` (even; -1
    when absent)."""
    return _find_field(packed, field)[0]


def _splice_py(packed: bytes, at: int, remove: int, elements: list[bytes],
               trailer: bytes | None) -> bytes:
    """``packed`` with its elements [at, at + remove) replaced by ``elements``, followed by
    ``trailer`` (None: the bytes that followed the elements); b"" when none is left. With
    one-byte lengths before and after, the parts around the change are sliced out as they
    are; otherwise the elements are unpacked and packed again."""
    n = count(packed)
    if at < 0 or remove < 0 or at > n or remove > n - at:
        raise IndexError("splice(): range out of the packed list")
    total = n - remove + len(elements)
    if not total:
        return EMPTY
    start = _HEADER + packed[0] * n if packed else 0
    if not packed or packed[0] == 1:
        lengths = packed[_HEADER:start]
        try:
            added = bytes(map(len, elements))
        except ValueError:  # an element of 256 bytes or more: four-byte lengths
            pass
        else:
            cut_from = start + sum(lengths[:at])
            cut_to = cut_from + sum(lengths[at:at + remove])
            end = cut_to + sum(lengths[at + remove:])
            return b"".join([b"\x01", total.to_bytes(4, "little"), lengths[:at], added,
                             lengths[at + remove:], packed[start:cut_from], *elements,
                             packed[cut_to:end], packed[end:] if trailer is None else trailer])
    items = _unpack_py(packed)
    if trailer is None:
        trailer = packed[start + sum(map(len, items)):]
    items[at:at + remove] = elements
    return _pack_py(items) + trailer


_packed = extension("types._packed")
# The C versions of the same functions (_packed.c), or the ones above.
pack: Final = cast(Callable[[list[bytes]], bytes], _pack_py if _packed is None else _packed.pack)
unpack: Final = cast(Callable[[bytes], list[bytes]],
                     _unpack_py if _packed is None else _packed.unpack)
value_of: Final = cast(Callable[[bytes, bytes], "bytes | None"],
                       _value_of_py if _packed is None else _packed.value_of)
index_of: Final = cast(Callable[[bytes, bytes], int],
                       _index_of_py if _packed is None else _packed.index_of)
field_index: Final = cast(Callable[[bytes, bytes], int],
                          _field_index_py if _packed is None else _packed.field_index)
splice: Final = cast(Callable[[bytes, int, int, list[bytes], "bytes | None"], bytes],
                     _splice_py if _packed is None else _packed.splice)


def untracked_instances(*classes: type) -> None:
    """Have the instances of these value classes (bytes subclasses without slots) made
    untracked by the cyclic collector (``_packed.c``'s ``untrack_instances``): they hold
    no reference, so no cycle, and a full collection would otherwise walk every small
    value in the keyspace. The pure-Python build leaves them tracked (the same results,
    with those pauses)."""
    if _packed is not None:
        for cls in classes:
            _packed.untrack_instances(cls)
