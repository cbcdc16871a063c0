"""Which replica takes over a failed master.

The figures come from what the control plane last observed of each replica: whether it
answers now, and its replication offset (bytes of the master's stream it has applied).
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
    priority: int = 100


def failover_candidate(replicas: Iterable[ReplicaState],
                       acks_required: int = 0) -> ReplicaState | None:
    """The replica to promote, or None when none may be.

    Only reachable replicas with a non-zero priority qualify. Among those, the highest
    offset has the most data; ties go to the lowest priority, then to the smallest node
    id, so every observer picks the same one.

    In zero-loss mode (``acks_required`` N > 0) the master acknowledged a write only once
    N replicas had it. If fewer than N replicas are out of reach, at least one reachable
    replica holds every acknowledged write, and so does the reachable one with the highest
    offset: only a replica at that offset may be promoted. With N or more out of reach an
    acknowledged write may exist only on those, and waiting is better than losing it.
    """
    known = list(replicas)
    reachable = [r for r in known if r.link_up]
    if acks_required and len(known) - len(reachable) >= acks_required:
        return None
    eligible = [r for r in reachable if r.priority > 0]
    if acks_required and reachable:
        top = max(r.offset for r in reachable)
        eligible = [r for r in eligible if r.offset == top]
    return min(eligible, key=lambda r: (-r.offset, r.priority, r.node_id), default=None)
