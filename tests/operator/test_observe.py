"""Observing a node (actions/observe.py) against a real node process."""

from __future__ import annotations

import asyncio

import pytest
import redis
from nodes import start_node
from redslot.operator.actions.connection import Connections
from redslot.operator.actions.observe import NodeView, glance, observe


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


def test_a_glance_carries_the_full_view_over_and_sees_a_change_of_epoch() -> None:
    """An idle cluster's passes glance (CLUSTER INFO, INFO replication and keyspace): the
    slots and identity come from the last full view, the key count is fresh, and a new
    topology epoch on the node asks for a full observation."""
    node = start_node("--cluster-enabled", "yes")
    try:
        client = redis.Redis(port=node.port)
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        address = f"127.0.0.1:{node.port}"

        async def look() -> tuple[NodeView, NodeView, bool, NodeView, bool]:
            conns = Connections(timeout=1.0)
            try:
                full = await observe(conns, address)
                client.set("k", "v")
                quiet, quiet_same = await glance(conns, full)
                client.execute_command("CLUSTER", "BUMPEPOCH")
                moved, moved_same = await glance(conns, quiet)
            finally:
                await conns.close()
            return full, quiet, quiet_same, moved, moved_same

        full, quiet, quiet_same, moved, moved_same = asyncio.run(look())
        assert full.reachable and len(full.slots) == 16384 and full.keys == 0
        assert quiet_same and quiet.reachable and quiet.keys == 1
        assert (quiet.id, quiet.slots, quiet.at > full.at) == (full.id, full.slots, True)
        assert not moved_same and moved.current_epoch > full.current_epoch
    finally:
        node.stop()


def test_a_glance_at_a_node_that_is_gone_says_unreachable_without_a_second_wait() -> None:
    node = start_node("--cluster-enabled", "yes")
    address = f"127.0.0.1:{node.port}"

    async def look() -> tuple[NodeView, bool]:
        conns = Connections(timeout=1.0)
        try:
            full = await observe(conns, address)
            node.stop()
            return await glance(conns, full)
        finally:
            await conns.close()

    view, same = asyncio.run(look())
    assert (view.reachable, same, view.id, view.error != "") == (False, True, "", True)
