"""The scripting patterns users copy, end to end through redis-py's RedisCluster on
`redslot up`: redis-py's Lock, a fixed-window and a sliding-window rate limiter and a token
bucket under 20 concurrent clients (counts checked exactly), and a function library loaded
on every master and called by key."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from local_cluster import LocalCluster

pytestmark = pytest.mark.timeout(300)

FIXED_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return 0 end
return 1
"""

SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 1
"""

TOKEN_BUCKET = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or ARGV[1])
if tokens < 1 then return 0 end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1)
return 1
"""

LIBRARY = ("#!lua name=counters\n"
           "redis.register_function('bump', function(keys, args)\n"
           "  return redis.call('INCRBY', keys[1], args[1]) end)\n")


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    made = LocalCluster(3, 0)
    try:
        made.wait_ready()
        yield made
    finally:
        made.close()


def run_clients(count: int, work: object) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_redis_py_lock_serialises_20_clients(cluster: LocalCluster) -> None:
    client = cluster.client()
    client.delete("{lock}counter")

    def work(i: int) -> None:
        r = cluster.client()
        for _ in range(5):
            with r.lock("{lock}name", timeout=10, blocking_timeout=60, sleep=0.005):
                value = int(r.get("{lock}counter") or 0)
                r.set("{lock}counter", value + 1)

    assert run_clients(20, work) == []
    assert client.get("{lock}counter") == b"100"


@pytest.mark.parametrize("pattern", ["fixed", "sliding", "bucket"])
def test_rate_limiters_admit_exactly_the_limit_under_20_clients(cluster: LocalCluster,
                                                                pattern: str) -> None:
    key = f"limit:{pattern}"
    cluster.client().delete(key)
    limit = 60
    admitted: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        r = cluster.client()
        for j in range(5):
            if pattern == "fixed":
                ok = r.eval(FIXED_WINDOW, 1, key, 60000, limit)
            elif pattern == "sliding":
                ok = r.eval(SLIDING_WINDOW, 1, key, 1000, 60000, limit, f"{i}-{j}")
            else:
                ok = r.eval(TOKEN_BUCKET, 1, key, limit)
            with lock:
                admitted.append(int(ok))

    assert run_clients(20, work) == []
    assert len(admitted) == 100 and sum(admitted) == limit


def test_a_library_loaded_on_every_master_serves_keys_of_every_shard(
        cluster: LocalCluster) -> None:
    client = cluster.client()
    client.function_load(LIBRARY, replace=True)
    for i in range(60):
        assert client.fcall("bump", 1, f"bump:{i}", 2) == 2
    assert client.fcall("bump", 1, "bump:0", 3) == 5
