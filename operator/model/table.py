"""The topology table the record describes, as CLUSTER SETTOPOLOGY takes it.

Only nodes whose id the control plane has seen go in: a node that never answered yet
cannot be named. A master's config epoch is the greater of the record's and the one the
node reports (SETSLOT NODE bumps it on the importing node), so a push never lowers an
epoch that the nodes' own merge rules rely on to fence a stale master.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..actions.observe import NodeView
from ..planner import Role, TopologyNode, render_topology
from .record import Record


def topology_nodes(record: Record, views: Mapping[str, NodeView]) -> list[TopologyNode]:
    nodes: list[TopologyNode] = []
    for shard in record.shards:
        master = record.nodes.get(shard.master)
        if master is None or not master.id:
            continue
        view = views.get(shard.master)
        epoch = max(shard.config_epoch, view.config_epoch if view and view.reachable else 0)
        host, port = master.address.rsplit(":", 1)
        ranges = tuple(shard.ranges())
        nodes.append(TopologyNode(master.id, host, int(port), Role.MASTER, None, epoch, ranges))
        for name in shard.replicas:
            replica = record.nodes.get(name)
            if replica is None or not replica.id:
                continue
            host, port = replica.address.rsplit(":", 1)
            nodes.append(TopologyNode(replica.id, host, int(port), Role.REPLICA, master.id))
    return nodes


def render(record: Record, views: Mapping[str, NodeView]) -> str:
    return render_topology(topology_nodes(record, views))


def shape(record: Record) -> str:
    """The table without epochs and slots: it changes when members or roles do.

    Slots are left out because only a reshard moves them, and a reshard tells every
    master itself (SETSLOT NODE); the next push for another reason carries them.
    """
    return render_topology(
        TopologyNode(n.id, n.ip, n.port, n.role, n.master_id)
        for n in topology_nodes(record, {}))


def next_epoch(record: Record, views: Mapping[str, NodeView]) -> int:
    """An epoch above every one the record and the reachable nodes know: a table pushed with
    it, or a master given it as config epoch, wins over anything a node holds."""
    seen = [record.epoch]
    for view in views.values():
        if view.reachable:
            seen += [view.topology_epoch, view.current_epoch, view.config_epoch]
    return max(seen) + 1


def agreed(views: Mapping[str, NodeView]) -> bool:
    """Every node that serves sees the same slot owners."""
    tables = {v.table for v in views.values() if v.reachable and not v.held}
    return len(tables) <= 1
