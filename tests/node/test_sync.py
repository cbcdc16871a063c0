"""SYNC and redis-cli's backup modes: `redis-cli --rdb` and `redis-cli --replica`.

SYNC is the pre-PSYNC full sync: the snapshot as one bulk (no +FULLRESYNC line), then the
command stream. redis-cli asks for the snapshot alone (REPLCONF rdb-only 1) to write a
backup, or for a snapshot without the keys (rdb-filter-only "") to print the live stream.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from nodes import ServerProcess, start_node, start_redis_server
from output_wait import read_until
from resp import RawClient
from transcripts import assert_same_transcript


def load_into_redis(rdb: Path) -> dict[str, object]:
    """The keys of ``rdb`` as redis-server 7.0 reads them."""
    workdir = tempfile.mkdtemp(prefix="redslot-rdb-")
    shutil.copy(rdb, Path(workdir) / "dump.rdb")
    ref = start_redis_server("--dir", workdir, "--dbfilename", "dump.rdb")
    try:
        with RawClient(ref.port) as c:
            return {"db0": sorted(c.call("KEYS", "*").split(b"\r\n")),
                    "list": c.call("LRANGE", "l", "0", "-1"),
                    "db3": (c.call("SELECT", "3"), c.call("GET", "b"))}
    finally:
        ref.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_redis_cli_rdb_writes_a_backup_redis_server_loads(node: ServerProcess, tmp_path: Path) -> None:
    with RawClient(node.port) as c:
        c.call("FLUSHALL")
        c.call("SET", "a", "1")
        c.call("RPUSH", "l", "x", "y")
        c.call("SELECT", "3")
        c.call("SET", "b", "2")
    backup = tmp_path / "backup.rdb"
    done = subprocess.run(["redis-cli", "-p", str(node.port), "--rdb", str(backup)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "Transfer finished with success" in done.stderr
    check = subprocess.run(["redis-check-rdb", str(backup)], capture_output=True, text=True,
                           timeout=30)
    assert "RDB looks OK" in check.stdout, check.stdout
    assert load_into_redis(backup) == {
        "db0": [b"", b"$1", b"$1", b"*2", b"a", b"l"],
        "list": b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
        "db3": (b"+OK\r\n", b"$1\r\n2\r\n"),
    }
    with RawClient(node.port) as c:  # the RDB-only link is gone, not left as a replica
        deadline = time.monotonic() + 5
        while b"connected_slaves:0" not in c.call("INFO", "replication"):
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_redis_cli_replica_prints_the_live_stream(node: ServerProcess) -> None:
    watcher = subprocess.Popen(["redis-cli", "-p", str(node.port), "--replica"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with RawClient(node.port) as c:
            deadline = time.monotonic() + 10
            while b"connected_slaves:1" not in c.call("INFO", "replication"):
                assert time.monotonic() < deadline, "redis-cli --replica never attached"
                time.sleep(0.05)
            c.call("SET", "live", "value")
            c.call("LPUSH", "q", "job")
        assert watcher.stdout is not None
        read_until(watcher.stdout.fileno(), b'"SET","live","value"', b'"LPUSH","q","job"')
    finally:
        watcher.terminate()
        _, err = watcher.communicate(timeout=10)
    assert "SYNC done. Logging commands from master." in err


def test_sync_sends_the_snapshot_without_a_fullresync_line(node: ServerProcess) -> None:
    with RawClient(node.port) as c:
        c.call("SET", "k", "v")
        c.send_raw(b"SYNC\r\n")
        head = b""
        while not head.endswith(b"\r\n"):
            head += c.sock.recv(1)
        assert head.startswith(b"$") and int(head[1:]) > 0


@pytest.mark.parametrize("steps", [
    [("c", 1, "REPLCONF", "rdb-only", "2")],
    [("c", 1, "REPLCONF", "rdb-only", "x")],
    [("c", 1, "REPLCONF", "rdb-only", "1")],
    [("c", 1, "REPLCONF", "rdb-filter-only", "keys")],
    [("c", 1, "REPLCONF", "rdb-filter-only", "functions")],
    [("c", 1, "REPLCONF", "rdb-filter-only", "\"unbalanced")],
    [("c", 1, "REPLCONF", "rdb-filter-only", ""), ("c", 1, "SYNC")],
    [("c", 1, "REPLCONF", "capa", "eof", "capa", "psync2")],
])
def test_replconf_options_match_redis(node: ServerProcess, reference: ServerProcess,
                                      steps: list[tuple]) -> None:
    assert_same_transcript(node, reference, steps, protocols=(2,))


def test_sync_against_a_cluster_master(tmp_path: Path) -> None:
    """A master of a cluster hands out its backup the same way."""
    node = start_node("--cluster-enabled", "yes")
    try:
        with RawClient(node.port) as c:
            c.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
            deadline = time.monotonic() + 10
            while b"cluster_state:ok" not in c.call("CLUSTER", "INFO"):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            c.call("SET", "a", "1")
        backup = tmp_path / "cluster.rdb"
        done = subprocess.run(["redis-cli", "-p", str(node.port), "--rdb", str(backup)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        check = subprocess.run(["redis-check-rdb", str(backup)], capture_output=True,
                               text=True, timeout=30)
        assert "1 keys read" in check.stdout
    finally:
        node.stop()
