"""Scaling the slots: plan a reshard, run it a time-boxed piece per pass, retire drained shards.

The plan (planner.plan_moves: the fewest slots moved, spread evenly over the receivers)
is stored in the record before the first slot moves, with a cursor per move advanced after
every batch of slots. The moves of different (source, target) pairs run at once, a task
each; a restarted control plane re-runs at most the batch each pair was in, and each slot
move is idempotent (actions/reshard.py). Between two pieces the reconciler observes
and heals, so a failover is never held up by a long reshard.
"""

from __future__ import annotations

import asyncio
import copy
import time

from ..actions.connection import NodeError
from ..actions.reshard import Endpoint, Lookahead, MoveFailed, move_slots
from ..model.context import Context
from ..model.record import Reshard, ShardRecord
from ..planner import PlanError, plan_moves

PIECE_SECONDS = 1.0
SLOTS_AT_ONCE = 128
# (source, target) pairs moving at once: each a task of its own, over its own connections.
PAIRS_AT_ONCE = 8


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
        """Every (source, target) pair's next slots at once (at most ``PAIRS_AT_ONCE``
        pairs), each pair a batch after another until ``PIECE_SECONDS`` are up: a source
        waits on its target's RESTOREs, and meanwhile the other sources' keys move."""
        record = ctx.record
        reshard = record.reshard
        assert reshard is not None
        pairs: list[tuple[ShardRecord, ShardRecord]] = []
        for index, move in reshard.pending():
            source, target = record.shard(move.source), record.shard(move.target)
            if source is None or target is None:
                reshard.advance(index, move.slots.end)  # a shard gone: nothing to hand over
                ctx.save()
            elif ready(ctx, source.master) and ready(ctx, target.master):
                pairs.append((source, target))
            # else a down master waits for its failover; the other pairs go on
        if pairs:
            began = time.monotonic()
            # A task group: a pair that fails unexpectedly stops the others (each slot move
            # can run again) rather than leaving them moving slots after the pass is over.
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.pair(ctx, source, target, began + PIECE_SECONDS))
                         for source, target in pairs[:PAIRS_AT_ONCE]]
            reshard.seconds += time.monotonic() - began
            errors = [error for task in tasks if (error := task.result())]
            self.error = "; ".join(errors)
            self.unfinished = not errors
            ctx.save()
        if reshard.pending():
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

    async def pair(self, ctx: Context, source: ShardRecord, target: ShardRecord,
                   deadline: float) -> str:
        """One pair's moves, a batch of ``SLOTS_AT_ONCE`` slots after another, each saved
        in the record once handed over, until ``deadline``; why it stopped early, if so."""
        record = ctx.record
        reshard = record.reshard
        assert reshard is not None
        src = Endpoint(record.nodes[source.master].id, record.address(source.master))
        dst = Endpoint(record.nodes[target.master].id, record.address(target.master))
        others = [Endpoint(record.nodes[s.master].id, record.address(s.master))
                  for s in record.shards if s.master not in (source.master, target.master)
                  and record.nodes.get(s.master) and ctx.views[s.master].reachable]

        def count(n: int) -> None:
            reshard.keys_moved += n

        prepared: Lookahead | None = None
        while (found := next((found for found in reshard.pending() if found[1].source
                              == source.name and found[1].target == target.name), None)):
            index, move = found
            first = move.slots.start
            slots = list(range(first, min(first + SLOTS_AT_ONCE, move.slots.end + 1)))
            # The next batch of the move is marked ahead while the piece has time left; a
            # batch marked ahead runs even past the deadline, so no marks outlive the piece.
            last = time.monotonic() > deadline
            after = list(range(slots[-1] + 1, min(slots[-1] + 1 + SLOTS_AT_ONCE,
                                                  move.slots.end + 1)))
            ahead = Lookahead(after) if after and not last else None
            try:
                await move_slots(ctx.conns, ctx.slow, slots, src, dst, others, count,
                                 prepared, ahead)
            except (MoveFailed, *NodeError) as exc:
                return f"slots {slots[0]}-{slots[-1]}: {exc}"
            moved = set(slots)
            source.set_slots(source.slot_set() - moved)
            target.set_slots(target.slot_set() | moved)
            reshard.slots_done += len(slots)
            reshard.advance(index, slots[-1])
            ctx.save()
            prepared = ahead if ahead is not None and ahead.marked is not None else None
            if last or (prepared is None and time.monotonic() > deadline):
                break
        return ""


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
