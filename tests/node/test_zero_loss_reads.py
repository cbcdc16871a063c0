"""Zero-loss mode (min-replicas-ack): no reply shows a write the replicas do not have.

A master's reply to a read waits, like a write's, until the replicas acknowledged every
write it may show (the master's last write when it ran); unacknowledged within
min-replicas-ack-timeout it is -NOACK, not a value that a failover could take back.
Replies keep their order: a pipeline's wait together. The replica is frozen (SIGSTOP) to
keep writes unacknowledged.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from nodes import ServerProcess, start_node
from replication_wait import until

TIMEOUT_MS = 4000


@pytest.fixture
def pair() -> Iterator[tuple[redis.Redis, ServerProcess]]:
    master = start_node("--min-replicas-ack", "1", "--min-replicas-ack-timeout", str(TIMEOUT_MS))
    replica = start_node("--replicaof", "127.0.0.1", str(master.port))
    try:
        r = redis.Redis(port=replica.port)
        until(lambda: r.info("replication").get("master_link_status") == "up")
        yield redis.Redis(port=master.port), replica
    finally:
        replica.proc.send_signal(signal.SIGCONT)
        replica.stop()
        master.stop()


class Pending:
    """A call made from another thread: its outcome, once it returns."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.outcome: list[Any] = []

        def run() -> None:
            try:
                self.outcome.append(call())
            except redis.ResponseError as exc:
                self.outcome.append(exc)

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def result(self) -> Any:
        self.thread.join(TIMEOUT_MS / 1000 + 10)
        return self.outcome[0]


def connect(master: redis.Redis) -> redis.Redis:
    return redis.Redis(port=master.connection_pool.connection_kwargs["port"])


def test_a_read_of_an_unacknowledged_write_waits_for_the_replica(pair):
    master, replica = pair
    replica.proc.send_signal(signal.SIGSTOP)
    write = Pending(lambda: connect(master).set("k", "v"))
    until(lambda: master.info("keyspace").get("db0", {}).get("keys") == 1)  # applied
    read = Pending(lambda: connect(master).get("k"))
    time.sleep(0.5)
    assert read.outcome == [] and write.outcome == []  # neither answered while unacknowledged
    replica.proc.send_signal(signal.SIGCONT)
    assert write.result() is True
    assert read.result() == b"v"


def test_a_read_of_a_write_never_acknowledged_is_answered_noack(pair):
    master, replica = pair
    master.config_set("min-replicas-ack-timeout", 300)
    replica.proc.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(redis.ResponseError, match="^NOACK"):
            master.set("k", "v")
        with pytest.raises(redis.ResponseError, match="^NOACK"):
            master.get("k")
        with pytest.raises(redis.ResponseError, match="^NOACK"):
            master.get("another-key")  # any read: it may show any write
    finally:
        replica.proc.send_signal(signal.SIGCONT)
    until(lambda: _answers(master, "k") == b"v")  # once the replica has it


def _answers(master: redis.Redis, key: str) -> Any:
    try:
        return master.get(key)
    except redis.ResponseError:
        return None


def test_reads_answer_at_once_when_every_write_is_acknowledged(pair):
    master, replica = pair
    assert master.set("k", "v")
    replica.proc.send_signal(signal.SIGSTOP)
    start = time.monotonic()
    assert master.get("k") == b"v"
    assert master.ping()
    assert time.monotonic() - start < TIMEOUT_MS / 2000


def test_commands_that_show_no_data_answer_while_a_write_waits(pair):
    master, replica = pair
    master.config_set("min-replicas-ack-timeout", 200)
    replica.proc.send_signal(signal.SIGSTOP)
    with pytest.raises(redis.ResponseError, match="^NOACK"):
        master.set("k", "v")
    start = time.monotonic()
    assert master.ping()
    assert master.info("replication")["role"] == "master"
    assert time.monotonic() - start < 0.5


def test_the_replies_of_a_pipeline_wait_together_in_order(pair):
    master, replica = pair
    assert master.set("a", "1")
    replica.proc.send_signal(signal.SIGSTOP)

    def pipeline() -> list[Any]:
        pipe = connect(master).pipeline(transaction=False)
        pipe.get("a").set("b", "2").get("b").incr("a").get("a")
        return pipe.execute()

    replies = Pending(pipeline)
    time.sleep(0.5)
    assert replies.outcome == []
    replica.proc.send_signal(signal.SIGCONT)
    assert replies.result() == [b"1", True, b"2", 2, b"2"]


def test_a_pop_served_by_an_unacknowledged_push_waits(pair):
    master, replica = pair
    pop = Pending(lambda: connect(master).blpop(["list"], 10))
    until(lambda: master.info("clients")["blocked_clients"] == 1)
    replica.proc.send_signal(signal.SIGSTOP)
    push = Pending(lambda: connect(master).rpush("list", "x"))
    time.sleep(0.5)
    assert pop.outcome == [] and push.outcome == []
    replica.proc.send_signal(signal.SIGCONT)
    assert push.result() == 1
    assert pop.result() == (b"list", b"x")
