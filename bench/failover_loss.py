#!/usr/bin/env python3
"""Acknowledged writes lost across failovers of a `redslot up` cluster, async vs zero-loss.

A RedisCluster client (redis-py) writes unique keys one by one, remembering those the
cluster acknowledged, while the master of one shard after another is killed with kill -9
(the supervisor restarts it; the control plane promotes its replica). After the rounds,
every acknowledged key is read back. Zero-loss mode must lose none; async mode (Redis's
behaviour) reports what it lost.

    python3 bench/failover_loss.py               # 10 kills per mode
    python3 bench/failover_loss.py --rounds 2    # a quick run
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from redis.cluster import RedisCluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster_common import RedslotLocal, healthy_redslot, wait_until, write_results  # noqa: E402


class Writer(threading.Thread):
    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.client = RedisCluster(host="127.0.0.1", port=port, socket_timeout=2)
        self.acked: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stopping.is_set():
            key = f"w:{n}"
            try:
                if self.client.set(key, n) is True:
                    self.acked.append(key)
                n += 1
            except Exception:  # noqa: BLE001 - any failure: the write is simply not acknowledged
                time.sleep(0.02)


def missing(port: int, keys: list[str]) -> int:
    client = RedisCluster(host="127.0.0.1", port=port, socket_timeout=5)
    lost = 0
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        lost += sum(value is None for value in client.mget_nonatomic(chunk))
    return lost


def run(mode: str, rounds: int) -> dict[str, int | str]:
    with RedslotLocal(3, 1, ("--durability", mode)) as cluster:
        port = cluster.master_ports()[0]
        writer = Writer(port)
        writer.start()
        for round_ in range(rounds):
            time.sleep(1.0)
            status = cluster.status()
            failovers = status["failover_count"]
            os.kill(status["shards"][round_ % 3]["master"]["pid"], signal.SIGKILL)

            def recovered(failovers: int = failovers) -> bool:
                current = cluster.status()
                return current["failover_count"] > failovers and healthy_redslot(current, 1)

            wait_until("the failover and the cluster healthy again", recovered, 60, interval=0.2)
            print(f"  {mode:9} kill {round_ + 1:2}: {len(writer.acked):,} writes acknowledged so far",
                  flush=True)
        writer.stopping.set()
        writer.join(10)
        port = cluster.master_ports()[0]
        lost = missing(port, writer.acked)
    return {"mode": mode, "kills": rounds, "acknowledged": len(writer.acked), "lost": lost}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = [run(mode, args.rounds) for mode in ("async", "zero-loss")]
    print("\nkill -9 of a master under a unique-key write load, redslot up 3 shards x 1 replica")
    print(f"{'mode':10} {'kills':>6} {'acknowledged':>13} {'lost':>6}")
    for r in results:
        print(f"{r['mode']:10} {r['kills']:>6} {r['acknowledged']:>13,} {r['lost']:>6,}")
    write_results("failover_loss", {"results": results}, args.json)
    return 1 if any(r["lost"] for r in results if r["mode"] == "zero-loss") else 0


if __name__ == "__main__":
    sys.exit(main())
