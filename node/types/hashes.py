"""The hash value: a dict of field -> value bytes, plus what Redis's encodings imply.

A small hash is a plain dict (Redis's listpack: insertion order, updates in place, which a
Python dict reproduces, so HGETALL answers in Redis's order). Once it outgrows
``hash-max-listpack-entries`` or gets a field or value longer than
``hash-max-listpack-value`` it becomes "hashtable"-encoded for good, as in Redis, and
only then carries ``table``: a positional index of its fields (a list with swap-remove,
node/sampling.py) that HSCAN walks from the top down with the same guarantee as SCAN
(node/commands/keys.py), that HRANDFIELD samples in O(1), and that tracks the bucket count
Redis's dict would have, for MEMORY USAGE. Small hashes pay for none of this.

This module also teaches the rest of the node the type: TYPE name, OBJECT ENCODING,
MEMORY USAGE and DEBUG DIGEST (typeinfo), and the RDB forms (plain hash, and the exact
listpack bytes Redis 7.0 writes for small hashes, so DUMP payloads match byte for byte).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from mypy_extensions import mypyc_attr

from ..base.sampling import KeySample
from .footprint import bytes_cost, elements_cost, index_cost, obj
from .listpack import decode_listpack, encode_listpack, listpack_size
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


def dict_slots(n: int) -> int:
    """_dictNextExp: the bucket count dictExpand picks for ``n`` elements."""
    return max(DICT_MIN_SLOTS, 1 << (n - 1).bit_length()) if n > 0 else DICT_MIN_SLOTS


class FieldTable(KeySample):
    """The fields of a hashtable-encoded hash by position, and its dict's bucket count."""

    __slots__ = ("slots",)

    def __init__(self, fields: list[bytes]) -> None:
        super().__init__()
        self.keys = fields
        self.where = {f: i for i, f in enumerate(fields)}
        self.slots = dict_slots(len(fields))


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Hash(dict):  # type: ignore[type-arg]
    """field -> value, listpack-encoded; ``convert`` turns it into a TableHash in place
    (``__class__`` assignment), so the RDB and introspection registries, keyed by class,
    see the encoding."""

    __slots__ = ("table",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.table: FieldTable | None = None

    def convert(self) -> None:
        """hashTypeConvert to a hashtable: one way, sized for the current fields."""
        if self.table is None:
            self.table = FieldTable(list(self))
            self.__class__ = TableHash

    def put(self, field: bytes, value: bytes) -> bool:
        """Set a field; True when it is new."""
        if field in self:
            self[field] = value
            return False
        table = self.table
        if table is not None:
            used = len(self)
            if used >= table.slots:
                table.slots = dict_slots(used + 1)
            table.add(field)
        self[field] = value
        return True

    def remove(self, field: bytes) -> bool:
        if self.pop(field, None) is None:
            return False
        table = self.table
        if table is not None:
            table.discard(field)
            used = len(self)
            if table.slots > DICT_MIN_SLOTS and used * 100 // table.slots < DICT_MIN_FILL:
                table.slots = dict_slots(used)
        return True

    def copy_hash(self) -> Hash:
        """dupHashObject: same encoding; a copied dict is sized for its fields."""
        copy = Hash(self)
        if self.table is not None:
            copy.table = FieldTable(list(self.table.keys))
            copy.__class__ = TableHash
        return copy


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class TableHash(Hash):
    """A hashtable-encoded hash: ``table`` is set."""

    __slots__ = ()


def new_hash(pairs: dict[bytes, bytes], max_entries: int, max_value: int) -> Hash:
    """A hash built from whole content (RESTORE, loading): encoded as its size demands."""
    h = Hash(pairs)
    if len(h) > max_entries or any(len(f) > max_value or len(v) > max_value
                                   for f, v in h.items()):
        h.convert()
    return h


# --- introspection ---

def _encoding(h: Hash) -> str:
    return "listpack" if h.table is None else "hashtable"


def _size(h: Hash, samples: int) -> int:
    """objectComputeSize: the listpack's allocation, or the dict with sampled elements."""
    if h.table is None:
        return ROBJ_SIZE + jemalloc_size(listpack_size(chain.from_iterable(h.items())))
    size = ROBJ_SIZE + DICT_SIZE + 8 * h.table.slots
    taken = elements = 0
    for field, value in h.items():
        if taken >= samples:
            break
        elements += sds_size(len(field)) + sds_size(len(value)) + DICT_ENTRY_SIZE
        taken += 1
    if taken:
        size += int(elements / taken * len(h))
    return size


def _digest(digest: Digest, h: Hash) -> Digest:
    """Each pair is digested in order (field then value); pairs combine without order."""
    for field, value in h.items():
        digest = xor_digest(digest, mix_digest(mix_digest(ZERO_DIGEST, field), value))
    return digest


# --- RDB ---

HASH_LIMITS = {"entries": 512, "value": 64}
"""hash-max-listpack-entries/value as last configured, for loaders (which get no server)."""


def _save_listpack(w: Writer, h: Hash) -> None:
    w.save_string(encode_listpack(chain.from_iterable(h.items())))


def _save_table(w: Writer, h: Hash) -> None:
    w.save_len(len(h))
    for field, value in h.items():
        w.save_string(field)
        w.save_string(value)


def _load_pairs(pairs: list[bytes], max_value: int) -> Hash:
    if not pairs or len(pairs) % 2:
        raise RdbError("empty or odd hash")
    content = dict(zip(pairs[::2], pairs[1::2], strict=True))
    if len(content) * 2 != len(pairs):
        raise RdbError("duplicate hash fields")
    return new_hash(content, HASH_LIMITS["entries"], max_value)


def _load_hash(r: Reader) -> Hash:
    count = r.load_len()
    pairs = []
    for _ in range(2 * count):
        pairs.append(r.load_string())
    return _load_pairs(pairs, HASH_LIMITS["value"])


def _load_listpack(r: Reader) -> Hash:
    """Redis 7.0 keeps a loaded listpack unless it has too many fields (long values stay)."""
    return _load_pairs(decode_listpack(r.load_string()), LISTPACK_MAX_SAFETY_SIZE)


def _footprint(h: Hash) -> int:
    """The dict (its table is a second block), its fields and values, the field index."""
    n = len(h)
    cost = obj(h) + 16 + elements_cost(h, n, bytes_cost) + elements_cost(h.values(), n, bytes_cost)
    table = h.table
    return cost if table is None else cost + index_cost(table.keys, table.where)


HASH = ValueType(
    "hash", (Hash, TableHash), TypeInfo(OBJ_HASH, _encoding, _size, _digest), _footprint,
    Hash.copy_hash,
    (RdbEncoding(RDB_TYPE_HASH, (TableHash,), _save_table, _load_hash),
     RdbEncoding(RDB_TYPE_HASH_LISTPACK, (Hash,), _save_listpack, _load_listpack)))
