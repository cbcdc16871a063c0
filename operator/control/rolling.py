"""Rolling restarts: nodes whose pod template changed (a new image, new settings) are
restarted one at a time, replicas first; a master only after its slots were handed to an
up-to-date replica with a manual failover, so writes are refused for no longer than one
failover. Nothing restarts while a reshard runs or while any node is down, held or behind:
a restart never takes a shard's last healthy copy.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..model.record import Spec
from ..planner import in_sync

if TYPE_CHECKING:
    from .reconciler import Reconciler

SETTLE_SECONDS = 2.0  # after a restart, the cluster must look healthy this long again


class Rolling:
    def __init__(self, reconciler: Reconciler) -> None:
        self.r = reconciler
        self.healthy_since: float | None = None

    def healthy(self) -> bool:
        record = self.r.record
        for shard in record.shards:
            master = self.r.views.get(shard.master)
            if master is None or not master.reachable or master.held or not master.is_master:
                return False
            for name in shard.replicas:
                view = self.r.views.get(name)
                if (view is None or not view.reachable or view.held
                        or not in_sync(view.link_up, master.offset, view.offset)):
                    return False
        return self.r.agreed()

    async def run(self, spec: Spec) -> bool:
        """Restart (or fail over) at most one node; True when it acted."""
        outdated_of = getattr(self.r.fleet, "outdated", None)
        outdated: set[str] = outdated_of() if outdated_of else set()
        record = self.r.record
        if not outdated or record.reshard is not None or not record.formed:
            self.healthy_since = None
            return False
        now = time.monotonic()
        if not self.healthy():
            self.healthy_since = None
            self.r.status_note = f"rolling restart: {len(outdated)} node(s) to go, waiting " \
                                 "for every node to be up and in sync"
            return False
        if self.healthy_since is None:
            self.healthy_since = now
        if now - self.healthy_since < SETTLE_SECONDS:
            return False
        self.r.status_note = f"rolling restart: {len(outdated)} node(s) to go"
        for shard in record.shards:
            for name in shard.replicas:
                if name in outdated:
                    return await self.restart(name, "replica")
        for shard in record.shards:
            if shard.master not in outdated:
                continue
            current = [name for name in shard.replicas if name not in outdated]
            if current:
                return await self.r.healing.switch_over(
                    spec, shard, "failover for a rolling restart", avoid=frozenset(outdated))
            if not shard.replicas:
                self.r.event(f"{shard.name} has no replica: its slots are unavailable "
                             "while its master restarts")
            return await self.restart(shard.master, "master")
        return False

    async def restart(self, name: str, role: str) -> bool:
        self.r.event(f"rolling restart: restarting {role} {name} with the new pod template")
        await self.r.fleet.restart(name)
        self.healthy_since = None
        return True
