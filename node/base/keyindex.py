"""A bytes -> int index, a C hash table when built: the keyspace's, key -> code
(keyspace/database.py, ttls.py), and a large sorted set's, member -> slot (types/zset.py).

A dict costs a key 74 bytes besides its bytes object at 1M keys: its share of the dict's
entries and indices (42) and the code's int object (32). ``_keyindex.c`` keeps the code
unboxed beside the key's pointer in 16-byte slots, about 22 bytes a key (1M 20-byte
strings: 211 bytes a key of RSS with a dict, 1.6x less over redis-server's 104 with it).
Without a C compiler, or under ``REDSLOT_PURE_PYTHON=1``, the index is a plain dict: the
same operations, the same results, except the order of iteration (the C table's is its
slots', by hash), which nothing relies on: SCAN, RANDOMKEY and eviction walk positions in
the key/value column, KEYS and the snapshot writer's order is undefined in Redis too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, Final, Protocol, cast, overload

from .compiled import extension


class KeyIndex(Protocol):
    """What the keyspace uses of a dict[bytes, int]: both implementations have it."""

    def __len__(self) -> int: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __getitem__(self, key: bytes, /) -> int: ...
    def __setitem__(self, key: bytes, code: int, /) -> None: ...
    def __delitem__(self, key: bytes, /) -> None: ...
    def __iter__(self) -> Iterator[bytes]: ...
    @overload
    def get(self, key: bytes, /) -> int | None: ...
    @overload
    def get(self, key: bytes, default: int, /) -> int: ...
    @overload
    def pop(self, key: bytes, /) -> int: ...
    @overload
    def pop(self, key: bytes, default: None, /) -> int | None: ...
    def setdefault(self, key: bytes, default: int, /) -> int: ...
    def update(self, pairs: Iterable[tuple[bytes, int]], /) -> None: ...
    def items(self) -> Iterable[tuple[bytes, int]]: ...


_extension = extension("base._keyindex")

# Called for each new database, at each flush and for each large sorted set.
new_index = cast(Callable[[], KeyIndex], dict if _extension is None else _extension.KeyIndex)
# Whether a code is kept unboxed: a dict holds an int object (32 bytes) for most codes.
UNBOXED_CODES = _extension is not None

# The keyspace's layout of a code and a meta word, which ``read`` touches: a code's
# position is its low 32 bits, a TTL's slot above them (keyspace/ttls.py); a meta word's
# access clock is its low 24 bits, the key's cost above them (keyspace/stats.py). They
# must agree with _keyindex.c's POS_MASK and CLOCK_MASK (in _keyindex_read.h), which the
# module exposes (tests/unit/test_keyindex_layout.py). Final: mypyc inlines them where
# they are used (SIZE_MASK too, being folded here: mypy folds no expression of another
# module's names).
POS_MASK: Final = 0xFFFF_FFFF
CLOCK_MASK: Final = 0xFF_FFFF
SIZE_MASK: Final = ~CLOCK_MASK


def _read(index: KeyIndex, key: bytes, kv: list[Any], meta: Any, clock: Any) -> Any:
    """The C index's ``read`` (_keyindex.c says what it returns), for a dict."""
    code = index.get(key)
    if code is None or code > POS_MASK:
        return code
    if clock >= 0:
        meta[code] = (meta[code] & ~CLOCK_MASK) | clock
    return kv[2 * code + 1]


def reader(index: KeyIndex) -> Callable[[bytes, list[Any], Any, Any], Any]:
    """``index``'s read(key, kv, meta, clock), bound: the keyspace's lookup of a
    key for a read in one call (database.py's ``lookup_read``; _keyindex.c)."""
    if _extension is None:
        return partial(_read, index)
    return cast(Callable[[bytes, list[Any], Any, Any], Any], cast(Any, index).read)


# Slots the cron moves of a large index's incremental rebuild (_keyindex.c), per database
# and tick, with activerehashing: about a millisecond's work (50-120 ns a key), as Redis's
# cron spends 1 ms a tick on each database's rehash.
REHASH_SLOTS: Final = 8192


def rehash(index: KeyIndex, slots: int) -> bool:
    """Move up to ``slots`` slots of the C index's incremental rebuild (none while an
    iterator of it lives); whether a rebuild is still under way. A dict is rebuilt at
    once: never."""
    if _extension is None:
        return False
    return cast(bool, cast(Any, index).rehash(slots))


def _no_prefetch(requests: list[list[bytes]], start: int, stop: int, kv: list[Any],
                 meta: Any) -> None:
    """The pure build's prefetch: a dict's entries are out of reach, and a hint it is."""


def prefetcher(index: KeyIndex) -> Callable[[list[list[bytes]], int, int, list[Any], Any], None]:
    """``index``'s prefetch(requests, start, stop, kv, meta), bound: fetch into the cache
    what the lookups of requests[start:stop]'s first keys (argv[1]) will read, their
    misses overlapped (database.py's ``fetch_ahead``; _keyindex.c says how). A hint: it
    changes nothing, and does nothing in the pure build."""
    if _extension is None:
        return _no_prefetch
    return cast(Callable[[list[list[bytes]], int, int, list[Any], Any], None],
                cast(Any, index).prefetch)
