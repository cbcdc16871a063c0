"""A large sorted set's (score, member) order, kept without a Python object per member.

A ``sortedcontainers.SortedList`` of (score, member) tuples costs a 64-byte tuple and a
list pointer for every member. Here the order is a list of blocks, each a pair of parallel
sequences: an ``array('d')`` of scores (8 bytes a member, -0 keeps its sign) and a list of
the member bytes objects the set's dict already holds (8 bytes). A member's place is found
by a bisect over the blocks' last (score, member) pairs, then a bisect of the block's
scores, then, among equal scores, a bisect of its members: the order is exactly the
tuples' (score first, then the member's bytes).

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

LOAD = 1000

Pair = tuple[float, bytes]

_zsearch = extension("types._zsearch")
# offset(scores, members, score, member, right): ZOrder._offset_py's result, its probes
# reading the array's doubles in place (C, _zsearch.c) rather than a float object each.
_c_offset = None if _zsearch is None else cast(
    Callable[[array[float], list[bytes], float, "bytes | None", bool], int], _zsearch.offset)

_BLOCK_COST = 64 + 56 + 64 + 32 + 16  # an array and a list object, a (score, member) tuple,
# its score in ``_tops`` (a float and a pointer), slack


class ZOrder:
    """The (score, member) pairs in order, with SortedList's reading interface (len,
    indexing and slicing into (score, member) tuples, ``bisect_left``/``bisect_right`` of
    a (score,) or (score, member) tuple) and ``add``/``discard``/``del_slice``."""

    __slots__ = ("_scores", "_members", "_maxes", "_tops", "_fen", "_len", "_load")

    def __init__(self, pairs: list[Pair] | None = None, load: int = LOAD) -> None:
        """``pairs`` must already be sorted (the caller sorts or reads them in order);
        ``load`` is the usual block size (small ones let tests reach splits and merges)."""
        self._load = load
        self._scores: list[array[float]] = []
        self._members: list[list[bytes]] = []
        self._maxes: list[Pair] = []
        self._tops: list[float] = []  # the maxes' scores: most seeks compare floats only
        self._fen: list[int] = [0]
        self._len = 0
        if pairs:
            for start in range(0, len(pairs), load):
                chunk = pairs[start:start + load]
                self._scores.append(array("d", [s for s, _ in chunk]))
                self._members.append([m for _, m in chunk])
                self._maxes.append(chunk[-1])
                self._tops.append(chunk[-1][0])
            self._len = len(pairs)
            self._rebuild()

    def __len__(self) -> int:
        return self._len

    def copy(self) -> ZOrder:
        dup = ZOrder(None, self._load)
        dup._scores = [array("d", scores) for scores in self._scores]
        dup._members = [list(members) for members in self._members]
        dup._maxes = list(self._maxes)
        dup._tops = list(self._tops)
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

    def _block(self, item: tuple[Any, ...], right: bool) -> int:
        """``bisect_left`` (``bisect_right`` when ``right``) of ``item`` in the blocks'
        maxes: a bisect of their scores, then of the pairs only among blocks whose last
        score is the item's (a float compare costs a third of a tuple compare)."""
        tops = self._tops
        score = item[0]
        block = bisect_left(tops, score)
        if block < len(tops) and tops[block] == score:
            if right:
                return bisect_right(self._maxes, item, block)
            return bisect_left(self._maxes, item, block)
        return block

    def _set_max(self, block: int) -> None:
        """Record ``block``'s last pair as its max (and its score in ``_tops``)."""
        score = self._scores[block][-1]
        self._maxes[block] = (score, self._members[block][-1])
        self._tops[block] = score

    def _offset(self, block: int, score: float, member: bytes, right: bool) -> int:
        """Where (score, member) goes in ``block``: before its equal (after when ``right``)."""
        if _c_offset is not None:
            return _c_offset(self._scores[block], self._members[block], score, member, right)
        return self._offset_py(block, score, member, right)

    def _offset_py(self, block: int, score: float, member: bytes, right: bool) -> int:
        """``_offset`` in Python: the bisects of the block's scores, then of its members."""
        scores = self._scores[block]
        lo = bisect_left(scores, score)
        size = len(scores)
        if lo == size or scores[lo] != score:
            return lo  # no equal score: the usual case, one bisect
        # One member with that score (a present member's own, usually): no second bisect.
        hi = lo + 1 if lo + 1 == size or scores[lo + 1] != score else bisect_right(scores, score, lo)
        if right:
            return bisect_right(self._members[block], member, lo, hi)
        return bisect_left(self._members[block], member, lo, hi)

    def _first_at(self, block: int, score: float) -> int:
        """The first offset in ``block`` whose score is >= ``score``."""
        if _c_offset is not None:
            return _c_offset(self._scores[block], self._members[block], score, None, False)
        return bisect_left(self._scores[block], score)

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
        block = self._block(item, False)
        if block == len(self._maxes):
            return self._len
        if len(item) == 1:
            return self._before(block) + self._first_at(block, item[0])
        return self._before(block) + self._offset(block, item[0], item[1], False)

    def bisect_right(self, item: tuple[Any, ...]) -> int:
        """The rank of the first pair > ``item``."""
        block = self._block(item, True)
        if block == len(self._maxes):
            return self._len
        if len(item) == 1:
            return self._before(block) + self._first_at(block, item[0])
        return self._before(block) + self._offset(block, item[0], item[1], True)

    def rank(self, score: float, member: bytes) -> int:
        """The rank of a pair known to be present."""
        return self.bisect_left((score, member))

    # --- changes ---

    def add(self, score: float, member: bytes) -> None:
        """Insert a pair known to be absent."""
        maxes = self._maxes
        if not maxes:
            self._scores.append(array("d", [score]))
            self._members.append([member])
            maxes.append((score, member))
            self._tops.append(score)
            self._len = 1
            self._rebuild()
            return
        block = self._block((score, member), False)
        if block == len(maxes):
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
        block = self._block((score, member), False)
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
                del self._maxes[block]
                del self._tops[block]
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
        self._maxes.insert(block, (scores[-1], members[-1]))
        self._tops.insert(block, scores[-1])
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
            del self._maxes[high]
            del self._tops[high]
            self._set_max(low)
            if len(self._members[low]) > 2 * self._load:
                self._split(low)
                return
        elif not members:
            self._scores.clear()
            self._members.clear()
            self._maxes.clear()
            self._tops.clear()
        else:
            self._set_max(block)
        self._rebuild()
