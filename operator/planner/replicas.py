"""Replica placement across hosts and zones (anti-affinity), decided before anything runs.

A replica protects its shard only from failures it does not share with the master: on the
master's host it survives nothing, in the master's zone it does not survive the zone. So
each replica goes, in order of preference, to a host not holding its master, a host not
holding another copy of the same shard, the zone holding the fewest copies of the shard,
the least loaded host, and the smallest host name, which makes the answer depend on the
input alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .slots import PlanError


@dataclass(frozen=True)
class Host:
    """A failure domain a node can run on: a Kubernetes node (or a machine) and its zone."""

    name: str
    zone: str = ""


@dataclass(frozen=True)
class ShardReplicas:
    """A shard whose master runs on ``master_host`` and wants ``replicas`` replicas."""

    shard: str
    master_host: str
    replicas: int


def place_replicas(shards: Iterable[ShardReplicas],
                   hosts: Iterable[Host]) -> dict[str, tuple[str, ...]]:
    """Each shard's replica hosts, one entry per wanted replica.

    Replicas are placed round by round (every shard's first replica, then every shard's
    second), so that the early, most valuable replicas get the best spots evenly. When
    there are too few hosts or zones the rules give way in reverse order of importance;
    a replica shares its master's host only when there is no other host.
    """
    wanted = sorted(shards, key=lambda s: s.shard)
    by_name = {host.name: host for host in sorted(hosts, key=lambda h: h.name)}
    if len({s.shard for s in wanted}) != len(wanted):
        raise PlanError("a shard is listed twice")
    if any(s.replicas < 0 for s in wanted):
        raise PlanError("a shard wants a negative number of replicas")
    if any(s.replicas for s in wanted) and not by_name:
        raise PlanError("replicas are wanted but there is no host to run them")
    zone_of = {name: host.zone for name, host in by_name.items()}
    load = Counter(s.master_host for s in wanted)
    copies = {s.shard: Counter([s.master_host]) for s in wanted}
    zones = {s.shard: Counter([zone_of.get(s.master_host, "")]) for s in wanted}
    placed: dict[str, list[str]] = {s.shard: [] for s in wanted}
    for round_ in range(max((s.replicas for s in wanted), default=0)):
        for shard in wanted:
            if round_ >= shard.replicas:
                continue
            *_, name = min((h == shard.master_host, copies[shard.shard][h],
                            zones[shard.shard][zone_of[h]], load[h], h) for h in by_name)
            placed[shard.shard].append(name)
            load[name] += 1
            copies[shard.shard][name] += 1
            zones[shard.shard][zone_of[name]] += 1
    return {shard: tuple(names) for shard, names in placed.items()}
