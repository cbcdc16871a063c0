"""lua-cjson as Redis ships it (lua_cjson.c), with its configuration functions.

encode: a table whose keys are all positive integers is an array (too sparse ones are
refused or turned into objects, per ``encode_sparse_array``), any other table an object;
numbers as ``%.14g`` (``encode_number_precision``); NaN and infinity refused, written or
nulled (``encode_invalid_numbers``); ``/`` and control characters escaped as cjson escapes
them; ``encode_max_depth`` levels. decode: cjson's tokens and its "Expected X but found Y
at character N" errors; null is ``cjson.null``; Infinity, NaN and hex numbers only with
``decode_invalid_numbers``; ``decode_max_depth`` levels. Key order is the order Lua's
``next`` gives. The settings live in the interpreter as cjson's upvalue does: they last
from one script to the next, and ``cjson.new()`` gives a module with settings of its own.
"""

from __future__ import annotations

import math
import re
from typing import Any

from lupa import lua51  # type: ignore[import-untyped]

from .bitop import lua_type_name

INT_MAX = 2**31 - 1
CJSON_NAME = b"cjson"
CJSON_VERSION = b"2.1.0"
INVALID_NUMBER_OPTIONS = (b"off", b"on", b"null")
BOOL_OPTIONS = (b"off", b"on")


class Config:
    """json_config_t: the settings one cjson module's functions share."""

    __slots__ = ("sparse_convert", "sparse_ratio", "sparse_safe", "encode_max_depth",
                 "decode_max_depth", "encode_invalid_numbers", "decode_invalid_numbers",
                 "encode_keep_buffer", "precision")

    def __init__(self) -> None:
        self.sparse_convert = 0
        self.sparse_ratio = 2
        self.sparse_safe = 10
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_invalid_numbers = 0
        self.decode_invalid_numbers = 1
        self.encode_keep_buffer = 1
        self.precision = 14

_ESCAPES = {i: "\\u%04x" % i for i in range(32)}
_ESCAPES.update({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 34: '\\"',
                 92: "\\\\", 47: "\\/", 127: "\\u007f"})
_ESCAPE_BYTES = {k: v.encode() for k, v in _ESCAPES.items()}


class JsonError(Exception):
    pass


def _number(value: float, config: Config) -> bytes:
    """json_append_number."""
    if math.isnan(value) or math.isinf(value):
        mode = config.encode_invalid_numbers
        if mode == 0:
            raise JsonError("Cannot serialise number: must not be NaN or Inf")
        if mode == 2:
            return b"null"
        if math.isnan(value):
            return b"nan"
    return b"%.*g" % (config.precision, value)


def _string(value: bytes) -> bytes:
    if not any(b in _ESCAPE_BYTES for b in value):
        return b'"' + value + b'"'
    return b'"' + b"".join(_ESCAPE_BYTES.get(b, bytes((b,))) for b in value) + b'"'


# strtod's reach: the longest number at the start (hex, infinity and NaN included)
_STRTOD = re.compile(rb"[+-]?(?:0x[0-9a-f]+|inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)"
                     rb"(?:e[+-]?\d+)?)", re.IGNORECASE)


class Encoder:
    def __init__(self, is_null: Any, config: Config) -> None:
        self.is_null = is_null
        self.config = config

    def encode(self, value: Any, depth: int = 0) -> bytes:
        if value is None:
            return b"null"
        if value is True:
            return b"true"
        if value is False:
            return b"false"
        if isinstance(value, int | float):
            return _number(float(value), self.config)
        if isinstance(value, bytes):
            return _string(value)
        kind = lua51.lua_type(value)
        if kind == "userdata" and self.is_null(value):
            return b"null"
        if kind == "table":
            depth += 1
            if depth > self.config.encode_max_depth:
                raise JsonError("Cannot serialise, excessive nesting (%d)" % depth)
            items = list(value.items())
            size = self._array_size(items)
            if size > 0:
                by_index = dict(items)
                return b"[" + b",".join(self.encode(by_index.get(i), depth)
                                        for i in range(1, size + 1)) + b"]"
            parts = []
            for key, item in items:
                if isinstance(key, bytes):
                    k = _string(key)
                elif isinstance(key, int | float) and not isinstance(key, bool):
                    k = b'"' + _number(float(key), self.config) + b'"'
                else:
                    raise JsonError(f"Cannot serialise {lua_type_name(key)}: table key must be "
                                    "a number or string")
                parts.append(k + b":" + self.encode(item, depth))
            return b"{" + b",".join(parts) + b"}"
        raise JsonError(f"Cannot serialise {lua_type_name(value)}: type not supported")

    def _array_size(self, items: list[tuple[Any, Any]]) -> int:
        """lua_array_length: the array size, or -1 when the table is an object."""
        largest = 0
        for key, _ in items:
            if isinstance(key, int | float) and not isinstance(key, bool):
                if key >= 1 and float(key) == math.floor(key):
                    largest = max(largest, int(key))
                    continue
            return -1
        config = self.config
        if (config.sparse_ratio > 0 and largest > len(items) * config.sparse_ratio
                and largest > config.sparse_safe):
            if not config.sparse_convert:
                raise JsonError("Cannot serialise table: excessively sparse array")
            return -1
        return largest


_TOKEN_NAMES = {"{": "T_OBJ_BEGIN", "}": "T_OBJ_END", "[": "T_ARR_BEGIN", "]": "T_ARR_END",
                ":": "T_COLON", ",": "T_COMMA"}


class Decoder:
    """json_next_token and the recursive parser of lua_cjson.c."""

    def __init__(self, table: Any, null: Any, text: bytes, config: Config) -> None:
        self.config = config
        self.table = table
        self.null = null
        self.text = text
        self.pos = 0
        self.depth = 0

    def token(self) -> tuple[str, Any, int]:
        text, n = self.text, len(self.text)
        while self.pos < n and text[self.pos] in b" \t\r\n":
            self.pos += 1
        start = self.pos
        if start >= n:
            return "T_END", None, start
        ch = chr(text[start])
        if ch in _TOKEN_NAMES:
            self.pos += 1
            return _TOKEN_NAMES[ch], None, start
        if ch == '"':
            return self._string(start)
        if ch == "-" or ch.isdigit():
            if not self.config.decode_invalid_numbers and self._invalid_number(start):
                return "T_ERROR", "invalid number", start
            return self._number(start)
        for word, value in ((b"true", True), (b"false", False), (b"null", self.null)):
            if text.startswith(word, start):
                self.pos += len(word)
                return ("T_NULL" if word == b"null" else "T_BOOLEAN"), value, start
        if self.config.decode_invalid_numbers and self._invalid_number(start):
            return self._number(start)
        return "T_ERROR", "invalid token", start

    def _invalid_number(self, start: int) -> bool:
        """json_is_invalid_number: what strtod takes but strict JSON does not."""
        text = self.text
        i = start
        if text[i:i + 1] == b"+":
            return True
        if text[i:i + 1] == b"-":
            i += 1
        head = text[i:i + 1]
        if head == b"0":
            second = text[i + 1:i + 2]
            return second.lower() == b"x" or second.isdigit()
        if head and head <= b"9":
            return False
        return text[i:i + 3].lower() in (b"inf", b"nan")

    def _string(self, start: int) -> tuple[str, Any, int]:
        text, n = self.text, len(self.text)
        i = start + 1
        out = bytearray()
        while i < n:
            b = text[i]
            if b == 34:
                self.pos = i + 1
                return "T_STRING", bytes(out), start
            if b == 92:
                if i + 1 >= n:
                    break
                esc = chr(text[i + 1])
                simple = {"b": 8, "f": 12, "n": 10, "r": 13, "t": 9, '"': 34, "\\": 92, "/": 47}
                if esc in simple:
                    out.append(simple[esc])
                    i += 2
                    continue
                if esc == "u":
                    code = self._unicode(i)
                    if code is None:
                        return "T_ERROR", "invalid unicode escape code", i
                    out += code[0]
                    i = code[1]
                    continue
                return "T_ERROR", "invalid escape code", i
            out.append(b)
            i += 1
        return "T_ERROR", "unexpected end of string", n

    def _unicode(self, i: int) -> tuple[bytes, int] | None:
        hexpart = self.text[i + 2:i + 6]
        try:
            code = int(hexpart, 16)
        except ValueError:
            return None
        if len(hexpart) != 4:
            return None
        end = i + 6
        if 0xD800 <= code <= 0xDBFF:
            if self.text[end:end + 2] != b"\\u":
                return None
            try:
                low = int(self.text[end + 2:end + 6], 16)
            except ValueError:
                return None
            if not 0xDC00 <= low <= 0xDFFF:
                return None
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            end += 6
        elif 0xDC00 <= code <= 0xDFFF:
            return None
        return chr(code).encode("utf-8", "surrogatepass"), end

    def _number(self, start: int) -> tuple[str, Any, int]:
        found = _STRTOD.match(self.text, start)
        if found is None:
            return "T_ERROR", "invalid number", start
        word = found.group()
        hexa = word.lstrip(b"+-")[:2].lower() == b"0x"
        value = float(int(word, 16)) if hexa else float(word)
        self.pos = found.end()
        return "T_NUMBER", int(value) if value.is_integer() and abs(value) < 2**53 else value, start

    def fail(self, expected: str, found: tuple[str, Any, int]) -> JsonError:
        kind, value, index = found
        name = value if kind == "T_ERROR" else kind
        return JsonError(f"Expected {expected} but found {name} at character {index + 1}")

    def value(self, tok: tuple[str, Any, int]) -> Any:
        kind = tok[0]
        if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL"):
            return tok[1]
        if kind == "T_OBJ_BEGIN":
            return self.obj()
        if kind == "T_ARR_BEGIN":
            return self.array()
        raise self.fail("value", tok)

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > self.config.decode_max_depth:
            raise JsonError("Found too many nested data structures (%d) at character %d"
                            % (self.depth, self.pos))

    def obj(self) -> Any:
        self._nest()
        result: dict[Any, Any] = {}
        tok = self.token()
        if tok[0] == "T_OBJ_END":
            self.depth -= 1
            return self.table(result)
        while True:
            if tok[0] != "T_STRING":
                raise self.fail("object key string", tok)
            key = tok[1]
            tok = self.token()
            if tok[0] != "T_COLON":
                raise self.fail("colon", tok)
            result[key] = self.value(self.token())
            tok = self.token()
            if tok[0] == "T_OBJ_END":
                self.depth -= 1
                return self.table(result)
            if tok[0] != "T_COMMA":
                raise self.fail("comma or object end", tok)
            tok = self.token()

    def array(self) -> Any:
        self._nest()
        items: list[Any] = []
        tok = self.token()
        if tok[0] == "T_ARR_END":
            self.depth -= 1
            return self.table(items)
        while True:
            items.append(self.value(tok))
            tok = self.token()
            if tok[0] == "T_ARR_END":
                self.depth -= 1
                return self.table(items)
            if tok[0] != "T_COMMA":
                raise self.fail("comma or array end", tok)
            tok = self.token()


class OptionError(Exception):
    """A configuration function's bad argument: (argument number, reason)."""


def _integer_option(value: Any, setting: int, low: int, high: int) -> int:
    """json_integer_option: the new setting (``setting`` for nil)."""
    if value is None:
        return setting
    number = lua_number(value)
    if number is None:
        raise OptionError(1, f"number expected, got {lua_type_name(value)}")
    integer = int(number) if math.isfinite(number) else -2**63
    if not low <= integer <= high:
        raise OptionError(1, f"expected integer between {low} and {high}")
    return integer


def _enum_option(value: Any, setting: int, options: tuple[bytes, ...]) -> int:
    """json_enum_option: a boolean, or one of ``options`` by name."""
    if value is None:
        return setting
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        value = b"%.14g" % value
    if not isinstance(value, bytes):
        raise OptionError(1, f"string expected, got {lua_type_name(value)}")
    if value not in options:
        raise OptionError(1, "invalid option '%s'" % value.decode("utf-8", "surrogateescape"))
    return options.index(value)


def _enum_result(setting: int, options: tuple[bytes, ...]) -> Any:
    return bool(setting) if setting in (0, 1) else options[setting]


def lua_number(value: Any) -> float | None:
    """lua_tonumber of a number or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, bytes):
        text = value.strip()
        try:
            if text[:2].lower() == b"0x":
                return float(int(text, 16))
            return float(text)
        except ValueError:
            return None
    return None


def _configure(name: str, count: int, apply: Any) -> Any:
    """A configuration function: at most ``count`` arguments (json_arg_init), nils
    leaving a setting alone."""
    def run(*args: Any) -> tuple[Any, ...]:
        if len(args) > count:
            return False, ("bad argument #%d to '%s' (found too many arguments)"
                           % (count + 1, name)).encode()
        padded = args + (None,) * (count - len(args))
        try:
            return (True, *apply(*padded))
        except OptionError as exc:
            pos, reason = exc.args
            return False, f"bad argument #{pos} to '{name}' ({reason})".encode()
    return run


def make_cjson(lua: Any, null: Any) -> dict[str, Any]:
    """A cjson module's functions (lua_cjson_new), over settings of their own."""
    config = Config()
    table = lua.table_from
    encoder = Encoder(lua.eval("function(n) return function(v) return rawequal(v, n) end end")(null),
                      config)

    def encode(*args: Any) -> tuple[Any, ...]:
        if len(args) != 1:
            return False, b"bad argument #1 to 'encode' (expected 1 argument)"
        try:
            return True, encoder.encode(args[0])
        except JsonError as exc:
            return False, str(exc).encode()
        except RecursionError:
            return False, b"Cannot serialise, excessive nesting (%d)" % (
                config.encode_max_depth + 1)

    def decode(*args: Any) -> tuple[Any, ...]:
        if len(args) != 1:
            return False, b"bad argument #1 to 'decode' (expected 1 argument)"
        text = args[0]
        if isinstance(text, int | float) and not isinstance(text, bool):
            text = b"%.14g" % text
        if not isinstance(text, bytes):
            return False, ("bad argument #1 to 'decode' (string expected, got %s)"
                           % lua_type_name(text)).encode()
        decoder = Decoder(table, null, text, config)
        try:
            value = decoder.value(decoder.token())
            end = decoder.token()
            if end[0] != "T_END":
                raise decoder.fail("the end", end)
        except JsonError as exc:
            return False, str(exc).encode()
        except RecursionError:
            return False, b"Found too many nested data structures (%d) at character %d" % (
                config.decode_max_depth + 1, decoder.pos)
        return True, value

    def sparse_array(convert: Any, ratio: Any, safe: Any) -> tuple[Any, ...]:
        config.sparse_convert = _enum_option(convert, config.sparse_convert, BOOL_OPTIONS)
        config.sparse_ratio = _integer_option(ratio, config.sparse_ratio, 0, INT_MAX)
        config.sparse_safe = _integer_option(safe, config.sparse_safe, 0, INT_MAX)
        return bool(config.sparse_convert), config.sparse_ratio, config.sparse_safe

    def encode_depth(value: Any) -> tuple[Any, ...]:
        config.encode_max_depth = _integer_option(value, config.encode_max_depth, 1, INT_MAX)
        return (config.encode_max_depth,)

    def decode_depth(value: Any) -> tuple[Any, ...]:
        config.decode_max_depth = _integer_option(value, config.decode_max_depth, 1, INT_MAX)
        return (config.decode_max_depth,)

    def precision(value: Any) -> tuple[Any, ...]:
        config.precision = _integer_option(value, config.precision, 1, 14)
        return (config.precision,)

    def keep_buffer(value: Any) -> tuple[Any, ...]:
        config.encode_keep_buffer = _enum_option(value, config.encode_keep_buffer,
                                                 BOOL_OPTIONS)
        return (bool(config.encode_keep_buffer),)

    def encode_invalid(value: Any) -> tuple[Any, ...]:
        config.encode_invalid_numbers = _enum_option(value, config.encode_invalid_numbers,
                                                     INVALID_NUMBER_OPTIONS)
        return (_enum_result(config.encode_invalid_numbers, INVALID_NUMBER_OPTIONS),)

    def decode_invalid(value: Any) -> tuple[Any, ...]:
        config.decode_invalid_numbers = _enum_option(value, config.decode_invalid_numbers,
                                                     BOOL_OPTIONS)
        return (bool(config.decode_invalid_numbers),)

    return {
        "encode": encode, "decode": decode, "null": null,
        "encode_sparse_array": _configure("encode_sparse_array", 3, sparse_array),
        "encode_max_depth": _configure("encode_max_depth", 1, encode_depth),
        "decode_max_depth": _configure("decode_max_depth", 1, decode_depth),
        "encode_number_precision": _configure("encode_number_precision", 1, precision),
        "encode_keep_buffer": _configure("encode_keep_buffer", 1, keep_buffer),
        "encode_invalid_numbers": _configure("encode_invalid_numbers", 1, encode_invalid),
        "decode_invalid_numbers": _configure("decode_invalid_numbers", 1, decode_invalid),
        "_NAME": CJSON_NAME, "_VERSION": CJSON_VERSION,
    }
