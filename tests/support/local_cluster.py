"""`redslot up` as a user runs it, for tests: a subprocess, its directory, its status file.

Also a writer thread that keeps writing unique keys through redis-py's RedisCluster and
remembers the ones acknowledged, so a test can check that none went missing.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.cluster import RedisCluster


def free_base_port(count: int = 40) -> int:
    """A port with ``count`` free ports after it (the supervisor skips busy ones anyway)."""
    import socket

    rng = random.Random()
    for _ in range(100):
        # Below the kernel's ephemeral range (32768-60999 here): an outgoing connection
        # (the control plane's, a replica's link) can take a free port in that range before
        # a late node binds it, and that node then fails to start for as long as the
        # connection lives (CI saw a replica exit 1 for 60 s). Nodes listen on no bus port.
        base = rng.randrange(20000, 32768 - count)
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


class LocalCluster:
    def __init__(self, shards: int = 3, replicas: int = 1, *args: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="redslot-up-"))
        self.port = free_base_port()
        self.args = ["--shards", str(shards), "--replicas", str(replicas), *args]
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self, resume: bool = False) -> None:
        """``redslot up``; ``resume``: with no spec flags, as one restarts a cluster."""
        log = open(self.dir / "up.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "redslot.cli", "up", "--port", str(self.port),
             "--dir", str(self.dir), *([] if resume else self.args)], stdout=log, stderr=log)
        log.close()

    def redslot(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "redslot.cli", *args, "--dir", str(self.dir)],
                              capture_output=True, text=True, timeout=timeout)

    def status(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.dir / "status.json").read_text())
        except (OSError, ValueError):
            return {}
        return data

    def record(self) -> dict[str, Any]:
        """The control plane's own progress (record.json), saved after every step of a
        reshard, where the status is published once a pass."""
        try:
            data: dict[str, Any] = json.loads((self.dir / "record.json").read_text())
        except (OSError, ValueError):
            return {}
        return data

    def wait(self, predicate: Callable[[dict[str, Any]], bool], what: str,
             timeout: float = 60, source: Callable[[], dict[str, Any]] | None = None,
             interval: float = 0.1) -> dict[str, Any]:
        """``source``: what to read (the status unless told)."""
        read = source or self.status
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = read()
            if current and predicate(current):
                return current
            assert self.proc is None or self.proc.poll() is None, self.log()
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}; status: "
                             f"{json.dumps(self.status())[:3000]}\n{self.log()}")

    def wait_ready(self, shards: int | None = None, timeout: float = 60) -> dict[str, Any]:
        since = time.time()
        return self.wait(lambda s: s["ready"] and s["updated"] > since and (
            shards is None or len(s["shards"]) == shards), "the cluster to be ready", timeout)

    def log(self) -> str:
        try:
            return (self.dir / "up.log").read_text()[-4000:]
        except OSError:
            return ""

    def security(self) -> dict[str, Any]:
        """redis-py options for this cluster: its password and TLS files, if it has them."""
        options: dict[str, Any] = {}
        if (self.dir / "password").exists():
            options["password"] = (self.dir / "password").read_text().strip()
        tls = self.dir / "tls"
        if (tls / "ca.crt").exists():
            options.update(ssl=True, ssl_ca_certs=str(tls / "ca.crt"),
                           ssl_certfile=str(tls / "client.crt"), ssl_keyfile=str(tls / "client.key"))
        return options

    def cli_args(self) -> list[str]:
        """redis-cli's options for the same."""
        options = self.security()
        args = []
        if options.get("ssl"):
            args += ["--tls", "--cacert", options["ssl_ca_certs"], "--cert",
                     options["ssl_certfile"], "--key", options["ssl_keyfile"]]
        if "password" in options:
            args += ["-a", options["password"], "--no-auth-warning"]
        return args

    def address(self) -> tuple[str, int]:
        master = self.status()["shards"][0]["master"]
        host, port = master["address"].rsplit(":", 1)
        return host, int(port)

    def client(self) -> RedisCluster:
        host, port = self.address()
        return RedisCluster(host=host, port=port, socket_timeout=2, socket_connect_timeout=1,
                            **self.security())

    def check(self, settle: float = 10.0) -> str:
        """redis-cli --cluster check against a live master; must pass with no open slot.

        Nodes converge by pushing tables to each other, so right after a change a peer's
        push still in flight can make views differ for a moment: "Nodes don't agree" is
        retried for ``settle`` seconds, every other finding fails at once."""
        host, port = self.address()
        deadline = time.monotonic() + settle
        while True:
            result = subprocess.run(["redis-cli", "--cluster", "check", f"{host}:{port}",
                                     *self.cli_args()],
                                    capture_output=True, text=True, timeout=60)
            out = result.stdout + result.stderr
            if "don't agree" not in out or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert result.returncode == 0, out
        assert "[OK] All 16384 slots covered." in out, out
        assert "[WARNING]" not in out and "[ERR]" not in out, out
        return out

    def marks(self) -> list[str]:
        """MIGRATING/IMPORTING marks left on any node."""
        found = []
        for shard in self.status()["shards"]:
            for node in [shard["master"], *shard["replicas"]]:
                host, port = node["address"].rsplit(":", 1)
                client = redis.Redis(host=host, port=int(port), decode_responses=True,
                                     **self.security())
                text = client.execute_command("CLUSTER", "NODES")  # raw: no reply parsing
                assert isinstance(text, str), text
                found += [part for part in text.split() if part.startswith("[")]
        return found

    def master_pid(self, shard: int) -> int:
        pid: int = self.status()["shards"][shard]["master"]["pid"]
        return pid

    def kill_control_plane(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for pid_file in self.dir.glob("nodes/*/node.pid"):
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def key_in_shard(status: dict[str, Any], shard: int, prefix: str = "probe") -> str:
    """A key whose slot the shard owns now."""
    from redis.crc import key_slot

    owned = set()
    for piece in status["shards"][shard]["slots"].split():
        start, _, end = piece.partition("-")
        owned.update(range(int(start), int(end or start) + 1))
    return next(f"{prefix}:{i}" for i in range(100000) if key_slot(f"{prefix}:{i}".encode()) in owned)


class ClusterWriter:
    """A thread writing unique keys one by one through RedisCluster until stopped;
    ``acked`` holds the keys whose SET returned OK. Errors are counted and retried."""

    def __init__(self, cluster: LocalCluster, prefix: str, limit: int = 200000) -> None:
        self.client = cluster.client()
        self.prefix = prefix
        self.limit = limit
        self.acked: list[str] = []
        self.errors = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        n = 0
        while not self.stopping.is_set() and n < self.limit:
            key = f"{self.prefix}:{n}"
            try:
                if self.client.set(key, n) is True:
                    self.acked.append(key)
                n += 1
            except Exception:  # noqa: BLE001 - redis-py can raise odd ones while topology moves
                self.errors += 1
                time.sleep(0.05)

    def stop(self) -> list[str]:
        self.stopping.set()
        self.thread.join(30)
        return self.acked


def preload(client: RedisCluster, count: int, prefix: str = "pre") -> None:
    for start in range(0, count, 1000):
        pipe = client.pipeline()
        for i in range(start, min(start + 1000, count)):
            pipe.set(f"{prefix}:{i}", i)
        pipe.execute()


def missing_keys(client: RedisCluster, keys: list[str]) -> list[str]:
    lost = []
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        values = client.mget_nonatomic(chunk)
        lost += [key for key, value in zip(chunk, values, strict=True) if value is None]
    return lost
