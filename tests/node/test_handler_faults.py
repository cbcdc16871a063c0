"""A command handler that raises an unexpected exception (a bug): one error reply, the
connection and the rest of the pipeline kept, the traceback logged once, and a half-written
dataset copied afresh to the replicas and the AOF (node/server/handler_faults.py).

DEBUG ASSERT stands for the bug: Redis crashes there, the node answers the error.
"""

from __future__ import annotations

import pytest
import redis
from nodes import start_node
from replication_wait import caught_up, linked, until
from resp import RawClient

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
