"""The planner: pure functions from an observed cluster to what it should become.

No I/O here (an import-linter contract forbids it): the reconciler observes the nodes,
asks the planner, stores the plan, and the actions carry it out over RESP. The bottom
layer: it imports only the standard library, nothing else of redslot.
"""

from .failover import ReplicaState, failover_candidate
from .replicas import Host, ShardReplicas, place_replicas
from .replication import in_sync
from .slots import (
    SLOTS,
    PlanError,
    SlotMove,
    SlotRange,
    apply_moves,
    initial_ranges,
    owned_slots,
    plan_moves,
    slot_ranges,
    target_shares,
)
from .topology import Role, TopologyNode, render_topology

__all__ = [
    "SLOTS", "Host", "PlanError", "ReplicaState", "Role", "ShardReplicas", "SlotMove",
    "SlotRange", "TopologyNode", "apply_moves", "failover_candidate", "in_sync",
    "initial_ranges", "owned_slots", "place_replicas", "plan_moves", "render_topology",
    "slot_ranges", "target_shares",
]
