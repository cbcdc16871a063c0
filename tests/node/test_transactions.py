"""MULTI/EXEC/DISCARD/WATCH/UNWATCH with Redis's semantics, compared with redis-server."""

from __future__ import annotations

import time

import pytest
import redis
from differential import assert_same
from resp import RawClient


def both(node, reference):
    return [(node, "redslot"), (reference, "redis-server")]


def test_queued_commands_run_at_exec_and_reply_in_order(node, reference):
    assert_same(node, reference, [
        ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("GET", "a"), ("EXEC",),
    ])


def test_runtime_errors_do_not_roll_back_the_others(node, reference):
    assert_same(node, reference, [
        ("SET", "s", "text"),
        ("MULTI",), ("SET", "a", "1"), ("INCR", "s"), ("INCR", "a"), ("EXEC",),
        ("GET", "a"),
    ])


def test_queue_time_errors_abort_exec_with_execabort(node, reference):
    assert_same(node, reference, [
        ("MULTI",), ("SET", "a", "1"), ("NOSUCHCOMMAND",), ("GET",), ("EXEC",),
        ("GET", "a"),
        ("MULTI",), ("SET", "b", "1"), ("GET", "a", "b"), ("EXEC",),
    ])


def test_misuse_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("EXEC",), ("DISCARD",),
        ("MULTI",), ("MULTI",), ("WATCH", "k"), ("SET", "k", "v"), ("EXEC",),
        ("MULTI",), ("PING",), ("DISCARD",), ("EXEC",),
        ("MULTI", "extra"), ("EXEC", "extra"), ("WATCH",), ("UNWATCH", "x"),
    ])


def test_empty_transaction_and_resp3_shapes(node, reference):
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("HELLO", "3")
            assert c.call("MULTI") == b"+OK\r\n"
            assert c.call("EXEC") == b"*0\r\n"
            c.call("WATCH", "w")
            c.call("SET", "w", "x")
            c.call("MULTI")
            c.call("GET", "w")
            assert c.call("EXEC") == b"_\r\n"


def test_watched_key_changed_by_another_client_makes_exec_nil(node, reference):
    for server, _ in both(node, reference):
        with RawClient(server.port) as c, RawClient(server.port) as other:
            c.call("FLUSHALL")
            c.call("SET", "k", "1")
            assert c.call("WATCH", "k") == b"+OK\r\n"
            other.call("SET", "k", "2")
            c.call("MULTI")
            assert c.call("SET", "k", "3") == b"+QUEUED\r\n"
            assert c.call("EXEC") == b"*-1\r\n"
            assert c.call("GET", "k") == b"$1\r\n2\r\n"


def test_watch_then_untouched_key_lets_exec_run(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "1"), ("WATCH", "k", "other"), ("SET", "unrelated", "x"),
        ("MULTI",), ("INCR", "k"), ("EXEC",),
    ])


def test_unwatch_and_exec_forget_the_watches(node, reference):
    for server, _ in both(node, reference):
        with RawClient(server.port) as c, RawClient(server.port) as other:
            c.call("FLUSHALL")
            c.call("WATCH", "k")
            c.call("UNWATCH")
            other.call("SET", "k", "2")
            c.call("MULTI")
            c.call("GET", "k")
            assert c.call("EXEC") == b"*1\r\n$1\r\n2\r\n"
            c.call("WATCH", "k")
            c.call("MULTI")
            c.call("GET", "k")
            c.call("EXEC")
            other.call("SET", "k", "3")
            c.call("MULTI")
            c.call("GET", "k")
            assert c.call("EXEC") == b"*1\r\n$1\r\n3\r\n"


@pytest.mark.parametrize("touch", [
    ("FLUSHALL",), ("FLUSHDB",), ("DEL", "k"), ("EXPIRE", "k", "100"), ("RENAME", "k", "j"),
    ("APPEND", "k", "x"), ("SWAPDB", "0", "1"),
])
def test_every_kind_of_change_to_a_watched_key_fails_exec(node, reference, touch):
    for server, name in both(node, reference):
        with RawClient(server.port) as c, RawClient(server.port) as other:
            c.call("FLUSHALL")
            c.call("SET", "k", "1")
            c.call("WATCH", "k")
            other.call(*touch)
            c.call("MULTI")
            c.call("PING")
            assert c.call("EXEC") == b"*-1\r\n", (name, touch)


def test_watched_key_that_expires_before_exec_fails_it(node, reference):
    for server, name in both(node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            c.call("SET", "k", "1", "PX", "50")
            c.call("WATCH", "k")
            time.sleep(0.15)
            c.call("MULTI")
            c.call("PING")
            assert c.call("EXEC") == b"*-1\r\n", name


def test_flushall_of_a_watched_missing_key_does_not_fail_exec(node, reference):
    for server, name in both(node, reference):
        with RawClient(server.port) as c, RawClient(server.port) as other:
            c.call("FLUSHALL")
            c.call("WATCH", "absent")
            other.call("FLUSHALL")
            c.call("MULTI")
            c.call("PING")
            assert c.call("EXEC") == b"*1\r\n+PONG\r\n", name


def test_reset_and_discard_leave_multi_and_unwatch(node, reference):
    assert_same(node, reference, [
        ("MULTI",), ("SET", "a", "1"), ("DISCARD",), ("GET", "a"),
        ("MULTI",), ("SET", "a", "1"), ("RESET",), ("EXEC",), ("GET", "a"),
    ])


def test_redis_py_optimistic_locking_retries_until_it_wins(r):
    r.set("counter", 0)

    def bump(pipe):
        value = int(pipe.get("counter"))
        pipe.multi()
        pipe.set("counter", value + 1)

    other = redis.Redis(port=r.connection_pool.connection_kwargs["port"], protocol=3)
    for _ in range(20):
        r.transaction(bump, "counter")
        other.incr("counter")
    assert int(r.get("counter")) == 40
    other.close()


def test_a_refused_exec_discards_the_transaction_with_the_reason(node, reference):
    assert_same(node, reference, [
        ("MULTI",), ("SET", "a", "1"), ("EXEC", "extra"), ("EXEC",), ("GET", "a"),
    ])


def test_write_pause_holds_an_exec_that_would_write(node):
    with RawClient(node.port) as admin, RawClient(node.port) as c:
        c.call("MULTI")
        assert c.call("SET", "k", "v") == b"+QUEUED\r\n"
        admin.call("CLIENT", "PAUSE", "300", "WRITE")
        started = time.monotonic()
        assert c.call("EXEC") == b"*1\r\n+OK\r\n"
        assert time.monotonic() - started >= 0.2
