"""Expiry as Redis does it: lazy on access, plus the active cycle for keys nobody reads."""

from __future__ import annotations

import time


def _wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_active_cycle_removes_expired_keys_nobody_reads(r):
    with r.pipeline(transaction=False) as p:
        for i in range(500):
            p.set(f"volatile:{i}", "v", px=100)
        for i in range(100):
            p.set(f"stable:{i}", "v")
        p.execute()
    # DBSIZE does not expire anything itself: only the active cycle can bring it down.
    assert _wait_for(lambda: r.dbsize() == 100)
    assert r.info("stats")["expired_keys"] >= 500


def test_lazy_expiry_removes_a_key_on_access_when_the_cycle_is_off(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("k", "v", px=50)
        time.sleep(0.3)
        assert r.dbsize() == 1
        assert r.get("k") is None
        assert r.dbsize() == 0
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_expired_key_counts_as_a_miss(r):
    r.set("k", "v", px=30)
    before = r.info("stats")["keyspace_misses"]
    time.sleep(0.1)
    assert r.get("k") is None
    assert r.info("stats")["keyspace_misses"] == before + 1
