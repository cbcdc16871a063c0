#!/usr/bin/env python3
"""Keys migrated per second by an online reshard, 3 -> 4 masters: redslot vs Redis 7.

Both clusters start with 3 masters and no replicas, loaded with --keys string keys spread
over every slot (each key SET on its slot's master through per-master ``redis-cli --pipe``
streams; no DEBUG POPULATE). Then a 4th, empty master takes a quarter of the slots:

- Redis (Debian's redis-server, cluster-enabled): ``redis-cli --cluster add-node``, then
  ``redis-cli --cluster reshard --cluster-from all --cluster-to <new> --cluster-slots 4096
  --cluster-pipeline 100`` (MIGRATE in batches of 100 keys), timed.
- redslot: ``redslot up --shards 3 --replicas 0 --down-after-ms 15000`` (Redis's
  cluster-node-timeout here, also the lease: on a loaded machine a node busy with the
  bulk load can miss its renewals for the default 3 s and refuse writes), then ``redslot scale --shards 4``, which
  returns when the reshard is done, timed; ``redslot status --json`` also reports the control
  plane's own keys/s (last_reshard.keys_per_second: keys over the time spent inside slot
  moves, without the observation passes between them), shown as "reported keys/s".

Keys moved = DBSIZE of the new master; keys/s = keys moved / wall time of the reshard
command. Every run also checks that no key was lost (DBSIZE summed over the masters).

    python3 bench/reshard.py                    # 1M keys (a few minutes per system)
    python3 bench/reshard.py --keys 20000       # a quick smoke run
    python3 bench/reshard.py --rounds 4         # 4 pairs of runs, ratio per pair and median
    python3 bench/reshard.py --systems redis --tree before=/tmp/old --tree after=.  # A/B

On a shared machine redis-cli's own time swings by 3x within an hour, so one pair of runs
says little: ``--rounds N`` runs every system N times, interleaved (the order reversed
every other round), and prints each round's ratio to redis-cli, the median ratio and the
load average over the runs.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_common import (  # noqa: E402
    HOST,
    RedisCluster,
    RedslotLocal,
    connect,
    dbsize,
    load_keys,
    run_cli,
    slot_owners,
    wait_until,
    write_results,
)

SLOTS_TO_MOVE = 4096
NODE_TIMEOUT_MS = 15_000  # both systems: Redis's default cluster-node-timeout


def reshard_redis(keys: int, value_size: int) -> dict[str, Any]:
    with RedisCluster(4, NODE_TIMEOUT_MS) as cluster:
        first, new = cluster.ports[:3], cluster.ports[3]
        cluster.create(first, replicas=0)
        load_seconds = load_keys(first[0], keys, value_size)
        print(f"  redis    loaded {keys:,} keys in {load_seconds:.1f}s", flush=True)
        run_cli(["--cluster", "add-node", f"{HOST}:{new}", f"{HOST}:{first[0]}"])
        cluster.wait_ok(cluster.ports)
        with connect(new) as r:
            new_id = r.execute_command("CLUSTER", "MYID")
        # reshard refuses to start until every node agrees on the configuration.
        wait_until("redis cluster check", lambda: run_cli(["--cluster", "check", f"{HOST}:{first[0]}"]), 30)
        started = time.monotonic()
        run_cli(["--cluster", "reshard", f"{HOST}:{first[0]}", "--cluster-from", "all",
                 "--cluster-to", new_id, "--cluster-slots", str(SLOTS_TO_MOVE), "--cluster-yes",
                 "--cluster-pipeline", "100"])
        seconds = time.monotonic() - started
        moved = dbsize(new)
        total = sum(dbsize(p) for p in cluster.ports)
        slots_owned = sum(1 for port in slot_owners(new).values() if port == new)
    return {"seconds": seconds, "keys_moved": moved, "keys_per_second": moved / seconds,
            "keys_after": total, "slots_moved": slots_owned, "load_seconds": load_seconds}


def reshard_redslot(keys: int, value_size: int) -> dict[str, Any]:
    with RedslotLocal(3, 0, ("--down-after-ms", str(NODE_TIMEOUT_MS))) as local:
        masters_before = set(local.master_ports())
        load_seconds = load_keys(min(masters_before), keys, value_size)
        print(f"  redslot  loaded {keys:,} keys in {load_seconds:.1f}s", flush=True)
        started = time.monotonic()
        progress = subprocess.run(local.argv_for("scale", "--shards", "4"), capture_output=True,
                                  text=True, timeout=1800, cwd=local.dir.parent)
        seconds = time.monotonic() - started
        if progress.returncode != 0:
            raise RuntimeError(f"redslot scale exited {progress.returncode}:\n"
                               f"{progress.stdout[-2000:]}{progress.stderr[-2000:]}")
        status = local.status()
        masters = {s["master"]["port"]: s for s in status["shards"]}
        new_ports = [p for p in masters if p not in masters_before]
        if len(new_ports) != 1:
            raise RuntimeError(f"expected one new master after scale, got {new_ports}")
        moved = dbsize(new_ports[0])
        total = sum(dbsize(p) for p in masters)
        reported = (status.get("last_reshard") or status.get("reshard") or {}).get("keys_per_second")
        slots = masters[new_ports[0]]["slots"]
    return {"seconds": seconds, "keys_moved": moved, "keys_per_second": moved / seconds,
            "keys_after": total, "slots_moved": count_slots(slots), "load_seconds": load_seconds,
            "reported_keys_per_second": reported}


def count_slots(ranges: str) -> int:
    total = 0
    for part in ranges.split():
        start, _, end = part.partition("-")
        total += int(end or start) - int(start) + 1
    return total


SYSTEMS = {"redis": reshard_redis, "redslot": reshard_redslot}


@contextmanager
def source_tree(path: str | None) -> Iterator[None]:
    """Run redslot from the source tree at ``path`` (its PYTHONPATH: ``up``, ``scale`` and
    the nodes they start inherit it), or from the installed package when None."""
    if path is None:
        yield
        return
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = path
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def run_once(system: str, trees: dict[str, str], keys: int, value_size: int) -> dict[str, Any]:
    """One reshard of ``system`` ("redis", "redslot" or "redslot:LABEL" for a --tree)."""
    kind, _, label = system.partition(":")
    load_before = load_average()
    with source_tree(trees[label] if label else None):
        result = SYSTEMS[kind](keys, value_size)
    return result | {"system": system, "load": [load_before, load_average()]}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=1_000_000, help="string keys loaded before the reshard")
    ap.add_argument("--value-size", type=int, default=16, help="bytes per value")
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help="which systems, comma-separated (a --tree adds redslot:LABEL)")
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH",
                    help="also run redslot from this source tree (PYTHONPATH), as redslot:LABEL")
    ap.add_argument("--rounds", type=int, default=1,
                    help="rounds of one run per system, the order reversed every other round")
    ap.add_argument("--json", type=Path, help="write the figures here (default bench/results/reshard.json)")
    args = ap.parse_args()
    trees = dict(tree.split("=", 1) for tree in args.tree)
    systems = [s for s in args.systems.split(",") if s] + [f"redslot:{label}" for label in trees]
    rounds: list[dict[str, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    for number in range(args.rounds):
        results: dict[str, dict[str, Any]] = {}
        for system in systems if number % 2 == 0 else systems[::-1]:
            try:
                results[system] = r = run_once(system, trees, args.keys, args.value_size)
            except Exception as exc:  # one system failing still reports the others
                errors.append({"round": number + 1, "system": system,
                               "error": f"{type(exc).__name__}: {exc}"})
                print(f"  round {number + 1} {system} failed: {errors[-1]['error']}",
                      file=sys.stderr, flush=True)
                continue
            print(f"  round {number + 1} {system:14} moved {r['keys_moved']:,} keys "
                  f"({r['slots_moved']} slots) in {r['seconds']:.1f}s, load "
                  f"{r['load'][0]:.1f}-{r['load'][1]:.1f}", flush=True)
        rounds.append(results)
    ratios = report(args.keys, args.value_size, systems, rounds)
    arguments = vars(args) | {"json": str(args.json) if args.json else None}
    written = write_results("reshard", {"args": arguments, "rounds": rounds, "errors": errors,
                                        "ratios": ratios}, args.json)
    print(f"figures written to {written}")
    return 1 if errors else 0


def report(keys: int, value_size: int, systems: list[str],
           rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Print every run, then each redslot system's ratio to redis-cli per round (both runs
    of a round are minutes apart, so they share the machine's load best) and the median;
    the ratios, by system."""
    print(f"\nonline reshard 3 -> 4 masters, {keys:,} keys of {value_size} bytes, "
          f"{SLOTS_TO_MOVE} slots to the new master")
    width = max(len(system) for system in systems)
    print(f"{'round':>5} {'system':{width}} {'keys moved':>11} {'seconds':>8} {'keys/s':>9} "
          f"{'reported keys/s':>16} {'keys kept':>10} {'load':>9}")
    for number, results in enumerate(rounds, 1):
        for system, r in results.items():
            reported = r.get("reported_keys_per_second")
            print(f"{number:>5} {system:{width}} {r['keys_moved']:>11,} {r['seconds']:>8.1f} "
                  f"{r['keys_per_second']:>9,.0f} {f'{reported:,.0f}' if reported else '-':>16} "
                  f"{'all' if r['keys_after'] == keys else r['keys_after']:>10} "
                  f"{r['load'][0]:>4.1f}-{r['load'][1]:<4.1f}")
    ratios: dict[str, dict[str, Any]] = {}
    print()
    for system in systems:
        runs = [results[system] for results in rounds if system in results]
        if runs:
            print(f"{system:{width}} median {median([r['seconds'] for r in runs]):.1f}s, "
                  f"{median([r['keys_per_second'] for r in runs]):,.0f} keys/s over {len(runs)} run(s)")
        if system == "redis":
            continue
        pairs = [results[system]["keys_per_second"] / results["redis"]["keys_per_second"]
                 for results in rounds if system in results and "redis" in results]
        if pairs:
            ratios[system] = {"per_round": pairs, "median": median(pairs)}
            print(f"ratio {system}/redis (keys/s), per round: "
                  f"{', '.join(f'{x:.2f}' for x in pairs)}; median {median(pairs):.2f}")
    loads = [value for results in rounds for r in results.values() for value in r["load"]]
    if loads:
        print(f"load average (1 min) over the runs: {min(loads):.1f}-{max(loads):.1f}")
    return ratios


if __name__ == "__main__":
    sys.exit(main())
