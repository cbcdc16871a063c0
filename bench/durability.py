#!/usr/bin/env python3
"""Acknowledged writes lost when a master is killed: async (Redis's default) vs zero-loss.

Each round pipelines unique keys at a master with one replica, kills the master with
SIGKILL at a random moment, promotes the replica and counts the acknowledged keys it lacks
(tests/support/durability.py). Zero-loss mode is ``min-replicas-ack 1``. Two scenarios: the
replica keeping up, and the replica lagging (frozen for 1 s before the master dies, as a
slow or partitioned replica would be).

    python3 bench/durability.py            # 20 rounds per mode
    python3 bench/durability.py --rounds 5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
sys.path.append(str(Path(__file__).resolve().parent))  # after tests/support: its durability.py
from durability import kill_round  # noqa: E402
from read_wait import print_read_cost  # noqa: E402


def print_losses(rounds: int) -> None:
    print(f"{'scenario':16} {'mode':10} {'rounds':>6} {'acked':>9} {'lost':>8} "
          f"{'rounds with loss':>17} {'worst':>7}")
    for scenario, lagging in (("replica in step", 0.0), ("replica lagging", 1.0)):
        for mode, zero_loss in (("async", False), ("zero-loss", True)):
            results = [kill_round(zero_loss, seed, lagging=lagging) for seed in range(rounds)]
            acked = sum(a for a, _ in results)
            lost = [lost for _, lost in results]
            print(f"{scenario:16} {mode:10} {rounds:>6} {acked:>9,} {sum(lost):>8,} "
                  f"{sum(1 for x in lost if x):>17} {max(lost):>7,}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--reads", type=int, default=50_000, help="GETs per measure (0: none)")
    parser.add_argument("--repeat", type=int, default=3, help="read measures per set-up")
    parser.add_argument("--before", default="main",
                        help="git revision whose zero-loss mode did not hold reads")
    args = parser.parse_args()
    if args.rounds:
        print_losses(args.rounds)
    if args.reads:
        print_read_cost(args.before, args.reads, args.repeat)


if __name__ == "__main__":
    main()
