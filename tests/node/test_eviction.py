"""maxmemory: eviction by every policy, -OOM for commands that may add data, INFO figures."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from differential import assert_same
from nodes import ServerProcess

VALUE = b"x" * 100
ROOM = 1_200_000  # bytes of headroom above the empty node: about 4,000 such keys


@pytest.fixture
def mem(node: ServerProcess) -> Iterator[redis.Redis]:
    """A client on an emptied node; maxmemory back to 0 afterwards."""
    client = redis.Redis(port=node.port, socket_timeout=10)
    client.flushall()
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_resetstat()
    yield client
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    client.close()


def limit(r: redis.Redis, policy: str, room: int = ROOM) -> int:
    r.config_set("maxmemory-policy", policy)
    maxmemory = r.info("memory")["used_memory"] + room
    r.config_set("maxmemory", maxmemory)
    return maxmemory


def fill(r: redis.Redis, prefix: str, count: int, ttl: int | None = None) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"{prefix}:{i}", VALUE, ex=ttl)
    pipe.execute(raise_on_error=False)


def settled(r: redis.Redis) -> tuple[dict, int]:
    """INFO and DBSIZE in one transaction: no eviction can run between the two."""
    pipe = r.pipeline(transaction=True)
    pipe.info()
    pipe.dbsize()
    info, size = pipe.execute()
    return info, size


def test_oom_replies_match_redis_server_when_nothing_can_be_evicted(node, reference):
    script = [
        (b"SET", b"before", b"1"),
        (b"CONFIG", b"SET", b"maxmemory", b"1"),
        (b"SET", b"a", b"1"),
        (b"GET", b"before"),
        (b"INCR", b"before"),
        (b"LPUSH", b"l", b"x"),
        (b"EXISTS", b"before"),
        (b"MULTI",),
        (b"GET", b"before"),
        (b"EXEC",),
        (b"DEL", b"before"),
        (b"CONFIG", b"SET", b"maxmemory", b"0"),
        (b"SET", b"a", b"1"),
    ]
    assert_same(node, reference, script)


def test_exec_of_a_transaction_with_a_denyoom_command_is_aborted(mem):
    mem.set("k", "v")
    raw = mem.connection_pool.get_connection()
    try:
        raw.send_command("MULTI")
        assert raw.read_response() == b"OK"
        raw.send_command("SET", "k", "w")
        assert raw.read_response() == b"QUEUED"
        mem.config_set("maxmemory", 1)
        raw.send_command("EXEC")
        with pytest.raises(redis.ResponseError) as err:
            raw.read_response()
        assert str(err.value) == ("Transaction discarded because of: OOM command not allowed "
                                  "when used memory > 'maxmemory'.")
    finally:
        mem.connection_pool.release(raw)
    mem.config_set("maxmemory", 0)
    assert mem.get("k") == b"v"


def test_noeviction_refuses_writes_over_the_limit_and_keeps_every_key(mem):
    limit(mem, "noeviction")
    fill(mem, "k", 8000)
    kept = mem.dbsize()
    assert 1000 < kept < 8000
    with pytest.raises(redis.ResponseError, match="^command not allowed when used memory"):
        mem.set("one-more", VALUE)
    assert mem.get("k:0") == VALUE  # reads still served
    assert mem.info("stats")["evicted_keys"] == 0
    assert mem.delete("k:0") == 1  # DEL is not denyoom: it frees memory
    mem.config_set("maxmemory", 0)
    assert mem.set("one-more", VALUE)


def test_a_value_grown_in_place_past_the_limit_is_caught_by_the_next_command(mem):
    """One list grown by pipelined pushes (no new key, so only the in-place re-costing can
    see it): the push that crossed the limit succeeds, every push after it gets -OOM."""
    maxmemory = limit(mem, "noeviction")
    pipe = mem.pipeline(transaction=False)
    for _ in range(4000):
        pipe.rpush("grown", VALUE * 10)
    replies = pipe.execute(raise_on_error=False)
    refused = [i for i, reply in enumerate(replies) if isinstance(reply, redis.ResponseError)]
    assert 500 < len(replies) - len(refused) < 4000
    assert refused == list(range(refused[0], 4000))  # none accepted once over the limit
    assert mem.llen("grown") == refused[0]
    assert mem.info("memory")["used_memory"] > maxmemory


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_allkeys_policies_evict_to_stay_under_maxmemory(mem, policy):
    maxmemory = limit(mem, policy)
    fill(mem, "k", 8000)
    info, size = settled(mem)
    assert info["evicted_keys"] > 1000
    assert info["evicted_keys"] + size == 8000
    assert info["used_memory"] <= maxmemory + 50_000
    assert mem.set("after", VALUE)
    assert mem.get("after") == VALUE


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random",
                                    "volatile-ttl"])
def test_volatile_policies_evict_only_keys_with_a_ttl(mem, policy):
    fill(mem, "persistent", 500)
    limit(mem, policy)
    fill(mem, "volatile", 8000, ttl=3600)
    assert mem.info()["evicted_keys"] > 1000
    assert all(mem.exists(f"persistent:{i}") for i in range(500))


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-ttl"])
def test_volatile_policies_refuse_writes_when_no_key_has_a_ttl(mem, policy):
    limit(mem, policy)
    fill(mem, "persistent", 8000)
    with pytest.raises(redis.ResponseError, match="^command not allowed when used memory"):
        mem.set("one-more", VALUE)
    assert mem.info()["evicted_keys"] == 0


def test_volatile_ttl_evicts_the_nearest_expiries_first(mem):
    limit(mem, "volatile-ttl")
    fill(mem, "late", 2000, ttl=100_000)
    fill(mem, "soon", 2000, ttl=1_000)
    fill(mem, "more", 3000, ttl=50_000)
    late = sum(mem.exists(f"late:{i}") for i in range(2000))
    soon = sum(mem.exists(f"soon:{i}") for i in range(2000))
    assert late > soon


def test_allkeys_lru_keeps_recently_read_keys(mem):
    maxmemory = limit(mem, "allkeys-lru")
    fill(mem, "old", 3000)
    used = mem.info("memory")["used_memory"]
    per_key = (used - (maxmemory - ROOM)) / 3000  # the C index or a dict: 240-280 bytes
    time.sleep(2.1)  # the LRU clock counts seconds
    pipe = mem.pipeline(transaction=False)
    for i in range(1500):
        pipe.get(f"old:{i}")
    pipe.execute()
    fill(mem, "new", int((maxmemory - used) / per_key) + 750)  # evicts about half the unread
    read = sum(mem.exists(f"old:{i}") for i in range(1500))
    unread = sum(mem.exists(f"old:{i}") for i in range(1500, 3000))
    assert mem.info()["evicted_keys"] > 300
    assert read > 0.85 * 1500
    assert unread < 0.75 * read


def test_allkeys_lfu_keeps_frequently_read_keys(mem):
    limit(mem, "allkeys-lfu")
    fill(mem, "k", 3000)
    pipe = mem.pipeline(transaction=False)
    for _ in range(20):
        for i in range(300):
            pipe.get(f"k:{i}")
    pipe.execute()
    assert mem.object("freq", "k:0") > 5
    fill(mem, "new", 3000)
    hot = sum(mem.exists(f"k:{i}") for i in range(300))
    assert mem.info()["evicted_keys"] > 500
    assert hot > 0.9 * 300


def test_lowering_maxmemory_evicts_at_once(mem):
    fill(mem, "k", 4000)
    limit(mem, "allkeys-random", room=-300_000)
    assert mem.info()["evicted_keys"] > 0
    assert mem.dbsize() < 4000


def test_info_reports_policy_limit_and_eviction_time(mem):
    maxmemory = limit(mem, "allkeys-lru")
    fill(mem, "k", 8000)
    info = mem.info()
    assert info["maxmemory"] == maxmemory
    assert info["maxmemory_policy"] == "allkeys-lru"
    assert info["total_eviction_exceeded_time"] >= 0
    assert info["current_eviction_exceeded_time"] == 0


def test_config_resetstat_zeroes_the_time_over_the_limit(mem):
    limit(mem, "noeviction")
    fill(mem, "k", 8000)
    time.sleep(0.05)  # over the limit for a while
    mem.flushall()
    assert mem.info()["total_eviction_exceeded_time"] > 0
    mem.config_resetstat()
    assert mem.info()["total_eviction_exceeded_time"] == 0


def test_time_over_the_limit_ends_at_the_first_command_under_it(mem):
    """performEvictions runs before every command while maxmemory is set: a plain GET
    after the keys are deleted ends the over-the-limit period, as in Redis."""
    limit(mem, "noeviction")
    fill(mem, "k", 8000)
    assert mem.dbsize() < 8000  # the last SETs got -OOM: over the limit from then on
    mem.delete(*[f"k:{i}" for i in range(8000)])
    mem.get("k:0")
    time.sleep(1.2)
    info = mem.info()
    assert info["current_eviction_exceeded_time"] == 0
    assert info["total_eviction_exceeded_time"] < 1000
