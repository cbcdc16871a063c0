"""The lease keeper's bound on when a node stops serving (control/leases.py), on its own."""

from __future__ import annotations

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


def test_a_keeper_just_started_assumes_every_node_may_hold_a_lease_it_did_not_grant(
        clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 3000)
    assert keeper.expires_at("any") == 100.0 + 3.0 * (1 + CLOCK_DRIFT) + SLACK
    clock[0] = 103.0
    assert not keeper.surely_expired("any")
    clock[0] = 103.2
    assert keeper.surely_expired("any")


def test_the_bound_follows_the_stamp_of_the_last_grant_not_the_last_attempt(
        clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 1000)
    keeper.stamps["n"] = Stamp("run", 5, at=150.0)
    keeper.anchored["n"] = 150.0
    clock[0] = 160.0  # retries since resend the same stamp: the bound does not move
    assert keeper.expires_at("n") == 150.0 + 1.0 * (1 + CLOCK_DRIFT) + SLACK
    assert keeper.surely_expired("n")


def test_a_shorter_lease_counts_only_once_the_longer_ones_ran_out(clock: list[float]) -> None:
    keeper = LeaseKeeper(Connections(), 3000)
    keeper.anchored["n"] = 100.0
    keeper.retune(1000)
    assert keeper.duration_ms == 3000
    clock[0] = 104.0
    keeper.retune(1000)
    assert keeper.duration_ms == 1000
    keeper.retune(5000)
    assert keeper.duration_ms == 5000
