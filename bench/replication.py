#!/usr/bin/env python3
"""SET throughput with replicas, with the AOF, and in zero-loss mode, against redis-server.

Each configuration runs on redis-server and on redslot, both set up the same way in the
same run (the master pinned to one core under a CPU quota as in bench/run.py, replicas and
redis-benchmark on the other core), runs alternating, medians of --repeat runs:

- 0, 1 and 2 replicas (asynchronous replication);
- appendonly yes with appendfsync everysec, and with always;
- zero-loss mode: redslot with min-replicas-ack 1 and one replica, against redis-server
  with one replica (Redis has no such mode: the ratio is the price of never losing an
  acknowledged write).

    python3 bench/replication.py
    python3 bench/replication.py --requests 20000 --repeat 1    # a quick smoke run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from run import CLIENT_CPU, CpuQuota, run_benchmark, server  # noqa: E402

CONFIGS = {
    "0 replicas": (0, [], {}),
    "1 replica": (1, [], {}),
    "2 replicas": (2, [], {}),
    "aof everysec": (0, ["--appendonly", "yes", "--appendfsync", "everysec"], {}),
    "aof always": (0, ["--appendonly", "yes", "--appendfsync", "always"], {}),
    "zero-loss": (1, [], {"redslot": ("min-replicas-ack", "1")}),
}


def setup(stack: ExitStack, kind: str, config: str, quota: CpuQuota) -> int:
    """The master's port, its replicas linked and the configuration applied."""
    replicas, extra, settings = CONFIGS[config]
    port = stack.enter_context(server(kind, quota, tuple(extra)))
    for _ in range(replicas):
        replica = redis.Redis(port=stack.enter_context(server(kind, None, cpu=CLIENT_CPU)))
        replica.replicaof("127.0.0.1", port)
        deadline = time.monotonic() + 30
        while replica.info("replication").get("master_link_status") != "up":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} replica never linked")
            time.sleep(0.1)
    if kind in settings:
        redis.Redis(port=port).config_set(*settings[kind])
    return port


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpu-share", type=float, default=0.5)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    args = ap.parse_args()
    quota = CpuQuota(args.cpu_share)
    rows = []
    try:
        for config in args.configs.split(","):
            for pipeline in (int(p) for p in args.pipelines.split(",")):
                runs: dict[str, list[float]] = {"redis": [], "redslot": []}
                with ExitStack() as stack:
                    ports = {kind: setup(stack, kind, config, quota) for kind in runs}
                    for i in range(args.repeat):
                        for kind in (("redis", "redslot") if i % 2 == 0 else ("redslot", "redis")):
                            rps = run_benchmark(ports[kind], pipeline, args.requests,
                                                args.clients, "set")["set"]
                            runs[kind].append(rps)
                            print(f"  {config:13} -P {pipeline:<3} {kind:8} {rps:>10,.0f}", flush=True)
                ref, ours = (statistics.median(runs[k]) for k in ("redis", "redslot"))
                rows.append((config, pipeline, ref, ours))
    finally:
        quota.remove()
    print(f"\nSET requests/s, median of {args.repeat}; -c {args.clients} -n {args.requests}")
    print(f"{'configuration':14} {'-P':>3} {'redis-server':>13} {'redslot':>10} {'ratio':>6}")
    for config, pipeline, ref, ours in rows:
        print(f"{config:14} {pipeline:>3} {ref:>13,.0f} {ours:>10,.0f} {ours / ref:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
