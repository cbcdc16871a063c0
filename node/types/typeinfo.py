"""What each value type tells introspection: OBJECT ENCODING, MEMORY USAGE, DEBUG DIGEST.

Values are plain Python objects, so Redis's internal facts (encoding, jemalloc-sized
allocations, the SHA1 digest) are computed from them by one ``TypeInfo`` per Python
class; the RDB form (DEBUG OBJECT's serializedlength) comes from node/rdb.py's registry. Strings are registered here; each other type module registers its own
with ``register``. The size helpers model Redis's allocations (sds headers, jemalloc
size classes) so that MEMORY USAGE of a string matches redis-server byte for byte.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from ..protocol.request import strict_int

# Object type ids (server.h OBJ_*), mixed into DEBUG DIGEST.
OBJ_STRING, OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_HASH, OBJ_MODULE, OBJ_STREAM = range(7)

ROBJ_SIZE = 16
DICT_ENTRY_SIZE = 24
EMBSTR_SIZE_LIMIT = 44
SHARED_INTEGERS: Final = 10000  # Final: compiled modules inline it
SHARED_REFCOUNT = 2**31 - 1
SDS_MAX_PREALLOC = 1024 * 1024
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

Digest = bytes
"""A 20-byte running digest, as debug.c's ``unsigned char digest[20]``."""

ZERO_DIGEST: Digest = bytes(20)


class TypeInfo(NamedTuple):
    code: int
    """The OBJ_* type id."""
    encoding: Callable[[Any], str]
    """OBJECT ENCODING of a value."""
    size: Callable[[Any, int], int]
    """objectComputeSize: bytes held by the value and its object header; the int is how
    many elements of an aggregate to sample (a huge number means all)."""
    digest: Callable[[Digest, Any], Digest]
    """The value's part of xorObjectDigest, continuing from the given digest."""


TYPES: dict[type, TypeInfo] = {}  # filled by registry.register


def info_of(value: Any) -> TypeInfo:
    return TYPES[type(value)]


# --- allocation sizes ---

def jemalloc_size(n: int) -> int:
    """The usable size jemalloc hands out for a request of ``n`` bytes (64-bit classes)."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15
    spacing = 1 << ((n - 1).bit_length() - 3)
    return (n + spacing - 1) // spacing * spacing


def sds_header(length: int) -> int:
    """sdsHdrSize(sdsReqType(length)): 1, 3, 5, 9 or 17 bytes."""
    if length < 32:
        return 1
    if length < 256:
        return 3
    if length < 65536:
        return 5
    if length < 2**32:
        return 9
    return 17


def sds_size(length: int) -> int:
    """sdsZmallocSize of an sds created for exactly ``length`` bytes (sdsnewlen)."""
    header = sds_header(length) if length else 3
    return jemalloc_size(header + length + 1)


def key_size(key: bytes) -> int:
    """What a key costs besides its value: its sds and its dict entry."""
    return sds_size(len(key)) + DICT_ENTRY_SIZE


# --- digests (debug.c xorDigest / mixDigest) ---

def xor_digest(digest: Digest, data: bytes | bytearray) -> Digest:
    """digest ^= SHA1(data): order-independent accumulation (sets, hashes, keys)."""
    h = hashlib.sha1(data).digest()
    return (int.from_bytes(digest, "big") ^ int.from_bytes(h, "big")).to_bytes(20, "big")


def mix_digest(digest: Digest, data: bytes | bytearray) -> Digest:
    """digest = SHA1(digest ^ SHA1(data)): order-dependent accumulation (lists, fields)."""
    return hashlib.sha1(xor_digest(digest, data)).digest()


def object_digest(digest: Digest, value: Any, volatile: bool) -> Digest:
    """xorObjectDigest: type id, the value's own digest, and a mark for a TTL."""
    info = info_of(value)
    digest = info.digest(mix_digest(digest, struct.pack(">I", info.code)), value)
    if volatile:
        digest = xor_digest(digest, b"!!expire!!")
    return digest


# --- strings ---

SDS_TYPE_MAX = {1: 31, 3: 255, 5: 65535, 9: 2**32 - 1, 17: 2**64 - 1}
EMBSTR, UNSHARED_INT = -1, -2


class SdsString(bytearray):
    """A string whose encoding and allocation follow its history rather than its bytes:
    changed in place (APPEND, SETRANGE), copied (COPY's dupStringObject), or an
    integer-looking INCRBYFLOAT result (createStringObject skips tryObjectEncoding).
    ``alloc`` is the raw sds capacity, or EMBSTR, or UNSHARED_INT for an int-encoded object
    of its own (refcount 1); ``usable`` is what jemalloc handed out for a raw sds."""

    __slots__ = ("alloc", "usable")

    def __init__(self, data: bytes | bytearray = b"", encoded: int = 0) -> None:
        super().__init__(data)
        if encoded < 0:
            self.alloc = self.usable = encoded
        else:
            self.made_raw()

    @classmethod
    def unshared(cls, value: bytes) -> SdsString:
        """dbUnshareStringValue of a stored ``bytes``: int and embstr values get an exact raw
        sds; a raw one keeps what tryObjectEncoding left, trimmed if over a tenth was free."""
        sds = cls(value)
        if string_encoding(value) == "raw" and sds.alloc - len(value) > len(value) // 10:
            sds.alloc = len(value)
        return sds

    def made_raw(self) -> None:
        """sdsnewlen for the current bytes (createRawStringObject, dbUnshareStringValue)."""
        length = len(self)
        header = sds_header(length) if length else 3
        self.usable = jemalloc_size(header + length + 1)
        self.alloc = length if header == 1 else min(self.usable - header - 1, SDS_TYPE_MAX[header])

    def make_room(self, length: int) -> None:
        """sdsMakeRoomFor (greedy) so the sds can hold ``length`` bytes."""
        if self.alloc < 0:
            self.made_raw()
        if length <= self.alloc:
            return
        greedy = length * 2 if length < SDS_MAX_PREALLOC else length + SDS_MAX_PREALLOC
        header = max(sds_header(greedy), 3)
        self.usable = jemalloc_size(header + greedy + 1)
        self.alloc = min(self.usable - header - 1, SDS_TYPE_MAX[header])


def string_integer(value: bytes | bytearray) -> int | None:
    """The integer a string would be stored as (tryObjectEncoding), or None."""
    if len(value) > 20 or isinstance(value, bytearray):
        return None
    number = strict_int(value)
    if number is None or not LONG_MIN <= number <= LONG_MAX:
        return None
    return number


def string_encoding(value: bytes | bytearray) -> str:
    if isinstance(value, SdsString):
        return "raw" if value.alloc >= 0 else "embstr" if value.alloc == EMBSTR else "int"
    if string_integer(value) is not None:
        return "int"
    return "embstr" if len(value) <= EMBSTR_SIZE_LIMIT else "raw"


def string_size(value: bytes | bytearray, samples: int) -> int:
    if isinstance(value, SdsString):
        if value.alloc == EMBSTR:
            return jemalloc_size(ROBJ_SIZE + 3 + len(value) + 1)
        return ROBJ_SIZE + max(value.usable, 0)
    encoding = string_encoding(value)
    if encoding == "int":
        return ROBJ_SIZE
    if encoding == "embstr":
        return jemalloc_size(ROBJ_SIZE + 3 + len(value) + 1)
    return ROBJ_SIZE + sds_size(len(value))


def string_digest(digest: Digest, value: bytes | bytearray) -> Digest:
    return mix_digest(digest, value)


STRING_INFO = TypeInfo(OBJ_STRING, string_encoding, string_size, string_digest)
