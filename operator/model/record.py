"""What the control plane wants and what it has done, as plain data it can store.

Two documents, as in Kubernetes: the ``Spec`` (what the user asked for: shards, replicas,
durability) and the ``Record`` (the control plane's status: the shards, their members and
slots, the topology epoch, the reshard plan and its progress, the failovers). The record
is saved after every step (a state file locally, the CR status in Kubernetes), so a
control plane started again resumes from the last step it finished.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..planner import SlotMove, SlotRange, slot_ranges

DURABILITY_MODES = ("async", "zero-loss")
MIN_LEASE_MS = 1000


@dataclass
class Spec:
    shards: int
    replicas: int
    durability: str = "async"
    down_after_ms: int = 3000
    # Manual failovers asked for, by request id -> shard name; done ones are in the record.
    failover_requests: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= 16384:
            raise ValueError(f"shards must be within 1-16384, not {self.shards}")
        if not 0 <= self.replicas <= 16:
            raise ValueError(f"replicas must be within 0-16, not {self.replicas}")
        if self.durability not in DURABILITY_MODES:
            raise ValueError(f"durability must be one of {', '.join(DURABILITY_MODES)}")
        if self.down_after_ms < 100:
            raise ValueError("down-after-ms must be at least 100")

    @property
    def lease_ms(self) -> int:
        """How long a renewal keeps a node serving (fencing): down-after-ms, so that a cut-off
        master stops serving about when it would be declared down; at least a second, so
        that a control plane busy for a moment does not fence a healthy cluster."""
        return max(self.down_after_ms, MIN_LEASE_MS)

    @property
    def acks_required(self) -> int:
        """min-replicas-ack for zero-loss mode: one replica must hold every write."""
        return 1 if self.durability == "zero-loss" and self.replicas else 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Spec:
        return cls(**data)


@dataclass
class NodeRecord:
    """A node the control plane runs: a stable name (pod name, or shard and index
    locally), where it listens and the node id it announced."""

    name: str
    address: str
    id: str = ""


@dataclass
class ShardRecord:
    name: str
    master: str  # node name
    replicas: list[str] = field(default_factory=list)
    slots: list[list[int]] = field(default_factory=list)  # [start, end] ranges
    config_epoch: int = 0
    retiring: bool = False  # being drained: its slots move away, then its nodes stop

    def slot_set(self) -> set[int]:
        return {slot for start, end in self.slots for slot in range(start, end + 1)}

    def set_slots(self, slots: set[int]) -> None:
        self.slots = [[r.start, r.end] for r in slot_ranges(slots)]

    def ranges(self) -> list[SlotRange]:
        """The ranges as stored: ``set_slots`` keeps them the fewest, in slot order (every
        pass renders them: cheaper than going through the set of 16384 slots)."""
        return [SlotRange(start, end) for start, end in self.slots]

    def slot_count(self) -> int:
        return sum(end - start + 1 for start, end in self.slots)

    @property
    def members(self) -> list[str]:
        return [self.master, *self.replicas]


@dataclass
class Reshard:
    """A plan of slot moves and how far it got: the slots of move ``i`` below
    ``cursors[i]`` are handed over (``end + 1`` once the move is done). The moves of
    different (source, target) pairs run at once; a pair's own moves go in plan order."""

    moves: list[list[Any]]  # [start, end, source shard, target shard]
    cursors: list[int] = field(default_factory=list)
    slots_total: int = 0
    slots_done: int = 0
    keys_moved: int = 0
    seconds: float = 0.0  # time spent moving, over all runs of the control plane
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.cursors:
            self.cursors = [start for start, *_ in self.moves]

    @classmethod
    def of(cls, moves: list[SlotMove], reason: str) -> Reshard:
        return cls([[m.slots.start, m.slots.end, m.source, m.target] for m in moves],
                   slots_total=sum(len(m.slots) for m in moves), reason=reason)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reshard:
        """Also reads the record of a control plane that moved one move at a time (its
        cursor: ``move``, the move under way, and ``next_slot`` in it, -1 at its start)."""
        data = dict(data)
        move, next_slot = data.pop("move", None), data.pop("next_slot", -1)
        if move is not None and not data.get("cursors"):
            data["cursors"] = [end + 1 if i < move else next_slot if i == move and next_slot >= 0
                               else start for i, (start, end, *_) in enumerate(data["moves"])]
        return cls(**data)

    def pending(self) -> list[tuple[int, SlotMove]]:
        """Each (source, target) pair's next move not done, from its cursor on, in plan
        order: the moves that may run at once."""
        found: dict[tuple[str, str], tuple[int, SlotMove]] = {}
        for index, (start, end, source, target) in enumerate(self.moves):
            first = max(start, self.cursors[index])
            if first <= end and (source, target) not in found:
                found[source, target] = (index, SlotMove(SlotRange(first, end), source, target))
        return list(found.values())

    def advance(self, index: int, past: int) -> None:
        """Move ``index`` has its slots up to ``past`` handed over."""
        self.cursors[index] = max(self.cursors[index], past + 1)

    @property
    def keys_per_second(self) -> float:
        return self.keys_moved / self.seconds if self.seconds else 0.0


@dataclass
class Record:
    epoch: int = 0  # of the last table pushed
    formed: bool = False
    pushed_shape: str = ""  # the last table pushed, without epochs (table.shape)
    shards: list[ShardRecord] = field(default_factory=list)
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    reshard: Reshard | None = None
    last_reshard: dict[str, Any] | None = None
    failovers: list[dict[str, Any]] = field(default_factory=list)  # the last 20
    failover_count: int = 0
    handled_requests: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # nodes dropped, to stop before a push
    events: list[str] = field(default_factory=list)

    def shard(self, name: str) -> ShardRecord | None:
        return next((s for s in self.shards if s.name == name), None)

    def shard_of(self, node_name: str) -> ShardRecord | None:
        return next((s for s in self.shards if node_name in s.members), None)

    def owners(self) -> dict[str, set[int]]:
        return {s.name: s.slot_set() for s in self.shards}

    def address(self, node_name: str) -> str:
        return self.nodes[node_name].address

    def retire_nodes(self, names: list[str]) -> None:
        """Drop the nodes from the record; the fleet stops them before the next push."""
        self.retired += names
        for name in names:
            self.nodes.pop(name, None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        record = cls(**{k: v for k, v in data.items()
                        if k not in ("shards", "nodes", "reshard")})
        record.shards = [ShardRecord(**s) for s in data.get("shards", [])]
        record.nodes = {k: NodeRecord(**v) for k, v in data.get("nodes", {}).items()}
        if data.get("reshard"):
            record.reshard = Reshard.from_json(data["reshard"])
        return record
