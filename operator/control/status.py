"""The status document: what ``redslot status`` shows and the CR status mirrors.

Built after every pass, failed ones included (then the spec may be missing: it is read
first), from the record, the latest observation of every node, and what the loop itself
keeps: its note and last error, the reshard's last error, and the fleet's process ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..actions.observe import NodeView
from ..model.record import Record, Spec
from ..model.table import agreed
from ..planner import in_sync


def node_entry(record: Record, views: Mapping[str, NodeView], pid: Callable[[str], int | None],
               name: str, role: str) -> dict[str, Any]:
    node = record.nodes[name]
    view = views.get(name)
    entry: dict[str, Any] = {
        "name": name, "id": node.id, "address": node.address,
        "port": int(node.address.rsplit(":", 1)[1]), "pid": pid(name), "role": role,
        "up": bool(view and view.reachable), "held": bool(view and view.held),
        "current": bool(view and view.topology_epoch == record.epoch),
        "cluster_ok": bool(view and view.cluster_ok)}
    if view is not None and view.reachable:
        entry.update(offset=view.offset, keys=view.keys, used_memory=view.used_memory,
                     ops_per_sec=view.ops_per_sec, clients=view.clients,
                     link_up=view.link_up if role == "replica" else None,
                     actual_role="master" if view.is_master else "replica")
    elif view is not None:
        entry["error"] = view.error
    return entry


def status_document(record: Record, views: Mapping[str, NodeView], spec: Spec | None,
                    pid: Callable[[str], int | None], *, note: str, error: str,
                    reshard_error: str) -> dict[str, Any]:
    shards = []
    healthy = True
    for shard in record.shards:
        master = node_entry(record, views, pid, shard.master, "master")
        replicas = [node_entry(record, views, pid, name, "replica") for name in shard.replicas]
        for replica in replicas:
            replica["in_sync"] = bool(master["up"] and replica["up"] and in_sync(
                replica["link_up"], master["offset"], replica["offset"]))
        healthy &= (master["up"] and not master["held"] and all(x["in_sync"] for x in replicas)
                    and all(x["current"] and x["cluster_ok"] for x in [master, *replicas]))
        shards.append({
            "name": shard.name, "retiring": shard.retiring,
            "slots": " ".join(str(piece) for piece in shard.ranges()),
            "slot_count": shard.slot_count(), "master": master, "replicas": replicas})
    reshard = None
    if record.reshard is not None:
        rs = record.reshard
        reshard = {"slots_done": rs.slots_done, "slots_total": rs.slots_total,
                   "keys_moved": rs.keys_moved, "keys_per_second": round(rs.keys_per_second),
                   "reason": rs.reason, "error": reshard_error}
    converged = (spec is not None and record.formed and reshard is None and not record.retired
                 and sum(not s.retiring for s in record.shards) == spec.shards
                 and all(len(s.replicas) == spec.replicas and not s.retiring
                         for s in record.shards))
    healthy &= agreed(views)
    if not record.formed:
        phase = "Forming"
    elif reshard is not None:
        phase = "Resharding"
    elif not healthy:
        phase = "Degraded"
    elif not converged:
        phase = "Scaling"
    else:
        phase = "Ready"
    return {
        "phase": phase, "ready": phase == "Ready", "epoch": record.epoch,
        "updated": time.time(), "note": note, "error": error,
        "spec": spec.to_json() if spec else None, "shards": shards, "reshard": reshard,
        "last_reshard": record.last_reshard, "failovers": record.failovers,
        "failover_count": record.failover_count,
        "handled_requests": record.handled_requests, "events": record.events[-20:]}
