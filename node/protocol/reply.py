"""Reply values and their RESP2/RESP3 encoding.

Handlers return plain Python values; the encoder chooses the wire form for the client's
protocol, so a handler is written once for both:

=====================  ==========================  ===========================
value                  RESP2                       RESP3
=====================  ==========================  ===========================
bytes / bytearray      bulk string                 bulk string
str                    simple string (+OK)         simple string
int                    integer                     integer
bool                   integer 1/0                 boolean #t/#f
None                   null bulk ($-1)             null (_)
NULL_ARRAY             null array (*-1)            null (_)
list / tuple           array                       array
dict                   flat array k1 v1 ...        map (%)
SetReply               array                       set (~)
float                  bulk string (%.17g)         double (,)
Verbatim               bulk string                 verbatim string (=)
Push                   array                       push (>)
CommandError           error                       error
Raw                    bytes as given              bytes as given
=====================  ==========================  ===========================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from mypy_extensions import mypyc_attr

from ..base.compiled import extension
from ..base.errors import CommandError


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class SetReply(list):  # type: ignore[type-arg]
    """An unordered collection: a RESP3 set, a plain array in RESP2."""

    __slots__ = ()


@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)
class Push(list):  # type: ignore[type-arg]
    """An out-of-band message: a RESP3 push, a plain array in RESP2."""

    __slots__ = ()


class Verbatim:
    """Text that RESP3 sends as a verbatim string (INFO, CLIENT LIST, LATENCY DOCTOR ...)."""

    __slots__ = ("text", "fmt")

    def __init__(self, text: str | bytes, fmt: str = "txt") -> None:
        self.text = text.encode() if isinstance(text, str) else text
        self.fmt = fmt


class Raw:
    """Bytes already in RESP form (shared constant replies)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()
OK = "OK"
QUEUED = "QUEUED"


def format_double(value: float) -> bytes:
    """Redis's ``%.17g`` rendering of a double, with inf/-inf spelled as Redis does."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


# "$<length>" for the lengths most bulk strings have, made once: a bulk reply is built from
# its header, CRLF and text in one allocation. An array's bulk strings and doubles (ZRANGE's
# members and scores, LRANGE's elements) are laid out as header and text parts joined by
# CRLF into one bytes object: no formatting per element, and one part in the client's
# output instead of one per element (ZRANGE of 100 members at -P 16: 2x the requests/s of
# one formatted part per element, and 2x three parts per element).
BULK_HEADS_UPTO: Final = 1024
_BULK_HEADS: Final = [b"$%d" % n for n in range(BULK_HEADS_UPTO)]


def bulk_reply(value: bytes) -> bytes:
    """``value`` as a bulk string. Typed, the formatting compiles to one build of the reply
    from its parts (an Any operand takes the generic % of a tuple: 3x the time)."""
    size = len(value)
    if size < BULK_HEADS_UPTO:
        return b"%s\r\n%s\r\n" % (_BULK_HEADS[size], value)
    return b"$%d\r\n%s\r\n" % (size, value)


def _bulk(out: list[bytes], v: bytes, resp3: bool) -> None:
    out.append(bulk_reply(v))


def _buffer(out: list[bytes], v: bytearray | memoryview, resp3: bool) -> None:
    out.append(b"$%d\r\n%s\r\n" % (len(v), v))


_SIMPLE = {s: b"+%s\r\n" % s.encode() for s in ("OK", "PONG", "QUEUED", "RESET")}


def _simple(out: list[bytes], v: str, resp3: bool) -> None:
    out.append(_SIMPLE.get(v) or b"+%s\r\n" % v.encode())


# The replies of 0 to 1023 (counts, lengths, small counters), made once: formatting one
# was a tenth of an INCR's time outside its lookup.
_INT_REPLIES: Final = tuple(b":%d\r\n" % i for i in range(1024))


def int_reply(v: int) -> bytes:
    return _INT_REPLIES[v] if 0 <= v < 1024 else b":%d\r\n" % v


def _int(out: list[bytes], v: int, resp3: bool) -> None:
    out.append(int_reply(v))


def _bool(out: list[bytes], v: bool, resp3: bool) -> None:
    if resp3:
        out.append(b"#t\r\n" if v else b"#f\r\n")
    else:
        out.append(b":1\r\n" if v else b":0\r\n")


def _none(out: list[bytes], v: None, resp3: bool) -> None:
    out.append(b"_\r\n" if resp3 else b"$-1\r\n")


def _null_array(out: list[bytes], v: _NullArray, resp3: bool) -> None:
    out.append(b"_\r\n" if resp3 else b"*-1\r\n")


# The whole array in C when every element is bytes, None, an int or a float (_encode.c,
# byte for byte the forms below): ZRANGE/LRANGE of 100 elements spent half their time here.
_encode = extension("protocol._encode")
_encode_array: Callable[[list[Any] | tuple[Any, ...], bool], bytes | None] | None = (
    None if _encode is None else _encode.array)


def _array(out: list[bytes], v: list[Any] | tuple[Any, ...], resp3: bool) -> None:
    if _encode_array is not None:
        data = _encode_array(v, resp3)
        if data is not None:
            out.append(data)
            return
    _array_parts(out, v, resp3)


def _array_parts(out: list[bytes], v: list[Any] | tuple[Any, ...], resp3: bool) -> None:
    """The array element by element (the pure build's path, and any array _encode.c
    leaves: nested arrays, bools, maps, errors ...)."""
    heads = _BULK_HEADS
    parts = [b"*%d" % len(v)]
    for item in v:
        kind = type(item)
        if kind is float and not resp3:
            item = format_double(item)
            kind = bytes
        if kind is bytes:
            size = len(item)
            parts.append(heads[size] if size < BULK_HEADS_UPTO else b"$%d" % size)
            parts.append(item)
        else:  # the parts so far, then this element by its own encoder
            if parts:
                parts.append(b"")
                out.append(b"\r\n".join(parts))
                parts = []
            _ENCODERS[kind](out, item, resp3)
    if parts:
        parts.append(b"")
        out.append(b"\r\n".join(parts))


def _set(out: list[bytes], v: SetReply, resp3: bool) -> None:
    out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(v))
    encoders = _ENCODERS
    for item in v:
        encoders[type(item)](out, item, resp3)


def _push(out: list[bytes], v: Push, resp3: bool) -> None:
    out.append((b">%d\r\n" if resp3 else b"*%d\r\n") % len(v))
    encoders = _ENCODERS
    for item in v:
        encoders[type(item)](out, item, resp3)


def _map(out: list[bytes], v: dict[Any, Any], resp3: bool) -> None:
    out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(v) if resp3 else 2 * len(v)))
    encoders = _ENCODERS
    for key, item in v.items():
        encoders[type(key)](out, key, resp3)
        encoders[type(item)](out, item, resp3)


def _double(out: list[bytes], v: float, resp3: bool) -> None:
    text = format_double(v)
    if resp3:
        out.append(b",%s\r\n" % text)
    else:
        out.append(b"$%d\r\n%s\r\n" % (len(text), text))


def _verbatim(out: list[bytes], v: Verbatim, resp3: bool) -> None:
    if resp3:
        out.append(b"=%d\r\n%s:%s\r\n" % (len(v.text) + 4, v.fmt.encode(), v.text))
    else:
        out.append(b"$%d\r\n%s\r\n" % (len(v.text), v.text))


def _error(out: list[bytes], v: CommandError, resp3: bool) -> None:
    out.append(b"-%s\r\n" % error_line(v.message))


def _raw(out: list[bytes], v: Raw, resp3: bool) -> None:
    out.append(v.data)


def error_line(message: str) -> bytes:
    """An error text made safe for one protocol line, as addReplyErrorLength does."""
    data = message.encode("utf-8", "surrogateescape")
    if b"\r" in data or b"\n" in data:
        data = data.replace(b"\r", b" ").replace(b"\n", b" ")
    return data


_ENCODERS: Final[dict[type, Callable[[list[bytes], Any, bool], None]]] = {
    bytes: _bulk,
    bytearray: _buffer,
    memoryview: _buffer,
    str: _simple,
    int: _int,
    bool: _bool,
    type(None): _none,
    _NullArray: _null_array,
    list: _array,
    tuple: _array,
    SetReply: _set,
    Push: _push,
    dict: _map,
    float: _double,
    Verbatim: _verbatim,
    CommandError: _error,
    Raw: _raw,
}


def encode(out: list[bytes], value: Any, resp3: bool) -> None:
    """Append the RESP form of ``value`` to ``out``."""
    _ENCODERS[type(value)](out, value, resp3)


def register_encoder(kind: type, encoder: Callable[[list[bytes], Any, bool], None]) -> None:
    """Let a data-type module teach the encoder a reply type of its own."""
    _ENCODERS[kind] = encoder
