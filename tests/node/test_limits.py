"""Connection limits and authentication: maxclients, buffers, bulk sizes, AUTH, timeout."""

from __future__ import annotations

import socket
import time

import pytest
import redis
from differential import assert_same
from nodes import no_retry, start_node, start_redis_server
from resp import RawClient

PASSWORD = "s3cret"


@pytest.fixture(scope="module")
def guarded():
    """A node and a redis-server that both require a password."""
    pair = (start_node("--requirepass", PASSWORD), start_redis_server("--requirepass", PASSWORD))
    yield pair
    for proc in pair:
        proc.stop()


def both(*directives: str):
    pair = (start_node(*directives), start_redis_server(*directives))
    return pair


def closed_output(port: int, payload: bytes) -> bytes:
    with RawClient(port) as c:
        c.send_raw(payload)
        return c.read_until_closed()


# --- maxclients ---

def test_maxclients_refuses_the_extra_connection_like_redis():
    pair = both("--maxclients", "2")
    try:
        for proc in pair:
            a, b = RawClient(proc.port), RawClient(proc.port)
            assert a.call("PING") == b"+PONG\r\n" and b.call("PING") == b"+PONG\r\n"
            with RawClient(proc.port) as extra:
                assert extra.read_until_closed() == b"-ERR max number of clients reached\r\n"
            stats = a.call("INFO", "stats").decode()
            assert "rejected_connections:1\r\n" in stats
            # The start-up PING connection, a and b: the refused one is not counted.
            assert "total_connections_received:3\r\n" in stats
            a.close()
            b.close()
    finally:
        for proc in pair:
            proc.stop()


def test_maxclients_can_be_raised_at_run_time():
    proc = start_node("--maxclients", "1")
    try:
        with RawClient(proc.port) as first:
            with RawClient(proc.port) as refused:
                assert refused.read_until_closed() == b"-ERR max number of clients reached\r\n"
            assert first.call("CONFIG", "SET", "maxclients", "2") == b"+OK\r\n"
            with RawClient(proc.port) as second:
                assert second.call("PING") == b"+PONG\r\n"
    finally:
        proc.stop()


# --- query buffer and bulk sizes ---

def test_query_buffer_limit_closes_the_client_like_redis():
    pair = both("--client-query-buffer-limit", "1mb")
    try:
        payload = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n" + b"x" * (1024 * 1024 + 4096)
        for proc in pair:
            with RawClient(proc.port) as c:
                try:
                    c.send_raw(payload)
                except OSError:
                    pass
                assert c.read_until_closed() == b""
            with RawClient(proc.port) as c:
                assert c.call("EXISTS", "k") == b":0\r\n"
    finally:
        for proc in pair:
            proc.stop()


def test_query_buffer_limit_allows_a_big_value_under_it(r):
    value = b"v" * (2 * 1024 * 1024)
    assert r.set("big", value)
    assert r.strlen("big") == len(value)


def test_bulk_longer_than_proto_max_bulk_len_is_a_protocol_error(node, reference):
    payloads = [b"*1\r\n$600000000\r\n", b"*2\r\n$4\r\nECHO\r\n$536870913\r\n"]
    for payload in payloads:
        ours, theirs = closed_output(node.port, payload), closed_output(reference.port, payload)
        assert ours == theirs == b"-ERR Protocol error: invalid bulk length\r\n"


def test_proto_max_bulk_len_follows_config_set(node, reference):
    for proc in (node, reference):
        with RawClient(proc.port) as c:
            assert c.call("CONFIG", "SET", "proto-max-bulk-len", "1mb") == b"+OK\r\n"
        try:
            assert closed_output(proc.port, b"*2\r\n$4\r\nECHO\r\n$2000000\r\n") == (
                b"-ERR Protocol error: invalid bulk length\r\n")
            with RawClient(proc.port) as c:
                assert c.call("ECHO", "x" * 1000) == b"$1000\r\n" + b"x" * 1000 + b"\r\n"
        finally:
            with RawClient(proc.port) as c:
                c.call("CONFIG", "SET", "proto-max-bulk-len", "512mb")


# --- unauthenticated clients ---

@pytest.mark.parametrize("payload", [
    b"*11\r\n",
    b"*1\r\n$16385\r\n",
    b"PING\r\n*20\r\n$4\r\nPING\r\n",
])
def test_unauthenticated_request_limits_match_redis(guarded, payload):
    ours, theirs = (closed_output(proc.port, payload) for proc in guarded)
    assert ours == theirs
    assert b"Protocol error: unauthenticated" in ours


def test_unauthenticated_limits_lift_after_auth(guarded):
    for proc in guarded:
        with RawClient(proc.port) as c:
            assert c.call("AUTH", PASSWORD) == b"+OK\r\n"
            assert c.call("ECHO", "x" * 20000).startswith(b"$20000\r\n")
            assert c.call("MSET", *[str(i) for i in range(12)]) == b"+OK\r\n"


def test_commands_before_auth_get_noauth_and_auth_errors_match_redis(guarded):
    node, reference = guarded
    assert_same_unflushed(node, reference, [
        ("PING",),
        ("GET", "k"),
        ("CLIENT", "ID"),
        ("CONFIG", "GET", "timeout"),
        ("NOSUCH",),
        ("AUTH", "wrong"),
        ("AUTH", "default", "wrong"),
        ("AUTH", "nobody", PASSWORD),
        ("AUTH", "a", "b", "c"),
        ("HELLO", "3", "AUTH", "default", "wrong"),
        ("AUTH", PASSWORD),
        ("PING",),
        ("AUTH", "default", PASSWORD),
    ])


def assert_same_unflushed(node, reference, script):
    """assert_same without the FLUSHALL it starts with (which needs authentication)."""
    outputs = []
    for proc in (node, reference):
        with RawClient(proc.port) as c:
            outputs.append([c.call(*req) for req in script])
    for req, mine, ref in zip(script, *outputs, strict=True):
        assert mine == ref, f"{req!r}: redslot {mine!r} != redis-server {ref!r}"


def test_auth_without_a_password_configured_matches_redis(node, reference):
    assert_same(node, reference, [("AUTH", "x"), ("AUTH", "default", "x"), ("AUTH", "default", "")])


def test_redis_py_authenticates_with_a_password(guarded):
    node, _ = guarded
    for protocol in (2, 3):
        client = redis.Redis(port=node.port, password=PASSWORD, protocol=protocol)
        assert client.ping()
        client.close()
    client = redis.Redis(port=node.port, username="default", password=PASSWORD, protocol=3)
    assert client.set("k", "v") and client.get("k") == b"v"
    client.close()


def test_redis_py_reports_a_wrong_password(guarded):
    node, _ = guarded
    for protocol in (2, 3):
        client = redis.Redis(port=node.port, password="nope", protocol=protocol, retry=no_retry())
        with pytest.raises(redis.AuthenticationError):
            client.ping()
        client.close()


def test_redis_py_without_password_gets_noauth(guarded):
    node, _ = guarded
    client = redis.Redis(port=node.port, retry=no_retry())
    with pytest.raises(redis.AuthenticationError):
        client.get("k")
    client.close()


def test_hello_auth_authenticates_and_switches_protocol(guarded):
    node, _ = guarded
    with RawClient(node.port) as c:
        reply = c.call("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "h")
        assert reply.startswith(b"%7\r\n")
        assert c.call("CLIENT", "GETNAME") == b"$1\r\nh\r\n"


def test_requirepass_set_at_run_time_applies_to_new_connections():
    proc = start_node()
    try:
        with RawClient(proc.port) as admin:
            assert admin.call("CONFIG", "SET", "requirepass", "later") == b"+OK\r\n"
            assert admin.call("PING") == b"+PONG\r\n"
            with RawClient(proc.port) as newcomer:
                assert newcomer.call("PING") == b"-NOAUTH Authentication required.\r\n"
                assert newcomer.call("AUTH", "later") == b"+OK\r\n"
    finally:
        proc.stop()


# --- timeout ---

def test_idle_clients_are_closed_after_timeout_like_redis():
    pair = both("--timeout", "1")
    try:
        for proc in pair:
            idle = socket.create_connection(("127.0.0.1", proc.port), timeout=6)
            idle.sendall(b"PING\r\n")
            assert idle.recv(100) == b"+PONG\r\n"
            start = time.monotonic()
            assert idle.recv(100) == b""
            assert 0.8 <= time.monotonic() - start < 5
            idle.close()
    finally:
        for proc in pair:
            proc.stop()


def test_an_active_client_outlives_the_timeout():
    proc = start_node("--timeout", "1")
    try:
        with RawClient(proc.port) as c:
            for _ in range(8):
                assert c.call("PING") == b"+PONG\r\n"
                time.sleep(0.3)
    finally:
        proc.stop()
