#!/usr/bin/env python3
"""RDB and AOF loading time of a redslot node against Debian's redis-server, in one run.

Each server is filled with ``--keys`` small hashes (3 short fields, bench/datatypes.py's
workload) over ``redis-cli --pipe`` with the append-only file on (plain commands: no RDB
preamble), then SAVEd and stopped. It is then started twice on the same data dir, once
with appendonly off (it loads the RDB file) and once with it on (it replays the AOF), and
the time from the process's start until it answers DBSIZE with every key is taken: the
process's own startup is part of it (an empty start is timed too and printed). The two
servers run one after the other, unpinned; the load average is printed with the figures.

    python3 bench/loading.py                  # 1M hashes
    python3 bench/loading.py --keys 100000
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

import redis
from datatypes import hashes_protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from nodes import free_port  # noqa: E402

KINDS = ("redis", "redslot")


def command(kind: str, port: int, workdir: str, appendonly: bool) -> list[str]:
    common = ["--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
              "--appendonly", "yes" if appendonly else "no", "--aof-use-rdb-preamble", "no"]
    if kind == "redis":
        return [shutil.which("redis-server") or "redis-server", *common]
    return [sys.executable, "-m", "redslot.cli", "node", *common]


def start_and_time(kind: str, workdir: str, appendonly: bool, keys: int,
                   timeout: float = 900) -> tuple[float, subprocess.Popen[bytes], int]:
    """Seconds from the process's start until DBSIZE answers ``keys``."""
    port = free_port()
    log = open(os.path.join(workdir, f"{kind}-{int(time.time() * 1000)}.log"), "wb")
    started = time.perf_counter()
    proc = subprocess.Popen(command(kind, port, workdir, appendonly), cwd=workdir,
                            stdout=log, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port, socket_timeout=60)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited with {proc.returncode} (log in {workdir})")
        try:
            if client.dbsize() == keys:
                return time.perf_counter() - started, proc, port
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


def measure(kind: str, protocol: bytes, keys: int) -> dict[str, float]:
    workdir = tempfile.mkdtemp(prefix=f"loading-{kind}-")
    try:
        empty, proc, _ = start_and_time(kind, workdir, False, 0)
        stop(proc)
        _, proc, port = start_and_time(kind, workdir, True, 0)
        pipe(port, protocol)
        redis.Redis(port=port, socket_timeout=600).save()
        stop(proc)
        rdb, proc, _ = start_and_time(kind, workdir, False, keys)
        stop(proc)
        aof, proc, _ = start_and_time(kind, workdir, True, keys)
        stop(proc)
        return {"empty": empty, "rdb": rdb, "aof": aof}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    args = ap.parse_args()
    protocol = hashes_protocol(args.keys)
    figures = {kind: measure(kind, protocol, args.keys) for kind in KINDS}
    print(f"loading {args.keys:,} hashes of 3 fields; load average {os.getloadavg()[0]:.2f}")
    print(f"{'':12} {'redis-server':>13} {'redslot':>9} {'ratio':>6}")
    for name in ("empty", "rdb", "aof"):
        ref, ours = figures["redis"][name], figures["redslot"][name]
        print(f"{name + ' (s)':12} {ref:>13.2f} {ours:>9.2f} {ours / ref:>6.2f}")


if __name__ == "__main__":
    main()
