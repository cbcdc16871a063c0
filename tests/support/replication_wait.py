"""Waiting on replication in tests: a condition polled until true, a replica's link up, a
replica at its master's offset."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

SYNC_TIMEOUT = 15.0


def until(check: Callable[[], bool], timeout: float = SYNC_TIMEOUT) -> None:
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
