"""`redslot up --tls --requirepass`: a local cluster that speaks only TLS and asks for a
password, used by redis-py and redis-cli as its connection hints say, with replication,
a manual failover and a reshard (MIGRATE between nodes) over TLS."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from local_cluster import LocalCluster, key_in_shard, missing_keys, preload
from nodes import no_retry
from redslot.operator.local.security import settle

pytestmark = pytest.mark.timeout(600)
PASSWORD = "s3cret-pass"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    made = LocalCluster(3, 1, "--tls", "--requirepass", PASSWORD)
    try:
        made.wait_ready(timeout=120)
        yield made
    finally:
        made.close()


def node_client(cluster: LocalCluster, address: str, **overrides: object) -> redis.Redis:
    host, port = address.rsplit(":", 1)
    options = {**cluster.security(), "socket_timeout": 5, "socket_connect_timeout": 2, **overrides}
    return redis.Redis(host=host, port=int(port), **options)  # type: ignore[arg-type]


def cli(cluster: LocalCluster, *args: str) -> str:
    host, port = cluster.address()
    done = subprocess.run(["redis-cli", "-c", "-h", host, "-p", str(port), *cluster.cli_args(),
                           *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_redis_py_reads_and_writes_across_slots(cluster: LocalCluster) -> None:
    client = cluster.client()
    keys = [f"py:{i}" for i in range(500)]
    for i, key in enumerate(keys):
        assert client.set(key, i)
    assert client.mget_nonatomic(keys) == [str(i).encode() for i in range(500)]
    assert len({client.keyslot(k) for k in keys}) > 400


def test_redis_cli_follows_redirects_over_tls(cluster: LocalCluster) -> None:
    status = cluster.status()
    keys = [key_in_shard(status, shard, "cli") for shard in range(3)]  # one per master
    for key in keys:
        assert cli(cluster, "SET", key, key.upper()) == "OK"
    for key in keys:
        assert cli(cluster, "GET", key) == key.upper()
    cluster.check()


def test_plaintext_no_password_and_unknown_certificates_are_refused(cluster: LocalCluster,
                                                                   tmp_path: Path) -> None:
    address = cluster.status()["shards"][0]["master"]["address"]
    with pytest.raises(redis.ConnectionError):
        node_client(cluster, address, ssl=False, password=None, retry=no_retry()).ping()
    with pytest.raises(redis.AuthenticationError):
        node_client(cluster, address, password=None, retry=no_retry()).get("x")
    with pytest.raises(redis.ConnectionError):
        node_client(cluster, address, ssl_certfile=None, ssl_keyfile=None, retry=no_retry()).ping()
    assert node_client(cluster, address).ping()
    host, port = address.rsplit(":", 1)
    plain = subprocess.run(["redis-cli", "-h", host, "-p", port, "-a", PASSWORD,
                            "--no-auth-warning", "PING"], capture_output=True, text=True, timeout=30)
    assert "PONG" not in plain.stdout


def test_the_password_stays_off_command_lines(cluster: LocalCluster) -> None:
    for pid_file in cluster.dir.glob("nodes/*/node.pid"):
        cmdline = Path(f"/proc/{int(pid_file.read_text())}/cmdline").read_bytes()
        assert PASSWORD.encode() not in cmdline and b"--tls-cluster" in cmdline
        secrets = pid_file.parent / "secrets.conf"
        assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cluster.dir / "password").st_mode) == 0o600


def test_replicas_follow_their_masters_over_tls(cluster: LocalCluster) -> None:
    status = cluster.status()
    key = key_in_shard(status, 1, "repl")
    cluster.client().set(key, "copied")
    replica = node_client(cluster, status["shards"][1]["replicas"][0]["address"])
    info = replica.info("replication")
    assert info["master_link_status"] == "up"
    assert f"{info['master_host']}:{info['master_port']}" == status["shards"][1]["master"]["address"]
    replica.execute_command("READONLY")
    cluster.wait(lambda _: replica.get(key) == b"copied", "the write on the replica", 15)
    nodes = node_client(cluster, status["shards"][0]["master"]["address"]).execute_command(
        "CLUSTER", "NODES")
    lines = (nodes.decode() if isinstance(nodes, bytes) else nodes).splitlines()
    assert len(lines) == 6 and all(" connected" in line for line in lines)


def test_a_manual_failover_over_tls(cluster: LocalCluster) -> None:
    before = cluster.status()["shards"][2]
    key = key_in_shard(cluster.status(), 2, "mf")
    cluster.client().set(key, "before")
    result = cluster.redslot("failover", "2")
    assert result.returncode == 0, result.stdout + result.stderr + cluster.log()
    after = cluster.wait_ready()["shards"][2]
    assert after["master"]["name"] == before["replicas"][0]["name"]
    client = cluster.client()
    assert client.get(key) == b"before"
    assert client.set(key, "after") and client.get(key) == b"after"


def test_a_reshard_migrates_keys_over_tls(cluster: LocalCluster) -> None:
    client = cluster.client()
    preload(client, 3000, "moved")
    result = cluster.redslot("scale", "--shards", "4", timeout=500)
    assert result.returncode == 0, result.stdout + result.stderr + cluster.log()
    status = cluster.wait_ready(4)
    assert status["last_reshard"]["keys"] > 0
    cluster.check()
    assert cluster.marks() == []
    client = cluster.client()
    assert missing_keys(client, [f"moved:{i}" for i in range(3000)]) == []


def test_an_existing_cluster_keeps_its_password_and_tls(tmp_path: Path) -> None:
    security, generated = settle(tmp_path, "127.0.0.1", "", True, existing=False)
    assert generated and security.password == generated and security.tls_dir is not None
    again, shown = settle(tmp_path, "127.0.0.1", None, False, existing=True)
    assert again == security and shown is None
    with pytest.raises(ValueError, match="keeps the password"):
        settle(tmp_path, "127.0.0.1", "other", False, existing=True)
    plain = tmp_path / "plain"
    plain.mkdir()
    settle(plain, "127.0.0.1", None, False, existing=False)
    with pytest.raises(ValueError, match="without TLS"):
        settle(plain, "127.0.0.1", None, True, existing=True)
