"""Differential testing: the same requests to redslot and redis-server, byte-equal replies.

``assert_same(node, reference, script)`` runs the requests of ``script`` on one fresh
connection to each server (after FLUSHALL) and compares the raw replies one by one;
``assert_same_resp3`` does the same on connections switched to RESP3 first (HELLO's own
reply differs between the two, so it is not compared). Requests are tuples of arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nodes import ServerProcess
from redslot.node.types.rdb import crc64
from resp import RawClient

Request = Sequence[bytes | str | int]


def replies(port: int, script: Iterable[Request], resp3: bool = False) -> list[bytes]:
    with RawClient(port) as c:
        c.call("FLUSHALL")
        if resp3:
            c.call("HELLO", "3")
        return [c.call(*req) for req in script]


def assert_same(node: ServerProcess, reference: ServerProcess, script: Sequence[Request],
                resp3: bool = False) -> None:
    ours = replies(node.port, script, resp3)
    theirs = replies(reference.port, script, resp3)
    for req, mine, ref in zip(script, ours, theirs, strict=True):
        assert mine == ref, f"{req!r}: redslot {mine!r} != redis-server {ref!r}"


def assert_same_resp3(node: ServerProcess, reference: ServerProcess,
                      script: Sequence[Request]) -> None:
    assert_same(node, reference, script, resp3=True)


def retrailer(payload: bytes, version: int) -> bytes:
    """A DUMP payload with another RDB version and a fresh CRC64 (to cross 7.0 and 7.2)."""
    body = payload[:-10] + version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")
