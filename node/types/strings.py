"""The string type's record: ``bytes`` as written, ``SdsString`` once grown in place.

Strings are plain ``bytes`` (no wrapper on the hot path); APPEND/SETRANGE/INCR-style
in-place edits turn a value into an ``SdsString`` (typeinfo.py) to mirror Redis's sds
allocation, so both classes (and ``bytearray``) hold the type.
"""

from __future__ import annotations

from .footprint import blob_cost
from .rdb import RDB_TYPE_STRING, Reader, Writer
from .registry import RdbEncoding, ValueType
from .typeinfo import STRING_INFO, UNSHARED_INT, SdsString, string_encoding


def copy_string(value: bytes | SdsString) -> bytes | SdsString:
    """dupStringObject: copies keep their encoding, but as objects of their own (a shared
    integer's copy has refcount 1) and with an exact sds when raw."""
    if isinstance(value, SdsString):
        return SdsString(value, min(value.alloc, 0))
    encoding = string_encoding(value)
    if encoding == "raw":
        return SdsString(value)
    return SdsString(value, UNSHARED_INT) if encoding == "int" else value


_CLASSES = (bytes, bytearray, SdsString)
STRING = ValueType(
    "string", _CLASSES, STRING_INFO, blob_cost, copy_string,
    (RdbEncoding(RDB_TYPE_STRING, _CLASSES, Writer.save_string, Reader.load_string),))
