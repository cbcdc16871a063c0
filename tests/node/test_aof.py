"""The append-only file: Redis 7's multi-part layout, written, rewritten and loaded back.

Debian's redis-check-aof must accept our files and Debian's redis-server must load them
to the same dataset (DEBUG DIGEST), and we must load the files redis-server writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from durability import AckedWriter, missing
from nodes import ServerProcess, free_port, start_node, start_redis_server
from replication_wait import until


def aof_dir(proc: ServerProcess) -> str:
    return os.path.join(proc.workdir, "appendonlydir")


def incr_file(proc: ServerProcess) -> str:
    folder = aof_dir(proc)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".incr.aof"))
    return os.path.join(folder, names[-1])


def writes(r: redis.Redis) -> None:
    r.set("s", "v")
    r.set("ttl", "v", ex=1000)
    r.incrbyfloat("f", "1.25")
    r.rpush("l", *range(20))
    r.lpop("l")
    r.hset("h", mapping={"a": 1, "b": 2})
    r.sadd("set", *range(30))
    r.spop("set", 3)
    r.zadd("z", {"a": 1, "b": 2.5})
    r.execute_command("SELECT", 5)
    r.execute_command("SET", "in-db5", "x")
    r.execute_command("SELECT", 0)
    with r.pipeline(transaction=True) as tx:
        tx.incr("counter")
        tx.incr("counter")
        tx.execute()


def digest(r: redis.Redis) -> bytes:
    return r.execute_command("DEBUG", "DIGEST")


@pytest.fixture
def procs() -> Iterator[Callable[[ServerProcess], ServerProcess]]:
    """Register processes to stop (and clean up) after the test, however it ends."""
    started: list[ServerProcess] = []

    def track(proc: ServerProcess) -> ServerProcess:
        started.append(proc)
        return proc

    yield track
    for proc in reversed(started):
        proc.stop()


def restart(proc: ServerProcess, *directives: str) -> ServerProcess:
    proc.stop(keep_dir=True)
    return start_node("--appendonly", "yes", "--dir", proc.workdir, *directives)


@pytest.mark.parametrize("fsync", ["always", "everysec", "no"])
def test_writes_survive_a_restart_from_the_aof(procs, fsync):
    node = procs(start_node("--appendonly", "yes", "--appendfsync", fsync))
    r = redis.Redis(port=node.port)
    writes(r)
    expected = digest(r)
    again = procs(restart(node))
    assert digest(redis.Redis(port=again.port)) == expected


def test_redis_tools_accept_our_files_and_redis_server_loads_them(procs):
    node = procs(start_node("--appendonly", "yes"))
    r = redis.Redis(port=node.port)
    writes(r)
    expected = digest(r)
    manifest = os.path.join(aof_dir(node), "appendonly.aof.manifest")
    check = subprocess.run(["redis-check-aof", manifest], capture_output=True, text=True,
                           timeout=30)
    assert "All AOF files and manifest are valid" in check.stdout
    node.stop(keep_dir=True)
    reference = procs(start_redis_server("--appendonly", "yes", "--dir", node.workdir))
    assert digest(redis.Redis(port=reference.port)) == expected


def test_we_load_the_aof_redis_server_writes(procs):
    reference = procs(start_redis_server("--appendonly", "yes"))
    r = redis.Redis(port=reference.port)
    writes(r)
    r.bgrewriteaof()
    until(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0)
    r.set("after-rewrite", 1)
    expected = digest(r)
    reference.stop(keep_dir=True)
    node = procs(start_node("--appendonly", "yes", "--dir", reference.workdir))
    assert digest(redis.Redis(port=node.port)) == expected


@pytest.mark.parametrize("save", ["", "3600 1"])
def test_save_and_flushes_reach_the_aof_as_redis_servers_do(procs, save):
    """SAVE lowers the dirty counter and is not propagated (call() counts only a rise);
    FLUSHDB and FLUSHALL are, an empty database's too and FLUSHALL after its own save
    (forceCommandPropagation); rdb_changes_since_last_save as Redis counts it."""
    steps = [("FLUSHDB",), ("SAVE",), ("SET", "a", "1"), ("SAVE",), ("SET", "b", "2"),
             ("FLUSHALL",), ("SET", "c", "3"), ("SAVE",), ("FLUSHALL",), ("FLUSHDB",)]
    seen = []
    for start in (start_redis_server, start_node):
        proc = procs(start("--appendonly", "yes", "--save", save))
        r = redis.Redis(port=proc.port)
        changes = []
        for step in steps:
            r.execute_command(*step)
            changes.append(r.info("persistence")["rdb_changes_since_last_save"])
        r.execute_command("CONFIG", "SET", "appendfsync", "always")
        r.set("end", "1")  # written after everything before it
        with open(incr_file(proc), "rb") as f:
            seen.append((f.read(), changes))
    assert seen[1] == seen[0]
    assert b"SAVE" not in seen[1][0].upper()


def test_bgrewriteaof_replaces_the_files_with_a_new_base(procs):
    node = procs(start_node("--appendonly", "yes"))
    r = redis.Redis(port=node.port)
    writes(r)
    assert r.bgrewriteaof()
    until(lambda: r.info("persistence")["aof_rewrites"] == 1)
    r.set("after", "rewrite")
    names = sorted(os.listdir(aof_dir(node)))
    assert names == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof",
                     "appendonly.aof.manifest"]
    expected = digest(r)
    again = procs(restart(node))
    assert digest(redis.Redis(port=again.port)) == expected


def test_a_tail_cut_by_a_crash_is_dropped_and_the_file_truncated(procs):
    node = procs(start_node("--appendonly", "yes"))
    r = redis.Redis(port=node.port)
    writes(r)
    expected = digest(r)
    node.stop(keep_dir=True)
    path = incr_file(node)
    size = os.path.getsize(path)
    with open(path, "ab") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval")
    again = procs(start_node("--appendonly", "yes", "--dir", node.workdir))
    assert digest(redis.Redis(port=again.port)) == expected
    assert os.path.getsize(path) == size
    assert "Truncating the AOF" in again.log


def test_a_cut_tail_is_found_at_its_exact_offset_in_a_file_of_many_pieces(procs):
    """The replay and the offset search feed hiredis 64 kB at a time: commands straddle
    the pieces."""
    node = procs(start_node("--appendonly", "yes"))
    r = redis.Redis(port=node.port)
    pipe = r.pipeline(transaction=False)
    for i in range(6000):
        pipe.set(f"key:{i}", f"{i:0{i % 150 + 1}d}")
    pipe.execute()
    expected = digest(r)
    node.stop(keep_dir=True)
    path = incr_file(node)
    size = os.path.getsize(path)
    assert size > 6 * 65536
    with open(path, "ab") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval")
    again = procs(start_node("--appendonly", "yes", "--dir", node.workdir))
    assert digest(redis.Redis(port=again.port)) == expected
    assert os.path.getsize(path) == size


def test_a_multi_without_exec_at_the_end_is_dropped(procs):
    node = procs(start_node("--appendonly", "yes"))
    redis.Redis(port=node.port).set("k", "before")
    node.stop(keep_dir=True)
    with open(incr_file(node), "ab") as f:
        f.write(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nafter\r\n")
    again = procs(start_node("--appendonly", "yes", "--dir", node.workdir))
    assert redis.Redis(port=again.port).get("k") == b"before"


def test_a_truncated_aof_stops_the_node_when_truncation_is_not_allowed(procs):
    node = procs(start_node("--appendonly", "yes"))
    redis.Redis(port=node.port).set("k", "v")
    node.stop(keep_dir=True)
    with open(incr_file(node), "ab") as f:
        f.write(b"*3\r\n$3\r\nSET")
    try:
        again = start_node("--appendonly", "yes", "--aof-load-truncated", "no",
                           "--dir", node.workdir)
    except RuntimeError as exc:
        assert "exited with 1" in str(exc)
        return
    # It answered a PING (-LOADING) while loading, on a slow machine: it must still fail.
    code = again.proc.wait(60)
    again.stop(keep_dir=True)
    assert code == 1


@pytest.mark.parametrize("command", [b"*2\r\n$3\r\nDEL\r\n:1\r\n",
                                     b"*2\r\n$3\r\nDEL\r\n*1\r\n$1\r\nk\r\n",
                                     b"*2\r\n$3\r\nDEL\r\n$-1\r\n"])
def test_a_command_with_an_argument_that_is_not_a_string_stops_the_node(procs, command):
    """loadSingleAppendOnlyFile's fmterr: every argument must be a bulk string."""
    node = procs(start_node("--appendonly", "yes"))
    redis.Redis(port=node.port).set("k", "v")
    node.stop(keep_dir=True)
    with open(incr_file(node), "ab") as f:
        f.write(command + b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n")
    run = subprocess.run([sys.executable, "-m", "redslot.cli", "node", "--port", str(free_port()),
                          "--bind", "127.0.0.1", "--dir", node.workdir, "--save", "",
                          "--appendonly", "yes"], capture_output=True, timeout=120)
    assert run.returncode == 1
    assert b"Bad file format reading the append only file" in run.stdout + run.stderr


def test_config_set_appendonly_yes_writes_a_base_of_the_current_data(procs):
    node = procs(start_node())
    r = redis.Redis(port=node.port)
    writes(r)
    r.config_set("appendonly", "yes")
    until(lambda: r.info("persistence")["aof_rewrites"] == 1)
    r.set("later", 1)
    expected = digest(r)
    again = procs(restart(node))
    assert digest(redis.Redis(port=again.port)) == expected


def test_info_persistence_reports_the_aof(procs):
    node = procs(start_node("--appendonly", "yes"))
    r = redis.Redis(port=node.port)
    r.set("k", "v")
    info = r.info("persistence")
    assert info["aof_enabled"] == 1
    assert info["aof_last_write_status"] == "ok"
    assert info["aof_current_size"] > info["aof_base_size"] > 0
    r.config_set("rdb-key-save-delay", 500_000)  # the rewrite child takes 0.5 s a key
    r.bgrewriteaof()
    assert r.info("persistence")["aof_rewrite_in_progress"] == 1
    with pytest.raises(redis.ResponseError, match="already in progress"):
        r.bgrewriteaof()


def test_appendfsync_always_keeps_every_acknowledged_write_through_kill_9(procs):
    node = procs(start_node("--appendonly", "yes", "--appendfsync", "always"))
    writer = AckedWriter(node.port, "k")
    time.sleep(0.7)
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(5)
    acked = writer.stop()
    assert len(acked) > 500
    again = procs(restart(node))
    assert missing(redis.Redis(port=again.port), acked) == 0
