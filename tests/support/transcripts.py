"""Scripted multi-connection sessions run on redslot and redis-server alike.

A step names a connection, how many frames to read after sending (a SUBSCRIBE of three
channels answers with three; 0 args: only read), and the command; ``sorted`` steps compare
their frames without their trailing counts, where Redis's order is a hash order. An
argument ``{id:name}`` is replaced by that connection's client id; in ``ids`` steps a
connection's id in a reply (``:<id>``) is replaced by its name (ids differ between the
servers).
"""

from __future__ import annotations

from collections.abc import Sequence

from nodes import ServerProcess
from resp import RawClient

Step = tuple  # (conn, frames, ["sorted" | "ids"], *args)


def transcript(server: ServerProcess, steps: Sequence[Step], resp3: bool) -> list[object]:
    conns: dict[str, RawClient] = {}
    ids: dict[bytes, bytes] = {}  # a connection's id -> its name, for ids in replies
    out: list[object] = []
    try:
        with RawClient(server.port) as admin:
            admin.call("FLUSHALL")
        for name, frames, *args in steps:
            conn = conns.get(name)
            if conn is None:
                conn = conns[name] = RawClient(server.port)
                if resp3:
                    conn.call("HELLO", "3")
                own_id = conn.call("CLIENT", "ID")[1:-2]
                ids[b"{id:%s}" % name.encode()] = own_id
                ids[b":%s\r\n" % own_id] = b":<id of %s>\r\n" % name.encode()
            args = [ids.get(a.encode(), a.encode()) if isinstance(a, str) and a.startswith("{id:")
                    else a for a in args]
            unordered = bool(args) and args[0] == "sorted"
            if unordered:
                args = args[1:]
            named_ids = bool(args) and args[0] == "ids"
            if named_ids:
                args = args[1:]
            if args:
                got = [conn.call(*args)] + [conn.read_reply() for _ in range(frames - 1)]
            else:
                got = [conn.read_reply() for _ in range(frames)]
            if named_ids:
                for raw, named in ids.items():
                    if raw.startswith(b":"):
                        got = [g.replace(raw, named) for g in got]
            out.append(_unordered(got) if unordered else got)
    finally:
        for conn in conns.values():
            conn.close()
    return out


def _unordered(frames: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Frames in hash order: compared as sorted frames without their trailing count, and
    the sorted counts (each (un)subscribe reply ends with the count after it)."""
    heads, counts = [], []
    for f in frames:
        head, sep, count = f.rpartition(b"\r\n:")
        if not sep:
            head, count = f, b""
        heads.append(head)
        counts.append(count)
    return sorted(heads), sorted(counts)


def assert_same_transcript(node: ServerProcess, reference: ServerProcess,
                           steps: Sequence[Step], protocols: Sequence[int] = (2, 3)) -> None:
    for resp3 in (version == 3 for version in protocols):
        ours = transcript(node, steps, resp3)
        theirs = transcript(reference, steps, resp3)
        for step, mine, ref in zip(steps, ours, theirs, strict=True):
            assert mine == ref, f"RESP{3 if resp3 else 2} {step!r}: redslot {mine!r} != redis {ref!r}"


