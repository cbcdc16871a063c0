"""Clusters for the resharding and failover benchmarks: Redis 7 and ``redslot up``, side by side.

Both systems are driven only from outside, as an operator or a user would: redis-server
clusters through ``redis-cli --cluster``, redslot through its CLI (``up``, ``status``,
``scale``). Both are loaded and probed the same way, through CLUSTER SLOTS, which redslot
nodes answer like Redis. Every process started here runs in its own session and is killed,
with its temp dir removed, when its context exits, even on error.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis
from redis.crc import key_slot

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
HOST = "127.0.0.1"
BUS_OFFSET = 10_000
PORT_RANGE = (21_000, 40_000)


def free_base_port(count: int, bus: bool = False) -> int:
    """A base port P with P..P+count-1 free (and their cluster bus ports, if ``bus``)."""
    for base in range(PORT_RANGE[0], PORT_RANGE[1], count + 7):
        ports = list(range(base, base + count))
        if bus:
            ports += [p + BUS_OFFSET for p in ports]
        if all(port_is_free(p) for p in ports):
            return base
    raise RuntimeError(f"no {count} free consecutive ports in {PORT_RANGE}")


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def connect(port: int, timeout: float = 5.0) -> redis.Redis:
    return redis.Redis(host=HOST, port=port, socket_timeout=timeout,
                       socket_connect_timeout=timeout, decode_responses=True)


def ping(port: int) -> bool:
    with connect(port, 1) as r:
        return bool(r.ping())


def slot_owners(port: int, timeout: float = 5.0) -> dict[int, int]:
    """Slot -> port of its master, as the node on ``port`` sees it (CLUSTER SLOTS)."""
    with connect(port, timeout) as r:
        table = r.execute_command("CLUSTER", "SLOTS")
    owners = {}
    for entry in table:
        start, end, master = entry[0], entry[1], entry[2]
        for slot in range(int(start), int(end) + 1):
            owners[slot] = int(master[1])
    return owners


def slot_owner(port: int, slot: int, timeout: float = 5.0) -> int | None:
    """The port of ``slot``'s master as the node on ``port`` sees it; None if unassigned."""
    with connect(port, timeout) as r:
        for entry in r.execute_command("CLUSTER", "SLOTS"):
            if int(entry[0]) <= slot <= int(entry[1]):
                return int(entry[2][1])
    return None


def resp_set(key: bytes, value: bytes) -> bytes:
    return b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value)


def load_keys(seed_port: int, count: int, value_size: int) -> float:
    """SET ``count`` keys spread over all slots, each sent to its slot's master; seconds taken.

    Each master gets one ``redis-cli --pipe`` stream of exactly the keys whose slot it owns,
    all masters loaded at once, so the load is server-bound on both systems alike.
    """
    owners = slot_owners(seed_port)
    if len(owners) != 16384:
        raise RuntimeError(f"only {len(owners)} of 16384 slots are served")
    value = b"v" * value_size
    streams: dict[int, list[bytes]] = {}
    for i in range(count):
        key = b"key:%d" % i
        streams.setdefault(owners[key_slot(key)], []).append(resp_set(key, value))
    started = time.monotonic()
    procs = []
    for port, commands in streams.items():
        proc = subprocess.Popen(["redis-cli", "-h", HOST, "-p", str(port), "--pipe"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        procs.append((port, proc, b"".join(commands)))
    for port, proc, payload in procs:
        out, _ = proc.communicate(payload, timeout=600)
        if proc.returncode != 0 or b"errors: 0," not in out:
            raise RuntimeError(f"loading keys into {port} failed: {out.decode(errors='replace')}")
    return time.monotonic() - started


def dbsize(port: int) -> int:
    with connect(port) as r:
        return int(r.dbsize())


T = TypeVar("T")


def wait_until(what: str, check: Callable[[], T], timeout: float, interval: float = 0.1) -> T:
    """Poll ``check()`` until it returns something truthy (returned); errors count as not yet."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (redis.RedisError, OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f}s (last error: {last_error})")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGCONT + SIGTERM to the process's whole session, SIGKILL for whatever remains."""
    if proc.poll() is None:
        for sig in (signal.SIGCONT, signal.SIGTERM):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(5)


class RedisCluster:
    """redis-server nodes on ``base``..``base+count-1``, each with its own dir and nodes.conf."""

    def __init__(self, count: int, node_timeout_ms: int = 15_000) -> None:
        self.base = free_base_port(count, bus=True)
        self.ports = [self.base + i for i in range(count)]
        self.root = Path(tempfile.mkdtemp(prefix="bench-redis-cluster-"))
        self.node_timeout_ms = node_timeout_ms
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> RedisCluster:
        try:
            for port in self.ports:
                self.start(port)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for proc in self.procs.values():
            stop_process(proc)
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self, port: int) -> None:
        """Start (or restart, with the same dir and nodes.conf) the node on ``port``."""
        workdir = self.root / str(port)
        workdir.mkdir(exist_ok=True)
        log = open(workdir / "server.log", "ab")
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", HOST, "--dir", str(workdir),
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(self.node_timeout_ms), "--save", "",
             "--appendonly", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[port] = proc
        wait_until(f"redis-server on {port} answering", lambda: ping(port), 15)

    def pid(self, port: int) -> int:
        return self.procs[port].pid

    def reap(self, port: int) -> None:
        self.procs[port].wait(10)

    def create(self, ports: list[int], replicas: int) -> None:
        run_cli(["--cluster", "create", *(f"{HOST}:{p}" for p in ports),
                 "--cluster-replicas", str(replicas), "--cluster-yes"])
        self.wait_ok(ports)

    def wait_ok(self, ports: list[int], timeout: float = 60) -> None:
        """Every node says cluster_state:ok and knows every other one, every replica is linked."""
        def ok() -> bool:
            for port in ports:
                with connect(port, 1) as r:
                    info = r.cluster("info")
                    if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != len(ports):
                        return False
                    repl = r.info("replication")
                    if repl["role"] == "slave" and repl.get("master_link_status") != "up":
                        return False
            return True
        wait_until("redis cluster ok", ok, timeout)


def run_cli(args: list[str], timeout: float = 600) -> str:
    result = subprocess.run(["redis-cli", *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or "[ERR]" in result.stdout:
        raise RuntimeError(f"redis-cli {' '.join(args[:3])} failed:\n{result.stdout[-3000:]}"
                           f"{result.stderr[-2000:]}")
    return result.stdout


def redslot_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "redslot.cli", *args]


class RedslotLocal:
    """``redslot up`` in the background (its own session, so all its nodes die with it)."""

    def __init__(self, shards: int, replicas: int, extra: tuple[str, ...] = ()) -> None:
        self.base = free_base_port(4 * (shards + 1) * (replicas + 1))
        self.dir = Path(tempfile.mkdtemp(prefix="bench-redslot-"))
        self.log_path = self.dir.parent / f"{self.dir.name}.log"
        self.argv = redslot_argv("up", "--shards", str(shards), "--replicas", str(replicas),
                                 "--port", str(self.base), "--dir", str(self.dir), *extra)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedslotLocal:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.dir.parent, start_new_session=True)
        log.close()
        try:
            wait_until("redslot up ready", self.ready, 60, interval=0.5)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """``redslot down``, then whatever it left: ``up``'s session, then each node by pid."""
        if self.proc is not None:
            try:
                subprocess.run(self.argv_for("down"), capture_output=True, timeout=60,
                               cwd=self.dir.parent)
            except subprocess.TimeoutExpired:
                pass
            stop_process(self.proc)
            for pid_file in self.dir.glob("nodes/*/node.pid"):
                try:
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def argv_for(self, *args: str) -> list[str]:
        return redslot_argv(*args, "--dir", str(self.dir))

    def cli(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(self.argv_for(*args), capture_output=True,
                                text=True, timeout=timeout, cwd=self.dir.parent)
        if result.returncode != 0:
            raise RuntimeError(f"redslot {' '.join(args)} exited {result.returncode}:\n"
                               f"{result.stdout[-2000:]}{result.stderr[-2000:]}\n"
                               f"redslot up log:\n{self.log_tail()}")
        return result.stdout

    def status(self) -> dict[str, Any]:
        return json.loads(self.cli("status", "--json", timeout=30))

    def ready(self) -> bool:
        """The cluster is formed and Ready (no status yet while ``up`` starts counts as not)."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"redslot up exited with {self.proc.returncode}:\n{self.log_tail()}")
        result = subprocess.run(self.argv_for("status", "--json"), capture_output=True,
                                text=True, timeout=30, cwd=self.dir.parent)
        return result.returncode == 0 and bool(json.loads(result.stdout).get("ready"))

    def master_ports(self) -> list[int]:
        return [shard["master"]["port"] for shard in self.status()["shards"]]


def healthy_redslot(status: dict[str, Any], replicas: int) -> bool:
    """Ready, and every shard has an up master and ``replicas`` up, in-sync replicas."""
    if not status.get("ready"):
        return False
    for shard in status["shards"]:
        master = shard.get("master")
        if not master or not master.get("up"):
            return False
        if sum(1 for r in shard["replicas"] if r.get("up") and r.get("in_sync")) < replicas:
            return False
    return True


def write_results(name: str, payload: dict[str, Any], path: Path | None = None) -> Path:
    """``payload`` as JSON to ``path``, by default bench/results/<name>.json."""
    path = path or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"time": time.time(), **payload}, indent=2) + "\n")
    return path


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p90 of 20 values is the 18th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(round(len(ordered) * fraction, 9)))
    return ordered[rank - 1]
