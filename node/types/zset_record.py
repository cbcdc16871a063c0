"""The sorted set type's record: what TYPE, OBJECT ENCODING, MEMORY USAGE, DEBUG DIGEST,
the memory accounting, COPY and the RDB forms (a plain zset, and the listpack Redis 7.0
writes for small sets, so DUMP payloads match byte for byte) need to know of it.
"""

from __future__ import annotations

import math
import struct

from ..base.keyindex import UNBOXED_CODES
from ..protocol.reply import format_double
from .footprint import INT, bytes_cost, obj
from .listpack import decode_listpack, encode_listpack, listpack_size
from .rdb import RdbError, Reader, Writer
from .registry import RdbEncoding, ValueType
from .typeinfo import (
    DICT_ENTRY_SIZE,
    OBJ_ZSET,
    ROBJ_SIZE,
    Digest,
    TypeInfo,
    jemalloc_size,
    mix_digest,
    sds_size,
    xor_digest,
)
from .zset import PackedZSet, SkipZSet, ZSet, open_zset

# What the member -> slot index holds for a slot besides the member: a dict, an int object.
SLOT_COST = 0 if UNBOXED_CODES else INT

RDB_TYPE_ZSET = 3
RDB_TYPE_ZSET_2 = 5
RDB_TYPE_ZSET_LISTPACK = 17


# --- introspection ---

def _encoding(value: ZSet | PackedZSet) -> str:
    return "listpack" if type(value) is PackedZSet else "skiplist"


def score_text(score: float) -> bytes:
    """A listpack's score entry (zzlInsertAt): integral scores within +-LLONG_MAX/2 are
    stored as integers (double2ll), others as d2string's %.17g."""
    if -4611686018427387903 <= score <= 4611686018427387903 and score == int(score):
        return b"%d" % int(score)
    return format_double(score)


def listpack_items(z: ZSet) -> list[bytes]:
    """The listpack's entries: member, score as d2string wrote it, and so on in order."""
    items = []
    for score, member in z.order:
        items.append(member)
        items.append(score_text(score))
    return items


_NODE_BYTES = 53
"""Expected jemalloc size of a skiplist node (24 bytes + 16 per level, levels geometric with
p = 1/4): Redis's real figure depends on its random levels, so MEMORY USAGE of a skiplist
zset is an estimate here; listpack sizes are exact."""
_HEADER_BYTES = 640  # the 32-level header node
_STRUCTS = 16 + 32 + 56  # zset, zskiplist, dict


def _size(value: ZSet | PackedZSet, samples: int) -> int:
    """objectComputeSize for a zset: the listpack's allocation, or a sampled skiplist."""
    z = open_zset(value)
    if z.slots is None:
        return ROBJ_SIZE + jemalloc_size(listpack_size(listpack_items(z)))
    n = len(z)
    size = ROBJ_SIZE + _STRUCTS + 8 * _dict_slots(n) + _HEADER_BYTES
    sampled = min(samples, n)
    if sampled:
        total = sum(sds_size(len(member)) + DICT_ENTRY_SIZE + _NODE_BYTES
                    for _, member in z.order[:sampled])
        size += total * n // sampled
    return size


def _footprint(value: ZSet | PackedZSet) -> int:
    """A listpack: its one object. A skiplist: the members' bytes (sampled), the member ->
    slot index (and its slot ints if a dict: the pure-Python build), the slots and their
    scores, and the order."""
    if type(value) is PackedZSet:
        return obj(value)
    z: ZSet = value  # type: ignore[assignment]
    big = z.big
    assert big is not None
    slots = big.slots
    n = len(slots)
    sample = slots if n <= 4 else [slots[0], slots[n // 3], slots[2 * n // 3], slots[-1]]
    members = sum(bytes_cost(m) for m in sample) * n // max(len(sample), 1)
    return (obj(z) + obj(big) + members + obj(big.slot) + n * SLOT_COST + obj(slots)
            + obj(big.values) + big.order.footprint())


def _dict_slots(n: int) -> int:
    slots = 4
    while slots < n:
        slots *= 2
    return slots


def _digest(digest: Digest, value: ZSet | PackedZSet) -> Digest:
    zero = bytes(20)
    for member, score in open_zset(value).scores.items():
        digest = xor_digest(digest, mix_digest(mix_digest(zero, member), format_double(score)))
    return digest


# --- RDB ---

def _save_listpack(w: Writer, z: PackedZSet) -> None:
    w.save_string(encode_listpack(listpack_items(open_zset(z))))


def _save(w: Writer, z: ZSet) -> None:
    """rdbSaveObject for a skiplist: members from the highest score down, binary doubles."""
    w.save_len(len(z.order))
    for score, member in reversed(z.order):
        w.save_string(member)
        w.buf += struct.pack("<d", score)


def _load_zset2(r: Reader) -> ZSet | PackedZSet:
    return _build([(r.load_string(), struct.unpack("<d", r.read(8))[0])
                   for _ in range(r.load_len())])


def _load_zset(r: Reader) -> ZSet | PackedZSet:
    pairs = []
    for _ in range(r.load_len()):
        member = r.load_string()
        length = r.read_byte()
        if length in (253, 254, 255):
            score = math.nan if length == 253 else math.inf if length == 254 else -math.inf
        else:
            score = float(r.read(length))
        pairs.append((member, score))
    return _build(pairs)


def _load_listpack(r: Reader) -> ZSet | PackedZSet:
    items = decode_listpack(r.load_string())
    if len(items) % 2:
        raise RdbError("odd listpack zset")
    return _build([(items[i], float(items[i + 1])) for i in range(0, len(items), 2)])


LOAD_LIMITS = [128, 64]
"""zset-max-listpack-entries / -value for RESTORE, kept current by config watchers."""


def _build(pairs: list[tuple[bytes, float]]) -> ZSet | PackedZSet:
    scores: dict[bytes, float] = {}
    for member, score in pairs:
        if math.isnan(score) or member in scores:
            raise RdbError("bad zset element")
        scores[member] = score
    return ZSet.from_scores(scores, *LOAD_LIMITS)


def _copy(value: ZSet | PackedZSet) -> ZSet | PackedZSet:
    """zsetDup: the same encoding, sharing nothing."""
    return PackedZSet(value) if type(value) is PackedZSet else value.copy()  # type: ignore[union-attr]


ZSET = ValueType(
    "zset", (PackedZSet, SkipZSet), TypeInfo(OBJ_ZSET, _encoding, _size, _digest), _footprint,
    _copy,
    (RdbEncoding(RDB_TYPE_ZSET_2, (SkipZSet,), _save, _load_zset2),
     RdbEncoding(RDB_TYPE_ZSET_LISTPACK, (PackedZSet,), _save_listpack, _load_listpack),
     RdbEncoding(RDB_TYPE_ZSET, (), None, _load_zset)))
