"""tls-cluster: node-to-node links, Pub/Sub forwarding, replication, MIGRATE and manual
failover over TLS, and the ports a TLS cluster tells its clients (the TLS port to TLS
clients, the plaintext one to plaintext clients), compared with redis-server 7.0."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from certs import make_certs
from nodes import ServerProcess, free_port, start_node, start_redis_server
from replication_wait import until
from resp import RawClient

SPLIT = 8192  # A serves 0-8191, B 8192-16383, C replicates A


class TlsNode:
    """A cluster node with a plaintext port and a TLS port, tls-cluster on."""

    def __init__(self, proc: ServerProcess, tls_port: int, certs: Path) -> None:
        self.proc, self.tls_port, self.certs = proc, tls_port, certs
        self.port = proc.port

    def tls(self, **kwargs: object) -> redis.Redis:
        return redis.Redis(port=self.tls_port, ssl=True, ssl_ca_certs=str(self.certs / "ca.crt"),
                           ssl_certfile=str(self.certs / "client.crt"),
                           ssl_keyfile=str(self.certs / "client.key"), ssl_check_hostname=False,
                           socket_timeout=10, **kwargs)  # type: ignore[arg-type]

    def plain(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=10)

    def node_id(self) -> str:
        return str(self.plain().execute_command("CLUSTER", "MYID").decode())


def tls_directives(certs: Path, tls_port: int) -> tuple[str, ...]:
    return ("--cluster-enabled", "yes", "--cluster-port", str(free_port()),
            "--tls-port", str(tls_port), "--tls-cert-file", str(certs / "server.crt"),
            "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file",
            str(certs / "ca.crt"), "--tls-cluster", "yes", "--tls-replication", "yes")


def start_tls_node(certs: Path) -> TlsNode:
    tls_port = free_port()
    return TlsNode(start_node(*tls_directives(certs, tls_port)), tls_port, certs)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_certs(tmp_path_factory.mktemp("certs"))


def nodes_lines(client: redis.Redis) -> list[list[str]]:
    raw = client.execute_command("CLUSTER", "NODES")
    text = raw.decode() if isinstance(raw, bytes) else raw
    return [line.split() for line in text.splitlines()]


def links_up(node: TlsNode, count: int) -> bool:
    lines = nodes_lines(node.plain())
    return len(lines) == count and all(f[7] == "connected" and "handshake" not in f[2]
                                       for f in lines)


@pytest.fixture(scope="module")
def cluster(certs: Path) -> Iterator[tuple[TlsNode, TlsNode, TlsNode]]:
    a, b, c = (start_tls_node(certs) for _ in range(3))
    try:
        a.plain().execute_command("CLUSTER", "ADDSLOTSRANGE", 0, SPLIT - 1)
        b.plain().execute_command("CLUSTER", "ADDSLOTSRANGE", SPLIT, 16383)
        # MEET names the TLS port: it is the port a TLS cluster node announces
        a.plain().execute_command("CLUSTER", "MEET", "127.0.0.1", b.tls_port)
        c.plain().execute_command("CLUSTER", "MEET", "127.0.0.1", a.tls_port)
        for node in (a, b, c):
            until(lambda node=node: links_up(node, 3), "the links over TLS")  # type: ignore[misc]
        c.plain().execute_command("CLUSTER", "REPLICATE", a.node_id())
        until(lambda: c.plain().info("replication")["master_link_status"] == "up",
              "the replica's link over TLS")
        for node in (a, b, c):
            until(lambda node=node: b"cluster_state:ok" in node.plain().execute_command(  # type: ignore[misc]
                "CLUSTER", "INFO") and sum("slave" in f[2] for f in nodes_lines(node.plain())) == 1,
                "every node's table with the replica")
        yield a, b, c
    finally:
        for node in (a, b, c):
            node.proc.stop()


def ports_of(client: redis.Redis) -> set[int]:
    return {int(f[1].split("@")[0].rsplit(":", 1)[1]) for f in nodes_lines(client)}


def test_tls_clients_are_told_tls_ports_and_plaintext_clients_plain_ones(cluster) -> None:  # type: ignore[no-untyped-def]
    a, b, c = cluster
    assert ports_of(a.tls()) == {a.tls_port, b.tls_port, c.tls_port}
    assert ports_of(a.plain()) == {a.port, b.port, c.port}
    tls_slots = a.tls().execute_command("CLUSTER", "SLOTS")
    plain_slots = a.plain().execute_command("CLUSTER", "SLOTS")
    assert {tuple(e[2][:2]) for e in tls_slots} == {(b"127.0.0.1", a.tls_port), (b"127.0.0.1", b.tls_port)}
    assert {tuple(e[2][:2]) for e in plain_slots} == {(b"127.0.0.1", a.port), (b"127.0.0.1", b.port)}
    replica_entry = next(e for e in plain_slots if e[0] == 0)[3]
    assert replica_entry[1] == c.port
    replicas = a.tls().execute_command("CLUSTER", "REPLICAS", a.node_id())
    assert f":{c.tls_port}@".encode() in replicas[0]


def test_redirects_name_the_port_of_the_clients_kind(cluster) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = cluster
    slot = a.plain().execute_command("CLUSTER", "KEYSLOT", "x")
    assert slot >= SPLIT  # served by B
    with RawClient(a.port) as raw:
        assert raw.call("GET", "x") == f"-MOVED {slot} 127.0.0.1:{b.port}\r\n".encode()
    with pytest.raises(redis.ResponseError, match=f"{slot} 127.0.0.1:{b.tls_port}"):
        a.tls().get("x")


def test_cluster_shards_lists_port_and_tls_port(cluster) -> None:  # type: ignore[no-untyped-def]
    a, b, c = cluster
    shards = a.tls().execute_command("CLUSTER", "SHARDS")
    members = {}
    for shard in shards:
        for entry in shard[b"nodes"] if isinstance(shard, dict) else shard[3]:
            fields = entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2], strict=True))
            members[int(fields[b"tls-port"])] = fields
    assert set(members) == {a.tls_port, b.tls_port, c.tls_port}
    for node in (a, b, c):
        assert int(members[node.tls_port][b"port"]) == node.port


def test_publish_reaches_every_node_over_the_tls_links(cluster) -> None:  # type: ignore[no-untyped-def]
    a, b, c = cluster
    subscribers = []
    for node in (b, c):
        pubsub = node.tls().pubsub()
        pubsub.subscribe("news")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        subscribers.append(pubsub)
    a.tls().publish("news", "over tls")
    for pubsub in subscribers:
        message = pubsub.get_message(timeout=10)
        assert message is not None and message["data"] == b"over tls"
        pubsub.close()


def test_the_replica_follows_its_master_over_tls(cluster) -> None:  # type: ignore[no-untyped-def]
    a, _, c = cluster
    info = c.plain().info("replication")
    assert info["master_port"] == a.tls_port and info["master_link_status"] == "up"
    assert a.plain().execute_command("CLUSTER", "KEYSLOT", "{b}k") < SPLIT
    a.tls().set("{b}k", "v")
    replica = c.tls()
    replica.execute_command("READONLY")
    until(lambda: replica.get("{b}k") == b"v", "the write on the replica")
    master_info = a.plain().info("replication")
    assert master_info["slave0"]["port"] == c.tls_port  # REPLCONF listening-port


def test_migrate_moves_a_slot_over_tls(cluster) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = cluster
    keys = [f"{{c}}{i}" for i in range(20)]
    slot = a.plain().execute_command("CLUSTER", "KEYSLOT", keys[0])
    assert slot < SPLIT
    a_id, b_id = a.node_id(), b.node_id()
    for i, key in enumerate(keys):
        a.tls().set(key, i)
    b.plain().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", a_id)
    a.plain().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", b_id)
    # B's TLS port asks for a client certificate: only a TLS connection gets through
    assert a.plain().execute_command("MIGRATE", "127.0.0.1", b.tls_port, "", 0, 5000,
                                     "KEYS", *keys) == b"OK"
    for node in (b, a):
        node.plain().execute_command("CLUSTER", "SETSLOT", slot, "NODE", b_id)
    until(lambda: a.plain().execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0, "the move")
    assert b.tls().mget(keys) == [str(i).encode() for i in range(20)]
    moved = redis.RedisCluster(host="127.0.0.1", port=a.tls_port, ssl=True,
                               ssl_ca_certs=str(a.certs / "ca.crt"),
                               ssl_certfile=str(a.certs / "client.crt"),
                               ssl_keyfile=str(a.certs / "client.key"), ssl_check_hostname=False)
    assert moved.get(keys[3]) == b"3"
    moved.close()


def test_a_manual_failover_over_tls(cluster) -> None:  # type: ignore[no-untyped-def]
    a, _, c = cluster
    c.plain().execute_command("CLUSTER", "FAILOVER")
    until(lambda: c.plain().info("replication")["role"] == "master", "the promotion")
    until(lambda: a.plain().info("replication").get("master_port") == c.tls_port
          and a.plain().info("replication")["master_link_status"] == "up",
          "the old master following over TLS")


def test_tls_cluster_without_certificates_stops_the_node() -> None:
    with pytest.raises(RuntimeError, match="exited with 1"):
        start_node("--cluster-enabled", "yes", "--cluster-port", str(free_port()),
                   "--tls-cluster", "yes")


# --- compared with redis-server: a one-node TLS cluster of each ---

def single(kind: str, certs: Path) -> tuple[ServerProcess, int]:
    tls_port = free_port()
    directives = tls_directives(certs, tls_port)
    if kind == "ours":
        return start_node(*directives), tls_port
    return start_redis_server(*directives), tls_port


def tls_to(port: int, certs: Path) -> redis.Redis:
    return redis.Redis(port=port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                       ssl_certfile=str(certs / "client.crt"), ssl_keyfile=str(certs / "client.key"),
                       ssl_check_hostname=False, socket_timeout=10, protocol=3)


def shape(proc: ServerProcess, tls_port: int, certs: Path) -> dict[str, object]:
    """What a client sees of the one node's ports, with the ports named by role."""
    names = {proc.port: "PORT", tls_port: "TLS-PORT"}
    out: dict[str, object] = {}
    with RawClient(proc.port) as raw:
        assert raw.call("CLUSTER", "ADDSLOTS", "5") == b"+OK\r\n"
    for kind, client in (("plain", redis.Redis(port=proc.port, protocol=3)),
                         ("tls", tls_to(tls_port, certs))):
        line = nodes_lines(client)[0]
        out[f"{kind} nodes"] = names[int(line[1].split("@")[0].rsplit(":", 1)[1])]
        shards = client.execute_command("CLUSTER", "SHARDS")
        node = shards[0][b"nodes"][0]
        out[f"{kind} shards"] = [(k, names.get(v, v) if k in (b"port", b"tls-port") else None)
                                 for k, v in node.items()]
        slots = client.execute_command("CLUSTER", "SLOTS")
        out[f"{kind} slots"] = names[slots[0][2][1]]
        client.close()
    return out


def test_ports_as_redis_server_reports_them(certs: Path) -> None:
    (ours, ours_tls), (theirs, theirs_tls) = single("ours", certs), single("theirs", certs)
    try:
        assert shape(ours, ours_tls, certs) == shape(theirs, theirs_tls, certs)
        for proc in (ours, theirs):
            with RawClient(proc.port) as raw:
                assert raw.call("CONFIG", "SET", "cluster-announce-tls-port", "7001") == b"+OK\r\n"
                assert raw.call("CONFIG", "SET", "cluster-announce-port", "7002") == b"+OK\r\n"
        seen = []
        for proc, tls_port in ((ours, ours_tls), (theirs, theirs_tls)):
            seen.append((ports_of(redis.Redis(port=proc.port)), ports_of(tls_to(tls_port, certs))))
        assert seen[0] == seen[1] == ({7002}, {7001})
        with RawClient(ours.port) as a, RawClient(theirs.port) as b:
            for name in ("tls-cluster", "cluster-announce-tls-port"):
                assert a.call("CONFIG", "GET", name) == b.call("CONFIG", "GET", name)
    finally:
        ours.stop()
        theirs.stop()
