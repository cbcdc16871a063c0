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
        elif kind == "expiring":  # a one-byte value is the interpreter's shared object
            pipe.set(f"key:{i:010d}", "v", px=10**9)
        elif kind == "counter":  # below 10000 an INCR result is a shared object
            pipe.incrby(f"key:{i:010d}", 1 + i % 12_000)
        elif kind == "hash":
            pipe.hset(f"user:{i}", mapping={"name": f"n{i}", "age": "42", "email": "a@b.example"})
        elif kind == "big-hash":  # hashtable-encoded: two hashes of 100k fields
            pipe.hset(f"big:{i // 100_000}", f"field:{i:010d}", "xxx")
        elif kind == "zset":
            pipe.zadd(f"board:{i // 50_000}", {f"member-{i}": i * 1.5})
        elif kind == "small-set":
            pipe.sadd(f"tags:{i}", *(f"tag{j}" for j in range(i % 7, i % 7 + 5)))
        elif kind == "stream":
            pipe.xadd(f"events:{i // 50_000}", {"kind": f"click-{i % 1000}"})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


@pytest.mark.parametrize("kind", ["string", "expiring", "counter", "hash", "big-hash", "zset",
                                  "small-set", "stream"])
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


def footprint(r: redis.Redis) -> list[int]:
    """The running dataset cost and a fresh recount of it (DEBUG FOOTPRINT)."""
    return r.execute_command("DEBUG", "FOOTPRINT")


def test_a_replayed_aof_costs_every_key_exactly():
    """After a replay every key waits to be costed: the settle walks them all in order."""
    node = start_node("--appendonly", "yes")
    again = None
    try:
        r = redis.Redis(port=node.port, socket_timeout=30)
        pipe = r.pipeline(transaction=False)
        for i in range(3000):
            pipe.hset(f"h:{i}", mapping={"name": f"n{i}", "age": i % 90})
            pipe.rpush(f"l:{i % 50}", i)
            pipe.sadd(f"s:{i % 70}", i, f"m{i}")
            pipe.set(f"k:{i}", "v" * (i % 300))
        pipe.delete(*[f"h:{i}" for i in range(0, 3000, 3)])
        pipe.execute()
        node.stop(keep_dir=True)
        again = start_node("--appendonly", "yes", "--dir", node.workdir)
        tracked, recounted = footprint(redis.Redis(port=again.port, socket_timeout=30))
        assert tracked == recounted
        assert tracked > 3000 * 100
    finally:
        (again or node).stop()


def test_changing_most_keys_between_two_reads_costs_them_exactly(r):
    """More than a quarter of the keys changed (some then deleted) since the last read of
    the sum: the settle re-costs every key rather than looking each changed one up."""
    pipe = r.pipeline(transaction=False)
    for i in range(400):
        pipe.rpush(f"l:{i}", *range(i % 20 + 1))
    pipe.execute()
    assert r.info("memory")["used_memory_dataset"] > 0  # settled here
    for i in range(150):  # 37.5% of the keys
        pipe.rpush(f"l:{i}", *range(i % 7 + 1))
        pipe.lpop(f"l:{i}", i % 5)
    pipe.delete(*[f"l:{i}" for i in range(0, 150, 4)])
    pipe.execute()
    tracked, recounted = footprint(r)
    assert tracked == recounted
