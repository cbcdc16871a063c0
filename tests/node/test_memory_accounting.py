"""used_memory follows the data: its growth tracks the process's RSS growth per type.

The dataset part of used_memory is estimated key by key (node/footprint.py); conftest.py
already checks after every test that the running total equals a fresh recount (DEBUG
FOOTPRINT). Here the estimate is held against the kernel's figure: loading a few hundred
thousand elements must grow used_memory by about what it grows the RSS. bench/footprint.py
reports the same ratios for more types at a million elements.
"""

from __future__ import annotations

import pytest
import redis
from nodes import start_node

ELEMENTS = 200_000


def load(r: redis.Redis, kind: str) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(ELEMENTS):
        if kind == "string":
            pipe.set(f"key:{i:010d}", "v" * 20)
        elif kind == "hash":
            pipe.hset(f"user:{i}", mapping={"name": f"n{i}", "age": "42", "email": "a@b.example"})
        elif kind == "zset":
            pipe.zadd(f"board:{i // 50_000}", {f"member-{i}": i * 1.5})
        elif kind == "stream":
            pipe.xadd(f"events:{i // 50_000}", {"kind": f"click-{i % 1000}"})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


@pytest.mark.parametrize("kind", ["string", "hash", "zset", "stream"])
def test_used_memory_grows_with_the_resident_set(kind):
    node = start_node()
    try:
        r = redis.Redis(port=node.port, socket_timeout=30)
        before = r.info("memory")
        load(r, kind)
        after = r.info("memory")
        used = after["used_memory"] - before["used_memory"]
        rss = after["used_memory_rss"] - before["used_memory_rss"]
        assert 0.8 < used / rss < 1.3, (used, rss)
    finally:
        node.stop()


def test_deleting_keys_gives_used_memory_back(r):
    before = r.info("memory")["used_memory_dataset"]
    pipe = r.pipeline(transaction=False)
    for i in range(5000):
        pipe.set(f"k:{i}", "x" * 200)
    pipe.execute()
    grown = r.info("memory")["used_memory_dataset"]
    assert grown - before > 5000 * 200
    r.flushall()
    assert r.info("memory")["used_memory_dataset"] == before
