"""One logical database: key -> value, key -> expiry (ms since epoch), with Redis's expiry.

Values are plain Python objects chosen per type (bytes/bytearray for strings; the other
type modules bring theirs); ``TYPE_NAMES`` maps a value's class to its Redis type name.
Expiry is lazy (a read of an expired key deletes it first) plus the active cycle in
``expire.py``. Every write path goes through ``set``/``delete``/``modified`` so WATCH,
the dirty counter and, later, cluster slot indexes and replication hook in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from .errors import WRONGTYPE, CommandError
from .lfu import LfuClock
from .sampling import KeySample

TYPE_NAMES: dict[type, str] = {bytes: "string", bytearray: "string"}
STRING_TYPES = (bytes, bytearray)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class KeyspaceStats:
    """Counters shared by all databases of a server (INFO stats / persistence).

    ``lru_clock`` is the access clock a new key starts with: LRU seconds, or under an
    LFU policy (``lfu`` set) the current minute and the initial counter, as Redis's
    createObject stamps ``lru``. A read then stores the LRU clock, or counts an LFU access.
    """

    __slots__ = ("hits", "misses", "expired", "expired_stale_perc", "dirty", "lru_clock",
                 "no_touch", "lfu", "on_expired", "on_modified")

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self.expired_stale_perc = 0.0
        self.dirty = 0
        self.lru_clock = 0
        self.no_touch = False
        self.lfu: LfuClock | None = None
        self.on_expired: list[Callable[[Database, bytes], None]] = []
        self.on_modified: list[Callable[[Database, bytes], None]] = []


class Database:
    __slots__ = ("id", "data", "expires", "sample", "volatile", "stats", "avg_ttl")

    def __init__(self, db_id: int, stats: KeyspaceStats) -> None:
        self.id = db_id
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, int] = {}
        self.sample = KeySample()
        self.volatile = KeySample()
        self.stats = stats
        self.avg_ttl = 0

    def __len__(self) -> int:
        return len(self.data)

    # --- reads ---

    def _expired(self, key: bytes) -> bool:
        when = self.expires.get(key)
        if when is None or when > now_ms():
            return False
        self._expire(key)
        return True

    def _expire(self, key: bytes) -> None:
        self.stats.expired += 1
        self._remove(key)
        for hook in self.stats.on_expired:
            hook(self, key)
        self._signal(key)

    def lookup_read(self, key: bytes) -> Any:
        """The value for a read command: counts hits/misses and touches the access clock."""
        value = self.data.get(key)
        if value is None or (self.expires and key in self.expires and self._expired(key)):
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        self._touch(key)
        return value

    def lookup_write(self, key: bytes) -> Any:
        """The value for a write command: expires it first; no hit/miss accounting."""
        value = self.data.get(key)
        if value is None or (self.expires and key in self.expires and self._expired(key)):
            return None
        self._touch(key)
        return value

    def _touch(self, key: bytes) -> None:
        """Record an access of a live key: its LRU clock, or its LFU counter."""
        stats = self.stats
        if stats.no_touch:
            return
        if stats.lfu is None:
            sample = self.sample
            sample.clock[sample.where[key]] = stats.lru_clock
        else:
            stats.lfu.touch(self.sample, key)

    def peek(self, key: bytes) -> Any:
        """The value if live, with no statistics and no access-clock update (OBJECT, TYPE ...)."""
        value = self.data.get(key)
        if value is None or (self.expires and key in self.expires and self._expired(key)):
            return None
        return value

    def read_typed(self, key: bytes, kind: type | tuple[type, ...]) -> Any:
        value = self.lookup_read(key)
        if value is not None and not isinstance(value, kind):
            raise CommandError(WRONGTYPE)
        return value

    def write_typed(self, key: bytes, kind: type | tuple[type, ...]) -> Any:
        value = self.lookup_write(key)
        if value is not None and not isinstance(value, kind):
            raise CommandError(WRONGTYPE)
        return value

    def exists(self, key: bytes) -> bool:
        return self.peek(key) is not None

    def get_expire(self, key: bytes) -> int:
        """Expiry in ms since epoch, or -1 when the key has none."""
        return self.expires.get(key, -1)

    def random_key(self) -> bytes | None:
        """RANDOMKEY: a random live key, deleting expired ones met on the way."""
        for _ in range(100):
            key = self.sample.random()
            if key is None:
                return None
            if not self._expired(key):
                return key
        return self.sample.random()

    def live_keys(self) -> Iterator[bytes]:
        """Keys not yet expired, without deleting anything (safe while iterating)."""
        if not self.expires:
            return iter(list(self.data))
        now = now_ms()
        expires = self.expires
        return (k for k in list(self.data) if expires.get(k, now + 1) > now)

    # --- writes ---

    def set(self, key: bytes, value: Any, keep_ttl: bool = False) -> None:
        """Store a value (overwriting any type); drops the TTL unless ``keep_ttl``.

        A replaced value's LRU clock restarts now; its LFU counter carries over (dbSetValue).
        """
        data = self.data
        if key not in data:
            self.sample.add(key, self.stats.lru_clock)
        else:
            if self.stats.lfu is None:
                sample = self.sample
                sample.clock[sample.where[key]] = self.stats.lru_clock
            if not keep_ttl and key in self.expires:
                del self.expires[key]
                self.volatile.discard(key)
        data[key] = value
        self._signal(key)

    def add(self, key: bytes, value: Any) -> None:
        """Store a value under a key known to be absent (after a lookup returned None)."""
        self.data[key] = value
        self.sample.add(key, self.stats.lru_clock)
        self._signal(key)

    def delete(self, key: bytes) -> bool:
        if key not in self.data or (self.expires and key in self.expires and self._expired(key)):
            return False
        self._remove(key)
        self._signal(key)
        return True

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        self.volatile.add(key)

    def persist(self, key: bytes) -> bool:
        if self.expires.pop(key, None) is None:
            return False
        self.volatile.discard(key)
        self._signal(key)
        return True

    def modified(self, key: bytes) -> None:
        """Signal an in-place change of a key's value (APPEND, LPUSH on an existing list ...)."""
        self._signal(key)

    def flush(self) -> int:
        removed = len(self.data)
        keys = list(self.data) if self.stats.on_modified else ()
        self.data = {}
        self.expires = {}
        self.sample = KeySample()
        self.volatile = KeySample()
        self.stats.dirty += removed
        for key in keys:
            for hook in self.stats.on_modified:
                hook(self, key)
        return removed

    def swap_with(self, other: Database) -> None:
        self.data, other.data = other.data, self.data
        self.expires, other.expires = other.expires, self.expires
        self.sample, other.sample = other.sample, self.sample
        self.volatile, other.volatile = other.volatile, self.volatile
        self.avg_ttl, other.avg_ttl = other.avg_ttl, self.avg_ttl

    def _remove(self, key: bytes) -> None:
        del self.data[key]
        self.sample.discard(key)
        if self.expires.pop(key, None) is not None:
            self.volatile.discard(key)

    def _signal(self, key: bytes) -> None:
        stats = self.stats
        stats.dirty += 1
        if stats.on_modified:
            for hook in stats.on_modified:
                hook(self, key)


def type_name(value: Any) -> str:
    return TYPE_NAMES[type(value)]
