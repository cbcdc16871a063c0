"""The value types, one record each (``ValueType``), and the lookups derived from them.

A record says all that the rest of the node asks of a type: its name (TYPE), the classes
holding it (one per encoding), what introspection tells of it (OBJECT ENCODING, MEMORY
USAGE, DEBUG DIGEST), what a value costs this process (used_memory), how to copy one
(COPY), and its RDB encodings (snapshots, DUMP/RESTORE). Each type module declares its
record; ``catalog`` lists them and registers them. ``register`` is the only writer of the
per-class dicts that the hot paths read (``TYPE_NAMES`` here, ``FOOTPRINTS``,
``typeinfo.TYPES``, ``rdb.SAVERS``/``LOADERS``/``FILE_LOADERS``). A new type adds a record, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .footprint import FOOTPRINTS
from .rdb import FILE_LOADERS, LOADERS, SAVERS, Loader, Saver
from .typeinfo import TYPES, SdsString, TypeInfo


@dataclass(frozen=True)
class RdbEncoding:
    type_byte: int
    classes: tuple[type, ...]  # the classes saved this way; () for an older, load-only one
    save: Saver | None
    load: Loader
    # For a value saved as one string (a listpack ...): (key, that string) to the value,
    # trusting what the file's CRC64 covers (snapshot files; DUMP payloads take ``load``).
    load_file: Callable[[bytes, bytes], Any] | None = None


@dataclass(frozen=True)
class ValueType:
    name: str
    classes: tuple[type, ...]
    info: TypeInfo
    footprint: Callable[[Any], int]
    copy: Callable[[Any], Any]
    rdb: tuple[RdbEncoding, ...]


TYPE_NAMES: dict[type, str] = {}
COPIERS: dict[type, Callable[[Any], Any]] = {}
STRING_TYPES = (bytes, bytearray, SdsString)
"""A string value's classes, matched exactly (``value.__class__ in STRING_TYPES``): other
types' values may be bytes subclasses (small sets, hashes and sorted sets: their packed
forms)."""


def register(value_type: ValueType) -> None:
    for cls in value_type.classes:
        TYPE_NAMES[cls] = value_type.name
        TYPES[cls] = value_type.info
        FOOTPRINTS[cls] = value_type.footprint
        COPIERS[cls] = value_type.copy
    for encoding in value_type.rdb:
        LOADERS[encoding.type_byte] = encoding.load
        if encoding.load_file is not None:
            FILE_LOADERS[encoding.type_byte] = encoding.load_file
        if encoding.save is not None:
            for cls in encoding.classes:
                SAVERS[cls] = (encoding.type_byte, encoding.save)


def copy_value(value: Any) -> Any:
    """A copy of a stored value that shares nothing with it (COPY)."""
    return COPIERS[value.__class__](value)
