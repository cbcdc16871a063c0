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

import struct
from typing import Any

from .keyspace import TYPE_NAMES
from .protocol import strict_int
from .rdb import RdbError, Reader, Writer, register_type
from .sampling import KeySample
from .typeinfo import (
    DICT_ENTRY_SIZE,
    OBJ_HASH,
    ROBJ_SIZE,
    ZERO_DIGEST,
    Digest,
    TypeInfo,
    jemalloc_size,
    mix_digest,
    register,
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


# --- listpack (listpack.c): entry sizes and the exact bytes ---

LP_HDR_SIZE = 6
LP_EOF = 0xFF
_INT_LIMITS = ((0, 127, 1), (-4096, 4095, 2), (-(2**15), 2**15 - 1, 3),
               (-(2**23), 2**23 - 1, 4), (-(2**31), 2**31 - 1, 5))


def _lp_int(s: bytes) -> int | None:
    """lpStringToInt64: the integer a listpack would store the string as."""
    if not s or len(s) > 20:
        return None
    value = strict_int(s)
    if value is None or not -(2**63) <= value < 2**63:
        return None
    return value


def _backlen_size(n: int) -> int:
    if n <= 127:
        return 1
    if n < 16383:
        return 2
    if n < 2097151:
        return 3
    return 4 if n < 268435455 else 5


def _entry_size(s: bytes) -> int:
    """Bytes one listpack entry takes, its back-length included."""
    value = _lp_int(s)
    if value is not None:
        size = next((n for lo, hi, n in _INT_LIMITS if lo <= value <= hi), 9)
    else:
        n = len(s)
        size = n + (1 if n < 64 else 2 if n < 4096 else 5)
    return size + _backlen_size(size)


def listpack_bytes(h: dict[bytes, bytes]) -> int:
    """lpBytes of the listpack holding these pairs."""
    total = LP_HDR_SIZE + 1
    for field, value in h.items():
        total += _entry_size(field) + _entry_size(value)
    return total


def _encode_backlen(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    size = _backlen_size(n)
    out = [n >> (7 * (size - 1))]
    for i in range(size - 2, -1, -1):
        out.append(((n >> (7 * i)) & 127) | 128)
    return bytes(out)


def _encode_entry(s: bytes) -> bytes:
    value = _lp_int(s)
    if value is not None:
        if 0 <= value <= 127:
            enc = bytes((value,))
        elif -4096 <= value <= 4095:
            v = value & 0x1FFF
            enc = bytes(((v >> 8) | 0xC0, v & 0xFF))
        elif -(2**15) <= value < 2**15:
            enc = b"\xf1" + struct.pack("<h", value)
        elif -(2**23) <= value < 2**23:
            enc = b"\xf2" + (value & 0xFFFFFF).to_bytes(3, "little")
        elif -(2**31) <= value < 2**31:
            enc = b"\xf3" + struct.pack("<i", value)
        else:
            enc = b"\xf4" + struct.pack("<q", value)
    else:
        n = len(s)
        if n < 64:
            enc = bytes((0x80 | n,)) + s
        elif n < 4096:
            enc = bytes(((n >> 8) | 0xE0, n & 0xFF)) + s
        else:
            enc = b"\xf0" + struct.pack("<I", n) + s
    return enc + _encode_backlen(len(enc))


def encode_listpack(items: list[bytes]) -> bytes:
    body = b"".join(_encode_entry(s) for s in items)
    total = LP_HDR_SIZE + len(body) + 1
    return struct.pack("<IH", total, min(len(items), 65535)) + body + bytes((LP_EOF,))


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def decode_listpack(blob: bytes) -> list[bytes]:
    """The elements of a listpack, validated as lpValidateIntegrity does (RdbError if not)."""
    if len(blob) < LP_HDR_SIZE + 1:
        raise RdbError("listpack too short")
    total, count = struct.unpack_from("<IH", blob)
    if total != len(blob) or blob[-1] != LP_EOF:
        raise RdbError("listpack header mismatch")
    items = []
    p = LP_HDR_SIZE
    end = total - 1
    try:
        while p < end:
            b = blob[p]
            if b < 0x80:
                item, size = b"%d" % b, 1
            elif b < 0xC0:
                n = b & 0x3F
                item, size = blob[p + 1:p + 1 + n], 1 + n
            elif b < 0xE0:
                item, size = b"%d" % _signed(((b & 0x1F) << 8) | blob[p + 1], 13), 2
            elif b < 0xF0:
                n = ((b & 0x0F) << 8) | blob[p + 1]
                item, size = blob[p + 2:p + 2 + n], 2 + n
            elif b == 0xF0:
                n = struct.unpack_from("<I", blob, p + 1)[0]
                item, size = blob[p + 5:p + 5 + n], 5 + n
            elif 0xF1 <= b <= 0xF4:
                width = (2, 3, 4, 8)[b - 0xF1]
                raw = int.from_bytes(blob[p + 1:p + 1 + width], "little")
                item, size = b"%d" % _signed(raw, 8 * width), 1 + width
            else:
                raise RdbError("bad listpack entry encoding")
            p += size
            if p > end or blob[p:p + _backlen_size(size)] != _encode_backlen(size):
                raise RdbError("bad listpack back-length")
            p += _backlen_size(size)
            items.append(bytes(item))
    except (IndexError, struct.error) as exc:
        raise RdbError("truncated listpack") from exc
    if p != end or (count != 65535 and count != len(items)):
        raise RdbError("listpack count mismatch")
    return items


# --- introspection ---

def _encoding(h: Hash) -> str:
    return "listpack" if h.table is None else "hashtable"


def _size(h: Hash, samples: int) -> int:
    """objectComputeSize: the listpack's allocation, or the dict with sampled elements."""
    if h.table is None:
        return ROBJ_SIZE + jemalloc_size(listpack_bytes(h))
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
    w.save_string(encode_listpack([x for pair in h.items() for x in pair]))


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


_INFO = TypeInfo(OBJ_HASH, _encoding, _size, _digest)
for _cls in (Hash, TableHash):
    TYPE_NAMES[_cls] = "hash"
    register(_cls, _INFO)
register_type(RDB_TYPE_HASH, (TableHash,), _save_table, _load_hash)
register_type(RDB_TYPE_HASH_LISTPACK, (Hash,), _save_listpack, _load_listpack)
