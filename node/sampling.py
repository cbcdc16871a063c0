"""A set of keys with O(1) add, remove and uniform random pick.

Python dicts cannot pick a random entry cheaply, yet Redis samples keys at random for
active expiry, RANDOMKEY and eviction. This keeps the keys in a list with a key -> position
map (swap-remove on delete), and a parallel list of per-key clocks (LRU/LFU data).
"""

from __future__ import annotations

import random
from collections.abc import Iterator


class KeySample:
    __slots__ = ("keys", "where", "clock")

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.where: dict[bytes, int] = {}
        self.clock: list[int] = []

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: bytes) -> bool:
        return key in self.where

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.keys)

    def add(self, key: bytes, clock: int = 0) -> None:
        if key not in self.where:
            self.where[key] = len(self.keys)
            self.keys.append(key)
            self.clock.append(clock)

    def discard(self, key: bytes) -> None:
        i = self.where.pop(key, None)
        if i is None:
            return
        last_key = self.keys.pop()
        last_clock = self.clock.pop()
        if i < len(self.keys):
            self.keys[i] = last_key
            self.clock[i] = last_clock
            self.where[last_key] = i

    def clear(self) -> None:
        self.keys.clear()
        self.where.clear()
        self.clock.clear()

    def random(self) -> bytes | None:
        if not self.keys:
            return None
        return self.keys[random.randrange(len(self.keys))]

    def sample(self, count: int) -> list[bytes]:
        """Up to ``count`` random keys, possibly repeated (as Redis's dictGetSomeKeys may)."""
        keys = self.keys
        n = len(keys)
        if not n:
            return []
        rand = random.randrange
        return [keys[rand(n)] for _ in range(min(count, n))]

    def get_clock(self, key: bytes) -> int:
        return self.clock[self.where[key]]

    def set_clock(self, key: bytes, clock: int) -> None:
        i = self.where.get(key)
        if i is not None:
            self.clock[i] = clock
