"""LuaBitOp (lua_bit.c): 32-bit operations on Lua numbers, results as signed 32-bit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lupa import lua51  # type: ignore[import-untyped]

Result = tuple[Any, ...]


class ArgError(Exception):
    pass


MISSING = object()  # an argument not given at all ("no value", where nil is "nil")


def lua_type_name(value: Any) -> str:
    """What Lua's type() says of a value that came from Lua."""
    if value is MISSING:
        return "no value"
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, bytes):
        return "string"
    return str(lua51.lua_type(value) or "userdata")


def _num(value: Any, pos: int, fname: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | bytes):
        raise ArgError(f"bad argument #{pos} to '{fname}' (number expected, got "
                       f"{lua_type_name(value)})")
    if isinstance(value, bytes):
        try:
            return float(value.strip())
        except ValueError:
            raise ArgError(
                f"bad argument #{pos} to '{fname}' (number expected, got string)") from None
    return float(value)


def _bits(value: Any, pos: int, fname: str) -> int:
    """barg: the number rounded as ``(int32)(n + 2^52 + 2^51)`` rounds (to even)."""
    n = _num(value, pos, fname)
    if n != n or n in (float("inf"), float("-inf")):
        return 0
    return round(n) & 0xFFFFFFFF


def _signed(u: int) -> int:
    u &= 0xFFFFFFFF
    return u - (1 << 32) if u & 0x80000000 else u


def _op(fname: str, body: Callable[..., int]) -> Callable[..., Result]:
    def run(*args: Any) -> Result:
        try:
            return True, _signed(body(fname, *args))
        except ArgError as exc:
            return False, str(exc).encode()
    return run


def _fold(fname: str, combine: Callable[[int, int], int]) -> Callable[..., Result]:
    def body(name: str, *args: Any) -> int:
        acc = _bits(args[0] if args else MISSING, 1, name)
        for i, arg in enumerate(args[1:], start=2):
            acc = combine(acc, _bits(arg, i, name))
        return acc
    return _op(fname, body)


def _shift(fname: str, apply: Callable[[int, int], int]) -> Callable[..., Result]:
    def body(name: str, x: Any = MISSING, n: Any = MISSING) -> int:
        return apply(_bits(x, 1, name), _bits(n, 2, name) & 31)
    return _op(fname, body)


def _tohex(x: Any = MISSING, n: Any = MISSING) -> Result:
    try:
        value = _bits(x, 1, "tohex")
        width = 8 if n is MISSING or n is None else _signed(_bits(n, 2, "tohex"))
    except ArgError as exc:
        return False, str(exc).encode()
    digits = "0123456789ABCDEF" if width < 0 else "0123456789abcdef"
    width = min(abs(width), 8)
    out = ""
    for _ in range(width):
        out = digits[value & 15] + out
        value >>= 4
    return True, out.encode()


def _rol(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def _ror(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & 0xFFFFFFFF


BIT: dict[str, Callable[..., Result]] = {
    "tobit": _op("tobit", lambda name, x=MISSING: _bits(x, 1, name)),
    "bnot": _op("bnot", lambda name, x=MISSING: ~_bits(x, 1, name)),
    "band": _fold("band", lambda a, b: a & b),
    "bor": _fold("bor", lambda a, b: a | b),
    "bxor": _fold("bxor", lambda a, b: a ^ b),
    "lshift": _shift("lshift", lambda x, n: x << n),
    "rshift": _shift("rshift", lambda x, n: x >> n),
    "arshift": _shift("arshift", lambda x, n: _signed(x) >> n),
    "rol": _shift("rol", _rol),
    "ror": _shift("ror", _ror),
    "bswap": _op("bswap", lambda name, x=MISSING: int.from_bytes(
        _bits(x, 1, name).to_bytes(4, "little"), "big")),
    "tohex": _tohex,
}
