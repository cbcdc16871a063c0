"""The keys of one database that have a TTL, with their expiry times (Redis's db->expires).

A key with a TTL costs two 8-byte words here and no object: the keyspace's index
(database.py: key -> code) says in the key's own code where its time is. A code is the
key's position in the main columns (low ``TTL_SHIFT`` bits) plus, when the key has a TTL,
``(slot + 1) << TTL_SHIFT``; ``table[2 * slot]`` is then the key's position in the main
columns (for random picks) and ``table[2 * slot + 1]`` its expiry (ms since the epoch).
Below 2^28 keys with a TTL a code fits the two 30-bit digits of the int object the index
holds anyway, so a TTL adds no object: a dict of times and a sampling list with its own
key -> slot dict cost 156 bytes a key more (1M 1-byte strings with a TTL: RSS 314 bytes a
key, now 179; redis-server 129). One array rather than two: each growing buffer leaves
freed copies behind in glibc's heap once its mmap threshold has risen (measured: 1M keys
with a TTL grew the RSS 15 bytes a key beyond what is allocated with two arrays).

Removal moves the last slot into the hole, and the keyspace tells ``moved`` when a key
with a TTL changes position in its columns, so slots and codes stay in step. Random picks
are uniform over the keys with a TTL, for active expiry and volatile-* eviction.
"""

from __future__ import annotations

from array import array
from random import randrange
from typing import Any, Final, overload

from ..base.keyindex import POS_MASK, KeyIndex

# Final: mypyc inlines it, as POS_MASK ((1 << TTL_SHIFT) - 1, base/keyindex.py, which the
# C index's read uses too): a plain module global is a dict lookup at each use (measured
# with callgrind, 440 more instructions a lookup than the constants).
TTL_SHIFT: Final = 32


class Expires:
    """Read as a mapping key -> expiry (``in``, ``get``, ``[]``, ``len``); written by the
    keyspace only, through ``set``, ``remove`` and ``moved``."""

    __slots__ = ("index", "kv", "table")

    def __init__(self, index: KeyIndex, kv: list[Any]) -> None:
        self.index = index  # the keyspace's own index and key/value column (database.py)
        self.kv = kv
        self.table = array("q")  # position, expiry; position, expiry; ...

    def __len__(self) -> int:
        return len(self.table) >> 1

    def __contains__(self, key: bytes) -> bool:
        code = self.index.get(key)
        return code is not None and code > POS_MASK

    @overload
    def get(self, key: bytes) -> int | None: ...
    @overload
    def get(self, key: bytes, default: int) -> int: ...

    def get(self, key: bytes, default: int | None = None) -> int | None:
        code = self.index.get(key)
        if code is None or code <= POS_MASK:
            return default
        return self.table[(code >> TTL_SHIFT) * 2 - 1]

    def __getitem__(self, key: bytes) -> int:
        when = self.get(key)
        if when is None:
            raise KeyError(key)
        return when

    def time_of(self, code: int) -> int:
        """The expiry of the key whose index code is ``code`` (it has a TTL)."""
        return self.table[(code >> TTL_SHIFT) * 2 - 1]

    def positions(self) -> array[int]:
        """Each key's position in the main columns, by slot."""
        return self.table[0::2]

    def set(self, key: bytes, when: int) -> None:
        """Give ``key`` (in the keyspace) the expiry ``when``, replacing any it had."""
        code = self.index[key]
        table = self.table
        if code > POS_MASK:
            table[(code >> TTL_SHIFT) * 2 - 1] = when
            return
        table.append(code)
        table.append(when)
        self.index[key] = code | (len(table) >> 1) << TTL_SHIFT

    def remove(self, code: int) -> None:
        """Forget the TTL of the key whose code is ``code``; the caller rewrites or drops
        that key's code. The last slot moves into the hole, and its key's code follows."""
        at = (code >> TTL_SHIFT) * 2 - 2
        table = self.table
        last_time = table.pop()
        last_pos = table.pop()
        if at < len(table):
            table[at] = last_pos
            table[at + 1] = last_time
            self.index[self.kv[2 * last_pos]] = last_pos | ((at >> 1) + 1) << TTL_SHIFT

    def moved(self, code: int, pos: int) -> None:
        """The key with the TTL of ``code`` now sits at ``pos`` in the main columns."""
        self.table[(code >> TTL_SHIFT) * 2 - 2] = pos

    def random(self) -> bytes | None:
        n = len(self.table) >> 1
        if not n:
            return None
        key: bytes = self.kv[2 * self.table[2 * randrange(n)]]
        return key

    def sample(self, count: int) -> list[bytes]:
        """Up to ``count`` random keys with a TTL, possibly repeated (as dictGetSomeKeys)."""
        table, kv = self.table, self.kv
        n = len(table) >> 1
        return [kv[2 * table[2 * randrange(n)]] for _ in range(min(count, n))]
