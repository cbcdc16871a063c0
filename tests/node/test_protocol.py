"""RESP parsing, inline commands, pipelining and protocol errors, against real processes."""

from __future__ import annotations

import pytest
from differential import assert_same
from redslot.node.protocol.request import RequestParser
from redslot.node.protocol.splitargs import split_args
from resp import RawClient


def test_inline_and_multibulk_requests_mix_in_one_read(node):
    with RawClient(node.port) as c:
        c.send_raw(b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO \"a b\"\r\n")
        assert c.read_reply() == b"+PONG\r\n"
        assert c.read_reply() == b"$2\r\nhi\r\n"
        assert c.read_reply() == b"$3\r\na b\r\n"


def test_request_split_across_many_reads_is_reassembled(node):
    data = b"*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n"
    with RawClient(node.port) as c:
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
        assert c.read_reply() == b"$10\r\n0123456789\r\n"


@pytest.mark.parametrize("payload", [
    b"*abc\r\n",
    b"*1\r\n+PING\r\n",
    b"*1\r\n$abc\r\n",
    b"*1\r\n$-5\r\n",
    b"ECHO \"unbalanced\r\n",
    b"*3000000000\r\n",
])
def test_protocol_errors_match_redis_and_close_the_connection(node, reference, payload):
    outputs = []
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.send_raw(b"PING\r\n" + payload)
            outputs.append(c.read_until_closed())
    assert outputs[0] == outputs[1]
    assert b"Protocol error" in outputs[0]


def test_too_big_inline_request_is_refused(node):
    with RawClient(node.port) as c:
        c.send_raw(b"A" * (70 * 1024))
        assert c.read_until_closed() == b"-ERR Protocol error: too big inline request\r\n"


def test_unknown_command_and_arity_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("NOSUCH", "a", "b"),
        ("nosuch",),
        ("NOSUCH", "x" * 200, "y"),
        ("PING", "a", "b"),
        ("ECHO",),
        ("SELECT", "abc"),
        ("SELECT", "16"),
        ("SELECT", "-1"),
        ("SELECT", "4294967296"),
        ("SELECT", "1.5"),
    ])


def test_hello_switches_protocol_and_reports_the_server(node):
    with RawClient(node.port) as c:
        reply = c.call("HELLO", "3")
        assert reply.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
        assert b"$4\r\nmode\r\n$10\r\nstandalone\r\n" in reply
        assert c.call("HELLO", "4") == b"-NOPROTO unsupported protocol version\r\n"
        assert c.call("HELLO", "x") == b"-ERR Protocol version is not an integer or out of range\r\n"


def test_parser_keeps_pipelined_requests_in_order():
    p = RequestParser()
    assert p.feed(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\na\r\n") == [[b"PING"], [b"ECHO", b"a"]]
    assert p.error is None


def test_parser_waits_for_the_whole_bulk_before_parsing_again():
    p = RequestParser()
    assert p.feed(b"*2\r\n$4\r\nECHO\r\n$6\r\nab") == []
    assert p.feed(b"cd") == []
    assert p.feed(b"ef\r\n") == [[b"ECHO", b"abcdef"]]


def test_parser_refuses_bulk_longer_than_proto_max_bulk_len():
    p = RequestParser(max_bulk_len=10)
    p.feed(b"*1\r\n$11\r\n")
    assert p.error == "invalid bulk length"


def test_split_args_follows_sdssplitargs():
    assert split_args(b'set k "a\\x41\\n"') == [b"set", b"k", b"aA\n"]
    assert split_args(b"set k 'it\\'s'") == [b"set", b"k", b"it's"]
    assert split_args(b'set k "open') is None
    assert split_args(b'"a"b') is None


def _python_only(data: bytes) -> tuple[list[list[bytes]], str | None]:
    p = RequestParser(exact_only=True)
    commands: list[list[bytes]] = []
    p._parse(data, commands)
    return commands, p.error


def test_the_c_path_agrees_with_the_exact_parser_on_mutated_input():
    import random

    rng = random.Random(20261122)
    base = (b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
            b"*1\r\n$4\r\nPING\r\n")
    alphabet = b"*$+-:_,#(=%~>|!\r\n0123456789ab"
    for _ in range(5000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[i] = rng.choice(alphabet)
            elif op < 0.7:
                data.insert(i, rng.choice(alphabet))
            else:
                del data[i]
        data = bytes(data)
        expected_cmds, expected_error = _python_only(data)
        p = RequestParser()
        got = p.feed(data)
        if expected_error is None and p.error is None:
            # Without an error, the exact parser may stop at an incomplete request; the
            # complete requests before it must be the same.
            assert got == expected_cmds, data
        else:
            assert (got, p.error) == (expected_cmds, expected_error), data


def test_one_parser_stays_exact_across_split_reads_fallbacks_and_fast_reads():
    import random

    rng = random.Random(7)
    p = RequestParser()
    expected: list[list[bytes]] = []
    stream = b""
    for i in range(300):
        value = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        if rng.random() < 0.2:
            stream += b"ECHO x%d\r\n" % i  # inline requests force the exact parser
            expected.append([b"ECHO", b"x%d" % i])
        else:
            stream += b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$%d\r\n%s\r\n" % (
                len(b"k%d" % i), i, len(value), value)
            expected.append([b"SET", b"k%d" % i, value])
    got: list[list[bytes]] = []
    pos = 0
    while pos < len(stream):
        step = rng.choice([1, 7, 64, 300, 5000])
        got.extend(p.feed(stream[pos:pos + step]))
        pos += step
    assert p.error is None
    assert got == expected
