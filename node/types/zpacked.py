"""A small sorted set packed into one bytes object: the listpack encoding's storage.

A dict of members and a list of (score, member) tuples cost about 190 bytes a member in
CPython; Redis's listpack costs about 12. Packed, a member costs its length plus 9 bytes.
Layout: the members in (score, member) order as packed.py lays out a list (width byte,
count, lengths, members end to end), followed by the scores as native doubles in the same
order. The empty set is ``b""``.

Edits splice the bytes around the changed entry instead of unpacking every member, and a
lookup finds a member with ``bytes.find`` before checking that the hit starts an entry:
like a listpack, every change copies the value once, which stays cheap at the sizes the
encoding is kept for (zset-max-listpack-entries, 128 by default).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate
from struct import pack_into, unpack_from

from .packed import EMPTY, pack, unpack

_HEADER = 5
_DOUBLE = 8


def build(members: list[bytes], scores: list[float]) -> bytes:
    """The packed set of ``members`` with ``scores``, both already in (score, member) order."""
    if not members:
        return EMPTY
    return pack(members) + array("d", scores).tobytes()


def size(blob: bytes) -> int:
    return int.from_bytes(blob[1:_HEADER], "little") if blob else 0


def members(blob: bytes) -> list[bytes]:
    return unpack(blob)


def scores(blob: bytes) -> list[float]:
    if not blob:
        return []
    n = size(blob)
    return memoryview(blob)[len(blob) - _DOUBLE * n:].cast("d").tolist()  # type: ignore[return-value]


def items(blob: bytes) -> list[tuple[float, bytes]]:
    """(score, member) pairs in order."""
    return list(zip(scores(blob), unpack(blob), strict=True))


def _lengths(blob: bytes, n: int) -> bytes | array[int]:
    end = _HEADER + blob[0] * n
    return blob[_HEADER:end] if blob[0] == 1 else array("I", blob[_HEADER:end])


def _offset(blob: bytes, i: int) -> int:
    """Where member ``i`` starts in ``blob``."""
    width = blob[0]
    n = size(blob)
    start = _HEADER + width * n
    if width == 1:
        return start + sum(blob[_HEADER:_HEADER + i])
    return start + sum(array("I", blob[_HEADER:_HEADER + 4 * i]))


def member_at(blob: bytes, i: int) -> bytes:
    width = blob[0]
    at = _offset(blob, i)
    length = blob[_HEADER + i] if width == 1 else unpack_from("I", blob, _HEADER + 4 * i)[0]
    return blob[at:at + length]


def score_at(blob: bytes, i: int) -> float:
    n = size(blob)
    return float(unpack_from("d", blob, len(blob) - _DOUBLE * (n - i))[0])


def index_of(blob: bytes, member: bytes) -> int:
    """The rank of ``member``, -1 if absent: a substring search, then a check that the hit
    is a whole entry (members are stored end to end, so a hit may straddle two)."""
    if not blob:
        return -1
    n = size(blob)
    lengths = _lengths(blob, n)
    want = len(member)
    if not want:
        for i, length in enumerate(lengths):
            if not length:
                return i
        return -1
    start = _HEADER + blob[0] * n
    end = len(blob) - _DOUBLE * n
    hit = blob.find(member, start, end)
    if hit < 0:
        return -1
    offsets = list(accumulate(lengths, initial=start))
    while hit >= 0:
        i = bisect_left(offsets, hit)
        while i < n and offsets[i] == hit:
            if offsets[i + 1] - hit == want:
                return i
            i += 1
        hit = blob.find(member, hit + 1, end)
    return -1


def score_of(blob: bytes, member: bytes) -> float | None:
    i = index_of(blob, member)
    return None if i < 0 else score_at(blob, i)


def insertion_rank(blob: bytes, score: float, member: bytes) -> int:
    """Where (score, member) goes: bisect on the scores, then on members of equal score."""
    if not blob:
        return 0
    n = size(blob)
    view = memoryview(blob)[len(blob) - _DOUBLE * n:].cast("d")
    lo = bisect_left(view, score)
    hi = bisect_right(view, score, lo)
    while lo < hi:
        mid = (lo + hi) // 2
        if member_at(blob, mid) < member:
            lo = mid + 1
        else:
            hi = mid
    return lo


def insert(blob: bytes, member: bytes, score: float) -> bytes:
    """``blob`` with ``member`` (known absent) added at its place."""
    if not blob:
        return build([member], [score])
    width = blob[0]
    length = len(member)
    i = insertion_rank(blob, score, member)
    if width == 1 and length >= 256:
        names, values = unpack(blob), scores(blob)
        names.insert(i, member)
        values.insert(i, score)
        return build(names, values)
    n = size(blob)
    start = _HEADER + width * n
    at = _offset(blob, i)
    tail = len(blob) - _DOUBLE * n
    entry = bytes((length,)) if width == 1 else array("I", (length,)).tobytes()
    double = bytearray(_DOUBLE)
    pack_into("d", double, 0, score)
    cut = _HEADER + width * i
    split = tail + _DOUBLE * i
    return b"".join((blob[:1], (n + 1).to_bytes(4, "little"), blob[_HEADER:cut], entry,
                     blob[cut:start], blob[start:at], member, blob[at:split], double,
                     blob[split:]))


def delete(blob: bytes, lo: int, hi: int) -> bytes:
    """``blob`` without ranks lo..hi-1."""
    n = size(blob)
    if hi - lo >= n:
        return EMPTY
    width = blob[0]
    start = _HEADER + width * n
    first = _offset(blob, lo)
    last = _offset(blob, hi)
    tail = len(blob) - _DOUBLE * n
    return b"".join((blob[:1], (n - hi + lo).to_bytes(4, "little"),
                     blob[_HEADER:_HEADER + width * lo], blob[_HEADER + width * hi:start],
                     blob[start:first], blob[last:tail], blob[tail:tail + _DOUBLE * lo],
                     blob[tail + _DOUBLE * hi:]))
