"""A set of keys with O(1) add, remove and uniform random pick.

Python dicts cannot pick a random entry cheaply, yet Redis samples keys at random for
active expiry and volatile eviction, and members or fields for SRANDMEMBER, HRANDFIELD
and the SSCAN/HSCAN cursors. This keeps the keys in a list, with a key -> position map
for swap-remove on delete. The main keyspace does the same with the position kept in its
columns (keyspace/database.py), so it needs no second map.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


class KeySample:
    """Keys by position (``keys``), and ``where``, each key's position in ``keys``.

    ``where`` is what a removal needs to swap the last key into the hole: it is built by
    the first removal (or membership test) and kept from then on, so a sample only ever
    added to never pays for it (a second dict and an int per key, and a second dict insert
    per new key). The first removal from a big sample is O(n) once (10-25 ms for 100k keys
    on the 2-core test VM), as each doubling of a dict is. Knowing whether a key is new is
    thus the caller's part: its own dict or set answers it."""

    __slots__ = ("keys", "where")

    def __init__(self, keys: list[bytes] | None = None) -> None:
        """``keys``: distinct, taken as they are (not copied)."""
        self.keys: list[bytes] = [] if keys is None else keys
        self.where: dict[bytes, int] | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: bytes) -> bool:
        return key in self._where()

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.keys)

    def _where(self) -> dict[bytes, int]:
        """``where``, built now if no removal has built it yet."""
        where = self.where
        if where is None:
            keys = self.keys
            where = self.where = dict(zip(keys, range(len(keys)), strict=True))
        return where

    def add(self, key: bytes) -> None:
        """Append ``key``, which the caller knows is not in the sample yet."""
        keys = self.keys
        where = self.where
        if where is not None:
            where[key] = len(keys)
        keys.append(key)

    def discard(self, key: bytes) -> None:
        where = self._where()
        i = where.pop(key, None)
        if i is None:
            return
        keys = self.keys
        last = keys.pop()
        if i < len(keys):
            keys[i] = last
            where[last] = i

    def random(self) -> bytes | None:
        return random_pick(self.keys)

    def sample(self, count: int) -> list[bytes]:
        return random_picks(self.keys, count)


def random_pick(keys: list[bytes]) -> bytes | None:
    return keys[random.randrange(len(keys))] if keys else None


def random_picks(keys: list[bytes], count: int) -> list[bytes]:
    """Up to ``count`` random keys, possibly repeated (as Redis's dictGetSomeKeys may)."""
    n = len(keys)
    if not n:
        return []
    rand = random.randrange
    return [keys[rand(n)] for _ in range(min(count, n))]
