"""The set value, with Redis 7.0's two encodings: intset and hashtable.

The class is the encoding. An ``IntSet`` (while every member is a canonical 64-bit integer
and there are at most ``set-max-intset-entries`` of them) keeps its integers sorted and
packed at Redis's element width (2, 4 or 8 bytes, in ``shape``: upgraded, never narrowed,
which DUMP and MEMORY USAGE reveal), as compact as Redis's intset. A ``HashSet`` is a
Python ``set`` of member bytes, for good once converted (Redis never converts back). The
two are laid out differently, so conversion makes a new value that replaces the intset
under its key (``add_members``). The RDB and introspection registries, keyed by class, see
the encoding directly. Redis 7.2 adds a listpack encoding for small non-integer sets; this
follows 7.0.15, the reference tested against.

Reply order matters where Redis's is defined: an intset iterates in ascending integer
order. Hashtable order is Redis's dict order, which no client may rely on.

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
from collections.abc import Iterable, Iterator

from mypy_extensions import mypyc_attr

from ..base.sampling import KeySample
from ..protocol.request import strict_int
from . import rdb
from .footprint import bytes_cost, elements_cost, index_cost, obj
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
"""Sets up to this size are scanned whole and picked from by copying (7.2's listpack bound)."""
DICT_SIZE = 56
INTSET_HEADER = 8
RDB_TYPE_SET = 2
RDB_TYPE_SET_INTSET = 11

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


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class HashSet(set):  # type: ignore[type-arg]
    """A set in hashtable encoding (also the base class every set value is an instance of).

    ``shape`` is, for an intset, its element width in bytes; for a hashtable, the bucket
    count of Redis's dict, which grows and shrinks by dict.c's rules (MEMORY USAGE counts
    it). Redis's incremental rehashing, during which both tables count, is not modelled.
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
        if len(self) >= self.shape:
            self.shape = table_size(len(self) + 1)
        set.add(self, member)
        if self.index is not None:
            self.index.add(member)
        return True

    def remove_member(self, member: bytes) -> bool:
        """setTypeRemove: a hashtable filled under 10% shrinks (htNeedsResize, dictResize)."""
        if member not in self:
            return False
        set.remove(self, member)
        shape = self.shape
        if shape > DICT_HT_INITIAL_SIZE and len(self) * 100 // shape < HASHTABLE_MIN_FILL:
            self.shape = table_size(len(self))
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
            index = self.index = KeySample()
            for member in self:
                index.add(member)
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


def to_hashtable(s: IntSet) -> HashSet:
    """setTypeConvert to OBJ_ENCODING_HT: the same members in a dict presized for them."""
    return HashSet(s)


_CODES = {2: "h", 4: "i", 8: "q"}
"""The array type code of each intset width (native order: the blob lives in memory only)."""


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class IntSet:
    """A set in intset encoding: its integers sorted, at Redis's width, packed in one bytes
    object (``packed``, of array type ``_CODES[shape]``). Members go in and come out as
    their decimal text. An intset cannot become a hashtable in place (the two are laid out
    differently): ``add_members`` hands back the hashtable that replaces it."""

    __slots__ = ("packed", "shape")

    index = None  # picks and SSCAN index the packed integers directly

    def __init__(self, values: Iterable[int] = (), shape: int = 2) -> None:
        self.packed = array(_CODES[shape], sorted(values)).tobytes()
        self.shape = shape

    def _view(self) -> memoryview[int]:
        return memoryview(self.packed).cast(_CODES[self.shape])  # type: ignore[call-overload, no-any-return]

    def __len__(self) -> int:
        return len(self.packed) // self.shape

    def __bool__(self) -> bool:
        return bool(self.packed)

    def __iter__(self) -> Iterator[bytes]:
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

    def intersection(self, *others: Iterable[bytes]) -> set[bytes]:
        return set(self).intersection(*others)

    def remove_member(self, member: bytes) -> bool:
        """intsetRemove: the width stays."""
        n = as_integer(member)
        if n is None:
            return False
        view = self._view()
        i = bisect_left(view, n)
        if i >= len(view) or view[i] != n:
            return False
        at = i * self.shape
        blob = self.packed
        self.packed = blob[:at] + blob[at + self.shape:]
        return True

    def ordered(self) -> list[bytes]:
        return [b"%d" % n for n in self._view()]

    def positions(self) -> KeySample:
        index = KeySample()
        for member in self:
            index.add(member)
        return index

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
        dup = IntSet((), self.shape)
        dup.packed = bytes(bytearray(self.packed))
        return dup


SetValue = HashSet | IntSet
SET_CLASSES = (HashSet, IntSet)


def add_members(s: SetValue, members: Iterable[bytes]) -> tuple[SetValue, int]:
    """setTypeAdd for each member: (the set now, how many were new). An intset meeting a
    non-integer, or growing past set-max-intset-entries, is converted there, and the
    hashtable returned replaces it (the caller stores it under its key). An intset's new
    integers are merged in one rewrite of its bytes."""
    if not isinstance(s, IntSet):
        return s, _add_all(s, members)
    values = s.values()
    have = set(values)
    width = s.shape
    limit = LIMITS["entries"]
    it = iter(members)
    for member in it:
        n = as_integer(member)
        if n is None:
            table = HashSet(b"%d" % v for v in have)
            added = len(have) - len(values) + table.add_member(member)
            return table, added + _add_all(table, it)
        if n not in have:
            have.add(n)
            w = int_width(n)
            if w > width:
                width = w
            if len(have) > limit:
                table = HashSet(b"%d" % v for v in have)
                return table, len(have) - len(values) + _add_all(table, it)
    added = len(have) - len(values)
    if added:
        s.packed = array(_CODES[width], sorted(have)).tobytes()
        s.shape = width
    return s, added


def _add_all(s: HashSet, members: Iterable[bytes]) -> int:
    add = s.add_member
    added = 0
    for member in members:
        if add(member):
            added += 1
    return added


def new_set(first: bytes) -> SetValue:
    """setTypeCreate: an (empty) intset if the first member is an integer, else a hashtable
    with no table yet (its first add allocates 4 buckets)."""
    return IntSet() if as_integer(first) is not None else HashSet((), 0)


def result_set(members: Iterable[bytes], source: SetValue | None = None) -> SetValue:
    """The set Redis builds by adding ``members`` to a fresh intset (createIntsetObject +
    setTypeAdd): an intset iff every member is an integer and there are few enough. With
    ``source``, the encoding is decided by that set's members instead: SDIFF's second
    algorithm adds the whole first set, then removes (and a dict may shrink on the way)."""
    if not isinstance(members, (set, frozenset)):
        members = set(members)
    decider: Iterable[bytes] = members if source is None else source
    size = len(members if source is None else source)  # type: ignore[arg-type]
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
            return IntSet(values if source is None else map(int, members), width)
    s = HashSet(members)
    if source is not None:
        s.shape = _shrunk(table_size(len(source)), len(source), len(s))
    return s


def _shrunk(shape: int, used: int, final: int) -> int:
    """A dict's bucket count after removals take it from ``used`` entries to ``final``."""
    while used > final:
        used -= 1
        if shape > DICT_HT_INITIAL_SIZE and used * 100 // shape < HASHTABLE_MIN_FILL:
            shape = table_size(used)
    return shape


# --- introspection ---

def _encoding(s: SetValue) -> str:
    return "intset" if s.__class__ is IntSet else "hashtable"


def _size(s: SetValue, samples: int) -> int:
    """objectComputeSize: the intset blob, or the dict, its table and sampled entries."""
    if s.__class__ is IntSet:
        return ROBJ_SIZE + jemalloc_size(INTSET_HEADER + len(s) * s.shape)
    size = ROBJ_SIZE + DICT_SIZE + 8 * s.shape
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


def _save_hashtable(w: rdb.Writer, s: HashSet) -> None:
    w.save_len(len(s))
    for member in s:
        w.save_string(member)


def _save_intset(w: rdb.Writer, s: IntSet) -> None:
    """The intset blob: width and length (little endian u32), then the sorted integers."""
    width = s.shape
    values = s.values()
    fmt = "<II" + _INTSET_FORMAT[width][1] * len(values)
    w.save_string(struct.pack(fmt, width, len(values), *values))


def _load_hashtable(r: rdb.Reader) -> SetValue:
    """RDB_TYPE_SET: an intset when small enough and all integers, as rdbLoadObject does."""
    length = r.load_len()
    if not length:
        raise rdb.RdbError("empty set")
    members = {r.load_string() for _ in range(length)}
    if len(members) != length:
        raise rdb.RdbError("duplicate set member")
    s = result_set(members)
    if len(s) != length:
        raise rdb.RdbError("duplicate set member")
    return s


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
    s = IntSet(values, width)
    return to_hashtable(s) if length > LIMITS["entries"] else s


def _footprint(s: SetValue) -> int:
    """An intset: the object and its packed integers. A hashtable: the set (its table is a
    second block), its members, the member index."""
    if isinstance(s, IntSet):
        return obj(s) + (bytes_cost(s.packed) if s.packed else 0)
    cost = obj(s) + 16 + elements_cost(s, len(s), bytes_cost)
    index = s.index
    return cost if index is None else cost + index_cost(index.keys, index.where)


SET = ValueType(
    "set", SET_CLASSES, TypeInfo(OBJ_SET, _encoding, _size, _digest), _footprint,
    lambda s: s.copy_set(),
    (RdbEncoding(RDB_TYPE_SET_INTSET, (IntSet,), _save_intset, _load_intset),
     RdbEncoding(RDB_TYPE_SET, (HashSet,), _save_hashtable, _load_hashtable)))
