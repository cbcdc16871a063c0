"""What a step of the control loop works with: one pass's view of the cluster and the few
things a step may do to it.

The steps (healing, resharding, rolling restarts) decide from the spec, the record and the
latest observation of every node; they change the record, report events, and talk to the
nodes over the connections. The loop that runs them owns everything else (the fleet, the
store, its own bookkeeping), and a step reaches none of it: what it wants of the loop it
returns. The loop's own operations a step needs (save, event, push) come as functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ..actions.connection import Connections
from ..actions.observe import NodeView
from .record import Record, Spec


@dataclass(frozen=True)
class Context:
    """``views`` are by node name, observed at the start of the pass; ``conns`` has short
    timeouts (commands a healthy node answers at once), ``slow`` long ones (MIGRATE
    batches); ``replaced`` names the nodes back with a new id until a push confirms them.
    ``event`` logs a line and keeps it in the record; ``push`` stores the record, then
    gives its table to every reachable node but the ones named; ``lease_expired(node,
    witness)`` says whether a node has surely stopped serving on the leases granted so far,
    by the control plane's clock and by the clock of ``witness`` (one of its replicas)."""

    spec: Spec
    record: Record
    views: Mapping[str, NodeView]
    conns: Connections
    slow: Connections
    replaced: AbstractSet[str]
    save: Callable[[], None]
    event: Callable[[str], None]
    push: Callable[[AbstractSet[str]], Awaitable[None]]
    # Whether a node's lease has surely run out (control/leases.py): before that, a master
    # that stopped answering may still be serving, and no replica may take its place.
    lease_expired: Callable[[str, str], bool] = lambda name, witness: True
