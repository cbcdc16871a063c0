"""MIGRATEs pipelined by one client: a run of MIGRATE ... REPLACE calls to one target goes
out as one batch (migrate.py), each call still answering as it would alone.

The replies are compared byte for byte with redis-server running the same pipeline; a
fake target that answers nothing until it holds every RESTORE of the pipeline shows the
batching itself, and the same fake, failing part-way, shows each call's own outcome.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient, encode_command


@pytest.fixture(scope="module")
def target() -> Iterator[ServerProcess]:
    proc = start_redis_server()
    yield proc
    proc.stop()


def run_pipeline(port: int, commands: list[tuple[object, ...]]) -> list[bytes]:
    """Send every command in one write; each raw reply, in order."""
    with RawClient(port) as c:
        c.send_raw(b"".join(encode_command(*cmd) for cmd in commands))  # type: ignore[arg-type]
        return [c.read_reply() for _ in commands]


def migrate(port: int, key: str, *options: object, db: int = 0,
            timeout: int = 2000) -> tuple[object, ...]:
    return ("MIGRATE", "127.0.0.1", port, key, db, timeout, *options)


def test_pipelined_migrates_answer_like_redis(node, reference, target):
    """A pipeline of MIGRATEs that can and cannot share a batch: NOKEY, a key an earlier
    call moved, other options, another database, a syntax error, a missing key."""
    dst = redis.Redis(port=target.port, socket_timeout=10)
    port = target.port
    script: list[tuple[object, ...]] = [
        ("FLUSHALL",),
        ("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6"),
        ("SET", "ttl", "v", "PX", 100000),
        migrate(port, "", "REPLACE", "KEYS", "a", "b"),
        migrate(port, "c", "REPLACE"),
        migrate(port, "", "REPLACE", "KEYS", "nope"),
        migrate(port, "", "REPLACE", "KEYS", "c", "d"),
        migrate(port, "e", "REPLACE", "COPY"),
        migrate(port, "ttl", "REPLACE", db=1),
        migrate(port, "f", "REPLACE", "BOGUS"),
        migrate(port, "f", "REPLACE"),
        ("KEYS", "*"),
    ]
    contents = []
    replies = []
    for source in (node, reference):
        dst.flushall()
        replies.append(run_pipeline(source.port, script))
        contents.append((sorted(dst.keys()), dst.execute_command("SELECT", 1) and
                         sorted(dst.keys()), dst.execute_command("SELECT", 0)))
    assert replies[0] == replies[1]
    assert replies[0][3:11] == [b"+OK\r\n", b"+OK\r\n", b"+NOKEY\r\n", b"+OK\r\n", b"+OK\r\n",
                                b"+OK\r\n", b"-ERR syntax error\r\n", b"+OK\r\n"]
    assert contents[0] == contents[1]
    assert contents[0][0] == [b"a", b"b", b"c", b"d", b"e", b"f"]


class FakeTarget:
    """A MIGRATE target on a raw socket. Its first connection answers nothing until it
    holds ``wait_for`` RESTOREs, then answers ``answer(key)`` to each (+OK to AUTH and
    SELECT), and closes after ``close_after`` replies if given; later connections answer
    as commands come."""

    def __init__(self, wait_for: int, answer: Callable[[bytes], bytes] = lambda key: b"+OK",
                 close_after: int | None = None) -> None:
        self.wait_for = wait_for
        self.answer = answer
        self.close_after = close_after
        self.restored: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.listener.close()

    def serve(self) -> None:
        first = True
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                self.handle(conn, first)
            first = False

    def handle(self, conn: socket.socket, first: bool) -> None:
        buf = b""
        held: list[bytes] = []
        restores = sent = 0
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while (parsed := parse_command(buf)) is not None:
                argv, buf = parsed
                if argv[0].upper() == b"RESTORE":
                    restores += 1
                    self.restored.append(argv[1])
                    held.append(self.answer(argv[1]))
                else:
                    held.append(b"+OK")
            if first and restores < self.wait_for:
                continue
            if first and self.close_after is not None:
                conn.sendall(b"".join(line + b"\r\n" for line in held[:self.close_after - sent]))
                return
            conn.sendall(b"".join(line + b"\r\n" for line in held))
            sent += len(held)
            held = []


def parse_command(buf: bytes) -> tuple[list[bytes], bytes] | None:
    """One RESP array of bulk strings off the front of ``buf``, and the rest."""
    end = buf.find(b"\r\n")
    if end < 0:
        return None
    count, pos = int(buf[1:end]), end + 2
    argv = []
    for _ in range(count):
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return None
        size = int(buf[pos + 1:end])
        if len(buf) < end + 2 + size + 2:
            return None
        argv.append(buf[end + 2:end + 2 + size])
        pos = end + 2 + size + 2
    return argv, buf[pos:]


@pytest.fixture
def source() -> Iterator[ServerProcess]:
    proc = start_node()
    yield proc
    proc.stop()


def test_a_run_of_migrates_goes_out_as_one_batch(source):
    """The fake target answers only once it holds all six keys: MIGRATEs sent one after
    another's replies would each time out instead."""
    fake = FakeTarget(wait_for=6)
    try:
        s = redis.Redis(port=source.port, socket_timeout=10)
        s.mset({f"k{i}": i for i in range(6)})
        replies = run_pipeline(source.port, [
            migrate(fake.port, "", "REPLACE", "KEYS", "k0", "k1"),
            migrate(fake.port, "k2", "REPLACE"),
            migrate(fake.port, "", "REPLACE", "KEYS", "k3", "k4", "k5"),
        ])
        assert replies == [b"+OK\r\n"] * 3
        assert s.dbsize() == 0
        assert sorted(fake.restored) == [f"k{i}".encode() for i in range(6)]
    finally:
        fake.close()


def test_a_target_error_fails_only_its_own_migrate(source):
    fake = FakeTarget(wait_for=3, answer=lambda key: b"-ERR no" if key == b"k1" else b"+OK")
    try:
        s = redis.Redis(port=source.port, socket_timeout=10)
        s.mset({"k0": 0, "k1": 1, "k2": 2})
        replies = run_pipeline(source.port, [migrate(fake.port, k, "REPLACE")
                                             for k in ("k0", "k1", "k2")])
        assert replies == [b"+OK\r\n", b"-ERR Target instance replied with error: ERR no\r\n",
                           b"+OK\r\n"]
        assert s.keys() == [b"k1"]
    finally:
        fake.close()


def test_migrates_behind_a_broken_connection_run_again_on_their_own(source):
    """The connection closes after the first MIGRATE's replies (SELECT and one RESTORE):
    the ones behind it had no reply yet, and go again over a fresh connection."""
    fake = FakeTarget(wait_for=3, close_after=2)
    try:
        s = redis.Redis(port=source.port, socket_timeout=10)
        s.mset({"k0": 0, "k1": 1, "k2": 2})
        replies = run_pipeline(source.port, [migrate(fake.port, k, "REPLACE")
                                             for k in ("k0", "k1", "k2")])
        assert replies == [b"+OK\r\n"] * 3
        assert s.dbsize() == 0
        assert fake.restored.count(b"k0") == 1
        assert fake.restored.count(b"k1") == 2  # sent in the batch, then again on its own
    finally:
        fake.close()


def test_a_broken_connection_mid_migrate_answers_ioerr_for_that_one(source):
    """Closed after the second MIGRATE's first key (each batch starts with its SELECT): it
    read a reply, so it does not retry (IOERR, the acknowledged key gone, the other kept);
    the third runs on its own."""
    fake = FakeTarget(wait_for=4, close_after=4)
    try:
        s = redis.Redis(port=source.port, socket_timeout=10)
        s.mset({"k0": 0, "k1": 1, "k2": 2, "k3": 3})
        replies = run_pipeline(source.port, [
            migrate(fake.port, "k0", "REPLACE"),
            migrate(fake.port, "", "REPLACE", "KEYS", "k1", "k2"),
            migrate(fake.port, "k3", "REPLACE"),
        ])
        assert replies == [b"+OK\r\n", b"-IOERR error or timeout reading to target instance\r\n",
                           b"+OK\r\n"]
        assert s.keys() == [b"k2"]
    finally:
        fake.close()


def test_replicas_see_pipelined_migrates_as_dels(source, target):
    dst = redis.Redis(port=target.port, socket_timeout=10)
    dst.flushall()
    replica_proc = start_redis_server("--replicaof", "127.0.0.1", str(source.port))
    try:
        replica = redis.Redis(port=replica_proc.port, socket_timeout=10)
        s = redis.Redis(port=source.port, socket_timeout=10)
        s.mset({"a": "1", "b": "2", "c": "3", "d": "4"})
        deadline = time.monotonic() + 15
        while replica.dbsize() != 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert replica.dbsize() == 4
        assert run_pipeline(source.port, [
            migrate(target.port, "", "REPLACE", "KEYS", "a", "b"),
            migrate(target.port, "c", "REPLACE"),
            ("SET", "marker", "1"),
        ]) == [b"+OK\r\n", b"+OK\r\n", b"+OK\r\n"]
        while replica.get("marker") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(replica.keys()) == [b"d", b"marker"]
        assert sorted(dst.keys()) == [b"a", b"b", b"c"]
        replica.close()
    finally:
        replica_proc.stop()
