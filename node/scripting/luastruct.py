"""Roberto Ierusalimschy's struct library as Redis ships it (lua_struct.c).

pack(fmt, ...), unpack(fmt, s [, i]) and size(fmt) with formats ``<`` ``>`` ``!`` ``=``
``!n`` (alignment) ``x`` ``b`` ``B`` ``h`` ``H`` ``l`` ``L`` ``T`` ``i[n]`` ``I[n]`` ``f`` ``d``
``s`` ``c[n]``.
unpack returns the values then the position after them.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from typing import Any

from .bitop import MISSING, lua_type_name

Result = tuple[Any, ...]
MAXINTSIZE = 32
MAXALIGN = 8
SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "i": 4, "I": 4}


class StructError(Exception):
    pass


def _items(fmt: bytes, fname: str) -> Iterator[tuple[str, int, str, int]]:
    """(option, size, byte order, alignment) for each item of ``fmt``."""
    order = "<" if sys.byteorder == "little" else ">"
    align = 1
    i, n = 0, len(fmt)
    text = fmt.decode("latin-1")
    while i < n:
        opt = text[i]
        i += 1
        digits = ""
        if opt in "iIc!":
            while i < n and text[i].isdigit():
                digits += text[i]
                i += 1
        if opt in "<>":
            order = opt
        elif opt == "=":
            order = "<" if sys.byteorder == "little" else ">"
        elif opt == "!":
            align = int(digits) if digits else MAXALIGN
            if align & (align - 1):
                raise StructError("alignment %d is not a power of 2" % align)
        elif opt == " ":
            continue
        elif opt in SIZES:
            size = int(digits) if digits else SIZES[opt]
            if size > MAXINTSIZE:
                raise StructError("integral size %d is larger than limit of %d"
                                  % (size, MAXINTSIZE))
            yield opt, size, order, align
        elif opt in "fd":
            yield opt, 4 if opt == "f" else 8, order, align
        elif opt == "c":
            yield opt, int(digits) if digits else 1, order, align
        elif opt in "sx":
            yield opt, 0 if opt == "s" else 1, order, align
        else:
            raise StructError("bad argument #1 to '%s' (invalid format option '%s')"
                              % (fname, opt))


def _padding(length: int, opt: str, size: int, align: int) -> int:
    """gettoalign: zero bytes before an item so that it starts aligned."""
    if size == 0 or opt == "c":
        return 0
    size = min(size, align)
    return (size - (length & (size - 1))) & (size - 1)


def _num(value: Any, arg: int) -> float:
    """luaL_checknumber for the pack argument at Lua position ``arg``."""
    if isinstance(value, bytes):
        try:
            return float(value.strip())
        except ValueError:
            pass
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise StructError("bad argument #%d to 'pack' (number expected, got %s)"
                          % (arg, "nil" if value is MISSING else lua_type_name(value)))
    return value


def pack(fmt: Any = MISSING, *args: Any) -> Result:
    if not isinstance(fmt, bytes):
        return False, ("bad argument #1 to 'pack' (string expected, got %s)"
                       % lua_type_name(fmt)).encode()
    out = bytearray()
    arg = 2  # Lua position of the next value
    try:
        for opt, size, order, align in _items(fmt, "pack"):
            out += bytes(_padding(len(out), opt, size, align))
            if opt == "x":
                out.append(0)
                continue
            value = args[arg - 2] if arg - 2 < len(args) else MISSING
            if opt in "fd":
                out += struct.pack(order + opt, _num(value, arg))
            elif opt in "cs":
                if isinstance(value, int | float) and not isinstance(value, bool):
                    value = b"%.14g" % value
                if not isinstance(value, bytes):
                    raise StructError("bad argument #%d to 'pack' (string expected, got %s)"
                                      % (arg, "nil" if value is MISSING else
                                         lua_type_name(value)))
                width = size or len(value)
                if len(value) < width:
                    raise StructError("bad argument #%d to 'pack' (string too short)" % (arg + 1))
                out += value[:width]
                if opt == "s":
                    out.append(0)
            else:
                number = int(_num(value, arg)) & 0xFFFFFFFFFFFFFFFF
                out += (number & ((1 << (8 * size)) - 1)).to_bytes(
                    size, "little" if order == "<" else "big")
            arg += 1
    except StructError as exc:
        return False, str(exc).encode()
    return True, bytes(out)


def unpack(fmt: Any = None, data: Any = None, start: Any = 1) -> Result:
    if not isinstance(fmt, bytes) or not isinstance(data, bytes):
        return False, b"bad argument to 'unpack' (string expected)"
    pos = int(start) - 1
    values: list[Any] = []
    try:
        for opt, size, order, align in _items(fmt, "unpack"):
            pos += _padding(pos, opt, size, align)
            if opt == "s":
                end = data.find(b"\0", pos)
                if end < 0:
                    raise StructError("unfinished string in data")
                values.append(data[pos:end])
                pos = end + 1
                continue
            if pos + size > len(data):
                raise StructError("bad argument #2 to 'unpack' (data string too short)")
            chunk = data[pos:pos + size]
            pos += size
            if opt == "x":
                continue
            if opt in "fd":
                values.append(struct.unpack(order + opt, chunk)[0])
            elif opt == "c":
                values.append(chunk)
            else:
                values.append(int.from_bytes(chunk, "little" if order == "<" else "big",
                                             signed=opt.islower()))
    except StructError as exc:
        return False, str(exc).encode()
    return (True, *values, pos + 1)


def size(fmt: Any = None) -> Result:
    if not isinstance(fmt, bytes):
        return False, b"bad argument #1 to 'size' (string expected)"
    try:
        total = 0
        for opt, width, _, align in _items(fmt, "size"):
            if opt == "s":
                raise StructError("bad argument #1 to 'size' (option 's' has no fixed size)")
            total += _padding(total, opt, width, align) + width
    except StructError as exc:
        return False, str(exc).encode()
    return True, total


STRUCT = {"pack": pack, "unpack": unpack, "size": size}
