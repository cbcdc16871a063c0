"""A control plane whose clock jumps forward never promotes a replica while the master still
holds its lease (issue 23: the fault suite's async clock-jump loss).

The sequence, with real nodes and the control plane's own parts in this process: leases
granted by a LeaseKeeper; an observation of the master in flight (the master stopped for a
moment, so it is surely in flight); the clock jumps a minute forward, so the observation
times out at once and the master looks silent for a minute, and every lease looks over by
this clock. Before the fix, Healing promoted the replica there, while the master's own
clock gave it more than a second of lease left: two masters, and the old one's writes of
that moment were lost when it resynced from the new one. The replica's clock, which did
not jump, must confirm the master's lease is over first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator, Mapping

import pytest
import redis
from nodes import ServerProcess, start_node
from redslot.operator.actions.connection import Connections
from redslot.operator.actions.observe import NodeView, observe_all
from redslot.operator.control.healing import Healing
from redslot.operator.control.leases import LeaseKeeper
from redslot.operator.model.context import Context
from redslot.operator.model.record import NodeRecord, Record, ShardRecord, Spec

LEASE_MS = 1500
FENCED = ("--cluster-enabled", "yes", "--cluster-lease-fencing", "yes")


@pytest.fixture
def pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    master = start_node(*FENCED)
    replica = start_node(*FENCED)
    try:
        redis.Redis(port=master.port).execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        yield master, replica
    finally:
        for proc in (master, replica):
            if proc.proc.poll() is None:
                os.kill(proc.proc.pid, signal.SIGCONT)
            proc.stop()


@pytest.fixture
def jump(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """This process's monotonic clock, which asyncio's timers and the control plane's
    parts read, plus an offset the test moves forward."""
    offset = [0.0]
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + offset[0])
    return offset


def shard_record(master: ServerProcess, replica: ServerProcess) -> Record:
    nodes = {}
    for name, proc in (("m", master), ("r", replica)):
        nodes[name] = NodeRecord(name, f"127.0.0.1:{proc.port}")
        nodes[name].id = redis.Redis(port=proc.port).execute_command(
            "CLUSTER", "MYID").decode()
    return Record(formed=True, nodes=nodes,
                  shards=[ShardRecord("shard-0", "m", ["r"], [[0, 16383]])])


def context(record: Record, views: Mapping[str, NodeView], keeper: LeaseKeeper,
            events: list[str]) -> Context:
    async def push(exclude: object) -> None:
        raise AssertionError("no push expected")

    spec = Spec(shards=1, replicas=1, down_after_ms=LEASE_MS)
    return Context(spec, record, views, keeper.conns, keeper.conns, set(), lambda: None,
                   events.append, push, keeper.surely_expired)


async def renew_rounds(keeper: LeaseKeeper, record: Record, rounds: int) -> None:
    """Renewal rounds a period apart, the last one just done."""
    for round_ in range(rounds):
        if round_:
            await asyncio.sleep(LEASE_MS / 1000 / 6)
        keeper.renew_all(record)
        await asyncio.gather(*keeper.inflight.values())


@pytest.mark.timeout(120)
def test_a_forward_clock_jump_promotes_no_replica_while_the_master_holds_its_lease(
        pair: tuple[ServerProcess, ServerProcess], jump: list[float]) -> None:
    master, replica = pair
    record = shard_record(master, replica)
    events: list[str] = []

    async def scenario() -> tuple[bool, int]:
        keeper = LeaseKeeper(Connections(timeout=1.0), LEASE_MS)
        keeper.started = 0.0  # as if it had run for long: only its own grants count
        try:
            await renew_rounds(keeper, record, 3)
            os.kill(master.proc.pid, signal.SIGSTOP)
            try:
                observing = asyncio.create_task(observe_all(
                    keeper.conns, [record.address("m"), record.address("r")]))
                await asyncio.sleep(0.2)  # the replica answered; the master cannot
                jump[0] += 60.0
                views = dict(zip(("m", "r"), (await observing).values(), strict=True))
            finally:
                os.kill(master.proc.pid, signal.SIGCONT)
            assert not views["m"].reachable and views["r"].reachable
            healed = Healing().run(context(record, views, keeper, events))
            probe = Connections()
            left = (await probe.call(record.address("m"), "CLUSTER", "LEASE", LEASE_MS, 0))[2]
            await probe.close()
            return healed.failed_over, int(left)
        finally:
            await keeper.conns.close()

    failed_over, lease_left_ms = asyncio.run(scenario())
    assert lease_left_ms > 0, "the premise: the master still holds its lease"
    assert not failed_over, events
    assert record.shards[0].master == "m"


@pytest.mark.timeout(120)
def test_after_a_jump_a_master_that_really_stops_is_still_replaced_once_its_lease_is_over(
        pair: tuple[ServerProcess, ServerProcess], jump: list[float]) -> None:
    """The replica's clock confirms the lease's end about one lease after the master went
    silent: the fix delays no failover by more than a renewal period or so."""
    master, replica = pair
    record = shard_record(master, replica)
    events: list[str] = []

    async def scenario() -> float:
        keeper = LeaseKeeper(Connections(timeout=1.0), LEASE_MS)
        keeper.started = 0.0
        stop = asyncio.Event()
        renewing = asyncio.create_task(keeper.run(lambda: record, stop))
        healing = Healing()
        try:
            await asyncio.sleep(0.5)
            jump[0] += 60.0
            await asyncio.sleep(0.5)
            os.kill(master.proc.pid, signal.SIGSTOP)
            stopped = time.monotonic()
            while time.monotonic() - stopped < 15:
                views = dict(zip(("m", "r"), (await observe_all(keeper.conns, [
                    record.address("m"), record.address("r")])).values(), strict=True))
                if healing.run(context(record, views, keeper, events)).failed_over:
                    return time.monotonic() - stopped
                await asyncio.sleep(0.25)
            raise AssertionError(f"no failover within 15 s: {events}")
        finally:
            stop.set()
            await renewing
            await keeper.conns.close()

    took = asyncio.run(scenario())
    assert record.shards[0].master == "r"
    assert 1.0 <= took <= LEASE_MS / 1000 * 1.01 + 0.1 + 4.0, (took, events)


@pytest.mark.timeout(120)
def test_a_lease_shortened_then_a_jump_promotes_no_replica_before_the_long_grant_ends(
        pair: tuple[ServerProcess, ServerProcess], jump: list[float]) -> None:
    """The master was granted a long lease; the length is then shortened (``down-after-ms``
    lowered) and this clock jumps a minute forward while the master is cut off from the
    control plane. Before each grant kept its own length, the keeper took the short length
    once the long grants looked over here, so the replica's clock had to run the short
    lease only: a failover was judged safe while the master still served on its long one."""
    long_ms, short_ms = 6000, 1000
    master, replica = pair
    record = shard_record(master, replica)

    async def master_lease_left(probe: Connections) -> int:
        return int((await probe.call(record.address("m"), "CLUSTER", "LEASE", short_ms, 0))[2])

    async def scenario() -> list[tuple[float, bool, int]]:
        keeper = LeaseKeeper(Connections(timeout=2.0), long_ms)
        keeper.started = 0.0  # as if it had run for long: only its own grants count
        probe = Connections()
        phases: list[tuple[float, bool, int]] = []  # replica's seconds, judged, master's ms
        try:
            for _ in range(2):
                keeper.renew_all(record)
                await asyncio.gather(*keeper.inflight.values())
                await asyncio.sleep(0.2)
            keeper.retune(short_ms)
            keeper.renew_all(record)  # short grants from now on; the node keeps the long end
            await asyncio.gather(*keeper.inflight.values())
            jump[0] += 60.0
            keeper.retune(short_ms)
            # From here on the master is cut off from the control plane: only the replica
            # is renewed, and its readings are the witness clock.
            await keeper.renew_one("r", record.address("r"), record)
            first = keeper.readings["r"][-1].ms
            while not phases or phases[-1][2] > 0 or not phases[-1][1]:
                await asyncio.sleep(0.2)
                await keeper.renew_one("r", record.address("r"), record)
                judged = keeper.surely_expired("m", "r")
                left = await master_lease_left(probe)  # after the judgment: a lower bound
                phases.append(((keeper.readings["r"][-1].ms - first) / 1000, judged, left))
                assert phases[-1][0] < long_ms / 1000 + 10, phases
            return phases
        finally:
            await probe.close()
            await keeper.conns.close()

    phases = asyncio.run(scenario())
    unsafe = [phase for phase in phases if phase[1] and phase[2] > 0]
    assert not unsafe, f"a failover judged safe while the master still held its lease: {unsafe}"
    assert any(seconds >= 2.0 and left > 0 for seconds, _, left in phases), \
        ("the premise: the master still served well past the short lease", phases)
    judged_at = next(seconds for seconds, judged, _ in phases if judged)
    assert judged_at <= long_ms / 1000 * 1.01 + 0.1 + 3.0, phases
