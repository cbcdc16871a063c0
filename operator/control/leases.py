"""Keeping every node's lease alive, and knowing when a node's lease has surely run out.

Fencing (docs in the README): a node serves its slots only while it holds a lease, which
this keeper renews a few times per lease, independently of the reconcile passes (a long
pass must not let healthy masters' leases lapse). A replica takes a master's place only once
``surely_expired(master, replica)``: the last stamp a renewal to the master was anchored at
was received more than the lease, stretched by the clock-rate margin, plus some slack ago,
on this side's clock, and the replica's own clock agrees. Retries to a node that stopped
answering resend the same stamp, so they extend nothing.

Why two clocks: this side's clock alone is one clock that may jump. A forward jump (a bad
clock source, a VM resumed) made every lease look over at once; the observations in
flight timed out at the same instant, so a healthy master looked silent for a minute, and
its replica was promoted while the master still held its lease on its own clock: two
masters, and the old one's writes of that moment were lost when it resynced. The
replica's clock is read in its renewal replies: a replica stamp asked for ``g`` seconds
(this side's clock) before the master's anchoring stamp was received was read at most
``g`` before that, and a forward jump here only makes ``g`` look longer; so once the
replica's clock has run ``g`` plus the stretched lease past that stamp, the master's lease
is over whatever this side's clock did. The replica's readings come from the renewals
(a few per lease), so the confirmation lags by at most one renewal period.

A node keeps the latest end of every grant it took, so a lease shortened (``retune``) does
not shorten the grants already made: each node's bound is kept per length granted (the
latest stamp each length was anchored at), both clocks must see every one of them over,
and so a new length applies to the next grants at once. Such an anchor stays put, so each
witness's first reading after it is kept (its latest readings move on), and both are
dropped once the node's own clock, read in a later stamp, has passed that grant's end.

A keeper that just started knows nothing of the grants a previous control plane made:
every lease may run until a lease after its start, so no failover happens before that.

Each node is renewed only when its table is at least as new as its shard's config epoch (the
node checks): a deposed master gets no lease until it has heard of its successor.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable

from redslot.common.beat import next_beat, sleep_until

from ..actions.connection import Connections, NodeError
from ..actions.lease import Stamp, renew
from ..model.record import Record

# Monotonic clocks on two machines may run at different rates; NTP slews CLOCK_MONOTONIC by
# at most 500 ppm, and 1% leaves room for unsynchronised clocks as well.
CLOCK_DRIFT = 0.01
SLACK = 0.1  # seconds: scheduling on this side between a reading and acting on it
# Renewals per lease. A grant runs from the stamp of the renewal before, so a node holds two
# thirds of a lease right after one: a round may come a third of a lease late (1 s at the
# default 3000 ms; a longer --down-after-ms gives more) before a lease lapses and the master
# answers CLUSTERDOWN until the next round. Six gave twice that margin and cost each idle node
# two wake-ups a second; four gave half a lease, but its 0.75 s rounds fall off the 1 s beat
# of the nodes' and the control plane's other timers (beat.py): the control plane woke 8
# times a second instead of 3 (tests/cluster/test_local_cluster.py bounds it).
PERIOD_SHARE = 3
# Readings kept per node for the witness check: enough to span a lease and more. The first
# reading after each anchor that no longer moves (an earlier length's, the keeper's start)
# is kept as well, however old: it is the one that witnesses that grant's end.
READINGS_KEPT = 4 * PERIOD_SHARE


class RecordChanged(Exception):
    """The node left every shard while its renewal was under way."""


class LeaseKeeper:
    def __init__(self, conns: Connections, duration_ms: int) -> None:
        """``conns``: the control plane's own short-timeout connections, shared so that
        the renewals follow its password and TLS files as they rotate (a keeper with a
        password of its own would lose every lease once the old password is removed)."""
        self.duration_ms = duration_ms
        self.conns = conns
        self.started = time.monotonic()
        self.stamps: dict[str, Stamp] = {}  # node name -> the last stamp it handed out
        self.readings: dict[str, deque[Stamp]] = {}  # node name -> its latest stamps
        # Node name -> a fixed anchor (this side's clock) -> its first stamp asked for after it.
        self.firsts: dict[str, dict[float, Stamp]] = {}
        # Node name -> lease length (ms) -> the last stamp a grant of that length was anchored at.
        self.anchored: dict[str, dict[int, Stamp]] = {}
        # The length assumed for an earlier control plane's grants, counted from ``started``.
        self.inherited_ms = duration_ms
        # The anchors of every node's grants of lengths other than the current one: with
        # ``started``, those that no longer move. Only a retune or a grant outlived
        # changes them, so they are kept, not gathered from every node at each renewal.
        self.fixed_grants: set[float] = set()
        self.inflight: dict[str, asyncio.Task[None]] = {}

    def bounds(self, name: str) -> list[tuple[float, float]]:
        """Each grant the node may still be serving on: (anchor on this side's clock, lease
        length in seconds); an earlier control plane's, from this keeper's start, first."""
        return [(self.started, self.inherited_ms / 1000)] + [
            (stamp.at, duration_ms / 1000)
            for duration_ms, stamp in self.anchored.get(name, {}).items()]

    def expires_at(self, name: str) -> float:
        """The latest monotonic time (this side's clock) the node may still be serving."""
        return max(anchor + lease * (1 + CLOCK_DRIFT) + SLACK
                   for anchor, lease in self.bounds(name))

    def surely_expired(self, name: str, witness: str) -> bool:
        """Whether the node ``name`` has surely stopped serving on every lease granted so
        far, by this side's clock and by the clock of ``witness`` (a replica of it)."""
        return self.expired_here(name) and self.witnessed(name, witness)

    def expired_here(self, name: str) -> bool:
        return time.monotonic() >= self.expires_at(name)

    def witnessed(self, name: str, witness: str) -> bool:
        """The witness's own clock has run past the latest end of each of ``name``'s grants."""
        readings = self.readings.get(witness)
        if not readings:
            return False
        latest = readings[-1]
        candidates = [*readings, *self.firsts.get(witness, {}).values()]
        return all(
            any(reading.run_id == latest.run_id and latest.ms - reading.ms
                >= ((max(0.0, anchor - reading.sent) + lease) * (1 + CLOCK_DRIFT) + SLACK)
                * 1000 for reading in candidates)
            for anchor, lease in self.bounds(name))

    def retune(self, duration_ms: int) -> None:
        """A new lease length for the grants from now on; those made already keep theirs.
        Until the first grant, an earlier control plane's are taken to have had it too."""
        changed = duration_ms != self.duration_ms
        self.duration_ms = duration_ms
        if not self.anchored:
            self.inherited_ms = duration_ms
        if changed:
            self._fix_grants()

    def _fix_grants(self) -> None:
        self.fixed_grants = {stamp.at for grants in self.anchored.values()
                             for length, stamp in grants.items() if length != self.duration_ms}

    def anchor(self, name: str, stamp: Stamp) -> int:
        """Note that a grant anchored at ``stamp`` goes out now; returns its length."""
        duration_ms = self.duration_ms
        grants = self.anchored.setdefault(name, {})
        noted = grants.get(duration_ms)
        if noted is None or noted.at < stamp.at:
            grants[duration_ms] = stamp
        return duration_ms

    def outlived(self, name: str, stamp: Stamp) -> None:
        """Forget the grants of other lengths that ``stamp``, read on the node's own clock,
        shows over (the node's lease ends at the latest of its grants' ends)."""
        grants = self.anchored.get(name, {})
        for duration_ms, anchor in list(grants.items()):
            if (duration_ms != self.duration_ms and anchor.run_id == stamp.run_id
                    and stamp.ms >= anchor.ms + duration_ms):
                del grants[duration_ms]
                self._fix_grants()

    def renew_all(self, record: Record) -> None:
        """Start a renewal of every node of every shard whose previous one has finished: a
        node that hangs holds up no other node's renewals."""
        targets = {name: record.nodes[name].address
                   for shard in record.shards for name in shard.members if name in record.nodes}
        for name, address in targets.items():
            task = self.inflight.get(name)
            if task is None or task.done():
                self.inflight[name] = asyncio.create_task(self.renew_one(name, address, record))
        for name in set(self.stamps) - set(targets):
            del self.stamps[name]
        for name in set(self.readings) - set(targets):
            del self.readings[name]
        for name in set(self.firsts) - set(targets):
            del self.firsts[name]
        for name in [n for n, task in self.inflight.items() if n not in targets and task.done()]:
            del self.inflight[name]

    def renew_first(self, record: Record, names: Iterable[str]) -> None:
        """Start the first renewal of those of ``names`` this keeper never renewed, now
        rather than at its next round, up to a third of a lease away (5 s under a 15 s
        lease): a master added by a scale, just given its table, refuses the keys a reshard
        brings it (CLUSTERDOWN) until it holds a lease. Nodes renewed before wait for
        their round as usual, so an idle cluster sees no more renewals."""
        for name in names:
            task = self.inflight.get(name)
            node = record.nodes.get(name)
            if (name not in self.stamps and node is not None
                    and (task is None or task.done())):
                self.inflight[name] = asyncio.create_task(
                    self.renew_one(name, node.address, record))

    async def renew_one(self, name: str, address: str, record: Record) -> None:
        """The node's shard's config epoch is read just before each grant goes out, after
        its anchor is noted: a failover decided meanwhile (on the anchors noted so far)
        raised it, so the deposed master, whose table is older, gets nothing from a
        renewal that was under way (one resumed after the control plane was stopped)."""
        stamp = self.stamps.get(name)
        try:
            fresh = await self.grant(record, name, address, stamp)
            self.outlived(name, fresh)
            if stamp is None or stamp.run_id != fresh.run_id or fresh.remaining_ms == 0:
                # First contact with this process, or a node that answered too late for
                # the stamp it was given (it was stalled): grant now, not a period later.
                fresh = await self.grant(record, name, address, fresh)
                self.outlived(name, fresh)
        except (*NodeError, RecordChanged):
            return  # the next round tries again, anchored at the same stamp
        self.stamps[name] = fresh
        self.note_reading(name, fresh)

    def note_reading(self, name: str, fresh: Stamp) -> None:
        """Keep ``fresh`` among the node's latest readings, and its first reading after
        each anchor that no longer moves: the current length's anchors move on with every
        renewal and the latest readings witness them; the readings that witness an earlier
        length's anchor (or the keeper's start) would age out."""
        readings = self.readings.setdefault(name, deque(maxlen=READINGS_KEPT))
        readings.append(fresh)
        fixed = {self.started, *self.fixed_grants}
        firsts = {anchor: reading for anchor, reading in self.firsts.get(name, {}).items()
                  if anchor in fixed and reading.run_id == fresh.run_id}
        for anchor in fixed - set(firsts):
            first = next((reading for reading in readings if reading.sent >= anchor
                          and reading.run_id == fresh.run_id), None)
            if first is not None:
                firsts[anchor] = first
        self.firsts[name] = firsts

    async def grant(self, record: Record, name: str, address: str,
                    stamp: Stamp | None) -> Stamp:
        """One renewal anchored at ``stamp``, noted (with the length it grants) before it
        goes out."""
        shard = record.shard_of(name)
        if shard is None:  # dropped from the record meanwhile: it serves nothing now
            raise RecordChanged(name)
        duration_ms = self.anchor(name, stamp) if stamp is not None else self.duration_ms
        return await renew(self.conns, address, duration_ms, shard.config_epoch, stamp)

    async def run(self, record: Callable[[], Record], stop: asyncio.Event) -> None:
        """Renew every share of a lease until ``stop``; ``record()`` is the current record."""
        try:
            while not stop.is_set():
                current = record()
                if current.formed:
                    self.renew_all(current)
                period = self.duration_ms / 1000 / PERIOD_SHARE
                # On the beat (beat.py): with the idle passes' glances and the nodes' own
                # timers. A round that started late may leave up to an eighth more.
                beat = next_beat(time.monotonic() + period / 8, period)
                try:
                    await asyncio.wait_for(stop.wait(), sleep_until(beat))
                except TimeoutError:
                    pass
        finally:
            for task in self.inflight.values():
                task.cancel()
            await asyncio.gather(*self.inflight.values(), return_exceptions=True)

