#!/usr/bin/env python3
"""Full-sync time: a replica attaching to a master holding N keys, diskless and on disk.

For each pair (redis-server <- redis-server, redslot <- redslot, redslot <- redis-server,
redis-server <- redslot; replica <- master) the master is filled with DEBUG POPULATE, a
fresh replica is started with `replicaof`, and the time until `master_link_status:up`
with every key there is measured. Ratios are against redis-server <- redis-server in the
same run.

    python3 bench/fullsync.py                  # 1M keys, diskless (Redis 7's default)
    python3 bench/fullsync.py --keys 100000 --disk
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from run import CLIENT_CPU, server  # noqa: E402

KINDS = {"redis-server": "redis", "redslot": "redslot"}
PAIRS = [("redis-server", "redis-server"), ("redslot", "redslot"),
         ("redis-server", "redslot"), ("redslot", "redis-server")]  # (master, replica)


def full_sync_seconds(master_kind: str, replica_kind: str, keys: int, disk: bool) -> float:
    settings = ("--enable-debug-command", "yes", "--repl-diskless-sync", "no" if disk else "yes",
                "--repl-diskless-sync-delay", "0")
    with ExitStack() as stack:
        master = stack.enter_context(server(KINDS[master_kind], None, settings))
        redis.Redis(port=master).execute_command("DEBUG", "POPULATE", keys, "key", 16)
        replica_port = stack.enter_context(server(KINDS[replica_kind], None, cpu=CLIENT_CPU))
        replica = redis.Redis(port=replica_port, socket_timeout=600)
        started = time.monotonic()
        replica.replicaof("127.0.0.1", master)
        while True:
            info = replica.info("replication")
            if info.get("master_link_status") == "up" and replica.dbsize() == keys:
                return time.monotonic() - started
            if time.monotonic() - started > 1800:
                raise RuntimeError(f"{replica_kind} <- {master_kind}: no sync in 30 minutes")
            time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--disk", action="store_true", help="repl-diskless-sync no")
    parser.add_argument("--json", type=Path, help="write the figures there too")
    args = parser.parse_args()
    mode = "disk" if args.disk else "diskless"
    results = {}
    for master_kind, replica_kind in PAIRS:
        seconds = full_sync_seconds(master_kind, replica_kind, args.keys, args.disk)
        results[f"{replica_kind} <- {master_kind}"] = seconds
        print(f"{replica_kind:>12} <- {master_kind:<12} {mode}: {seconds:7.2f} s", flush=True)
    base = results["redis-server <- redis-server"]
    print(f"\n{args.keys} keys, {mode}: time / redis-server <- redis-server (same run)")
    for name, seconds in results.items():
        print(f"  {name:<30} {seconds / base:6.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"keys": args.keys, "mode": mode, "seconds": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
