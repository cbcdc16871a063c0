"""A small sorted set packed into one bytes object: the listpack encoding's storage.

A dict of members and a list of (score, member) tuples cost about 190 bytes a member in
CPython; Redis's listpack costs about 12. Packed, a member costs its length plus 9 bytes.
Layout: the members in (score, member) order as packed.py lays out a list (width byte,
count, lengths, members end to end), followed by the scores as native doubles in the same
order. The empty set is ``b""``.

Edits splice the bytes around the changed entry (packed.py's ``splice``, the scores
given as its trailer) instead of unpacking every member, and a lookup compares members in
place (packed.py's ``index_of``): like a listpack, every change copies the value once,
which stays cheap at the sizes the encoding is kept for (zset-max-listpack-entries, 128
by default).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from struct import Struct, unpack_from
from typing import Final, cast

from ..base.compiled import extension
from .packed import EMPTY, count, index_of, pack, splice, unpack

# index_of (a member's rank, used by zset.py) is packed.py's search: it reads the members
# only, not the scores after them.

_HEADER = 5
_DOUBLE = 8
_D = Struct("d")


def listpack_score(score: float) -> float:
    """``score`` as a listpack keeps it: -0 is stored as the integer 0, and reads back as 0
    (a skiplist keeps the sign)."""
    return 0.0 if score == 0.0 else score


def build(members: list[bytes], scores: list[float]) -> bytes:
    """The packed set of ``members`` with ``scores``, both already in (score, member) order."""
    if not members:
        return EMPTY
    return pack(members) + array("d", scores).tobytes()


def size(blob: bytes) -> int:
    return count(blob)


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
    return float(_D.unpack_from(blob, len(blob) - _DOUBLE * (n - i))[0])


def score_of(blob: bytes, member: bytes) -> float | None:
    i = index_of(blob, member)
    return None if i < 0 else score_at(blob, i)


def _insertion_rank_py(blob: bytes, score: float, member: bytes) -> int:
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


_packed = extension("types._packed")
# The same search reading the scores and members in place (C, _packed.c), or the one above.
insertion_rank: Final = cast(Callable[[bytes, float, bytes], int],
                             _insertion_rank_py if _packed is None else _packed.insertion_rank)


def insert(blob: bytes, member: bytes, score: float) -> bytes:
    """``blob`` with ``member`` (known absent) added at its place."""
    if not blob:
        return build([member], [score])
    i = insertion_rank(blob, score, member)
    tail = len(blob) - _DOUBLE * size(blob)
    split = tail + _DOUBLE * i
    return splice(blob, i, 0, [member], b"".join((blob[tail:split], _D.pack(score), blob[split:])))


def delete(blob: bytes, lo: int, hi: int) -> bytes:
    """``blob`` without ranks lo..hi-1."""
    tail = len(blob) - _DOUBLE * size(blob)
    return splice(blob, lo, hi - lo, [], blob[tail:tail + _DOUBLE * lo] + blob[tail + _DOUBLE * hi:])
