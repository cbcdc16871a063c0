"""What one node says about itself: identity, role, slots, epochs, replication, hold.

Read with three commands a user could type (CLUSTER NODES for the node's own row, CLUSTER
INFO, INFO of the sections used), sent in one round trip. A node that does not answer in time is observed as
unreachable, with the error kept for status and logs.

An idle cluster's passes ``glance`` instead: CLUSTER INFO and INFO replication and keyspace
only (about a fifth of what a full observation costs the node, and as much less to parse
here), the rest carried over from the last full view. It is an answer all the same, so
failure detection is as quick; any change it shows (epochs, hold, cluster state, role,
replication history, link) brings a full observation of that node in the same pass.

The key count comes from INFO's keyspace section, not DBSIZE: in zero-loss mode a master's
reply to a keyspace read waits for its replicas' acknowledgement and becomes -NOACK when
none comes (ackgate.py), so a master left without an in-sync replica (a new shard's master
while its replica still syncs, one whose replica died) failed every observation, was
failed over as unreachable, and two such masters of one shard were never observed again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace

from .connection import Connections, NodeError

# The INFO sections read (half the cost of a default INFO to the node, which builds the
# persistence, CPU and error sections too, every pass); keyspace gives the key count.
INFO_SECTIONS = ("server", "clients", "memory", "stats", "replication", "keyspace")
GLANCE_SECTIONS = ("replication", "keyspace")


@dataclass
class NodeView:
    """A node as observed at ``at`` (monotonic seconds)."""

    address: str
    reachable: bool
    at: float = 0.0
    error: str = ""
    id: str = ""
    is_master: bool = True
    master_id: str | None = None
    config_epoch: int = 0
    slots: frozenset[int] = frozenset()
    migrating: dict[int, str] = field(default_factory=dict)
    importing: dict[int, str] = field(default_factory=dict)
    held: bool = False
    topology_epoch: int = 0
    current_epoch: int = 0
    cluster_ok: bool = False
    replid: str = ""
    replid2: str = ""  # the history before: a restarted master keeps its old id here
    offset: int = 0
    link_up: bool = False  # a replica's link to its master
    last_io_seconds: int = -1  # a replica's seconds since its master last sent anything
    keys: int = 0
    pid: int = 0
    run_id: str = ""  # new at every start of the node process
    table: str = ""  # who owns which slots in this node's view (redis-cli's check compares it)
    used_memory: int = 0
    ops_per_sec: int = 0
    clients: int = 0


def parse_info(text: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.decode("utf-8", "replace").splitlines():
        if line and not line.startswith("#") and ":" in line:
            name, value = line.split(":", 1)
            fields[name] = value
    return fields


def keyspace_keys(db: str) -> int:
    """``keys=12,expires=0,avg_ttl=0`` (INFO keyspace's db0 line) -> 12; no line: 0."""
    fields = dict(item.split("=", 1) for item in db.split(",") if "=" in item)
    return int(fields.get("keys", 0))


def parse_slot_items(items: list[str], view: NodeView) -> None:
    """The slot part of a CLUSTER NODES line: ranges and ``[slot->-id]`` marks."""
    slots: set[int] = set()
    for item in items:
        if item.startswith("["):
            slot, arrow, other = item[1:-1].partition("->-")
            if arrow:
                view.migrating[int(slot)] = other
            else:
                slot, _, other = item[1:-1].partition("-<-")
                view.importing[int(slot)] = other
        elif "-" in item:
            start, end = item.split("-")
            slots.update(range(int(start), int(end) + 1))
        else:
            slots.add(int(item))
    view.slots = frozenset(slots)


def slot_owners(lines: list[str]) -> str:
    """The nodes' slot claims, in a canonical form: equal on nodes that agree."""
    claims = sorted(f"{parts[0]} {' '.join(p for p in parts[8:] if not p.startswith('['))}"
                    for parts in map(str.split, lines) if len(parts) > 8)
    return "\n".join(claims)


def read_myself(nodes_text: bytes, view: NodeView) -> None:
    lines = nodes_text.decode("utf-8", "replace").splitlines()
    view.table = slot_owners(lines)
    for line in lines:
        parts = line.split()
        if len(parts) >= 8 and "myself" in parts[2].split(","):
            view.id = parts[0]
            flags = parts[2].split(",")
            view.is_master = "slave" not in flags
            view.master_id = None if parts[3] == "-" else parts[3]
            view.config_epoch = int(parts[6])
            parse_slot_items(parts[8:], view)
            return
    raise ValueError("CLUSTER NODES has no myself line")


def read_replication(info: dict[str, str], view: NodeView) -> None:
    view.replid = info.get("master_replid", "")
    view.replid2 = info.get("master_replid2", "")
    view.offset = int(info.get("master_repl_offset", 0) or 0)
    if info.get("role") == "slave":
        view.link_up = info.get("master_link_status") == "up"
        view.last_io_seconds = int(info.get("master_last_io_seconds_ago", -1) or -1)
        view.offset = int(info.get("slave_repl_offset", view.offset) or view.offset)


async def observe(conns: Connections, address: str) -> NodeView:
    """The node at ``address`` now; never raises for a node that fails to answer."""
    view = NodeView(address, reachable=False, at=time.monotonic())
    try:
        nodes, cluster_info, info = await conns.batch(
            address, ("CLUSTER", "NODES"), ("CLUSTER", "INFO"), ("INFO", *INFO_SECTIONS))
        read_myself(nodes, view)
        read_cluster_info(cluster_info, view)
        general = parse_info(info)
        read_replication(general, view)
        view.pid = int(general.get("process_id", 0))
        view.run_id = general.get("run_id", "")
        view.used_memory = int(general.get("used_memory", 0))
        view.ops_per_sec = int(general.get("instantaneous_ops_per_sec", 0))
        view.clients = int(general.get("connected_clients", 0))
        view.keys = keyspace_keys(general.get("db0", ""))
        view.reachable = True
    except (*NodeError, ValueError) as exc:
        view.error = str(exc) or type(exc).__name__
    return view


def read_cluster_info(text: bytes, view: NodeView) -> None:
    fields = parse_info(text)
    view.cluster_ok = fields.get("cluster_state") == "ok"
    view.current_epoch = int(fields.get("cluster_current_epoch", 0))
    view.topology_epoch = int(fields.get("redslot_topology_epoch", 0))
    view.held = fields.get("redslot_held") == "1"


async def glance(conns: Connections, before: NodeView) -> tuple[NodeView, bool]:
    """The node again from what changes when something happens to it, the rest carried
    over from ``before`` (a full view); whether nothing a full observation must read
    changed (a node that does not answer is left at that: unreachable)."""
    view = replace(before, reachable=False, at=time.monotonic(), error="",
                   migrating=dict(before.migrating), importing=dict(before.importing))
    try:
        cluster_info, info = await conns.batch(
            before.address, ("CLUSTER", "INFO"), ("INFO", *GLANCE_SECTIONS))
        read_cluster_info(cluster_info, view)
        general = parse_info(info)
        read_replication(general, view)
        view.keys = keyspace_keys(general.get("db0", ""))
        view.reachable = True
    except (*NodeError, ValueError) as exc:
        # As a failed full observation says it; observing again would wait out a second
        # timeout in the same pass.
        return NodeView(before.address, False, view.at, str(exc) or type(exc).__name__), True
    role = "master" if before.is_master else "slave"
    same = (general.get("role") == role and view.cluster_ok == before.cluster_ok
            and view.current_epoch == before.current_epoch
            and view.topology_epoch == before.topology_epoch and view.held == before.held
            and view.replid == before.replid and view.replid2 == before.replid2
            and view.link_up == before.link_up)
    return view, same


async def observe_all(conns: Connections, addresses: list[str],
                      before: dict[str, NodeView] | None = None) -> dict[str, NodeView]:
    """Every node; with ``before`` (full views by address, every one reachable), a glance
    at each and a full observation of those it shows changed."""
    if before is None:
        views = await asyncio.gather(*(observe(conns, address) for address in addresses))
        return {view.address: view for view in views}
    glances = await asyncio.gather(*(glance(conns, before[address]) for address in addresses))
    found = {view.address: view for view, same in glances}
    again = [view.address for view, same in glances if not same]
    for view in await asyncio.gather(*(observe(conns, address) for address in again)):
        found[view.address] = view
    return found
