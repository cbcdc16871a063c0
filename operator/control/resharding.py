"""Scaling the slots: plan a reshard, run it a time-boxed piece per pass, retire drained shards.

The plan (planner.plan_moves: the fewest slots moved, spread evenly over the receivers)
is stored in the record before the first slot moves, with a cursor advanced after every
group of slots; a restarted control plane re-runs at most the group it was in, and each
slot move is idempotent (actions/reshard.py). Between two pieces the reconciler observes
and heals, so a failover is never held up by a long reshard.
"""

from __future__ import annotations

import copy
import time

from ..actions.connection import NodeError
from ..actions.reshard import Endpoint, MoveFailed, move_slots
from ..model.context import Context
from ..model.record import Reshard
from ..planner import PlanError, plan_moves

PIECE_SECONDS = 1.0
SLOTS_AT_ONCE = 128


class Resharding:
    """Keeps, across passes, why the last attempt to plan or move failed (shown in the
    status until a piece succeeds)."""

    def __init__(self) -> None:
        self.error = ""
        # The slot layout last found to need no move: planning walks all 16384 slots, and
        # an idle control plane would otherwise do it on every pass.
        self.balanced: list[tuple[str, bool, list[list[int]]]] | None = None
        # The last piece stopped only because its time was up: the next pass may follow
        # at once (a reshard waiting on a node or failing keeps the usual pace).
        self.unfinished = False


    async def run(self, ctx: Context) -> None:
        record = ctx.record
        if record.reshard is None:
            self.plan(ctx)
        if record.reshard is not None:
            await self.piece(ctx)
        if record.reshard is None:
            retire_drained(ctx)

    def plan(self, ctx: Context) -> None:
        record = ctx.record
        active = [s.name for s in record.shards if not s.retiring]
        if not all(ready(ctx, s.master) for s in record.shards):
            return  # new masters are confirmed first; a down master waits for its failover
        layout = [(s.name, s.retiring, s.slots) for s in record.shards]
        if layout == self.balanced:
            return
        try:
            moves = plan_moves(record.owners(), active)
        except PlanError as exc:
            self.error = str(exc)
            return
        if not moves:
            self.balanced = copy.deepcopy(layout)
        else:
            reason = f"balance {len(active)} shard(s)"
            record.reshard = Reshard.of(moves, reason)
            ctx.event(f"reshard planned: {record.reshard.slots_total} slots in "
                      f"{len(moves)} move(s) ({reason})")

    async def piece(self, ctx: Context) -> None:
        record = ctx.record
        reshard = record.reshard
        assert reshard is not None
        started = time.monotonic()
        while (move := reshard.current()) is not None:
            source, target = record.shard(move.source), record.shard(move.target)
            if source is None or target is None:
                reshard.move += 1
                continue
            if not (ready(ctx, source.master) and ready(ctx, target.master)):
                return
            first = max(reshard.next_slot, move.slots.start)
            slots = list(range(first, min(first + SLOTS_AT_ONCE, move.slots.end + 1)))
            src = Endpoint(record.nodes[source.master].id, record.address(source.master))
            dst = Endpoint(record.nodes[target.master].id, record.address(target.master))
            others = [Endpoint(record.nodes[s.master].id, record.address(s.master))
                      for s in record.shards if s.master not in (source.master, target.master)
                      and record.nodes.get(s.master) and ctx.views[s.master].reachable]

            def count(n: int) -> None:
                reshard.keys_moved += n

            begun = time.monotonic()
            try:
                await move_slots(ctx.conns, ctx.slow, slots, src, dst, others, count)
            except (MoveFailed, *NodeError) as exc:
                self.error = f"slots {slots[0]}-{slots[-1]}: {exc}"
                reshard.seconds += time.monotonic() - begun
                ctx.save()
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
            ctx.save()
            if time.monotonic() - started > PIECE_SECONDS:
                self.unfinished = True
                return
        ctx.event(f"reshard done: {reshard.slots_done} slots, {reshard.keys_moved} keys "
                  f"in {reshard.seconds:.1f}s ({reshard.keys_per_second:.0f} keys/s)")
        record.last_reshard = {
            "slots": reshard.slots_done, "keys": reshard.keys_moved,
            "seconds": round(reshard.seconds, 2), "keys_per_second": round(reshard.keys_per_second)}
        record.reshard = None
        # One table push with a new epoch brings every node, replicas included, to the
        # same table at once, instead of waiting for their pushes to each other.
        record.pushed_shape = ""
        ctx.save()


def ready(ctx: Context, name: str) -> bool:
    view = ctx.views.get(name)
    node = ctx.record.nodes.get(name)
    return (view is not None and view.reachable and not view.held and node is not None
            and view.id == node.id and view.topology_epoch == ctx.record.epoch)


def retire_drained(ctx: Context) -> None:
    record = ctx.record
    for shard in [s for s in record.shards if s.retiring and not s.slots]:
        record.shards.remove(shard)
        record.retire_nodes(shard.members)
        ctx.event(f"{shard.name} drained and removed")
