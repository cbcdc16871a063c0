"""An idle node's cron rests (once a second instead of hz times, server/cronpace.py), and
what a request starts is still followed at hz at once."""

from __future__ import annotations

import time

import pytest
import redis
from nodes import start_node


@pytest.fixture
def node():
    proc = start_node()
    yield proc
    proc.stop()


def test_a_key_given_a_short_ttl_on_a_resting_node_expires_without_being_read(node):
    """The request that sets the TTL brings the cron back to hz at once: active expiry
    deletes the key within a few ticks, not at the resting cron's next tick."""
    client = redis.Redis(port=node.port)
    client.ping()
    time.sleep(2.5)  # no request for two seconds: the cron rests
    client.set("k", "v", px=50)
    time.sleep(0.6)
    assert client.info("stats")["expired_keys"] == 1


def test_an_idle_client_is_closed_by_timeout_on_a_resting_node(node):
    client = redis.Redis(port=node.port)
    client.config_set("timeout", "1")
    idle = redis.Redis(port=node.port, client_name="idle")
    idle.ping()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.5)
        names = [c["name"] for c in client.client_list()]
        if "idle" not in names:
            return
    raise AssertionError("the idle client was never closed")


def test_instantaneous_ops_of_a_resting_node_are_the_requests_per_second(node):
    """A resting node's tick a second apart stands for ten samples of hz 10: a client
    sending 4 requests a second reads about 4, not 40 nor 0."""
    client = redis.Redis(port=node.port)
    for _ in range(12):
        client.ping()
        time.sleep(0.25)
    assert 2 <= client.info("stats")["instantaneous_ops_per_sec"] <= 6
