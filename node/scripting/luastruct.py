"""Roberto Ierusalimschy's struct library as Redis ships it (lua_struct.c).

pack(fmt, ...), unpack(fmt, s [, i]) and size(fmt) with formats ``<`` ``>`` ``!`` ``=``
``x`` ``b`` ``B`` ``h`` ``H`` ``l`` ``L`` ``T`` ``i[n]`` ``I[n]`` ``f`` ``d`` ``s`` ``c[n]``.
unpack returns the values then the position after them.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from typing import Any

Result = tuple[Any, ...]
SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "i": 4, "I": 4}


class StructError(Exception):
    pass


def _items(fmt: bytes) -> Iterator[tuple[str, int, str]]:
    """(option, size, byte order) for each item of ``fmt``; alignment is not modelled."""
    order = "<" if sys.byteorder == "little" else ">"
    i, n = 0, len(fmt)
    text = fmt.decode("latin-1")
    while i < n:
        opt = text[i]
        i += 1
        digits = ""
        while i < n and text[i].isdigit():
            digits += text[i]
            i += 1
        if opt in "<>":
            order = opt
        elif opt in "=!":
            order = ("<" if sys.byteorder == "little" else ">") if opt == "=" else order
        elif opt == " ":
            continue
        elif opt in SIZES:
            size = int(digits) if digits and opt in "iI" else SIZES[opt]
            if not 1 <= size <= 8:
                raise StructError("integral size %d is larger than limit of 8" % size)
            yield opt, size, order
        elif opt in "fd":
            yield opt, 4 if opt == "f" else 8, order
        elif opt == "c":
            yield opt, int(digits) if digits else 1, order
        elif opt in "sx":
            yield opt, 0 if opt == "s" else 1, order
        else:
            raise StructError("invalid format option '%s'" % opt)


def _num(value: Any) -> float:
    if isinstance(value, bytes):
        value = float(value)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise StructError("bad argument to 'pack' (number expected)")
    return value


def pack(fmt: Any = None, *args: Any) -> Result:
    if not isinstance(fmt, bytes):
        return False, b"bad argument #1 to 'pack' (string expected)"
    out = bytearray()
    values = list(args)
    try:
        for opt, size, order in _items(fmt):
            if opt == "x":
                out.append(0)
                continue
            if not values:
                raise StructError("bad argument to 'pack' (no value)")
            if opt in "fd":
                out += struct.pack(order + opt, _num(values.pop(0)))
            elif opt in "cs":
                data = values.pop(0)
                if not isinstance(data, bytes):
                    raise StructError("bad argument to 'pack' (string expected)")
                if opt == "c":
                    width = size or len(data)
                    if len(data) < width:
                        raise StructError("bad argument to 'pack' (string too short)")
                    out += data[:width]
                else:
                    out += data + b"\0"
            else:
                number = int(_num(values.pop(0)))
                out += (number & ((1 << (8 * size)) - 1)).to_bytes(
                    size, "little" if order == "<" else "big")
    except StructError as exc:
        return False, str(exc).encode()
    return True, bytes(out)


def unpack(fmt: Any = None, data: Any = None, start: Any = 1) -> Result:
    if not isinstance(fmt, bytes) or not isinstance(data, bytes):
        return False, b"bad argument to 'unpack' (string expected)"
    pos = int(start) - 1
    values: list[Any] = []
    try:
        for opt, size, order in _items(fmt):
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
        for opt, width, _ in _items(fmt):
            if opt == "s":
                raise StructError("options 'c0' - 's' have undefined sizes")
            total += width
    except StructError as exc:
        return False, str(exc).encode()
    return True, total


STRUCT = {"pack": pack, "unpack": unpack, "size": size}
