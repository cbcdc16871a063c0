"""Replies written straight to the socket (server/_sockio.c, Connection.write) arrive whole
and in order whatever the socket takes: a reader slower than the node leaves part of a
write in the transport, and every later reply must queue behind it until it drains, then
go straight again. The output buffer limits still see what waits."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
import redis
import uvloop
from nodes import ServerProcess
from redslot.node.config.directives import Config
from redslot.node.server.client import Client
from redslot.node.server.connection import SEND
from redslot.node.server.server import Server

VALUE_SIZE = 200_000
KEYS = 8
# 60 replies of 200 kB: more than the two sockets' buffers take while the client does not
# read (a receive buffer grows only as its reader reads), so writes stop part way.
REPLIES = 60


@pytest.fixture
def client(node: ServerProcess) -> Iterator[redis.Redis]:
    """A client of the module's node (tests/conftest.py), emptied, limits as configured."""
    client = redis.Redis(port=node.port)
    client.flushall()
    limits = client.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    yield client
    client.config_set("client-output-buffer-limit", limits)


def command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def value(i: int) -> bytes:
    return (b"%d:" % i) * (VALUE_SIZE // len(b"%d:" % i))


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(65536, size - len(data)))
        assert chunk, f"closed after {len(data)} of {size} bytes"
        data += chunk
    return bytes(data)


def expected_replies(order: list[int]) -> bytes:
    return b"".join(b"$%d\r\n%s\r\n" % (len(value(i)), value(i)) for i in order)


def test_replies_larger_than_the_socket_buffer_to_a_slow_reader_arrive_in_order(
        node: ServerProcess, client: redis.Redis) -> None:
    for i in range(KEYS):
        client.set(b"big:%d" % i, value(i))
    order = [i % KEYS for i in range(REPLIES)]
    with socket.create_connection(("127.0.0.1", node.port), timeout=30) as sock:
        # Sent in several reads, so that later replies are written while earlier ones wait.
        for start in range(0, len(order), 5):
            sock.sendall(b"".join(command(b"GET", b"big:%d" % i) for i in order[start:start + 5]))
            time.sleep(0.02)
        want = expected_replies(order)
        assert read_exactly(sock, len(want)) == want
        # Drained: the next replies go straight to the socket again, still in order.
        sock.sendall(command(b"PING") + command(b"GET", b"big:3") + command(b"ECHO", b"end"))
        tail = b"+PONG\r\n" + expected_replies([3]) + b"$3\r\nend\r\n"
        assert read_exactly(sock, len(tail)) == tail


def test_a_reply_written_when_the_socket_has_room_again_queues_behind_the_held_one(
        tmp_path, monkeypatch) -> None:
    """In process, on uvloop's own transport, with the loop held still: the socket takes
    part of a reply and the transport the rest; the reader then frees room; a reply
    written now must follow the held bytes (a straight write would overtake them)."""
    monkeypatch.chdir(tmp_path)

    async def scenario() -> tuple[bytes, bytes, bool]:
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        reader = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        listener.close()
        client = Client(Server(Config()))
        await loop.connect_accepted_socket(lambda: client, accepted)  # type: ignore[arg-type,return-value]
        direct = client.direct is not None
        sent = bytearray()
        for i in range(200):  # until the socket is full and the transport holds some
            block = bytes([65 + i % 26]) * VALUE_SIZE
            client.write(block)
            sent += block
            if client.unsent:
                break
        assert client.unsent
        reader.setblocking(False)
        got = bytearray(reader.recv(1 << 20))  # room again, the loop not having run
        time.sleep(0.05)
        client.write(b"MARK")
        sent += b"MARK"
        while len(got) < len(sent):
            try:
                got += reader.recv(1 << 20)
            except BlockingIOError:
                await asyncio.sleep(0.001)
        reader.close()
        client.close()
        return bytes(got), bytes(sent), direct

    got, sent, direct = uvloop.run(scenario())
    assert direct == (SEND is not None)  # the compiled build writes straight
    assert got == sent


def test_replies_keep_their_order_while_the_reader_frees_room_as_requests_arrive(
        node: ServerProcess, client: redis.Redis) -> None:
    """The reader takes a little of the replies before each request: the socket has room
    again while the transport still holds an older reply, and the new reply must not
    overtake it (uvloop reads a socket before it writes what it holds)."""
    client.set(b"big", value(1))
    want = b"".join(expected_replies([1]) if i % 4 == 0 else b":%d\r\n" % (i - i // 4)
                    for i in range(REPLIES * 4))
    got = bytearray()
    with socket.create_connection(("127.0.0.1", node.port), timeout=30) as sock:
        for i in range(REPLIES * 4):  # one request a read: each reply is its own write
            sock.sendall(command(b"GET", b"big") if i % 4 == 0 else command(b"INCR", b"n"))
            if len(got) < len(want):
                got += sock.recv(min(30_000, len(want) - len(got)))
        got += read_exactly(sock, len(want) - len(got))
    assert bytes(got) == want


def test_the_output_buffer_limit_still_closes_a_client_that_does_not_read(
        node: ServerProcess, client: redis.Redis) -> None:
    client.set(b"big", value(1))
    client.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    with socket.create_connection(("127.0.0.1", node.port), timeout=30) as sock:
        sock.sendall(command(b"PING"))
        assert read_exactly(sock, 7) == b"+PONG\r\n"  # served: one of the clients listed
        assert len(client.client_list()) == 2
        sock.sendall(command(b"GET", b"big") * 100)  # 20 MB of replies, not read meanwhile
        deadline = time.monotonic() + 20
        while len(client.client_list()) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(client.client_list()) == 1  # dropped: only this connection is left
        received = 0
        try:
            while chunk := sock.recv(65536):
                received += len(chunk)
        except ConnectionResetError:
            pass
        assert received < 100 * VALUE_SIZE
    assert client.ping()
