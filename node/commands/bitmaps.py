"""Bitmap commands (bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP on strings.

A bitmap is a string value. Writes grow it with zero bytes as lookupStringForBitCommand
does and work on an ``SdsString`` (dbUnshareStringValue's raw sds, grown greedily by
sdsgrowzero), so OBJECT ENCODING and MEMORY USAGE follow Redis after them. Counting and
searching run over whole byte ranges in C (node/types/bitmaps.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import WRONGTYPE, CommandError
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_STRING
from ..table.command import command
from ..types.bitmaps import BITOP_NAMES, combine, count_bits, count_bits_between, find_bit, int64
from ..types.registry import STRING_TYPES
from ..types.typeinfo import SdsString
from .args import to_int

if TYPE_CHECKING:
    from .context import Client

# How lookupStringForBitCommand found the key: its length kept, grown, or newly created.
KEPT, GROWN, CREATED = 0, 1, 2


def keyword(arg: bytes) -> bytes:
    """An option as strcasecmp sees it: lower case, up to a NUL byte."""
    return arg.split(b"\0", 1)[0].lower()


def bit_offset(c: Client, arg: bytes, bits: int = 0) -> int:
    """getBitOffsetFromArgument: a bit offset within proto-max-bulk-len bytes (not enforced
    for the master's and the AOF's commands); with ``bits`` (BITFIELD), ``#n`` means n
    fields of that width, multiplied with C's 64-bit wrap-around."""
    hashed = bits > 0 and arg[:1] == b"#"
    offset = to_int(arg[1:] if hashed else arg, errors.BIT_OFFSET_OUT_OF_RANGE)
    if hashed:
        offset = int64(offset * bits)
    if offset < 0 or (not c.is_master
                      and offset >> 3 >= c.server.config["proto-max-bulk-len"]):
        raise CommandError(errors.BIT_OFFSET_OUT_OF_RANGE)
    return offset


def read_bitmap(c: Client, key: bytes) -> Any:
    """lookupKeyRead with the string type check: the value, or None for a missing key."""
    value = c.db.lookup_read(key)
    if value is not None and value.__class__ not in STRING_TYPES:
        raise CommandError(WRONGTYPE)
    return value


def bitmap_for_write(c: Client, key: bytes, maxbit: int) -> tuple[SdsString, int]:
    """lookupStringForBitCommand: the value as a raw sds holding bit ``maxbit``, and
    whether it was KEPT, GROWN or CREATED. A created key is signalled by ``add``; a
    grown or re-encoded one only re-costed, since the command may change no bit."""
    size = (maxbit >> 3) + 1
    db = c.db
    value = db.lookup_write(key)
    if value is None:
        fresh = SdsString(bytes(size))
        db.add(key, fresh)
        return fresh, CREATED
    if value.__class__ not in STRING_TYPES:
        raise CommandError(WRONGTYPE)
    if value.__class__ is not SdsString:
        value = SdsString.unshared(bytes(value))
        db.overwrite(key, value)
    elif value.alloc < 0:
        value.made_raw()
        db.resized(key)
    if size <= len(value):
        return value, KEPT
    value.make_room(size)
    value.extend(bytes(size - len(value)))
    db.resized(key)
    return value, GROWN


def bits_changed(c: Client, key: bytes, state: int, changes: int) -> None:
    """signalModifiedKey, the "setbit" event and ``server.dirty += changes``."""
    db = c.db
    if state != CREATED:
        db.modified(key)
    db.stats.dirty += changes - 1
    db.notify(NOTIFY_STRING, "setbit", key)


@command("setbit")
def setbit(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    offset = bit_offset(c, argv[2])
    on = to_int(argv[3], errors.BIT_VALUE_OUT_OF_RANGE)
    if on & ~1:
        raise CommandError(errors.BIT_VALUE_OUT_OF_RANGE)
    value, state = bitmap_for_write(c, key, offset)
    byte = offset >> 3
    shift = 7 - (offset & 7)
    old = value[byte] >> shift & 1
    if state or old != on:
        value[byte] ^= (old ^ on) << shift
        bits_changed(c, key, state, 1)
    return old


@command("getbit")
def getbit(c: Client, argv: list[bytes]) -> Any:
    offset = bit_offset(c, argv[2])
    value = read_bitmap(c, argv[1])
    byte = offset >> 3
    if value is None or byte >= len(value):
        return 0
    return value[byte] >> (7 - (offset & 7)) & 1


def clamp_range(start: int, end: int, total: int) -> tuple[int, int]:
    """BITCOUNT/BITPOS: negative indexes from the end, then clipped to [0, total)."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    return max(start, 0), min(max(end, 0), total - 1)


def bit_unit(arg: bytes) -> bool:
    """The BIT | BYTE option: True for BIT."""
    unit = keyword(arg)
    if unit not in (b"bit", b"byte"):
        raise CommandError(errors.SYNTAX)
    return unit == b"bit"


@command("bitcount")
def bitcount(c: Client, argv: list[bytes]) -> Any:
    value = read_bitmap(c, argv[1])
    if value is None:
        return 0
    argc = len(argv)
    if argc == 2:
        return count_bits(value, 0, len(value) - 1) if value else 0
    if argc not in (4, 5):
        raise CommandError(errors.SYNTAX)
    start = to_int(argv[2])
    end = to_int(argv[3])
    if start < 0 and end < 0 and start > end:
        return 0
    in_bits = argc == 5 and bit_unit(argv[4])
    start, end = clamp_range(start, end, len(value) * 8 if in_bits else len(value))
    if start > end:
        return 0
    return count_bits_between(value, start, end) if in_bits else count_bits(value, start, end)


@command("bitpos")
def bitpos(c: Client, argv: list[bytes]) -> Any:
    bit = to_int(argv[2])
    if bit not in (0, 1):
        raise CommandError(errors.BITPOS_BIT)
    value = read_bitmap(c, argv[1])
    if value is None:  # an endless run of clear bits
        return -1 if bit else 0
    argc = len(argv)
    length = len(value)
    in_bits = end_given = False
    if argc in (4, 5, 6):
        start = to_int(argv[3])
        in_bits = argc == 6 and bit_unit(argv[5])
        if argc >= 5:
            end = to_int(argv[4])
            end_given = True
        else:
            end = length - 1
        start, end = clamp_range(start, end, length * 8 if in_bits else length)
    elif argc == 3:
        start, end = 0, length - 1
    else:
        raise CommandError(errors.SYNTAX)
    if start > end:
        return -1
    lo, hi = (start, end) if in_bits else (start * 8, end * 8 + 7)
    pos = find_bit(value, bit, lo, hi)
    if pos == -1 and not bit and not end_given:
        return hi + 1  # without an end the string counts as padded with clear bits
    return pos


@command("bitop")
def bitop(c: Client, argv: list[bytes]) -> Any:
    op = keyword(argv[1])
    if op not in BITOP_NAMES:
        raise CommandError(errors.SYNTAX)
    if op == b"not" and len(argv) != 4:
        raise CommandError(errors.BITOP_NOT_ONE_KEY)
    sources = [read_bitmap(c, key) or b"" for key in argv[3:]]
    length = max(len(s) for s in sources)
    db = c.db
    target = argv[2]
    if length:
        db.lookup_write(target)
        db.set(target, SdsString(combine(op, sources, length)))
        db.notify(NOTIFY_STRING, "set", target)
    elif db.delete(target):
        db.notify(NOTIFY_GENERIC, "del", target)
    return length
