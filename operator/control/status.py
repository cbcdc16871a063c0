"""The status document: what ``redslot status`` shows and the CR status mirrors.

Built after every pass from the record and the latest observation of every node.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..planner import in_sync, slot_ranges

if TYPE_CHECKING:
    from .reconciler import Reconciler


def node_entry(r: Reconciler, name: str, role: str) -> dict[str, Any]:
    node = r.record.nodes[name]
    view = r.views.get(name)
    entry: dict[str, Any] = {
        "name": name, "id": node.id, "address": node.address,
        "port": int(node.address.rsplit(":", 1)[1]), "pid": r.fleet.pid(name), "role": role,
        "up": bool(view and view.reachable), "held": bool(view and view.held),
        "current": bool(view and view.topology_epoch == r.record.epoch),
        "cluster_ok": bool(view and view.cluster_ok)}
    if view is not None and view.reachable:
        entry.update(offset=view.offset, keys=view.keys, used_memory=view.used_memory,
                     ops_per_sec=view.ops_per_sec, clients=view.clients,
                     link_up=view.link_up if role == "replica" else None,
                     actual_role="master" if view.is_master else "replica")
    elif view is not None:
        entry["error"] = view.error
    return entry


def status_document(r: Reconciler) -> dict[str, Any]:
    record = r.record
    shards = []
    healthy = True
    for shard in record.shards:
        master = node_entry(r, shard.master, "master")
        replicas = [node_entry(r, name, "replica") for name in shard.replicas]
        for replica in replicas:
            replica["in_sync"] = bool(master["up"] and replica["up"] and in_sync(
                replica["link_up"], master["offset"], replica["offset"]))
        healthy &= (master["up"] and not master["held"] and all(x["in_sync"] for x in replicas)
                    and all(x["current"] and x["cluster_ok"] for x in [master, *replicas]))
        shards.append({
            "name": shard.name, "retiring": shard.retiring,
            "slots": " ".join(str(piece) for piece in slot_ranges(shard.slot_set())),
            "slot_count": len(shard.slot_set()), "master": master, "replicas": replicas})
    reshard = None
    if record.reshard is not None:
        rs = record.reshard
        reshard = {"slots_done": rs.slots_done, "slots_total": rs.slots_total,
                   "keys_moved": rs.keys_moved, "keys_per_second": round(rs.keys_per_second),
                   "reason": rs.reason, "error": r.resharding.error}
    spec = r.spec
    converged = (spec is not None and record.formed and reshard is None and not record.retired
                 and sum(not s.retiring for s in record.shards) == spec.shards
                 and all(len(s.replicas) == spec.replicas and not s.retiring
                         for s in record.shards))
    healthy &= r.agreed()
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
        "updated": time.time(), "note": r.status_note, "error": r.last_error,
        "spec": spec.to_json() if spec else None, "shards": shards, "reshard": reshard,
        "last_reshard": record.last_reshard, "failovers": record.failovers,
        "failover_count": record.failover_count,
        "handled_requests": record.handled_requests, "events": record.events[-20:]}
