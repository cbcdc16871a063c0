"""SIGTERM while redslot starts: it exits at once, saves nothing, and lays out no AOF.

In a container the node is PID 1 of its PID namespace, where the kernel drops a signal with
the default disposition: a SIGTERM that came before the node had a handler was lost and the
kubelet waited out the grace period. These tests send one SIGTERM at moments of the start
(during the imports of a PID-1 node, during the AOF replay, during the RDB load) and bound
the time to the exit; Redis's rule for a signal while loading is an exit without saving.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from nodes import free_port, start_node

EXIT_BOUND = 5.0  # seconds from the SIGTERM to the exit; loading the files takes longer
LOAD_KEYS = 100_000
# Redis's own way to make a load last: 50 us after each key (or AOF command), so loading
# the keys takes 5 s or more and the SIGTERM surely lands in it, however fast the loader.
SLOW_LOAD = ("--key-load-delay", "50")
# A stand-in for a library whose import takes 60 s: the node imports uvloop after its
# config is read, the operator kopf after its arguments, so a SIGTERM sent meanwhile lands
# where, before the fix, no handler existed.
SLOW_IMPORT = """
import os, pathlib, time
pathlib.Path(os.environ["SLOW_IMPORT_MARK"]).touch()
time.sleep(60)
raise ImportError("stand-in")
"""


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def node_argv(port: int, data: Path, *directives: str) -> list[str]:
    return [sys.executable, "-m", "redslot.cli", "node", "--port", str(port), "--bind",
            "127.0.0.1", "--dir", str(data), "--save", "", *directives]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts: SIGKILLed at the end if a test left one running."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def seconds_to_exit(proc: subprocess.Popen[bytes], pid: int) -> float:
    """SIGTERM ``pid``; the seconds until ``proc`` exited (TimeoutExpired past the bound)."""
    sent = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    proc.wait(EXIT_BOUND)
    return time.monotonic() - sent


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.parametrize(("command", "library"), [("node", "uvloop"), ("operator", "kopf")])
def test_a_sigterm_during_the_imports_of_a_pid1_redslot_ends_it_at_once(
        tmp_path: Path, started: list[subprocess.Popen[bytes]], command: str,
        library: str) -> None:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root for a PID namespace")
    stand_in = tmp_path / "imports"
    stand_in.mkdir()
    (stand_in / f"{library}.py").write_text(SLOW_IMPORT)
    mark = tmp_path / "importing"
    path = os.pathsep.join([str(stand_in), os.environ.get("PYTHONPATH", "")])
    env = os.environ | {"SLOW_IMPORT_MARK": str(mark), "PYTHONPATH": path}
    (tmp_path / "data").mkdir()
    argv = (node_argv(free_port(), tmp_path / "data") if command == "node" else
            [sys.executable, "-m", "redslot.cli", "operator", "--standalone"])
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", *argv],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started.append(proc)
    wait_until(mark.exists, 60, f"{command} never imported {library}")
    init = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
    nspid = next(line for line in Path(f"/proc/{init}/status").read_text().splitlines()
                 if line.startswith("NSpid:"))
    assert nspid.split()[-1] == "1"  # PID 1 in its namespace, as in a container
    assert seconds_to_exit(proc, init) < EXIT_BOUND
    assert proc.returncode == 0


@pytest.fixture(scope="module")
def aof_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AOF (RESP commands, no RDB preamble) of LOAD_KEYS keys."""
    node = start_node("--appendonly", "yes", "--aof-use-rdb-preamble", "no")
    try:
        c = redis.Redis(port=node.port, socket_timeout=120)
        c.execute_command("DEBUG", "POPULATE", LOAD_KEYS)
        c.bgrewriteaof()
        wait_until(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0
                   and c.info("persistence")["aof_rewrite_scheduled"] == 0, 120,
                   "the AOF rewrite never ended")
        kept = tmp_path_factory.mktemp("aof")
        shutil.copytree(Path(node.workdir) / "appendonlydir", kept / "appendonlydir")
    finally:
        node.stop()
    return kept


def files(path: Path) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file()}


def test_a_sigterm_during_the_aof_replay_exits_without_saving_or_finishing_the_load(
        tmp_path: Path, aof_dir: Path, started: list[subprocess.Popen[bytes]]) -> None:
    data = tmp_path / "data"
    shutil.copytree(aof_dir, data)
    before = files(data)
    port = free_port()
    log = tmp_path / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(node_argv(port, data, "--appendonly", "yes", "--save", "60 1",
                                          *SLOW_LOAD),
                                stdout=out, stderr=subprocess.STDOUT)
    started.append(proc)
    wait_until(lambda: listening(port), 60, "the node never listened")  # listens, then loads
    assert seconds_to_exit(proc, proc.pid) < EXIT_BOUND
    text = log.read_text()
    assert "Received SIGTERM during loading, exiting without saving" in text
    assert "DB loaded from append only file" not in text
    assert proc.returncode == 0
    assert files(data) == before  # no dump.rdb, the AOF untouched


def test_a_sigterm_during_the_rdb_load_with_appendonly_lays_out_no_aof(
        tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> None:
    """With appendonly on and only an RDB on disk, the AOF's first base is made from the
    data loaded: a load cut short must not become the node's AOF (the next start would
    load the partial AOF instead of the whole RDB)."""
    data = tmp_path / "data"
    data.mkdir()
    node = start_node()
    try:
        c = redis.Redis(port=node.port, socket_timeout=120)
        c.execute_command("DEBUG", "POPULATE", LOAD_KEYS)
        c.save()
        shutil.copy(Path(node.workdir) / "dump.rdb", data)
    finally:
        node.stop()
    port = free_port()
    proc = subprocess.Popen(node_argv(port, data, "--appendonly", "yes", *SLOW_LOAD),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started.append(proc)
    c = redis.Redis(port=port, socket_timeout=30)

    def loading() -> bool:
        try:
            return c.info("persistence")["loading"] == 1
        except redis.ConnectionError:
            return False

    wait_until(loading, 60, "the node was never seen loading")
    assert seconds_to_exit(proc, proc.pid) < EXIT_BOUND
    assert not (data / "appendonlydir").exists()
    restarted = subprocess.Popen(node_argv(port, data, "--appendonly", "yes"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started.append(restarted)

    def loaded() -> bool:
        try:
            return c.info("persistence")["loading"] == 0
        except (redis.ConnectionError, redis.BusyLoadingError):
            return False

    wait_until(loaded, 120, "the restarted node never loaded")
    assert c.dbsize() == LOAD_KEYS
    restarted.terminate()
    restarted.wait(30)


def test_a_sigterm_once_serving_still_saves_as_redis_does(
        tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> None:
    data = Path(tempfile.mkdtemp(dir=tmp_path))
    port = free_port()
    proc = subprocess.Popen(node_argv(port, data, "--save", "3600 1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started.append(proc)
    c = redis.Redis(port=port, socket_timeout=30)

    def answers() -> bool:
        try:
            return bool(c.ping())
        except (redis.ConnectionError, redis.BusyLoadingError):
            return False

    wait_until(answers, 60, "the node never answered")
    c.set("k", "v")
    assert seconds_to_exit(proc, proc.pid) < EXIT_BOUND
    assert (data / "dump.rdb").exists()
