"""Slow subscribers: client-output-buffer-limit disconnects them, the node stays bounded.

Each scenario runs against redslot and redis-server alike: a subscriber with a small
receive buffer that never reads, a publisher sending 10 KB messages (bounded in count),
and the subscriber must be gone once its unsent output passes the limit.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient, encode_command

MESSAGE = b"m" * 10_000


@pytest.fixture(params=["redslot", "redis-server"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    start: Callable[..., ServerProcess] = start_node if request.param == "redslot" else start_redis_server
    proc = start()
    yield proc
    proc.stop()


def stalled_subscriber(port: int, channel: bytes) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(encode_command("SUBSCRIBE", channel))
    confirmation = b""
    while not confirmation.endswith(b":1\r\n"):  # subscribed; from now on it reads nothing
        byte = sock.recv(1)
        assert byte, "the connection closed before the subscription was confirmed"
        confirmation += byte
    return sock


def subscribers(admin: RawClient) -> int:
    return admin.call("CLIENT", "LIST", "TYPE", "pubsub").count(b"id=")


def used_memory(admin: RawClient) -> int:
    info = admin.call("INFO", "memory").decode()
    return int(info.split("used_memory:")[1].split("\r\n")[0])


def test_hard_limit_disconnects_a_subscriber_that_never_reads(server: ServerProcess) -> None:
    with RawClient(server.port) as admin:
        assert admin.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0") == b"+OK\r\n"
        before = used_memory(admin)
        sub = stalled_subscriber(server.port, b"feed")
        try:
            assert subscribers(admin) == 1
            sent = 0
            while subscribers(admin) and sent < 3000:  # 30 MB at most
                admin.call("PUBLISH", "feed", MESSAGE)
                sent += 1
            assert subscribers(admin) == 0, "the stalled subscriber was never disconnected"
            # Gone at about the limit (1 MB, plus what the kernel's buffers took), not later.
            assert sent * len(MESSAGE) < 12_000_000
            assert used_memory(admin) - before < 8_000_000
            assert admin.call("PUBLISH", "feed", "x") == b":0\r\n"
        finally:
            sub.close()
    assert "for overcoming of output buffer limits" in server.log


def test_soft_limit_disconnects_after_its_seconds(server: ServerProcess) -> None:
    with RawClient(server.port) as admin:
        admin.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 256kb 1")
        sub = stalled_subscriber(server.port, b"feed")
        try:
            for _ in range(1500):  # past the soft limit and the kernel buffers, no hard limit
                admin.call("PUBLISH", "feed", MESSAGE)
            assert subscribers(admin) == 1, "the soft limit acted before its seconds"
            deadline = time.monotonic() + 10
            while subscribers(admin):
                assert time.monotonic() < deadline, "never disconnected over the soft limit"
                admin.call("PUBLISH", "feed", "tick")
                time.sleep(0.2)
        finally:
            sub.close()


def test_normal_clients_are_unlimited_by_default(server: ServerProcess) -> None:
    with RawClient(server.port) as admin:
        assert admin.call("CONFIG", "GET", "client-output-buffer-limit") == (
            b"*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\n"
            b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n")


@pytest.mark.parametrize("value", ["pubsub 1mb 0", "master 1 1 1", "foo 1 1 1",
                                   "pubsub x 1 1", "pubsub 1 1 -1", "pubsub 1 1 1x",
                                   "replica 2mb 1mb 30 pubsub 1kb 1kb 0", "normal 1 2 3"])
def test_config_set_matches_redis(value: str) -> None:
    procs = [start_node(), start_redis_server()]
    try:
        replies = []
        for proc in procs:
            with RawClient(proc.port) as c:
                replies.append((c.call("CONFIG", "SET", "client-output-buffer-limit", value),
                                c.call("CONFIG", "GET", "client-output-buffer-limit")))
        assert replies[0] == replies[1]
    finally:
        for proc in procs:
            proc.stop()
