"""Integer arguments and values with Redis's strictness and error texts (string2ll's users).

Apart from ``args`` so that it is compiled (base/compiled.py): INCR parses the stored value
and INCRBY, LRANGE, EXPIRE ... their arguments here on every call, and a call into an
interpreted module cost INCR about a tenth of its time. ``args`` re-exports these names.
A value may be a stored string edited in place (``SdsString``, a bytearray): the
annotations admit it, as compiled code checks them.
"""

from __future__ import annotations

from typing import Final

from ..base.errors import NOT_INTEGER, VALUE_OUT_OF_RANGE, CommandError
from ..protocol.request import strict_int

LLONG_MIN: Final = -(2**63)
LLONG_MAX: Final = 2**63 - 1
# Within +-SHORT_INT a compiled int is unboxed: comparing with it is one instruction, with
# LLONG_MIN or LLONG_MAX a call.
SHORT_INT: Final = 2**62 - 1


def _probe() -> None:
    """A function of this module: its type says whether the module runs compiled."""


COMPILED: Final = type(_probe).__name__ != "function"


def to_int(arg: bytes | bytearray, message: str = NOT_INTEGER) -> int:
    """getLongLongFromObjectOrReply: a strict 64-bit integer (string2ll)."""
    size = len(arg)
    if COMPILED and size < SHORT_DIGITS and type(arg) is bytes:
        return _short_int(arg, size, message)
    if size > 20:
        raise CommandError(message)
    value = strict_int(arg)
    if value is None or not LLONG_MIN <= value <= LLONG_MAX:
        raise CommandError(message)
    return value


# Fewer characters than this are within 64 bits whatever they are: read digit by digit,
# which compiled is a few times quicker than ``bytes.isdigit`` and ``int()`` (80 ns of an
# INCR's 900) and interpreted twice as slow (a 5-digit argument 500 ns against 200).
SHORT_DIGITS: Final = 19


def _short_int(arg: bytes, size: int, message: str) -> int:
    """string2ll of a bytes object shorter than SHORT_DIGITS: optional '-', then digits,
    no leading zero (nor "-0"), nothing else."""
    start = 1 if size > 1 and arg[0] == 45 else 0  # '-'
    first = arg[start] if size else 0
    if not (49 <= first <= 57 or (first == 48 and size == 1)):  # '1'-'9', or "0" alone
        raise CommandError(message)
    value = first - 48
    for i in range(start + 1, size):
        digit = arg[i] - 48
        if not 0 <= digit <= 9:
            raise CommandError(message)
        value = value * 10 + digit
    return -value if start else value


def to_int_range(arg: bytes | bytearray, lo: int, hi: int, message: str = NOT_INTEGER) -> int:
    value = to_int(arg, message)
    if not lo <= value <= hi:
        raise CommandError(message)
    return value


def to_int32(arg: bytes | bytearray) -> int:
    """getIntFromObjectOrReply with no custom message: its own out-of-range text."""
    value = to_int(arg)
    if not -(2**31) <= value < 2**31:
        raise CommandError(VALUE_OUT_OF_RANGE % (-(2**31), 2**31 - 1))
    return value
