"""The LFU access counter (evict.c): a logarithmic 8-bit counter that decays with time.

Under an LFU maxmemory policy a key's clock (``Database.clocks``) holds, as in Redis's
24-bit ``lru`` field, the minute of the last decrement in the high 16 bits and the counter
in the low 8 bits. A counter grows with probability 1/((counter-5)*lfu-log-factor+1), so
it tells hot keys from cold ones without counting every access, and loses one unit per
lfu-decay-time minutes of idleness so that keys hot long ago can still be evicted.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .database import Database

LFU_INIT_VAL = 5
LRU_CLOCK_MAX = 2**24 - 1
COUNTER_MAX = 255
MINUTES_MASK = 65535


def is_lfu_policy(policy: str) -> bool:
    return policy.endswith("-lfu")


def minutes(now: float) -> int:
    """LFUGetTimeInMinutes: the low 16 bits of the Unix time in minutes."""
    return (int(now) // 60) & MINUTES_MASK


class LfuClock:
    """The LFU parameters and the current minute, refreshed by the server cron."""

    __slots__ = ("log_factor", "decay_time", "now_minutes")

    def __init__(self, log_factor: int, decay_time: int, now: float) -> None:
        self.log_factor = log_factor
        self.decay_time = decay_time
        self.now_minutes = minutes(now)

    def tick(self, now: float) -> int:
        """Advance the minute; returns the clock a new key starts with (counter 5)."""
        self.now_minutes = minutes(now)
        return (self.now_minutes << 8) | LFU_INIT_VAL

    def elapsed(self, last_minutes: int) -> int:
        """LFUTimeElapsed: minutes since ``last_minutes``, wrapping once at 16 bits."""
        now = self.now_minutes
        if now >= last_minutes:
            return now - last_minutes
        return MINUTES_MASK - last_minutes + now

    def decayed(self, clock: int) -> int:
        """LFUDecrAndReturn: the counter after the decay owed since its last access."""
        counter = clock & 255
        if not self.decay_time:
            return counter
        periods = self.elapsed(clock >> 8) // self.decay_time
        return max(counter - periods, 0)

    def incremented(self, counter: int) -> int:
        """LFULogIncr: one access, counted with a probability falling as the counter grows."""
        if counter == COUNTER_MAX:
            return counter
        base = max(counter - LFU_INIT_VAL, 0)
        if random.random() < 1.0 / (base * self.log_factor + 1):
            return counter + 1
        return counter

    def touched(self, clock: int) -> int:
        """updateLFU: the clock after this access (decay, count it, stamp the minute)."""
        return (self.now_minutes << 8) | self.incremented(self.decayed(clock))


def set_access_clock(db: Database, key: bytes, idle: int, freq: int) -> None:
    """objectSetLRUOrLFU: LFU keeps (minutes << 8 | counter), LRU an absolute seconds clock."""
    lfu = db.stats.lfu
    if lfu is not None:
        if freq >= 0:
            db.set_clock(key, lfu.now_minutes << 8 | freq)
    elif idle >= 0:
        clock = db.stats.lru_clock - idle
        if clock < 0:
            clock += LRU_CLOCK_MAX
        db.set_clock(key, clock)
