"""Failovers: automatic (Sentinel-style) and manual, decided from what the nodes report.

A master that does not answer is subjectively down once ``down-after-ms`` has passed
without an answer, and objectively down when its replicas agree: each one reports its
link down, or no byte from the master for as long (masters ping their replicas every
second). Then the best replica is promoted (planner.failover_candidate: the most data,
and in zero-loss mode only one that surely holds every acknowledged write), its shard
gets a config epoch above every epoch seen, and the new table goes out. The old master
stays in the table as a replica of the new one: when it returns it is told so, and its
stale epoch cannot take the slots back.

A master that comes back held (restarted: crash, reschedule, supervisor) is not trusted
with its slots: unless its data is provably the newest (same replication history and an
offset at least every replica's, as after a clean restart), its best replica takes over
and the restarted node resyncs from it. This is what keeps a master restarted empty from
wiping its replicas.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..actions.connection import NodeError
from ..actions.handover import HandoverAborted, hand_over
from ..actions.observe import NodeView
from ..model.record import ShardRecord, Spec
from ..planner import ReplicaState, failover_candidate

if TYPE_CHECKING:
    from .reconciler import Reconciler


class Healing:
    def __init__(self, reconciler: Reconciler) -> None:
        self.r = reconciler
        self.down_since: dict[str, float] = {}  # node name -> first failed observation
        self.held_since: dict[str, float] = {}
        self.awaiting: set[str] = set()  # held masters not to confirm yet

    async def run(self, spec: Spec) -> bool:
        """Fail over every shard that needs it; True when a failover happened."""
        self.awaiting = set()
        acted = False
        for shard in list(self.r.record.shards):
            view = self.r.views.get(shard.master)
            if view is None:
                continue
            if view.reachable:
                self.down_since.pop(shard.master, None)
            else:
                self.down_since.setdefault(shard.master, view.at)
            if not view.held:
                self.held_since.pop(shard.master, None)
            if view.reachable and self.restarted(shard.master, view):
                acted |= await self.restarted_master(spec, shard, view)
            elif not view.reachable:
                acted |= await self.unreachable_master(spec, shard, view)
        if acted:
            await self.r.push(exclude=self.awaiting)
        return acted

    def restarted(self, name: str, view: NodeView) -> bool:
        """Held after having served (its nodes.conf has a confirmed epoch), or back with a
        new id; a node held since its first start has nothing to protect and is confirmed."""
        return view.held and (view.topology_epoch > 0 or name in self.r.replaced)

    def replica_states(self, shard: ShardRecord) -> list[ReplicaState]:
        states = []
        for name in shard.replicas:
            view = self.r.views.get(name)
            node = self.r.record.nodes.get(name)
            if view is None or node is None or not node.id:
                continue
            fresh = view.held and not self.restarted(name, view)  # never had data
            states.append(ReplicaState(name, view.reachable and not fresh, view.offset))
        return states

    async def restarted_master(self, spec: Spec, shard: ShardRecord, view: NodeView) -> bool:
        since = self.held_since.setdefault(shard.master, time.monotonic())
        replicas = [self.r.views[name] for name in shard.replicas if name in self.r.views]
        reachable = [v for v in replicas if v.reachable and not (v.held and v.topology_epoch == 0)]
        if not replicas:
            return False  # nothing to compare with: confirmed with the data it has
        if reachable and all(v.replid == view.replid and v.offset <= view.offset
                             for v in reachable) and view.offset > 0:
            return False  # a clean restart: its data is the newest there is
        best = failover_candidate(self.replica_states(shard), spec.acks_required)
        if best is not None:
            self.promote(shard, best.node_id, "master restarted")
            return True
        if time.monotonic() - since < spec.down_after_ms / 1000:
            self.awaiting.add(shard.master)  # its replicas may yet come back
        elif spec.acks_required:
            self.awaiting.add(shard.master)  # zero-loss: never confirm what may be behind
        else:
            self.r.event(f"{shard.name}: master {shard.master} restarted and no replica is "
                         "reachable; it keeps its slots with the data it has")
        return False

    async def unreachable_master(self, spec: Spec, shard: ShardRecord, view: NodeView) -> bool:
        down_for = time.monotonic() - self.down_since[shard.master]
        if down_for * 1000 < spec.down_after_ms:
            return False
        replicas = [self.r.views[name] for name in shard.replicas
                    if name in self.r.views and self.r.views[name].reachable]
        limit = spec.down_after_ms / 1000
        if not replicas or not all(not v.link_up or v.last_io_seconds >= limit
                                   for v in replicas):
            return False  # not objectively down: a replica still hears from the master
        best = failover_candidate(self.replica_states(shard), spec.acks_required)
        if best is None:
            return False
        self.promote(shard, best.node_id, f"master unreachable for {down_for * 1000:.0f} ms")
        return True

    def promote(self, shard: ShardRecord, replica: str, reason: str) -> None:
        old = shard.master
        shard.replicas = [name for name in shard.replicas if name != replica] + [old]
        shard.master = replica
        shard.config_epoch = self.r.next_epoch()
        self.r.record.failovers = [*self.r.record.failovers[-19:], {
            "shard": shard.name, "from": old, "to": replica, "reason": reason,
            "at": time.time(), "epoch": shard.config_epoch}]
        self.r.record.failover_count += 1
        self.down_since.pop(old, None)
        self.held_since.pop(old, None)
        self.r.event(f"{shard.name}: failover from {old} to {replica} ({reason})")

    async def manual(self, spec: Spec) -> bool:
        """Failovers asked for by ``redslot failover`` (or the RedisCluster's spec)."""
        record = self.r.record
        for request, shard_name in spec.failover_requests.items():
            if request in record.handled_requests:
                continue
            record.handled_requests = [*record.handled_requests[-99:], request]
            shard = record.shard(shard_name)
            if shard is None:
                self.r.event(f"failover of {shard_name} refused: no such shard")
                continue
            if await self.switch_over(spec, shard, "manual failover"):
                return True
        return False

    async def switch_over(self, spec: Spec, shard: ShardRecord, reason: str,
                          avoid: frozenset[str] = frozenset()) -> bool:
        """Hand a healthy master's slots to its best replica (not one in ``avoid``) with
        writes paused until the replica has every one of them: no write is lost."""
        states = [state for state in self.replica_states(shard) if state.node_id not in avoid]
        best = failover_candidate(states, spec.acks_required)
        if best is None:
            self.r.event(f"{reason} of {shard.name} refused: no reachable replica")
            return False
        started = time.monotonic()

        async def switch(replica: str = best.node_id) -> None:
            self.promote(shard, replica, reason)
            await self.r.push(exclude=set())

        try:
            offset = await hand_over(self.r.conns, self.r.address(shard.master),
                                     self.r.address(best.node_id), switch)
        except (HandoverAborted, *NodeError) as exc:
            self.r.event(f"{reason} of {shard.name} abandoned: {exc}")
            return False
        self.r.record.failovers[-1]["seconds"] = round(time.monotonic() - started, 3)
        self.r.event(f"{shard.name}: {reason} done at offset {offset} in "
                     f"{time.monotonic() - started:.2f}s")
        return True
