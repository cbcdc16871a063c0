"""Redis's listpack (listpack.c): the exact bytes, sizes and integrity checks.

Hashes, sorted sets and list nodes are all saved as listpacks in RDB and DUMP payloads, and
MEMORY USAGE of their small encodings is the listpack's allocation; this is the one codec
they share, so a payload matches redis-server's byte for byte whatever type carries it.

An element is stored as an integer when lpStringToInt64 (string2ll, at most 20 bytes)
accepts it, in the narrowest of the 7/13/16/24/32/64-bit forms, else as a string with a
6-, 12- or 32-bit length; each entry is followed by its own length as a back-length
(7 bits a byte, readable backwards). Integers decode to their decimal text.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..protocol.request import strict_int
from .rdb import RdbError

LP_HDR_SIZE = 6
"""Total bytes (32 bits) and element count (16 bits), little-endian."""
LP_EOF = 0xFF
LP_HDR_NUMELE_UNKNOWN = 65535
LP_ENCODING_32BIT_STR = 0xF0
LP_ENCODING_16BIT_INT = 0xF1
LP_ENCODING_24BIT_INT = 0xF2
LP_ENCODING_32BIT_INT = 0xF3
LP_ENCODING_64BIT_INT = 0xF4
_INT_WIDTHS = {LP_ENCODING_16BIT_INT: 2, LP_ENCODING_24BIT_INT: 3, LP_ENCODING_32BIT_INT: 4,
               LP_ENCODING_64BIT_INT: 8}


_SMALL_INTS = [b"%d" % i for i in range(128)]


class ListpackError(RdbError):
    """A listpack that fails lpValidateIntegrity: RDB loaders answer it as any bad payload."""


def _as_int(s: bytes) -> int | None:
    """lpStringToInt64: the integer a listpack stores the element as, if any."""
    if len(s) > 20:
        return None
    value = strict_int(s)
    if value is None or not -(2**63) <= value < 2**63:
        return None
    return value


def _encode(s: bytes) -> bytes:
    """lpEncodeIntegerGetType / lpEncodeString: an element's encoding, without back-length."""
    v = _as_int(s)
    if v is not None:
        if 0 <= v <= 127:
            return bytes((v,))
        if -4096 <= v <= 4095:
            v &= 0x1FFF
            return bytes((0xC0 | v >> 8, v & 0xFF))
        if -32768 <= v <= 32767:
            return bytes((LP_ENCODING_16BIT_INT,)) + v.to_bytes(2, "little", signed=True)
        if -(2**23) <= v < 2**23:
            return bytes((LP_ENCODING_24BIT_INT,)) + v.to_bytes(3, "little", signed=True)
        if -(2**31) <= v < 2**31:
            return bytes((LP_ENCODING_32BIT_INT,)) + v.to_bytes(4, "little", signed=True)
        return bytes((LP_ENCODING_64BIT_INT,)) + v.to_bytes(8, "little", signed=True)
    n = len(s)
    if n < 64:
        return bytes((0x80 | n,)) + s
    if n < 4096:
        return bytes((0xE0 | n >> 8, n & 0xFF)) + s
    return bytes((LP_ENCODING_32BIT_STR,)) + n.to_bytes(4, "little") + s


def _backlen_size(n: int) -> int:
    return (1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else
            4 if n < 268435455 else 5)


def _encode_backlen(n: int) -> bytes:
    """lpEncodeBacklen: the most significant 7 bits first, every byte but the first flagged."""
    if n <= 127:
        return bytes((n,))
    size = _backlen_size(n)
    return bytes([n >> 7 * (size - 1)]
                 + [(n >> 7 * i & 127) | 128 for i in range(size - 2, -1, -1)])


def _decode_backlen(blob: bytes, p: int) -> int:
    """lpDecodeBacklen: the back-length whose last byte is at ``p``, read backwards."""
    value = shift = 0
    while True:
        b = blob[p]
        value |= (b & 127) << shift
        if not b & 128:
            return value
        shift += 7
        if shift > 28:
            return -1
        p -= 1


def entry_size(s: bytes) -> int:
    """Bytes the element's entry takes, back-length included, without building it."""
    v = _as_int(s)
    if v is None:
        n = len(s)
        encoded = n + (1 if n < 64 else 2 if n < 4096 else 5)
    elif 0 <= v <= 127:
        return 2
    elif -4096 <= v <= 4095:
        return 3
    else:
        encoded = 3 if -32768 <= v <= 32767 else 4 if -(2**23) <= v < 2**23 else (
            5 if -(2**31) <= v < 2**31 else 9)
    return encoded + _backlen_size(encoded)


def listpack_size(items: Iterable[bytes]) -> int:
    """lpBytes of the listpack holding these elements."""
    return LP_HDR_SIZE + 1 + sum(map(entry_size, items))


def encode_listpack(items: Iterable[bytes]) -> bytes:
    """The listpack of these elements, as lpAppend builds it.

    A short string that cannot be a number (it starts with neither a digit nor '-') is
    written inline: snapshots encode millions of them and the general path costs 3x more.
    """
    body = bytearray()
    count = 0
    for s in items:
        count += 1
        n = len(s)
        if 0 < n < 64 and not (48 <= s[0] <= 57 or s[0] == 45):
            body.append(0x80 | n)
            body += s
            body.append(n + 1)
            continue
        entry = _encode(s)
        body += entry
        body += _encode_backlen(len(entry))
    total = LP_HDR_SIZE + len(body) + 1
    return (total.to_bytes(4, "little") + min(count, LP_HDR_NUMELE_UNKNOWN).to_bytes(2, "little")
            + bytes(body) + bytes((LP_EOF,)))


def decode_listpack(blob: bytes) -> list[bytes]:
    """The elements of a listpack, integers as their decimal text, after the deep checks of
    lpValidateIntegrity: header size, the EOF byte, every entry (encoding known, within
    bounds, back-length matching its size) and the element count unless it is unknown."""
    if type(blob) is not bytes:
        blob = bytes(blob)
    size = len(blob)
    if size < LP_HDR_SIZE + 1 or int.from_bytes(blob[:4], "little") != size:
        raise ListpackError("bad listpack header")
    if blob[-1] != LP_EOF:
        raise ListpackError("listpack without EOF")
    items = []
    p = LP_HDR_SIZE
    end = size - 1
    while p < end:
        b = blob[p]
        if 0x80 <= b < 0xC0:  # a short string, the common case, with a one-byte back-length
            q = p + 1 + (b & 0x3F)
            length = q - p
            if q >= end:
                raise ListpackError("listpack entry overflows")
            if blob[q] != length and _decode_backlen(blob, q) != length:
                raise ListpackError("bad listpack back-length")
            items.append(blob[p + 1:q])
            p = q + 1
            continue
        if b < 0x80:
            item, length = _SMALL_INTS[b], 1
        elif b < 0xC0:
            n = b & 0x3F
            item, length = blob[p + 1:p + 1 + n], 1 + n
        elif b < 0xE0:
            v = (b & 0x1F) << 8 | blob[p + 1]
            item, length = b"%d" % (v - 0x2000 if v >= 0x1000 else v), 2
        elif b < 0xF0:
            n = (b & 0x0F) << 8 | blob[p + 1]
            item, length = blob[p + 2:p + 2 + n], 2 + n
        elif b == LP_ENCODING_32BIT_STR:
            n = int.from_bytes(blob[p + 1:p + 5], "little")
            item, length = blob[p + 5:p + 5 + n], 5 + n
        elif b in _INT_WIDTHS:
            width = _INT_WIDTHS[b]
            item = b"%d" % int.from_bytes(blob[p + 1:p + 1 + width], "little", signed=True)
            length = 1 + width
        else:
            raise ListpackError("bad listpack entry encoding")
        backlen = _backlen_size(length)
        p += length + backlen
        if p > end:
            raise ListpackError("listpack entry overflows")
        if _decode_backlen(blob, p - 1) != length:
            raise ListpackError("bad listpack back-length")
        items.append(bytes(item))
    count = int.from_bytes(blob[4:6], "little")
    if count != LP_HDR_NUMELE_UNKNOWN and count != len(items):
        raise ListpackError("listpack count mismatch")
    return items
