"""Argument parsing shared by command handlers, with Redis's strictness and error texts."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from ..base.errors import NOT_FLOAT, SUBCOMMAND_SYNTAX, SYNTAX, CommandError

# The integer parsers live in a compiled module; their many importers name them here.
from .integers import LLONG_MAX as LLONG_MAX
from .integers import LLONG_MIN as LLONG_MIN
from .integers import to_int as to_int
from .integers import to_int32 as to_int32
from .integers import to_int_range as to_int_range

_FLOAT = re.compile(
    rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?)",
    re.IGNORECASE,
)


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


def arg_text(arg: bytes) -> str:
    """An argument as text for names, options and messages; any bytes round-trip."""
    return arg.decode("utf-8", "surrogateescape")


# --- long doubles (INCRBYFLOAT, HINCRBYFLOAT) ---
# Redis computes these in x86-64 ``long double``: a 64-bit significand, subnormals down to
# 2**-16445, overflow at 2**16384. Values are exact Fractions rounded to that format;
# float("inf") and float("-inf") stand for the infinities strtold accepts.

LongDouble = Fraction | float
MAX_LONG_DOUBLE_CHARS = 5 * 1024
_LD_MIN_ULP = -16445
_LD_OVERFLOW = Fraction(2) ** 16384  # not 2**16384: mypyc 2.4 folds it and crashes
_CHUNK_DIGITS = 4000
_CHUNK = 10**_CHUNK_DIGITS
_LD_DECIMAL = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_LD_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_LD_INF = re.compile(rb"([+-]?)inf(?:inity)?", re.IGNORECASE)


def _int_from_digits(digits: bytes) -> int:
    """int() of a decimal string longer than Python's 4300-digit conversion limit."""
    value = 0
    for i in range(0, len(digits), _CHUNK_DIGITS):
        chunk = digits[i:i + _CHUNK_DIGITS]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def _digits_of(n: int) -> bytes:
    """The decimal digits of a non-negative int of any length."""
    if n < _CHUNK:
        return b"%d" % n
    high, low = divmod(n, _CHUNK)
    return _digits_of(high) + (b"%d" % low).rjust(_CHUNK_DIGITS, b"0")


def _exponent(text: bytes | None) -> int:
    """An exponent's value, clamped far beyond any long double's range."""
    if not text:
        return 0
    negative = text[:1] == b"-"
    digits = text.lstrip(b"+-").lstrip(b"0") or b"0"
    value = int(digits) if len(digits) < 10 else 10**9
    return -value if negative else value


def round_long_double(x: Fraction) -> LongDouble:
    """``x`` rounded to nearest-even in long double precision (an infinity on overflow)."""
    if not x:
        return Fraction(0)
    n, d = abs(x.numerator), x.denominator
    e = n.bit_length() - d.bit_length()
    if (n << -e if e < 0 else n) < (d << e if e > 0 else d):
        e -= 1
    ulp = max(e - 63, _LD_MIN_ULP)
    num, den = (n, d << ulp) if ulp >= 0 else (n << -ulp, d)
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    value = Fraction(q << ulp) if ulp >= 0 else Fraction(q, 1 << -ulp)
    if value >= _LD_OVERFLOW:
        return math.inf if x > 0 else -math.inf
    return value if x > 0 else -value


def parse_long_double(arg: bytes | bytearray) -> LongDouble | None:
    """string2ld: strtold over the whole argument, no spaces, no NaN, no over/underflow."""
    if not arg or len(arg) >= MAX_LONG_DOUBLE_CHARS:
        return None
    m = _LD_DECIMAL.fullmatch(arg)
    if m and (m[2] or m[3]):
        sign, whole, frac, exp = m[1], m[2], m[3] or b"", m[4]
        digits = (whole + frac).lstrip(b"0")
        if not digits:
            return Fraction(0)
        exp10 = _exponent(exp) - len(frac)
        magnitude = len(digits) + exp10
        if magnitude > 4934:
            return None
        if magnitude < -4952:
            return None
        mantissa = _int_from_digits(digits)
        exact = Fraction(mantissa * 10**exp10) if exp10 >= 0 else Fraction(mantissa, 10**-exp10)
    elif (m := _LD_HEX.fullmatch(arg)) and (m[2] or m[3]):
        sign, whole, frac, exp = m[1], m[2], m[3] or b"", m[4]
        mantissa = int(whole + frac, 16)
        if not mantissa:
            return Fraction(0)
        exp2 = _exponent(exp) - 4 * len(frac)
        bits = mantissa.bit_length() + exp2
        if bits > 16385 or bits < -16447:
            return None
        exact = Fraction(mantissa << exp2) if exp2 >= 0 else Fraction(mantissa, 1 << -exp2)
    elif m := _LD_INF.fullmatch(arg):
        return -math.inf if m[1] == b"-" else math.inf
    else:
        return None
    value = round_long_double(-exact if sign == b"-" else exact)
    if not value or isinstance(value, float):
        return None
    return value


def add_long_double(a: LongDouble, b: LongDouble) -> LongDouble:
    """a + b in long double arithmetic; an infinity or NaN (a float) when not finite."""
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, float) and isinstance(b, float):
            return a + b
        return a if isinstance(a, float) else b
    return round_long_double(a + b)


def format_long_double(value: Fraction) -> bytes:
    """ld2string in LD_STR_HUMAN mode: ``%.17Lf`` without trailing zeros, never "-0"."""
    num = abs(value.numerator) * 10**17
    q, r = divmod(num, value.denominator)
    if 2 * r > value.denominator or (2 * r == value.denominator and q & 1):
        q += 1
    digits = _digits_of(q).rjust(18, b"0")
    text = (digits[:-17] + b"." + digits[-17:]).rstrip(b"0").rstrip(b".")
    if value < 0 and text != b"0":
        return b"-" + text
    return text


# --- container commands (OBJECT, MEMORY, SLOWLOG, LATENCY, DEBUG ...) ---

def help_reply(container: str, lines: tuple[str, ...]) -> list[str]:
    """addReplyHelp: a usage line, the subcommands with indented descriptions, HELP."""
    return [f"{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", *lines,
            "HELP", "    Prints this help."]


def subcommand_syntax_error(argv: list[bytes]) -> CommandError:
    """addReplySubcommandSyntaxError: a known subcommand with the wrong arguments."""
    return CommandError(SUBCOMMAND_SYNTAX % (
        argv[1][:128].decode("utf-8", "surrogateescape"),
        argv[0].decode("utf-8", "surrogateescape").upper()))
