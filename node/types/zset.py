"""The sorted set value: Redis's two encodings, a listpack and a dict plus a skiplist.

While small (OBJECT ENCODING "listpack") the members and scores are packed in (score,
member) order into one bytes object (zpacked.py), as compact as Redis's listpack and, like
it, rewritten on each change: the keyspace holds that object itself (``PackedZSet``), and a
command reads and changes it through a transient ``ZSet`` (``open_zset``). Once the set outgrows ``zset-max-listpack-entries`` /
``-value`` ("skiplist") it holds a ``SkipIndex``: an index member -> slot (base/keyindex.py),
the members and their scores by slot, and the (score, member) order in blocks (zorder.py):
O(log N) insert, delete, rank and seek, with no Python object per member beyond its bytes
(the C index keeps the slot number unboxed). The class names the encoding
(``ZSet`` listpack, ``SkipZSet`` skiplist, switched in place) so that the RDB and
introspection registries, keyed by class, see it. As in Redis the conversion is one-way:
only a newly built value (``from_scores``: ZRANGESTORE and ZUNIONSTORE-style results,
RESTORE) starts small again.

ZSCAN needs positions that survive inserts, which neither dict iteration nor ranks give:
the slots are those positions, maintained with swap-remove exactly like the keyspace's SCAN
list (node/commands/keys.py explains why visiting slots from the top down returns every
member present throughout the scan). The same slot numbers find a member's score (in an
``array('d')`` beside the slots), so one index serves ZSCORE and ZSCAN. Small sets do not pay
for any of it: ZSCAN returns them whole, as Redis does for a listpack. The type's record
(introspection, memory cost, RDB forms) is zset_record.py.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from mypy_extensions import mypyc_attr

from ..base.keyindex import KeyIndex, new_index
from . import zpacked
from .packed import EMPTY, untracked_instances
from .zorder import ZOrder

Item = tuple[float, bytes]


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class PackedIndex(list):  # type: ignore[type-arg]
    """A listpack set's (score, member) pairs as read (``ZSet.order``): a sorted list with
    the seek methods of the skiplist form's SortedList."""

    __slots__ = ()

    def bisect_left(self, item: Any) -> int:
        return bisect_left(self, item)

    def bisect_right(self, item: Any) -> int:
        return bisect_right(self, item)


class SkipIndex:
    """A skiplist-encoded set's structures: ``slot`` (member -> its slot: the keyspace's
    index, which keeps the slot unboxed, 22 bytes a member against a dict's 74 with the
    int object), ``slots`` (the members by slot, ZSCAN's positions), ``values`` (their
    scores by slot) and ``order``."""

    __slots__ = ("slot", "slots", "values", "order")

    def __init__(self, members: list[bytes], values: array[float],
                 order: ZOrder | None = None) -> None:
        self.slots = members
        self.values = values
        self.slot: KeyIndex = new_index()
        self.slot.update(zip(members, range(len(members)), strict=True))
        self.order = order if order is not None else ZOrder(sorted(zip(values, members, strict=True)))

    @classmethod
    def of(cls, scores: Mapping[bytes, float]) -> SkipIndex:
        return cls(list(scores), array("d", scores.values()))

    def score_of(self, member: bytes) -> float | None:
        i = self.slot.get(member)
        return None if i is None else self.values[i]

    def add(self, member: bytes, score: float) -> None:
        slots = self.slots
        self.slot[member] = len(slots)
        slots.append(member)
        self.values.append(score)
        self.order.add(score, member)

    def insert(self, member: bytes, score: float, max_entries: int, max_value: int) -> None:
        """``ZSet.insert`` for a skiplist set (which never converts back): ``add``. ZADD
        calls these methods on the index itself: a native class's are direct calls, a
        ZSet's (a class whose instances change class) go through attribute lookup."""
        self.add(member, score)

    def rescore(self, member: bytes, old: float, new: float) -> None:
        order = self.order
        order.discard(old, member)
        order.add(new, member)
        self.values[self.slot[member]] = new

    def drop(self, member: bytes) -> float | None:
        """Forget a member (its place in ``order`` is the caller's); its score, or None."""
        i = self.slot.pop(member, None)
        if i is None:
            return None
        values = self.values
        score = values[i]
        slots = self.slots
        last = slots.pop()
        last_score = values.pop()
        if i < len(slots):  # swap-remove: the last member moves into the hole (ZSCAN)
            slots[i] = last
            values[i] = last_score
            self.slot[last] = i
        return score


class Scores(Protocol):
    """What ``ZSet.scores`` gives: a dict for a listpack set, a ScoreView for a skiplist."""

    def get(self, member: bytes) -> float | None: ...

    def __getitem__(self, member: bytes) -> float: ...

    def __contains__(self, member: object) -> bool: ...

    def __iter__(self) -> Iterator[bytes]: ...

    def __len__(self) -> int: ...

    def items(self) -> Iterable[tuple[bytes, float]]: ...


class ScoreView:
    """A skiplist set's member -> score, read through its slots (the set keeps no dict of
    scores)."""

    __slots__ = ("big",)

    def __init__(self, big: SkipIndex) -> None:
        self.big = big

    def get(self, member: bytes) -> float | None:
        return self.big.score_of(member)

    def __getitem__(self, member: bytes) -> float:
        big = self.big
        return big.values[big.slot[member]]

    def __contains__(self, member: object) -> bool:
        return member in self.big.slot

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.big.slots)

    def __len__(self) -> int:
        return len(self.big.slots)

    def items(self) -> Iterable[tuple[bytes, float]]:
        big = self.big
        return zip(big.slots, big.values, strict=True)


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class PackedZSet(bytes):
    """A listpack-encoded sorted set as the keyspace holds it: its packed members and
    scores (zpacked.py) and nothing else; a write stores the next one in the key's place,
    as Redis reallocates a listpack. A wrapper object holding the bytes cost 48 bytes a
    set; a bytes subclass's instance costs 16 more than plain bytes (the collector's header
    every heap type's instance carries): 32 a set less."""

    __slots__ = ()


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class ZSet:
    """A sorted set as a command reads and changes it. Listpack-encoded (a transient view
    of a PackedZSet, ``stored`` giving the one to put back), the members and scores are
    ``packed`` in one bytes object (zpacked.py) and ``big`` is None; ``to_skiplist`` moves
    them into a ``SkipIndex`` and turns the value into a SkipZSet in place, which the
    keyspace holds itself. ``scores`` and ``order`` read either form (a listpack's are
    built on each read: O(n), as a listpack walk is)."""

    __slots__ = ("packed", "big")

    def __init__(self) -> None:
        self.packed = EMPTY
        self.big: SkipIndex | None = None

    def stored(self) -> ZSet | PackedZSet:
        """What the keyspace holds for this set: the SkipZSet itself, or the packed form
        as a PackedZSet (the one opened if unchanged)."""
        if self.big is not None:
            return self
        packed = self.packed
        return packed if type(packed) is PackedZSet else PackedZSet(packed)

    def __len__(self) -> int:
        big = self.big
        return zpacked.size(self.packed) if big is None else len(big.slots)

    @property
    def scores(self) -> Scores:
        big = self.big
        if big is None:
            return _packed_scores(self.packed)
        return ScoreView(big)

    @property
    def order(self) -> PackedIndex | ZOrder:
        big = self.big
        if big is None:
            blob = self.packed
            return PackedIndex(zip(zpacked.scores(blob), zpacked.members(blob), strict=True))
        return big.order

    @property
    def slots(self) -> list[bytes] | None:
        big = self.big
        return None if big is None else big.slots

    def rank_members(self, start: int, stop: int) -> list[bytes]:
        """The members of ranks start..stop-1, without their scores (ZRANGE's usual
        reply): a listpack's are sliced out of it without building (score, member) pairs."""
        big = self.big
        if big is None:
            return zpacked.members(self.packed)[start:stop]
        return big.order.members(start, stop)

    def slot_items(self, start: int, stop: int) -> list[tuple[bytes, float]]:
        """The (member, score) pairs of a skiplist set's slots start..stop-1 (ZSCAN)."""
        big = self.big
        assert big is not None
        return list(zip(big.slots[start:stop], big.values[start:stop], strict=True))

    def score_of(self, member: bytes) -> float | None:
        big = self.big
        return zpacked.score_of(self.packed, member) if big is None else big.score_of(member)

    def to_skiplist(self) -> None:
        if self.big is None:
            blob = self.packed
            self.big = SkipIndex(zpacked.members(blob), array("d", zpacked.scores(blob)),
                                 ZOrder(zpacked.items(blob)))
            self.packed = EMPTY
            self.__class__ = SkipZSet

    def insert(self, member: bytes, score: float, max_entries: int, max_value: int) -> None:
        """Add a member known to be absent, converting to skiplist as zsetAdd does."""
        if self.big is None:
            if zpacked.size(self.packed) + 1 > max_entries or len(member) > max_value:
                self.to_skiplist()
            else:
                self.packed = zpacked.insert(self.packed, member, zpacked.listpack_score(score))
                return
        self.big.add(member, score)  # type: ignore[union-attr]

    def rescore(self, member: bytes, old: float, new: float) -> None:
        big = self.big
        if big is None:
            blob = self.packed
            i = zpacked.index_of(blob, member)
            self.packed = zpacked.insert(zpacked.delete(blob, i, i + 1), member,
                                         zpacked.listpack_score(new))
            return
        big.rescore(member, old, new)

    def remove(self, member: bytes) -> bool:
        big = self.big
        if big is None:
            blob = self.packed
            i = zpacked.index_of(blob, member)
            if i < 0:
                return False
            self.packed = zpacked.delete(blob, i, i + 1)
            return True
        score = big.drop(member)
        if score is None:
            return False
        big.order.discard(score, member)
        return True

    def remove_slice(self, start: int, stop: int) -> list[Item]:
        """Delete ranks start..stop-1 and return them."""
        big = self.big
        if big is None:
            blob = self.packed
            items = zpacked.items(blob)[start:stop]
            self.packed = zpacked.delete(blob, start, stop)
            return items
        order = big.order
        items = order.pairs(start, stop)
        order.del_slice(start, stop)
        for _, member in items:
            big.drop(member)
        return items

    def rank(self, member: bytes) -> int | None:
        big = self.big
        if big is None:
            i = zpacked.index_of(self.packed, member)
            return None if i < 0 else i
        where = big.slot.get(member)
        if where is None:
            return None
        return big.order.rank(big.values[where], member)

    @staticmethod
    def from_scores(scores: Mapping[bytes, float], max_entries: int, max_value: int
                    ) -> ZSet | PackedZSet:
        """A set built in one go, as the keyspace holds it: listpack-encoded if it fits
        (zsetConvertToListpackIfNeeded)."""
        if len(scores) <= max_entries and all(len(m) <= max_value for m in scores):
            ordered = sorted([(zpacked.listpack_score(s), m) for m, s in scores.items()])
            return PackedZSet(zpacked.build([m for _, m in ordered], [s for s, _ in ordered]))
        z = ZSet()
        z.big = SkipIndex.of(scores)
        z.__class__ = SkipZSet
        return z

    def copy(self) -> ZSet:
        """A skiplist set's copy, sharing nothing."""
        big = self.big
        assert big is not None
        dup = ZSet()
        dup.big = SkipIndex(list(big.slots), array("d", big.values), big.order.copy())
        dup.__class__ = SkipZSet
        return dup

    # --- seeks: the first rank at or after a bound ---

    def score_low(self, value: float, exclusive: bool) -> int:
        """Rank of the first member whose score is >= value (> value when exclusive)."""
        if exclusive:
            if value == math.inf:
                return len(self)
            value = math.nextafter(value, math.inf)
        return self._seek(value)

    def score_high(self, value: float, exclusive: bool) -> int:
        """One past the rank of the last member whose score is <= value (< when exclusive)."""
        if not exclusive:
            if value == math.inf:
                return len(self)
            value = math.nextafter(value, math.inf)
        return self._seek(value)

    def _seek(self, value: float) -> int:
        """The rank of the first member whose score is >= value."""
        big = self.big
        if big is None:
            return bisect_left(zpacked.scores(self.packed), value)
        return big.order.bisect_left((value,))  # type: ignore[no-any-return]

    def lex_bounds(self, low: LexBound, high: LexBound) -> tuple[int, int]:
        """Ranks [start, stop) of members within a lex range, as a listpack walk finds them.

        Lex ranges assume every score is equal; then this is two bisects. Otherwise the
        members are not sorted and Redis's listpack walk (first member >= min, then on while
        <= max) is reproduced linearly.
        """
        order = self.order
        n = len(order)
        if not n or not self._lex_overlaps(low, high):
            return 0, 0
        first = order[0][0]
        if order[-1][0] == first:
            start = 0 if low == MINUS else n if low == PLUS else order.bisect_left(
                (first, low[0])) if not low[1] else order.bisect_right((first, low[0]))
            stop = n if high == PLUS else 0 if high == MINUS else order.bisect_right(
                (first, high[0])) if not high[1] else order.bisect_left((first, high[0]))
            return start, max(start, stop)
        start = 0
        while start < n and not lex_gte_min(order[start][1], low):
            start += 1
        stop = start
        while stop < n and lex_lte_max(order[stop][1], high):
            stop += 1
        return start, stop

    def _lex_overlaps(self, low: LexBound, high: LexBound) -> bool:
        """zslIsInLexRange: a non-empty range reaching the last member and the first one."""
        lo, hi = _lex_key(low), _lex_key(high)
        if lo > hi or (lo == hi and ((low != MINUS and low != PLUS and low[1])
                                     or (high != MINUS and high != PLUS and high[1]))):
            return False
        order = self.order
        return lex_gte_min(order[-1][1], low) and lex_lte_max(order[0][1], high)

    def lex_bounds_reverse(self, low: LexBound, high: LexBound) -> tuple[int, int]:
        """Like lex_bounds, walking from the tail as zzlLastInLexRange does."""
        order = self.order
        n = len(order)
        if not n or order[-1][0] == order[0][0] or not self._lex_overlaps(low, high):
            return self.lex_bounds(low, high)
        stop = n
        while stop > 0 and not lex_lte_max(order[stop - 1][1], high):
            stop -= 1
        start = stop
        while start > 0 and lex_gte_min(order[start - 1][1], low):
            start -= 1
        return start, stop


class Draft:
    """A listpack set's members in a dict while one command applies many pairs to it
    (ZADD m1 s1 m2 s2 ...): unpacked once, then packed once by ``commit`` if the result
    still fits the listpack, instead of rewriting the bytes for every member."""

    __slots__ = ("z", "scores", "longest")

    def __init__(self, z: ZSet) -> None:
        self.z = z
        self.scores = _packed_scores(z.packed)
        self.longest = 0

    def score_of(self, member: bytes) -> float | None:
        return self.scores.get(member)

    def insert(self, member: bytes, score: float, max_entries: int, max_value: int) -> None:
        self.scores[member] = zpacked.listpack_score(score)
        if len(member) > self.longest:
            self.longest = len(member)

    def rescore(self, member: bytes, old: float, new: float) -> None:
        self.scores[member] = zpacked.listpack_score(new)

    def commit(self, max_entries: int, max_value: int) -> bool:
        """Pack the result into the set; False (the set untouched) if it outgrew the
        listpack, so that the caller replays the pairs one by one on the set itself."""
        if len(self.scores) > max_entries or self.longest > max_value:
            return False
        ordered = sorted([(s, m) for m, s in self.scores.items()])
        self.z.packed = zpacked.build([m for _, m in ordered], [s for s, _ in ordered])
        return True


def open_zset(value: ZSet | PackedZSet) -> ZSet:
    """The ZSet a command works on for a stored set (a PackedZSet is viewed, not copied)."""
    if type(value) is PackedZSet:
        z: ZSet = _new_object(ZSet)  # no __init__: 1,000 instructions less a command
        z.packed = value
        z.big = None
        return z
    return value  # type: ignore[return-value]


_new_object = object.__new__
ZSET_KINDS = (PackedZSet, ZSet)
"""What a sorted set's key may hold (a SkipZSet is a ZSet)."""


def _packed_scores(blob: bytes) -> dict[bytes, float]:
    """A listpack's member -> score, built (a listpack has no such index)."""
    return dict(zip(zpacked.members(blob), zpacked.scores(blob), strict=True))


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class SkipZSet(ZSet):
    """A ZSet in its large form (OBJECT ENCODING skiplist): the class names the encoding so
    that the RDB and introspection registries, keyed by class, see it."""

    __slots__ = ()


# A lex bound: MINUS, PLUS, or (member, exclusive).
LexBound = Any
MINUS = ("-",)
PLUS = ("+",)


def _lex_key(bound: LexBound) -> tuple[int, bytes]:
    return (0, b"") if bound == MINUS else (2, b"") if bound == PLUS else (1, bound[0])


def lex_gte_min(member: bytes, low: LexBound) -> bool:
    if low == MINUS:
        return True
    if low == PLUS:
        return False
    return member > low[0] if low[1] else member >= low[0]


def lex_lte_max(member: bytes, high: LexBound) -> bool:
    if high == PLUS:
        return True
    if high == MINUS:
        return False
    return member < high[0] if high[1] else member <= high[0]


# The small values hold no reference: out of the cyclic collector's walks (packed.py).
untracked_instances(PackedZSet)
