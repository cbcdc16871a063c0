"""Fault injection with a linearizability check: a 3 x 1 cluster whose six nodes and control
plane run on test hosts of their own (network namespaces, tests/support/fault_lab.py),
concurrent clients on registers (GET/SET/INCR) and sets (SADD/SMEMBERS) recording every
operation, one fault per scenario, then every key's history checked
(tests/support/linearizability.py) and the acknowledged set members counted after the
cluster has recovered.

Zero-loss mode must be linearizable with no acknowledged write lost under every fault;
async mode may lose only writes acknowledged in the lease window of a failover (the README's
bound). Each scenario prints its operations, availability, longest unavailability of a
shard, acknowledged members lost and verdict. The seed (which shard is the victim, the
keys, every client's choices) is printed; REDSLOT_FAULT_SEED=N replays it, as far as
timing allows. bench/fault_soak.py runs the suite over many seeds. Needs root (network namespaces, iptables, strace); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fault_lab import FaultCluster, Lab
from fault_workload import ClusterClient, Keys, final_reads, run_workload
from linearizability import REFUSED, UNKNOWN, Op, Verdict, check, lost_acknowledged
from redis.crc import key_slot

WORKLOAD = Path(__file__).resolve().parents[1] / "support" / "fault_workload.py"
DOWN_AFTER_MS = 1500  # also the lease
FAULT_AT = 2.0  # seconds into the workload
TAIL = 4.0  # seconds of workload after the fault is healed
CLIENTS = 6
SEED = int(os.environ.get("REDSLOT_FAULT_SEED") or 1)  # bench/fault_soak.py varies it

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("strace"),
    reason="network namespaces, iptables and strace need root on Linux")


@dataclass
class Stage:
    """What a scenario sees: the lab, the cluster, its victim shard and the fault's state."""

    lab: Lab
    cluster: FaultCluster
    master: dict[str, Any]
    replica: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def master_host(self) -> str:
        return self.lab.host_of(self.master["address"])

    @property
    def replica_host(self) -> str:
        return self.lab.host_of(self.replica["address"])


Action = Callable[[Stage], Awaitable[None]]


async def nothing(stage: Stage) -> None:
    pass


async def kill_master(stage: Stage) -> None:
    os.kill(stage.cluster.node_pid(stage.master["name"]), signal.SIGKILL)


async def stop_master(stage: Stage) -> None:
    os.kill(stage.cluster.node_pid(stage.master["name"]), signal.SIGSTOP)


async def continue_master(stage: Stage) -> None:
    os.kill(stage.cluster.node_pid(stage.master["name"]), signal.SIGCONT)


async def kill_control(stage: Stage) -> None:
    stage.cluster.kill_control()


async def restart_control(stage: Stage) -> None:
    stage.cluster.start_control()


async def cut_master_from_control(stage: Stage) -> None:
    stage.lab.cut(stage.master_host, ["cp"])


async def cut_master_from_replica(stage: Stage) -> None:
    stage.lab.cut(stage.master_host, [stage.replica_host])


async def cut_replica_from_everything(stage: Stage) -> None:
    stage.lab.cut(stage.replica_host,
                  [h for h in stage.lab.addresses if h != stage.replica_host])


async def cut_master_but_not_its_clients(stage: Stage) -> None:
    """A minority partition: the master with the clients of host ``cb`` only."""
    stage.lab.cut(stage.master_host,
                  [h for h in stage.lab.addresses if h not in (stage.master_host, "cb")])


async def heal(stage: Stage) -> None:
    stage.lab.heal()


async def jump_control_clock(stage: Stage) -> None:
    stage.cluster.jump_control_clock()


FSYNC_DELAY_US = 100_000


async def slow_disk(stage: Stage) -> None:
    """``appendfsync always`` on the master, then every fsync it makes delayed 100 ms by
    strace's syscall fault injection (ptrace: the node really blocks in the call)."""
    client = ClusterClient([])
    address = stage.master["address"]
    try:
        await client.raw(address, "CONFIG", "SET", "appendonly", "yes")
        deadline = time.monotonic() + 30
        while "aof_rewrite_in_progress:0" not in await client.raw(address, "INFO",
                                                                   "persistence"):
            assert time.monotonic() < deadline, "the AOF was not written in 30s"
            await asyncio.sleep(0.1)
        assert await client.raw(address, "CONFIG", "SET", "appendfsync", "always") == "OK"
    finally:
        client.close()
    pid = stage.cluster.node_pid(stage.master["name"])
    trace = stage.cluster.directory.path / "strace.out"
    stage.extra["trace"] = trace
    stage.extra["strace"] = subprocess.Popen(
        ["strace", "-f", "-qq", "-p", str(pid), "-e", "trace=fsync,fdatasync",
         "-e", f"inject=fsync,fdatasync:delay_enter={FSYNC_DELAY_US}", "-o", str(trace)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def fast_disk(stage: Stage) -> None:
    strace = stage.extra.get("strace")
    if strace is None:
        return  # the injection failed before strace started
    strace.send_signal(signal.SIGINT)  # detaches from the node
    strace.wait(20)
    print(f"{stage.extra['trace'].read_text().count('(DELAYED)')} fsyncs delayed")
    client = ClusterClient([])
    try:
        await client.raw(stage.master["address"], "CONFIG", "SET", "appendonly", "no")
    finally:
        client.close()


@dataclass(frozen=True)
class Scenario:
    name: str
    inject: Action
    heal: Action
    hold: float  # seconds between the injection and the heal
    fails_over: bool  # the victim's replica is expected to take over
    both_sides: bool = False  # clients on host cb, which the partition leaves with the master


SCENARIOS = [
    Scenario("kill -9 of a master", kill_master, nothing, 0.0, True),
    Scenario("SIGSTOP/SIGCONT of a master", stop_master, continue_master, 5.0, True),
    Scenario("kill -9 of the control plane", kill_control, restart_control, 3.0, False),
    Scenario("a master cut from the control plane", cut_master_from_control, heal, 5.0, True),
    Scenario("a master cut from its replica", cut_master_from_replica, heal, 3.0, False),
    Scenario("a replica cut from everything", cut_replica_from_everything, heal, 3.0, False),
    Scenario("a master cut off with some of its clients", cut_master_but_not_its_clients,
             heal, 5.0, True, both_sides=True),
    Scenario("the control plane's clock jumps 60 s forward", jump_control_clock, nothing,
             2.0, False),
    Scenario("a slow disk under appendfsync always (fsync +100 ms)", slow_disk, fast_disk,
             3.0, False),
]


@dataclass
class Outcome:
    victim: str
    failovers: list[Any]
    failed_over: bool  # the control plane counted a failover during the scenario
    slowest: float  # the slowest write acknowledged by the victim's shard during the fault
    ops: int
    availability: float
    unavailable: float  # the longest a shard answered nothing, from the fault on
    lost: list[Op]
    verdicts: list[Verdict]
    injecting: float  # when the injection began
    fault_at: float  # when it was in place
    history: list[Op]

    @property
    def linearizable(self) -> bool:
        return all(v.linearizable for v in self.verdicts)

    def line(self, name: str, durability: str, seed: int) -> str:
        bad = [v.key for v in self.verdicts if v.linearizable is not True]
        verdict = "linearizable" if not bad else f"NOT linearizable ({len(bad)} of " \
            f"{len(self.verdicts)} keys: {', '.join(bad)})"
        return (f"[{durability}, seed {seed}] {name}: {self.ops} operations, availability "
                f"{self.availability:.1%}, unavailable {self.unavailable:.2f}s, "
                f"{len(self.lost)} acknowledged writes lost, {verdict}")


def slots_of(shard: dict[str, Any]) -> set[int]:
    """The slots of a shard of the status document ("0-5460 6000")."""
    slots: set[int] = set()
    for piece in shard["slots"].split():
        first, _, last = piece.partition("-")
        slots.update(range(int(first), int(last or first) + 1))
    return slots


def unavailability(history: list[Op], shards: list[set[int]], start: float,
                   end: float) -> float:
    """The longest stretch within [start, end] in which some shard (no slot moves here)
    completed no operation successfully."""
    worst = 0.0
    for slots in shards:
        done = sorted(op.complete for op in history
                      if op.output not in (UNKNOWN, REFUSED) and op.client >= 0
                      and key_slot(op.key.encode()) in slots
                      and start <= op.complete <= end)
        marks = [start, *done, end]
        worst = max(worst, max(b - a for a, b in zip(marks, marks[1:], strict=False)))
    return worst


async def play(lab: Lab, cluster: FaultCluster, scenario: Scenario, seed: int) -> Outcome:
    await cluster.ready()
    rng = random.Random(seed)
    shard = rng.choice(cluster.shards())
    stage = Stage(lab, cluster, shard["master"], shard["replicas"][0])
    keys = Keys.spread(f"{seed}:", 12, 6)
    seconds = FAULT_AT + scenario.hold + TAIL
    failovers = cluster.status().get("failover_count", 0)
    other_side = None
    if scenario.both_sides:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(WORKLOAD.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
        other_side = await asyncio.create_subprocess_exec(
            *lab.exec("cb", sys.executable, str(WORKLOAD), stage.master["address"], str(seed),
                      "100", "2", str(seconds), json.dumps(keys.__dict__)),
            stdout=asyncio.subprocess.PIPE, env=env)
    work = asyncio.create_task(run_workload(cluster.seeds(), seed, 0, CLIENTS, seconds, keys))
    await asyncio.sleep(FAULT_AT)
    injecting = time.monotonic()
    try:
        await scenario.inject(stage)
        fault_at = time.monotonic()  # the fault is in place by now: a bound from above
        await asyncio.sleep(scenario.hold)
    finally:
        await scenario.heal(stage)  # whatever happened: the next scenario starts whole
    history = await work
    if other_side is not None:
        stdout, _ = await asyncio.wait_for(other_side.communicate(), 60)
        history += [Op.from_json(row) for row in json.loads(stdout)]
    end = max(op.complete for op in history if not math.isinf(op.complete))
    await cluster.ready()
    final = await final_reads(cluster.seeds(), keys)
    history += final
    members = {op.key: op.output for op in final if op.kind == "smembers"}
    worked = [op for op in history if op.client >= 0]
    saved = cluster.directory.path / f"history-{seed}.json"
    saved.write_text(json.dumps([op.to_json() for op in history]))
    checking = time.monotonic()
    verdicts = check(history)
    print(f"history in {saved}, checked in {time.monotonic() - checking:.1f}s")
    victim = slots_of(shard)
    wall = time.time() - time.monotonic()  # the failover record's times are wall clock
    return Outcome(
        victim=f"{stage.master['name']} at {stage.master['address']}, replica "
               f"{stage.replica['name']} at {stage.replica['address']}",
        failovers=[{**f, "at": round(f["at"] - wall - fault_at, 3)}
                   for f in cluster.status().get("failovers", [])[-3:]],
        failed_over=cluster.status().get("failover_count", 0) > failovers,
        slowest=max((op.complete - op.invoke for op in worked
                     if op.kind in ("set", "incr", "sadd") and not op.indeterminate
                     and op.output != REFUSED and fault_at <= op.invoke <= fault_at + scenario.hold
                     and key_slot(op.key.encode()) in victim), default=0.0),
        ops=len(worked),
        availability=sum(op.output not in (UNKNOWN, REFUSED) for op in worked) / len(worked),
        unavailable=unavailability(history, [slots_of(s) for s in cluster.shards()],
                                   fault_at, end),
        lost=lost_acknowledged(history, members), verdicts=verdicts,
        injecting=injecting, fault_at=fault_at, history=history)


@pytest.fixture(scope="module", params=["zero-loss", "async"])
def cluster(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultCluster]:
    try:
        lab = Lab(tag=["zero-loss", "async"].index(request.param))
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"cannot create network namespaces: {exc}")
    made = None
    try:
        made = FaultCluster(lab, tmp_path_factory.mktemp("faults") / "cluster",
                            request.param, DOWN_AFTER_MS)
        made.start_control()
        asyncio.run(made.ready(120))
        yield made
    finally:
        if made is not None:
            made.stop()
        lab.close()


def report(outcome: Outcome, scenario: Scenario, durability: str, seed: int) -> str:
    line = outcome.line(scenario.name, durability, seed)
    print(line)
    details = [line]
    for verdict in outcome.verdicts:
        if verdict.linearizable is not True:
            details.append(f"key {verdict.key} ({verdict.ops} operations): "
                           f"{verdict.explanation}")
    for op in outcome.lost[:10]:
        details.append(f"lost: client {op.client} SADD {op.key} {op.arg} acknowledged by "
                       f"{op.node} at {op.complete - outcome.fault_at:+.3f}s from the fault")
    details.append(f"victim {outcome.victim}; failovers (s from the fault): "
                   f"{outcome.failovers}")
    return "\n".join(details)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fault(cluster: FaultCluster, scenario: Scenario, request: pytest.FixtureRequest) -> None:
    if scenario.inject is jump_control_clock and cluster.spec.durability == "async":
        # An open bug, seen once in CI (seed 8): after the jump, with no failover, a master
        # lost 31 writes it had acknowledged in the first 0.1 s; not yet explained.
        request.applymarker(pytest.mark.xfail(
            strict=False, reason="async mode lost acknowledged writes after a clock jump"))
    seed = SEED + SCENARIOS.index(scenario)
    print(f"REDSLOT_FAULT_SEED={SEED} (this scenario: {seed})")
    outcome = asyncio.run(play(cluster.lab, cluster, scenario, seed))
    details = report(outcome, scenario, cluster.spec.durability, seed)
    assert outcome.ops > 100, details
    # The fault took effect: a failover exactly when one is due, a slow disk seen.
    assert outcome.failed_over == scenario.fails_over, details
    if scenario.inject is slow_disk:
        assert outcome.slowest >= FSYNC_DELAY_US / 1e6, details
    if cluster.spec.durability == "zero-loss":
        assert not outcome.lost, details
        assert outcome.linearizable, details
    else:
        # Asynchronous replication: a failover may lose what the master acknowledged after
        # its replica last got the stream (lag: allowed 1 s) and before its lease ran out.
        bound = outcome.fault_at + cluster.lease * 1.01 + 0.1
        late = [op for op in outcome.lost
                if not outcome.injecting - 1.0 <= op.complete <= bound]
        assert not late, details
        if not scenario.fails_over:
            assert not outcome.lost, details
