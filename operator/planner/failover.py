"""Which replica takes over a failed master.

The figures come from the last INFO replication the control plane saw: a replica's own
offset, and the master's ``slaveN:...,in_sync=1`` flag, which says the replica had
acknowledged every write the master acknowledged to a client (zero-loss mode).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplicaState:
    """A replica of the failed master as last observed.

    ``link_up`` says the control plane can reach the replica now (a replica it cannot
    reach cannot be promoted); ``priority`` is its ``replica-priority``: lower wins, and 0
    means never promote, as in Redis.
    """

    node_id: str
    link_up: bool
    offset: int
    in_sync: bool
    priority: int = 100


def failover_candidate(replicas: Iterable[ReplicaState],
                       zero_loss: bool) -> ReplicaState | None:
    """The replica to promote, or None when none may be.

    Only reachable replicas with a non-zero priority qualify, and in zero-loss mode only
    in-sync ones: promoting any other could drop acknowledged writes, so waiting for the
    master is better. Among those, the highest offset has the most data; ties go to the
    lowest priority, then to the smallest node id, so every observer picks the same one.
    """
    eligible = [r for r in replicas
                if r.link_up and r.priority > 0 and (r.in_sync or not zero_loss)]
    return min(eligible, key=lambda r: (-r.offset, r.priority, r.node_id), default=None)
