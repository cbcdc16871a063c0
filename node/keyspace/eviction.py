"""maxmemory eviction (evict.c): free keys by policy until used_memory fits under maxmemory.

Run before every command while maxmemory is set (dispatch.py), as performEvictions is.
The LRU, LFU and TTL policies keep Redis's eviction pool: each round samples
``maxmemory-samples`` keys per database into a pool of the 16 best candidates seen so far
(ordered by idle time, 255 - LFU counter, or nearness of expiry) and evicts the best one
still present. The random policies pick a random key, rotating over the databases. A run is
bounded in time by ``maxmemory-eviction-tenacity``; when time is up with memory still over
the limit, eviction carries on between commands (evictionTimeProc) and the command runs.
FAIL (nothing left to evict, or noeviction) is what makes denyoom commands get -OOM.
"""

from __future__ import annotations

import asyncio
from bisect import insort
from time import perf_counter
from typing import TYPE_CHECKING

from .lfu import LRU_CLOCK_MAX
from .memusage import refresh, used_memory
from .notify import NOTIFY_EVICTED

if TYPE_CHECKING:
    from .context import Server
    from .database import Database

EVICT_OK = 0
EVICT_RUNNING = 1
EVICT_FAIL = 2

POOL_SIZE = 16
CHECK_EVERY = 16  # keys evicted between time checks
MAX_IDLE = (1 << 64) - 1


def time_limit(tenacity: int) -> float:
    """evictionTimeLimitUs, in seconds: linear to 500 us at 10, then +15% a step."""
    if tenacity <= 10:
        return 50e-6 * tenacity
    if tenacity < 100:
        return 500e-6 * 1.15 ** (tenacity - 10)
    return float("inf")


class Evictor:
    """The eviction state of a server: its pool, the database rotation, the timer."""

    __slots__ = ("server", "pool", "next_db", "timer", "exceeded_since", "exceeded_total")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.pool: list[tuple[int, bytes, int]] = []  # (idle, key, db id), best last
        self.next_db = 0
        self.timer: asyncio.Handle | None = None
        self.reset_stats()

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT: a period over the limit counts again from the next check."""
        self.exceeded_since = 0.0  # when used memory last went over maxmemory (0: it is not)
        self.exceeded_total = 0.0

    def perform(self) -> int:
        """performEvictions: EVICT_OK, EVICT_RUNNING (continues later) or EVICT_FAIL."""
        server = self.server
        maxmemory = server.maxmemory
        if not maxmemory or (server.replication.link is not None
                             and server.config["replica-ignore-maxmemory"]):
            return EVICT_OK
        if used_memory(server) <= maxmemory:
            self._exceeded(False)
            return EVICT_OK
        refresh(server)  # the tables as they are now, not as the last cron saw them
        if used_memory(server) <= maxmemory:
            self._exceeded(False)
            return EVICT_OK
        self._exceeded(True)
        policy = server.config["maxmemory-policy"]
        if policy == "noeviction":
            return EVICT_FAIL
        deadline = perf_counter() + time_limit(server.config["maxmemory-eviction-tenacity"])
        freed = 0
        while used_memory(server) > maxmemory:
            picked = self._pick(policy)
            if picked is None:
                return EVICT_FAIL
            db, key = picked
            db.delete(key)
            server.stat_evictedkeys += 1
            if server.propagation.active:
                server.propagation.add(db.id, [b"DEL", key])
            db.notify(NOTIFY_EVICTED, "evicted", key)
            freed += 1
            if freed % CHECK_EVERY == 0 and perf_counter() > deadline:
                if used_memory(server) > maxmemory:
                    self._start_timer()
                    return EVICT_RUNNING
                break
        self._exceeded(False)
        return EVICT_OK

    def _pick(self, policy: str) -> tuple[Database, bytes] | None:
        dbs = self.server.dbs
        all_keys = policy.startswith("allkeys")
        if policy.endswith("random"):
            for _ in range(len(dbs)):
                self.next_db = (self.next_db + 1) % len(dbs)
                db = dbs[self.next_db]
                key = db.random_key() if all_keys else db.expires.random()
                if key is not None and (all_keys or key in db.expires):
                    return db, key
            return None
        pool = self.pool
        while True:
            total = 0
            for db in dbs:
                population = len(db.index) if all_keys else len(db.expires)
                if population:
                    self._populate(db, all_keys, policy)
                    total += population
            if not total:
                return None
            while pool:
                _, key, db_id = pool.pop()
                db = dbs[db_id]
                if key in (db.index if all_keys else db.expires):
                    return db, key
            # every candidate was a ghost (deleted since it was sampled): sample again

    def _populate(self, db: Database, all_keys: bool, policy: str) -> None:
        """evictionPoolPopulate: sample keys, keep the POOL_SIZE best in ``pool``."""
        server = self.server
        count = server.config["maxmemory-samples"]
        sample = db.sample_keys(count) if all_keys else db.expires.sample(count)
        pool = self.pool
        stats = server.keyspace_stats
        lfu = stats.lfu
        for key in sample:
            if policy.endswith("ttl"):
                idle = MAX_IDLE - db.expires[key]
            else:
                clock = db.clock_of(key)
                if clock is None:
                    continue
                if lfu is not None:
                    idle = 255 - lfu.decayed(clock)
                else:
                    idle = _idle_seconds(stats.lru_clock, clock)
            if len(pool) >= POOL_SIZE and idle <= pool[0][0]:
                continue
            if any(k == key and d == db.id for _, k, d in pool):
                continue
            insort(pool, (idle, key, db.id))
            if len(pool) > POOL_SIZE:
                del pool[0]

    def _start_timer(self) -> None:
        if self.timer is None:
            self.timer = asyncio.get_event_loop().call_soon(self._timer_proc)

    def _timer_proc(self) -> None:
        """evictionTimeProc: keep evicting between commands until memory fits."""
        self.timer = None
        self.perform()
        self.server.propagation.flush()

    def _exceeded(self, over: bool) -> None:
        """current/total_eviction_exceeded_time: how long used memory stayed over the limit."""
        if over:
            if not self.exceeded_since:
                self.exceeded_since = perf_counter()
        elif self.exceeded_since:
            self.exceeded_total += perf_counter() - self.exceeded_since
            self.exceeded_since = 0.0

    def exceeded_ms(self) -> tuple[int, int]:
        """(current, total) eviction-exceeded times in ms, as INFO stats prints them."""
        current = perf_counter() - self.exceeded_since if self.exceeded_since else 0.0
        return int(current * 1000), int((self.exceeded_total + current) * 1000)


def _idle_seconds(now: int, clock: int) -> int:
    """estimateObjectIdleTime, in LRU clock units (seconds), wrapping at 24 bits."""
    if now >= clock:
        return now - clock
    return now + (LRU_CLOCK_MAX - clock)
