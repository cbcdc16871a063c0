"""A command as a RESP multibulk request: how this node writes commands to others.

The replication stream and the AOF (propagation), the links to other cluster nodes, and
MIGRATE's requests all write requests in this one form.
"""

from __future__ import annotations

from collections.abc import Sequence


def encode_command(argv: Sequence[bytes]) -> bytes:
    parts = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)
