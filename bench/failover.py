#!/usr/bin/env python3
"""Time until writes to a failed master's slots work again: redslot vs Redis 7.

Both clusters have 3 masters with one replica each. Each round picks the master of a fixed
key's slot, fails it, and from that instant tries ``SET key`` every 20 ms until one is
acknowledged; the figure is the time from the failure to that acknowledgement. Each attempt
is what a cluster client does: ask a live node (a different one each attempt) for CLUSTER
SLOTS, open a fresh connection to the slot's master, SET, follow one MOVED. An attempt whose
route still names the failed master counts as failed without connecting (a stopped process
would only make it wait for a timeout; the outcome is the same).

Two ways to fail a master:

- kill: ``kill -9``. Redis: the node is restarted by hand (same dir, same nodes.conf) and
  rejoins as a replica. redslot: its supervisor restarts the node, which rejoins as a replica
  after the control plane promoted the old replica.
- stop: SIGSTOP, a hung master (SIGCONT once a write succeeded): Redis and the control plane
  must notice it without a closed connection to tell them.

Between rounds, both clusters are back to full health: every shard with a master and an
in-sync replica. Redis: redis-server, cluster-enabled, cluster-node-timeout 3000, formed with
``redis-cli --cluster create --cluster-replicas 1``. redslot: ``redslot up --shards 3
--replicas 1`` with its default down-after-ms (3000), masters and pids from ``redslot status
--json``.

    python3 bench/failover.py                   # 20 rounds per system and scenario
    python3 bench/failover.py --rounds 2        # a quick smoke run
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import redis
from redis.crc import key_slot

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_common import (  # noqa: E402
    RedisCluster,
    RedslotLocal,
    connect,
    healthy_redslot,
    percentile,
    slot_owner,
    wait_until,
    write_results,
)

KEY = b"failover:probe"
SLOT = key_slot(KEY)
ATTEMPT_INTERVAL = 0.02
ATTEMPT_TIMEOUT = 0.25
NODE_TIMEOUT_MS = 3000
OUTAGE_LIMIT = 120.0
HEAL_LIMIT = 120.0
SCENARIOS = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}


class Outcome(NamedTuple):
    seconds: float
    promoted: bool  # the write was taken by another node, not the failed one back


def attempt_write(asker: int, stopped: int | None, value: bytes) -> int | None:
    """One client attempt: route through ``asker``'s CLUSTER SLOTS, SET on the master.

    The port that acknowledged the write, None if the attempt failed.
    """
    try:
        owner = slot_owner(asker, SLOT, ATTEMPT_TIMEOUT)
        for _ in range(2):
            if owner is None or owner == stopped:
                return None
            with connect(owner, ATTEMPT_TIMEOUT) as r:
                try:
                    return owner if r.set(KEY, value) is True else None
                except redis.ResponseError as exc:
                    if not str(exc).startswith("MOVED"):
                        return None
                    owner = int(str(exc).rsplit(":", 1)[1])
    except (redis.RedisError, OSError):
        return None
    return None


def outage(live: list[int], stopped: int | None, failed_at: float) -> tuple[float, int]:
    """Seconds from ``failed_at`` until a SET of the key is acknowledged, and by which port."""
    attempt = 0
    while True:
        asker = live[attempt % len(live)]
        attempt += 1
        if (port := attempt_write(asker, stopped, b"%d" % attempt)) is not None:
            return time.monotonic() - failed_at, port
        elapsed = time.monotonic() - failed_at
        if elapsed > OUTAGE_LIMIT:
            raise TimeoutError(f"writes did not come back within {OUTAGE_LIMIT:.0f}s")
        time.sleep(max(0.0, attempt * ATTEMPT_INTERVAL - elapsed))


def fail_and_measure(pid: int, sig: signal.Signals, live: list[int], failed: int) -> Outcome:
    """Fail the master ``pid`` (on port ``failed``) with ``sig``; seconds until a write works.

    A killed master's port may legitimately serve again (a restarted process), so only a
    stopped one is skipped as a route.
    """
    if attempt_write(live[0], None, b"before") is None:
        raise RuntimeError("the key is not writable before the failure")
    failed_at = time.monotonic()
    os.kill(pid, sig)
    try:
        seconds, port = outage(live, failed if sig == signal.SIGSTOP else None, failed_at)
        return Outcome(seconds, port != failed)
    finally:
        if sig == signal.SIGSTOP:
            os.kill(pid, signal.SIGCONT)


Round = Callable[[signal.Signals], Outcome]


@contextmanager
def redis_rounds() -> Iterator[Round]:
    with RedisCluster(6, NODE_TIMEOUT_MS) as cluster:
        cluster.create(cluster.ports, replicas=1)

        def one_round(sig: signal.Signals) -> Outcome:
            master = slot_owner(cluster.ports[0], SLOT)
            assert master is not None
            live = [p for p in cluster.ports if p != master]
            outcome = fail_and_measure(cluster.pid(master), sig, live, master)
            if sig == signal.SIGKILL:
                cluster.reap(master)
                cluster.start(master)
            cluster.wait_ok(cluster.ports, HEAL_LIMIT)
            wait_until("the failed master back as a linked replica",
                       lambda: replica_linked(master), HEAL_LIMIT)
            cluster.wait_ok(cluster.ports, HEAL_LIMIT)
            return outcome

        yield one_round


def replica_linked(port: int) -> bool:
    with connect(port, 1) as r:
        info = r.info("replication")
    return info["role"] == "slave" and info.get("master_link_status") == "up"


@contextmanager
def redslot_rounds() -> Iterator[Round]:
    with RedslotLocal(3, 1) as local:
        wait_until("redslot shards with in-sync replicas",
                   lambda: healthy_redslot(local.status(), 1), HEAL_LIMIT, interval=0.5)

        def one_round(sig: signal.Signals) -> Outcome:
            status = local.status()
            shard = next(s for s in status["shards"] if SLOT in slot_set(s["slots"]))
            master = shard["master"]
            live = [n["port"] for s in status["shards"] for n in (s["master"], *s["replicas"])
                    if n["port"] != master["port"]]
            outcome = fail_and_measure(master["pid"], sig, live, master["port"])
            wait_until("redslot healed", lambda: healed(local.status(), master, sig),
                       HEAL_LIMIT, interval=0.5)
            return outcome

        yield one_round


def slot_set(ranges: str) -> set[int]:
    slots: set[int] = set()
    for part in ranges.split():
        start, _, end = part.partition("-")
        slots.update(range(int(start), int(end or start) + 1))
    return slots


def healed(status: dict[str, Any], failed: dict[str, Any], sig: signal.Signals) -> bool:
    """Every shard whole again, seen after the failure: a killed master's process replaced,
    a stopped one no longer master."""
    if not healthy_redslot(status, 1):
        return False
    nodes = [n for s in status["shards"] for n in (s["master"], *s["replicas"])]
    if sig == signal.SIGKILL:
        return all(n["pid"] != failed["pid"] for n in nodes)
    return all(s["master"]["port"] != failed["port"] for s in status["shards"])


SYSTEMS = {"redis": redis_rounds, "redslot": redslot_rounds}


def distribution(samples: list[float]) -> dict[str, float]:
    return {"min": min(samples), "median": statistics.median(samples),
            "p90": percentile(samples, 0.9), "max": max(samples)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20, help="failures per system and scenario")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="kill, stop (comma-separated)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="redis, redslot (comma-separated)")
    ap.add_argument("--json", type=Path, help="write the figures here (default bench/results/failover.json)")
    args = ap.parse_args()
    samples: dict[str, dict[str, list[float]]] = {}
    promoted: dict[str, dict[str, int]] = {}
    errors: dict[str, str] = {}
    for system in args.systems.split(","):
        try:
            with SYSTEMS[system]() as one_round:
                for scenario in args.scenarios.split(","):
                    runs = samples.setdefault(scenario, {}).setdefault(system, [])
                    took = promoted.setdefault(scenario, {})
                    took[system] = 0
                    for i in range(args.rounds):
                        outcome = one_round(SCENARIOS[scenario])
                        runs.append(outcome.seconds)
                        took[system] += outcome.promoted
                        print(f"  {system:8} {scenario:5} round {i + 1:>2}: {outcome.seconds:6.2f}s"
                              f" ({'a replica' if outcome.promoted else 'the failed node'} "
                              f"took the write)", flush=True)
        except Exception as exc:  # one system failing still reports the other
            errors[system] = f"{type(exc).__name__}: {exc}"
            print(f"  {system} failed: {errors[system]}", file=sys.stderr, flush=True)
    figures = {scenario: {system: distribution(runs) for system, runs in by_system.items() if runs}
               for scenario, by_system in samples.items()}
    print(f"\nseconds from the failure of a master until a write to its slots is acknowledged; "
          f"{args.rounds} rounds, attempts every {ATTEMPT_INTERVAL * 1000:.0f} ms")
    print(f"{'scenario':8} {'system':8} {'rounds':>6} {'min':>6} {'median':>7} {'p90':>6} {'max':>6} "
          f"{'taken by a replica':>19}")
    for scenario, by_system in figures.items():
        for system, d in by_system.items():
            print(f"{scenario:8} {system:8} {len(samples[scenario][system]):>6} {d['min']:>6.2f} "
                  f"{d['median']:>7.2f} {d['p90']:>6.2f} {d['max']:>6.2f} "
                  f"{promoted[scenario][system]:>19}")
    arguments = vars(args) | {"json": str(args.json) if args.json else None}
    written = write_results("failover", {"args": arguments, "figures": figures, "samples": samples,
                                         "taken_by_a_replica": promoted, "errors": errors},
                            args.json)
    print(f"figures written to {written}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
