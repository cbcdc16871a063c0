"""A 3-master cluster of real redslot nodes driven by the standard tooling.

The cluster is formed with standard commands only (CLUSTER ADDSLOTSRANGE and CLUSTER
MEET), then checked, used and reshaped with what operators and applications use against
Redis: ``redis-cli --cluster check|reshard|rebalance|fix``, ``redis-cli -c`` and redis-py's
RedisCluster. Tests share one cluster and each leaves it whole (check passes) for the next.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from nodes import ServerProcess, start_node
from redis.cluster import RedisCluster
from redslot.node.keyspace.slots import key_slot
from resp import RawClient, encode_command

TOOL_TIMEOUT = 60


class Cluster:
    def __init__(self, nodes: list[ServerProcess]) -> None:
        self.nodes = nodes
        self.clients = [redis.Redis(port=n.port, socket_timeout=10) for n in nodes]
        self.ids = [c.execute_command("CLUSTER", "MYID").decode() for c in self.clients]

    @property
    def seed(self) -> str:
        return f"127.0.0.1:{self.nodes[0].port}"

    def owner_of(self, slot: int) -> int:
        """Index of the node owning ``slot`` in node 0's view."""
        for start, end, *rest in self.clients[0].execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return [n.port for n in self.nodes].index(rest[0][1])
        raise AssertionError(f"slot {slot} unassigned")

    def slot_counts(self) -> list[int]:
        counts = [0, 0, 0]
        for start, end, *rest in self.clients[0].execute_command("CLUSTER", "SLOTS"):
            counts[[n.port for n in self.nodes].index(rest[0][1])] += end - start + 1
        return counts

    def close(self) -> None:
        for c in self.clients:
            c.close()


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}")


def consistent(cluster: Cluster) -> bool:
    """Every node reports cluster_state:ok and the same slot map (as redis-cli checks)."""
    views = []
    for c in cluster.clients:
        if b"cluster_state:ok" not in c.execute_command("CLUSTER", "INFO"):
            return False
        lines = c.execute_command("CLUSTER", "NODES")
        if isinstance(lines, bytes):
            lines = lines.decode()
        rows = sorted(
            " ".join([f[0]] + [s for s in f[8:] if not s.startswith("[")])
            for f in (line.split() for line in lines.splitlines() if line))
        views.append(rows)
    return len(views[0]) == 3 and all(v == views[0] for v in views)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    nodes: list[ServerProcess] = []
    try:
        for _ in range(3):
            nodes.append(start_node("--cluster-enabled", "yes"))
        ranges = [(0, 5460), (5461, 10922), (10923, 16383)]
        for proc, (start, end) in zip(nodes, ranges, strict=True):
            with RawClient(proc.port) as c:
                assert c.call("CLUSTER", "ADDSLOTSRANGE", start, end) == b"+OK\r\n"
        with RawClient(nodes[0].port) as c:
            for proc in nodes[1:]:
                assert c.call("CLUSTER", "MEET", "127.0.0.1", proc.port) == b"+OK\r\n"
        made = Cluster(nodes)
        wait_until(lambda: consistent(made), what="the cluster to agree")
        yield made
        made.close()
    finally:
        for proc in nodes:
            proc.stop()


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["redis-cli", *args], capture_output=True, text=True,
                          timeout=TOOL_TIMEOUT, check=False)


def check(cluster: Cluster) -> subprocess.CompletedProcess[str]:
    return tool("--cluster", "check", cluster.seed)


def assert_check_passes(cluster: Cluster) -> None:
    wait_until(lambda: consistent(cluster), what="the cluster to agree")
    result = check(cluster)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[OK] All nodes agree about slots configuration." in result.stdout
    assert "[OK] All 16384 slots covered." in result.stdout
    assert "[ERR]" not in result.stdout and "[WARNING]" not in result.stdout, result.stdout


def test_cluster_check_passes(cluster):
    assert_check_passes(cluster)


def test_redis_cli_cluster_create_forms_a_cluster():
    nodes = [start_node("--cluster-enabled", "yes") for _ in range(3)]
    try:
        made = tool("--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                    "--cluster-yes")
        assert made.returncode == 0, made.stdout[-2000:] + made.stderr
        assert "[OK] All 16384 slots covered." in made.stdout
        formed = Cluster(nodes)
        assert_check_passes(formed)
        formed.close()
    finally:
        for proc in nodes:
            proc.stop()


def test_redis_py_cluster_writes_and_reads_10000_keys(cluster):
    rc = RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port, socket_timeout=10)
    try:
        rc.flushall()
        pipe = rc.pipeline(transaction=False)
        for i in range(10000):
            pipe.set(f"key:{i}", f"value:{i}")
        assert all(pipe.execute())
        pipe = rc.pipeline(transaction=False)
        for i in range(10000):
            pipe.get(f"key:{i}")
        assert pipe.execute() == [f"value:{i}".encode() for i in range(10000)]
        assert rc.get("key:42") == b"value:42"
        assert sum(c.dbsize() for c in cluster.clients) == 10000
        assert all(c.dbsize() > 2500 for c in cluster.clients)
    finally:
        rc.close()


def test_redis_cli_c_follows_redirects(cluster):
    slot = key_slot(b"foo")
    elsewhere = (cluster.owner_of(slot) + 1) % 3
    port = str(cluster.nodes[elsewhere].port)
    plain = tool("-p", port, "SET", "foo", "bar")
    assert plain.stdout.strip() == f"MOVED {slot} 127.0.0.1:{cluster.nodes[cluster.owner_of(slot)].port}"
    assert tool("-c", "-p", port, "SET", "foo", "bar").stdout.strip() == "OK"
    assert tool("-c", "-p", port, "GET", "foo").stdout.strip() == "bar"


def test_keys_in_two_slots_are_refused_with_crossslot(cluster):
    with RawClient(cluster.nodes[0].port) as c:
        assert c.call("MSET", "a", "1", "b", "2") == (
            b"-CROSSSLOT Keys in request don't hash to the same slot\r\n")


def test_redirects_count_as_rejected_calls_and_errors(cluster):
    slot = key_slot(b"counted")
    elsewhere = cluster.clients[(cluster.owner_of(slot) + 1) % 3]
    elsewhere.config_resetstat()
    with RawClient(cluster.nodes[(cluster.owner_of(slot) + 1) % 3].port) as c:
        assert c.call("GET", "counted").startswith(b"-MOVED ")
        assert c.call("GET", "counted").startswith(b"-MOVED ")
    assert elsewhere.info("errorstats")["errorstat_MOVED"] == {"count": 2}
    stats = elsewhere.info("commandstats")["cmdstat_get"]
    assert stats["rejected_calls"] == 2 and stats["calls"] == 0


def test_exec_is_moved_when_the_slot_moves_after_queueing(cluster):
    key = "{txn}k"
    slot = key_slot(key.encode())
    src = cluster.owner_of(slot)
    dst = (src + 1) % 3
    cluster.clients[src].delete(key)
    with RawClient(cluster.nodes[src].port) as c:
        assert c.call("MULTI") == b"+OK\r\n"
        assert c.call("SET", key, "1") == b"+QUEUED\r\n"
        move_empty_slot(cluster, slot, src, dst)
        assert c.call("EXEC") == f"-MOVED {slot} 127.0.0.1:{cluster.nodes[dst].port}\r\n".encode()
        assert c.call("GET", key).startswith(b"-MOVED ")
    assert_check_passes(cluster)


def move_empty_slot(cluster: Cluster, slot: int, src: int, dst: int) -> None:
    """Empty ``slot`` on ``src``, then CLUSTER SETSLOT <slot> NODE <dst> on every node,
    target first (as redis-cli does)."""
    leftovers = cluster.clients[src].execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100000)
    if leftovers:
        cluster.clients[src].delete(*leftovers)
    for i in (dst, src, 3 - src - dst):
        cluster.clients[i].execute_command("CLUSTER", "SETSLOT", slot, "NODE", cluster.ids[dst])
    wait_until(lambda: consistent(cluster), what="the slot move to spread")


@pytest.mark.parametrize("blocking", [("BLPOP", "{key}", "0"),
                                      ("XREAD", "BLOCK", "0", "STREAMS", "{key}", "$")],
                         ids=["blpop", "xread"])
def test_blocked_client_is_moved_when_its_slot_moves(cluster, blocking):
    key = "{blocked}list"
    slot = key_slot(key.encode())
    src = cluster.owner_of(slot)
    dst = (src + 1) % 3
    cluster.clients[src].delete(key)
    blocked = cluster.clients[src].info("clients")["blocked_clients"]
    with RawClient(cluster.nodes[src].port, timeout=10) as c:
        c.send_raw(encode_command(*(arg.replace("{key}", key) for arg in blocking)))
        deadline = time.monotonic() + 10
        while cluster.clients[src].info("clients")["blocked_clients"] == blocked:  # blocked, then moved
            assert time.monotonic() < deadline, "the client never blocked"
            time.sleep(0.02)
        move_empty_slot(cluster, slot, src, dst)
        started = time.monotonic()
        assert c.read_reply() == f"-MOVED {slot} 127.0.0.1:{cluster.nodes[dst].port}\r\n".encode()
        assert time.monotonic() - started < 3
    assert_check_passes(cluster)


def test_ask_redirect_and_asking_during_a_manual_migration(cluster):
    key_here, key_moved = "{mig}here", "{mig}moved"
    slot = key_slot(key_here.encode())
    src = cluster.owner_of(slot)
    dst = (src + 1) % 3
    s, d = cluster.clients[src], cluster.clients[dst]
    s.set(key_here, "1")
    s.set(key_moved, "2")
    d.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", cluster.ids[src])
    s.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", cluster.ids[dst])
    dst_addr = f"127.0.0.1:{cluster.nodes[dst].port}"
    try:
        assert s.execute_command("MIGRATE", "127.0.0.1", cluster.nodes[dst].port, key_moved,
                                 0, 1000) == b"OK"
        with RawClient(cluster.nodes[src].port) as c:
            assert c.call("GET", key_here) == b"$1\r\n1\r\n"
            assert c.call("GET", key_moved) == f"-ASK {slot} {dst_addr}\r\n".encode()
            assert c.call("MGET", key_here, key_moved) == (
                b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n")
        with RawClient(cluster.nodes[dst].port) as c:
            assert c.call("GET", key_moved).startswith(f"-MOVED {slot} ".encode())
            assert c.call("ASKING") == b"+OK\r\n"
            assert c.call("GET", key_moved) == b"$1\r\n2\r\n"
            assert c.call("GET", key_moved).startswith(b"-MOVED ")
            # As redis-server 7.0 answers: ASKING covers one command even when that one is
            # refused, a whole transaction, and survives only its own refusal.
            for script in [
                [("ASKING",), ("GET", key_moved, "x"), ("GET", key_moved)],
                [("ASKING",), ("FOO",), ("GET", key_moved)],
            ]:
                for req in script[:-1]:
                    c.call(*req)
                assert c.call(*script[-1]).startswith(b"-MOVED ")
            assert c.call("ASKING") == b"+OK\r\n"
            assert c.call("ASKING", "x").startswith(b"-ERR wrong number")
            assert c.call("GET", key_moved) == b"$1\r\n2\r\n"
            for req in [("ASKING",), ("MULTI",), ("GET", key_moved), ("GET", key_moved)]:
                c.call(*req)
            assert c.call("EXEC") == b"*2\r\n$1\r\n2\r\n$1\r\n2\r\n"
            assert c.call("GET", key_moved).startswith(b"-MOVED ")
    finally:
        s.execute_command("MIGRATE", "127.0.0.1", cluster.nodes[dst].port, key_here, 0, 1000)
        for i in (dst, src, 3 - src - dst):
            cluster.clients[i].execute_command("CLUSTER", "SETSLOT", slot, "NODE",
                                               cluster.ids[dst])
    assert d.get(key_here) == b"1" and d.get(key_moved) == b"2"
    assert_check_passes(cluster)


def test_reshard_moves_1000_slots_while_a_client_writes(cluster):
    before = cluster.slot_counts()
    acked: dict[str, str] = {}
    failures: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        rc = RedisCluster(host="127.0.0.1", port=cluster.nodes[2].port, socket_timeout=10)
        try:
            i = 0
            while not stop.is_set() and i < 200000:
                key, value = f"w:{i}", f"v{i}"
                try:
                    if rc.set(key, value):
                        acked[key] = value
                except redis.exceptions.RedisError as exc:  # counted, must stay rare
                    failures.append(exc)
                i += 1
        finally:
            rc.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        result = tool("--cluster", "reshard", cluster.seed,
                      "--cluster-from", cluster.ids[0], "--cluster-to", cluster.ids[1],
                      "--cluster-slots", "1000", "--cluster-yes")
    finally:
        stop.set()
        thread.join(30)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    after = cluster.slot_counts()
    assert after[0] == before[0] - 1000 and after[1] == before[1] + 1000
    assert len(acked) > 100
    assert len(failures) <= len(acked) // 100, failures[:3]
    rc = RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port, socket_timeout=10)
    try:
        keys = list(acked)
        pipe = rc.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        assert pipe.execute() == [acked[k].encode() for k in keys]
    finally:
        rc.close()
    assert_check_passes(cluster)


def test_rebalance_evens_out_slots(cluster):
    counts = cluster.slot_counts()
    if max(counts) - min(counts) < 500:  # run alone: make an imbalance first
        result = tool("--cluster", "reshard", cluster.seed, "--cluster-from", cluster.ids[0],
                      "--cluster-to", cluster.ids[1], "--cluster-slots", "1000",
                      "--cluster-yes")
        assert result.returncode == 0, result.stdout[-2000:]
    result = tool("--cluster", "rebalance", cluster.seed)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    counts = cluster.slot_counts()
    assert max(counts) - min(counts) <= 2, counts
    assert_check_passes(cluster)


def test_fix_repairs_a_half_migrated_slot(cluster):
    key = "{fix}k"
    slot = key_slot(key.encode())
    src = cluster.owner_of(slot)
    dst = (src + 1) % 3
    s, d = cluster.clients[src], cluster.clients[dst]
    s.set(key, "kept")
    d.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", cluster.ids[src])
    s.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", cluster.ids[dst])
    broken = check(cluster)
    assert broken.returncode != 0
    assert re.search(rf"open slot|Slot {slot}", broken.stdout, re.IGNORECASE), broken.stdout
    result = tool("--cluster", "fix", cluster.seed, "--cluster-yes")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert_check_passes(cluster)
    owner = cluster.owner_of(slot)
    assert cluster.clients[owner].get(key) == b"kept"


def test_readonly_client_reads_from_a_replica(cluster):
    replica = start_node("--cluster-enabled", "yes")
    try:
        r = redis.Redis(port=replica.port, socket_timeout=10)
        assert r.execute_command("CLUSTER", "MEET", "127.0.0.1", cluster.nodes[0].port)
        wait_until(lambda: cluster.ids[0].encode() in r.execute_command("CLUSTER", "NODES"),
                   what="the new node to learn the cluster")
        assert r.execute_command("CLUSTER", "REPLICATE", cluster.ids[0])
        key = next(k for k in (f"ro:{i}" for i in range(100000))
                   if cluster.owner_of(key_slot(k.encode())) == 0)
        master = f"127.0.0.1:{cluster.nodes[0].port}"
        wait_until(lambda: b"cluster_state:ok" in r.execute_command("CLUSTER", "INFO"),
                   what="the replica to see the cluster ok")
        kslot = key_slot(key.encode())
        with RawClient(replica.port) as c:
            assert c.call("GET", key) == f"-MOVED {kslot} {master}\r\n".encode()
            assert c.call("READONLY") == b"+OK\r\n"
            assert c.call("GET", key) == b"$-1\r\n"
            assert c.call("SET", key, "v") == f"-MOVED {kslot} {master}\r\n".encode()
            assert c.call("READWRITE") == b"+OK\r\n"
            assert c.call("GET", key) == f"-MOVED {kslot} {master}\r\n".encode()
        r.close()
    finally:
        replica.stop()
        for c in cluster.clients:
            for row in c.execute_command("CLUSTER", "NODES").decode().splitlines():
                if "slave" in row.split()[2]:
                    c.execute_command("CLUSTER", "FORGET", row.split()[0])
