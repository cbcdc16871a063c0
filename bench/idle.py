#!/usr/bin/env python3
"""CPU of an idle ``redslot up`` cluster (nodes and control plane) against an idle redis-server.

Starts ``redslot up --shards S --replicas R`` and waits until it is Ready, plus one plain
redis-server; once both have settled, reads utime + stime from /proc/<pid>/stat for every
process of ``up``'s tree (the control plane and each node) and for the redis-server, at
the start and at the end of the same window, and prints each one's share of a core. No
client sends anything during the window: what is left is timers, the control plane's
polling and the links between the nodes.

    python3 bench/idle.py                 # 3x1, a 60 s window
    python3 bench/idle.py --window 10     # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_common import RedslotLocal, free_base_port, ping, stop_process, wait_until  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, in seconds (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def command_of(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if "node" in words and "--port" in words:
        return f"node :{words[words.index('--port') + 1]}"
    if "up" in words:
        return "control plane (redslot up)"
    return " ".join(words)[:60]


def tree(root: int) -> list[int]:
    """``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--window", type=float, default=60.0, help="seconds measured")
    ap.add_argument("--settle", type=float, default=10.0,
                    help="seconds to wait after Ready before measuring")
    args = ap.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server is missing", file=sys.stderr)
        return 1
    port = free_base_port(1)
    workdir = tempfile.mkdtemp(prefix="bench-idle-redis-")
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", workdir],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        wait_until("redis-server up", lambda: ping(port), 30)
        with RedslotLocal(args.shards, args.replicas) as cluster:
            assert cluster.proc is not None
            time.sleep(args.settle)
            pids = tree(cluster.proc.pid)
            names = {pid: command_of(pid) for pid in pids}
            names[redis.pid] = "redis-server"
            before = {pid: cpu_seconds(pid) for pid in [*pids, redis.pid]}
            started = time.monotonic()
            time.sleep(args.window)
            elapsed = time.monotonic() - started
            after = {pid: cpu_seconds(pid) for pid in before}
    finally:
        stop_process(redis)
        shutil.rmtree(workdir, ignore_errors=True)
    share = {pid: 100 * ((after[pid] or 0) - (before[pid] or 0)) / elapsed
             for pid in before if before[pid] is not None and after[pid] is not None}
    print(f"idle {args.shards}x{args.replicas} cluster, {elapsed:.0f} s window, "
          f"% of one core (clock tick {1000 // TICKS} ms):")
    for pid in sorted(share, key=lambda p: names[p]):
        if pid != redis.pid:
            print(f"  {names[pid]:<32} {share[pid]:6.2f}%")
    total = sum(v for pid, v in share.items() if pid != redis.pid)
    processes = len(share) - 1
    print(f"  {'redslot total':<32} {total:6.2f}%  ({processes} processes)")
    print(f"  {'redis-server (one process)':<32} {share[redis.pid]:6.2f}%  "
          f"(x{processes}: {share[redis.pid] * processes:.2f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
