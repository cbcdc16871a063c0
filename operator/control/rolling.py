"""Rolling restarts: nodes whose pod template changed (a new image, new settings) are
restarted one at a time, replicas first; a master only after its slots were handed to an
up-to-date replica with a manual failover, so writes are refused for no longer than one
failover. Nothing restarts while a reshard runs or while any node is down, held or behind:
a restart never takes a shard's last healthy copy.
"""

from __future__ import annotations

import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ..model.context import Context
from ..model.record import ShardRecord
from ..model.table import agreed
from ..planner import in_sync

SETTLE_SECONDS = 2.0  # after a restart, the cluster must look healthy this long again
HAND_OVER_REASON = "failover for a rolling restart"


@dataclass(frozen=True)
class Roll:
    """What the rolling restart decided this pass: the status note (None leaves it as it
    was), and at most one thing to do: restart a node, or first hand a master's slots to a
    replica that runs the new template."""

    note: str | None = None
    restart: str | None = None
    hand_over: ShardRecord | None = None


class Rolling:
    """Remembers, across passes, since when the cluster has looked healthy."""

    def __init__(self) -> None:
        self.healthy_since: float | None = None

    def run(self, ctx: Context, outdated: AbstractSet[str]) -> Roll:
        """Decide on at most one of the ``outdated`` nodes."""
        record = ctx.record
        if not outdated or record.reshard is not None or not record.formed:
            self.healthy_since = None
            return Roll()
        now = time.monotonic()
        if not healthy(ctx):
            self.healthy_since = None
            return Roll(note=f"rolling restart: {len(outdated)} node(s) to go, waiting "
                             "for every node to be up and in sync")
        if self.healthy_since is None:
            self.healthy_since = now
        if now - self.healthy_since < SETTLE_SECONDS:
            return Roll()
        note = f"rolling restart: {len(outdated)} node(s) to go"
        for shard in record.shards:
            for name in shard.replicas:
                if name in outdated:
                    return self.restart(ctx, note, name, "replica")
        for shard in record.shards:
            if shard.master not in outdated:
                continue
            if any(name not in outdated for name in shard.replicas):
                return Roll(note=note, hand_over=shard)
            if not shard.replicas:
                ctx.event(f"{shard.name} has no replica: its slots are unavailable "
                          "while its master restarts")
            return self.restart(ctx, note, shard.master, "master")
        return Roll(note=note)

    def restart(self, ctx: Context, note: str, name: str, role: str) -> Roll:
        ctx.event(f"rolling restart: restarting {role} {name} with the new pod template")
        self.healthy_since = None
        return Roll(note=note, restart=name)


def healthy(ctx: Context) -> bool:
    for shard in ctx.record.shards:
        master = ctx.views.get(shard.master)
        if master is None or not master.reachable or master.held or not master.is_master:
            return False
        for name in shard.replicas:
            view = ctx.views.get(name)
            if (view is None or not view.reachable or view.held
                    or not in_sync(view.link_up, master.offset, view.offset)):
                return False
    return agreed(ctx.views)
