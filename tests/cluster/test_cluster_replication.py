"""In cluster mode replication follows the topology table: CLUSTER REPLICATE starts it,
a failover reverses it, with no REPLICAOF (which cluster mode refuses, as Redis does)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from nodes import ServerProcess, start_node
from replication_wait import until


def role(r: redis.Redis) -> tuple[str, str | None]:
    info = r.info("replication")
    return info["role"], info.get("master_link_status")


def current_epoch(r: redis.Redis) -> int:
    return int(r.cluster("info")["cluster_current_epoch"])


@pytest.fixture
def shard() -> Iterator[tuple[list[ServerProcess], redis.Redis, redis.Redis]]:
    """A master holding every slot and its replica, joined with MEET and REPLICATE."""
    nodes = [start_node("--cluster-enabled", "yes") for _ in range(2)]
    try:
        a, b = (redis.Redis(port=n.port) for n in nodes)
        a.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        a.execute_command("CLUSTER", "MEET", "127.0.0.1", nodes[1].port)
        until(lambda: len(b.execute_command("CLUSTER", "NODES").splitlines()) == 2)
        b.execute_command("CLUSTER", "REPLICATE", a.execute_command("CLUSTER", "MYID"))
        until(lambda: role(b) == ("slave", "up"))
        # The MEET may have bumped a's epoch (a collision); a takeover must come after b
        # heard of it, or b's new epoch would not beat a's (pushes are 250 ms apart).
        until(lambda: current_epoch(b) >= current_epoch(a))
        yield nodes, a, b
    finally:
        for n in nodes:
            n.stop()


def test_replicate_streams_the_master_and_failover_swaps_the_roles(shard):
    nodes, a, b = shard
    for i in range(100):
        a.set(f"{{tag}}:{i}", i)
    until(lambda: b.dbsize() == 100)
    assert a.execute_command("DEBUG", "DIGEST") == b.execute_command("DEBUG", "DIGEST")
    with pytest.raises(redis.ResponseError, match="REPLICAOF not allowed in cluster mode"):
        b.replicaof("127.0.0.1", nodes[0].port)
    b.execute_command("CLUSTER", "FAILOVER", "TAKEOVER")
    until(lambda: role(b)[0] == "master" and role(a) == ("slave", "up"))
    assert a.dbsize() == 100  # the demoted master keeps its keys: its partial resync goes on from them
    b.set("{tag}:after", 1)
    until(lambda: a.dbsize() == 101)
    assert a.execute_command("DEBUG", "DIGEST") == b.execute_command("DEBUG", "DIGEST")


def test_manual_failover_waits_for_the_replica_to_catch_up(shard):
    nodes, a, b = shard
    pipe = a.pipeline(transaction=False)
    for i in range(5000):
        pipe.set(f"{{tag}}:{i}", i)
    pipe.execute()
    assert b.execute_command("CLUSTER", "FAILOVER") == b"OK"
    until(lambda: role(b)[0] == "master" and role(a) == ("slave", "up"))
    assert b.dbsize() == 5000
    assert "Manual failover user request accepted" in nodes[1].log
    with pytest.raises(redis.exceptions.MovedError, match=f"127.0.0.1:{nodes[1].port}$"):
        a.set("{tag}:late", 1)
