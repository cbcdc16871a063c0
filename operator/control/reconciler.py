"""The control loop: observe every node, decide, take one safe step, save, repeat.

One pass (``step``) runs in this order, so that safety comes before progress:

1. membership: the record gets the shards and nodes the spec asks for; the fleet (node
   processes locally, pods in Kubernetes) starts any that are missing;
2. observe every node over RESP and learn the ids of new ones;
3. form the cluster once (initial slot ranges), then heal: restarted and failed masters
   (healing.py);
4. push the table the record describes to every node that lacks it; a restarted node
   serves nothing until this push confirms its role;
5. manual failovers asked for; a rolling restart of nodes whose definition changed, one
   node at a time (rolling.py); then scaling: plan a reshard, run a time-boxed part of it
   (resharding.py), retire drained shards.

The record is saved after every change, so a control plane killed anywhere resumes from
the last finished step; every step is idempotent.

Passes run every ``PASS_INTERVAL`` while anything is under way or unhealthy, and every
``IDLE_INTERVAL`` while the cluster is Ready and a pass changed nothing (on the beat of
that interval, beat.py, as the lease renewals): an idle cluster then costs its nodes and
the control plane little. Between idle passes the spec is
checked every ``PASS_INTERVAL`` (a scale or failover request starts a pass at once), and
the fleet can ``nudge`` the loop (a node process exited) for a pass at once. The first
pass that finds something wrong brings back the short interval. The passes after a quiet
one only glance at the nodes (observe.py), with a full observation at least every
``FULL_OBSERVATION_EVERY`` seconds (the status's keys, memory and rates).

The steps get a model ``Context`` (the spec, the record, the views, the connections, and
save, event and push) and return what they decided; the loop applies it: the push after
a failover, a rolling restart's next node, the status note. The fleet, the store and the
loop's own bookkeeping stay here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

from redslot.common.beat import next_beat, sleep_until

from ..actions.connection import ClientTls, Connections
from ..actions.observe import NodeView, observe_all
from ..actions.push import push_everywhere
from ..model.context import Context
from ..model.record import NodeRecord, Record, ShardRecord, Spec
from ..model.table import agreed, next_epoch, render, shape
from ..planner import initial_ranges
from .healing import Healing
from .leases import LeaseKeeper
from .resharding import Resharding
from .rolling import HAND_OVER_REASON, Rolling
from .status import status_document

log = logging.getLogger("redslot.operator")

PASS_INTERVAL = 0.25
IDLE_INTERVAL = 1.0
DISAGREEMENT_PASSES = 8
OBSERVE_TIMEOUT = 1.0
FULL_OBSERVATION_EVERY = 5.0


class Fleet(Protocol):
    """Where nodes run."""

    async def ensure(self, nodes: Iterable[NodeRecord]) -> None:
        """Start the nodes that are not running; restarts are the fleet's own job."""

    async def retire(self, names: Iterable[str]) -> None:
        """Stop these nodes for good and drop their data."""

    def allocate(self, name: str, taken: set[str]) -> str:
        """An address for a new node, not in ``taken``."""

    def pid(self, name: str) -> int | None:
        """The node's process id, where there is one to show."""

    def outdated(self) -> set[str]:
        """Nodes running an older definition than the one wanted (rolling restarts)."""

    async def restart(self, name: str) -> None:
        """Restart one node (it comes back held, with its data)."""


class Access(Protocol):
    """Credentials kept on the nodes beyond what starts them (users from Secrets, password
    rotation), brought up to date at every pass after the observation."""

    async def sync(self, ctx: Context) -> None: ...


class RecordSuperseded(Exception):
    """The stored record was written by someone else since this loop last read or wrote it
    (a second operator that ran beside this one): ``record`` is the stored one. Whatever
    this loop decided since was never pushed to a node (pushes wait for the store), so it
    adopts the stored record and decides again from there."""

    def __init__(self, record: Record) -> None:
        super().__init__("the record was written by another control loop")
        self.record = record


class Store(Protocol):
    """Where the spec is read and the record and status are kept. A store shared by
    several control loops refuses a write based on a record that another one changed
    (RecordSuperseded, from ``flush`` or ``save_record``)."""

    def load_spec(self) -> Spec: ...

    def load_record(self) -> Record | None: ...

    def save_record(self, record: Record) -> None: ...

    def publish(self, status: dict[str, Any]) -> None: ...

    async def flush(self) -> None:
        """Return once every saved record is stored for good."""


class Reconciler:
    def __init__(self, fleet: Fleet, store: Store, password: str | None = None,
                 tls: ClientTls | None = None, access: Iterable[Access] = (),
                 spec_signalled: bool = False) -> None:
        """``spec_signalled``: the front end nudges the loop whenever the spec changes
        (locally the CLI signals ``up``), so the pauses need not read it."""
        self.fleet = fleet
        self.spec_signalled = spec_signalled
        self.store = store
        self.access = list(access)
        self.record = store.load_record() or Record()
        self.conns = Connections(password, timeout=OBSERVE_TIMEOUT, tls=tls)
        self.slow = Connections(password, timeout=30.0, tls=tls)
        self.views: dict[str, NodeView] = {}
        self.spec: Spec | None = None
        self.last_error = ""
        self.status_note = ""
        self.disagreeing = 0  # passes in a row with nodes seeing different slot owners
        self.replaced: set[str] = set()  # nodes that came back with a new id, until confirmed
        self.healing = Healing()
        self.leases = LeaseKeeper(self.conns, Spec(shards=1, replicas=0).lease_ms)
        self.resharding = Resharding()
        self.rolling = Rolling()
        self.saves = 0  # records saved so far: a pass that saved one changed something
        self.glancing = False  # the last pass was quiet: the next one may only glance
        self.observed_fully = 0.0  # when every node was last observed in full
        self.woken = asyncio.Event()

    # --- the loop ---

    async def run(self, stop: asyncio.Event, interval: float = PASS_INTERVAL,
                  idle_interval: float = IDLE_INTERVAL) -> None:
        keeper = asyncio.create_task(self.leases.run(lambda: self.record, stop))
        stopping = asyncio.create_task(self.wake_on(stop))
        try:
            while not stop.is_set():
                saves = self.saves
                self.resharding.unfinished = False
                try:
                    await self.step()
                    self.last_error = ""
                except RecordSuperseded as taken:
                    self.adopt(taken.record)
                except Exception as exc:  # a failed pass is retried; the loop never dies
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("reconcile pass failed")
                ready = self.publish()
                quiet = ready and self.saves == saves and self.quiet()
                self.glancing = quiet
                if self.resharding.unfinished:
                    pause = 0.0
                elif quiet:  # on the beat (beat.py), with a round of lease renewals
                    pause = sleep_until(next_beat(time.monotonic() + idle_interval / 2,
                                                  idle_interval))
                else:
                    pause = interval
                await self.pause(stop, pause,
                                 max(pause, interval) if self.spec_signalled else interval)
        finally:
            stopping.cancel()
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        await self.close()

    def adopt(self, record: Record) -> None:
        """Take the stored record over this loop's own, which lost the race to store it."""
        log.warning("the stored record changed under this control loop (another operator "
                    "wrote it): taking it over, epoch %d -> %d", self.record.epoch, record.epoch)
        self.record = record
        self.last_error = "the record was written by another control loop; reloaded"

    def quiet(self) -> bool:
        """Nothing in progress that the next pass must follow closely."""
        return (not self.last_error and not self.status_note and not self.disagreeing
                and self.healing.quiet())

    async def pause(self, stop: asyncio.Event, seconds: float, check_every: float) -> None:
        """Wait ``seconds`` before the next pass, or less: stopped, nudged, or the spec
        changed (read every ``check_every``: reading it costs no node anything)."""
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self.woken.wait(), min(left, check_every))
            except TimeoutError:
                if left > check_every and self.spec_changed():
                    return
                continue
            self.woken.clear()
            return

    def spec_changed(self) -> bool:
        try:
            return self.store.load_spec() != self.spec
        except RecordSuperseded as taken:
            self.adopt(taken.record)
            return True
        except Exception:  # a spec that does not load: the pass reports why
            return True

    def nudge(self) -> None:
        """Start the next pass now (the fleet saw a node process exit)."""
        self.woken.set()

    async def wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.woken.set()

    async def close(self) -> None:
        await self.conns.close()
        await self.slow.close()

    async def step(self) -> None:
        spec = self.spec = self.store.load_spec()
        self.leases.retune(spec.lease_ms)
        self.ensure_members(spec)
        await self.fleet.ensure(self.record.nodes.values())
        await self.observe()
        await self.sync_access(spec)
        if not self.record.formed:
            await self.form(spec)
            return
        ctx = self.context(spec)
        healed = self.healing.run(ctx)
        if healed.failed_over:
            await self.push(exclude=healed.awaiting)
            return
        self.check_agreement()
        await self.push(exclude=healed.awaiting)
        if await self.healing.manual(ctx):
            return
        if await self.roll(ctx):
            return
        await self.resharding.run(ctx)

    def context(self, spec: Spec) -> Context:
        """What the steps get of this pass (after the observation)."""
        return Context(spec, self.record, self.views, self.conns, self.slow, self.replaced,
                       self.save, self.event, self.push, self.leases.surely_expired)

    async def roll(self, ctx: Context) -> bool:
        """A rolling restart's next move, if any; True when it acted."""
        outdated = self.fleet.outdated()
        roll = self.rolling.run(ctx, outdated)
        if roll.note is not None:
            self.status_note = roll.note
        if roll.restart is not None:
            await self.fleet.restart(roll.restart)
            return True
        if roll.hand_over is not None:
            return await self.healing.switch_over(ctx, roll.hand_over, HAND_OVER_REASON,
                                                  avoid=frozenset(outdated))
        return False

    async def observe(self) -> None:
        addresses = {name: node.address for name, node in self.record.nodes.items()}
        before = {view.address: view for view in self.views.values() if view.reachable}
        now = time.monotonic()
        if (self.glancing and now - self.observed_fully < FULL_OBSERVATION_EVERY
                and all(address in before for address in addresses.values())):
            by_address = await observe_all(self.conns, list(addresses.values()), before)
        else:
            self.observed_fully = now
            by_address = await observe_all(self.conns, list(addresses.values()))
        self.views = {name: by_address[address] for name, address in addresses.items()}
        for name, view in self.views.items():
            node = self.record.nodes[name]
            if view.reachable and view.id != node.id:
                if node.id:
                    self.event(f"node {name} came back with a new id {view.id[:8]} "
                               f"(was {node.id[:8]}): it lost its data")
                    self.replaced.add(name)
                node.id = view.id
                self.save()

    async def sync_access(self, spec: Spec) -> None:
        """Credentials never hold the pass up: healing and the rest run even when a
        Secret cannot be read (the error is logged and retried at the next pass)."""
        for access in self.access:
            try:
                await access.sync(self.context(spec))
            except Exception:
                log.exception("credentials pass failed")

    def check_agreement(self) -> None:
        """Nodes that disagree for a while (a push between peers lost or reordered) get
        the whole table again with a new epoch; never while a reshard moves slots."""
        if self.record.reshard is not None or agreed(self.views):
            self.disagreeing = 0
            return
        self.disagreeing += 1
        if self.disagreeing >= DISAGREEMENT_PASSES:
            self.event("nodes disagree about slot owners: pushing the table again")
            self.record.pushed_shape = ""
            self.disagreeing = 0

    # --- membership ---

    def ensure_members(self, spec: Spec) -> None:
        """Shards and replicas in the record as the spec says; new names get addresses."""
        record = self.record
        changed = False
        active = [s for s in record.shards if not s.retiring]
        for shard in sorted((s for s in record.shards if s.retiring),
                            key=lambda s: shard_index(s.name)):
            if len(active) >= spec.shards:
                break
            shard.retiring = False
            active.append(shard)
            changed = True
        while len(active) < spec.shards:
            used = {shard_index(s.name) for s in record.shards}
            name = f"shard-{min(set(range(len(used) + 1)) - used)}"
            shard = ShardRecord(name, master=self.new_node(name))
            record.shards.append(shard)
            active.append(shard)
            changed = True
        if record.formed and len(active) > spec.shards:
            for shard in sorted(active, key=lambda s: shard_index(s.name))[spec.shards:]:
                shard.retiring = True
                self.event(f"{shard.name} is retiring: its slots move to the other shards")
            changed = True
        for shard in record.shards:
            wanted = 0 if shard.retiring else spec.replicas
            while len(shard.replicas) < wanted:
                shard.replicas.append(self.new_node(shard.name))
                changed = True
            while len(shard.replicas) > wanted and not shard.retiring:
                name = shard.replicas.pop(self.least_useful_replica(shard))
                record.retire_nodes([name])
                changed = True
        if changed:
            self.save()

    def new_node(self, shard: str) -> str:
        used = {name for name in self.record.nodes}
        index = 0
        while f"{shard}-{index}" in used:
            index += 1
        name = f"{shard}-{index}"
        taken = {node.address for node in self.record.nodes.values()}
        self.record.nodes[name] = NodeRecord(name, self.fleet.allocate(name, taken))
        return name

    def least_useful_replica(self, shard: ShardRecord) -> int:
        """The replica to remove first: unreachable, then the least data."""
        def usefulness(index: int) -> tuple[bool, int]:
            view = self.views.get(shard.replicas[index])
            return (view is not None and view.reachable, view.offset if view else 0)
        return min(range(len(shard.replicas)), key=usefulness)

    # --- formation ---

    async def form(self, spec: Spec) -> None:
        """Every node up and known: split the slots, number the masters' epochs apart."""
        record = self.record
        waiting = [name for name, view in self.views.items() if not view.reachable]
        if waiting:
            self.status_note = f"waiting for {len(waiting)} node(s) to start"
            return
        self.status_note = ""
        for index, (shard, ranges) in enumerate(
                zip(record.shards, initial_ranges(len(record.shards)), strict=True)):
            shard.set_slots(set(ranges.slots()))
            shard.config_epoch = index + 1
        record.epoch = len(record.shards)
        record.formed = True
        self.event(f"forming the cluster: {len(record.shards)} shards, "
                   f"{spec.replicas} replica(s) each")
        await self.push(exclude=set())

    # --- the table ---

    async def push(self, exclude: AbstractSet[str]) -> None:
        """Make every reachable node (but ``exclude``) hold the record's table.

        The record is stored first: no node acts on a decision that a control plane
        started again would not find."""
        record = self.record
        await self.store.flush()
        if record.retired:
            # Stopped before the table without them goes out, so they cannot add
            # themselves back by pushing their own table to a peer.
            await self.fleet.retire(record.retired)
            record.retired = []
            self.save()
        current = shape(record)
        targets = [name for name, view in self.views.items()
                   if view.reachable and name not in exclude and name in record.nodes]
        if current != record.pushed_shape:
            record.epoch = next_epoch(record, self.views)
            record.pushed_shape = current
            self.save()
        else:
            targets = [name for name in targets if self.views[name].held
                       or self.views[name].topology_epoch != record.epoch]
            if not targets:
                return
            if any(self.views[name].topology_epoch >= record.epoch for name in targets):
                record.epoch = next_epoch(record, self.views)  # a node restarted at it: confirm it
                self.save()
                targets = [name for name, view in self.views.items()
                           if view.reachable and name not in exclude and name in record.nodes]
        table = render(record, self.views)
        results = await push_everywhere(
            self.conns, [record.nodes[name].address for name in targets], record.epoch, table)
        for name in targets:
            error = results[record.nodes[name].address]
            if error is not None:
                log.warning("push of epoch %d to %s failed: %s", record.epoch, name, error)
            elif self.views[name].held:
                log.info("%s confirmed (epoch %d)", name, record.epoch)
                self.replaced.discard(name)
        if record.formed:  # a node new to the keeper serves once it holds a lease
            self.leases.renew_first(record, [name for name in targets
                                             if results[record.nodes[name].address] is None])

    # --- bookkeeping ---

    def save(self) -> None:
        self.store.save_record(self.record)
        self.saves += 1

    def event(self, text: str) -> None:
        log.info("%s", text)
        stamp = time.strftime("%H:%M:%S")
        self.record.events = [*self.record.events[-49:], f"{stamp} {text}"]
        self.save()

    def publish(self) -> bool:
        """Publish the status; whether the cluster is Ready."""
        document = status_document(
            self.record, self.views, self.spec, self.fleet.pid, note=self.status_note,
            error=self.last_error, reshard_error=self.resharding.error)
        self.store.publish(document)
        return bool(document["ready"])


def shard_index(name: str) -> int:
    return int(name.rsplit("-", 1)[1])
