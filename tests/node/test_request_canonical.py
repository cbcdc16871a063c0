"""The C parser of canonical multibulk requests (protocol/_resp.c) against the exact parser.

A parser with the C path and one without (``exact_only``) are fed the same byte streams in
the same pieces, well formed and not: after every feed they must have returned the same
requests and be in the same state (error, deferral, buffered bytes and their head), so
the C path changes nothing but speed. In the pure build the C path is hiredis's
(fastpath.py), held to the same.
"""

from __future__ import annotations

import random

import pytest
from redslot.node.protocol import request
from redslot.node.protocol.request import RequestParser

_ALPHABET = b"*$+-:\r\n\0 0123456789abc\"'"


def _state(p: RequestParser) -> tuple[str | None, bool, int, bytes]:
    return p.error, p.deferred, p.buffered, p.head(1 << 20)


def _feed_both(pieces: list[bytes], auth_required: bool = False,
               max_bulk_len: int = 512 * 1024 * 1024) -> list[list[bytes]]:
    """Feed both parsers piece by piece (going on after a deferral, as the client does once
    the requests before it ran); assert they agree after each feed; the requests."""
    fast, exact = RequestParser(max_bulk_len), RequestParser(max_bulk_len, exact_only=True)
    fast.auth_required = exact.auth_required = auth_required
    requests: list[list[bytes]] = []
    for piece in pieces:
        got, want = fast.feed(piece), exact.feed(piece)
        assert (got, _state(fast)) == (want, _state(exact)), pieces
        requests.extend(got)
        while exact.deferred:
            got, want = fast.feed(b""), exact.feed(b"")
            assert (got, _state(fast)) == (want, _state(exact)), pieces
            requests.extend(got)
    for argv in requests:
        assert all(type(arg) is bytes for arg in argv)
    return requests


def _request(rng: random.Random) -> bytes:
    """A canonical request, sometimes with a long or binary argument, or an inline one."""
    if rng.random() < 0.1:
        return b"PING %d\r\n" % rng.randrange(100)
    args = [rng.choice([b"SET", b"get", b"Incr", b"ECHO"])]
    for _ in range(rng.randrange(0, 4)):
        size = rng.choice([0, 1, 5, 20, 200, 17000])
        args.append(rng.randbytes(size))
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _mutated(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(out) + 1)
        op = rng.random()
        if op < 0.4 and i < len(out):
            out[i] = rng.choice(_ALPHABET)
        elif op < 0.7:
            out.insert(i, rng.choice(_ALPHABET))
        elif i < len(out):
            del out[i]
    return bytes(out)


def _chunks(rng: random.Random, data: bytes) -> list[bytes]:
    pieces, pos = [], 0
    while pos < len(data):
        step = rng.choice([1, 2, 3, 7, 30, 200, 5000, 100000])
        pieces.append(data[pos:pos + step])
        pos += step
    return pieces


def test_a_pipeline_split_at_every_offset_gives_the_same_requests():
    data = (b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
            b"PING\r\n*1\r\n$4\r\nPING\r\n*0\r\n*-1\r\n*1\r\n$0\r\n\r\n")
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            assert _feed_both([data[:i], data[i:j], data[j:]])[0] == [b"SET", b"key", b"value"]


@pytest.mark.parametrize("auth_required", [False, True])
def test_random_streams_in_random_pieces_agree(auth_required):
    rng = random.Random(2026 + auth_required)
    for _ in range(2000):
        data = b"".join(_request(rng) for _ in range(rng.randrange(1, 12)))
        _feed_both(_chunks(rng, data), auth_required)


@pytest.mark.parametrize("auth_required", [False, True])
def test_mutated_streams_agree(auth_required):
    rng = random.Random(11 + auth_required)
    for _ in range(20000):
        base = b"".join(_request(rng) for _ in range(rng.randrange(1, 4)))
        data = _mutated(rng, base)
        _feed_both([data], auth_required, max_bulk_len=rng.choice([10, 4096, 1 << 29]))
        _feed_both(_chunks(rng, data), auth_required)


@pytest.mark.parametrize("header", [
    b"*2147483647\r\n", b"*2147483648\r\n", b"*99999999999\r\n", b"*-1\r\n", b"*0\r\n",
    b"*-2147483649\r\n", b"*01\r\n", b"*+1\r\n", b"* 1\r\n", b"*1\rX", b"*1\n", b"*1\0\r\n",
    b"*1\r\n$-1\r\n", b"*1\r\n$01\r\n", b"*1\r\n$536870912\r\n", b"*1\r\n$999999999999999999\r\n",
    b"*1\r\n$9999999999999999999999\r\n", b"*1\r\n$3\r\nabcXY", b"*1\r\n$3\r\nabc\rX",
    b"*1\r\n$3\r\nab\0\r\n", b"*1\r\n+3\r\n", b"*1\r\n$3\rXabc\r\n", b"*11\r\n", b"*1\r\n$16385\r\n",
    b"*11\r\n" + b"$1\r\nx\r\n" * 11, b"*1\r\n$16385\r\n" + b"x" * 16385 + b"\r\n",
])
def test_adversarial_headers_after_a_request_agree(header):
    data = b"*1\r\n$4\r\nPING\r\n" + header + b"*1\r\n$4\r\nPING\r\n" * 2
    for auth_required in (False, True):
        for max_bulk_len in (2, 1 << 29):
            _feed_both([data], auth_required, max_bulk_len)
            _feed_both([data[:5], data[5:20], data[20:]], auth_required, max_bulk_len)


def test_a_huge_count_in_a_short_read_allocates_nothing_and_waits():
    # 16 GB if the C path built the list from the header (it is refused as too short).
    fast = RequestParser()
    assert fast.feed(b"*2147483647\r\n$3\r\nGET\r\n") == []
    assert (fast.error, fast.buffered) == (None, 22)


@pytest.mark.skipif(request._canonical is None, reason="_resp is not built")
def test_a_command_name_comes_back_as_the_shared_object():
    name = b"canonicaltestname"
    request.share_command_names([name])
    argv = RequestParser().feed(b"*2\r\n$17\r\ncanonicaltestname\r\n$17\r\ncanonicaltestname\r\n")[0]
    assert argv[0] is name and argv[1] is not name and argv[1] == name
