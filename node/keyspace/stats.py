"""What the databases of a server share, and what a key costs them.

``KeyspaceStats`` holds the counters of INFO and persistence (hits, misses, expired,
dirty), the access clock a read stores, what a key past its TTL does, where events go,
and the dataset's cost (``data_bytes``, the dataset part of used_memory), kept lazily:
``settle`` re-costs the keys changed since it last ran. A key's cost (footprint.py for its
value, ``key_cost`` for the key) is kept in the high bits of its word in its database's
``meta`` column, above its access clock (``CLOCK_BITS``): database.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from ..base.keyindex import CLOCK_MASK, POS_MASK, UNBOXED_CODES
from ..types.footprint import (
    BYTES_HEADER,
    FOOTPRINTS,
    INT,
    SMALL_REQUEST,
    alloc,
    bytes_cost,
    rounded,
)
from .lfu import LfuClock
from .notify import Notifier

if TYPE_CHECKING:
    from .database import Database
    from .propagation import Propagation

EXPIRY_DELETE = 0
EXPIRY_HIDE = 1
EXPIRY_KEEP = 2


class KeyspaceStats:
    """Counters shared by all databases of a server (INFO stats / persistence).

    ``lru_clock`` is the access clock a new key starts with: LRU seconds, or under an
    LFU policy (``lfu`` set) the current minute and the initial counter, as Redis's
    createObject stamps ``lru``. A read then stores the LRU clock, or counts an LFU access.
    """

    __slots__ = ("hits", "misses", "expired", "expired_stale_perc", "dirty", "_lru_clock",
                 "read_clock",
                 "no_touch", "lfu", "ready_keys", "waiting_for", "data_bytes", "unsettled",
                 "expiry", "propagation", "notifier", "invalidate", "invalidate_all",
                 "databases")

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self.expired_stale_perc = 0.0
        self.dirty = 0
        self._lru_clock = 0
        self.read_clock: object = 0  # lru_clock as an object: see lru_clock
        self.no_touch = False
        self.lfu: LfuClock | None = None
        # Keys created while clients were blocked on them (blocking.py serves them), and
        # how many clients are blocked for each type name, in every database: as Redis's
        # signalKeyAsReady, a new key is ready only if its type has a waiting client (a key
        # created as a zset while only list pops wait never serves, even if it is later
        # overwritten by a list: overwriting a key never readies it).
        self.ready_keys: list[tuple[Database, bytes]] = []
        self.waiting_for: dict[str, int] = {}
        # What the keys and values of every database cost (footprint.py): the sum of the
        # keys' sizes, the dataset part of used_memory. Keys changed in place wait in
        # their database's ``unsettled`` set, and the databases holding any in
        # ``unsettled``, until someone reads the sum (``settle``): see ``settle``.
        self.data_bytes = 0
        self.unsettled: list[Database] = []
        # What a key past its TTL does when met: EXPIRY_DELETE on a master; on a replica
        # EXPIRY_HIDE (clients see it gone) or EXPIRY_KEEP (while the master's commands run).
        self.expiry = EXPIRY_DELETE
        self.propagation: Propagation | None = None  # where expiry DELs are streamed
        self.notifier = Notifier()  # notify-keyspace-events and where events go
        # Client-side caching (pubsub/tracking.py), installed while a client tracks keys:
        # a changed key's readers are told; a flush tells every tracking client.
        self.invalidate: Callable[[bytes], None] | None = None
        self.invalidate_all: Callable[[], None] | None = None
        self.databases: list[Database] = []  # every Database made with these stats

    @property
    def lru_clock(self) -> int:
        return self._lru_clock

    @lru_clock.setter
    def lru_clock(self, clock: int) -> None:
        """Also kept as an object (``read_clock``) for the C index's ``read``, which
        ``Database.lookup_read`` and ``lookup_write`` call: a compiled int passed to it
        would be boxed at each read (an allocation, a tenth of a miss's cost)."""
        self._lru_clock = clock
        self.read_clock = clock

    def signal_flushed(self) -> None:
        """signalFlushedDb's tracking part: once per FLUSHDB / FLUSHALL / full resync."""
        if self.invalidate_all is not None:
            self.invalidate_all()

    def settle(self) -> None:
        """Re-cost the values changed since the last call, keeping ``data_bytes`` their sum.

        Lazy: a key changed a thousand times between two reads of the sum is re-costed
        once. The sum is read by the cron (every tick), before the maxmemory check that
        precedes each command (performEvictions: a write that went past the limit is seen
        by the next command, as in Redis), and by INFO, MEMORY, the metrics and scripts'
        OOM check. Re-costing is idempotent, so a key re-costed for nothing (deleted and
        added again in between) costs time, never accuracy."""
        for db in self.unsettled:
            if len(db.unsettled) << 2 >= len(db.index):
                self.data_bytes += db.recost_all()
                db.unsettled.clear()
                continue
            index, kv, meta = db.index, db.kv, db.meta
            for key in db.unsettled:
                code = index.get(key)
                if code is not None:
                    pos = code & POS_MASK
                    value = kv[2 * pos + 1]
                    size = rounded(key_cost(key) + FOOTPRINTS[type(value)](value))
                    word = meta[pos]
                    self.data_bytes += size - (word >> CLOCK_BITS)
                    meta[pos] = size << CLOCK_BITS | (word & CLOCK_MASK)
            db.unsettled.clear()
        self.unsettled.clear()


# CLOCK_MASK, (1 << CLOCK_BITS) - 1, and SIZE_MASK, the bits above, are base/keyindex.py's:
# the C index's read sets the clock too. Final: inlined by mypyc, as POS_MASK.
CLOCK_BITS: Final = 24


# What the index holds for a key's code besides the key: a dict, an int object.
CODE_COST: Final = 0 if UNBOXED_CODES else INT


def key_cost(key: bytes) -> int:
    """A key's own cost: its bytes object, and its code's object if the index boxes it."""
    return alloc(BYTES_HEADER + len(key)) + CODE_COST


# key_cost of a key shorter than SHORT_KEY (a pymalloc block): (len + KEY_COST) & ~15;
# bytes_cost of a value of 2 to SHORT_KEY - 1 bytes: (len + VALUE_COST) & ~15. Final: a
# plain module constant is a lookup by name at each use in compiled code.
SHORT_KEY: Final = SMALL_REQUEST - BYTES_HEADER
KEY_COST: Final = BYTES_HEADER + 15 + CODE_COST
VALUE_COST: Final = BYTES_HEADER + 15


def string_cost(key: bytes, value: bytes) -> int:
    """``rounded(key_cost(key) + bytes_cost(value))``, short keys and values inline: what
    a SET or an INCR stores is re-costed at each write. A value that may be shared (one
    byte, or up to four digits: footprint.shared_bytes) takes the long way."""
    size = len(value)
    if len(key) >= SHORT_KEY or size >= SHORT_KEY:
        return rounded(key_cost(key) + bytes_cost(value))
    if size > 4 or (size > 1 and not 48 <= value[0] <= 57):
        return ((len(key) + KEY_COST) & ~15) + ((size + VALUE_COST) & ~15)
    return ((len(key) + KEY_COST) & ~15) + bytes_cost(value)
