"""A command's reply as a script sees it (redisProtocolToLuaType).

Redis parses the RESP its command wrote, in the script client's protocol (2 unless
``redis.setresp(3)``); the handlers here return Python values whose RESP form is fixed by
``protocol.reply``, so each value is turned straight into what that RESP would have
become: integers to numbers, bulk strings to strings, a RESP2 null to false and a RESP3
null to nil, status replies to ``{ok=...}``, errors to ``{err=...}``, and in RESP3 maps,
sets, doubles, big numbers and verbatim strings to their tagged tables. Bytes already in
RESP form (``Raw``) are parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..base.errors import CommandError
from ..protocol.reply import NULL_ARRAY, Push, Raw, SetReply, Verbatim, format_double

Table = Callable[..., Any]


def error_text(buffer: str) -> str:
    """luaPushErrorBuff: ``-CODE message`` (or a bare message) as ``CODE message``."""
    if buffer.startswith("-"):
        code, sep, msg = buffer[1:].partition(" ")
        if not sep:
            code, msg = "ERR", buffer[1:]
    else:
        code, msg = "ERR", buffer
    return f"{code} {msg.strip(chr(13) + chr(10))}"


def error_table(table: Table, message: str) -> Any:
    """The ``{err=...}`` a failed command gives a script, not counted again in the stats."""
    text = error_text("-" + message).encode("utf-8", "surrogateescape")
    return table({b"err": text, b"ignore_error_stats_update": True})


def to_lua(table: Table, value: Any, resp3: bool) -> Any:
    """``value`` (a handler's reply) as the Lua value Redis's parser would build."""
    kind = type(value)
    if kind is bytes:
        return value
    if kind is int:
        return value
    if kind is str:
        return table({b"ok": value.encode("utf-8", "surrogateescape")})
    if value is None or value is NULL_ARRAY:
        return None if resp3 else False
    if kind is list or kind is tuple or kind is Push:
        return table([to_lua(table, item, resp3) for item in value])
    if kind is CommandError:
        return error_table(table, value.message)
    if kind is bool:
        return value if resp3 else int(value)
    if kind is bytearray or kind is memoryview:
        return bytes(value)
    if kind is float:
        return table({b"double": value}) if resp3 else format_double(value)
    if kind is dict:
        if resp3:
            return table({b"map": table({to_lua(table, k, resp3): to_lua(table, v, resp3)
                                        for k, v in value.items()})})
        flat = []
        for k, v in value.items():
            flat.append(to_lua(table, k, resp3))
            flat.append(to_lua(table, v, resp3))
        return table(flat)
    if kind is SetReply:
        if resp3:
            return table({b"set": table({to_lua(table, item, resp3): True for item in value})})
        return table([to_lua(table, item, resp3) for item in value])
    if kind is Verbatim:
        if resp3:
            return table({b"verbatim_string": table({b"format": value.fmt.encode(),
                                                    b"string": value.text})})
        return value.text
    if kind is Raw:
        parsed, _ = parse_resp(table, value.data, 0)
        return parsed
    raise TypeError(f"no Lua form for a {kind.__name__} reply")


def parse_resp(table: Table, data: bytes, pos: int) -> tuple[Any, int]:
    """One RESP value from ``data`` at ``pos`` as a Lua value, and the position after it."""
    end = data.index(b"\r\n", pos)
    mark = data[pos:pos + 1]
    line = data[pos + 1:end]
    pos = end + 2
    if mark == b"+":
        return table({b"ok": line}), pos
    if mark == b"-":
        return error_table(table, line.decode("utf-8", "surrogateescape")), pos
    if mark == b":":
        return int(line), pos
    if mark in (b"$", b"=", b"!"):
        n = int(line)
        if n < 0:
            return False, pos
        body = data[pos:pos + n]
        if mark == b"=":
            verbatim = table({b"format": body[:3], b"string": body[4:]})
            return table({b"verbatim_string": verbatim}), pos + n + 2
        return body, pos + n + 2
    if mark in (b"*", b">", b"~", b"%", b"|"):
        n = int(line)
        if n < 0:
            return False, pos
        count = 2 * n if mark in (b"%", b"|") else n
        items = []
        for _ in range(count):
            item, pos = parse_resp(table, data, pos)
            items.append(item)
        if mark == b"|":
            return parse_resp(table, data, pos)
        if mark == b"%":
            return table({b"map": table(dict(zip(items[::2], items[1::2], strict=True)))}), pos
        if mark == b"~":
            return table({b"set": table(dict.fromkeys(items, True))}), pos
        return table(items), pos
    if mark == b"_":
        return None, pos
    if mark == b"#":
        return line == b"t", pos
    if mark == b",":
        return table({b"double": float(line)}), pos
    if mark == b"(":
        return table({b"big_number": line}), pos
    raise ValueError(f"not RESP: {data[pos:pos + 16]!r}")
