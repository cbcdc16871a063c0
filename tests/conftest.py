"""Shared fixtures: a redslot node and a reference redis-server, real processes on loopback.

The tests are grouped by layer: unit/ (pure logic), node/ (real node processes against
redis-server), cluster/ (several nodes, local clusters), operator/ (the control plane,
the chart and the CRD). Their shared helpers are modules in support/, which pytest puts
on the import path (pyproject's ``pythonpath``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from nodes import DISPATCH_ENV, ServerProcess, check_footprint, start_node, start_redis_server


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
