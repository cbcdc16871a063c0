"""TLS: clients (redis-cli --tls, redis-py ssl=True), client certificates as
tls-auth-clients asks, replication over TLS with redis-server on either side, certificate
reload and refused changes by CONFIG SET."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from certs import make_certs, sign
from nodes import ServerProcess, free_port, no_retry, start_node, start_redis_server
from resp import RawClient


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_certs(tmp_path_factory.mktemp("certs"))


def tls_args(certs: Path, port: int, *extra: str) -> tuple[str, ...]:
    return ("--tls-port", str(port), "--tls-cert-file", str(certs / "server.crt"),
            "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file",
            str(certs / "ca.crt"), *extra)


def tls_client(port: int, certs: Path, who: str | None = "client", **options: Any) -> redis.Redis:
    return redis.Redis(port=port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                       ssl_certfile=str(certs / f"{who}.crt") if who else None,
                       ssl_keyfile=str(certs / f"{who}.key") if who else None,
                       ssl_check_hostname=False, socket_timeout=10, **options)


@pytest.fixture
def tls_node(certs: Path) -> Iterator[tuple[ServerProcess, int]]:
    port = free_port()
    node = start_node(*tls_args(certs, port))
    yield node, port
    node.stop()


def test_redis_py_over_tls_with_a_client_certificate(tls_node: tuple[ServerProcess, int],
                                                     certs: Path) -> None:
    _, port = tls_node
    client = tls_client(port, certs)
    assert client.set("k", "v") and client.get("k") == b"v"
    pubsub = client.pubsub()
    pubsub.subscribe("c")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    client.publish("c", "over tls")
    assert pubsub.get_message(timeout=5)["data"] == b"over tls"
    pubsub.close()


def test_redis_cli_tls(tls_node: tuple[ServerProcess, int], certs: Path) -> None:
    _, port = tls_node
    done = subprocess.run(["redis-cli", "--tls", "-p", str(port), "--cacert", str(certs / "ca.crt"),
                           "--cert", str(certs / "client.crt"), "--key", str(certs / "client.key"),
                           "PING"], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "PONG", done.stderr


def test_the_plain_port_still_serves(tls_node: tuple[ServerProcess, int]) -> None:
    node, _ = tls_node
    with RawClient(node.port) as c:
        assert c.call("PING") == b"+PONG\r\n"


@pytest.mark.parametrize("auth,who,accepted", [
    ("yes", "client", True), ("yes", None, False), ("yes", "stranger", False),
    ("optional", None, True), ("optional", "stranger", False), ("no", None, True),
])
def test_tls_auth_clients(tls_node: tuple[ServerProcess, int], certs: Path, auth: str,
                          who: str | None, accepted: bool) -> None:
    node, port = tls_node
    with RawClient(node.port) as c:
        assert c.call("CONFIG", "SET", "tls-auth-clients", auth) == b"+OK\r\n"
    # The listener is remade with the new context right after CONFIG SET's reply: until
    # then a connection may meet the old one, so the outcome is awaited, then repeated
    # with a fresh client.
    deadline = time.monotonic() + 10
    outcomes = []
    while len(outcomes) < 2 or outcomes[-2:] != [accepted, accepted]:
        assert time.monotonic() < deadline, f"connections went {outcomes}, expected {accepted}"
        client = tls_client(port, certs, who, retry=no_retry())
        try:
            outcomes.append(bool(client.ping()))
        except (redis.ConnectionError, ssl.SSLError, OSError):
            outcomes.append(False)
        finally:
            client.close()
        if outcomes[-1] != accepted:
            time.sleep(0.05)


def test_tls_only_with_port_0(certs: Path) -> None:
    port = free_port()
    # start_node waits for a plain PING: a TLS-only node is started by hand
    workdir = Path(tempfile.mkdtemp())
    proc = subprocess.Popen([sys.executable, "-m", "redslot.cli", "node", "--port", "0", "--bind",
                             "127.0.0.1", "--dir", str(workdir), "--save", "",
                             *tls_args(certs, port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                assert tls_client(port, certs).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the TLS-only node never answered"
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(15)


def test_config_set_refuses_a_broken_tls_change_and_reloads_certificates(
        tls_node: tuple[ServerProcess, int], certs: Path) -> None:
    node, port = tls_node
    with RawClient(node.port) as c:
        assert c.call("CONFIG", "SET", "tls-cert-file", "/nonexistent.crt") == (
            b"-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to "
            b"update TLS configuration. Check server logs.\r\n")
        assert c.call("CONFIG", "SET", "tls-protocols", "TLSv9").startswith(b"-ERR CONFIG SET failed")
        assert tls_client(port, certs).ping()  # the running contexts are untouched
        assert c.call("CONFIG", "SET", "tls-cert-file", str(certs / "server.crt")) == b"+OK\r\n"
        new_port = free_port()
        assert c.call("CONFIG", "SET", "tls-port", str(new_port)) == b"+OK\r\n"
    deadline = time.monotonic() + 10
    while True:
        try:
            assert tls_client(new_port, certs).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert "Failed to load certificate" in node.log


def test_a_renewed_certificate_set_with_its_key_and_ca_at_once_is_served(
        tls_node: tuple[ServerProcess, int], certs: Path, tmp_path: Path) -> None:
    """What the operator does when a certificate Secret is renewed: the three files in
    one CONFIG SET (each name re-applies TLS; the re-listens must not race)."""
    node, port = tls_node
    renewed_dir = tmp_path / "renewed"
    renewed_dir.mkdir()
    for name in ("ca.crt", "ca.key"):
        (renewed_dir / name).write_bytes((certs / name).read_bytes())
    renewed = sign(renewed_dir, "renewed")
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    context.check_hostname = False
    context.load_cert_chain(str(certs / "client.crt"), str(certs / "client.key"))
    failures: list[str] = []
    stop = threading.Event()

    def connect_all_along() -> None:  # no connection is refused or reset by a reload
        while not stop.is_set():
            try:
                with context.wrap_socket(socket.create_connection(("127.0.0.1", port), 5)):
                    pass
            except OSError as error:
                failures.append(repr(error))

    prober = threading.Thread(target=connect_all_along)
    prober.start()
    try:
        with RawClient(node.port) as c:
            for _ in range(3):
                assert c.call("CONFIG", "SET", "tls-cert-file", str(renewed),
                              "tls-key-file", str(renewed_dir / "renewed.key"),
                              "tls-ca-cert-file", str(certs / "ca.crt")) == b"+OK\r\n"
                time.sleep(0.2)
    finally:
        stop.set()
        prober.join(10)
    assert failures == []
    wanted = ssl.PEM_cert_to_DER_cert(renewed.read_text())
    deadline = time.monotonic() + 10
    while True:
        try:
            with context.wrap_socket(socket.create_connection(("127.0.0.1", port), 5)) as s:
                if s.getpeercert(binary_form=True) == wanted:
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, node.log
        time.sleep(0.05)
    assert "address already in use" not in node.log
    assert tls_client(port, certs).ping()


@pytest.mark.parametrize("master_kind,replica_kind", [
    ("redslot", "redslot"), ("redis-server", "redslot"), ("redslot", "redis-server")])
def test_replication_over_tls(certs: Path, master_kind: str, replica_kind: str) -> None:
    start = {"redslot": start_node, "redis-server": start_redis_server}
    master_tls = free_port()
    master = start[master_kind](*tls_args(certs, master_tls))
    replica = None
    try:
        with RawClient(master.port) as m:
            for i in range(100):
                m.call("SET", f"k{i}", i)
        replica = start[replica_kind](*tls_args(certs, free_port(), "--tls-replication", "yes",
                                                "--replicaof", "127.0.0.1", str(master_tls)))
        with RawClient(replica.port) as r:
            deadline = time.monotonic() + 20
            while b"master_link_status:up" not in r.call("INFO", "replication"):
                assert time.monotonic() < deadline, "no replication over TLS"
                time.sleep(0.05)
            with RawClient(master.port) as m:
                m.call("SET", "after", "tls")
            while r.call("GET", "after") != b"$3\r\ntls\r\n":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert r.call("DBSIZE") == b":101\r\n"
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


def test_a_tls_client_waits_out_a_busy_script(certs: Path) -> None:
    """While a script is busy other clients are read by the script's hook; a TLS client's
    records are left to its transport, so it is served once the script is killed."""
    port = free_port()
    node = start_node(*tls_args(certs, port, "--busy-reply-threshold", "200"))
    try:
        secure = tls_client(port, certs)
        assert secure.ping()
        runner = RawClient(node.port, timeout=30)
        runner.send_raw(b"*3\r\n$4\r\nEVAL\r\n$17\r\nwhile true do end\r\n$1\r\n0\r\n")
        time.sleep(0.5)  # connect once the script is busy (see the README's scripting limits)
        with RawClient(node.port) as admin:
            deadline = time.monotonic() + 10
            while not admin.call("PING").startswith(b"-BUSY"):
                assert time.monotonic() < deadline, "the script never turned busy"
                time.sleep(0.05)
            result: list[object] = []
            waiter = threading.Thread(target=lambda: result.append(secure.ping()))
            waiter.start()
            time.sleep(0.5)
            assert admin.call("SCRIPT", "KILL") == b"+OK\r\n"
            waiter.join(10)
        assert result == [True]
        assert runner.read_reply().startswith(b"-ERR Script killed by user with SCRIPT KILL")
        runner.close()
    finally:
        node.stop()
