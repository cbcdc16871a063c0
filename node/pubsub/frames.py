"""Pub/Sub frames as Redis writes them: RESP2 arrays, or RESP3 push (``>``) frames.

A message is encoded once per publish for each protocol its receivers speak.
"""

from __future__ import annotations


def bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def frame(resp3: bool, *parts: bytes) -> bytes:
    """An array (RESP2) or push (RESP3) of already-encoded parts."""
    return b"%c%d\r\n%s" % (62 if resp3 else 42, len(parts), b"".join(parts))


def count_reply(kind: bytes, name: bytes | None, count: int, resp3: bool) -> bytes:
    """(un)subscribe confirmations: kind, the channel or pattern (null when there was
    none to leave), the client's subscription count afterwards."""
    if name is None:
        part = b"_\r\n" if resp3 else b"$-1\r\n"
    else:
        part = bulk(name)
    return frame(resp3, bulk(kind), part, b":%d\r\n" % count)
