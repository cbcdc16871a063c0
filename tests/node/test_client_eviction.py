"""maxmemory-clients: the clients using the most memory are evicted, as Redis 7 does."""

from __future__ import annotations

import socket
import time

import pytest
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient, encode_command


@pytest.fixture(params=["redslot", "redis-server"])
def server(request: pytest.FixtureRequest):
    proc = start_node() if request.param == "redslot" else start_redis_server()
    yield proc
    proc.stop()


def hog(port: int) -> tuple[socket.socket, bytes]:
    """A client that asks for a lot and never reads: its replies pile up in the server."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(encode_command("CLIENT", "ID"))
    client_id = sock.recv(64).strip(b":\r\n")
    sock.sendall(encode_command("GET", "big") * 400)  # 400 x 100 KB of replies
    return sock, client_id


def connected(admin: RawClient) -> set[bytes]:
    listing = admin.call("CLIENT", "LIST")
    return {field[3:] for field in listing.split() if field.startswith(b"id=")}


def test_the_biggest_client_is_evicted(server: ServerProcess) -> None:
    with RawClient(server.port) as admin, RawClient(server.port) as exempt:
        admin.call("SET", "big", "x" * 100_000)
        exempt_id = exempt.call("CLIENT", "ID").strip(b":\r\n")
        exempt.call("CLIENT", "NO-EVICT", "on")
        assert admin.call("CONFIG", "SET", "maxmemory-clients", "4mb") == b"+OK\r\n"
        victim, victim_id = hog(server.port)
        try:
            deadline = time.monotonic() + 10
            while victim_id in connected(admin):
                assert time.monotonic() < deadline, "the client holding the most was not evicted"
                time.sleep(0.05)
            assert exempt_id in connected(admin)
            assert b"evicted_clients:1\r\n" in admin.call("INFO", "stats")
            assert exempt.call("PING") == b"+PONG\r\n"
        finally:
            victim.close()
    assert "Evicting client" in server.log


def test_setting_reads_back_as_redis(server: ServerProcess) -> None:
    with RawClient(server.port) as c:
        got = [c.call("CONFIG", "SET", "maxmemory-clients", v) + c.call("CONFIG", "GET", "maxmemory-clients")
               for v in ("10%", "64mb", "101%", "abc", "0")]
    expected = [
        b"+OK\r\n*2\r\n$17\r\nmaxmemory-clients\r\n$3\r\n10%\r\n",
        b"+OK\r\n*2\r\n$17\r\nmaxmemory-clients\r\n$8\r\n67108864\r\n",
    ]
    assert got[:2] == expected
    assert got[2].startswith(b"-ERR CONFIG SET failed (possibly related to argument "
                             b"'maxmemory-clients') - percentage argument must be less or equal to 100")
    assert b"argument must be a memory or percent value" in got[3]
    assert got[4].endswith(b"$1\r\n0\r\n")
