"""XREAD and XREADGROUP with BLOCK, served as redis-server serves them: the same bytes from
both servers for the same requests (explicit IDs), in the same order."""

from __future__ import annotations

import time

import pytest
from differential import assert_same
from resp import RawClient, encode_command

PAUSE = 0.1


def servers(node, reference):
    return [(node, "redslot"), (reference, "redis-server")]


def blocked(server_port: int, count: int) -> bool:
    with RawClient(server_port) as c:
        info = c.call("INFO", "clients").decode()
    return f"blocked_clients:{count}\r\n" in info


def wait_blocked(port: int, count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while not blocked(port, count):
        assert time.monotonic() < deadline, "client never blocked"
        time.sleep(0.01)


def test_immediate_answers_and_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("XADD", "s", "1-1", "a", "1"), ("XREAD", "BLOCK", "0", "STREAMS", "s", "0"),
        ("XREAD", "BLOCK", "-1", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "1.5", "STREAMS", "s", "0"),
        ("XREAD", "BLOCK", "abc", "STREAMS", "s", "0"), ("XREAD", "BLOCK", "10", "STREAMS", "s", "$"),
        ("XGROUP", "CREATE", "s", "g", "$"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", "0"),
        ("MULTI",), ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"), ("EXEC",),
    ])


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_xadd_from_another_client_serves_xread(node, reference, resp3):
    replies = []
    for server, _ in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as writer:
            writer.call("FLUSHALL")
            if resp3:
                waiter.call("HELLO", "3")
            writer.call("XADD", "s", "1-1", "old", "x")
            waiter.send_raw(encode_command("XREAD", "BLOCK", "5000", "STREAMS", "other", "s",
                                           "$", "$"))
            wait_blocked(server.port)
            writer.call("XADD", "s", "2-1", "new", "y")
            replies.append(waiter.read_reply())
            replies.append(waiter.call("PING"))
    assert replies[:2] == replies[2:]
    assert b"new" in replies[0] and b"old" not in replies[0]


def test_xreadgroup_blocked_clients_are_served_in_order(node, reference):
    replies = []
    for server, _ in servers(node, reference):
        with RawClient(server.port) as first, RawClient(server.port) as second, \
                RawClient(server.port) as writer:
            writer.call("FLUSHALL")
            writer.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            first.send_raw(encode_command("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "5000",
                                          "STREAMS", "s", ">"))
            wait_blocked(server.port, 1)
            second.send_raw(encode_command("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "5000",
                                           "STREAMS", "s", ">"))
            wait_blocked(server.port, 2)
            writer.call("XADD", "s", "1-1", "job", "1")
            replies.append(first.read_reply())
            assert blocked(server.port, 1)
            writer.call("XADD", "s", "2-1", "job", "2")
            replies.append(second.read_reply())
            replies.append(writer.call("XPENDING", "s", "g"))
            replies.append(writer.call("XINFO", "GROUPS", "s"))
    assert replies[:4] == replies[4:]


def test_plain_readers_are_all_served_by_one_xadd(node, reference):
    replies = []
    for server, _ in servers(node, reference):
        with RawClient(server.port) as first, RawClient(server.port) as second, \
                RawClient(server.port) as writer:
            writer.call("FLUSHALL")
            for reader in (first, second):
                reader.send_raw(encode_command("XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS",
                                               "s", "0"))
            wait_blocked(server.port, 2)
            writer.send_raw(encode_command("MULTI") + encode_command("XADD", "s", "1-1", "a", "1")
                            + encode_command("XADD", "s", "2-1", "a", "2")
                            + encode_command("XADD", "s", "3-1", "a", "3") + encode_command("EXEC"))
            for _ in range(5):
                writer.read_reply()
            replies += [first.read_reply(), second.read_reply()]
    assert replies[:2] == replies[2:]


def test_timeouts_answer_a_null_array(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            started = time.monotonic()
            assert c.call("XREAD", "BLOCK", "100", "STREAMS", "s", "$") == b"*-1\r\n", name
            assert time.monotonic() - started >= 0.09
            c.call("HELLO", "3")
            assert c.call("XREAD", "BLOCK", "50", "STREAMS", "s", "$") == b"_\r\n", name


def test_client_unblock_answers_timeout_or_error(node, reference):
    replies = []
    for server, _ in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            client_id = int(waiter.call("CLIENT", "ID")[1:-2])
            for reason in ("TIMEOUT", "ERROR"):
                waiter.send_raw(encode_command("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
                wait_blocked(server.port)
                replies.append(admin.call("CLIENT", "UNBLOCK", str(client_id), reason))
                replies.append(waiter.read_reply())
    assert replies[:4] == replies[4:]


def test_deleted_stream_or_group_unblocks_readgroup_with_redis_errors(node, reference):
    replies = []
    for server, _ in servers(node, reference):
        with RawClient(server.port) as group_reader, RawClient(server.port) as plain, \
                RawClient(server.port) as writer:
            writer.call("FLUSHALL")
            writer.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            group_reader.send_raw(encode_command("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                                                 "STREAMS", "s", ">"))
            plain.send_raw(encode_command("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
            wait_blocked(server.port, 2)
            writer.call("DEL", "s")
            replies.append(group_reader.read_reply())
            assert blocked(server.port, 1)
            writer.call("XADD", "s", "5-5", "k", "v")
            replies.append(plain.read_reply())
            writer.call("XGROUP", "CREATE", "s", "g", "$")
            group_reader.send_raw(encode_command("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                                                 "STREAMS", "s", ">"))
            wait_blocked(server.port)
            writer.call("XGROUP", "DESTROY", "s", "g")
            replies.append(group_reader.read_reply())
            writer.call("XGROUP", "CREATE", "s", "g", "$")
            group_reader.send_raw(encode_command("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                                                 "STREAMS", "s", ">"))
            wait_blocked(server.port)
            writer.call("SET", "s", "now a string")
            replies.append(group_reader.read_reply())
    assert replies[:4] == replies[4:]
    assert replies[0] == b"-UNBLOCKED the stream key no longer exists\r\n"


def test_noack_readers_and_history_while_blocked(node, reference):
    replies = []
    for server, _ in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as writer:
            writer.call("FLUSHALL")
            writer.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            waiter.send_raw(encode_command("XREADGROUP", "GROUP", "g", "c", "COUNT", "1",
                                           "NOACK", "BLOCK", "0", "STREAMS", "s", ">"))
            wait_blocked(server.port)
            writer.call("XADD", "s", "1-1", "a", "1")
            replies.append(waiter.read_reply())
            replies.append(writer.call("XPENDING", "s", "g"))
            replies.append(writer.call("XINFO", "GROUPS", "s"))
    assert replies[:3] == replies[3:]


@pytest.mark.parametrize("wipe", [("FLUSHALL",), ("FLUSHDB",), ("SWAPDB", "0", "1")],
                         ids=["flushall", "flushdb", "swapdb"])
def test_flushing_or_swapping_away_the_stream_unblocks_readgroup(node, reference, wipe):
    replies = []
    for server, _ in servers(node, reference):
        with RawClient(server.port) as group_reader, RawClient(server.port) as writer:
            writer.call("FLUSHALL")
            writer.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            group_reader.send_raw(encode_command("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0",
                                                 "STREAMS", "s", ">"))
            wait_blocked(server.port)
            replies.append(writer.call(*wipe))
            replies.append(group_reader.read_reply())
    assert replies[:2] == replies[2:]
    assert replies[1] == b"-UNBLOCKED the stream key no longer exists\r\n"
