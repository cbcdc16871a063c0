"""A set of keys with O(1) add, remove and uniform random pick.

Python dicts cannot pick a random entry cheaply, yet Redis samples keys at random for
active expiry and volatile eviction. This keeps the keys in a list with a key -> position
map (swap-remove on delete). The main keyspace does the same with the position kept in
its columns (keyspace/database.py), so it needs no second map.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


class KeySample:
    __slots__ = ("keys", "where")

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.where: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: bytes) -> bool:
        return key in self.where

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.keys)

    def add(self, key: bytes) -> None:
        if key not in self.where:
            self.where[key] = len(self.keys)
            self.keys.append(key)

    def discard(self, key: bytes) -> None:
        i = self.where.pop(key, None)
        if i is None:
            return
        last = self.keys.pop()
        if i < len(self.keys):
            self.keys[i] = last
            self.where[last] = i

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
