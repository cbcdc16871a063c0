"""The lease keeper's bound on when a node stops serving (control/leases.py), on its own."""

from __future__ import annotations

import math
import random
from collections import deque

import pytest
from redslot.operator.actions.connection import Connections
from redslot.operator.actions.lease import Stamp
from redslot.operator.control import leases
from redslot.operator.control.leases import CLOCK_DRIFT, SLACK, LeaseKeeper


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(leases.time, "monotonic", lambda: now[0])
    return now


def grant(keeper: LeaseKeeper, name: str, at: float, ms: int = 0) -> None:
    """Note a grant to ``name`` of the keeper's current length, anchored at a stamp of the
    node's clock (``ms``) received at ``at`` (this side's clock)."""
    keeper.anchor(name, Stamp("master-run", ms, sent=at - 0.001, at=at))


def test_a_keeper_just_started_assumes_every_node_may_hold_a_lease_it_did_not_grant(
        clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 3000)
    assert keeper.expires_at("any") == 100.0 + 3.0 * (1 + CLOCK_DRIFT) + SLACK
    clock[0] = 103.0
    assert not keeper.expired_here("any")
    clock[0] = 103.2
    assert keeper.expired_here("any")


def test_the_bound_follows_the_stamp_of_the_last_grant_not_the_last_attempt(
        clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 1000)
    keeper.stamps["n"] = Stamp("run", 5, sent=149.9, at=150.0)
    grant(keeper, "n", 150.0)
    clock[0] = 160.0  # retries since resend the same stamp: the bound does not move
    assert keeper.expires_at("n") == 150.0 + 1.0 * (1 + CLOCK_DRIFT) + SLACK
    assert keeper.expired_here("n")


def test_a_shortened_lease_applies_to_new_grants_at_once_and_old_grants_keep_their_length(
        clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 3000)
    keeper.started = 0.0
    grant(keeper, "n", 100.0)
    keeper.retune(1000)
    assert keeper.duration_ms == 1000
    grant(keeper, "n", 100.5)
    assert keeper.expires_at("n") == 100.0 + 3.0 * (1 + CLOCK_DRIFT) + SLACK
    grant(keeper, "fresh", 100.5)  # a node granted only the short length
    assert keeper.expires_at("fresh") == 100.5 + 1.0 * (1 + CLOCK_DRIFT) + SLACK
    keeper.retune(5000)
    assert keeper.duration_ms == 5000


def test_a_grant_of_another_length_is_forgotten_once_the_nodes_own_clock_passed_it(
        clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 3000)
    keeper.started = 0.0
    grant(keeper, "n", 100.0, ms=10_000)
    keeper.retune(1000)
    grant(keeper, "n", 101.0, ms=11_000)
    keeper.outlived("n", Stamp("master-run", 12_999, sent=102.9, at=103.0))
    assert set(keeper.anchored["n"]) == {3000, 1000}
    keeper.outlived("n", Stamp("other-run", 13_000, sent=102.9, at=103.0))
    assert set(keeper.anchored["n"]) == {3000, 1000}, "another process's clock proves nothing"
    keeper.outlived("n", Stamp("master-run", 13_000, sent=102.9, at=103.0))
    assert set(keeper.anchored["n"]) == {1000}, "the current length's anchor stays"


def test_a_keeper_just_started_takes_the_length_it_learns_before_its_first_grant(
        clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 3000)
    keeper.retune(1000)  # the spec read at the first pass: the earlier keeper granted that
    assert keeper.expires_at("any") == 100.0 + 1.0 * (1 + CLOCK_DRIFT) + SLACK
    grant(keeper, "n", 100.0)
    keeper.retune(3000)  # a later length says nothing of the earlier keeper's grants
    assert keeper.expires_at("any") == 100.0 + 1.0 * (1 + CLOCK_DRIFT) + SLACK
    assert keeper.expires_at("n") == 100.0 + 1.0 * (1 + CLOCK_DRIFT) + SLACK


def reading(ms: int, sent: float, run_id: str = "replica-run") -> Stamp:
    """A replica's stamp, asked for at ``sent`` (this side's clock)."""
    return Stamp(run_id, ms, sent=sent, at=sent + 0.001)


def replica_ms(gap: float, lease: float) -> int:
    """The replica's milliseconds that confirm a lease ``gap`` s after its first reading."""
    return math.ceil(((gap + lease) * (1 + CLOCK_DRIFT) + SLACK) * 1000)


def test_a_forward_jump_of_this_clock_alone_does_not_end_a_lease(clock: list[float]) -> None:
    """The master's last grant was anchored at a stamp received at 100 s; the clock here
    then jumps a minute forward while the replica's clock ran on for 0.2 s only."""
    keeper = LeaseKeeper(Connections(), 1500)
    keeper.started = 0.0
    grant(keeper, "m", 100.0)
    keeper.readings["r"] = deque([reading(50_000, sent=100.01), reading(50_200, sent=100.2)])
    clock[0] = 160.3
    assert keeper.expired_here("m")
    assert not keeper.surely_expired("m", "r")
    needed = replica_ms(0.0, 1.5)
    keeper.readings["r"].append(reading(50_000 + needed - 1, sent=160.4))
    assert not keeper.surely_expired("m", "r")
    keeper.readings["r"].append(reading(50_000 + needed, sent=160.6))
    assert keeper.surely_expired("m", "r")


def test_a_replica_reading_asked_for_before_the_grant_counts_the_gap(clock: list[float]) -> None:
    """A reading asked for 1 s (this side's clock) before the master's anchoring stamp
    arrived may precede it by that much: the replica's clock must run 1 s further."""
    keeper = LeaseKeeper(Connections(), 1000)
    keeper.started = 0.0
    grant(keeper, "m", 100.0)
    clock[0] = 200.0
    needed = replica_ms(1.0, 1.0)
    keeper.readings["r"] = deque([reading(7_000, sent=99.0), reading(7_000 + needed - 1, 103.0)])
    assert not keeper.surely_expired("m", "r")
    keeper.readings["r"].append(reading(7_000 + needed, sent=103.5))
    assert keeper.surely_expired("m", "r")


def test_only_readings_of_the_witness_current_process_are_compared(clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 1000)
    keeper.started = 0.0
    grant(keeper, "m", 100.0)
    clock[0] = 200.0
    keeper.readings["r"] = deque([reading(1_000, sent=100.1, run_id="before"),
                                  reading(900_000, sent=150.0, run_id="after")])
    assert not keeper.surely_expired("m", "r")
    assert not keeper.surely_expired("m", "unknown")


def test_a_keeper_just_started_counts_the_replica_clock_from_its_start(
        clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 1000)  # started at 100 s: grants of an earlier one
    clock[0] = 102.0
    keeper.readings["r"] = deque([reading(3_000, sent=99.5), reading(4_000, sent=101.0)])
    assert not keeper.surely_expired("any", "r")  # asked for before the start: 0.5 s more
    keeper.readings["r"].append(reading(4_000 + replica_ms(0.0, 1.0), sent=101.9))
    assert keeper.surely_expired("any", "r")


def test_a_lease_shortened_after_a_jump_here_ends_on_the_witness_clock_at_its_granted_length(
        clock: list[float]) -> None:
    """The master was granted 3 s at 100 s; the length is then shortened to 1 s and this
    side's clock jumps a minute forward: the replica's clock must still run 3 s (with the
    margin), not 1 s, before the master's lease counts as over."""
    keeper = LeaseKeeper(Connections(), 3000)
    keeper.started = 0.0
    grant(keeper, "m", 100.0)
    keeper.readings["r"] = deque([reading(50_000, sent=100.01)])
    clock[0] = 160.0
    keeper.retune(1000)
    assert keeper.expired_here("m")
    keeper.readings["r"].append(reading(50_000 + replica_ms(0.0, 1.0), sent=160.1))
    assert not keeper.surely_expired("m", "r")
    keeper.readings["r"].append(reading(50_000 + replica_ms(0.0, 3.0) - 1, sent=160.2))
    assert not keeper.surely_expired("m", "r")
    keeper.readings["r"].append(reading(50_000 + replica_ms(0.0, 3.0), sent=160.3))
    assert keeper.surely_expired("m", "r")


def test_the_first_reading_after_a_long_grant_is_kept_so_its_end_is_witnessed(
        clock: list[float]) -> None:
    """Renewals come a sixth of the short lease apart: the latest readings span four short
    leases, too little of the witness's clock to ever confirm the long grant's end."""
    keeper = LeaseKeeper(Connections(), 6000)
    keeper.started = 0.0
    grant(keeper, "m", 100.0, ms=10_000)
    keeper.note_reading("r", reading(49_834, sent=99.9))  # before the grant: not its first
    keeper.retune(1000)
    clock[0] = 200.0  # over by this side's clock: only the witness's counts here
    needed = replica_ms(0.0, 6.0)
    for step in range(needed // 166 + 1):
        assert not keeper.surely_expired("m", "r")
        keeper.note_reading("r", reading(50_000 + step * 166, sent=100.01 + step * 0.166))
    assert len(keeper.readings["r"]) == leases.READINGS_KEPT
    assert keeper.surely_expired("m", "r")
    # The master's own clock shows the long grant over: its anchor and reading go.
    keeper.outlived("m", Stamp("master-run", 16_000, sent=106.0, at=106.1))
    keeper.note_reading("r", reading(58_000, sent=108.0))
    assert 100.0 not in keeper.firsts["r"]


def test_the_fixed_anchors_kept_are_every_grant_of_another_length_through_retunes(
        clock: list[float]) -> None:
    """note_reading reads the anchors that no longer move from what the keeper keeps: it
    must equal gathering them from every node's grants, after any grants, retunes and
    grants outlived."""
    rnd = random.Random(7)
    keeper = LeaseKeeper(Connections(), 3000)
    for step in range(400):
        name = f"n{rnd.randrange(5)}"
        at = 100.0 + step / 10
        choice = rnd.random()
        if choice < 0.6:
            grant(keeper, name, at, ms=step * 100)
        elif choice < 0.8:
            keeper.retune(rnd.choice([1000, 2000, 3000]))
        else:
            keeper.outlived(name, Stamp("master-run", step * 100, sent=at - 0.001, at=at))
        assert keeper.fixed_grants == {
            stamp.at for grants in keeper.anchored.values()
            for length, stamp in grants.items() if length != keeper.duration_ms}
