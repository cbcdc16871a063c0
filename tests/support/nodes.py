"""Real server processes for tests: redslot nodes and Debian's redis-server, on free ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 15.0
# The node's dispatch, for tests that parametrize ``node`` indirectly: "fast" (the short
# loop for data commands on, the default) or "full" (every request through the full checks).
DISPATCH_ENV = {"fast": {"REDSLOT_FAST_DISPATCH": "1"}, "full": {"REDSLOT_FAST_DISPATCH": "0"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_ping(port: int, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64):
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server on port {port} did not answer within {timeout}s")


class ServerProcess:
    """A server process on 127.0.0.1 with its own data dir; stopped and cleaned up on stop()."""

    def __init__(self, argv: list[str], port: int, workdir: str,
                 env: dict[str, str] | None = None) -> None:
        self.port = port
        self.workdir = workdir
        self.log_path = os.path.join(workdir, "server.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir,
                                     env=None if env is None else os.environ | env)
        try:
            wait_for_ping(port, self.proc)
        except BaseException:
            self.stop()
            raise

    @property
    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0, keep_dir: bool = False) -> int:
        """Stop the process; its data dir is removed unless ``keep_dir`` (restart tests)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        if not keep_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.proc.returncode


def start_node(*directives: str, port: int | None = None,
               env: dict[str, str] | None = None) -> ServerProcess:
    """Start ``redslot node`` with redis.conf directives given as ``--name value`` pairs
    and ``env`` added to the environment."""
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="redslot-test-")
    argv = [sys.executable, "-m", "redslot.cli", "node", "--port", str(port),
            "--bind", "127.0.0.1", "--dir", workdir, "--enable-debug-command", "yes",
            "--save", "", "--repl-diskless-sync-delay", "0", *directives]
    return ServerProcess(argv, port, workdir, env)


def start_redis_server(*directives: str) -> ServerProcess:
    """Start Debian's redis-server (the reference implementation) with the same conventions."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run ./scripts/test, which installs it")
    port = free_port()
    if "--cluster-enabled" in directives and "--cluster-port" not in directives:
        # the default bus port (port + 10000) does not exist above 55535
        directives = (*directives, "--cluster-port", str(free_port()))
    workdir = tempfile.mkdtemp(prefix="redis-ref-")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
            "--save", "", "--appendonly", "no", "--enable-debug-command", "yes", *directives]
    return ServerProcess(argv, port, workdir)


def no_retry() -> Retry:
    """For a redis-py client whose request is expected to fail (refused, a wrong password,
    NOAUTH): redis-py 8 retries those 10 times with backoff, about 4 s per failure."""
    return Retry(NoBackoff(), 0)


def check_footprint(node: ServerProcess) -> None:
    """After a test: the node's dataset accounting matches its keys (DEBUG FOOTPRINT).

    Every write must keep used_memory's dataset figure exact (keyspace.py, footprint.py);
    checking after every test that used a client makes the whole suite exercise that.
    A node the test stopped, locked (AUTH) or stripped of DEBUG is left alone.
    """
    try:
        with redis.Redis(port=node.port, socket_timeout=10, retry=no_retry()) as client:
            tracked, recomputed = client.execute_command("DEBUG", "FOOTPRINT")
    except redis.RedisError:
        return
    assert tracked == recomputed, "dataset accounting drifted during this test"
