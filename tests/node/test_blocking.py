"""Blocking pops (BLPOP, BLMOVE, BZPOPMIN ...), served as redis-server serves them."""

from __future__ import annotations

import time

import pytest
from differential import assert_same
from nodes import free_port, start_node, start_redis_server
from resp import RawClient, encode_command


def servers(node, reference):
    return [(node, "redslot"), (reference, "redis-server")]


def blocked_count(admin: RawClient) -> int:
    info = admin.call("INFO", "clients").decode()
    return int(info.split("blocked_clients:")[1].split("\r\n")[0])


def wait_for_blocked(admin: RawClient, count: int, timeout: float = 5.0) -> None:
    """Until the server says ``count`` clients are blocked (bounded: fails after timeout)."""
    deadline = time.monotonic() + timeout
    while blocked_count(admin) != count:
        assert time.monotonic() < deadline, f"never saw {count} blocked clients"
        time.sleep(0.01)


def test_immediate_answers_and_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("RPUSH", "l", "a", "b"), ("BLPOP", "missing", "l", "0"), ("BRPOP", "l", "0"),
        ("BLPOP", "l", "-1"), ("BLPOP", "l", "abc"), ("BLPOP", "l", "nan"),
        ("SET", "s", "v"), ("BLPOP", "s", "1"), ("BLPOP", "missing", "s", "1"),
        ("RPUSH", "src", "x"), ("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"),
        ("LRANGE", "dst", "0", "-1"), ("BRPOPLPUSH", "dst", "dst2", "0"),
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("BZPOPMIN", "z", "0"),
        ("BZPOPMAX", "z", "0"), ("BZMPOP", "0", "1", "z", "MIN", "COUNT", "5"),
        ("BZMPOP", "0", "0", "z", "MIN"), ("BZMPOP", "0", "1", "z", "SIDEWAYS"),
        ("RPUSH", "m", "1", "2", "3"), ("BLMPOP", "0", "2", "none", "m", "RIGHT", "COUNT", "2"),
        ("BLMPOP", "0", "1", "m", "UP"), ("BLMPOP", "x", "1", "m", "LEFT"),
        ("BLMPOP", "0", "1", "m", "LEFT", "COUNT", "0"),
    ])


def test_blocking_commands_inside_multi_answer_as_a_timeout(node, reference):
    assert_same(node, reference, [
        ("MULTI",), ("BLPOP", "nothing", "0"), ("BLMOVE", "a", "b", "LEFT", "LEFT", "0"),
        ("BZPOPMIN", "nothing", "0"), ("EXEC",),
    ])


def test_a_push_from_another_client_serves_the_blocked_one(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as pusher:
            pusher.call("FLUSHALL")
            waiter.send_raw(encode_command("BLPOP", "q", "5"))
            wait_for_blocked(pusher, 1)
            assert pusher.call("RPUSH", "q", "job") == b":1\r\n", name
            assert waiter.read_reply() == b"*2\r\n$1\r\nq\r\n$3\r\njob\r\n", name
            assert pusher.call("LLEN", "q") == b":0\r\n", name


def test_clients_are_served_in_the_order_they_blocked(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as first, RawClient(server.port) as second, \
                RawClient(server.port) as pusher:
            pusher.call("FLUSHALL")
            first.send_raw(encode_command("BLPOP", "q", "5"))
            wait_for_blocked(pusher, 1)
            second.send_raw(encode_command("BLPOP", "q", "5"))
            wait_for_blocked(pusher, 2)
            pusher.call("RPUSH", "q", "one")
            assert first.read_reply().endswith(b"one\r\n"), name
            pusher.call("RPUSH", "q", "two")
            assert second.read_reply().endswith(b"two\r\n"), name


def test_the_blocked_client_is_served_right_after_the_push_within_a_pipeline(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as pusher:
            pusher.call("FLUSHALL")
            waiter.send_raw(encode_command("BLPOP", "q", "5"))
            wait_for_blocked(pusher, 1)
            pusher.send_raw(encode_command("RPUSH", "q", "x") + encode_command("LPOP", "q"))
            assert pusher.read_reply() == b":1\r\n", name
            assert pusher.read_reply() == b"$-1\r\n", name
            assert waiter.read_reply().endswith(b"x\r\n"), name


def test_timeouts_answer_null_in_both_protocols(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            started = time.monotonic()
            assert c.call("BLPOP", "q", "0.1") == b"*-1\r\n", name
            assert c.call("BLMOVE", "q", "d", "LEFT", "LEFT", "0.1") == b"*-1\r\n", name
            assert time.monotonic() - started >= 0.19
            c.call("HELLO", "3")
            assert c.call("BZPOPMIN", "z", "0.05") == b"_\r\n", name


def test_requests_sent_while_blocked_run_after_the_reply(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as pusher:
            pusher.call("FLUSHALL")
            waiter.send_raw(encode_command("BLPOP", "q", "5") + encode_command("ECHO", "after"))
            wait_for_blocked(pusher, 1)
            pusher.call("LPUSH", "q", "v")
            assert waiter.read_reply().endswith(b"v\r\n"), name
            assert waiter.read_reply() == b"$5\r\nafter\r\n", name


def test_client_unblock_answers_timeout_or_error(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            waiter_id = int(waiter.call("CLIENT", "ID")[1:-2])
            waiter.send_raw(encode_command("BLPOP", "q", "0"))
            wait_for_blocked(admin, 1)
            assert admin.call("CLIENT", "UNBLOCK", waiter_id) == b":1\r\n", name
            assert waiter.read_reply() == b"*-1\r\n", name
            waiter.send_raw(encode_command("BZPOPMIN", "z", "0"))
            wait_for_blocked(admin, 1)
            assert admin.call("CLIENT", "UNBLOCK", waiter_id, "ERROR") == b":1\r\n", name
            assert waiter.read_reply() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", name
            assert admin.call("CLIENT", "UNBLOCK", waiter_id) == b":0\r\n", name
            assert admin.call("CLIENT", "UNBLOCK", waiter_id, "MAYBE") == (
                b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"), name


def test_a_key_of_another_type_leaves_the_client_blocked(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as other:
            other.call("FLUSHALL")
            waiter.send_raw(encode_command("BLPOP", "k", "5"))
            wait_for_blocked(other, 1)
            other.call("ZADD", "k", "1", "m")
            other.call("DEL", "k")
            other.call("RPUSH", "k", "v")
            assert waiter.read_reply().endswith(b"v\r\n"), name


def test_blmpop_is_served_with_its_count(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as other:
            other.call("FLUSHALL")
            waiter.send_raw(encode_command("BLMPOP", "5", "2", "a", "b", "LEFT", "COUNT", "2"))
            wait_for_blocked(other, 1)
            other.call("RPUSH", "b", "1", "2", "3")
            assert waiter.read_reply() == b"*2\r\n$1\r\nb\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n", name


@pytest.mark.parametrize("create", [
    ("ZADD", "z", "5", "m"),
    ("ZUNIONSTORE", "z", "1", "src"),
])
def test_bzpopmin_is_served_by_any_command_creating_the_key(node, reference, create):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as other:
            other.call("FLUSHALL")
            other.call("ZADD", "src", "5", "m")
            waiter.send_raw(encode_command("BZPOPMIN", "z", "5"))
            wait_for_blocked(other, 1)
            other.call(*create)
            assert waiter.read_reply() == b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n$1\r\n5\r\n", name


def test_info_counts_blocked_clients_and_keys(node):
    with RawClient(node.port) as waiter, RawClient(node.port) as admin:
        waiter.send_raw(encode_command("BLPOP", "a", "b", "5"))
        wait_for_blocked(admin, 1)
        info = admin.call("INFO", "clients").decode()
        assert "blocked_clients:1" in info
        assert "total_blocking_keys:2" in info
        admin.call("RPUSH", "b", "x")
        waiter.read_reply()
        assert "total_blocking_keys:0" in admin.call("INFO", "clients").decode()


# --- clients that go away while blocked (a disconnected worker must not take a job) ---

@pytest.mark.parametrize("block,push,length", [
    (("BLPOP", "q", "0"), ("LPUSH", "q", "job1"), ("LLEN", "q")),
    (("BRPOP", "q", "0"), ("LPUSH", "q", "job1"), ("LLEN", "q")),
    (("BLMOVE", "q", "d", "LEFT", "RIGHT", "0"), ("LPUSH", "q", "job1"), ("LLEN", "q")),
    (("BLMPOP", "0", "1", "q", "LEFT"), ("LPUSH", "q", "job1"), ("LLEN", "q")),
    (("BZPOPMIN", "z", "0"), ("ZADD", "z", "1", "m"), ("ZCARD", "z")),
    (("BZMPOP", "0", "1", "z", "MAX"), ("ZADD", "z", "1", "m"), ("ZCARD", "z")),
], ids=lambda v: v[0] if isinstance(v, tuple) else None)
def test_a_client_that_disconnects_while_blocked_takes_nothing(node, reference, block, push,
                                                               length):
    for server, name in servers(node, reference):
        with RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            waiter = RawClient(server.port)
            waiter.send_raw(encode_command(*block))
            wait_for_blocked(admin, 1)
            waiter.close()
            wait_for_blocked(admin, 0)
            assert admin.call(*push) == b":1\r\n", name
            assert admin.call(*length) == b":1\r\n", name
            assert admin.call("EXISTS", "d") == b":0\r\n", name


def test_a_client_killed_while_blocked_takes_nothing_even_in_the_same_pipeline(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            waiter_id = int(waiter.call("CLIENT", "ID")[1:-2])
            waiter.send_raw(encode_command("BLPOP", "q", "0"))
            wait_for_blocked(admin, 1)
            admin.send_raw(encode_command("CLIENT", "KILL", "ID", waiter_id)
                           + encode_command("RPUSH", "q", "job")
                           + encode_command("INFO", "clients"))
            assert admin.read_reply() == b":1\r\n", name  # one client killed
            assert admin.read_reply() == b":1\r\n", name
            assert b"blocked_clients:0\r\n" in admin.read_reply(), name
            assert admin.call("LLEN", "q") == b":1\r\n", name
            assert waiter.read_until_closed() == b"", name
            assert f"id={waiter_id} ".encode() not in admin.call("CLIENT", "LIST"), name


def test_a_disconnected_waiter_leaves_the_queue_to_the_next_one(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as second, RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            first = RawClient(server.port)
            first.send_raw(encode_command("BLPOP", "q", "0"))
            wait_for_blocked(admin, 1)
            second.send_raw(encode_command("BLPOP", "q", "0"))
            wait_for_blocked(admin, 2)
            first.close()
            wait_for_blocked(admin, 1)
            admin.call("RPUSH", "q", "job")
            assert second.read_reply() == b"*2\r\n$1\r\nq\r\n$3\r\njob\r\n", name
            assert admin.call("LLEN", "q") == b":0\r\n", name


@pytest.mark.parametrize("encoding", [("zset-max-ziplist-entries", "0"),
                                      ("zset-max-ziplist-entries", "128")])
def test_bzpopmin_is_woken_whatever_the_zset_encoding(node, reference, encoding):
    """The sequence of Redis's own tests: MULTI/ZADD/DEL/EXEC leaves the client blocked,
    the ZADD after it serves it."""
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            admin.call("CONFIG", "SET", *encoding)
            try:
                waiter.send_raw(encode_command("BZPOPMIN", "zset", "0"))
                wait_for_blocked(admin, 1)
                for request in [("MULTI",), ("ZADD", "zset", "0", "foo"), ("DEL", "zset"),
                                ("EXEC",), ("DEL", "zset"), ("ZADD", "zset", "1", "bar")]:
                    admin.call(*request)
                assert waiter.read_reply() == b"*3\r\n$4\r\nzset\r\n$3\r\nbar\r\n$1\r\n1\r\n", name
                assert blocked_count(admin) == 0, name
            finally:
                admin.call("CONFIG", "SET", "zset-max-ziplist-entries", "128")


def test_a_protocol_error_sent_while_blocked_is_answered_after_the_reply(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            waiter.send_raw(encode_command("BLPOP", "q", "0") + encode_command("ECHO", "x")
                            + b"*1\r\n$abc\r\n")
            wait_for_blocked(admin, 1)
            admin.call("RPUSH", "q", "job")
            assert waiter.read_until_closed() == (
                b"*2\r\n$1\r\nq\r\n$3\r\njob\r\n$1\r\nx\r\n"
                b"-ERR Protocol error: invalid bulk length\r\n"), name


def test_a_blocked_client_past_the_query_buffer_limit_is_closed(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            admin.call("CONFIG", "SET", "client-query-buffer-limit", "1mb")
            try:
                waiter.send_raw(encode_command("BLPOP", "q", "0"))
                wait_for_blocked(admin, 1)
                chunk = encode_command("SET", "k", "v" * 100_000)
                try:
                    for _ in range(20):
                        waiter.send_raw(chunk)
                except OSError:
                    pass  # the server closed the connection under us: that is the point
                wait_for_blocked(admin, 0)
                admin.call("RPUSH", "q", "job")
                assert admin.call("LLEN", "q") == b":1\r\n", name
                assert admin.call("EXISTS", "k") == b":0\r\n", name
            finally:
                admin.call("CONFIG", "SET", "client-query-buffer-limit", "1gb")


def test_client_unblock_of_a_wait_answers_the_ack_count(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as admin:
            waiter_id = int(waiter.call("CLIENT", "ID")[1:-2])
            waiter.call("SET", "k", "v")
            waiter.send_raw(encode_command("WAIT", "1", "0"))
            wait_for_blocked(admin, 1)
            assert admin.call("CLIENT", "UNBLOCK", waiter_id) == b":1\r\n", name
            assert waiter.read_reply() == b":0\r\n", name
            assert waiter.call("PING") == b"+PONG\r\n", name


def test_a_master_turned_replica_answers_its_blocked_clients_and_closes_them(node, reference):
    for server, name in servers(node, reference):
        with RawClient(server.port) as waiter, RawClient(server.port) as waiting, \
                RawClient(server.port) as admin:
            admin.call("FLUSHALL")
            waiter.send_raw(encode_command("BLPOP", "q", "0"))
            wait_for_blocked(admin, 1)
            waiting.call("SET", "k", "v")
            waiting.send_raw(encode_command("WAIT", "1", "0"))
            wait_for_blocked(admin, 2)
            try:
                assert admin.call("REPLICAOF", "127.0.0.1", free_port()) == b"+OK\r\n", name
                text = (b"-UNBLOCKED force unblock from blocking operation, instance state "
                        b"changed (master -> replica?)\r\n")
                assert waiter.read_until_closed() == text, name
                assert waiting.read_until_closed() == text, name
                assert blocked_count(admin) == 0, name
            finally:
                admin.call("REPLICAOF", "NO", "ONE")


@pytest.mark.parametrize("value", [("RPUSH", "q", "job"), ("ZADD", "q", "1", "job")],
                         ids=["list", "zset"])
def test_a_key_migrated_in_serves_the_client_blocked_on_it(node, reference, value):
    for source, start_target, name in [(node, start_node, "redslot"),
                                       (reference, start_redis_server, "redis-server")]:
        target = start_target()
        try:
            with RawClient(source.port) as src, RawClient(target.port) as waiter, \
                    RawClient(target.port) as admin:
                src.call("FLUSHALL")
                src.call(*value)
                pop = "BLPOP" if value[0] == "RPUSH" else "BZPOPMIN"
                waiter.send_raw(encode_command(pop, "q", "0"))
                wait_for_blocked(admin, 1)
                assert src.call("MIGRATE", "127.0.0.1", target.port, "q", "0", "5000") == (
                    b"+OK\r\n"), name
                assert waiter.read_reply().startswith(b"*"), name
                assert admin.call("EXISTS", "q") == b":0\r\n", name
        finally:
            target.stop()
