"""A whole topology as the text CLUSTER SETTOPOLOGY takes: CLUSTER NODES lines.

Each line reads ``<id> <ip>:<port>@<bus port> <flags> <master id or -> <ping sent>
<pong received> <config epoch> <link state> <slot ranges...>``. A table is pushed to every
node as is: each node finds its own row by id and ignores ``myself``, so the planner
writes none. MIGRATING and IMPORTING marks go on the row of the node they concern, as
``[slot->-target id]`` and ``[slot-<-source id]``; timings are 0 and links ``connected``,
since the control plane, not the table, decides who is up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .slots import SlotRange, slot_ranges

NODE_ID = re.compile(r"[0-9a-f]{40}")


class Role(StrEnum):
    MASTER = "master"
    REPLICA = "slave"


@dataclass(frozen=True)
class TopologyNode:
    """One node of the table; ``bus_port`` 0 means port + 10000, as Redis announces it."""

    id: str
    ip: str
    port: int
    role: Role
    master_id: str | None = None
    config_epoch: int = 0
    slots: tuple[SlotRange, ...] = ()
    bus_port: int = 0
    migrating: tuple[tuple[int, str], ...] = ()
    importing: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        for node_id in (self.id, self.master_id or self.id,
                        *(peer for _, peer in self.migrating + self.importing)):
            if not NODE_ID.fullmatch(node_id):
                raise ValueError(f"'{node_id}' is not a node id (40 hex digits)")
        if (self.role is Role.REPLICA) != (self.master_id is not None):
            raise ValueError(f"node {self.id}: a replica, and only a replica, has a master")
        if self.role is Role.REPLICA and (self.slots or self.migrating or self.importing):
            raise ValueError(f"replica {self.id} cannot own or migrate slots")
        if not 0 < self.port <= 65535 or not 0 < self.announced_bus_port <= 65535:
            raise ValueError(f"node {self.id}: port {self.port} or bus port "
                             f"{self.announced_bus_port} is not within 1-65535")

    @property
    def announced_bus_port(self) -> int:
        """As the node announces itself: port + 10000, or the port when that is too high."""
        if self.bus_port:
            return self.bus_port
        return self.port + 10000 if self.port + 10000 <= 65535 else self.port

    def line(self) -> str:
        """The node's CLUSTER NODES line, without the newline."""
        parts = [self.id, f"{self.ip}:{self.port}@{self.announced_bus_port}", str(self.role),
                 self.master_id or "-", "0", "0", str(self.config_epoch), "connected"]
        parts.extend(str(piece) for piece in slot_ranges(
            slot for slots in self.slots for slot in slots.slots()))
        parts.extend(f"[{slot}->-{target}]" for slot, target in sorted(self.migrating))
        parts.extend(f"[{slot}-<-{source}]" for slot, source in sorted(self.importing))
        return " ".join(parts)


def render_topology(nodes: Iterable[TopologyNode]) -> str:
    """The table for ``CLUSTER SETTOPOLOGY <epoch> <table>``, one line per node.

    Refuses a table every node would refuse: a node listed twice, a slot owned twice, or a
    replica of a node that is not a master of the table.
    """
    table = list(nodes)
    masters = {node.id for node in table if node.role is Role.MASTER}
    ids: set[str] = set()
    owner: dict[int, str] = {}
    for node in table:
        if node.id in ids:
            raise ValueError(f"node {node.id} is listed twice")
        ids.add(node.id)
        if node.master_id is not None and node.master_id not in masters:
            raise ValueError(f"replica {node.id} follows {node.master_id}, not a master here")
        for slot in {slot for slots in node.slots for slot in slots.slots()}:
            if slot in owner:
                raise ValueError(f"slot {slot} is owned by both {owner[slot]} and {node.id}")
            owner[slot] = node.id
    return "".join(node.line() + "\n" for node in table)
