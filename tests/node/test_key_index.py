"""The C key index (node/base/_keyindex.c) against a dict, the pure-Python index.

The keyspace (database.py, ttls.py) uses the same operations on either: long random
sequences of them must give the same results on both, through growth, deletion (with
tombstones), re-insertion and shrinking. Skipped where the extension is not built.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from array import array

import pytest

_keyindex = pytest.importorskip("redslot.node.base._keyindex")
KeyIndex = _keyindex.KeyIndex

SLOT = 16  # bytes a slot: the key's pointer with its hash tag, the code


def random_ops(rng: random.Random, keyspace: int, steps: int) -> None:
    index, model = KeyIndex(), {}
    for _ in range(steps):
        key = b"key:%d" % rng.randrange(keyspace)
        op = rng.random()
        if op < 0.35:
            code = rng.randrange(1 << 63)
            index[key] = code
            model[key] = code
        elif op < 0.5:
            assert index.pop(key, -1) == model.pop(key, -1)
        elif op < 0.6:
            code = rng.randrange(1 << 40)
            assert index.setdefault(key, code) == model.setdefault(key, code)
        elif op < 0.75:
            assert index.get(key) == model.get(key)
            assert index.get(key, -1) == model.get(key, -1)
            assert (key in index) == (key in model)
        elif op < 0.8:
            if key in model:
                assert index[key] == model[key]
                del index[key]
                del model[key]
            else:
                with pytest.raises(KeyError):
                    index[key]
                with pytest.raises(KeyError):
                    del index[key]
        elif op < 0.81:
            pairs = [(b"key:%d" % rng.randrange(keyspace), rng.randrange(1 << 32))
                     for _ in range(rng.randrange(200))]
            index.update(iter(pairs))
            model.update(pairs)
        elif op < 0.812:  # most keys go: the table shrinks
            for gone in list(model)[:len(model) * 15 // 16]:
                assert index.pop(gone) == model.pop(gone)
            assert index.capacity <= max(8, 8 * len(model))
        assert len(index) == len(model)
        assert bool(index) == bool(model)
    assert sorted(index.items()) == sorted(model.items())
    assert sorted(index) == sorted(model)


@pytest.mark.parametrize("keyspace", [4, 100, 5000, 60000])
def test_random_operations_give_what_a_dict_gives(keyspace):
    random_ops(random.Random(keyspace), keyspace, 150_000)


def test_growth_past_many_resizes_keeps_every_key():
    index = KeyIndex()
    capacities = set()
    for i in range(300_000):
        index[b"k%d" % i] = i
        capacities.add(index.capacity)
    assert len(capacities) > 10
    assert all(index[b"k%d" % i] == i for i in range(300_000))
    assert index.capacity * 3 >= len(index) * 4  # at most three quarters full


# Past this many slots (_keyindex.c's SYNC_RESIZE_MAX) a table is rebuilt incrementally.
SYNC_RESIZE_MAX = 16384


def grown_past_a_rebuild() -> tuple[object, dict[bytes, int]]:
    """An index that has just started an incremental rebuild, and its model."""
    index, model = KeyIndex(), {}
    i = 0
    while not index.rehashing:
        index[b"k%d" % i] = model[b"k%d" % i] = i
        i += 1
    assert index.capacity > SYNC_RESIZE_MAX
    return index, model


def test_a_large_table_grows_incrementally_and_every_key_stays_reachable():
    index, model = grown_past_a_rebuild()
    slots = index.capacity
    assert sys.getsizeof(index) > sys.getsizeof(KeyIndex()) + SLOT * slots  # both tables
    # Mid-rebuild, keys are in both tables: reads find them (each moves a few slots).
    assert all(index[b"k%d" % i] == i for i in range(0, len(model), 97))
    assert index.rehashing
    added = 0
    while index.rehashing:  # each new key moves a few old slots
        key = b"new%d" % added
        index[key] = model[key] = added
        added += 1
        if added % 7 == 0:  # deletes, from either table, move some too
            victim = b"k%d" % (added * 13)
            assert index.pop(victim, -1) == model.pop(victim, -1)
    # A bounded pace: the old table (3/4 of slots / 2) emptied in a fraction of its keys.
    assert 0 < added < len(model) // 4
    assert index.capacity == slots
    assert sorted(index.items()) == sorted(model.items())
    assert sys.getsizeof(index) == sys.getsizeof(KeyIndex()) + SLOT * index.capacity


def test_rehash_finishes_a_rebuild_but_not_under_a_live_iterator():
    index, model = grown_past_a_rebuild()
    it = index.items()
    assert index.rehash(1 << 30) is True  # the iterator walks both tables: nothing moves
    seen = [next(it) for _ in range(len(model) // 2)]
    seen += list(it)  # the rest; exhausted, the iterator lets go of the table
    assert sorted(seen) == sorted(model.items())  # every key once, from both tables
    assert index.rehash(0) is True
    assert index.rehash(1 << 30) is False and not index.rehashing
    assert sorted(index.items()) == sorted(model.items())
    with pytest.raises(ValueError):
        index.rehash(-1)


def test_an_iterator_freed_early_lets_rehash_move_slots():
    index, _ = grown_past_a_rebuild()
    it = iter(index)
    next(it)
    assert index.rehash(1 << 30) is True
    del it
    assert index.rehash(1 << 30) is False


def test_reads_alone_finish_a_rebuild():
    index, model = grown_past_a_rebuild()
    reads = 0
    while index.rehashing:
        assert index.get(b"k%d" % (reads % len(model))) == reads % len(model)
        reads += 1
    # READ_STEP (4) old slots a read, and the old table had fewer slots than the new one.
    assert 0 < reads <= index.capacity // 4 + 1
    assert sys.getsizeof(index) == sys.getsizeof(KeyIndex()) + SLOT * index.capacity


def test_a_write_during_a_rebuild_invalidates_an_iterator():
    index, _ = grown_past_a_rebuild()
    it = iter(index)
    next(it)
    index[b"another"] = 1
    with pytest.raises(RuntimeError):
        next(it)


def test_a_shrink_of_a_large_table_then_regrowth_stays_correct():
    """Most keys deleted: the table shrinks incrementally; new keys arriving while it does
    must not overfill the small table (the pace rises with its room)."""
    index, model = KeyIndex(), {}
    for i in range(200_000):
        index[b"k%d" % i] = model[b"k%d" % i] = i
    while index.rehashing:
        index.rehash(1000)
    for i in range(0, 200_000):
        if i % 16:
            del index[b"k%d" % i]
            del model[b"k%d" % i]
    assert index.capacity <= 8 * len(model)
    for i in range(100_000):
        index[b"n%d" % i] = model[b"n%d" % i] = i
    index.rehash(1 << 30)
    assert index.capacity * 3 >= len(index) * 4  # at most three quarters full
    assert sorted(index.items()) == sorted(model.items())


@pytest.mark.parametrize("seed", [1, 2])
def test_random_operations_on_a_large_keyspace_give_what_a_dict_gives(seed):
    # 100k keys: tables past SYNC_RESIZE_MAX, so growth and shrinking are incremental.
    random_ops(random.Random(seed), 100_000, 200_000)


def test_deleting_every_key_frees_the_table():
    index = KeyIndex()
    for i in range(1000):
        index[b"k%d" % i] = i
    for i in range(1000):
        del index[b"k%d" % i]
    assert index.capacity == 0
    assert sys.getsizeof(index) == sys.getsizeof(KeyIndex())


def test_sizeof_counts_the_slots():
    index = KeyIndex()
    empty = sys.getsizeof(index)
    for i in range(100):
        index[b"k%d" % i] = i
    assert sys.getsizeof(index) == empty + SLOT * index.capacity


def test_codes_use_all_63_bits():
    index = KeyIndex()
    index[b"a"] = (1 << 63) - 1
    index[b"b"] = 0
    assert (index[b"a"], index.get(b"b")) == ((1 << 63) - 1, 0)


@pytest.mark.parametrize("code", [-1, 1 << 63])
def test_codes_outside_63_bits_are_refused(code):
    with pytest.raises(OverflowError):
        KeyIndex()[b"a"] = code


def test_a_code_that_is_not_an_int_is_refused():
    with pytest.raises(TypeError):
        KeyIndex()[b"a"] = 1.0


@pytest.mark.parametrize("key", ["text", 1, bytearray(b"k"), memoryview(b"k")])
def test_keys_other_than_bytes_are_refused(key):
    index = KeyIndex()
    with pytest.raises(TypeError):
        index[key] = 1
    with pytest.raises(TypeError):
        index.get(key)
    with pytest.raises(TypeError):
        key in index  # noqa: B015
    with pytest.raises(TypeError):
        index.pop(key, None)


def test_update_refuses_an_element_that_is_not_a_pair():
    index = KeyIndex()
    with pytest.raises(ValueError):
        index.update([(b"a", 1, 2)])
    with pytest.raises(TypeError):
        index.update([5])


def test_a_size_change_during_iteration_raises():
    index = KeyIndex()
    for i in range(10):
        index[b"k%d" % i] = i
    with pytest.raises(RuntimeError):
        for key in index:
            index[key + b"x"] = 0


def test_changing_codes_during_iteration_is_allowed():
    index = KeyIndex()
    for i in range(10):
        index[b"k%d" % i] = i
    for key, code in index.items():
        index[key] = code + 100
    assert sorted(index.items()) == sorted((b"k%d" % i, i + 100) for i in range(10))


def test_a_deleted_key_is_released():
    key = b"released-" + bytes(8)  # not interned: only this test refers to it
    before = sys.getrefcount(key)
    index = KeyIndex()
    index[key] = 1
    assert sys.getrefcount(key) == before + 1
    index[key] = 2  # a new code keeps the one reference
    assert sys.getrefcount(key) == before + 1
    del index[key]
    assert sys.getrefcount(key) == before
    index[key] = 3
    del index
    gc.collect()
    assert sys.getrefcount(key) == before


def test_creating_and_deleting_keys_leaks_nothing():
    def churn() -> None:
        index = KeyIndex()
        for _ in range(3):
            for i in range(50_000):
                index[b"churn:%d" % i] = i
            for i in range(0, 50_000, 2):
                index.pop(b"churn:%d" % i)
            for i in range(1, 50_000, 2):
                del index[b"churn:%d" % i]

    churn()  # warm caches (interned ints, free lists)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            churn()
        assert tracemalloc.get_traced_memory()[0] - base < 4096
    finally:
        tracemalloc.stop()


# --- prefetch: a hint that changes nothing ---

POS_MASK = 0xFFFF_FFFF  # keyspace/ttls.py: a code's position bits
PREFETCH_MIN_KEYS = 4096  # _keyindex.c: smaller tables are not walked


class BytesKey(bytes):
    pass


def keyspace(rng: random.Random, size: int) -> tuple[KeyIndex, list, array]:
    """An index with its kv list and meta words as database.py lays them out; some codes
    carry TTL bits above the position."""
    index, kv, meta = KeyIndex(), [], array("Q")
    for pos in range(size):
        key = b"key:%d" % pos
        index[key] = pos | (rng.randrange(3) << 32)
        kv += [key, b"value:%d" % pos]
        meta.append(rng.randrange(1 << 40))
    return index, kv, meta


def odd_requests(rng: random.Random, size: int) -> list:
    """Requests of every shape prefetch must skip or survive, among hits and misses."""
    shapes = [
        lambda: [b"GET", b"key:%d" % rng.randrange(size)],
        lambda: [b"SET", b"key:%d" % rng.randrange(size), b"v"],
        lambda: [b"GET", b"missing:%d" % rng.randrange(size)],
        lambda: [b"PING"],
        lambda: [],
        lambda: [b"GET", "key:1"],
        lambda: [b"GET", 7],
        lambda: [b"GET", bytearray(b"key:1")],
        lambda: [b"GET", BytesKey(b"key:2")],
        lambda: [b"EVAL", b"x" * 5000, b"0"],
        lambda: (b"GET", b"key:3"),
        lambda: None,
    ]
    return [rng.choice(shapes)() for _ in range(rng.randrange(1, 40))]


def refcounts(*groups: list) -> list[int]:
    """The objects' reference counts, but for None and constants shared with the rest of
    the process (b"GET", small ints), whose counts move with whatever else runs."""
    return [sys.getrefcount(obj) for group in groups for obj in group
            if obj is not None and sys.getrefcount(obj) < 1000]


def test_prefetch_of_random_batches_changes_no_result_and_no_refcount():
    rng = random.Random(22)
    index, kv, meta = keyspace(rng, PREFETCH_MIN_KEYS + 1000)
    before = sorted(index.items())
    words = meta.tolist()
    for _ in range(300):
        requests = odd_requests(rng, PREFETCH_MIN_KEYS + 1000)
        args = [arg for argv in requests if isinstance(argv, (list, tuple)) for arg in argv]
        counts = refcounts(kv, requests, args)
        start = rng.randrange(-2, len(requests) + 2)
        stop = rng.choice([start + 16, len(requests), start - 1, 10**30])
        assert index.prefetch(requests, start, stop, kv, meta) is None
        assert refcounts(kv, requests, args) == counts
    assert sorted(index.items()) == before
    assert meta.tolist() == words
    assert kv[1::2] == [b"value:%d" % pos for pos in range(len(kv) // 2)]


def test_prefetch_after_deletes_and_resizes_changes_nothing():
    rng = random.Random(7)
    index, kv, meta = keyspace(rng, 30_000)
    for pos in range(0, 30_000, 3):  # tombstones, then a smaller table
        del index[b"key:%d" % pos]
    for pos in range(30_000, 40_000):  # growth: every key rehashed
        index[b"key:%d" % pos] = pos
    before = sorted(index.items())
    requests = [[b"GET", b"key:%d" % rng.randrange(40_000)] for _ in range(64)]
    counts = refcounts(kv, requests, [argv[1] for argv in requests])
    # kv and meta shorter than the codes' positions (the new keys are past their end)
    assert index.prefetch(requests, 0, 64, kv, meta) is None
    assert index.prefetch(requests, 0, 64, kv[:10], array("Q")) is None
    assert refcounts(kv, requests, [argv[1] for argv in requests]) == counts
    assert sorted(index.items()) == before


@pytest.mark.parametrize("args", [
    ("not a list", 0, 16, [], array("Q")),
    ([[b"GET", b"key:1"]], "0", 16, [], array("Q")),
    ([[b"GET", b"key:1"]], 0, 1.5, [], array("Q")),
    ([[b"GET", b"key:1"]], -1, 1 << 70, [], array("Q")),
    ([[b"GET", b"key:1"]], 0, 16, ("not", "a list"), array("Q")),
    ([[b"GET", b"key:1"]], 0, 16, [], [1, 2]),
    ([[b"GET", b"key:1"]], 0, 16, [], b"bytes are a buffer"),
    ([[b"GET", b"key:1"]], 0, 16, [], array("b", [1, 2, 3])),
])
def test_prefetch_skips_arguments_of_another_kind_without_raising(args):
    index, kv, meta = keyspace(random.Random(1), PREFETCH_MIN_KEYS)
    assert index.prefetch(*args) is None
    assert len(index) == PREFETCH_MIN_KEYS


def test_prefetch_on_an_empty_or_small_table_does_nothing():
    requests = [[b"GET", b"key:%d" % i] for i in range(16)]
    for size in (0, 10):
        index, kv, meta = keyspace(random.Random(size), size)
        assert index.prefetch(requests, 0, 16, kv, meta) is None
        assert len(index) == size


def test_prefetch_takes_five_arguments():
    with pytest.raises(TypeError):
        KeyIndex().prefetch([], 0, 16)


# --- read: the keyspace's lookup for a read, its clock touched ---

def test_read_gives_what_the_pure_read_gives():
    from redslot.node.base.keyindex import _read

    rng = random.Random(5)
    index, kv, meta = keyspace(rng, 3000)
    model, model_meta = dict(index.items()), array("Q", meta)
    for _ in range(20_000):
        key = b"key:%d" % rng.randrange(4000)  # a quarter absent
        clock = rng.choice([-1, 0, rng.randrange(1 << 24)])
        assert index.read(key, kv, meta, clock) == _read(model, key, kv, model_meta, clock)
    assert meta == model_meta


def test_read_touches_only_the_clock_bits():
    index, kv, meta = KeyIndex(), [b"k", b"v"], array("Q", [(123 << 24) | 5])
    index[b"k"] = 0
    assert index.read(b"k", kv, meta, 0xABCDEF) == b"v"
    assert meta[0] == (123 << 24) | 0xABCDEF
    assert index.read(b"k", kv, meta, -1) == b"v"  # CLIENT NO-TOUCH: untouched
    assert meta[0] == (123 << 24) | 0xABCDEF


def test_read_gives_a_key_with_a_ttl_its_code_untouched():
    index, kv, meta = KeyIndex(), [b"k", b"v"], array("Q", [7])
    index[b"k"] = 0 | (3 << 32)
    assert index.read(b"k", kv, meta, 99) == 3 << 32
    assert index.read(b"absent", kv, meta, 99) is None
    assert meta[0] == 7


def test_read_returns_the_value_with_its_own_reference():
    value = b"value-" + bytes(8)
    index, kv, meta = KeyIndex(), [b"k", value], array("Q", [0])
    index[b"k"] = 0
    before = sys.getrefcount(value)
    got = index.read(b"k", kv, meta, 1)
    assert got is value and sys.getrefcount(value) == before + 1
    del got
    assert sys.getrefcount(value) == before


def test_read_refuses_what_the_keyspace_never_passes():
    index, kv = KeyIndex(), [b"k", b"v"]
    index[b"k"] = 0
    with pytest.raises(TypeError):
        index.read("k", kv, array("Q", [0]), 1)
    with pytest.raises(TypeError):
        index.read(b"k", kv, array("I", [0]), 1)  # not 64-bit words
    with pytest.raises(IndexError):
        index.read(b"k", kv, array("Q"), 1)  # no meta word at the position
    with pytest.raises(TypeError):
        index.read(b"k", tuple(kv), array("Q", [0]), 1)


def first_incremental_rebuild() -> int:
    """How many keys DEBUG POPULATE adds until the keyspace index starts its first
    incremental rebuild: the triggers depend only on the count of keys inserted."""
    index = KeyIndex()
    n = 0
    while not index.rehashing:
        index[b"key:%d" % n] = n
        n += 1
    return n


def main_table_bytes(r) -> int:
    stats = r.execute_command("MEMORY", "STATS")
    return stats[b"db.0"][b"overhead.hashtable.main"]


def test_the_cron_finishes_a_rebuild_of_the_keyspace_index_with_no_command_coming(r):
    """activerehashing, as Redis's: a large index's rebuild that no command pushes on is
    moved on by the cron, and the old table freed; with it off, nothing moves."""
    n = first_incremental_rebuild()
    r.config_set("hz", 100)
    try:
        r.config_set("activerehashing", "no")
        r.execute_command("DEBUG", "POPULATE", n)
        during = main_table_bytes(r)  # MEMORY STATS looks up no key: the rebuild waits
        time.sleep(0.3)
        assert main_table_bytes(r) == during
        r.config_set("activerehashing", "yes")
        deadline = time.monotonic() + 10
        while main_table_bytes(r) > during - SLOT * SYNC_RESIZE_MAX:  # the old table freed
            assert time.monotonic() < deadline, "the cron did not finish the rebuild"
            time.sleep(0.05)
        assert r.dbsize() == n
        assert r.get(b"key:0") == b"value:0" and r.get(b"key:%d" % (n - 1)) == b"value:%d" % (n - 1)
    finally:
        r.config_set("hz", 10)
        r.config_set("activerehashing", "yes")
