#!/usr/bin/env python3
"""The fault-injection suite (tests/cluster/test_faults.py) over many seeds: every scenario,
both durability modes, one seed after another, and a summary of the per-scenario lines
(operations, availability, unavailability, acknowledged writes lost, verdict).

Each seed picks other victims, keys and client choices, and the timing differs from run to
run, so more seeds explore more interleavings than the single seed CI runs. Needs root,
as the suite does.

    python3 bench/fault_soak.py                 # seeds 1000 to 1004
    python3 bench/fault_soak.py --seeds 20 --first 7000
    python3 bench/fault_soak.py --seeds 10 -k clock   # one scenario, both modes
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\[(?P<mode>[\w-]+), seed (?P<seed>\d+)\] (?P<name>.+?): (?P<ops>\d+) "
                  r"operations, availability (?P<avail>[\d.]+)%, unavailable "
                  r"(?P<down>[\d.]+)s, (?P<failover>failed over|no failover), (?P<lost>\d+) "
                  r"acknowledged writes lost, (?P<verdict>.*)$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first", type=int, default=1000)
    parser.add_argument("-k", dest="only", default="",
                        help="only the scenarios (and modes) pytest's -k expression selects")
    args = parser.parse_args()
    rows: list[dict[str, str]] = []
    failures: list[str] = []
    started = time.monotonic()
    for seed in range(args.first, args.first + args.seeds):
        env = {**os.environ, "REDSLOT_FAULT_SEED": str(seed)}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-s", "-q", "-o", "pythonpath=tests/support",
             "tests/cluster/test_faults.py", *(["-k", args.only] if args.only else [])],
            cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=3600)
        for line in run.stdout.splitlines():
            match = LINE.match(line)
            if match:
                rows.append(match.groupdict())
                print(line, flush=True)
        if run.returncode != 0:
            failures.append(f"seed {seed}:\n" + "\n".join(
                line for line in run.stdout.splitlines() if line.startswith(("E ", "FAILED"))))
    print(f"\n{len(rows)} scenario runs over {args.seeds} seeds in "
          f"{time.monotonic() - started:.0f}s")
    for mode in ("zero-loss", "async"):
        mine = [r for r in rows if r["mode"] == mode]
        if not mine:
            continue
        bad = [r for r in mine if r["verdict"] != "linearizable"]
        print(f"{mode}: {len(mine)} runs, {sum(int(r['ops']) for r in mine)} operations, "
              f"{len(bad)} not linearizable, {sum(int(r['lost']) for r in mine)} acknowledged "
              f"writes lost, availability {min(float(r['avail']) for r in mine):.1f}% to "
              f"{max(float(r['avail']) for r in mine):.1f}%, longest unavailability "
              f"{max(float(r['down']) for r in mine):.2f}s")
        for name in dict.fromkeys(r["name"] for r in mine):
            these = [r for r in mine if r["name"] == name]
            print(f"  {name}: unavailable {min(float(r['down']) for r in these):.2f}-"
                  f"{max(float(r['down']) for r in these):.2f}s, failed over "
                  f"{sum(r['failover'] == 'failed over' for r in these)}/{len(these)}, lost "
                  f"{sum(int(r['lost']) for r in these)}, not linearizable "
                  f"{sum(r['verdict'] != 'linearizable' for r in these)}/{len(these)}")
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
