"""cluster-await-confirm: a node the control plane supervises starts held, serving no slot,
replicating nothing and taking or spreading no table, until a CLUSTER SETTOPOLOGY confirms
its role. The trap it closes: a master restarted without its data taking its slots back and
wiping its replicas with its empty dataset."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator

import pytest
import redis
from nodes import ServerProcess, start_node
from redslot.operator.planner import Role, SlotRange, TopologyNode, render_topology
from replication_wait import until
from resp import RawClient

HELD = ("--cluster-enabled", "yes", "--cluster-await-confirm", "yes")
ALL_SLOTS = (SlotRange(0, 16383),)
CLUSTERDOWN = b"-CLUSTERDOWN The cluster is down\r\n"


def client(proc: ServerProcess) -> redis.Redis:
    return redis.Redis(port=proc.port, socket_timeout=10)


def raw(proc: ServerProcess, *args: str | int) -> bytes:
    with RawClient(proc.port) as c:
        return c.call(*args)


def node_id(proc: ServerProcess) -> str:
    return client(proc).execute_command("CLUSTER", "MYID").decode()


def cluster_info(proc: ServerProcess) -> dict[str, str]:
    text = client(proc).execute_command("CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in text.splitlines())


def link_status(proc: ServerProcess) -> str | None:
    return client(proc).info("replication").get("master_link_status")


def row(proc: ServerProcess, nid: str, master: str | None = None, epoch: int = 1,
        slots: tuple[SlotRange, ...] = ()) -> TopologyNode:
    """A table row for a node on loopback; random ports can be too high for port + 10000,
    so the bus port is given as the node announces it."""
    bus = proc.port + 10000 if proc.port + 10000 <= 65535 else proc.port
    role = Role.MASTER if master is None else Role.REPLICA
    return TopologyNode(nid, "127.0.0.1", proc.port, role, master, epoch, slots, bus)


def push(epoch: int, table: list[TopologyNode], *procs: ServerProcess) -> None:
    text = render_topology(table)
    for proc in procs:
        assert client(proc).execute_command("CLUSTER", "SETTOPOLOGY", epoch, text) == b"OK"


def restart(proc: ServerProcess, *directives: str) -> ServerProcess:
    """The same node again (stopped first if still running): same port, same dir, so the
    same nodes.conf."""
    proc.stop(keep_dir=True)
    argv = [sys.executable, "-m", "redslot.cli", "node", "--port", str(proc.port),
            "--bind", "127.0.0.1", "--dir", proc.workdir, "--enable-debug-command", "yes",
            "--save", "", *directives]
    return ServerProcess(argv, proc.port, proc.workdir)


def table_rows(proc: ServerProcess) -> list[tuple[str, ...]]:
    """CLUSTER NODES without the fields that move on their own (pings, link state)."""
    lines = client(proc).execute_command("CLUSTER", "NODES").decode().splitlines()
    rows = [(f[0], f[1], f[2], f[3], f[6], *f[8:]) for f in (line.split() for line in lines)]
    return sorted(rows)


@pytest.fixture
def procs() -> Iterator[list[ServerProcess]]:
    """Started nodes; a test replaces an entry when it restarts one."""
    started: list[ServerProcess] = []
    yield started
    for proc in started:
        proc.stop()


@pytest.fixture
def shard(procs: list[ServerProcess]) -> tuple[str, str]:
    """procs[0] masters every slot, procs[1] replicates it: confirmed at epoch 1."""
    procs.extend(start_node(*HELD) for _ in range(2))
    m, r = procs
    mid, rid = node_id(m), node_id(r)
    push(1, [row(m, mid, slots=ALL_SLOTS), row(r, rid, mid)], m, r)
    until(lambda: link_status(r) == "up", "the replica's link")
    until(lambda: cluster_info(m)["cluster_state"] == "ok", "cluster_state:ok")
    return mid, rid


def test_a_new_held_node_serves_nothing_until_confirmed(procs: list[ServerProcess]) -> None:
    procs.append(start_node(*HELD, "--cluster-allow-reads-when-down", "yes"))
    proc = procs[0]
    r = client(proc)
    info = cluster_info(proc)
    assert (info["cluster_state"], info["redslot_held"], info["redslot_topology_epoch"]) == ("fail", "1", "0")
    assert list(info)[-2:] == ["redslot_topology_epoch", "redslot_held"]
    assert raw(proc, "SET", "k", "v") == CLUSTERDOWN
    assert raw(proc, "GET", "k") == CLUSTERDOWN  # whatever cluster-allow-reads-when-down says
    assert r.ping() and r.dbsize() == 0
    push(3, [row(proc, node_id(proc), slots=ALL_SLOTS)], proc)
    info = cluster_info(proc)
    assert (info["cluster_state"], info["redslot_held"], info["redslot_topology_epoch"]) == ("ok", "0", "3")
    assert r.set("k", "v") and r.get("k") == b"v"


def test_settopology_that_is_refused_does_not_end_the_hold(procs: list[ServerProcess]) -> None:
    procs.append(start_node(*HELD))
    proc = procs[0]
    other = "f" * 40
    with pytest.raises(redis.ResponseError, match="no row for this node"):
        push(1, [row(proc, other, slots=ALL_SLOTS)], proc)
    assert cluster_info(proc)["redslot_held"] == "1"


def test_nodes_without_the_directive_are_never_held(procs: list[ServerProcess]) -> None:
    procs.append(start_node("--cluster-enabled", "yes"))
    info = cluster_info(procs[0])
    assert (info["redslot_held"], info["redslot_topology_epoch"]) == ("0", "0")


def test_a_master_restarted_empty_wipes_no_replica(procs: list[ServerProcess], shard: tuple[str, str]) -> None:
    mid, rid = shard
    m, r = procs
    pipe = client(m).pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"key:{i}", i)
    pipe.execute()
    assert client(m).execute_command("WAIT", 1, 5000) == 1
    until(lambda: client(r).dbsize() == 1000, "the replica's copy")
    m.stop(signal.SIGKILL, keep_dir=True)
    for name in glob.glob(os.path.join(m.workdir, "*.rdb")) + glob.glob(os.path.join(m.workdir, "appendonly*")):
        shutil.rmtree(name) if os.path.isdir(name) else os.remove(name)
    procs[0] = m = restart(m, *HELD)
    assert node_id(m) == mid  # nodes.conf kept: the same node, with its old table
    until(lambda: "NOMASTERLINK" in r.log.split("Connection with master lost.")[-1], "a refused PSYNC")
    time.sleep(2)  # a few more refused attempts
    assert client(r).dbsize() == 1000
    assert link_status(r) == "down"
    assert client(m).dbsize() == 0
    assert raw(m, "GET", "key:1") == CLUSTERDOWN
    assert "full resync" not in m.log and "Flushing old data" not in r.log.split("Connection with master lost.")[-1]
    push(2, [row(r, rid, epoch=2, slots=ALL_SLOTS), row(m, mid, rid, 2)], r, m)
    until(lambda: link_status(m) == "up" and client(m).dbsize() == 1000, "the old master's resync")
    assert client(r).set("key:new", 1)
    until(lambda: client(m).dbsize() == 1001, "the stream to the old master")
    assert cluster_info(m)["redslot_held"] == "0"


def test_a_held_node_ignores_its_peers_tables(procs: list[ServerProcess], shard: tuple[str, str]) -> None:
    rid = shard[1]
    r = procs[1]
    procs[1] = r = restart(r, *HELD)
    until(lambda: cluster_info(r)["cluster_known_nodes"] == "2", "the restarted table")
    before = table_rows(r)
    assert "slave" in next(row for row in before if row[0] == rid)[2]
    # A peer met for the first time, claiming every slot with a newer config epoch: taken
    # in by a node that is not held, it would own them all.
    peer = "a" * 40
    claim = f"{peer} 127.0.0.1:1@10001 myself,master - 0 0 7 connected 0-16383\n"
    assert client(r).execute_command("CLUSTER", "MERGETOPOLOGY", claim, "MEET") == b"OK"
    assert table_rows(r) == before
    time.sleep(1)  # the master's own pushes arrive too, and change nothing either
    assert table_rows(r) == before


def test_a_held_node_pushes_no_table(procs: list[ServerProcess], shard: tuple[str, str]) -> None:
    m, r = procs

    def updates_received() -> int:
        return int(cluster_info(m).get("cluster_stats_messages_update_received", "0"))

    seen = [-1]

    def steady() -> bool:
        last, seen[0] = seen[0], updates_received()
        time.sleep(0.5)
        return last == seen[0]

    until(steady, "the pushes that formed the shard to end")
    settled = seen[0]
    procs[1] = r = restart(r, *HELD)  # a restarted node pushes its table as soon as it links
    time.sleep(1.5)
    assert updates_received() == settled
    push(2, [row(m, shard[0], slots=ALL_SLOTS), row(r, shard[1], shard[0])], r)
    until(lambda: updates_received() > settled, "a push once confirmed")


def test_a_held_replica_does_not_sync_until_confirmed(procs: list[ServerProcess], shard: tuple[str, str]) -> None:
    mid, rid = shard
    m, r = procs
    client(m).set("k", "v")
    procs[1] = r = restart(r, *HELD)
    time.sleep(2)
    assert link_status(r) != "up"
    assert client(r).dbsize() == 0
    assert client(m).info("replication")["connected_slaves"] == 0
    assert "Connecting to MASTER" not in r.log
    push(2, [row(m, mid, slots=ALL_SLOTS), row(r, rid, mid)], m, r)
    until(lambda: link_status(r) == "up" and client(r).dbsize() == 1, "the confirmed replica's sync")
