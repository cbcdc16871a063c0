"""Every value type, listed in one place and registered when the types package loads."""

from __future__ import annotations

from .hashes import HASH
from .lists import LIST
from .registry import ValueType, register
from .sets import SET
from .stream_record import STREAM
from .strings import STRING
from .zset_record import ZSET

VALUE_TYPES: tuple[ValueType, ...] = (STRING, LIST, SET, ZSET, HASH, STREAM)

for _value_type in VALUE_TYPES:
    register(_value_type)
