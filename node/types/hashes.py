"""The hash value: a dict of field -> value bytes, plus what Redis's encodings imply.

A small hash is its fields and values packed in one bytes object (Redis's listpack:
insertion order, updates in place, so HGETALL answers in Redis's order), stored in the
keyspace as it is (``PackedHash``) and replaced on each write. Once it outgrows
``hash-max-listpack-entries`` or gets a field or value longer than
``hash-max-listpack-value`` it becomes "hashtable"-encoded for good, as in Redis, and
only then carries ``table``: a dict of its fields and a positional index of them (a list
with swap-remove, base/sampling.py's KeySample) that HSCAN walks from the top down with the same
guarantee as SCAN (node/commands/keys.py), that HRANDFIELD samples in O(1), and that tracks
the bucket count Redis's dict would have, for MEMORY USAGE. Small hashes pay for none of
this.

This module also teaches the rest of the node the type: TYPE name, OBJECT ENCODING,
MEMORY USAGE and DEBUG DIGEST (typeinfo), and the RDB forms (plain hash, and the exact
listpack bytes Redis 7.0 writes for small hashes, so DUMP payloads match byte for byte).
"""

from __future__ import annotations

from collections.abc import Iterator
from sys import getsizeof

from mypy_extensions import mypyc_attr

from ..base.errors import CORRUPT_LOADED_VALUE, CommandError
from ..base.sampling import KeySample
from .footprint import (
    SMALL_REQUEST,
    alloc,
    bytes_cost,
    elements_cost,
    index_cost,
    obj,
)
from .listpack import (
    LP_EOF,
    LP_HDR_NUMELE_UNKNOWN,
    LP_HDR_SIZE,
    ListpackError,
    decode_listpack,
    encode_listpack,
    listpack_size,
)
from .packed import EMPTY, count, field_index, pack, splice, unpack, untracked_instances, value_of
from .rdb import RdbError, Reader, Writer
from .registry import RdbEncoding, ValueType
from .typeinfo import (
    DICT_ENTRY_SIZE,
    OBJ_HASH,
    ROBJ_SIZE,
    ZERO_DIGEST,
    Digest,
    TypeInfo,
    jemalloc_size,
    mix_digest,
    sds_size,
    xor_digest,
)

RDB_TYPE_HASH = 4
RDB_TYPE_HASH_LISTPACK = 16
DICT_SIZE = 56
LISTPACK_MAX_SAFETY_SIZE = 1 << 30
DICT_MIN_SLOTS = 4
DICT_MIN_FILL = 10  # percent: a sparser dict shrinks (htNeedsResize)
_SPLICED_PAIRS = 4  # a packed hash changed pair by pair up to this many pairs a call


def dict_slots(n: int) -> int:
    """_dictNextExp: the bucket count dictExpand picks for ``n`` elements."""
    return max(DICT_MIN_SLOTS, 1 << (n - 1).bit_length()) if n > 0 else DICT_MIN_SLOTS


class FieldTable(KeySample):
    """A hashtable-encoded hash's fields: field -> value, the fields by position (a
    KeySample, for HSCAN and HRANDFIELD), and the bucket count its dict would have in
    Redis. A hash only ever added to, as most are, never builds the sample's position
    index: 85 of the 258 bytes a field of a 100k-field hash would cost."""

    __slots__ = ("values", "slots")

    def __init__(self, values: dict[bytes, bytes]) -> None:
        super().__init__(list(values))
        self.values = values
        self.slots = dict_slots(len(values))

    def put(self, field: bytes, value: bytes) -> bool:
        """Set a field; True when it is new. One dict store finds and sets the field (the
        length tells whether it was there): a big hash's HSET is mostly that lookup."""
        values = self.values
        used = len(values)
        values[field] = value
        if len(values) == used:
            return False
        if used >= self.slots:
            self.slots = dict_slots(used + 1)
        self.add(field)
        return True

    def put_pairs(self, pairs: list[bytes], start: int) -> int:
        """Set the fields of ``pairs[start:]`` (field, value, ...); how many were new."""
        created = 0
        for i in range(start, len(pairs), 2):
            if self.put(pairs[i], pairs[i + 1]):
                created += 1
        return created

    def remove(self, field: bytes) -> bool:
        """Delete a field; False when it was not there. The dict shrinks as Redis's would
        (htNeedsResize), for MEMORY USAGE."""
        values = self.values
        if values.pop(field, None) is None:
            return False
        self.discard(field)
        used = len(values)
        if self.slots > DICT_MIN_SLOTS and used * 100 // self.slots < DICT_MIN_FILL:
            self.slots = dict_slots(used)
        return True


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class PackedHash(bytes):
    """A listpack-encoded hash as the keyspace holds it: its packed pairs (packed.py) and
    nothing else. A write builds the next value and stores it in the key's place, as Redis
    reallocates a listpack; commands read and change it through a ``Hash`` (``open_hash``).
    A wrapper object holding the bytes cost 48 bytes a hash; a bytes subclass's instance
    costs 16 more than plain bytes (the collector's header every heap type's instance
    carries): 32 a hash less (96 + 48 -> 112 for three short pairs)."""

    __slots__ = ()


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class LoadedHash(bytes):
    """A listpack-encoded hash loaded from a snapshot and not yet used: the file's listpack
    bytes as they were read. A command's first use decodes them (with every check of
    ``decode_listpack``) and stores the packed form in the key's place (``decode_loaded``),
    which has the key re-costed; until then a SAVE or DUMP writes the bytes back unchanged,
    as Redis writes the listpack it holds. Loading a million small hashes thus builds one
    object each: decoding them all up front took two thirds of the load."""

    __slots__ = ()


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Hash:
    """field -> value, as a command reads and changes it. Listpack-encoded (a command's
    transient view of a PackedHash), the pairs are packed into one bytes object (packed.py:
    fields and values alternate, in insertion order, updated in place as a listpack is) and
    ``stored`` gives the PackedHash to put back; ``convert`` moves them into a
    ``FieldTable`` and turns the hash into a TableHash in place (``__class__`` assignment),
    which the keyspace holds itself, so the RDB and introspection registries, keyed by
    class, see the encoding."""

    __slots__ = ("packed", "table")

    def __init__(self, elements: list[bytes] | None = None) -> None:
        """``elements``: fields and values alternating, fields unique."""
        self.packed = pack(elements) if elements else EMPTY
        self.table: FieldTable | None = None

    def stored(self) -> Hash | PackedHash:
        """What the keyspace holds for this hash: the TableHash itself, or the packed pairs
        as a PackedHash (the one opened if unchanged)."""
        if self.table is not None:
            return self
        packed = self.packed
        return packed if type(packed) is PackedHash else PackedHash(packed)

    def convert(self) -> None:
        """hashTypeConvert to a hashtable: one way, sized for the current fields."""
        if self.table is None:
            self.table = FieldTable(self.as_dict())
            self.packed = EMPTY
            self.__class__ = TableHash

    # --- reading ---

    def elements(self) -> list[bytes]:
        """Fields and values alternating, in the hash's order."""
        table = self.table
        if table is None:
            return unpack(self.packed)
        return [x for pair in table.values.items() for x in pair]

    def as_dict(self) -> dict[bytes, bytes]:
        table = self.table
        if table is not None:
            return dict(table.values)
        elements = unpack(self.packed)
        return dict(zip(elements[::2], elements[1::2], strict=True))

    def get(self, field: bytes) -> bytes | None:
        table = self.table
        if table is not None:
            return table.values.get(field)
        return value_of(self.packed, field)

    def __getitem__(self, field: bytes) -> bytes:
        value = self.get(field)
        if value is None:
            raise KeyError(field)
        return value

    def __contains__(self, field: bytes) -> bool:
        table = self.table
        if table is not None:
            return field in table.values
        return value_of(self.packed, field) is not None

    def __len__(self) -> int:
        table = self.table
        return count(self.packed) >> 1 if table is None else len(table.values)

    def __bool__(self) -> bool:
        return bool(self.packed) or (self.table is not None and bool(self.table.values))

    def keys(self) -> list[bytes]:
        table = self.table
        return unpack(self.packed)[::2] if table is None else list(table.values)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.keys())

    def values(self) -> list[bytes]:
        table = self.table
        return unpack(self.packed)[1::2] if table is None else list(table.values.values())

    def items(self) -> list[tuple[bytes, bytes]]:
        table = self.table
        if table is not None:
            return list(table.values.items())
        elements = unpack(self.packed)
        return list(zip(elements[::2], elements[1::2], strict=True))

    # --- writing ---

    def put(self, field: bytes, value: bytes) -> bool:
        """Set a field; True when it is new."""
        table = self.table
        if table is None:
            return self.put_pairs([field, value]) == 1
        return table.put(field, value)

    def put_pairs(self, pairs: list[bytes], start: int = 0) -> int:
        """Set the fields of ``pairs[start:]`` (field, value, ...); how many were new. A
        packed hash changes one pair at a time, each change copying the packed bytes once
        (``splice``); past a few pairs, unpacking them once costs less."""
        table = self.table
        if table is not None:
            return table.put_pairs(pairs, start)
        packed = self.packed
        if not packed:  # a new hash (HSET creating it, an AOF replayed): no search
            given = pairs[start::2]
            if len(set(given)) == len(given):
                self.packed = pack(pairs[start:])
                return len(given)
        if len(pairs) - start > _SPLICED_PAIRS * 2:
            return self._put_unpacked(pairs, start)
        created = 0
        for i in range(start, len(pairs), 2):
            at = field_index(packed, pairs[i])
            packed = put_at(packed, at, pairs[i], pairs[i + 1])
            if at < 0:
                created += 1
        self.packed = packed
        return created

    def _put_unpacked(self, pairs: list[bytes], start: int) -> int:
        elements = unpack(self.packed)
        fields = elements[::2]
        created = 0
        for i in range(start, len(pairs), 2):
            field = pairs[i]
            try:
                elements[2 * fields.index(field) + 1] = pairs[i + 1]
            except ValueError:
                elements += (field, pairs[i + 1])
                fields.append(field)
                created += 1
        self.packed = pack(elements)
        return created

    def remove(self, field: bytes) -> bool:
        table = self.table
        if table is not None:
            return table.remove(field)
        at = field_index(self.packed, field)
        if at < 0:
            return False
        self.packed = splice(self.packed, at, 2, [], None)
        return True

    def copy_hash(self) -> Hash:
        """dupHashObject for a hashtable: the same encoding, sharing nothing."""
        copy = Hash()
        copy.table = FieldTable(self.as_dict())
        copy.__class__ = TableHash
        return copy


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class TableHash(Hash):
    """A hashtable-encoded hash: ``table`` is set."""

    __slots__ = ()


def put_at(packed: bytes, at: int, field: bytes, value: bytes) -> bytes:
    """Packed pairs with ``field`` set to ``value``: in its place ``at`` (field_index's),
    or appended when ``at`` is -1 (one copy of the bytes, ``splice``)."""
    if at >= 0:
        return splice(packed, at + 1, 1, [value], None)
    return splice(packed, count(packed), 0, [field, value], None)


def open_hash(value: PackedHash | Hash) -> Hash:
    """The Hash a command works on for a stored hash (a PackedHash is viewed, not copied)."""
    if type(value) is PackedHash:
        h: Hash = _new_object(Hash)  # no __init__: 1,000 instructions less a command
        h.packed = value
        h.table = None
        return h
    return value  # type: ignore[return-value]


def decode_loaded(blob: LoadedHash) -> PackedHash:
    """A LoadedHash's packed form, for its first use."""
    try:
        pairs = decode_listpack(blob)
    except ListpackError as exc:  # in a file without a checksum: the commands fail, not the node
        raise CommandError(CORRUPT_LOADED_VALUE % exc) from None
    if len(set(pairs[::2])) * 2 != len(pairs):
        raise CommandError(CORRUPT_LOADED_VALUE % "duplicate hash fields")
    return PackedHash(pack(pairs))


def field_value(value: object, field: bytes) -> bytes | None:
    """A field's value in any stored hash; None if ``value`` is not a hash (SORT's
    ``key->field`` patterns read hashes they did not type-check)."""
    kind = type(value)
    if kind is PackedHash:
        return value_of(value, field)  # type: ignore[arg-type]
    if kind is TableHash:
        return value.table.values.get(field)  # type: ignore[attr-defined,union-attr]
    if kind is LoadedHash:
        return value_of(decode_loaded(value), field)  # type: ignore[arg-type]
    return None


_new_object = object.__new__


def hash_from_listpack(key: bytes, blob: bytes) -> PackedHash | LoadedHash | Hash:
    """A snapshot's listpack-encoded hash, checked as rdbLoadObject checks it when
    sanitize-dump-payload is off (its size and end mark, a known, even, non-zero element
    count within hash-max-listpack-entries) and kept as is (LoadedHash); any other shape
    takes the eager path with its deep checks. The file's CRC64 covers the rest."""
    size = len(blob)
    if size > LP_HDR_SIZE and blob[-1] == LP_EOF:
        total = blob[0] | blob[1] << 8 | blob[2] << 16 | blob[3] << 24  # lpGetTotalBytes
        n = blob[4] | blob[5] << 8  # lpGetNumElements
        if (total == size and 0 < n < LP_HDR_NUMELE_UNKNOWN and not n & 1
                and n <= 2 * HASH_LIMITS["entries"]):
            return LoadedHash(blob)
    return _load_pairs(decode_listpack(blob), LISTPACK_MAX_SAFETY_SIZE)


def new_hash(elements: list[bytes], max_entries: int, max_value: int) -> PackedHash | Hash:
    """A hash built from whole content (RESTORE, loading; fields and values alternating,
    fields unique), as the keyspace holds it: encoded as its size demands."""
    if len(elements) > 2 * max_entries or max(map(len, elements), default=0) > max_value:
        h = Hash(elements)
        h.convert()
        return h
    return PackedHash(pack(elements))


# --- introspection: on the stored forms ---

def stored_elements(value: PackedHash | LoadedHash | Hash) -> list[bytes]:
    """A stored hash's fields and values alternating, in its order."""
    kind = type(value)
    if kind is PackedHash:
        return unpack(value)  # type: ignore[arg-type]
    if kind is LoadedHash:
        return unpack(decode_loaded(value))  # type: ignore[arg-type]
    return value.elements()  # type: ignore[union-attr]


def _encoding(value: PackedHash | LoadedHash | Hash) -> str:
    return "hashtable" if type(value) is TableHash else "listpack"


def _size(value: PackedHash | LoadedHash | Hash, samples: int) -> int:
    """objectComputeSize: the listpack's allocation, or the dict with sampled elements."""
    if type(value) is not TableHash:
        return ROBJ_SIZE + jemalloc_size(listpack_size(stored_elements(value)))
    h: Hash = value  # type: ignore[assignment]
    assert h.table is not None
    size = ROBJ_SIZE + DICT_SIZE + 8 * h.table.slots
    taken = elements = 0
    for field, text in h.items():
        if taken >= samples:
            break
        elements += sds_size(len(field)) + sds_size(len(text)) + DICT_ENTRY_SIZE
        taken += 1
    if taken:
        size += int(elements / taken * len(h))
    return size


def _digest(digest: Digest, value: PackedHash | LoadedHash | Hash) -> Digest:
    """Each pair is digested in order (field then value); pairs combine without order."""
    elements = stored_elements(value)
    for i in range(0, len(elements), 2):
        digest = xor_digest(digest, mix_digest(mix_digest(ZERO_DIGEST, elements[i]),
                                               elements[i + 1]))
    return digest


def _copy(value: PackedHash | LoadedHash | Hash) -> PackedHash | LoadedHash | Hash:
    """dupHashObject: the same encoding, sharing nothing."""
    if type(value) is PackedHash:
        return PackedHash(value)
    if type(value) is LoadedHash:
        return LoadedHash(value)
    return value.copy_hash()  # type: ignore[union-attr]


# --- RDB ---

HASH_LIMITS = {"entries": 512, "value": 64}
"""hash-max-listpack-entries/value as last configured, for loaders (which get no server)."""


def _save_listpack(w: Writer, h: PackedHash) -> None:
    w.save_string(encode_listpack(unpack(h)))


def _save_table(w: Writer, h: Hash) -> None:
    w.save_len(len(h))
    for field, value in h.items():
        w.save_string(field)
        w.save_string(value)


def _load_pairs(pairs: list[bytes], max_value: int) -> PackedHash | Hash:
    if not pairs or len(pairs) % 2:
        raise RdbError("empty or odd hash")
    if len(set(pairs[::2])) * 2 != len(pairs):
        raise RdbError("duplicate hash fields")
    return new_hash(pairs, HASH_LIMITS["entries"], max_value)


def _load_hash(r: Reader) -> PackedHash | Hash:
    count = r.load_len()
    pairs = []
    for _ in range(2 * count):
        pairs.append(r.load_string())
    return _load_pairs(pairs, HASH_LIMITS["value"])


def _load_listpack(r: Reader) -> PackedHash | Hash:
    """Redis 7.0 keeps a loaded listpack unless it has too many fields (long values stay)."""
    return _load_pairs(decode_listpack(r.load_string()), LISTPACK_MAX_SAFETY_SIZE)


def _save_loaded(w: Writer, h: LoadedHash) -> None:
    w.save_string(h)


def _footprint(value: PackedHash | LoadedHash | Hash) -> int:
    """The packed pairs (a LoadedHash's listpack, left undecoded): one object; or the
    TableHash, its table, dict (the table is a second block), fields and values, and the
    field index."""
    if type(value) is not TableHash:
        size = _BYTES_OBJECT + len(value)  # type: ignore[arg-type]  # bytes_cost, inline: loading costs every hash
        return (size + 15) & ~15 if size <= SMALL_REQUEST else alloc(size)
    h: Hash = value  # type: ignore[assignment]
    table = h.table
    assert table is not None
    values = table.values
    n = len(values)
    return (obj(h) + obj(table) + obj(values) + 16 + elements_cost(values, n, bytes_cost)
            + elements_cost(values.values(), n, bytes_cost) + index_cost(table))


_BYTES_OBJECT = getsizeof(PackedHash())  # a bytes subclass's header (its collector's too)

HASH = ValueType(
    "hash", (PackedHash, TableHash, LoadedHash), TypeInfo(OBJ_HASH, _encoding, _size, _digest),
    _footprint, _copy,
    (RdbEncoding(RDB_TYPE_HASH, (TableHash,), _save_table, _load_hash),
     RdbEncoding(RDB_TYPE_HASH_LISTPACK, (PackedHash,), _save_listpack, _load_listpack),
     RdbEncoding(RDB_TYPE_HASH_LISTPACK, (LoadedHash,), _save_loaded, _load_listpack,
                 hash_from_listpack)))


# The small values hold no reference: out of the cyclic collector's walks (packed.py).
untracked_instances(PackedHash, LoadedHash)
