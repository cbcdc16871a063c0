"""BITFIELD and BITFIELD_RO (bitops.c bitfieldGeneric): integers of 1 to 64 bits at any
bit offset of a string, read, set or incremented under an OVERFLOW behaviour.

All operations are parsed (and every argument error raised) before the key is touched;
a call with only GETs reads the key, any SET or INCRBY first grows the string to the
farthest bit written, as Redis does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from ..base import errors
from ..base.errors import CommandError
from ..protocol.request import strict_int
from ..table.command import command
from ..types.bitmaps import (
    FAIL,
    SAT,
    WRAP,
    Bytes,
    get_signed,
    get_unsigned,
    set_bits,
    signed_overflow,
    unsigned_overflow,
)
from .args import to_int
from .bitmaps import bit_offset, bitmap_for_write, bits_changed, keyword, read_bitmap

if TYPE_CHECKING:
    from .context import Client

_GET, _SET, _INCRBY = 0, 1, 2
_OPCODES = {b"get": (_GET, 2), b"set": (_SET, 3), b"incrby": (_INCRBY, 3)}
_BEHAVIOURS = {b"wrap": WRAP, b"sat": SAT, b"fail": FAIL}
_U64 = (1 << 64) - 1


class FieldOp(NamedTuple):
    opcode: int
    offset: int
    bits: int
    signed: bool
    behaviour: int
    number: int


def field_type(arg: bytes) -> tuple[bool, int]:
    """getBitfieldTypeFromArgument: ``i1``..``i64`` or ``u1``..``u63`` (read as a C string)."""
    text = arg.split(b"\0", 1)[0]
    sign = text[:1]
    bits = strict_int(text[1:]) if sign in (b"i", b"u") else None
    if bits is None or bits < 1 or bits > (64 if sign == b"i" else 63):
        raise CommandError(errors.BITFIELD_TYPE)
    return sign == b"i", bits


def parse_ops(c: Client, argv: list[bytes]) -> list[FieldOp]:
    """Every operation with the OVERFLOW behaviour in force where it stands; the first bad
    argument, in argument order, is the error."""
    ops = []
    behaviour = WRAP
    argc = len(argv)
    j = 2
    while j < argc:
        remaining = argc - j - 1
        name = keyword(argv[j])
        if name == b"overflow" and remaining >= 1:
            found = _BEHAVIOURS.get(keyword(argv[j + 1]))
            if found is None:
                raise CommandError(errors.BITFIELD_OVERFLOW_TYPE)
            behaviour = found
            j += 2
            continue
        opcode, needed = _OPCODES.get(name, (-1, 0))
        if opcode < 0 or remaining < needed:
            raise CommandError(errors.SYNTAX)
        signed, bits = field_type(argv[j + 1])
        offset = bit_offset(c, argv[j + 2], bits)
        number = to_int(argv[j + 3]) if opcode != _GET else 0
        ops.append(FieldOp(opcode, offset, bits, signed, behaviour, number))
        j += needed + 1
    return ops


def read_field(value: Bytes | None, op: FieldOp) -> int:
    if value is None:
        return 0
    getter = get_signed if op.signed else get_unsigned
    return getter(value, op.offset, op.bits)


def write_field(value: bytearray, op: FieldOp) -> tuple[int | None, bool]:
    """One SET or INCRBY: its reply (None when OVERFLOW FAIL refused it) and whether the
    field now holds another value."""
    if op.signed:
        old = get_signed(value, op.offset, op.bits)
        if op.opcode == _INCRBY:
            overflow, limit = signed_overflow(old, op.number, op.bits, op.behaviour)
            new = limit if overflow else old + op.number
        else:
            overflow, limit = signed_overflow(op.number, 0, op.bits, op.behaviour)
            new = limit if overflow else op.number
    else:
        old = get_unsigned(value, op.offset, op.bits)
        if op.opcode == _INCRBY:
            overflow, limit = unsigned_overflow(old, op.number, op.bits, op.behaviour)
            new = limit if overflow else old + op.number
        else:
            pattern = op.number & _U64  # the int64 argument as a uint64_t
            overflow, limit = unsigned_overflow(pattern, 0, op.bits, op.behaviour)
            new = limit if overflow else pattern
    if overflow and op.behaviour == FAIL:
        return None, False
    set_bits(value, op.offset, op.bits, new)
    return (new if op.opcode == _INCRBY else old), old != new


def bitfield_generic(c: Client, argv: list[bytes], read_only: bool) -> Any:
    ops = parse_ops(c, argv)
    writes = [op for op in ops if op.opcode != _GET]
    key = argv[1]
    if not writes:
        current = read_bitmap(c, key)
        return [read_field(current, op) for op in ops]
    if read_only:
        raise CommandError(errors.BITFIELD_RO_GET_ONLY)
    value, state = bitmap_for_write(c, key, max(op.offset + op.bits - 1 for op in writes))
    replies: list[int | None] = []
    changes = 0
    for op in ops:
        if op.opcode == _GET:
            replies.append(read_field(value, op))
            continue
        reply, changed = write_field(value, op)
        replies.append(reply)
        if reply is not None and (state or changed):
            changes += 1
    if changes:
        bits_changed(c, key, state, changes)
    return replies


@command("bitfield")
def bitfield(c: Client, argv: list[bytes]) -> Any:
    return bitfield_generic(c, argv, False)


@command("bitfield_ro")
def bitfield_ro(c: Client, argv: list[bytes]) -> Any:
    return bitfield_generic(c, argv, True)
