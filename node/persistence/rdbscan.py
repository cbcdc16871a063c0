"""The plain stretches of an RDB file's keyspace, read in one compiled loop.

Most of a snapshot is keys without an opcode before them (no TTL, LRU or LFU field) whose
key has a 6-bit length and whose value is a short string or one string a type's file
loader takes whole (a listpack, an intset: ``FILE_LOADERS``). ``scan_plain`` reads such a
stretch into ``run`` and stops at the first byte it does not handle, which rdbfile's
``_load_keys`` then reads as before (an opcode, a long key, another encoding). Compiled
(base/compiled.py), a key costs a third of what the interpreted loop did; run as plain
Python it behaves the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..types.rdb import RdbError

OPCODE_FIRST: Final = 245  # OPCODE_FUNCTION2: a type byte at or above it is an opcode
SHORT: Final = 64  # a length byte below it is a 6-bit length (RDB_6BITLEN)
MEDIUM: Final = 128  # below it (and not SHORT): a 14-bit length over two bytes


def scan_plain(data: bytes, pos: int, limit: int,
               loaders: dict[int, Callable[[bytes, bytes], Any]], run: list[Any]) -> int:
    """Read up to ``limit`` keys from ``data[pos:]`` into ``run`` (key, value, ...); return
    where reading stopped. A truncated value raises RdbError, a truncated key or length
    IndexError, as the reader they stand in for."""
    size = len(data)
    while limit > 0:
        kind = data[pos]
        if kind >= OPCODE_FIRST:  # EOF may be the file's last byte (versions before 5)
            break
        length = data[pos + 1]
        if length >= SHORT:
            break
        at = pos + 2 + length
        key = data[pos + 2:at]
        length = data[at]
        if kind == 0 and length < SHORT:
            end = at + 1 + length
            if end > size:
                raise RdbError("unexpected end of data")
            value: Any = data[at + 1:end]
        else:
            loader = loaders.get(kind)
            if loader is None:
                break
            if length < SHORT:
                at += 1
            elif length < MEDIUM:
                length = (length & 63) << 8 | data[at + 1]
                at += 2
            else:
                break
            end = at + length
            if end > size:
                raise RdbError("unexpected end of data")
            value = loader(key, data[at:end])
        run.append(key)
        run.append(value)
        pos = end
        limit -= 1
    return pos
