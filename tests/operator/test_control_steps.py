"""The control loop's steps on their own: a model Context built by hand, no node, no loop.

Each step decides from the record and the views it is given and returns its decision;
these tests read the decision (and the record it changed) directly.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import replace

import pytest
from redslot.operator.actions.connection import Connections
from redslot.operator.actions.observe import NodeView
from redslot.operator.control import rolling
from redslot.operator.control.healing import Healing
from redslot.operator.control.rolling import Rolling
from redslot.operator.model.context import Context
from redslot.operator.model.record import NodeRecord, Record, ShardRecord, Spec

MIB = 1024 * 1024


def record() -> Record:
    """One formed shard: master shard-0-0, replica shard-0-1, at epoch 5."""
    shard = ShardRecord("shard-0", "shard-0-0", ["shard-0-1"], [[0, 16383]], config_epoch=1)
    nodes = {name: NodeRecord(name, f"127.0.0.1:{7000 + i}", id=f"{i}" * 40)
             for i, name in enumerate(shard.members)}
    return Record(epoch=5, formed=True, shards=[shard], nodes=nodes)


def view(name: str, rec: Record, **changes: object) -> NodeView:
    """The node answering, serving the record's table, 10 MiB into its stream."""
    node = rec.nodes[name]
    serving = NodeView(node.address, reachable=True, id=node.id, topology_epoch=rec.epoch,
                       offset=10 * MIB, link_up=True, is_master=name == rec.shards[0].master)
    return replace(serving, **changes)


def context(rec: Record, views: dict[str, NodeView], events: list[str],
            lease_expired: bool = True) -> Context:
    async def push(exclude: AbstractSet[str]) -> None:
        raise AssertionError("a step that only decides never pushes")

    return Context(Spec(shards=1, replicas=1), rec, views, Connections(), Connections(),
                   set(), lambda: None, events.append, push,
                   lambda name, witness: lease_expired)


def healthy_views(rec: Record) -> dict[str, NodeView]:
    return {name: view(name, rec) for name in rec.nodes}


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> Rolling:
    """A Rolling that has seen the cluster healthy for longer than it waits to settle."""
    step = Rolling()
    clock = iter([100.0, 100.0 + rolling.SETTLE_SECONDS + 1])
    monkeypatch.setattr(rolling.time, "monotonic", lambda: next(clock))
    rec = record()
    assert step.run(context(rec, healthy_views(rec), []), {"shard-0-0"}).restart is None
    return step


def test_an_outdated_replica_restarts_before_its_master(settled: Rolling) -> None:
    rec = record()
    events: list[str] = []
    roll = settled.run(context(rec, healthy_views(rec), events), {"shard-0-0", "shard-0-1"})
    assert roll.restart == "shard-0-1" and roll.hand_over is None
    assert events == ["rolling restart: restarting replica shard-0-1 with the new pod template"]


def test_an_outdated_master_is_handed_over_to_a_current_replica_not_restarted(
        settled: Rolling) -> None:
    rec = record()
    roll = settled.run(context(rec, healthy_views(rec), []), {"shard-0-0"})
    assert roll.restart is None and roll.hand_over is rec.shards[0]


def test_nothing_restarts_while_a_replica_is_more_than_a_mebibyte_behind() -> None:
    rec = record()
    views = healthy_views(rec)
    views["shard-0-1"] = view("shard-0-1", rec, offset=10 * MIB - MIB - 1)
    roll = Rolling().run(context(rec, views, []), {"shard-0-1"})
    assert roll.restart is None and roll.hand_over is None
    assert roll.note is not None and "waiting for every node to be up and in sync" in roll.note


def test_a_master_restarted_empty_is_replaced_by_its_replica_with_a_higher_epoch() -> None:
    rec = record()
    events: list[str] = []
    views = healthy_views(rec)
    views["shard-0-0"] = view("shard-0-0", rec, held=True, offset=0, replid="new")
    healed = Healing().run(context(rec, views, events))
    assert healed.failed_over and healed.awaiting == frozenset()
    shard = rec.shards[0]
    assert (shard.master, shard.replicas) == ("shard-0-1", ["shard-0-0"])
    assert shard.config_epoch > rec.epoch
    assert events == ["shard-0: failover from shard-0-0 to shard-0-1 (master restarted)"]


def test_a_master_restarted_from_its_snapshot_keeps_its_slots_when_its_replica_is_not_ahead(
) -> None:
    """Restarted from its snapshot, a master writes on under a fresh id and keeps the old
    one as replid2 (as Redis's loadDataFromDisk does): a replica of that old history and no
    further along has nothing the master lacks."""
    rec = record()
    views = healthy_views(rec)
    views["shard-0-1"] = view("shard-0-1", rec, replid="old")
    views["shard-0-0"] = view("shard-0-0", rec, held=True, replid="fresh", replid2="old")
    healed = Healing().run(context(rec, views, []))
    assert not healed.failed_over and rec.shards[0].master == "shard-0-0"
    views["shard-0-1"] = view("shard-0-1", rec, replid="old", offset=10 * MIB + 1)
    assert Healing().run(context(rec, views, [])).failed_over  # the replica has more


def unreachable_master_views(rec: Record) -> dict[str, NodeView]:
    """The master silent since long ago; its replica still hearing from it."""
    views = healthy_views(rec)
    views["shard-0-0"] = NodeView(rec.nodes["shard-0-0"].address, reachable=False, at=0.0)
    views["shard-0-1"] = view("shard-0-1", rec, last_io_seconds=0)
    return views


def test_no_replica_is_promoted_while_the_silent_master_may_still_hold_its_lease() -> None:
    rec = record()
    healed = Healing().run(context(rec, unreachable_master_views(rec), [], lease_expired=False))
    assert not healed.failed_over and rec.shards[0].master == "shard-0-0"


def test_a_silent_master_whose_lease_ran_out_is_replaced_even_if_its_replica_hears_it() -> None:
    rec = record()
    events: list[str] = []
    healed = Healing().run(context(rec, unreachable_master_views(rec), events))
    assert healed.failed_over and rec.shards[0].master == "shard-0-1"
    assert events[0].startswith("shard-0: failover from shard-0-0 to shard-0-1 (master unreachable")


def test_a_master_counts_as_down_from_midway_between_its_last_answer_and_its_first_miss(
) -> None:
    """An idle control plane observes once a second: the failure happened somewhere
    between the last answer and the first miss, the midpoint is its expected time."""
    rec = record()
    healing = Healing()
    views = healthy_views(rec)
    views["shard-0-0"] = view("shard-0-0", rec, at=100.0)
    assert not healing.run(context(rec, views, [])).failed_over
    assert healing.quiet()
    views["shard-0-0"] = NodeView(rec.nodes["shard-0-0"].address, reachable=False, at=101.0)
    # (its lease not yet run out: the down time is recorded, nobody promoted)
    assert not healing.run(context(rec, views, [], lease_expired=False)).failed_over
    assert healing.down_since == {"shard-0-0": 100.5}
    assert not healing.quiet()
    views["shard-0-0"] = view("shard-0-0", rec, at=102.0)
    healing.run(context(rec, views, []))
    assert healing.down_since == {} and healing.quiet()
