"""One logical database: key -> position, two per-key columns, key -> expiry (ms), as Redis.

Values are plain Python objects chosen per type (bytes or SdsString for strings; the other
type modules bring theirs; ``types.registry`` names them).
A key's position ``pos`` (the low bits of its code in ``index``, base/keyindex.py; the high bits
say where its TTL is, if it has one: ttls.py) indexes two columns: ``kv``, a list holding
the key at ``2 * pos`` (for random picks and SCAN) and its value at ``2 * pos + 1``, and
``meta``, an array of 64-bit words holding the key's access clock (LRU seconds or the LFU
counter, as Redis's ``robj.lru``: 24 bits) below its cost (footprint.py,
``size << CLOCK_BITS``; stats.py). A key thus costs no object of its own beyond its code's int in a
dict index, and none in the C index (a per-key record object cost 64 bytes more, and
three growing columns left more freed copies behind than two: measured).
One index lookup serves a read and its clock update, which matters because on large
keyspaces every lookup is a cache miss (measured: ~600 ns for a random key among 100k
on this hardware).
Expiry is lazy (a read of an expired key deletes it first) plus the active cycle in
``expire.py``. Every write path goes through ``set``/``delete``/``modified`` so WATCH
(transactions.py), the dirty counter and, later, cluster slot indexes and replication hook
in one place. Keyspace notifications: a created key reports "new" here (dbAdd), an expired
one "expired" and a read miss "keymiss"; each command reports its own events (``notify``).
A store command sets its destination as Redis's setKey does (``lookup_write`` first, so
an expired destination reports "expired" before "new") and deletes an empty result's
destination unchecked (``delete_stored``, dbDelete).
"""

from __future__ import annotations

import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from random import randrange
from typing import TYPE_CHECKING, Any, Final

from ..base.errors import WRONGTYPE, CommandError
from ..base.keyindex import (
    CLOCK_MASK,
    POS_MASK,
    SIZE_MASK,
    KeyIndex,
    new_index,
    prefetcher,
    reader,
)
from ..types.footprint import FOOTPRINTS
from ..types.registry import TYPE_NAMES
from .notify import NOTIFY_EXPIRED, NOTIFY_KEY_MISS, NOTIFY_NEW
from .stats import (
    CLOCK_BITS,
    EXPIRY_DELETE,
    EXPIRY_HIDE,
    KEY_COST,
    SHORT_KEY,
    KeyspaceStats,
    key_cost,
    string_cost,
)
from .ttls import TTL_SHIFT, Expires
from .watch import WatchedKey, touch_all, touch_key

if TYPE_CHECKING:
    from .blocking import Blocked
    from .slots import SlotIndex

NO_TOUCH: Final = -1  # the clock given to the index's read under CLIENT NO-TOUCH


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _meta() -> array[int]:
    return array("Q")


def cost_of(key: bytes, value: Any) -> int:
    """rounded(key_cost + footprint), as ``settle`` works a key out, with a short key's
    cost inlined (loading and re-costing call it for every key)."""
    return ((((len(key) + KEY_COST) & ~15) if len(key) < SHORT_KEY else key_cost(key))
            + FOOTPRINTS[type(value)](value) + 15) & ~15


class Database:
    """A key's cost (``meta[pos] >> CLOCK_BITS``) is what the key and its value cost this
    process (footprint.py), as last estimated: on insertion, on replacement, and after
    in-place changes (``modified``) once the dataset's cost is next read
    (``KeyspaceStats.settle``)."""

    __slots__ = ("id", "index", "find", "read", "fetch_ahead", "kv", "meta", "expires", "stats", "avg_ttl",
                 "watched", "blocked", "slot_index", "unsettled")

    def __init__(self, db_id: int, stats: KeyspaceStats) -> None:
        self.id = db_id
        self.index: KeyIndex = new_index()
        # index.get, bound: compiled code calls a method of a Protocol-typed object by
        # name (a type lookup per call), a bound method directly.
        self.find: Callable[[bytes], int | None] = self.index.get
        # lookup_read's lookup and clock touch in one call (keyindex.reader).
        self.read: Callable[[bytes, list[Any], Any, Any], Any] = reader(self.index)
        # fetch_ahead(requests, start, stop, kv, meta): fetch into the cache what the
        # lookups of requests[start:stop]'s first keys (argv[1]) will read, their cache
        # misses overlapped rather than one after the other: the dispatch loop calls it
        # ahead of a read's requests (keyindex.prefetcher; a hint, which changes nothing).
        self.fetch_ahead: Callable[[list[list[bytes]], int, int, list[Any], Any], None] = (
            prefetcher(self.index))
        self.kv: list[Any] = []
        self.meta = _meta()
        self.expires = Expires(self.index, self.kv)
        self.stats = stats
        self.avg_ttl = 0
        self.watched: dict[bytes, list[WatchedKey]] = {}
        self.blocked: dict[bytes, deque[Blocked]] = {}
        # Cluster mode: keys by hash slot (COUNTKEYSINSLOT, GETKEYSINSLOT, migration).
        self.slot_index: SlotIndex | None = None
        self.unsettled: set[bytes] = set()  # keys to re-cost (KeyspaceStats.settle)
        stats.databases.append(self)

    def __len__(self) -> int:
        return len(self.index)

    # --- reads ---

    def _expired(self, key: bytes) -> bool:
        """expireIfNeeded: a master deletes a key past its TTL (and streams a DEL); a
        replica keeps it for its master's DEL, hiding it from its own clients only."""
        code = self.find(key)
        return code is not None and code > POS_MASK and self._expired_code(key, code)

    def _expired_code(self, key: bytes, code: int) -> bool:
        """``_expired`` for a key with a TTL whose index code is known."""
        if self.expires.time_of(code) > now_ms():
            return False
        mode = self.stats.expiry
        if mode == EXPIRY_DELETE:
            self._expire(key)
            return True
        return mode == EXPIRY_HIDE

    def _expire(self, key: bytes) -> None:
        stats = self.stats
        stats.expired += 1
        self._remove(key)
        self._signal(key)
        if stats.propagation is not None and stats.propagation.active:
            stats.propagation.add(self.id, [b"DEL", key])
        if stats.notifier.flags & NOTIFY_EXPIRED:
            stats.notifier.publish(NOTIFY_EXPIRED, "expired", key, self.id)

    def is_expired(self, key: bytes) -> bool:
        """keyIsExpired: past its TTL, whether or not it was deleted yet."""
        code = self.find(key)
        return code is not None and code > POS_MASK and self.expires.time_of(code) <= now_ms()

    def lookup_read(self, key: bytes) -> Any:
        """The value for a read command (``_live``): counts a hit or a miss, and reports
        a miss."""
        value = self._live(key)
        stats = self.stats
        if value is None:
            stats.misses += 1
            if stats.notifier.flags & NOTIFY_KEY_MISS:
                stats.notifier.publish(NOTIFY_KEY_MISS, "keymiss", key, self.id)
            return None
        stats.hits += 1
        return value

    def lookup_write(self, key: bytes) -> Any:
        """The value for a write command (``_live``): no hit/miss accounting."""
        return self._live(key)

    def _live(self, key: bytes) -> Any:
        """The value of a live key, its access clock touched, or None; a key past its TTL
        is expired first. Under LRU a key without a TTL is read and touched by one call
        (``read``, about 40% of a hit's cost before); a TTL (``read`` gives its code) or
        LFU take the steps."""
        stats = self.stats
        if stats.lfu is None:
            found = self.read(key, self.kv, self.meta, NO_TOUCH if stats.no_touch else stats.read_clock)
            if found is not None and type(found) is not int:
                return found
            code = found
        else:
            code = self.find(key)
        if code is None or (code > POS_MASK and self._expired_code(key, code)):
            return None
        pos = code & POS_MASK
        if not stats.no_touch:
            meta = self.meta
            word = meta[pos]
            if stats.lfu is None:
                meta[pos] = (word & SIZE_MASK) | stats.lru_clock
            else:
                meta[pos] = (word & SIZE_MASK) | stats.lfu.touched(word & CLOCK_MASK)
        return self.kv[2 * pos + 1]

    def peek(self, key: bytes) -> Any:
        """The value if live, with no statistics and no access-clock update (OBJECT, TYPE ...)."""
        code = self.find(key)
        if code is None or (code > POS_MASK and self._expired_code(key, code)):
            return None
        return self.kv[2 * (code & POS_MASK) + 1]

    def raw(self, key: bytes) -> Any:
        """The stored value even if logically expired, touching nothing (DEBUG, MEMORY)."""
        code = self.find(key)
        return None if code is None else self.kv[2 * (code & POS_MASK) + 1]

    def items(self) -> Iterator[tuple[bytes, Any]]:
        """Every stored (key, value), expired or not, touching nothing."""
        kv = self.kv
        return ((key, kv[2 * (code & POS_MASK) + 1]) for key, code in self.index.items())

    def get_clock(self, key: bytes) -> int:
        return self.meta[self.index[key] & POS_MASK] & CLOCK_MASK

    def clock_of(self, key: bytes) -> int | None:
        code = self.find(key)
        return None if code is None else self.meta[code & POS_MASK] & CLOCK_MASK

    def set_clock(self, key: bytes, clock: int) -> None:
        code = self.find(key)
        if code is not None:
            pos = code & POS_MASK
            self.meta[pos] = (self.meta[pos] & SIZE_MASK) | clock

    def key_at(self, pos: int) -> bytes:
        """The key at a position (0 <= pos < len(self)): SCAN's cursor walks positions."""
        key: bytes = self.kv[2 * pos]
        return key

    def keys_between(self, low: int, top: int) -> list[bytes]:
        """The keys at positions ``low`` to ``top`` included."""
        return self.kv[2 * low:2 * top + 2:2]

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
        code = self.find(key)
        return -1 if code is None or code <= POS_MASK else self.expires.time_of(code)

    def random_key(self) -> bytes | None:
        """RANDOMKEY: a random live key, deleting expired ones met on the way."""
        for _ in range(100):
            if not self.index:
                return None
            key = self.key_at(randrange(len(self.index)))
            if not self._expired(key):
                return key
        return self.key_at(randrange(len(self.index))) if self.index else None

    def sample_keys(self, count: int) -> list[bytes]:
        """Up to ``count`` random keys (with repeats), for eviction's sampling."""
        n = len(self.index)
        kv = self.kv
        return [kv[2 * randrange(n)] for _ in range(min(count, n))]

    def live_keys(self) -> Iterator[bytes]:
        """Keys not yet expired, without deleting anything (safe while iterating)."""
        if not self.expires:
            return iter(list(self.index))
        now = now_ms()
        expires = self.expires
        return (k for k in list(self.index) if expires.get(k, now + 1) > now)

    # --- writes ---

    def set(self, key: bytes, value: Any, keep_ttl: bool = False) -> None:
        """Store a value (overwriting any type); drops the TTL unless ``keep_ttl``.

        A replaced value's LRU clock restarts now; its LFU counter carries over (dbSetValue).
        """
        code = self.find(key)
        if code is None:
            self._insert(key, value)
            if self.stats.notifier.flags & NOTIFY_NEW:
                self._new(key)
        else:
            pos = code & POS_MASK
            if self.blocked and key in self.blocked and TYPE_NAMES.get(
                    type(self.kv[2 * pos + 1])) == "stream":
                self._signal_ready(key, self.kv[2 * pos + 1])  # dbSetValue: as a deleted stream
            self.kv[2 * pos + 1] = value
            meta = self.meta
            word = meta[pos]
            if self.stats.lfu is None:
                word = (word & SIZE_MASK) | self.stats.lru_clock
            if type(value) is bytes:
                size = string_cost(key, value)
                self.stats.data_bytes += size - (word >> CLOCK_BITS)
                word = size << CLOCK_BITS | (word & CLOCK_MASK)
            else:
                self._unsettle(key)
            meta[pos] = word
            if not keep_ttl and code > POS_MASK:
                self.expires.remove(code)
                self.index[key] = pos
        self._signal(key)

    def overwrite(self, key: bytes, value: Any) -> None:
        """dbOverwrite for the same content in another representation (dbUnshareStringValue):
        the TTL stays and nothing is signalled, as the command may then change nothing."""
        pos = self.index[key] & POS_MASK
        self.kv[2 * pos + 1] = value
        self._unsettle(key)
        if self.stats.lfu is None:
            self.meta[pos] = (self.meta[pos] & SIZE_MASK) | self.stats.lru_clock

    def add(self, key: bytes, value: Any, whole: bool = False) -> None:
        """Store a value under a key known to be absent (after a lookup returned None).
        ``whole``: the command will not fill the value further (a hash made whole by HSET),
        so it is costed now rather than at the next ``settle``."""
        self._insert(key, value, whole)
        if self.stats.notifier.flags & NOTIFY_NEW:
            self._new(key)
        self._signal(key)

    def load(self, key: bytes, value: Any) -> None:
        """``add`` for a snapshot being loaded (dbAddRDBLoad): no "new" event."""
        self._insert(key, value)
        self._signal(key)

    def load_run(self, run: list[Any]) -> bool:
        """``load`` for keys read in a row from a snapshot, without a TTL: ``run`` holds
        keys and values alternating. They are costed here, not left to ``settle``, and
        nothing is signalled, as rdbLoad's dbAddRDBLoad signals nothing: a load starts on
        an empty or just flushed keyspace. False, with nothing changed, when a key is
        already there or comes twice: ``load`` one by one then finds which."""
        index, kv, meta = self.index, self.kv, self.meta
        start = len(meta)
        keys = run[0::2]
        index.update(zip(keys, range(start, start + len(keys)), strict=True))
        if len(index) != start + len(keys):
            for key in keys:
                if index.get(key, -1) >= start:
                    del index[key]
            for pos in range(start):
                index.setdefault(kv[2 * pos], pos)
            for slot, pos in enumerate(self.expires.positions()):  # codes with their TTL
                index[kv[2 * pos]] = pos | (slot + 1) << TTL_SHIFT
            return False
        kv += run
        sizes = [cost_of(key, value) for key, value in zip(keys, run[1::2], strict=True)]
        clock = self.stats.lru_clock
        meta.extend([size << CLOCK_BITS | clock for size in sizes])
        self.stats.data_bytes += sum(sizes)
        if self.slot_index is not None:
            add = self.slot_index.add
            for key in keys:
                add(key)
        if self.blocked:
            for pos in range(start, len(meta)):
                if kv[2 * pos] in self.blocked:
                    self._signal_ready(kv[2 * pos], kv[2 * pos + 1])
        return True

    def recost_all(self) -> int:
        """Re-cost every key, in the order they are stored; how much the dataset's cost
        changed. ``settle`` calls it when at least a quarter of the keys wait (after an
        AOF replay, every key; after a base snapshot and its increment, the increment's):
        a key costs about a fifth of the time looked up by name (0.4 against 1.8-2.1 us
        at 200k keys, 5 us and more at 1M: the set's order is random, each step a cache
        miss), so this is never slower, and re-costing a key that did not change is
        harmless."""
        kv, meta = self.kv, self.meta
        sizes = [cost_of(key, value) for key, value in zip(kv[0::2], kv[1::2], strict=True)]
        before = sum([word >> CLOCK_BITS for word in meta])
        meta[:] = array("Q", [size << CLOCK_BITS | (word & CLOCK_MASK)
                              for size, word in zip(sizes, meta, strict=True)])
        return sum(sizes) - before

    def _new(self, key: bytes) -> None:
        """dbAdd's "new" event (class n, outside A): a key was created."""
        self.stats.notifier.publish(NOTIFY_NEW, "new", key, self.id)

    def _insert(self, key: bytes, value: Any, whole: bool = False) -> None:
        meta = self.meta
        self.index[key] = len(meta)
        kv = self.kv
        kv.append(key)
        kv.append(value)
        string = type(value) is bytes
        if string or whole:
            size = string_cost(key, value) if string else cost_of(key, value)
            meta.append(size << CLOCK_BITS | self.stats.lru_clock)
            self.stats.data_bytes += size
        else:  # an aggregate is often filled right after it is stored: sized after the command
            meta.append(self.stats.lru_clock)
            self._unsettle(key)
        if self.slot_index is not None:
            self.slot_index.add(key)
        if self.blocked and key in self.blocked:
            self._signal_ready(key, value)

    def delete(self, key: bytes) -> bool:
        code = self.find(key)
        if code is None or (code > POS_MASK and self._expired_code(key, code)):
            return False
        self._remove(key)
        self._signal(key)
        return True

    def delete_stored(self, key: bytes) -> bool:
        """dbDelete: remove the key even if its TTL has passed (no "expired" event), as
        Redis does where it deletes a key it did not look up first (an empty STORE result,
        RESTORE ... REPLACE, MIGRATE, a duplicate in a merged snapshot)."""
        if key not in self.index:
            return False
        self._remove(key)
        self._signal(key)
        return True

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires.set(key, when_ms)

    def persist(self, key: bytes) -> bool:
        code = self.find(key)
        if code is None or code <= POS_MASK:
            return False
        self.expires.remove(code)
        self.index[key] = code & POS_MASK
        self._signal(key)
        return True

    def modified(self, key: bytes) -> None:
        """Signal an in-place change of a key's value (APPEND, LPUSH on an existing list ...)."""
        unsettled = self.unsettled
        if not unsettled:
            self.stats.unsettled.append(self)
        unsettled.add(key)
        self._signal(key)

    def replace(self, key: bytes, value: Any) -> None:
        """Put another object in a live key's place, keeping its TTL and access clock: a
        value rebuilt rather than changed in place (a packed hash or sorted set, as Redis
        reallocates a listpack). The caller reports it as ``modified`` or ``resized``."""
        self.kv[2 * (self.index[key] & POS_MASK) + 1] = value

    def resized(self, key: bytes) -> None:
        """A value grew or shrank without changing (a read built an index): re-cost it."""
        self._unsettle(key)

    def _unsettle(self, key: bytes) -> None:
        """Have the key re-costed when the dataset's cost is next read (settle)."""
        unsettled = self.unsettled
        if not unsettled:
            self.stats.unsettled.append(self)
        unsettled.add(key)

    def flush(self) -> int:
        removed = len(self.index)
        self.unsettled.clear()  # their keys go: nothing to re-cost
        self.stats.data_bytes -= sum(word >> CLOCK_BITS for word in self.meta)
        if self.watched:
            touch_all(self, None)
        self._signal_gone_streams(self, None)
        self.index = new_index()
        self.find = self.index.get
        self.read = reader(self.index)
        self.fetch_ahead = prefetcher(self.index)
        self.kv = []
        self.meta = _meta()
        self.expires = Expires(self.index, self.kv)
        if self.slot_index is not None:
            self.slot_index.clear()
        self.stats.dirty += removed
        return removed

    def swap_with(self, other: Database) -> None:
        self.stats.settle()  # the keys waiting to be re-costed are named per database
        self._signal_gone_streams(self, other)
        other._signal_gone_streams(other, self)
        self.index, other.index = other.index, self.index
        self.find, other.find = other.find, self.find
        self.read, other.read = other.read, self.read
        self.fetch_ahead, other.fetch_ahead = other.fetch_ahead, self.fetch_ahead
        self.kv, other.kv = other.kv, self.kv
        self.meta, other.meta = other.meta, self.meta
        self.expires, other.expires = other.expires, self.expires
        self.avg_ttl, other.avg_ttl = other.avg_ttl, self.avg_ttl
        self.slot_index, other.slot_index = other.slot_index, self.slot_index
        for db in (self, other):  # scanDatabaseForReadyKeys: blocked clients stay put
            for key in db.blocked:
                value = db.raw(key)
                if value is not None:
                    db._signal_ready(key, value)

    def _signal_gone_streams(self, before: Database, after: Database | None) -> None:
        """scanDatabaseForDeletedStreams: a blocked key that held a stream and will hold
        none is readied, so XREADGROUP learns its stream is gone (FLUSHALL, SWAPDB)."""
        for key in self.blocked:
            old = before.raw(key)
            new = None if after is None else after.raw(key)
            if (old is not None and TYPE_NAMES.get(type(old)) == "stream"
                    and (new is None or TYPE_NAMES.get(type(new)) != "stream")):
                self._signal_ready(key, old)

    def signal_ready(self, key: bytes) -> None:
        """signalKeyAsReady for a key changed in place (XADD, XGROUP DESTROY): its blocked
        clients are offered it after the command."""
        if self.blocked and key in self.blocked:
            value = self.raw(key)
            if value is not None:
                self._signal_ready(key, value)

    def _signal_ready(self, key: bytes, value: Any) -> None:
        """signalKeyAsReady: queue a key for the clients blocked on it, if its type can
        serve any blocked client at all."""
        stats = self.stats
        if stats.waiting_for.get(TYPE_NAMES.get(type(value), "none")):
            stats.ready_keys.append((self, key))

    def _remove(self, key: bytes) -> None:
        """Swap-remove from the columns: the last key moves into the hole (SCAN relies on it)."""
        index = self.index
        code = index.pop(key)
        pos = code & POS_MASK
        kv, meta = self.kv, self.meta
        value = kv[2 * pos + 1]
        self.stats.data_bytes -= meta[pos] >> CLOCK_BITS
        if self.blocked and key in self.blocked and TYPE_NAMES.get(type(value)) == "stream":
            self._signal_ready(key, value)  # dbGenericDelete: XREADGROUP learns it
        expires = self.expires
        if code > POS_MASK:
            expires.remove(code)
        last_value = kv.pop()
        last = kv.pop()
        last_word = meta.pop()
        if pos < len(meta):
            kv[2 * pos] = last
            kv[2 * pos + 1] = last_value
            meta[pos] = last_word
            if expires:
                last_code = index[last]
                if last_code > POS_MASK:
                    expires.moved(last_code, pos)
                    pos |= last_code & ~POS_MASK
            index[last] = pos
        if self.slot_index is not None:
            self.slot_index.discard(key)

    def notify(self, kind: int, event: str, key: bytes) -> None:
        """notifyKeyspaceEvent: report ``event`` (Redis's name) of class ``kind`` on key.

        The hottest handlers (SET, INCR, pushes and pops ...) test
        ``stats.notifier.flags & kind`` before calling: the call costs several times
        that test, and notifications are usually off."""
        notifier = self.stats.notifier
        if notifier.flags & kind:
            notifier.publish(kind, event, key, self.id)

    def _signal(self, key: bytes) -> None:
        """signalModifiedKey: count the change; fail the EXEC of clients watching the key."""
        stats = self.stats
        stats.dirty += 1
        if stats.invalidate is not None:
            stats.invalidate(key)
        if self.watched:
            watchers = self.watched.get(key)
            if watchers:
                touch_key(self, key, watchers)
