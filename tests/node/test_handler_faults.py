"""A command handler that raises an unexpected exception (a bug): one error reply, the
connection and the rest of the pipeline kept, the traceback logged once, and a half-written
dataset copied afresh to the replicas and the AOF (node/server/handler_faults.py).

DEBUG ASSERT stands for the bug: Redis crashes there, the node answers the error.
"""

from __future__ import annotations

import socket

import pytest
import redis
from nodes import start_node
from replication_wait import caught_up, linked, until
from resp import RawClient, encode_command

INTERNAL = b"-ERR internal error: AssertionError, see the server log\r\n"


def test_the_failing_request_gets_an_error_and_the_pipeline_after_it_runs(node):
    with RawClient(node.port) as c:
        c.send_raw(b"SET before 1\r\nDEBUG ASSERT\r\nINCR before\r\nGET before\r\n")
        assert [c.read_reply() for _ in range(4)] == [
            b"+OK\r\n", INTERNAL, b":2\r\n", b"$1\r\n2\r\n"]
        assert c.call("PING") == b"+PONG\r\n"


def test_a_failing_command_inside_exec_fails_alone(node):
    with RawClient(node.port) as c:
        assert c.call("MULTI") == b"+OK\r\n"
        c.call("SET", "tx", "1")
        c.call("DEBUG", "ASSERT")
        c.call("INCR", "tx")
        assert c.call("EXEC") == b"*3\r\n+OK\r\n" + INTERNAL + b":2\r\n"


def test_failures_count_as_error_replies_of_the_command(node):
    r = redis.Redis(port=node.port)
    r.config_resetstat()
    for _ in range(2):
        with pytest.raises(redis.ResponseError, match="^internal error: AssertionError"):
            r.execute_command("DEBUG", "ASSERT")
    assert r.info("errorstats")["errorstat_ERR"]["count"] == 2
    assert r.info("stats")["total_error_replies"] == 2
    assert r.info("commandstats")["cmdstat_debug"]["failed_calls"] == 2


def test_the_traceback_is_logged_once_per_place_it_was_raised_from():
    proc = start_node()
    try:
        with RawClient(proc.port) as c:
            assert c.call("DEBUG", "ASSERT") == INTERNAL
            assert c.call("DEBUG", "ASSERT") == INTERNAL
            assert c.call("DEBUG", "LOG", "after") == b"+OK\r\n"
        until(lambda: "DEBUG LOG: after" in proc.log, "the log line after the failures")
        log = proc.log
        assert log.count("Internal error in 'debug'") == 1
        assert log.count("Traceback (most recent call last)") == 1
        assert "AssertionError: DEBUG ASSERT" in log
    finally:
        proc.stop()


def test_a_half_written_dataset_is_copied_in_full_to_the_replica():
    master = start_node()
    replica = start_node("--replicaof", "127.0.0.1", str(master.port))
    try:
        m, rep = redis.Redis(port=master.port), redis.Redis(port=replica.port)
        until(lambda: linked(rep), "the replica linked")
        m.set("k", "v")
        until(lambda: caught_up(m, rep), "the replica caught up")
        full_syncs = m.info("stats")["sync_full"]
        replid = m.info("replication")["master_replid"]
        with pytest.raises(redis.ResponseError, match="^internal error: AssertionError"):
            m.execute_command("DEBUG", "ASSERT-AFTER-WRITE", "half")
        assert m.info("replication")["master_replid"] != replid
        until(lambda: rep.get("half") == b"written", "the half-written key on the replica")
        assert m.info("stats")["sync_full"] == full_syncs + 1
        assert rep.get("k") == b"v"
    finally:
        replica.stop()
        master.stop()


def test_a_half_written_dataset_is_in_the_rewritten_aof():
    node = start_node("--appendonly", "yes")
    try:
        r = redis.Redis(port=node.port)
        rewrites = r.info("persistence")["aof_rewrites"]
        with pytest.raises(redis.ResponseError, match="^internal error: AssertionError"):
            r.execute_command("DEBUG", "ASSERT-AFTER-WRITE", "half")
        until(lambda: r.info("persistence")["aof_rewrites"] == rewrites + 1
              and r.info("persistence")["aof_rewrite_in_progress"] == 0, "the AOF rewritten")
        node.stop(keep_dir=True)
        node = start_node("--appendonly", "yes", "--dir", node.workdir)
        assert redis.Redis(port=node.port).get("half") == b"written"
    finally:
        node.stop()


class FakeMaster:
    """A master that gives a replica a snapshot, then streams what the test sends: the
    replica's PSYNC requests are recorded (a real master never streams a failing write)."""

    REPLID = b"f" * 40

    def __init__(self, snapshot: bytes) -> None:
        self.snapshot = snapshot
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.port = self.listener.getsockname()[1]

    def accept_sync(self) -> tuple[socket.socket, list[bytes]]:
        """Serve one replica connection up to its full sync; its PSYNC arguments."""
        conn, _ = self.listener.accept()
        conn.settimeout(30)
        reader = conn.makefile("rb")
        while True:
            argv = read_command(reader)
            if argv[0].upper() == b"PSYNC":
                conn.sendall(b"+FULLRESYNC %s 0\r\n$%d\r\n%s" % (
                    self.REPLID, len(self.snapshot), self.snapshot))
                return conn, argv[1:]
            conn.sendall(b"+PONG\r\n" if argv[0].upper() == b"PING" else b"+OK\r\n")


def read_command(reader) -> list[bytes]:
    count = int(reader.readline()[1:])
    argv = []
    for _ in range(count):
        size = int(reader.readline()[1:])
        argv.append(reader.read(size + 2)[:-2])
    return argv


def snapshot_of(port: int) -> bytes:
    with RawClient(port) as c:
        c.send_raw(b"SYNC\r\n")
        reader = c.sock.makefile("rb")
        size = int(reader.readline()[1:])
        return reader.read(size)


def test_a_replica_that_failed_applying_its_masters_stream_resyncs_fully():
    replica = start_node()
    try:
        master = FakeMaster(snapshot_of(replica.port))
        r = redis.Redis(port=replica.port)
        r.replicaof("127.0.0.1", master.port)
        first, _ = master.accept_sync()
        until(lambda: linked(r), "the replica linked")
        first.sendall(encode_command("DEBUG", "ASSERT-AFTER-WRITE", "half"))
        second, psync = master.accept_sync()  # the replica closed the link and came back
        assert psync[0] != FakeMaster.REPLID  # a new history: it cannot continue, only resync
        until(lambda: linked(r) and r.dbsize() == 0, "the master's dataset again")
        first.close()
        second.close()
    finally:
        replica.stop()
