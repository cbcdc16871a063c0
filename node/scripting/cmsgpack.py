"""lua-cmsgpack as Redis ships it (lua_cmsgpack.c): MessagePack of Lua values.

pack: nil, booleans, integers in the smallest form (a number equal to its int64 cast),
other numbers as float32 when exact else float64, strings as str8/16/32 (fixstr when
short), a table as an array when its keys are exactly 1..n, else as a map; deeper than 16
levels a table packs as nil. unpack decodes every value (``unpack_one``/``unpack_limit``
take an offset and a count and return the next offset first).
"""

from __future__ import annotations

import math
import struct
from typing import Any

from lupa import lua51  # type: ignore[import-untyped]

MAX_NESTING = 16


class MsgpackError(Exception):
    pass


def _int(n: int) -> bytes:
    if n >= 0:
        if n <= 127:
            return bytes((n,))
        if n <= 0xFF:
            return b"\xcc" + bytes((n,))
        if n <= 0xFFFF:
            return b"\xcd" + n.to_bytes(2, "big")
        if n <= 0xFFFFFFFF:
            return b"\xce" + n.to_bytes(4, "big")
        return b"\xcf" + n.to_bytes(8, "big")
    if n >= -32:
        return bytes((n & 0xFF,))
    if n >= -128:
        return b"\xd0" + n.to_bytes(1, "big", signed=True)
    if n >= -32768:
        return b"\xd1" + n.to_bytes(2, "big", signed=True)
    if n >= -(2**31):
        return b"\xd2" + n.to_bytes(4, "big", signed=True)
    return b"\xd3" + n.to_bytes(8, "big", signed=True)


def _number(value: float) -> bytes:
    if not math.isinf(value) and not math.isnan(value) and -(2**63) <= value < 2**63 \
            and float(int(value)) == value:
        return _int(int(value))
    single = struct.unpack(">f", struct.pack(">f", value))[0] if abs(value) < 3.5e38 or \
        math.isinf(value) or math.isnan(value) else None
    if single is not None and (single == value or (math.isnan(value) and math.isnan(single))):
        return b"\xca" + struct.pack(">f", value)
    return b"\xcb" + struct.pack(">d", value)


def _bytes(value: bytes) -> bytes:
    n = len(value)
    if n < 32:
        head = bytes((0xA0 | n,))
    elif n <= 0xFF:
        head = b"\xd9" + bytes((n,))
    elif n <= 0xFFFF:
        head = b"\xda" + n.to_bytes(2, "big")
    else:
        head = b"\xdb" + n.to_bytes(4, "big")
    return head + value


def _pack(value: Any, level: int) -> bytes:
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int | float):
        return _number(float(value)) if isinstance(value, float) else _number(float(value)) \
            if abs(value) >= 2**53 else _int(value)
    if isinstance(value, bytes):
        return _bytes(value)
    if lua51.lua_type(value) == "table":
        if level >= MAX_NESTING:
            return b"\xc0"
        items = list(value.items())
        n = len(items)
        keys = {k for k, _ in items}
        if all(isinstance(k, int | float) and not isinstance(k, bool) for k in keys) and \
                keys == set(range(1, n + 1)):
            by_index = dict(items)
            head = (bytes((0x90 | n,)) if n < 16 else b"\xdc" + n.to_bytes(2, "big")
                    if n <= 0xFFFF else b"\xdd" + n.to_bytes(4, "big"))
            return head + b"".join(_pack(by_index[i], level + 1) for i in range(1, n + 1))
        head = (bytes((0x80 | n,)) if n < 16 else b"\xde" + n.to_bytes(2, "big")
                if n <= 0xFFFF else b"\xdf" + n.to_bytes(4, "big"))
        return head + b"".join(_pack(k, level + 1) + _pack(v, level + 1) for k, v in items)
    return b"\xc0"


class Reader:
    def __init__(self, table: Any, data: bytes, pos: int) -> None:
        self.table = table
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise MsgpackError("Missing bytes in input.")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def sint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big", signed=True)

    def value(self) -> Any:
        b = self.take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 256
        if 0xA0 <= b <= 0xBF:
            return self.take(b & 0x1F)
        if 0x90 <= b <= 0x9F:
            return self.array(b & 0x0F)
        if 0x80 <= b <= 0x8F:
            return self.map(b & 0x0F)
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in simple:
            return simple[b]
        sizes = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}
        if b in sizes:
            return self.uint(sizes[b])
        signed = {0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
        if b in signed:
            return self.sint(signed[b])
        if b == 0xCA:
            return struct.unpack(">f", self.take(4))[0]
        if b == 0xCB:
            return struct.unpack(">d", self.take(8))[0]
        strings = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}
        if b in strings:
            return self.take(self.uint(strings[b]))
        if b in (0xDC, 0xDD):
            return self.array(self.uint(2 if b == 0xDC else 4))
        if b in (0xDE, 0xDF):
            return self.map(self.uint(2 if b == 0xDE else 4))
        raise MsgpackError("Bad data format in input.")

    def array(self, n: int) -> Any:
        return self.table([self.value() for _ in range(n)])

    def map(self, n: int) -> Any:
        out = {}
        for _ in range(n):
            key = self.value()
            out[key] = self.value()
        return self.table(out)


def make_cmsgpack(lua: Any) -> dict[str, Any]:
    table = lua.table_from

    def pack(*args: Any) -> tuple[Any, ...]:
        if not args:
            return False, b"bad argument #0 to 'pack' (MessagePack pack needs input.)"
        return True, b"".join(_pack(value, 0) for value in args)

    def _unpack(data: Any, limit: int, offset: int) -> tuple[Any, ...]:
        if not isinstance(data, bytes):
            return False, b"bad argument #1 to 'unpack' (string expected, got no value)"
        if offset < 0 or offset > len(data):
            return False, b"Start offset %d greater than input length %d." % (offset, len(data))
        reader = Reader(table, data, offset)
        values: list[Any] = []
        try:
            while reader.pos < len(data) and (limit <= 0 or len(values) < limit):
                values.append(reader.value())
        except MsgpackError as exc:
            return False, str(exc).encode()
        return (True, values, reader.pos)

    def unpack(data: Any = None) -> tuple[Any, ...]:
        result = _unpack(data, 0, 0)
        if not result[0]:
            return result
        return (True, *result[1])

    def unpack_limit(data: Any = None, limit: Any = 0, offset: Any = 0) -> tuple[Any, ...]:
        result = _unpack(data, int(limit or 0), int(offset or 0))
        if not result[0]:
            return result
        values, pos = result[1], result[2]
        return (True, -1 if pos >= len(data) else pos, *values)

    def unpack_one(data: Any = None, offset: Any = 0) -> tuple[Any, ...]:
        return unpack_limit(data, 1, offset)

    return {"pack": pack, "unpack": unpack, "unpack_one": unpack_one,
            "unpack_limit": unpack_limit, "_NAME": b"cmsgpack",
            "_VERSION": b"lua-cmsgpack 0.4.0",
            "_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
            "_DESCRIPTION": b"MessagePack C implementation for Lua"}
