"""cluster-lease-fencing: a node serves keyed commands only while it holds a lease the control
plane renews with CLUSTER LEASE. A renewal is anchored at a stamp the node handed out, so a
late renewal grants nothing past stamp + duration; a node whose table is older than the
renewal's epoch, or a stamp of another process, gets nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import redis
from nodes import ServerProcess, start_node
from redslot.operator.actions.connection import Connections
from redslot.operator.control.leases import LeaseKeeper
from redslot.operator.model.record import NodeRecord, Record, ShardRecord
from resp import RawClient

FENCED = ("--cluster-enabled", "yes", "--cluster-lease-fencing", "yes")
CLUSTERDOWN = b"-CLUSTERDOWN The cluster is down\r\n"


@pytest.fixture
def node() -> Iterator[ServerProcess]:
    proc = start_node(*FENCED)
    try:
        client(proc).execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        yield proc
    finally:
        proc.stop()


def client(proc: ServerProcess) -> redis.Redis:
    return redis.Redis(port=proc.port, socket_timeout=10)


def raw(proc: ServerProcess, *args: str | int) -> bytes:
    with RawClient(proc.port) as c:
        return c.call(*args)


def lease(proc: ServerProcess, *args: str | int) -> tuple[str, int, int]:
    run_id, stamp, remaining = client(proc).execute_command("CLUSTER", "LEASE", *args)
    return run_id.decode(), int(stamp), int(remaining)


def info_cluster(proc: ServerProcess) -> dict[str, str]:
    return {k: str(v) for k, v in client(proc).info("cluster").items()}


def test_a_fenced_node_serves_no_key_before_its_first_lease(node: ServerProcess) -> None:
    assert raw(node, "SET", "k", "v") == CLUSTERDOWN
    assert raw(node, "PING") == b"+PONG\r\n"
    fields = info_cluster(node)
    assert fields["cluster_fenced"] == "1"
    assert fields["cluster_fenced_reason"] == (
        "no lease granted by the control plane since this node started")
    assert b"cluster_state:fail" in client(node).execute_command("CLUSTER", "INFO")


def test_a_lease_serves_until_stamp_plus_duration_then_clusterdown(node: ServerProcess) -> None:
    run_id, stamp, remaining = lease(node, 1000, 0)
    assert remaining == 0
    _, _, remaining = lease(node, 1000, 0, run_id, stamp)
    assert 0 < remaining <= 1000
    assert raw(node, "SET", "k", "v") == b"+OK\r\n"
    assert info_cluster(node)["cluster_fenced"] == "0"
    time.sleep(remaining / 1000 + 0.05)
    assert raw(node, "GET", "k") == CLUSTERDOWN
    reason = info_cluster(node)["cluster_fenced_reason"]
    assert reason.startswith("lease expired ") and reason.endswith(
        " ms ago: no renewal from the control plane")
    assert "Lease expired: keyed commands get CLUSTERDOWN" in wait_log(node, "Lease expired")


def wait_log(node: ServerProcess, text: str) -> str:
    deadline = time.monotonic() + 5
    while text not in node.log and time.monotonic() < deadline:
        time.sleep(0.05)
    return node.log


def test_a_late_renewal_grants_nothing_past_its_stamp(node: ServerProcess) -> None:
    run_id, stamp, _ = lease(node, 300, 0)
    time.sleep(0.4)  # the renewal "arrives" after stamp + duration
    assert lease(node, 300, 0, run_id, stamp)[2] == 0
    assert raw(node, "GET", "k") == CLUSTERDOWN


def test_a_stamp_of_another_process_or_from_the_future_grants_nothing(node: ServerProcess) -> None:
    run_id, stamp, _ = lease(node, 5000, 0)
    assert lease(node, 5000, 0, "f" * 40, stamp)[2] == 0
    assert lease(node, 5000, 0, run_id, stamp + 60_000)[2] == 0


def test_a_node_with_an_older_table_than_the_renewal_gets_no_lease(node: ServerProcess) -> None:
    run_id, stamp, _ = lease(node, 5000, 1)  # its topology epoch is 0
    assert lease(node, 5000, 1, run_id, stamp)[2] == 0
    assert raw(node, "GET", "k") == CLUSTERDOWN


def test_lease_arguments_are_checked(node: ServerProcess) -> None:
    assert raw(node, "CLUSTER", "LEASE", 0, 0) == (
        b"-ERR lease duration must be a positive number of milliseconds\r\n")
    assert raw(node, "CLUSTER", "LEASE", 10, -1) == (
        b"-ERR minimum topology epoch must not be negative\r\n")
    assert raw(node, "CLUSTER", "LEASE", 10, 0, "x") == b"-ERR syntax error\r\n"


def test_without_fencing_a_node_needs_no_lease() -> None:
    proc = start_node("--cluster-enabled", "yes")
    try:
        client(proc).execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        assert raw(proc, "SET", "k", "v") == b"+OK\r\n"
        assert lease(proc, 1000, 0)[2] == -1
        assert info_cluster(proc)["cluster_fenced"] == "0"
    finally:
        proc.stop()


def test_the_keepers_bound_is_never_before_the_nodes_lease_ends(node: ServerProcess) -> None:
    record = Record(formed=True, shards=[ShardRecord("shard-0", "n", [], [[0, 16383]])],
                    nodes={"n": NodeRecord("n", f"127.0.0.1:{node.port}")})

    async def scenario() -> tuple[float, float, float]:
        keeper = LeaseKeeper(Connections(), 2000)
        keeper.started = 0.0  # as if it had run for long: only its own grants count
        keeper.renew_all(record)
        await asyncio.gather(*keeper.inflight.values())
        keeper.renew_all(record)
        await asyncio.gather(*keeper.inflight.values())
        conns = Connections()
        reply = await conns.call(f"127.0.0.1:{node.port}", "CLUSTER", "LEASE", 2000, 0)
        await conns.close()
        await keeper.conns.close()
        return time.monotonic(), int(reply[2]) / 1000, keeper.expires_at("n")

    now, remaining, bound = asyncio.run(scenario())
    assert remaining > 1.0
    assert now + remaining <= bound <= now + 2.0 * 1.01 + 0.1


def test_a_renewal_under_way_grants_nothing_once_a_failover_raised_the_epoch(
        node: ServerProcess) -> None:
    """The shard's epoch is read as each grant goes out, not when the round began: a
    control plane that decided a failover while its renewals were under way (as one
    resumed from a stop does) renews nothing of the deposed master."""
    record = Record(formed=True, shards=[ShardRecord("shard-0", "n", [], [[0, 16383]])],
                    nodes={"n": NodeRecord("n", f"127.0.0.1:{node.port}")})

    async def scenario() -> int:
        keeper = LeaseKeeper(Connections(), 2000)
        keeper.renew_all(record)  # first contact: a stamp, then a grant anchored at it
        record.shards[0].config_epoch = 7  # the failover, before the grant went out
        await asyncio.gather(*keeper.inflight.values())
        await keeper.conns.close()
        return keeper.stamps["n"].remaining_ms

    assert asyncio.run(scenario()) == 0
    assert raw(node, "GET", "k") == CLUSTERDOWN


def test_a_node_new_to_the_keeper_is_renewed_at_once_and_then_waits_for_its_round(
        node: ServerProcess) -> None:
    """A master added by a scale takes a reshard's keys only once it holds a lease: its
    first renewal goes out as soon as it has the table, not at the keeper's next round."""
    record = Record(formed=True, shards=[ShardRecord("shard-0", "n", [], [[0, 16383]])],
                    nodes={"n": NodeRecord("n", f"127.0.0.1:{node.port}")})

    async def scenario() -> tuple[int, bool]:
        keeper = LeaseKeeper(Connections(), 2000)
        keeper.renew_first(record, ["n"])
        first = keeper.inflight["n"]
        await first
        keeper.renew_first(record, ["n"])  # renewed once: left to the rounds
        await keeper.conns.close()
        return keeper.stamps["n"].remaining_ms, keeper.inflight["n"] is first

    remaining_ms, left_to_rounds = asyncio.run(scenario())
    assert remaining_ms > 1000
    assert left_to_rounds
    assert raw(node, "SET", "k", "v") == b"+OK\r\n"
