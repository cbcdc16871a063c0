"""Differential testing: the same requests to redslot and redis-server, byte-equal replies.

``assert_same(node, reference, script)`` runs each request of ``script`` on a fresh
connection pair and compares the raw replies. Requests are tuples of arguments; a string
starting with ``HELLO 3`` style can switch protocols by being part of the script.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nodes import ServerProcess
from resp import RawClient

Request = Sequence[bytes | str | int]


def replies(port: int, script: Iterable[Request]) -> list[bytes]:
    with RawClient(port) as c:
        c.call("FLUSHALL")
        return [c.call(*req) for req in script]


def assert_same(node: ServerProcess, reference: ServerProcess, script: Sequence[Request]) -> None:
    ours = replies(node.port, script)
    theirs = replies(reference.port, script)
    for req, mine, ref in zip(script, ours, theirs, strict=True):
        assert mine == ref, f"{req!r}: redslot {mine!r} != redis-server {ref!r}"
