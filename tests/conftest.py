"""Shared fixtures: a redslot node and a reference redis-server, real processes on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nodes import ServerProcess, start_node, start_redis_server  # noqa: E402

# The node's dispatch, for tests that parametrize ``node`` indirectly: "fast" (the short
# loop for data commands on, the default) or "full" (every request through the full checks).
DISPATCH_ENV = {"fast": {"REDSLOT_FAST_DISPATCH": "1"}, "full": {"REDSLOT_FAST_DISPATCH": "0"}}


@pytest.fixture(scope="module")
def node(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """One redslot node per test module, or per dispatch when parametrized with one of
    DISPATCH_ENV's names (otherwise it inherits REDSLOT_FAST_DISPATCH, if set)."""
    env = DISPATCH_ENV[request.param] if hasattr(request, "param") else None
    proc = start_node(env=env)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def reference() -> Iterator[ServerProcess]:
    """One Debian redis-server per test module, for differential tests."""
    proc = start_redis_server()
    yield proc
    proc.stop()


def check_footprint(node: ServerProcess) -> None:
    """After a test: the node's dataset accounting matches its keys (DEBUG FOOTPRINT).

    Every write must keep used_memory's dataset figure exact (keyspace.py, footprint.py);
    checking after every test that used a client makes the whole suite exercise that.
    A node the test stopped, locked (AUTH) or stripped of DEBUG is left alone.
    """
    try:
        with redis.Redis(port=node.port, socket_timeout=10) as client:
            tracked, recomputed = client.execute_command("DEBUG", "FOOTPRINT")
    except redis.RedisError:
        return
    assert tracked == recomputed, "dataset accounting drifted during this test"


@pytest.fixture
def r(node: ServerProcess) -> Iterator[redis.Redis]:
    """A RESP3 redis-py client on an emptied node."""
    client = redis.Redis(port=node.port, protocol=3, socket_timeout=10)
    client.flushall()
    yield client
    client.close()
    check_footprint(node)


@pytest.fixture
def r2(node: ServerProcess) -> Iterator[redis.Redis]:
    """A RESP2 redis-py client on an emptied node."""
    client = redis.Redis(port=node.port, protocol=2, socket_timeout=10)
    client.flushall()
    yield client
    client.close()
    check_footprint(node)


@pytest.fixture
def pair(node: ServerProcess, reference: ServerProcess) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    """RESP2 redis-py clients on an emptied node and an emptied reference server."""
    clients = (redis.Redis(port=node.port, socket_timeout=30),
               redis.Redis(port=reference.port, socket_timeout=30))
    for client in clients:
        client.flushall()
    yield clients
    for client in clients:
        client.close()
    check_footprint(node)
