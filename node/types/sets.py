"""The set value, with Redis 7.2's three encodings: intset, listpack and hashtable.

The class is the encoding. An ``IntSet`` (while every member is a canonical 64-bit integer
and there are at most ``set-max-intset-entries`` of them) keeps its integers sorted and
packed at Redis's element width (2, 4 or 8 bytes: upgraded, never narrowed, which DUMP and
MEMORY USAGE reveal), as compact as Redis's intset. A ``PackedSet`` is 7.2's listpack: a
small set of strings (at most 128 members of at most 64 bytes, 7.2's
set-max-listpack-entries and -value) packed end to end in insertion order (packed.py). A
``HashSet`` is a Python ``set`` of member bytes, for good once converted (Redis never
converts back). The intset and the listpack are ``bytes`` subclasses without slots: the
value is its own packed bytes, one object (a class defined in Python still has a 16-byte GC
header: 50 bytes plus the packed ones, against a 48-byte wrapper object plus a 33-byte
bytes header). They are immutable, so every change makes a new value that the caller
stores under its key (``add_members``, ``remove_members``). As ``bytes`` instances they
would pass ``isinstance(value, bytes)``: string commands test a value's exact class.

The reference, Debian's redis-server 7.0.15, has no listpack sets (nor their two
directives, which 7.2 added): a ``PackedSet`` reports itself as 7.0's hashtable (OBJECT
ENCODING "hashtable", MEMORY USAGE from the bucket count 7.0's dict would have, which it
carries in a trailing byte) and is saved as a plain set (RDB_TYPE_SET: RDB 10 files, which
7.0 loads, have no RDB_TYPE_SET_LISTPACK), so replies, snapshots and DUMP payloads stay
those of 7.0. 7.2's own listpack sets (type 20) load.

Reply order matters where Redis's is defined: an intset iterates in ascending integer
order. Listpack and hashtable order is Redis's insertion or dict order, which no client may
rely on (7.0 answers in dict order for both).

Random picks and SSCAN of big sets need positions, which a Python set lacks; a ``KeySample``
(list + member -> position, swap-remove) is built the first time a set bigger than
``SMALL`` needs one, kept up to date by ``add_member``/``remove_member``, and dropped when
the set shrinks back to ``SMALL``. SSCAN walks it top down as SCAN walks the keyspace (see
node/commands/keys.py for why an element present throughout is returned at least once).
"""

from __future__ import annotations

import hashlib
import random
import struct
from array import array
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator
from itertools import chain
from sys import getsizeof

from mypy_extensions import mypyc_attr

from ..base.sampling import KeySample
from ..protocol.request import strict_int
from . import rdb
from .footprint import alloc, bytes_cost, elements_cost, index_cost, obj
from .listpack import decode_listpack
from .packed import count, index_of, pack, splice, unpack, untracked_instances
from .registry import RdbEncoding, ValueType
from .typeinfo import (
    DICT_ENTRY_SIZE,
    OBJ_SET,
    ROBJ_SIZE,
    Digest,
    TypeInfo,
    jemalloc_size,
    sds_size,
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DICT_HT_INITIAL_SIZE = 4
HASHTABLE_MIN_FILL = 10
SMALL = 128
"""set-max-listpack-entries (7.2's default, fixed: 7.0 has no such directive). Sets up to
this size are also scanned whole and picked from by copying."""
LISTPACK_VALUE = 64
"""set-max-listpack-value (7.2's default, fixed likewise): a longer member makes a hashtable."""
DICT_SIZE = 56
INTSET_HEADER = 8
PACKED_HEADER = 5
"""packed.py's width byte and element count: all ``count`` reads."""
RDB_TYPE_SET = 2
RDB_TYPE_SET_INTSET = 11
RDB_TYPE_SET_LISTPACK = 20

LIMITS = {"entries": 512}
"""set-max-intset-entries, kept current by a config watcher (RDB loaders have no server)."""


def as_integer(member: bytes) -> int | None:
    """isSdsRepresentableAsLongLong: the member as an intset would hold it, or None."""
    if len(member) > 20:
        return None
    n = strict_int(member)
    if n is None or not INT64_MIN <= n <= INT64_MAX:
        return None
    return n


def int_width(n: int) -> int:
    if -32768 <= n <= 32767:
        return 2
    return 4 if -(2**31) <= n < 2**31 else 8


def table_size(n: int) -> int:
    """_dictNextExp: the bucket count a dict expanded for ``n`` entries gets (at least 4)."""
    size = DICT_HT_INITIAL_SIZE
    while size < n:
        size <<= 1
    return size


def grown(shape: int, used: int) -> int:
    """The bucket count once a member joins ``used`` others (_dictExpandIfNeeded)."""
    return table_size(used + 1) if used >= shape else shape


def shrunk(shape: int, used: int) -> int:
    """The bucket count once a removal leaves ``used`` members: a dict filled under 10%
    shrinks (htNeedsResize, dictResize)."""
    if shape > DICT_HT_INITIAL_SIZE and used * 100 // shape < HASHTABLE_MIN_FILL:
        return table_size(used)
    return shape


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class HashSet(set):  # type: ignore[type-arg]
    """A set in hashtable encoding.

    ``shape`` is the bucket count of Redis's dict, which grows and shrinks by dict.c's
    rules (MEMORY USAGE counts it). Redis's incremental rehashing, during which both
    tables count, is not modelled.
    """

    __slots__ = ("shape", "index")

    shape: int
    index: KeySample | None

    def __init__(self, members: Iterable[bytes] = (), shape: int = -1) -> None:
        super().__init__(members)
        self.shape = table_size(len(self)) if shape < 0 else shape
        self.index = None

    def add_member(self, member: bytes) -> bool:
        """setTypeAdd on a hashtable: the dict grows as dict.c's does."""
        if member in self:
            return False
        self.shape = grown(self.shape, len(self))
        set.add(self, member)
        if self.index is not None:
            self.index.add(member)
        return True

    def remove_member(self, member: bytes) -> bool:
        """setTypeRemove: the dict may shrink."""
        if member not in self:
            return False
        set.remove(self, member)
        self.shape = shrunk(self.shape, len(self))
        index = self.index
        if index is not None:
            if len(self) <= SMALL:
                self.index = None
            else:
                index.discard(member)
        return True

    def ordered(self) -> list[bytes]:
        """Members in the set's own iteration order."""
        return list(self)

    def positions(self) -> KeySample:
        index = self.index
        if index is None:
            index = self.index = KeySample(list(self))
        return index

    def random_member(self) -> bytes:
        if len(self) <= SMALL:
            return random.choice(tuple(self))
        keys = self.positions().keys
        return keys[random.randrange(len(keys))]

    def random_members(self, count: int) -> list[bytes]:
        """``count`` independent uniform picks (repeats allowed)."""
        keys = tuple(self) if len(self) <= SMALL else self.positions().keys
        n = len(keys)
        rand = random.randrange
        return [keys[rand(n)] for _ in range(count)]

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One SSCAN step: (next cursor, members). Small sets come whole."""
        if len(self) <= SMALL:
            return 0, self.ordered()
        if self.index is None and cursor:
            return 0, list(self.positions().keys)
        keys = self.positions().keys
        top = len(keys) - 1 if cursor == 0 else min(cursor - 1, len(keys) - 1)
        low = max(top - count + 1, 0)
        return low, keys[low:top + 1]

    def copy_set(self) -> HashSet:
        """setTypeDup: same members, a dict presized for them, no scan index."""
        return HashSet(self)


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class PackedSet(bytes):
    """A set in listpack encoding: packed.py's form of its members (in insertion order),
    then one byte, the bit length of the bucket count 7.0's dict would have (0: no table
    yet). Built by ``packed_set``; the empty set is ``b""``. Its length, iteration and
    membership are the members': code that needs the bytes slices them (plain bytes)."""

    __slots__ = ()

    def __len__(self) -> int:
        return count(self[:PACKED_HEADER])

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        return iter(unpack(self))

    def __contains__(self, member: object) -> bool:
        return isinstance(member, bytes) and index_of(self, member) >= 0

    def buckets(self) -> int:
        """(Asked of a non-empty set only: the empty one has no trailing byte.)"""
        bits = self[-1]  # bytes indexing counts from the bytes' own end, not __len__'s
        return 1 << (bits - 1) if bits else 0

    def ordered(self) -> list[bytes]:
        return unpack(self)

    def positions(self) -> KeySample:
        return KeySample(unpack(self))

    def random_member(self) -> bytes:
        return random.choice(unpack(self))

    def random_members(self, count: int) -> list[bytes]:
        members = unpack(self)
        n = len(members)
        rand = random.randrange
        return [members[rand(n)] for _ in range(count)]

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        return 0, unpack(self)

    def copy_set(self) -> PackedSet:
        """setTypeDup: 7.0's copy is a dict presized for the members."""
        members = unpack(self)
        return packed_set(members, table_size(len(members)))


def packed_set(members: list[bytes], shape: int) -> PackedSet:
    """A listpack set of ``members`` (distinct, each at most LISTPACK_VALUE bytes)."""
    if not members:
        return PackedSet()
    return PackedSet(b"".join((pack(members), _BITS[shape.bit_length()])))


_BITS = [bytes((i,)) for i in range(64)]
_CODES = {2: "h", 4: "i", 8: "q"}
"""The array type code of each intset width (native order: the blob lives in memory only)."""


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class IntSet(bytes):
    """A set in intset encoding: a width byte (2, 4 or 8), then the integers sorted, in
    native order at that width (array type ``_CODES[width]``). Built by ``intset``.
    Members go in and come out as their decimal text; its length is the member count."""

    __slots__ = ()

    def width(self) -> int:
        return self[0]

    def _view(self) -> memoryview[int]:
        return memoryview(self)[1:].cast(_CODES[self[0]])  # type: ignore[call-overload, no-any-return]

    def __len__(self) -> int:
        return (bytes.__len__(self) - 1) // self[0]

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        return (b"%d" % n for n in self._view())

    def __contains__(self, member: object) -> bool:
        n = as_integer(member) if isinstance(member, bytes) else None
        if n is None:
            return False
        view = self._view()
        i = bisect_left(view, n)
        return i < len(view) and view[i] == n

    def values(self) -> list[int]:
        return self._view().tolist()  # type: ignore[return-value]

    def ordered(self) -> list[bytes]:
        return [b"%d" % n for n in self._view()]

    def positions(self) -> KeySample:
        return KeySample(self.ordered())

    def random_member(self) -> bytes:
        view = self._view()
        return b"%d" % view[random.randrange(len(view))]

    def random_members(self, count: int) -> list[bytes]:
        view = self._view()
        n = len(view)
        rand = random.randrange
        return [b"%d" % view[rand(n)] for _ in range(count)]

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        return 0, self.ordered()

    def copy_set(self) -> IntSet:
        return IntSet(self)


def intset(values: Iterable[int], width: int = 2) -> IntSet:
    """An intset of ``values`` (distinct, sorted here) at ``width`` bytes each."""
    return IntSet(b"".join((_BITS[width], array(_CODES[width], sorted(values)).tobytes())))


_NO_INTEGERS = intset(())
SetValue = HashSet | IntSet | PackedSet
SET_CLASSES = (HashSet, IntSet, PackedSet)


def add_members(s: SetValue, members: Iterable[bytes]) -> tuple[SetValue, int]:
    """setTypeAdd for each member: (the set now, how many were new). An intset or listpack
    with new members is a new value (so is a conversion: an intset meeting a non-integer
    or growing past set-max-intset-entries, a listpack growing past its limits), which the
    caller stores under its key; a hashtable changes in place."""
    if isinstance(s, HashSet):
        return s, _add_all(s, members)
    if isinstance(s, PackedSet):
        return _add_to_packed(s, members)
    values = s.values()
    have = set(values)
    width = s.width()
    limit = LIMITS["entries"]
    it = iter(members)
    for member in it:
        n = as_integer(member)
        if n is None:
            return _from_intset(sorted(have), chain((member,), it), len(values))
        if n not in have:
            have.add(n)
            w = int_width(n)
            if w > width:
                width = w
            if len(have) > limit:
                return _from_intset(sorted(have), it, len(values))
    if len(have) == len(values):
        return s, 0
    return intset(have, width), len(have) - len(values)


def _from_intset(values: list[int], rest: Iterator[bytes], before: int
                 ) -> tuple[SetValue, int]:
    """setTypeConvert of an intset: a listpack when small enough (7.2), else a hashtable;
    7.0's dict is presized for the intset's members. Then the ``rest`` are added."""
    members = [b"%d" % v for v in values]
    shape = table_size(len(members))
    if len(members) <= SMALL:
        return _add_packed(members, shape, rest, before)
    table = HashSet(members, shape)
    _add_all(table, rest)
    return table, len(table) - before


def _add_packed(members: list[bytes], shape: int, rest: Iterator[bytes], before: int
                ) -> tuple[SetValue, int]:
    """setTypeAdd on a listpack of ``members``: appended while the set stays within
    set-max-listpack-entries and -value, else the hashtable it becomes."""
    for member in rest:
        if member in members:
            continue
        if len(members) >= SMALL or len(member) > LISTPACK_VALUE:
            table = HashSet(members, shape)
            table.add_member(member)
            _add_all(table, rest)
            return table, len(table) - before
        shape = grown(shape, len(members))
        members.append(member)
    return packed_set(members, shape), len(members) - before


def _add_to_packed(s: PackedSet, members: Iterable[bytes]) -> tuple[SetValue, int]:
    """``_add_packed`` on the packed bytes themselves: a membership test in place and a
    new member appended by copying them once (``splice``), no member unpacked until the
    set becomes a hashtable."""
    packed: bytes = s
    n = before = len(s)
    shape = s.buckets()
    it = iter(members)
    for member in it:
        if index_of(packed, member) >= 0:
            continue
        if n >= SMALL or len(member) > LISTPACK_VALUE:
            table = HashSet(unpack(packed), shape)
            table.add_member(member)
            _add_all(table, it)
            return table, len(table) - before
        shape = grown(shape, n)
        packed = splice(packed, n, 0, [member], _BITS[shape.bit_length()])
        n += 1
    return (PackedSet(packed), n - before) if n > before else (s, 0)


def _add_all(s: HashSet, members: Iterable[bytes]) -> int:
    add = s.add_member
    added = 0
    for member in members:
        if add(member):
            added += 1
    return added


def remove_members(s: SetValue, members: Iterable[bytes]) -> tuple[SetValue, int]:
    """setTypeRemove for each member: (the set now, how many were removed). An intset or
    listpack that loses members is a new value (an intset keeps its width, a listpack the
    bucket count its dict would have), which the caller stores; a hashtable changes in
    place. The set may be left empty: the caller deletes the key."""
    if isinstance(s, HashSet):
        remove = s.remove_member
        return s, sum([1 for member in members if remove(member)])
    if isinstance(s, PackedSet):
        return _remove_from_packed(s, members)
    values = s.values()
    size = len(values)
    for member in members:
        n = as_integer(member)
        if n is not None:
            i = bisect_left(values, n)
            if i < len(values) and values[i] == n:
                del values[i]
    if len(values) == size:
        return s, 0
    return intset(values, s.width()), size - len(values)


def _remove_from_packed(s: PackedSet, members: Iterable[bytes]) -> tuple[SetValue, int]:
    """Each member found removed by copying the packed bytes around it (``splice``); the
    bucket count follows as the dict's would."""
    packed: bytes = s
    n = before = len(s)
    shape = s.buckets()
    for member in members:
        at = index_of(packed, member)
        if at >= 0:
            n -= 1
            shape = shrunk(shape, n)
            packed = splice(packed, at, 1, [], _BITS[shape.bit_length()])
    return (PackedSet(packed), before - n) if n < before else (s, 0)


def new_set(members: list[bytes]) -> SetValue:
    """setTypeCreate, then setTypeAdd of each of ``members`` (at least one): an intset if
    the first is an integer, else a listpack (with no dict table in 7.0's terms: its first
    add allocates 4 buckets)."""
    first = as_integer(members[0])
    if first is not None:
        if len(members) == 1 and LIMITS["entries"] > 0:
            return intset((first,), int_width(first))  # SADD of one integer: at once
        return add_members(_NO_INTEGERS, members)[0]
    return _add_packed([], 0, iter(members), 0)[0]


def from_members(members: list[bytes], shape: int) -> PackedSet | HashSet:
    """A set of strings (``members`` distinct): a listpack within 7.2's limits, else a
    hashtable; ``shape`` is 7.0's dict bucket count."""
    if len(members) <= SMALL and all(len(m) <= LISTPACK_VALUE for m in members):
        return packed_set(members, shape)
    return HashSet(members, shape)


def result_set(members: Iterable[bytes], source: SetValue | None = None) -> SetValue:
    """The set Redis builds by adding ``members`` (a list's are distinct; a listpack keeps
    their order) to a fresh intset (createIntsetObject + setTypeAdd): an intset iff every
    member is an integer and there are few enough. With
    ``source``, the encoding is decided by that set's members instead: SDIFF's second
    algorithm adds the whole first set, then removes (and a dict may shrink on the way)."""
    given: Collection[bytes] = (members if isinstance(members, (set, frozenset, list))
                                else set(members))
    decider: Iterable[bytes] = given if source is None else source  # type: ignore[assignment]
    size = len(given if source is None else source)
    if size <= LIMITS["entries"]:
        values = []
        width = 2
        for member in decider:
            n = as_integer(member)
            if n is None:
                break
            values.append(n)
            w = int_width(n)
            if w > width:
                width = w
        else:
            return intset(values if source is None else map(int, given), width)
    if source is None:
        return from_members(list(given), table_size(len(given)))
    return from_members(list(given), _shrunk(table_size(len(source)), len(source), len(given)))


def _shrunk(shape: int, used: int, final: int) -> int:
    """A dict's bucket count after removals take it from ``used`` entries to ``final``."""
    while used > final:
        used -= 1
        shape = shrunk(shape, used)
    return shape


# --- introspection ---

def _encoding(s: SetValue) -> str:
    """A listpack answers as 7.0's hashtable (see the module's docstring)."""
    return "intset" if s.__class__ is IntSet else "hashtable"


def _size(s: SetValue, samples: int) -> int:
    """objectComputeSize: the intset blob, or the dict, its table and sampled entries."""
    if isinstance(s, IntSet):
        return ROBJ_SIZE + jemalloc_size(INTSET_HEADER + len(s) * s.width())
    buckets = s.shape if isinstance(s, HashSet) else s.buckets()
    size = ROBJ_SIZE + DICT_SIZE + 8 * buckets
    sampled = 0
    total = 0
    for member in s:
        if sampled >= samples:
            break
        total += DICT_ENTRY_SIZE + sds_size(len(member))
        sampled += 1
    if sampled:
        size += int(total / sampled * len(s))
    return size


def _digest(digest: Digest, s: SetValue) -> Digest:
    """xorDigest of every member: order-independent, as debug.c does for sets."""
    acc = int.from_bytes(digest, "big")
    sha1 = hashlib.sha1
    for member in s:
        acc ^= int.from_bytes(sha1(member).digest(), "big")
    return acc.to_bytes(20, "big")


# --- RDB ---

_INTSET_FORMAT = {2: "<h", 4: "<i", 8: "<q"}


def _save_members(w: rdb.Writer, s: HashSet | PackedSet) -> None:
    """RDB_TYPE_SET, for a listpack too (as 7.0 saves its dict)."""
    w.save_len(len(s))
    for member in s:
        w.save_string(member)


def _save_intset(w: rdb.Writer, s: IntSet) -> None:
    """The intset blob: width and length (little endian u32), then the sorted integers."""
    width = s.width()
    values = s.values()
    fmt = "<II" + _INTSET_FORMAT[width][1] * len(values)
    w.save_string(struct.pack(fmt, width, len(values), *values))


def _load_hashtable(r: rdb.Reader) -> SetValue:
    """RDB_TYPE_SET: an intset when small enough and all integers, as rdbLoadObject does."""
    length = r.load_len()
    if not length:
        raise rdb.RdbError("empty set")
    members = [r.load_string() for _ in range(length)]
    if len(set(members)) != length:
        raise rdb.RdbError("duplicate set member")
    return result_set(members)


def _load_intset(r: rdb.Reader) -> SetValue:
    blob = r.load_string()
    if len(blob) < INTSET_HEADER:
        raise rdb.RdbError("intset too short")
    width, length = struct.unpack_from("<II", blob)
    if width not in _INTSET_FORMAT or len(blob) != INTSET_HEADER + width * length or not length:
        raise rdb.RdbError("invalid intset")
    values = struct.unpack_from("<" + _INTSET_FORMAT[width][1] * length, blob, INTSET_HEADER)
    if any(a >= b for a, b in zip(values, values[1:], strict=False)):
        raise rdb.RdbError("intset not sorted")
    if length > LIMITS["entries"]:
        return from_members([b"%d" % v for v in values], table_size(length))
    return intset(values, width)


def _load_listpack(r: rdb.Reader) -> SetValue:
    """RDB_TYPE_SET_LISTPACK (Redis 7.2): its members, encoded as adding them would."""
    members = decode_listpack(r.load_string())  # ListpackError is an RdbError
    if not members:
        raise rdb.RdbError("empty set")
    if len(set(members)) != len(members):
        raise rdb.RdbError("duplicate set member")
    return result_set(members)


def _footprint(s: SetValue) -> int:
    """An intset or a listpack: the one bytes object (PyType_GenericAlloc asks for one
    item more than getsizeof counts, rounded up to 8: a 31-byte listpack takes 96 bytes,
    not 80). A hashtable: the set (its table is a second block), its members, the member
    index."""
    if not isinstance(s, HashSet):
        return alloc((getsizeof(s) + 8) & ~7)
    cost = obj(s) + 16 + elements_cost(s, len(s), bytes_cost)
    index = s.index
    return cost if index is None else cost + index_cost(index)


SET = ValueType(
    "set", SET_CLASSES, TypeInfo(OBJ_SET, _encoding, _size, _digest), _footprint,
    lambda s: s.copy_set(),
    (RdbEncoding(RDB_TYPE_SET_INTSET, (IntSet,), _save_intset, _load_intset),
     RdbEncoding(RDB_TYPE_SET_LISTPACK, (), None, _load_listpack),
     RdbEncoding(RDB_TYPE_SET, (HashSet, PackedSet), _save_members, _load_hashtable)))


# The small values hold no reference: out of the cyclic collector's walks (packed.py).
untracked_instances(PackedSet, IntSet)
