"""Scaling the slots: plan a reshard, run it a time-boxed piece per pass, retire drained shards.

The plan (planner.plan_moves: the fewest slots moved, spread evenly over the receivers)
is stored in the record before the first slot moves, with a cursor advanced after every
group of slots; a restarted control plane re-runs at most the group it was in, and each
slot move is idempotent (actions/reshard.py). Between two pieces the reconciler observes
and heals, so a failover is never held up by a long reshard.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from ..actions.connection import NodeError
from ..actions.reshard import Endpoint, MoveFailed, move_slot
from ..model.record import Reshard, Spec
from ..planner import PlanError, plan_moves

if TYPE_CHECKING:
    from .reconciler import Reconciler

PIECE_SECONDS = 1.0
SLOTS_AT_ONCE = 32


class Resharding:
    def __init__(self, reconciler: Reconciler) -> None:
        self.r = reconciler
        self.error = ""

    async def run(self, spec: Spec) -> None:
        record = self.r.record
        if record.reshard is None:
            self.plan()
        if record.reshard is not None:
            await self.piece()
        if record.reshard is None:
            self.retire_drained()

    def ready(self, name: str) -> bool:
        view = self.r.views.get(name)
        node = self.r.record.nodes.get(name)
        return (view is not None and view.reachable and not view.held and node is not None
                and view.id == node.id and view.topology_epoch == self.r.record.epoch)

    def plan(self) -> None:
        record = self.r.record
        active = [s.name for s in record.shards if not s.retiring]
        if not all(self.ready(s.master) for s in record.shards):
            return  # new masters are confirmed first; a down master waits for its failover
        try:
            moves = plan_moves(record.owners(), active)
        except PlanError as exc:
            self.error = str(exc)
            return
        if moves:
            reason = f"balance {len(active)} shard(s)"
            record.reshard = Reshard.of(moves, reason)
            self.r.event(f"reshard planned: {record.reshard.slots_total} slots in "
                         f"{len(moves)} move(s) ({reason})")

    async def piece(self) -> None:
        record = self.r.record
        reshard = record.reshard
        assert reshard is not None
        started = time.monotonic()
        while (move := reshard.current()) is not None:
            source, target = record.shard(move.source), record.shard(move.target)
            if source is None or target is None:
                reshard.move += 1
                continue
            if not (self.ready(source.master) and self.ready(target.master)):
                return
            first = max(reshard.next_slot, move.slots.start)
            slots = list(range(first, min(first + SLOTS_AT_ONCE, move.slots.end + 1)))
            src = Endpoint(record.nodes[source.master].id, self.r.address(source.master))
            dst = Endpoint(record.nodes[target.master].id, self.r.address(target.master))
            others = [Endpoint(record.nodes[s.master].id, self.r.address(s.master))
                      for s in record.shards if s.master not in (source.master, target.master)
                      and record.nodes.get(s.master) and self.r.views[s.master].reachable]

            def count(n: int) -> None:
                reshard.keys_moved += n

            begun = time.monotonic()
            try:
                await asyncio.gather(*(move_slot(self.r.conns, self.r.slow, slot, src, dst,
                                                 others, count) for slot in slots))
            except (MoveFailed, *NodeError) as exc:
                self.error = f"slots {slots[0]}-{slots[-1]}: {exc}"
                reshard.seconds += time.monotonic() - begun
                self.r.save()
                return
            self.error = ""
            reshard.seconds += time.monotonic() - begun
            moved = set(slots)
            source.set_slots(source.slot_set() - moved)
            target.set_slots(target.slot_set() | moved)
            reshard.slots_done += len(slots)
            reshard.next_slot = slots[-1] + 1
            if reshard.next_slot > move.slots.end:
                reshard.move += 1
                reshard.next_slot = -1
            self.r.save()
            if time.monotonic() - started > PIECE_SECONDS:
                return
        self.r.event(f"reshard done: {reshard.slots_done} slots, {reshard.keys_moved} keys "
                     f"in {reshard.seconds:.1f}s ({reshard.keys_per_second:.0f} keys/s)")
        record.last_reshard = {
            "slots": reshard.slots_done, "keys": reshard.keys_moved,
            "seconds": round(reshard.seconds, 2), "keys_per_second": round(reshard.keys_per_second)}
        record.reshard = None
        # One table push with a new epoch brings every node, replicas included, to the
        # same table at once, instead of waiting for their pushes to each other.
        record.pushed_shape = ""
        self.r.save()

    def retire_drained(self) -> None:
        record = self.r.record
        for shard in [s for s in record.shards if s.retiring and not s.slots]:
            record.shards.remove(shard)
            self.r.drop_nodes(shard.members)
            self.r.event(f"{shard.name} drained and removed")
