"""The value types' names: which Python classes hold which Redis type.

Each type module registers its classes here when imported (strings are ``bytes``, or
``SdsString`` for values grown in place); TYPE, OBJECT, SORT and the blocked-client
wake-up (a new key readies waiters of its type) read it.
"""

from __future__ import annotations

TYPE_NAMES: dict[type, str] = {bytes: "string", bytearray: "string"}
STRING_TYPES = (bytes, bytearray)
