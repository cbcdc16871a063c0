"""A large sorted set's (score, member) order, kept without a Python object per member.

A ``sortedcontainers.SortedList`` of (score, member) tuples costs a 64-byte tuple and a
list pointer for every member. Here the order is a list of blocks, each a pair of parallel
sequences: an ``array('d')`` of scores (8 bytes a member, -0 keeps its sign) and a list of
the member bytes objects the set's index already holds (8 bytes). The blocks' last pairs
are kept the same way (``_tops``, ``_lasts``). A member's place is found by the same
search twice (``_find``): over the blocks' last pairs, then in the block: a bisect of the
scores, then, among equal scores only, a bisect of the members; the order is exactly
(score, member) tuples' (score first, then the member's bytes). Compiled, the search is C
(_zsearch.c), which reads the doubles in place instead of boxing a float per probe.

Blocks hold between ``LOAD // 4`` and ``2 * LOAD`` members (split in half above, merged
into a neighbour below), so that an insert or delete moves at most ``2 * LOAD`` pointers,
as in sortedcontainers. Ranks come from a Fenwick tree over the block lengths: O(log B) to
update on an insert or delete, rebuilt in O(B) when blocks split, merge or vanish.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from typing import Any, cast

from ..base.compiled import extension

# sortedcontainers' 1000 made a random ZADD search an 8-16 KB block of scores (one cache
# miss a probe) and move up to 2000 pointers and doubles: at 400, ZADD on a 100k-member set
# took 11% less CPU (7% at 865k members), ZRANK, ZRANGE and ZSCORE the same, memory 1% more.
LOAD = 400

Pair = tuple[float, bytes]

_BLOCK_COST = 64 + 56 + 16 + 16  # an array and a list object, its last pair's score and
# member pointer in ``_tops`` and ``_lasts``, their tree cell and slack


def _find_py(scores: array[float], members: list[bytes], score: float, member: bytes | None,
             right: bool) -> int:
    """Where (score, member) goes among sorted parallel ``scores`` and ``members``: before
    an equal pair (after it when ``right``); with ``member`` None, the first index whose
    score is >= ``score`` (where (score,) goes, before every (score, m))."""
    lo = bisect_left(scores, score)
    size = len(scores)
    if member is None or lo == size or scores[lo] != score:
        return lo  # no equal score: the usual case, one bisect
    # One pair with that score (a present member's own, usually): no second bisect.
    hi = lo + 1 if lo + 1 == size or scores[lo + 1] != score else bisect_right(scores, score, lo)
    if right:
        return bisect_right(members, member, lo, hi)
    return bisect_left(members, member, lo, hi)


_zsearch = extension("types._zsearch")
# _find_py's result, its probes reading the array's doubles in place (C, _zsearch.c)
# rather than a float object each.
_find = _find_py if _zsearch is None else cast(
    Callable[[array[float], list[bytes], float, "bytes | None", bool], int], _zsearch.offset)


class ZOrder:
    """The (score, member) pairs in order, with SortedList's reading interface (len,
    indexing and slicing into (score, member) tuples, ``bisect_left``/``bisect_right`` of
    a (score,) or (score, member) tuple) and ``add``/``discard``/``del_slice``."""

    __slots__ = ("_scores", "_members", "_tops", "_lasts", "_fen", "_len", "_load")

    def __init__(self, pairs: list[Pair] | None = None, load: int = LOAD) -> None:
        """``pairs`` must already be sorted (the caller sorts or reads them in order);
        ``load`` is the usual block size (small ones let tests reach splits and merges)."""
        self._load = load
        self._scores: list[array[float]] = []
        self._members: list[list[bytes]] = []
        self._tops: array[float] = array("d")  # each block's last score
        self._lasts: list[bytes] = []  # and last member
        self._fen: list[int] = [0]
        self._len = 0
        if pairs:
            for start in range(0, len(pairs), load):
                chunk = pairs[start:start + load]
                self._scores.append(array("d", [s for s, _ in chunk]))
                self._members.append([m for _, m in chunk])
                self._tops.append(chunk[-1][0])
                self._lasts.append(chunk[-1][1])
            self._len = len(pairs)
            self._rebuild()

    def __len__(self) -> int:
        return self._len

    def copy(self) -> ZOrder:
        dup = ZOrder(None, self._load)
        dup._scores = [array("d", scores) for scores in self._scores]
        dup._members = [list(members) for members in self._members]
        dup._tops = array("d", self._tops)
        dup._lasts = list(self._lasts)
        dup._fen = list(self._fen)
        dup._len = self._len
        return dup

    def footprint(self) -> int:
        """Bytes held: per member a score and a pointer (over-allocated by ~1/8), per block
        its array and list objects, its last pair and its tree cell."""
        return self._len * 18 + len(self._members) * _BLOCK_COST

    # --- positions ---

    def _rebuild(self) -> None:
        """The Fenwick tree of block lengths, from scratch (after a split, merge or drop)."""
        n = len(self._members)
        fen = [0] * (n + 1)
        for b in range(n):
            i = b + 1
            fen[i] += len(self._members[b])
            j = i + (i & -i)
            if j <= n:
                fen[j] += fen[i]
        self._fen = fen

    def _grow(self, block: int, delta: int) -> None:
        fen = self._fen
        n = len(fen) - 1
        i = block + 1
        while i <= n:
            fen[i] += delta
            i += i & -i
        self._len += delta

    def _before(self, block: int) -> int:
        """How many members the blocks before ``block`` hold."""
        fen = self._fen
        total = 0
        i = block
        while i > 0:
            total += fen[i]
            i -= i & -i
        return total

    def _locate(self, index: int) -> tuple[int, int]:
        """(block, offset) of rank ``index`` (0 <= index < len)."""
        fen = self._fen
        n = len(fen) - 1
        block = 0
        step = 1
        while step * 2 <= n:
            step *= 2
        while step:
            nxt = block + step
            if nxt <= n and fen[nxt] <= index:
                block = nxt
                index -= fen[nxt]
            step //= 2
        return block, index

    def _block(self, score: float, member: bytes | None, right: bool) -> int:
        """The first block whose last pair is >= (score, member) (> when ``right``), as
        ``_find`` places it; len(blocks) past the last."""
        return _find(self._tops, self._lasts, score, member, right)

    def _set_max(self, block: int) -> None:
        """Record ``block``'s last pair in ``_tops`` and ``_lasts``."""
        self._tops[block] = self._scores[block][-1]
        self._lasts[block] = self._members[block][-1]

    def _offset(self, block: int, score: float, member: bytes | None, right: bool) -> int:
        """Where (score, member) goes in ``block``: before its equal (after when ``right``)."""
        return _find(self._scores[block], self._members[block], score, member, right)

    # --- reading ---

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            if step != 1:
                return self.pairs(0, self._len)[index]
            return self.pairs(start, stop)
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("ZOrder index out of range")
        block, offset = self._locate(index)
        return (self._scores[block][offset], self._members[block][offset])

    def pairs(self, start: int, stop: int) -> list[Pair]:
        """The (score, member) pairs of ranks start..stop-1."""
        return self._walk(start, stop, True)

    def members(self, start: int, stop: int) -> list[bytes]:
        """The members of ranks start..stop-1, without building pairs."""
        return self._walk(start, stop, False)

    def _walk(self, start: int, stop: int, scores: bool) -> list[Any]:
        """Ranks start..stop-1, block after block: (score, member) pairs, or the members
        alone unless ``scores``."""
        out: list[Any] = []
        if start >= stop:
            return out
        block, offset = self._locate(start)
        left = stop - start
        while left > 0:
            end = offset + left
            members = self._members[block][offset:end]
            if scores:
                out.extend(zip(self._scores[block][offset:end], members, strict=True))
            else:
                out.extend(members)
            left -= len(members)
            block += 1
            offset = 0
        return out

    def __iter__(self) -> Iterator[Pair]:
        for b in range(len(self._members)):
            yield from zip(self._scores[b], self._members[b], strict=True)

    def __reversed__(self) -> Iterator[Pair]:
        for b in range(len(self._members) - 1, -1, -1):
            scores = self._scores[b]
            members = self._members[b]
            for i in range(len(members) - 1, -1, -1):
                yield (scores[i], members[i])

    def bisect_left(self, item: tuple[Any, ...]) -> int:
        """The rank of the first pair >= ``item`` ((score,) sorts before every (score, m))."""
        return self._rank_of(item[0], item[1] if len(item) > 1 else None, False)

    def bisect_right(self, item: tuple[Any, ...]) -> int:
        """The rank of the first pair > ``item``."""
        return self._rank_of(item[0], item[1] if len(item) > 1 else None, True)

    def _rank_of(self, score: float, member: bytes | None, right: bool) -> int:
        block = self._block(score, member, right)
        if block == len(self._lasts):
            return self._len
        return self._before(block) + self._offset(block, score, member, right)

    def rank(self, score: float, member: bytes) -> int:
        """The rank of a pair known to be present."""
        return self._rank_of(score, member, False)

    # --- changes ---

    def add(self, score: float, member: bytes) -> None:
        """Insert a pair known to be absent."""
        if not self._lasts:
            self._scores.append(array("d", [score]))
            self._members.append([member])
            self._tops.append(score)
            self._lasts.append(member)
            self._len = 1
            self._rebuild()
            return
        block = self._block(score, member, False)
        if block == len(self._lasts):
            block -= 1
        offset = self._offset(block, score, member, False)
        scores = self._scores[block]
        members = self._members[block]
        scores.insert(offset, score)
        members.insert(offset, member)
        if offset == len(members) - 1:
            self._set_max(block)
        if len(members) > 2 * self._load:
            self._split(block)
            self._len += 1
        else:
            self._grow(block, 1)

    def discard(self, score: float, member: bytes) -> None:
        """Remove a pair known to be present."""
        block = self._block(score, member, False)
        offset = self._offset(block, score, member, False)
        scores = self._scores[block]
        members = self._members[block]
        del scores[offset]
        del members[offset]
        if len(members) < self._load // 4:
            self._len -= 1
            self._shrunk(block)
            return
        if offset == len(members):
            self._set_max(block)
        self._grow(block, -1)

    def del_slice(self, start: int, stop: int) -> None:
        """Remove ranks start..stop-1."""
        if start >= stop:
            return
        block, offset = self._locate(start)
        left = stop - start
        self._len -= left
        first = block
        while left > 0:
            members = self._members[block]
            take = min(left, len(members) - offset)
            del self._scores[block][offset:offset + take]
            del members[offset:offset + take]
            left -= take
            if members:
                self._set_max(block)
                block += 1
                offset = 0
            else:
                del self._scores[block]
                del self._members[block]
                del self._tops[block]
                del self._lasts[block]
        self._rebuild()
        if first < len(self._members) and len(self._members[first]) < self._load // 4:
            self._shrunk(first)
        if first + 1 < len(self._members) and len(self._members[first + 1]) < self._load // 4:
            self._shrunk(first + 1)

    def _split(self, block: int) -> None:
        scores = self._scores[block]
        members = self._members[block]
        half = len(members) // 2
        self._scores.insert(block + 1, scores[half:])
        self._members.insert(block + 1, members[half:])
        del scores[half:]
        del members[half:]
        self._tops.insert(block, scores[-1])
        self._lasts.insert(block, members[-1])
        self._rebuild()

    def _shrunk(self, block: int) -> None:
        """A block fell under LOAD // 4 members: merge it into a neighbour (splitting the
        result again if it grew too big), or drop it when empty; ``_len`` is already set."""
        members = self._members[block]
        blocks = len(self._members)
        if blocks > 1:
            into = block - 1 if block > 0 else block + 1
            low, high = min(block, into), max(block, into)
            self._scores[low].extend(self._scores[high])
            self._members[low].extend(self._members[high])
            del self._scores[high]
            del self._members[high]
            del self._tops[high]
            del self._lasts[high]
            self._set_max(low)
            if len(self._members[low]) > 2 * self._load:
                self._split(low)
                return
        elif not members:
            self._scores.clear()
            self._members.clear()
            del self._tops[:]
            self._lasts.clear()
        else:
            self._set_max(block)
        self._rebuild()
