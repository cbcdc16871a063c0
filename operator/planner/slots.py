"""Slot ownership: the initial split and the moves that rebalance it.

Every function here is pure: the reconciler observes the owners, asks for a plan, stores
it, and executes it move by move. Because each slot moves at most once, straight from its
current owner to its final owner, the moves are independent of each other: any prefix of
the plan leaves a valid cluster, and a restarted operator can resume from any point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SLOTS = 16384


class PlanError(ValueError):
    """The input describes no valid cluster (a slot owned twice or by nobody, no shards)."""


@dataclass(frozen=True, order=True)
class SlotRange:
    """Slots ``start`` to ``end``, both included, as CLUSTER NODES writes them."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end < SLOTS:
            raise PlanError(f"slot range {self.start}-{self.end} is not within 0-{SLOTS - 1}")

    def __len__(self) -> int:
        return self.end - self.start + 1

    def slots(self) -> range:
        return range(self.start, self.end + 1)

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


@dataclass(frozen=True)
class SlotMove:
    """Hand the slots of ``slots`` from shard ``source`` to shard ``target``."""

    slots: SlotRange
    source: str
    target: str


def slot_ranges(slots: Iterable[int]) -> list[SlotRange]:
    """The fewest contiguous ranges covering ``slots``, in slot order."""
    ranges: list[SlotRange] = []
    start = end = -2
    for slot in sorted(set(slots)):
        if slot != end + 1:
            if start >= 0:
                ranges.append(SlotRange(start, end))
            start = slot
        end = slot
    if start >= 0:
        ranges.append(SlotRange(start, end))
    return ranges


def initial_ranges(count: int) -> list[SlotRange]:
    """The split ``redis-cli --cluster create`` makes for ``count`` masters.

    Each range ends at the rounded running total of 16384 / count slots, so sizes differ
    by at most one and 3 masters get 0-5460, 5461-10922, 10923-16383 as in Redis.
    """
    if not 1 <= count <= SLOTS:
        raise PlanError(f"cannot split {SLOTS} slots into {count} shards")
    per_shard = SLOTS / count
    ranges = []
    first = 0
    for index in range(count):
        last = SLOTS - 1 if index == count - 1 else int((index + 1) * per_shard - 0.5)
        ranges.append(SlotRange(first, last))
        first = last + 1
    return ranges


def owned_slots(owners: Mapping[str, Iterable[int | SlotRange]]) -> dict[str, frozenset[int]]:
    """Each shard's slots as a set; refuses a slot owned twice or a slot nobody owns."""
    result: dict[str, frozenset[int]] = {}
    seen: dict[int, str] = {}
    for shard, items in owners.items():
        slots: set[int] = set()
        for item in items:
            slots.update(item.slots() if isinstance(item, SlotRange) else (_slot(item),))
        for slot in slots:
            if slot in seen:
                raise PlanError(f"slot {slot} is owned by both {seen[slot]} and {shard}")
            seen[slot] = shard
        result[shard] = frozenset(slots)
    if len(seen) != SLOTS:
        missing = next(slot for slot in range(SLOTS) if slot not in seen)
        raise PlanError(f"slot {missing} has no owner ({SLOTS - len(seen)} slots unowned)")
    return result


def target_shares(owners: Mapping[str, Iterable[int | SlotRange]],
                  shards: Iterable[str]) -> dict[str, int]:
    """How many slots each shard of ``shards`` owns once balanced.

    16384 does not divide evenly: the shards that get one slot more are the ones owning
    the most today (ties to the smaller id), which is what keeps the number of moves minimal.
    """
    owned = owned_slots(owners)
    targets = sorted(set(shards))
    if not 1 <= len(targets) <= SLOTS:
        raise PlanError(f"cannot balance {SLOTS} slots over {len(targets)} shards")
    share, extra = divmod(SLOTS, len(targets))
    by_size = sorted(targets, key=lambda shard: (-len(owned.get(shard, ())), shard))
    return {shard: share + (rank < extra) for rank, shard in enumerate(by_size)}


def plan_moves(owners: Mapping[str, Iterable[int | SlotRange]],
               shards: Iterable[str]) -> list[SlotMove]:
    """The moves that take ``owners`` to a balanced cluster of exactly ``shards``.

    A shard keeps all it can: only the slots above its target share move (every slot of a
    shard missing from ``shards``), so the slots moved are the fewest possible. A donor
    gives away its highest slots, which keeps what it keeps contiguous; donors and
    receivers are paired in id order, so each donor's slots go to as few receivers as
    possible and moves stay long ranges. The moves are interleaved across receivers, so
    a plan stopped halfway leaves the receivers evenly filled.
    """
    owned = owned_slots(owners)
    shares = target_shares(owned, shards)
    giving: list[tuple[str, list[int]]] = []
    for shard in sorted(owned):
        excess = len(owned[shard]) - shares.get(shard, 0)
        if excess > 0:
            giving.append((shard, sorted(owned[shard])[-excess:]))
    wanting = [(shard, share - len(owned.get(shard, ())))
               for shard, share in sorted(shares.items())
               if share > len(owned.get(shard, ()))]
    per_receiver: dict[str, list[SlotMove]] = {shard: [] for shard, _ in wanting}
    receivers = iter(wanting)
    receiver, wanted = "", 0
    for donor, slots in giving:
        while slots:
            if wanted == 0:
                receiver, wanted = next(receivers)
            taken, slots = slots[:wanted], slots[wanted:]
            wanted -= len(taken)
            per_receiver[receiver].extend(
                SlotMove(piece, donor, receiver) for piece in slot_ranges(taken))
    queues = list(per_receiver.values())
    return [queue[turn] for turn in range(max(map(len, queues), default=0))
            for queue in queues if turn < len(queue)]


def apply_moves(owners: Mapping[str, Iterable[int | SlotRange]],
                moves: Iterable[SlotMove]) -> dict[str, frozenset[int]]:
    """The owners after ``moves``; refuses a move whose source does not own its slots."""
    owned = {shard: set(slots) for shard, slots in owned_slots(owners).items()}
    for move in moves:
        slots = set(move.slots.slots())
        if not slots <= owned.get(move.source, set()):
            raise PlanError(f"{move.source} does not own all of slots {move.slots}")
        owned[move.source] -= slots
        owned.setdefault(move.target, set()).update(slots)
    return {shard: frozenset(slots) for shard, slots in owned.items()}


def _slot(value: int) -> int:
    if not 0 <= value < SLOTS:
        raise PlanError(f"slot {value} is not within 0-{SLOTS - 1}")
    return value
