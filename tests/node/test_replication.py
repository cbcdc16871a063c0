"""Replication: redslot as master of redis-server and of redslot, and as replica of both.

The stream carries effects (node/propagation.py): a replica replaying it reaches the same
dataset, byte for byte (DEBUG DIGEST), and the same absolute expiry times (PEXPIRETIME),
whatever clocks and random draws the master used.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from nodes import ServerProcess, no_retry, start_node, start_redis_server
from replication_wait import caught_up, linked, until


def same_data(master: redis.Redis, replica: redis.Redis) -> bool:
    return master.execute_command("DEBUG", "DIGEST") == replica.execute_command("DEBUG", "DIGEST")


def follow(replica: redis.Redis, master: ServerProcess) -> None:
    replica.replicaof("127.0.0.1", master.port)
    until(lambda: linked(replica))


def workload(r: redis.Redis, restore: bool = True) -> None:
    """Writes of every type, with every command whose replay would differ if not rewritten.

    ``restore``: RESTORE of the master's own DUMP, which a 7.0 replica of redslot refuses
    (redslot's payloads are RDB 11, 7.2's), as a 7.0 replica of a 7.2 master would.
    """
    for i in range(200):
        r.set(f"s:{i}", i)
    r.set("ex", "v", ex=100)
    r.set("px", "v", px=100_000)
    r.execute_command("SETEX", "setex", 100, "v")
    r.execute_command("PSETEX", "psetex", 100_000, "v")
    r.set("getex", "v")
    r.getex("getex", ex=200)
    r.set("expire", "v")
    r.expire("expire", 300)
    r.set("pexpire", "v")
    r.pexpire("pexpire", 300_000)
    r.set("gone", "v")
    r.expire("gone", -1)
    r.incrbyfloat("float", "1.1")
    r.incrbyfloat("float", "2.25")
    r.hincrbyfloat("hash", "f", "0.1")
    r.hset("hash", mapping={"a": 1, "b": 2})
    r.sadd("set", *range(100))
    r.spop("set")
    r.spop("set", 10)
    r.sadd("small", "a", "b")
    r.spop("small", 5)
    r.rpush("list", *range(50))
    r.lpop("list")
    r.blpop(["list"], 1)
    r.blmove("list", "list2", 1, "RIGHT", "LEFT")
    r.zadd("zset", {f"m{i}": i for i in range(50)})
    r.bzpopmin(["zset"], 1)
    r.zincrby("zset", 1.5, "m7")
    if restore:
        r.restore("restored", 100_000, r.dump("s:1"))
    r.delete("s:2")
    with r.pipeline(transaction=True) as tx:
        tx.incr("s:3")
        tx.spop("set")
        tx.execute()


def expiry_times(r: redis.Redis) -> dict[bytes, int]:
    return {key: r.pexpiretime(key) for key in r.keys("*") if r.pexpiretime(key) > 0}


@pytest.fixture
def master() -> Iterator[ServerProcess]:
    proc = start_node()
    yield proc
    proc.stop()


@pytest.fixture
def replica_node() -> Iterator[ServerProcess]:
    proc = start_node()
    yield proc
    proc.stop()


def test_redis_server_replica_of_redslot_reaches_the_same_dataset(master):
    reference = start_redis_server()
    try:
        m = redis.Redis(port=master.port)
        r = redis.Redis(port=reference.port)
        m.set("before-sync", "1")
        m.rpush("before-list", *range(10))
        follow(r, master)
        workload(m, restore=False)
        until(lambda: caught_up(m, r))
        assert same_data(m, r)
        assert expiry_times(m) == expiry_times(r)
        assert m.wait(1, 5000) == 1
    finally:
        reference.stop()


def test_redslot_replica_of_redis_server_loads_its_snapshot_and_stream(replica_node):
    reference = start_redis_server()
    try:
        m = redis.Redis(port=reference.port)
        r = redis.Redis(port=replica_node.port)
        m.set("k", "v")
        m.hset("h", mapping={"a": 1})
        m.zadd("z", {"a": 1.5})
        m.sadd("s", 1, 2, 3)
        m.rpush("l", "x", "y")
        follow(r, reference)
        workload(m)
        until(lambda: caught_up(m, r))
        assert same_data(m, r)
        assert expiry_times(m) == expiry_times(r)
        with pytest.raises(redis.ReadOnlyError):
            r.set("k", "w")
        assert r.get("k") == m.get("k")
    finally:
        reference.stop()


def test_redslot_replica_of_redslot_continues_from_the_backlog_after_a_break(master, replica_node):
    m = redis.Redis(port=master.port)
    r = redis.Redis(port=replica_node.port)
    follow(r, master)
    workload(m)
    until(lambda: caught_up(m, r))
    assert same_data(m, r)
    assert expiry_times(m) == expiry_times(r)
    assert m.info("stats")["sync_full"] == 1
    for client in m.client_list():
        if "psync" in client["cmd"] or "replconf" in client["cmd"]:
            m.client_kill_filter(_id=client["id"])
    for i in range(100):
        m.set(f"during:{i}", i)
    until(lambda: caught_up(m, r) and m.info("stats")["sync_partial_ok"] == 1)
    assert same_data(m, r)
    assert m.info("stats")["sync_full"] == 1


def test_promoted_replica_keeps_its_history_as_replid2(master, replica_node):
    m = redis.Redis(port=master.port)
    r = redis.Redis(port=replica_node.port)
    follow(r, master)
    m.set("k", "v")
    until(lambda: caught_up(m, r))
    old_id = m.info("replication")["master_replid"]
    r.replicaof("no", "one")
    info = r.info("replication")
    assert info["role"] == "master"
    assert info["master_replid2"] == old_id
    assert info["second_repl_offset"] == m.info("replication")["master_repl_offset"] + 1
    assert r.set("k", "w")


def test_role_and_info_describe_both_ends(master, replica_node):
    m = redis.Redis(port=master.port)
    r = redis.Redis(port=replica_node.port)
    follow(r, master)
    m.set("k", "v")
    until(lambda: caught_up(m, r))
    offset = m.info("replication")["master_repl_offset"]
    until(lambda: m.role()[2][0][2] == str(offset).encode())  # acknowledged (every second)
    role, offset, replicas = m.role()
    assert role == b"master" and offset > 0
    assert replicas == [[b"127.0.0.1", str(replica_node.port).encode(), str(offset).encode()]]
    assert r.role() == [b"slave", b"127.0.0.1", master.port, b"connected", offset]
    info = r.info("replication")
    assert info["master_port"] == master.port and info["slave_read_only"] == 1
    assert m.info("replication")["slave0"]["state"] == "online"


def test_wait_times_out_with_the_count_reached(master):
    m = redis.Redis(port=master.port)
    m.set("k", "v")
    started = time.monotonic()
    assert m.wait(1, 300) == 0
    assert time.monotonic() - started >= 0.25


def test_min_replicas_to_write_refuses_writes_like_redis(master):
    reference = start_redis_server()
    try:
        for port in (master.port, reference.port):
            r = redis.Redis(port=port)
            r.config_set("min-replicas-to-write", 1)
            with pytest.raises(redis.ResponseError) as err:
                r.set("k", "v")
            assert str(err.value) == "NOREPLICAS Not enough good replicas to write."
            assert r.get("k") is None
    finally:
        reference.stop()


def test_a_replica_hides_expired_keys_until_its_master_deletes_them(master, replica_node):
    m = redis.Redis(port=master.port)
    r = redis.Redis(port=replica_node.port)
    m.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    follow(r, master)
    m.set("k", "v", px=200)
    until(lambda: caught_up(m, r))
    time.sleep(0.3)
    assert r.get("k") is None
    assert r.dbsize() == 1  # still stored: no DEL came yet
    assert m.get("k") is None  # the master's lazy expiry streams a DEL
    until(lambda: r.dbsize() == 0)


# --- zero-loss writes (min-replicas-ack) ---

def test_zero_loss_write_is_on_the_replica_when_its_reply_arrives(master, replica_node):
    m = redis.Redis(port=master.port)
    r = redis.Redis(port=replica_node.port)
    follow(r, master)
    m.config_set("min-replicas-ack", 1)
    for i in range(200):
        assert m.set(f"k:{i}", i)
        assert r.get(f"k:{i}") == str(i).encode()
    pipe = m.pipeline(transaction=False)
    for _ in range(500):
        pipe.incr("counter")
        pipe.get("counter")
    replies = pipe.execute()
    assert replies[-2:] == [500, b"500"]
    assert r.get("counter") == b"500"
    line = m.info("replication")["slave0"]
    assert line["in_sync"] == 1


def test_zero_loss_write_without_replicas_is_never_reported_as_done(master):
    m = redis.Redis(port=master.port)
    m.config_set("min-replicas-ack", 1)
    m.config_set("min-replicas-ack-timeout", 200)
    with pytest.raises(redis.ResponseError, match="^NOACK the write was applied"):
        m.set("k", "v")
    with pytest.raises(redis.ResponseError, match="^NOACK"):
        m.get("k")  # a read would show it: no answer either (ackgate.py)
    m.config_set("min-replicas-ack", 0)
    assert m.get("k") == b"v"  # it was applied here all the same


def test_zero_loss_writes_fail_while_the_replica_is_frozen(master, replica_node):
    m = redis.Redis(port=master.port)
    r = redis.Redis(port=replica_node.port)
    follow(r, master)
    m.config_set("min-replicas-ack", 1)
    m.config_set("min-replicas-ack-timeout", 300)
    assert m.set("before", 1)
    replica_node.proc.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(redis.ResponseError, match="^NOACK"):
            m.set("during", 1)
    finally:
        replica_node.proc.send_signal(signal.SIGCONT)
    until(lambda: caught_up(m, r))
    assert m.set("after", 1)
    assert r.get("during") == b"1"


def test_replicas_repointed_to_a_promoted_replica_resync_partially(master):
    a, b = start_node(), start_node()
    try:
        m = redis.Redis(port=master.port)
        ra, rb = redis.Redis(port=a.port), redis.Redis(port=b.port)
        follow(ra, master)
        follow(rb, master)
        workload(m)
        until(lambda: caught_up(m, ra) and caught_up(m, rb))
        master.stop()  # the failed master
        ra.replicaof("no", "one")
        rb.replicaof("127.0.0.1", a.port)
        until(lambda: linked(rb))
        ra.set("after-failover", 1)
        until(lambda: caught_up(ra, rb))
        stats = ra.info("stats")
        assert (stats["sync_partial_ok"], stats["sync_full"]) == (1, 0)
        assert same_data(ra, rb)
    finally:
        a.stop()
        b.stop()


def test_a_replica_restarted_from_its_snapshot_resyncs_partially(master):
    replica = start_node("--replicaof", "127.0.0.1", str(master.port))
    again = None
    try:
        m = redis.Redis(port=master.port)
        r = redis.Redis(port=replica.port)
        until(lambda: linked(r))
        workload(m)
        until(lambda: caught_up(m, r))
        shutdown_saving(r)
        replica.stop(keep_dir=True)
        for i in range(50):
            m.set(f"while-down:{i}", i)
        again = start_node("--replicaof", "127.0.0.1", str(master.port), "--dir", replica.workdir)
        r = redis.Redis(port=again.port)
        until(lambda: caught_up(m, r))
        stats = m.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 1)
        assert same_data(m, r)
    finally:
        if again is not None:
            again.stop()
        replica.stop()


def test_two_replicas_attached_under_write_load_end_with_the_masters_digest(master):
    replicas = [start_node(), start_node()]
    stop = threading.Event()
    try:
        m = redis.Redis(port=master.port)

        def write() -> None:
            client = redis.Redis(port=master.port)
            i = 0
            while not stop.is_set() and i < 200_000:
                pipe = client.pipeline(transaction=False)
                for j in range(20):
                    pipe.set(f"load:{i + j}", i)
                    pipe.incr("load:counter")
                    pipe.rpush(f"load:list:{j}", i)
                pipe.execute()
                i += 20

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        clients = [redis.Redis(port=r.port) for r in replicas]
        for r in clients:
            follow(r, master)
        time.sleep(0.5)
        stop.set()
        writer.join(30)
        assert m.wait(2, 10_000) == 2
        for r in clients:
            until(lambda r=r: caught_up(m, r))
            assert same_data(m, r)
    finally:
        stop.set()
        for proc in replicas:
            proc.stop()


def start_kind(kind: str, *directives: str) -> ServerProcess:
    return start_node(*directives) if kind == "redslot" else start_redis_server(*directives)


def restart(proc: ServerProcess) -> ServerProcess:
    """The same program on the same port and data dir (``proc`` was stopped keeping it)."""
    return ServerProcess(list(proc.proc.args), proc.port, proc.workdir)


def shutdown_saving(r: redis.Redis) -> None:
    """SHUTDOWN SAVE; the connection it closes is its success (not retried: redis-py
    would reconnect for seconds first)."""
    port = r.connection_pool.connection_kwargs["port"]
    with redis.Redis(port=port, socket_timeout=30, retry=no_retry()) as once:
        once.shutdown(save=True)


@pytest.mark.parametrize("kind", ["redis", "redslot"])
def test_a_master_restarted_from_its_snapshot_keeps_its_id_as_replid2(kind: str) -> None:
    """loadDataFromDisk on a master: a fresh replication id, the snapshot's as replid2 up
    to its offset, so a replica at that offset continues (under the new id)."""
    master = start_kind(kind)
    replica = start_kind(kind, "--replicaof", "127.0.0.1", str(master.port))
    again = None
    try:
        m, r = redis.Redis(port=master.port), redis.Redis(port=replica.port)
        until(lambda: linked(r))
        for i in range(100):
            m.set(f"k:{i}", i)
        until(lambda: caught_up(m, r))
        before = m.info("replication")
        shutdown_saving(m)
        master.stop(keep_dir=True)
        again = restart(master)
        m = redis.Redis(port=again.port)
        after = m.info("replication")
        assert after["master_replid"] != before["master_replid"]
        assert after["master_replid2"] == before["master_replid"]
        # SHUTDOWN itself may add to the stream (Redis sends REPLCONF GETACK first).
        assert after["master_repl_offset"] >= before["master_repl_offset"]
        assert after["second_repl_offset"] == after["master_repl_offset"] + 1
        until(lambda: caught_up(m, r))
        stats = m.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (0, 1)
        seen = r.info("replication")
        assert (seen["master_replid"], seen["master_replid2"]) == (
            after["master_replid"], before["master_replid"])
        m.set("after", 1)
        until(lambda: caught_up(m, r))
        assert same_data(m, r)
    finally:
        for proc in (again, replica, master):
            if proc is not None:
                proc.stop()


@pytest.mark.parametrize("kind", ["redis", "redslot"])
def test_a_replica_ahead_of_its_restarted_masters_snapshot_resyncs_fully(kind: str) -> None:
    """The master lost the writes after its last SAVE (kill -9) and writes past the
    replica's offset before the replica returns: the old id is valid only up to the
    snapshot's offset, so the replica takes a full resync, not the new writes' bytes on
    top of the lost ones."""
    master = start_kind(kind)
    replica = start_kind(kind, "--replicaof", "127.0.0.1", str(master.port))
    again = replica_again = None
    try:
        m, r = redis.Redis(port=master.port), redis.Redis(port=replica.port)
        until(lambda: linked(r))
        for i in range(50):
            m.set(f"saved:{i}", i)
        # The replica's sync may still be finishing its snapshot: SAVE is refused until then.
        until(lambda: m.info("persistence")["rdb_bgsave_in_progress"] == 0)
        m.save()
        for i in range(50):
            m.set(f"lost:{i}", i)
        until(lambda: caught_up(m, r))
        ahead = r.info("replication")["master_repl_offset"]
        shutdown_saving(r)
        replica.stop(keep_dir=True)
        master.stop(signal.SIGKILL, keep_dir=True)
        again = restart(master)
        m = redis.Redis(port=again.port)
        i = 0
        while m.info("replication")["master_repl_offset"] <= ahead + 100:
            m.set(f"new:{i}", "x" * 10)
            i += 1
        replica_again = restart(replica)
        r = redis.Redis(port=replica_again.port)
        until(lambda: caught_up(m, r))
        stats = m.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 0)
        assert r.exists("lost:0") == 0 and r.get("new:0") == b"x" * 10
        assert same_data(m, r)
    finally:
        for proc in (replica_again, again, replica, master):
            if proc is not None:
                proc.stop()


@pytest.mark.parametrize("kind", ["redis", "redslot"])
def test_a_replica_connects_from_its_bind_source_addr(kind: str) -> None:
    """Two replicas on one host with one listening port are told apart by their address,
    which bind-source-addr sets (a pod's own address)."""
    master = start_kind(kind, "--protected-mode", "no")  # Redis admits only 127.0.0.1 else
    replica = start_kind(kind, "--bind-source-addr", "127.0.0.2", "--replicaof",
                         "127.0.0.1", str(master.port))
    try:
        m, r = redis.Redis(port=master.port), redis.Redis(port=replica.port)
        until(lambda: linked(r))
        assert m.info("replication")["slave0"]["ip"] == "127.0.0.2"
        assert r.config_get("bind-source-addr") == {"bind-source-addr": "127.0.0.2"}
    finally:
        replica.stop()
        master.stop()
