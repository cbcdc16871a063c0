"""The cost of zero-loss reads: GETs served while other clients write, with min-replicas-ack.

In zero-loss mode a read's reply waits until the replicas acknowledged the master's last
write when it ran (node/replication/ackgate.py): with writes in flight, a read waits for
a replication round trip too. This measures GET (redis-benchmark, -c 10) on a master with
one replica, alone and while a second redis-benchmark runs SETs (-c 10), in three set-ups
in the same run, alternating, medians: asynchronous replication, zero-loss mode as it was
before reads waited (the code of ``--before``, a git revision), and zero-loss mode now.
"""

from __future__ import annotations

import csv
import io
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis
from nodes import ServerProcess, start_node

ROOT = Path(__file__).resolve().parent.parent
SETUPS = ("async", "zero-loss before", "zero-loss")
Figures = dict[str, float]


@contextmanager
def code_of(revision: str) -> Iterator[str]:
    """A PYTHONPATH running redslot as it was at ``revision``."""
    tmp = Path(tempfile.mkdtemp(prefix="redslot-before-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "node", "operator",
                                  "redslot"], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp / "src", filter="data")
        package = tmp / "tree" / "redslot"
        package.mkdir(parents=True)
        for entry in (tmp / "src" / "redslot").iterdir():
            (package / entry.name).symlink_to(entry)
        for name in ("node", "operator"):
            (package / name).symlink_to(tmp / "src" / name)
        yield str(tmp / "tree")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pair(stack: ExitStack, zero_loss: bool, pythonpath: str | None) -> int:
    """A master and its linked replica; the master's port."""
    env = {"PYTHONPATH": pythonpath} if pythonpath else None
    acks = ("--min-replicas-ack", "1") if zero_loss else ()
    master: ServerProcess = start_node(*acks, env=env)
    stack.callback(master.stop)
    replica = start_node("--replicaof", "127.0.0.1", str(master.port), env=env)
    stack.callback(replica.stop)
    r = redis.Redis(port=replica.port)
    deadline = time.monotonic() + 30
    while r.info("replication").get("master_link_status") != "up":
        if time.monotonic() > deadline:
            raise RuntimeError("the replica never linked")
        time.sleep(0.1)
    return master.port


def benchmark(port: int, test: str, requests: int) -> list[str]:
    return ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "10", "-n",
            str(requests), "-r", "10000", "-t", test, "--csv"]


def gets(port: int, requests: int, writing: bool) -> Figures:
    """GET throughput and latency, with a SET load running meanwhile if ``writing``."""
    load = (subprocess.Popen(benchmark(port, "set", 10_000_000), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) if writing else None)
    try:
        if load is not None:
            time.sleep(0.5)
        out = subprocess.run(benchmark(port, "get", requests), check=True, capture_output=True,
                             text=True, timeout=600).stdout
    finally:
        if load is not None:
            load.terminate()
            load.wait()
    row = next(csv.DictReader(io.StringIO(out)))
    return {"rps": float(row["rps"]), "p50": float(row["p50_latency_ms"]),
            "p99": float(row["p99_latency_ms"])}


def read_cost(before: str, requests: int, repeat: int) -> dict[tuple[str, bool], Figures]:
    """Median figures per (set-up, writes running)."""
    runs: dict[tuple[str, bool], list[Figures]] = {}
    with code_of(before) as old_code:
        for _ in range(repeat):
            for setup in SETUPS:
                with ExitStack() as stack:
                    port = pair(stack, setup != "async", old_code if setup.endswith("before") else None)
                    for writing in (False, True):
                        runs.setdefault((setup, writing), []).append(gets(port, requests, writing))
    return {key: {name: statistics.median(f[name] for f in figures) for name in figures[0]}
            for key, figures in runs.items()}


def print_read_cost(before: str, requests: int, repeat: int) -> None:
    print(f"\nGET, 1 replica, -c 10, {requests:,} requests, median of {repeat} "
          f"('zero-loss before' = the code of {before})")
    print(f"{'set-up':18} {'writes meanwhile':>16} {'GET/s':>9} {'p50 ms':>7} {'p99 ms':>7}")
    for (setup, writing), f in read_cost(before, requests, repeat).items():
        print(f"{setup:18} {'yes' if writing else 'no':>16} {f['rps']:>9,.0f} {f['p50']:>7.3f} "
              f"{f['p99']:>7.3f}", flush=True)
