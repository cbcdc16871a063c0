"""Argument parsing shared by command handlers, with Redis's strictness and error texts."""

from __future__ import annotations

import math
import re

from ..errors import NOT_FLOAT, NOT_INTEGER, SYNTAX, CommandError
from ..protocol import strict_int

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1

_FLOAT = re.compile(
    rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?)",
    re.IGNORECASE,
)


def to_int(arg: bytes, message: str = NOT_INTEGER) -> int:
    """getLongLongFromObjectOrReply: a strict 64-bit integer."""
    if len(arg) > 20:
        raise CommandError(message)
    value = strict_int(arg)
    if value is None or not LLONG_MIN <= value <= LLONG_MAX:
        raise CommandError(message)
    return value


def to_int_range(arg: bytes, lo: int, hi: int, message: str = NOT_INTEGER) -> int:
    value = to_int(arg, message)
    if not lo <= value <= hi:
        raise CommandError(message)
    return value


def parse_double(arg: bytes) -> float | None:
    """strtod as Redis uses it: the whole string, no spaces, no NaN; None if invalid."""
    if not arg or not _FLOAT.fullmatch(arg):
        return None
    text = arg.decode()
    try:
        value = float.fromhex(text) if "x" in text.lower() else float(text)
    except (ValueError, OverflowError):
        return None
    if math.isnan(value):
        return None
    return value


def to_float(arg: bytes, message: str = NOT_FLOAT) -> float:
    value = parse_double(arg)
    if value is None:
        raise CommandError(message)
    return value


def syntax_error() -> CommandError:
    return CommandError(SYNTAX)


def lower(arg: bytes) -> bytes:
    return arg.lower()
