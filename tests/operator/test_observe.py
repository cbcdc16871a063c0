"""Observing a node (actions/observe.py) against a real node process."""

from __future__ import annotations

import asyncio

import pytest
import redis
from nodes import start_node
from redslot.operator.actions.connection import Connections
from redslot.operator.actions.observe import observe


def test_a_zero_loss_master_with_no_replica_to_acknowledge_is_still_observed() -> None:
    """Its keyspace reads wait for acknowledgements that never come (-NOACK); the control
    plane's observation must not be one of them, or the master looks unreachable and is
    failed over (a new shard's master while its replica still syncs)."""
    node = start_node("--cluster-enabled", "yes", "--min-replicas-ack", "1",
                      "--min-replicas-ack-timeout", "300")
    try:
        client = redis.Redis(port=node.port)
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        with pytest.raises(redis.ResponseError, match="NOACK"):
            client.set("k", "v")   # applied, never acknowledged: no replica
        with pytest.raises(redis.ResponseError, match="NOACK"):
            client.dbsize()

        async def look() -> tuple[bool, int, str]:
            conns = Connections(timeout=1.0)
            try:
                view = await observe(conns, f"127.0.0.1:{node.port}")
            finally:
                await conns.close()
            return view.reachable, view.keys, view.error
        assert asyncio.run(look()) == (True, 1, "")
    finally:
        node.stop()
