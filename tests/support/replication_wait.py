"""Waiting on replication in tests: a condition polled until true, a replica's link up, a
replica at its master's offset."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

SYNC_TIMEOUT = 30.0  # generous: a wait only reaches it when the test is failing anyway


def until(check: Callable[[], bool], what: str = "condition",
          timeout: float = SYNC_TIMEOUT) -> None:
    """Poll `check` every 50 ms until it holds; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.05)


def linked(replica: redis.Redis) -> bool:
    return replica.info("replication").get("master_link_status") == "up"


def caught_up(master: redis.Redis, replica: redis.Redis) -> bool:
    return (linked(replica) and master.info("replication")["master_repl_offset"]
            == replica.info("replication")["master_repl_offset"])
