"""Zero-loss mode (min-replicas-ack): an acknowledgement counts only for what a replica
really holds, across reconnects, partial resyncs and failovers.

Each test ends by freezing (SIGSTOP) every replica and writing: a frozen replica can
acknowledge nothing, so that write must be answered -NOACK. A master that counted an
acknowledgement early (a replica's offset from another stream, from another base, or its
own bytes counted as its master's) answers it as a success instead.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from nodes import ServerProcess, start_node
from replication_wait import caught_up, linked, until

ZERO_LOSS = ("--min-replicas-ack", "1", "--min-replicas-ack-timeout", "1500")


def follow(replica: redis.Redis, master: ServerProcess) -> None:
    replica.replicaof("127.0.0.1", master.port)
    until(lambda: linked(replica))


@contextmanager
def frozen(*nodes: ServerProcess) -> Iterator[None]:
    for node in nodes:
        node.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for node in nodes:
            node.proc.send_signal(signal.SIGCONT)


@contextmanager
def nodes(count: int, *directives: str) -> Iterator[list[ServerProcess]]:
    procs: list[ServerProcess] = []
    try:
        for _ in range(count):
            procs.append(start_node(*directives))
        yield procs
    finally:
        for proc in procs:
            proc.proc.send_signal(signal.SIGCONT)
            proc.stop()


def acks_within_stream(master: redis.Redis) -> bool:
    """No replica acknowledged an offset its master has not produced yet."""
    info = master.info("replication")
    offsets = [info[key]["offset"] for key in info if key.startswith("slave")]
    return all(offset <= info["master_repl_offset"] for offset in offsets)


def held(master: redis.Redis) -> bool:
    """A client's reply waits for acknowledgements."""
    return any(c["cmd"] == "sadd" for c in master.client_list())


def write_in_background(client: redis.Redis, *args: object) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(client.execute_command(*args))
        except redis.ResponseError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_demoted_master_acknowledges_only_its_new_masters_stream():
    """The partition sequence: a master cut off while a write of its waits, its replica
    promoted, the old master made a replica of it; a replica on the old master's side
    (here frozen) still looks connected to it."""
    with nodes(3, *ZERO_LOSS) as (old, new, other):
        r_old, r_new, r_other = (redis.Redis(port=n.port) for n in (old, new, other))
        follow(r_new, old)
        follow(r_other, old)
        assert r_old.sadd("s", "before") == 1
        until(lambda: caught_up(r_old, r_new) and caught_up(r_old, r_other))
        with frozen(other):
            r_new.replicaof("no", "one")
            until(lambda: r_old.info("replication")["connected_slaves"] == 1)
            thread, outcome = write_in_background(redis.Redis(port=old.port), "SADD", "s", "cut")
            until(lambda: r_old.info("stats")["total_commands_processed"] >= 0 and held(r_old))
            r_old.replicaof("127.0.0.1", new.port)
            until(lambda: linked(r_old))
            thread.join(10)
            assert isinstance(outcome[0], redis.ResponseError)
            assert str(outcome[0]).startswith("NOACK")
            assert r_new.sadd("s", "after") == 1
            until(lambda: caught_up(r_new, r_old))
            assert acks_within_stream(r_new)
            with frozen(old):
                with pytest.raises(redis.ResponseError, match="^NOACK"):
                    r_new.sadd("s", "while-frozen")


def test_a_replica_resynced_partially_after_a_break_acknowledges_only_what_it_has():
    """The partition sequence on one link: the replica cut off (frozen, its link dropped)
    while the master writes, then back with a partial resync, then cut off again."""
    with nodes(2, *ZERO_LOSS) as (master, replica):
        m, r = redis.Redis(port=master.port), redis.Redis(port=replica.port)
        follow(r, master)
        assert m.sadd("s", "before") == 1
        with frozen(replica):
            with pytest.raises(redis.ResponseError, match="^NOACK"):
                m.sadd("s", "cut")
            m.client_kill_filter(_type="replica")
        until(lambda: m.info("stats")["sync_partial_ok"] == 1)
        until(lambda: caught_up(m, r))
        assert m.sadd("s", "after") == 1
        assert r.sismember("s", "after")
        assert acks_within_stream(m)
        with frozen(replica):
            with pytest.raises(redis.ResponseError, match="^NOACK"):
                m.sadd("s", "while-frozen")


# --- the replica's side, against a master played by the test ---

def encode(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def read_command(stream) -> list[bytes]:  # type: ignore[no-untyped-def]
    line = stream.readline()
    assert line.startswith(b"*"), line
    args = []
    for _ in range(int(line[1:])):
        size = int(stream.readline()[1:])
        args.append(stream.read(size + 2)[:-2])
    return args


class PlayedMaster:
    """Accepts a replica's link, syncs it with an empty dataset at offset 100, then
    streams what the test sends and reads back its REPLCONF ACKs."""

    REPLID = b"a" * 40

    def __init__(self, snapshot: bytes) -> None:
        self.snapshot = snapshot
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(15)
        self.port = self.listener.getsockname()[1]

    def accept(self) -> list[bytes]:
        """The next link, up to its PSYNC (returned)."""
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(15)
        self.stream = self.conn.makefile("rb")
        while True:
            command = read_command(self.stream)
            if command[0].upper() == b"PSYNC":
                return command
            self.conn.sendall(b"+PONG\r\n" if command[0].upper() == b"PING" else b"+OK\r\n")

    def full_sync(self) -> None:
        self.conn.sendall(b"+FULLRESYNC %s 100\r\n$%d\r\n%s"
                          % (self.REPLID, len(self.snapshot), self.snapshot))

    def drop(self) -> None:
        self.conn.shutdown(socket.SHUT_RDWR)
        self.stream.close()
        self.conn.close()

    def send(self, *commands: bytes) -> None:
        self.conn.sendall(b"".join(commands))

    def next_ack(self) -> int:
        while True:
            command = read_command(self.stream)
            if command[:2] == [b"REPLCONF", b"ACK"]:
                return int(command[2])


@pytest.fixture
def played() -> Iterator[tuple[PlayedMaster, redis.Redis]]:
    with nodes(1) as (replica,):
        r = redis.Redis(port=replica.port)
        r.save()
        with open(f"{replica.workdir}/dump.rdb", "rb") as f:
            master = PlayedMaster(f.read())
        try:
            r.replicaof("127.0.0.1", master.port)
            master.accept()
            master.full_sync()
            until(lambda: linked(r))
            yield master, r
        finally:
            master.listener.close()


GETACK = encode(b"REPLCONF", b"GETACK", b"*")


def test_a_replica_answers_getack_with_the_offset_of_everything_before_it(played):
    master, r = played
    write = encode(b"SELECT", b"0") + encode(b"SET", b"a", b"1")
    master.send(write + GETACK)
    assert master.next_ack() in (100, 100 + len(write))  # a periodic ACK may come first
    master.send(write + GETACK)
    while (ack := master.next_ack()) < 100 + 2 * len(write) + len(GETACK):
        pass
    assert ack == 100 + 2 * len(write) + len(GETACK)  # the second write, not its GETACK


def test_a_replica_counts_a_transaction_once_its_exec_ran(played):
    master, r = played
    applied = 100 + len(GETACK)
    master.send(GETACK)
    while master.next_ack() < applied:
        pass
    opened = encode(b"MULTI") + encode(b"SELECT", b"0") + encode(b"SET", b"b", b"2")
    master.send(opened)
    assert master.next_ack() == applied  # the periodic ACK: not the open transaction
    master.drop()  # the link breaks before EXEC: the transaction is dropped
    psync = master.accept()
    assert psync[1:] == [master.REPLID, b"%d" % (applied + 1)]  # asked for again
    master.send(b"+CONTINUE %s\r\n" % master.REPLID, opened + encode(b"EXEC") + GETACK)
    until(lambda: r.get("b") == b"2")
    while (ack := master.next_ack()) < applied + len(opened) + len(encode(b"EXEC")):
        pass
    assert ack == applied + len(opened) + len(encode(b"EXEC"))


# --- the master's side, against replicas played by the test ---

def played_replica(master: redis.Redis, port: int) -> socket.socket:
    """A link that announces ``port`` and continues the master's stream from its end."""
    info = master.info("replication")
    link = socket.create_connection(("127.0.0.1", master.connection_pool.connection_kwargs["port"]))
    link.settimeout(10)
    link.sendall(encode(b"REPLCONF", b"listening-port", b"%d" % port)
                 + encode(b"PSYNC", info["master_replid"].encode(),
                          b"%d" % (info["master_repl_offset"] + 1)))
    received = b""
    while b"+CONTINUE" not in received:
        received += link.recv(4096)
    return link


@pytest.fixture
def lone_master() -> Iterator[redis.Redis]:
    with nodes(1, *ZERO_LOSS) as (master,):
        m = redis.Redis(port=master.port)
        m.config_set("min-replicas-ack-timeout", 300)
        with pytest.raises(redis.ResponseError, match="^NOACK"):
            m.set("start", 1)  # streams from now on
        yield m


def test_an_acknowledgement_beyond_the_masters_offset_is_not_counted(lone_master):
    m = lone_master
    link = played_replica(m, 1111)
    until(lambda: m.info("replication")["connected_slaves"] == 1)
    link.sendall(encode(b"REPLCONF", b"ACK", b"%d" % (m.info("replication")["master_repl_offset"]
                                                       + 100_000)))
    with pytest.raises(redis.ResponseError, match="^NOACK"):
        m.set("k", "v")
    link.close()


def test_a_replica_syncing_again_replaces_its_previous_link(lone_master):
    m = lone_master
    first = played_replica(m, 2222)
    second = played_replica(m, 2222)
    until(lambda: m.info("replication")["connected_slaves"] == 1)
    assert m.info("replication")["slave0"]["port"] == 2222
    while first.recv(4096):  # the master closed the previous link
        pass
    second.close()
    first.close()
