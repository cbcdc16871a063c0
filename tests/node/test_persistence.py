"""RDB snapshots: SAVE, BGSAVE, save points, loading at start, against Debian's redis-server.

Files go both ways: redis-check-rdb accepts what the node writes, redis-server loads it
with the same DEBUG DIGEST, and the node loads what redis-server writes with the same
digest. Every test starts its own processes on a data dir it keeps across restarts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from differential import assert_same
from nodes import ServerProcess, check_footprint, start_node, start_redis_server
from resp import RawClient

MISCONF = (b"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
           b"persist to disk.")


def client(proc: ServerProcess) -> redis.Redis:
    return redis.Redis(port=proc.port, socket_timeout=30)


def info(proc: ServerProcess) -> dict[str, str]:
    with RawClient(proc.port) as raw:
        text = raw.call("INFO", "persistence").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def fill(c: redis.Redis) -> None:
    """Every type in every encoding Redis 7.0 writes, TTLs, and a second database."""
    c.mset({"int": 12345, "neg": -7, "bigint": 12345678901, "short": "hello",
            "compressible": "a" * 300, "binary": bytes(range(256)) * 3})
    c.set("ttl", "v", px=600_000)
    c.rpush("list:small", "a", "b", 1, 2, -3)
    c.rpush("list:big", *[f"element-{i}-" + "x" * 40 for i in range(3000)])
    c.sadd("set:int", *range(20))
    c.sadd("set:bigint", *range(0, 6000, 7))
    c.sadd("set:str", "a", "b", "c", "hello")
    c.hset("hash:small", mapping={"f1": "v1", "f2": 2, "f3": "x" * 30})
    c.hset("hash:big", mapping={f"field{i}": f"value{i}" for i in range(700)})
    c.hset("hash:longvalue", mapping={"f": "y" * 100})
    c.zadd("zset:small", {"a": 1, "b": 2.5, "c": -3})
    c.zadd("zset:big", {f"member{i}": i / 3 for i in range(300)})
    c.zadd("zset:long", {"m" * 100: 1.5})
    c.pexpire("hash:big", 900_000)
    c.execute_command("SELECT", 5)
    c.set("in-db5", "yes")
    c.zadd("zset:db5", {"x": 1})
    c.execute_command("SELECT", 0)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def node_on(path: Path, *directives: str) -> ServerProcess:
    return start_node("--dir", str(path), *directives)


def redis_on(path: Path, *directives: str) -> ServerProcess:
    return start_redis_server("--dir", str(path), *directives)


def digests(proc: ServerProcess) -> tuple[bytes, dict[int, list[bytes]]]:
    """DEBUG DIGEST, and DEBUG DIGEST-VALUE of every key, per database."""
    c = client(proc)
    per_db = {}
    for db in (0, 5):
        c.execute_command("SELECT", db)
        keys = sorted(c.keys())
        per_db[db] = [c.execute_command("DEBUG", "DIGEST-VALUE", k)[0] for k in keys] + keys
    return c.execute_command("DEBUG", "DIGEST"), per_db


def test_saved_file_passes_redis_check_rdb(data_dir: Path) -> None:
    node = node_on(data_dir)
    try:
        fill(client(node))
        assert client(node).save() is True
        check = subprocess.run(["redis-check-rdb", str(data_dir / "dump.rdb")],
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout
        assert "RDB looks OK" in check.stdout
        assert "Checksum OK" in check.stdout
    finally:
        node.stop()


def test_file_starts_with_rdb_10_and_redis_aux_fields(data_dir: Path) -> None:
    node = node_on(data_dir)
    try:
        client(node).set("k", "v")
        client(node).save()
        data = (data_dir / "dump.rdb").read_bytes()
        assert data.startswith(b"REDIS0010\xfa\x09redis-ver")
        for field in (b"redis-bits", b"ctime", b"used-mem", b"aof-base"):
            assert field in data
        assert b"\xfe\x00\xfb\x01\x00" in data  # SELECTDB 0, RESIZEDB 1 0
    finally:
        node.stop()


def test_redis_server_loads_our_file_with_the_same_digest(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    node = node_on(data_dir)
    try:
        fill(client(node))
        client(node).save()
        ours = digests(node)
    finally:
        node.stop()
    ref_dir = tmp_path_factory.mktemp("ref")
    shutil.copy(data_dir / "dump.rdb", ref_dir / "dump.rdb")
    ref = redis_on(ref_dir)
    try:
        assert digests(ref) == ours
        assert client(ref).pttl("ttl") > 500_000
    finally:
        ref.stop()


def test_node_loads_a_redis_file_with_the_same_digest(data_dir: Path) -> None:
    ref = redis_on(data_dir)
    try:
        c = client(ref)
        fill(c)
        c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
        c.set("expired-on-load", "x", px=50)
        time.sleep(0.1)
        c.save()
        c.delete("expired-on-load")
        theirs = digests(ref)
    finally:
        ref.stop()
    node = node_on(data_dir)
    try:
        assert digests(node) == theirs
        fields = info(node)
        assert fields["rdb_last_load_keys_expired"] == "1"
        assert fields["rdb_last_load_keys_loaded"] == str(sum(1 for _ in (
            client(node).scan_iter())) + 2)
        check_footprint(node)
    finally:
        node.stop()


def test_node_restarted_on_its_dir_has_its_data_back(data_dir: Path) -> None:
    node = node_on(data_dir, "--save", "3600 1")
    try:
        fill(client(node))
        before = digests(node)
    finally:
        assert node.stop() == 0  # SIGTERM with a save point set: the final snapshot
    assert (data_dir / "dump.rdb").exists()
    node = node_on(data_dir)
    try:
        assert digests(node) == before
        assert client(node).pttl("ttl") > 500_000
    finally:
        node.stop()


def test_shutdown_saves_when_save_points_are_set(data_dir: Path) -> None:
    node = node_on(data_dir, "--save", "3600 1")
    try:
        client(node).set("k", "v")
        with RawClient(node.port) as raw:
            raw.sock.sendall(b"SHUTDOWN\r\n")
        node.proc.wait(10)
    finally:
        node.stop()
    restarted = node_on(data_dir)
    try:
        assert client(restarted).get("k") == b"v"
    finally:
        restarted.stop()


def test_shutdown_nosave_writes_nothing(data_dir: Path) -> None:
    node = node_on(data_dir, "--save", "3600 1")
    try:
        client(node).set("k", "v")
        with RawClient(node.port) as raw:
            raw.sock.sendall(b"SHUTDOWN NOSAVE\r\n")
        node.proc.wait(10)
    finally:
        node.stop()
    assert not (data_dir / "dump.rdb").exists()


def test_shutdown_save_writes_without_save_points(data_dir: Path) -> None:
    node = node_on(data_dir)
    try:
        client(node).set("k", "v")
        with RawClient(node.port) as raw:
            raw.sock.sendall(b"SHUTDOWN SAVE\r\n")
        node.proc.wait(10)
    finally:
        node.stop()
    assert (data_dir / "dump.rdb").exists()


def test_bgsave_writes_in_a_child_while_the_node_serves(data_dir: Path) -> None:
    node = node_on(data_dir, "--rdb-key-save-delay", "2000")
    try:
        c = client(node)
        c.execute_command("DEBUG", "POPULATE", 500)
        assert c.bgsave() is True
        fields = info(node)
        assert fields["rdb_bgsave_in_progress"] == "1"
        assert fields["current_save_keys_total"] == "500"
        assert c.set("written-during-bgsave", "x") is True
        assert c.get("written-during-bgsave") == b"x"
        with RawClient(node.port) as raw:
            assert raw.call("BGSAVE") == b"-ERR Background save already in progress\r\n"
            assert raw.call("SAVE") == b"-ERR Background save already in progress\r\n"
        wait_until(lambda: info(node)["rdb_bgsave_in_progress"] == "0")
        fields = info(node)
        assert fields["rdb_last_bgsave_status"] == "ok"
        assert fields["rdb_changes_since_last_save"] == "1"  # the write made meanwhile
        assert int(fields["rdb_last_bgsave_time_sec"]) >= 0
        assert not list(data_dir.glob("temp-*.rdb"))
    finally:
        node.stop()
    restarted = node_on(data_dir)
    try:  # the snapshot is the dataset as it was at the fork
        assert client(restarted).dbsize() == 500
        assert client(restarted).get("written-during-bgsave") is None
    finally:
        restarted.stop()


def test_lastsave_moves_on_save(data_dir: Path) -> None:
    node = node_on(data_dir)
    try:
        c = client(node)
        first = c.lastsave()
        time.sleep(1.1)
        c.save()
        assert c.lastsave() > first
        assert info(node)["rdb_last_save_time"] == str(int(c.lastsave().timestamp()))
    finally:
        node.stop()


def test_save_point_starts_a_bgsave(data_dir: Path) -> None:
    node = node_on(data_dir, "--save", "1 2")
    try:
        c = client(node)
        c.set("a", 1)
        c.set("b", 2)
        wait_until(lambda: info(node)["rdb_changes_since_last_save"] == "0")
        assert (data_dir / "dump.rdb").exists()
        assert "2 changes in 1 seconds. Saving..." in node.log
    finally:
        node.stop()


def test_flushall_saves_when_save_points_are_set(data_dir: Path) -> None:
    """FLUSHALL saves the emptied dataset, and its save resets the dirty counter: after it
    rdb_changes_since_last_save is 0 in redis-server 7.0.15 (its propagation is forced,
    not counted); with no save points, the SET and the key FLUSHALL removed: 2."""
    seen = []
    for start in (node_on, redis_on):
        for save in ("3600 100", ""):
            folder = data_dir / f"{start.__name__}-{bool(save)}"
            folder.mkdir()
            proc = start(folder, "--save", save)
            try:
                c = client(proc)
                c.set("a", 1)
                c.flushall()
                seen.append(((folder / "dump.rdb").exists(),
                             info(proc)["rdb_changes_since_last_save"]))
            finally:
                proc.stop(signal.SIGKILL)
    assert seen[:2] == seen[2:] == [(True, "0"), (False, "2")]


def test_failed_bgsave_denies_writes_and_ping_with_misconf(data_dir: Path) -> None:
    scripts = []
    for start in (node_on, redis_on):
        gone = data_dir / f"gone-{start.__name__}"
        gone.mkdir()
        proc = start(data_dir, "--save", "3600 1", "--enable-protected-configs", "yes")
        try:
            with RawClient(proc.port) as raw:
                assert raw.call("CONFIG", "SET", "dir", str(gone)) == b"+OK\r\n"
                gone.rmdir()
                raw.call("BGSAVE")
                wait_until(lambda p=proc: info(p)["rdb_bgsave_in_progress"] == "0")
                scripts.append([raw.call(*req) for req in (
                    ("SET", "k", "v"), ("PING",), ("GET", "k"), ("MULTI",), ("SET", "k", "v"),
                    ("EXEC",), ("SAVE",), ("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"),
                    ("SET", "k", "v"), ("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"),
                    ("CONFIG", "SET", "save", ""), ("SET", "k", "v2"), ("GET", "k"))])
                assert info(proc)["rdb_last_bgsave_status"] == "err"
        finally:
            proc.stop(signal.SIGKILL)
    ours, theirs = scripts
    assert ours[0].startswith(MISCONF)
    assert ours == theirs


def test_misconf_clears_after_a_successful_save(data_dir: Path) -> None:
    gone = data_dir / "gone"
    gone.mkdir()
    node = node_on(data_dir, "--save", "3600 1", "--enable-protected-configs", "yes")
    try:
        with RawClient(node.port) as raw:
            raw.call("CONFIG", "SET", "dir", str(gone))
            gone.rmdir()
            raw.call("BGSAVE")
            wait_until(lambda: info(node)["rdb_last_bgsave_status"] == "err")
            assert raw.call("SET", "k", "v").startswith(MISCONF)
            gone.mkdir()
            assert raw.call("CONFIG", "SET", "dir", str(gone)) == b"+OK\r\n"
            assert raw.call("BGSAVE") == b"+Background saving started\r\n"
            wait_until(lambda: info(node)["rdb_last_bgsave_status"] == "ok")
            assert raw.call("SET", "k", "v") == b"+OK\r\n"
    finally:
        node.stop(signal.SIGKILL)


SLOW_LOAD_KEYS = 300_000  # the node loads them for seconds, answering -LOADING meanwhile
# redis-server loads slowly on request: 1 ms per key, serving clients every KB it reads.
REDIS_SLOW_LOAD = ("--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024")
REDIS_SLOW_LOAD_KEYS = 2000


def saved_file(start: Callable[..., ServerProcess], path: Path, keys: int) -> Path:
    """A dump.rdb of ``keys`` DEBUG POPULATE keys written by ``start``'s server in ``path``."""
    proc = start(path)
    try:
        client(proc).execute_command("DEBUG", "POPULATE", keys)
        client(proc).save()
    finally:
        proc.stop()
    return path / "dump.rdb"


@pytest.fixture(scope="module")
def slow_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A file per server ("node", "redis") that keeps it loading for seconds at start."""
    return {"node": saved_file(node_on, tmp_path_factory.mktemp("slow-node"), SLOW_LOAD_KEYS),
            "redis": saved_file(redis_on, tmp_path_factory.mktemp("slow-redis"),
                                REDIS_SLOW_LOAD_KEYS)}


def test_loading_at_start_answers_loading_and_reports_progress(
        data_dir: Path, slow_files: dict[str, Path]) -> None:
    shutil.copy(slow_files["node"], data_dir)
    node = node_on(data_dir)  # returns at the first reply, LOADING included
    try:
        with RawClient(node.port) as raw:
            during = raw.call("INFO", "persistence")
            get = raw.call("GET", "key:1")
        assert b"loading:1\r\n" in during
        assert b"loading_total_bytes:" in during and b"loading_eta_seconds:" in during
        assert get == b"-LOADING Redis is loading the dataset in memory\r\n"
        wait_until(lambda: info(node)["loading"] == "0", timeout=120)
        assert client(node).get("key:1") == b"value:1"
        assert info(node)["rdb_last_load_keys_loaded"] == "300000"
        assert "Done loading RDB, keys loaded: 300000, keys expired: 0." in node.log
    finally:
        node.stop()


def replies_while_loading(proc: ServerProcess, requests: list[tuple[str, ...]]) -> list[bytes]:
    """The replies to ``requests`` from a server still loading its data once they are in."""
    try:
        with RawClient(proc.port) as raw:
            replies = [raw.call(*req) for req in requests]
            assert b"loading:1\r\n" in raw.call("INFO", "persistence"), "loading ended too soon"
        return replies
    finally:
        proc.stop()


@pytest.mark.parametrize(("directives", "refusal"), [
    (("--min-replicas-to-write", "1"), b"-NOREPLICAS "),
    (("--replicaof", "127.0.0.1", "1"), b"-READONLY "),  # nothing listens on port 1
], ids=["min-replicas-to-write", "replica"])
def test_write_while_loading_gets_the_replica_checks_refusal_first_as_in_redis(
        tmp_path: Path, slow_files: dict[str, Path], directives: tuple[str, ...],
        refusal: bytes) -> None:
    """processCommand checks -NOREPLICAS and -READONLY before -LOADING; reads get -LOADING."""
    requests = [("SET", "k", "v"), ("GET", "k"), ("ROLE",)]
    (tmp_path / "node").mkdir()
    (tmp_path / "redis").mkdir()
    shutil.copy(slow_files["node"], tmp_path / "node")
    shutil.copy(slow_files["redis"], tmp_path / "redis")
    ours = replies_while_loading(node_on(tmp_path / "node", *directives), requests)
    theirs = replies_while_loading(
        redis_on(tmp_path / "redis", *REDIS_SLOW_LOAD, *directives), requests)
    assert ours[0].startswith(refusal)
    assert ours[1] == b"-LOADING Redis is loading the dataset in memory\r\n"
    assert ours == theirs


def test_corrupt_file_stops_the_node_at_start(data_dir: Path) -> None:
    node = node_on(data_dir)
    try:
        client(node).set("k", "v" * 50)
        client(node).save()
    finally:
        node.stop()
    path = data_dir / "dump.rdb"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="exited"):
        node_on(data_dir).stop()


def test_debug_reload_keeps_the_dataset(data_dir: Path) -> None:
    node = node_on(data_dir)
    try:
        c = client(node)
        fill(c)
        before = digests(node)
        assert c.execute_command("DEBUG", "RELOAD") == b"OK"
        assert digests(node) == before
        c.set("only-in-memory", 1)
        assert c.execute_command("DEBUG", "RELOAD", "NOSAVE") == b"OK"
        assert c.get("only-in-memory") is None
        check_footprint(node)
    finally:
        node.stop()


def test_debug_reload_merge_and_noflush(data_dir: Path) -> None:
    node = node_on(data_dir)
    try:
        c = client(node)
        c.set("k", "on-disk")
        c.save()
        c.set("k", "in-memory")
        c.set("other", 1)
        with RawClient(node.port) as raw:
            assert raw.call("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH") == (
                b"-ERR Error trying to load the RDB dump, check server logs.\r\n")
            assert raw.call("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") == b"+OK\r\n"
        assert c.get("k") == b"on-disk"
        assert c.get("other") == b"1"
    finally:
        node.stop()


def test_lfu_counters_travel_in_the_file(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    lfu = ("--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0")  # no minute races
    node = node_on(data_dir, *lfu)
    try:
        c = client(node)
        c.set("hot", 1)
        for _ in range(200):
            c.get("hot")
        freq = c.object("freq", "hot")
        assert freq > 5
        c.save()
    finally:
        node.stop()
    ref_dir = tmp_path_factory.mktemp("ref")
    shutil.copy(data_dir / "dump.rdb", ref_dir / "dump.rdb")
    ref = redis_on(ref_dir, *lfu)
    try:
        assert client(ref).object("freq", "hot") == freq
    finally:
        ref.stop()


def test_file_without_checksum_or_compression_loads_in_redis(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    node = node_on(data_dir, "--rdbchecksum", "no", "--rdbcompression", "no")
    try:
        fill(client(node))
        client(node).save()
        ours = digests(node)
    finally:
        node.stop()
    data = (data_dir / "dump.rdb").read_bytes()
    assert data.endswith(b"\xff" + bytes(8))
    ref_dir = tmp_path_factory.mktemp("ref")
    shutil.copy(data_dir / "dump.rdb", ref_dir / "dump.rdb")
    ref = redis_on(ref_dir)
    try:
        assert digests(ref) == ours
    finally:
        ref.stop()


@pytest.fixture(scope="module")
def nodes_pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    node = start_node("--enable-protected-configs", "yes")
    ref = start_redis_server("--enable-protected-configs", "yes")
    yield node, ref
    node.stop()
    ref.stop()


def test_command_errors_match_redis(nodes_pair: tuple[ServerProcess, ServerProcess]) -> None:
    node, ref = nodes_pair
    assert_same(node, ref, [
        ("BGSAVE", "now"), ("BGSAVE", "schedule", "x"), ("SAVE", "x"), ("LASTSAVE", "x"),
        ("DEBUG", "RELOAD", "FOO"), ("CONFIG", "SET", "dbfilename", "a/b.rdb"),
        ("CONFIG", "SET", "rdbchecksum", "no"),
    ])


def test_persistence_directives_have_redis_defaults(nodes_pair: tuple[ServerProcess, ServerProcess]) -> None:
    node, ref = nodes_pair
    assert_same(node, ref, [("CONFIG", "GET", name) for name in (
        "dbfilename", "rdbcompression", "rdbchecksum", "rdb-del-sync-files",
        "stop-writes-on-bgsave-error", "rdb-key-save-delay")])


def test_save_and_bgsave_replies_match_redis(nodes_pair: tuple[ServerProcess, ServerProcess]) -> None:
    node, ref = nodes_pair
    assert_same(node, ref, [("SET", "k", "v"), ("SAVE",), ("DBSIZE",)])
    for proc in nodes_pair:
        with RawClient(proc.port) as raw:
            assert raw.call("BGSAVE", "SCHEDULE") == b"+Background saving started\r\n"
        wait_until(lambda p=proc: info(p)["rdb_bgsave_in_progress"] == "0")
    assert_same(node, ref, [("MULTI",), ("BGSAVE",), ("EXEC",)])
    for proc in nodes_pair:
        wait_until(lambda p=proc: info(p)["rdb_bgsave_in_progress"] == "0"
                   and info(p)["rdb_changes_since_last_save"] == "0")


def test_info_persistence_has_redis_fields_in_order(nodes_pair: tuple[ServerProcess, ServerProcess]) -> None:
    node, ref = nodes_pair
    ours = [k for k in info(node)]
    theirs = [k for k in info(ref) if not k.startswith("module_fork")]
    assert ours == theirs


def test_temp_file_is_named_after_the_writing_process(data_dir: Path) -> None:
    node = node_on(data_dir, "--rdb-key-save-delay", "5000")
    try:
        c = client(node)
        c.execute_command("DEBUG", "POPULATE", 200)
        c.bgsave()
        wait_until(lambda: bool(list(data_dir.glob("temp-*.rdb"))))
        pid = int(next(data_dir.glob("temp-*.rdb")).stem.split("-")[1])
        assert pid != node.proc.pid and os.path.exists(f"/proc/{pid}")
        assert f"Background saving started by pid {pid}" in node.log
    finally:
        node.stop()


def test_bgsave_under_writes_is_a_consistent_snapshot(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    node = node_on(data_dir, "--rdb-key-save-delay", "200")
    try:
        c = client(node)
        c.mset({f"a:{i}": 0 for i in range(2000)} | {f"b:{i}": 0 for i in range(2000)})
        c.bgsave()
        round_ = 0
        while info(node)["rdb_bgsave_in_progress"] == "1":
            round_ += 1
            pipe = c.pipeline(transaction=False)
            for i in range(0, 2000, 7):
                pipe.mset({f"a:{i}": round_, f"b:{i}": round_})
            pipe.execute()
        assert round_ > 0
        assert info(node)["rdb_last_bgsave_status"] == "ok"
    finally:
        node.stop()
    ref_dir = tmp_path_factory.mktemp("ref")
    shutil.copy(data_dir / "dump.rdb", ref_dir / "dump.rdb")
    ref = redis_on(ref_dir)
    try:
        rc = client(ref)
        assert rc.dbsize() == 4000
        a = rc.mget([f"a:{i}" for i in range(2000)])
        b = rc.mget([f"b:{i}" for i in range(2000)])
        assert a == b  # every pair written by one MSET is in the file as one
    finally:
        ref.stop()


def test_sigterm_with_a_failing_final_save_keeps_the_node_running(data_dir: Path) -> None:
    gone = data_dir / "gone"
    gone.mkdir()
    node = node_on(data_dir, "--save", "3600 1", "--enable-protected-configs", "yes")
    try:
        c = client(node)
        c.config_set("dir", str(gone))
        gone.rmdir()
        c.set("k", "v")
        node.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "errors trying to shut down the server" in node.log)
        assert c.get("k") == b"v"
        gone.mkdir()
        c.config_set("dir", str(gone))
        node.proc.send_signal(signal.SIGTERM)
        assert node.proc.wait(10) == 0
        assert (gone / "dump.rdb").exists()
    finally:
        node.stop(signal.SIGKILL)
