#!/usr/bin/env python3
"""RDB and AOF loading time of a redslot node against Debian's redis-server, in one run.

Each server is filled with ``--keys`` small hashes (3 short fields, bench/datatypes.py's
workload) over ``redis-cli --pipe`` with the append-only file on (plain commands: no RDB
preamble, no automatic rewrite), then SAVEd and stopped. It is then started twice on the same data dir, once
with appendonly off (it loads the RDB file) and once with it on (it replays the AOF), and
the time from the process's start until it answers DBSIZE with every key is taken: the
process's own startup is part of it (an empty start is timed too and printed). The
servers run one after the other, unpinned; the load average is printed with the figures,
and so is the CPU time the server process (and its reaped children) had used when it
answered, a figure the machine's load moves much less than the wall time.

``--tree`` (repeatable) measures redslot from other source trees (each a PYTHONPATH, e.g.
a checkout of an older commit) beside the current one; ``--repeat`` runs every server
that many times, taking turns, and prints each run's figures and the median ratios: on a
shared machine only runs that alternate compare two versions.

    python3 bench/loading.py                  # 1M hashes
    python3 bench/loading.py --keys 100000
    python3 bench/loading.py --tree /tmp/old-tree:/tmp/old --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from datatypes import hashes_protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from nodes import free_port  # noqa: E402

CPU: dict[str, float] = {}  # the last start_and_time's CPU seconds, by kind
PHASES = ("empty", "rdb", "aof", "rdb cpu", "aof cpu")


def command(kind: str, port: int, workdir: str, appendonly: bool) -> list[str]:
    # No automatic rewrite while the data goes in: the AOF stays the commands as sent
    # (a redslot rewrite writes an RDB base whatever aof-use-rdb-preamble says).
    common = ["--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
              "--appendonly", "yes" if appendonly else "no", "--aof-use-rdb-preamble", "no",
              "--auto-aof-rewrite-percentage", "0"]
    if kind == "redis":
        return [shutil.which("redis-server") or "redis-server", *common]
    return [sys.executable, "-m", "redslot.cli", "node", *common]


def environment(tree: str | None) -> dict[str, str] | None:
    """The environment of a redslot node run from ``tree`` (None: this one's)."""
    return None if tree is None else os.environ | {"PYTHONPATH": tree}


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of a process (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_and_time(kind: str, workdir: str, appendonly: bool, keys: int,
                   tree: str | None = None, timeout: float = 900
                   ) -> tuple[float, subprocess.Popen[bytes], int]:
    """Seconds from the process's start until DBSIZE answers ``keys``; the CPU time it
    used by then goes to ``CPU[kind]``."""
    port = free_port()
    log = open(os.path.join(workdir, f"{kind}-{int(time.time() * 1000)}.log"), "wb")
    started = time.perf_counter()
    proc = subprocess.Popen(command(kind, port, workdir, appendonly), cwd=workdir,
                            stdout=log, stderr=subprocess.STDOUT, env=environment(tree))
    client = redis.Redis(port=port, socket_timeout=60)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited with {proc.returncode} (log in {workdir})")
        try:
            if client.dbsize() == keys:
                elapsed = time.perf_counter() - started
                CPU[kind] = cpu_seconds(proc.pid)
                return elapsed, proc, port
        except (redis.ConnectionError, redis.BusyLoadingError):
            pass
        time.sleep(0.02)
    proc.kill()
    raise TimeoutError(f"{kind} did not load {keys} keys within {timeout}s")


def pipe(port: int, protocol: bytes) -> None:
    """Load ``protocol`` with ``redis-cli --pipe``, waiting as long as the server needs."""
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe",
                          "--pipe-timeout", "0"], input=protocol, capture_output=True,
                         timeout=1800).stdout
    if b"errors: 0," not in out:
        raise RuntimeError(f"redis-cli --pipe to port {port}: {out.decode(errors='replace')}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(120)


def measure(kind: str, protocol: bytes, keys: int, tree: str | None = None
            ) -> dict[str, float]:
    workdir = tempfile.mkdtemp(prefix=f"loading-{kind}-")
    try:
        empty, proc, _ = start_and_time(kind, workdir, False, 0, tree)
        stop(proc)
        _, proc, port = start_and_time(kind, workdir, True, 0, tree)
        pipe(port, protocol)
        redis.Redis(port=port, socket_timeout=600).save()
        stop(proc)
        rdb, proc, _ = start_and_time(kind, workdir, False, keys, tree)
        rdb_cpu = CPU[kind]
        stop(proc)
        aof, proc, _ = start_and_time(kind, workdir, True, keys, tree)
        stop(proc)
        return {"empty": empty, "rdb": rdb, "aof": aof, "rdb cpu": rdb_cpu, "aof cpu": CPU[kind]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--tree", action="append", default=[],
                    help="also measure redslot from this PYTHONPATH (repeatable)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    protocol = hashes_protocol(args.keys)
    servers: dict[str, tuple[str, str | None]] = {"redis-server": ("redis", None),
                                                   "redslot": ("redslot", None)}
    for n, tree in enumerate(args.tree, 1):
        servers[f"tree{n}"] = ("redslot", tree)
        print(f"tree{n}: {tree}")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    for turn in range(args.repeat):
        for name, (kind, tree) in servers.items():
            runs[name].append(measure(kind, protocol, args.keys, tree))
        print(f"run {turn + 1}: load average {os.getloadavg()[0]:.2f}")
        report(runs, turn)
    if args.repeat > 1:
        print(f"median ratio to redis-server over {args.repeat} runs:")
        for name in list(servers)[1:]:
            ratios = [statistics.median(run[phase] / ref[phase]
                                        for run, ref in zip(runs[name], runs["redis-server"],
                                                            strict=True))
                      for phase in PHASES]
            print(f"  {name:10} " + "  ".join(f"{phase} {ratio:.2f}"
                                              for phase, ratio in zip(PHASES, ratios,
                                                                      strict=True)))


def report(runs: dict[str, list[dict[str, float]]], turn: int) -> None:
    """One run's seconds per server and phase, and each redslot's ratio to redis-server."""
    names = list(runs)
    print(f"{'':12} " + " ".join(f"{name:>13}" for name in names) + "   ratios")
    for phase in PHASES:
        ref = runs["redis-server"][turn][phase]
        seconds = " ".join(f"{runs[name][turn][phase]:>13.2f}" for name in names)
        ratios = " ".join(f"{runs[name][turn][phase] / ref:>6.2f}" for name in names[1:])
        print(f"{phase + ' (s)':12} {seconds}   {ratios}")


if __name__ == "__main__":
    main()
