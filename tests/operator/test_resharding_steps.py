"""The reshard step (control/resharding.py) on its own: a model Context, slot moves faked.

The moves of different (source, target) pairs run at once, each pair's cursor saved after
every batch; these tests check what that must keep: the pairs overlap, a pair waiting on a
down master or failing holds no other up, and a record saved mid-way resumes each pair
where it stopped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest
from redslot.operator.actions.connection import Connections
from redslot.operator.actions.observe import NodeView
from redslot.operator.actions.reshard import Endpoint, Lookahead, MoveFailed
from redslot.operator.control import resharding
from redslot.operator.control.resharding import Resharding
from redslot.operator.model.context import Context
from redslot.operator.model.record import NodeRecord, Record, Reshard, ShardRecord, Spec
from redslot.operator.planner import initial_ranges


def scaled_record() -> Record:
    """Three shards of the initial split and an empty fourth, the reshard to 4 planned."""
    shards = [ShardRecord(f"shard-{i}", f"shard-{i}-0", slots=[[r.start, r.end]])
              for i, r in enumerate(initial_ranges(3))]
    shards.append(ShardRecord("shard-3", "shard-3-0"))
    nodes = {s.master: NodeRecord(s.master, f"127.0.0.1:{7000 + i}", id=f"{i}" * 40)
             for i, s in enumerate(shards)}
    rec = Record(epoch=3, formed=True, shards=shards, nodes=nodes)
    Resharding().plan(context(rec, views(rec), []))
    assert rec.reshard is not None
    return rec


def views(rec: Record, down: AbstractSet[str] = frozenset()) -> dict[str, NodeView]:
    return {name: NodeView(node.address, reachable=name not in down, id=node.id,
                           topology_epoch=rec.epoch, is_master=True)
            for name, node in rec.nodes.items()}


def context(rec: Record, seen: dict[str, NodeView], saves: list[str]) -> Context:
    async def push(exclude: AbstractSet[str]) -> None:
        raise AssertionError("resharding pushes no table")

    def save() -> None:
        saves.append(json.dumps(rec.to_json()))

    return Context(Spec(shards=4, replicas=0), rec, seen, Connections(), Connections(),
                   set(), save, lambda text: None, push)


@dataclass
class FakeMoves:
    """Stands in for move_slots: each batch takes ``seconds``, moves one key per slot,
    and fails if its source is in ``failing``."""

    seconds: float = 0.01
    failing: set[str] = field(default_factory=set)
    running: int = 0
    most_at_once: int = 0
    batches: list[tuple[str, str, int, int]] = field(default_factory=list)
    # Per batch: the source, its first slot, whether it came marked ahead, and the first
    # slot of the batch it was asked to mark ahead (None: none).
    lookahead: list[tuple[str, int, bool, int | None]] = field(default_factory=list)

    async def __call__(self, conns: Connections, slow: Connections, slots: Sequence[int],
                       source: Endpoint, target: Endpoint, others: Any,
                       on_keys: Any = None, prepared: Lookahead | None = None,
                       ahead: Lookahead | None = None) -> int:
        came_marked = prepared is not None and list(prepared.slots) == list(slots)
        self.lookahead.append((source.address, slots[0], came_marked,
                               ahead.slots[0] if ahead is not None else None))
        if ahead is not None:
            ahead.marked, ahead.listed = list(ahead.slots), {}
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.seconds)
            if source.address in self.failing:
                raise MoveFailed(f"{source.address} refused MIGRATING {slots[0]}")
            self.batches.append((source.address, target.address, slots[0], slots[-1]))
            on_keys(len(slots))
            return len(slots)
        finally:
            self.running -= 1


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeMoves:
    moves = FakeMoves()
    monkeypatch.setattr(resharding, "move_slots", moves)
    return moves


def piece(step: Resharding, rec: Record, down: AbstractSet[str] = frozenset()) -> list[str]:
    saves: list[str] = []
    asyncio.run(step.piece(context(rec, views(rec, down), saves)))
    return saves


def test_the_three_sources_move_their_slots_to_the_new_shard_at_once(fake: FakeMoves) -> None:
    rec = scaled_record()
    piece(Resharding(), rec)
    assert fake.most_at_once == 3
    assert {source for source, *_ in fake.batches} == {
        "127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}


def test_a_reshard_run_piece_by_piece_moves_every_planned_slot_once(fake: FakeMoves) -> None:
    rec = scaled_record()
    step = Resharding()
    while rec.reshard is not None:
        piece(step, rec)
    moved = [slot for _, _, first, last in fake.batches for slot in range(first, last + 1)]
    assert len(moved) == len(set(moved)) == 4096
    assert [s.slot_count() for s in rec.shards] == [4096] * 4
    assert rec.last_reshard is not None and rec.last_reshard["slots"] == 4096
    assert rec.last_reshard["keys"] == 4096


def test_each_batch_marks_the_next_ahead_and_no_marks_outlive_a_piece(
        fake: FakeMoves, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch marks its pair's next batch in its own round trips, while the piece has
    time left; the batch so marked runs in the same piece, even past the deadline."""
    monkeypatch.setattr(resharding, "PIECE_SECONDS", 0.05)
    fake.seconds = 0.02
    rec = scaled_record()
    step = Resharding()
    pieces = 0
    while rec.reshard is not None:
        before = len(fake.lookahead)
        piece(step, rec)
        pieces += 1
        for source in {entry[0] for entry in fake.lookahead[before:]}:
            batches = [entry for entry in fake.lookahead[before:] if entry[0] == source]
            assert batches[-1][3] is None  # the piece's last batch marked nothing ahead
            for (_, _, _, marked), (_, first, came_marked, _) in pairwise(batches):
                assert marked == first and came_marked
    assert pieces > 1
    assert sum(came for _, _, came, _ in fake.lookahead) > 0
    moved = [slot for _, _, first, last in fake.batches for slot in range(first, last + 1)]
    assert len(moved) == len(set(moved)) == 4096


def test_a_pair_waiting_on_a_down_master_holds_the_other_pairs_up_not(
        fake: FakeMoves) -> None:
    rec = scaled_record()
    step = Resharding()
    piece(step, rec, down={"shard-1-0"})
    assert {source for source, *_ in fake.batches} == {"127.0.0.1:7000", "127.0.0.1:7002"}
    assert [s.slot_count() for s in rec.shards][1] == 5462
    assert step.error == ""


def test_a_failing_pair_shows_its_error_and_the_others_keep_their_progress(
        fake: FakeMoves) -> None:
    fake.failing.add("127.0.0.1:7001")
    rec = scaled_record()
    step = Resharding()
    piece(step, rec)
    assert "127.0.0.1:7001 refused MIGRATING" in step.error
    assert not step.unfinished  # a failing reshard keeps the usual pace
    reshard = rec.reshard
    assert reshard is not None
    done = sum(last - first + 1 for _, _, first, last in fake.batches)
    assert reshard.slots_done == reshard.keys_moved == done > 0
    fake.failing.clear()
    piece(step, rec)
    assert step.error == ""


def test_a_control_plane_started_again_resumes_each_pair_at_its_saved_cursor(
        fake: FakeMoves) -> None:
    rec = scaled_record()
    fake.seconds = 0.05
    saves = piece(Resharding(), rec)
    reloaded = Record.from_json(json.loads(saves[-1]))
    before = list(fake.batches)
    fake.batches.clear()
    step = Resharding()
    while reloaded.reshard is not None:
        piece(step, reloaded)
    again = [slot for _, _, first, last in fake.batches for slot in range(first, last + 1)]
    earlier = [slot for _, _, first, last in before for slot in range(first, last + 1)]
    assert not set(again) & set(earlier)
    assert len(again) + len(earlier) == 4096
    assert [s.slot_count() for s in reloaded.shards] == [4096] * 4


def test_the_record_of_a_control_plane_that_moved_one_move_at_a_time_resumes() -> None:
    stored = {"moves": [[10, 19, "a", "c"], [20, 29, "b", "c"], [30, 39, "a", "c"]],
              "move": 1, "next_slot": 25, "slots_total": 30, "slots_done": 15}
    reshard = Reshard.from_json(stored)
    assert reshard.cursors == [20, 25, 30]
    assert [(i, str(m.slots), m.source) for i, m in reshard.pending()] == [
        (1, "25-29", "b"), (2, "30-39", "a")]
