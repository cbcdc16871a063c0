"""Failovers: automatic (Sentinel-style) and manual, decided from what the nodes report.

A master that does not answer for ``down-after-ms`` is replaced once its lease has surely
run out (leases.py), by the control plane's clock and by the clock of the replica to be
promoted: from then on it serves nothing, whatever its replicas still hear from it, so
promoting is both safe (no two masters serve a slot) and the only way the shard serves
again. (A clock here that jumps forward makes the master look silent for as long as the
jump, as its observation in flight times out at once; the replica's clock did not jump.)
Then the best replica is promoted (planner.failover_candidate: the most data, and in
zero-loss mode only one that surely holds every acknowledged write), its shard
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
from dataclasses import dataclass

from ..actions.connection import NodeError
from ..actions.handover import HandoverAborted, hand_over
from ..actions.observe import NodeView
from ..model.context import Context
from ..model.record import ShardRecord
from ..model.table import next_epoch
from ..planner import ReplicaState, failover_candidate


@dataclass(frozen=True)
class Healed:
    """What one healing pass decided: whether a master was replaced (the new table goes out
    and the pass ends), and the restarted masters the push must leave held for now."""

    failed_over: bool
    awaiting: frozenset[str]


class Healing:
    """Remembers, across passes, since when each master has been down or held."""

    def __init__(self) -> None:
        # node name -> when it stopped answering: between its last answer and the first
        # observation it failed, the midpoint (the expected moment, whatever the interval
        # between passes; an idle control plane observes less often).
        self.down_since: dict[str, float] = {}
        self.answered: dict[str, float] = {}  # node name -> its last answered observation
        self.held_since: dict[str, float] = {}

    def quiet(self) -> bool:
        """No master down or held that passes must follow closely."""
        return not self.down_since and not self.held_since

    def run(self, ctx: Context) -> Healed:
        """Fail over every shard that needs it."""
        awaiting: set[str] = set()
        acted = False
        for name, seen in ctx.views.items():
            if seen.reachable:
                self.answered[name] = seen.at
        for shard in list(ctx.record.shards):
            view = ctx.views.get(shard.master)
            if view is None:
                continue
            if view.reachable:
                self.down_since.pop(shard.master, None)
            elif shard.master not in self.down_since:
                last = self.answered.get(shard.master, view.at)
                self.down_since[shard.master] = last + (view.at - last) / 2
            if not view.held:
                self.held_since.pop(shard.master, None)
            if view.reachable and restarted(ctx, shard.master, view):
                acted |= self.restarted_master(ctx, shard, view, awaiting)
            elif not view.reachable:
                acted |= self.unreachable_master(ctx, shard, view)
        return Healed(acted, frozenset(awaiting))

    def restarted_master(self, ctx: Context, shard: ShardRecord, view: NodeView,
                         awaiting: set[str]) -> bool:
        """True when its best replica took over; a master to leave held joins ``awaiting``."""
        spec = ctx.spec
        since = self.held_since.setdefault(shard.master, time.monotonic())
        replicas = [ctx.views[name] for name in shard.replicas if name in ctx.views]
        reachable = [v for v in replicas if v.reachable and not (v.held and v.topology_epoch == 0)]
        if not replicas:
            return False  # nothing to compare with: confirmed with the data it has
        # A master restarted from its snapshot writes on under a new id, its old one kept
        # as replid2 (loadDataFromDisk): replicas still on that one continue its history.
        history = (view.replid, view.replid2)
        if reachable and all(v.replid in history and v.offset <= view.offset
                             for v in reachable) and view.offset > 0:
            return False  # a clean restart: its data is the newest there is
        best = failover_candidate(replica_states(ctx, shard), spec.acks_required)
        if best is not None:
            self.promote(ctx, shard, best.node_id, "master restarted")
            return True
        if time.monotonic() - since < spec.down_after_ms / 1000:
            awaiting.add(shard.master)  # its replicas may yet come back
        elif spec.acks_required:
            awaiting.add(shard.master)  # zero-loss: never confirm what may be behind
        else:
            ctx.event(f"{shard.name}: master {shard.master} restarted and no replica is "
                      "reachable; it keeps its slots with the data it has")
        return False

    def unreachable_master(self, ctx: Context, shard: ShardRecord, view: NodeView) -> bool:
        spec = ctx.spec
        down_for = time.monotonic() - self.down_since[shard.master]
        if down_for * 1000 < spec.down_after_ms:
            return False
        best = failover_candidate(replica_states(ctx, shard), spec.acks_required)
        if best is None:
            return False
        if not ctx.lease_expired(shard.master, best.node_id):
            return False  # it may still be serving: promoting now would make two masters
        self.promote(ctx, shard, best.node_id,
                     f"master unreachable for {down_for * 1000:.0f} ms")
        return True

    def promote(self, ctx: Context, shard: ShardRecord, replica: str, reason: str) -> None:
        record = ctx.record
        old = shard.master
        shard.replicas = [name for name in shard.replicas if name != replica] + [old]
        shard.master = replica
        shard.config_epoch = next_epoch(record, ctx.views)
        record.failovers = [*record.failovers[-19:], {
            "shard": shard.name, "from": old, "to": replica, "reason": reason,
            "at": time.time(), "epoch": shard.config_epoch}]
        record.failover_count += 1
        self.down_since.pop(old, None)
        self.held_since.pop(old, None)
        ctx.event(f"{shard.name}: failover from {old} to {replica} ({reason})")

    async def manual(self, ctx: Context) -> bool:
        """Failovers asked for by ``redslot failover`` (or the RedisCluster's spec); True
        when one was done."""
        record = ctx.record
        for request, shard_name in ctx.spec.failover_requests.items():
            if request in record.handled_requests:
                continue
            record.handled_requests = [*record.handled_requests[-99:], request]
            shard = record.shard(shard_name)
            if shard is None:
                ctx.event(f"failover of {shard_name} refused: no such shard")
                continue
            if await self.switch_over(ctx, shard, "manual failover"):
                return True
        return False

    async def switch_over(self, ctx: Context, shard: ShardRecord, reason: str,
                          avoid: frozenset[str] = frozenset()) -> bool:
        """Hand a healthy master's slots to its best replica (not one in ``avoid``) with
        writes paused until the replica has every one of them: no write is lost."""
        states = [state for state in replica_states(ctx, shard) if state.node_id not in avoid]
        best = failover_candidate(states, ctx.spec.acks_required)
        if best is None:
            ctx.event(f"{reason} of {shard.name} refused: no reachable replica")
            return False
        started = time.monotonic()

        async def switch(replica: str = best.node_id) -> None:
            self.promote(ctx, shard, replica, reason)
            await ctx.push(set())

        try:
            offset = await hand_over(ctx.conns, ctx.record.address(shard.master),
                                     ctx.record.address(best.node_id), switch)
        except (HandoverAborted, *NodeError) as exc:
            ctx.event(f"{reason} of {shard.name} abandoned: {exc}")
            return False
        ctx.record.failovers[-1]["seconds"] = round(time.monotonic() - started, 3)
        ctx.event(f"{shard.name}: {reason} done at offset {offset} in "
                  f"{time.monotonic() - started:.2f}s")
        return True


def restarted(ctx: Context, name: str, view: NodeView) -> bool:
    """Held after having served (its nodes.conf has a confirmed epoch), or back with a
    new id; a node held since its first start has nothing to protect and is confirmed."""
    return view.held and (view.topology_epoch > 0 or name in ctx.replaced)


def replica_states(ctx: Context, shard: ShardRecord) -> list[ReplicaState]:
    states = []
    for name in shard.replicas:
        view = ctx.views.get(name)
        node = ctx.record.nodes.get(name)
        if view is None or node is None or not node.id:
            continue
        fresh = view.held and not restarted(ctx, name, view)  # never had data
        states.append(ReplicaState(name, view.reachable and not fresh, view.offset))
    return states
