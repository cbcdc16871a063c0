"""persistence/rdbscan.py: the plain stretch of an RDB keyspace read in one loop (compiled in
the compiled build, run as plain Python in the pure one: the pure phase runs this file too).
It takes exactly what it handles, stops before anything else at the byte where the full
reader must take over, and fails on truncated data as the reader would."""

from __future__ import annotations

import random
from typing import Any

import pytest
from redslot.node.persistence.rdbscan import scan_plain
from redslot.node.types.rdb import RdbError

LISTPACK = 16  # RDB_TYPE_HASH_LISTPACK: a type whose file loader takes the string whole


def loaded(key: bytes, blob: bytes) -> tuple[str, bytes, bytes]:
    return ("loaded", key, blob)


LOADERS: dict[int, Any] = {LISTPACK: loaded}


def string(key: bytes, value: bytes) -> bytes:
    """A type-0 key with 6-bit lengths."""
    assert len(key) < 64 and len(value) < 64
    return bytes([0, len(key)]) + key + bytes([len(value)]) + value


def listpack(key: bytes, blob: bytes) -> bytes:
    """A type-16 key, the blob's length in 6 or 14 bits."""
    head = (bytes([len(blob)]) if len(blob) < 64
            else bytes([0x40 | len(blob) >> 8, len(blob) & 0xFF]))
    return bytes([LISTPACK, len(key)]) + key + head + blob


def test_a_plain_stretch_is_read_whole_up_to_the_first_opcode() -> None:
    body = string(b"a", b"1") + listpack(b"h", b"x" * 10) + listpack(b"big", b"y" * 300)
    data = b"head" + body + b"\xfc" + b"\0" * 8 + b"\xff"
    run: list[Any] = []
    pos = scan_plain(data, 4, 100, LOADERS, run)
    assert pos == 4 + len(body)  # at the EXPIRETIME_MS opcode
    assert run == [b"a", b"1", b"h", ("loaded", b"h", b"x" * 10),
                   b"big", ("loaded", b"big", b"y" * 300)]


@pytest.mark.parametrize("stop", [
    bytes([0, 0x40, 70]) + b"k" * 70 + b"\x01v",  # a key with a 14-bit length
    bytes([0, 1]) + b"k" + b"\xc0\x05",  # an integer-encoded value
    bytes([0, 1]) + b"k" + b"\x41\x00" + b"v" * 256,  # a string value over 63 bytes
    bytes([LISTPACK, 1]) + b"k" + b"\xc3\x05\x05" + b"z" * 5,  # an LZF-compressed listpack
    bytes([2, 1]) + b"k" + b"\x01\x01v",  # a type without a file loader (a set)
    b"\xfe\x00",  # SELECTDB
    b"\xff",  # EOF
])
def test_it_stops_before_what_the_full_reader_handles(stop: bytes) -> None:
    head = string(b"k1", b"v1") + string(b"k2", b"")
    data = head + stop
    run: list[Any] = []
    assert scan_plain(data, 0, 100, LOADERS, run) == len(head)
    assert run == [b"k1", b"v1", b"k2", b""]


def test_the_limit_counts_keys() -> None:
    data = b"".join(string(b"k%d" % i, b"v") for i in range(10)) + b"\xff"
    run: list[Any] = []
    pos = scan_plain(data, 0, 4, LOADERS, run)
    assert run[0::2] == [b"k0", b"k1", b"k2", b"k3"]
    assert pos == 4 * len(string(b"k0", b"v"))
    assert scan_plain(data, pos, 0, LOADERS, run) == pos  # nothing more at a zero limit


@pytest.mark.parametrize("cut", range(1, 14))
def test_truncated_data_fails_as_the_reader_does(cut: int) -> None:
    """A value past the end is RdbError ("unexpected end of data"); a key, type or length
    byte past it IndexError: rdbfile turns both into its short-read error."""
    whole = listpack(b"key", b"x" * 8)  # 1 + 1 + 3 + 1 + 8 = 14 bytes
    data = whole[:cut]
    with pytest.raises((RdbError, IndexError)):
        scan_plain(data, 0, 100, LOADERS, [])


def test_random_streams_read_as_a_byte_by_byte_parse_would() -> None:
    """Random mixes of what it takes and what it leaves: each run stops at the first key
    it leaves, and a scan resumed past that key reads on."""
    rnd = random.Random(5)
    for _ in range(200):
        parts: list[tuple[bytes, list[Any] | None]] = []
        for _ in range(rnd.randrange(1, 12)):
            key = rnd.randbytes(rnd.randrange(0, 64))
            choice = rnd.randrange(4)
            if choice == 0:
                value = rnd.randbytes(rnd.randrange(0, 64))
                parts.append((string(key, value), [key, value]))
            elif choice == 1:
                blob = rnd.randbytes(rnd.randrange(0, 2000))
                parts.append((listpack(key, blob), [key, ("loaded", key, blob)]))
            elif choice == 2:
                parts.append((b"\xfc" + rnd.randbytes(8), None))  # an opcode and its field
            else:
                parts.append((bytes([0, 1]) + b"k\xc0\x07", None))  # an int-encoded value
        data = b"".join(p for p, _ in parts) + b"\xff"
        pos = 0
        for chunk, expected in parts:
            run: list[Any] = []
            stopped = scan_plain(data, pos, 1, LOADERS, run)
            if expected is None:
                assert stopped == pos and run == []
            else:
                assert stopped == pos + len(chunk) and run == expected
            pos += len(chunk)
        # and in one go: up to the first part it leaves
        run = []
        taken = _until_none([e for _, e in parts])
        end = sum(len(p) for p, _ in parts[:len(taken)])
        assert scan_plain(data, 0, 100, LOADERS, run) == end
        assert run == [x for e in taken for x in e]


def _until_none(items: list[list[Any] | None]) -> list[list[Any]]:
    out = []
    for item in items:
        if item is None:
            break
        out.append(item)
    return out
