"""Zero-loss mode (min-replicas-ack): an acknowledgement counts only for what a replica
really holds, across reconnects, partial resyncs and failovers.

Each test ends by freezing (SIGSTOP) every replica and writing: a frozen replica can
acknowledge nothing, so that write must be answered -NOACK. A master that counted an
acknowledgement early (a replica's offset from another stream, from another base, or its
own bytes counted as its master's) answers it as a success instead.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
from nodes import ServerProcess, start_node

ZERO_LOSS = ("--min-replicas-ack", "1", "--min-replicas-ack-timeout", "1500")


def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def linked(replica: redis.Redis) -> bool:
    return replica.info("replication").get("master_link_status") == "up"


def caught_up(master: redis.Redis, replica: redis.Redis) -> bool:
    return (linked(replica) and master.info("replication")["master_repl_offset"]
            == replica.info("replication")["master_repl_offset"])


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
            assert acks_within_stream(r_new), (r_new.info("replication")["slave0"], r_new.info("replication")["master_repl_offset"], r_old.info("replication")["master_repl_offset"])
            with frozen(old):
                with pytest.raises(redis.ResponseError, match="^NOACK"):
                    r_new.sadd("s", "while-frozen")
