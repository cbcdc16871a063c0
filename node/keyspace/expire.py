"""The active expiry cycle (expire.c activeExpireCycle, slow cycle), run from the cron.

Each database with volatile keys is sampled in rounds of keys-per-loop keys; a round that
found more than the acceptable share of stale keys is repeated, within a time budget of
25% of a cron period (more with active-expire-effort).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .database import now_ms

if TYPE_CHECKING:
    from .context import Server

KEYS_PER_LOOP = 20
ACCEPTABLE_STALE = 10
SLOW_TIME_PERC = 25


def active_expire_cycle(server: Server) -> None:
    ks = server.keyspace_stats
    if not any(db.expires for db in server.dbs):  # nothing to sample: the average decays
        ks.expired_stale_perc *= 0.95
        return
    effort = server.config["active-expire-effort"] - 1
    per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP // 4 * effort
    acceptable = ACCEPTABLE_STALE - effort
    hz = max(server.config["hz"], 1)
    budget_ns = (SLOW_TIME_PERC + 2 * effort) * 1_000_000_000 // hz // 100
    start = time.perf_counter_ns()
    sampled_total = expired_total = 0
    for db in server.dbs:
        while db.expires:
            now = now_ms()
            expires = db.expires
            sampled = expired = 0
            ttl_sum = ttl_n = 0
            for key in expires.sample(per_loop):
                when = expires.get(key)
                if when is None:
                    continue
                sampled += 1
                if when <= now:
                    db._expire(key)
                    expired += 1
                else:
                    ttl_sum += when - now
                    ttl_n += 1
            if ttl_n:
                avg = ttl_sum // ttl_n
                db.avg_ttl = avg if not db.avg_ttl else (db.avg_ttl // 50) * 49 + avg // 50
            sampled_total += sampled
            expired_total += expired
            if time.perf_counter_ns() - start > budget_ns:
                server.stat_expired_time_cap_reached_count += 1
                break
            if not sampled or expired * 100 // sampled <= acceptable:
                break
    server.stat_expire_cycle_time_used += time.perf_counter_ns() - start
    current = expired_total / sampled_total if sampled_total else 0.0
    ks.expired_stale_perc = current * 0.05 + ks.expired_stale_perc * 0.95
