"""HyperLogLog against Debian's redis-server: the same replies and the same bytes.

An HLL is a string, so the strongest check is GET: after the same commands both servers
must hold byte-identical values (sparse opcodes, dense registers, the cached cardinality
and its stale bit), and PFCOUNT must give the same estimate. Streams are random with
fixed seeds; values are also corrupted on purpose, to get the same errors.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import pytest
import redis
from differential import Request, assert_same, assert_same_resp3, retrailer
from nodes import ServerProcess, check_footprint, free_port, start_node, start_redis_server
from redslot.node.types import hll_sparse, hyperloglog
from redslot.node.types.hll_value import add, count
from redslot.node.types.rdb import RDB_VERSION
from replication_wait import until
from resp import RawClient


@pytest.fixture
def raw(node: ServerProcess, reference: ServerProcess) -> Iterator[tuple[RawClient, RawClient]]:
    """Raw connections to the node and the reference, both flushed, default config."""
    pair = (RawClient(node.port, timeout=60), RawClient(reference.port, timeout=60))
    for c in pair:
        c.call("FLUSHALL")
        c.call("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
    yield pair
    for c in pair:
        c.close()
    check_footprint(node)


def same(pair: tuple[RawClient, RawClient], *request: bytes | str | int) -> bytes:
    """Send one request to both servers; their raw replies must be equal."""
    ours, theirs = (c.call(*request) for c in pair)
    assert ours == theirs, f"{request[:3]!r}: redslot {ours[:300]!r} != redis {theirs[:300]!r}"
    return ours


def elements(rng: random.Random, n: int, prefix: str = "e") -> list[bytes]:
    """Random elements of varied lengths (the hash reads 8-byte blocks and a tail)."""
    return [f"{prefix}{rng.randrange(10**12)}".encode() * rng.choice((1, 1, 2, 5))
            for _ in range(n)]


def feed(pair: tuple[RawClient, RawClient], rng: random.Random, key: str, items: list[bytes],
         max_batch: int, check_every: int = 0) -> None:
    """PFADD ``items`` in random batches, checking GET (and now and then PFCOUNT) between."""
    i = step = 0
    while i < len(items):
        size = rng.randint(1, max_batch)
        same(pair, "PFADD", key, *items[i:i + size])
        i += size
        step += 1
        if check_every and step % check_every == 0:
            same(pair, "GET", key)
            if rng.random() < 0.5:
                same(pair, "PFCOUNT", key)


# --- PFADD and PFCOUNT ---

@pytest.mark.parametrize("seed,n,max_batch", [
    (1, 1, 1), (2, 12, 3), (3, 200, 5), (4, 1500, 8), (5, 2500, 20), (6, 6000, 40),
    (7, 30000, 300),
])
def test_pfadd_streams_leave_the_same_bytes_and_counts(raw, seed, n, max_batch):
    rng = random.Random(seed)
    items = elements(rng, n)
    items += rng.sample(items, min(len(items), 50))  # repeats change nothing
    feed(raw, rng, "h", items, max_batch, check_every=max(1, n // max_batch // 20))
    same(raw, "PFDEBUG", "ENCODING", "h")
    same(raw, "GET", "h")
    same(raw, "PFCOUNT", "h")
    same(raw, "GET", "h")


def test_a_million_elements_count_as_redis_counts_them(raw):
    rng = random.Random(8)
    for batch in range(40):
        items = [b"%d:%d" % (batch, rng.getrandbits(48)) for _ in range(25000)]
        same(raw, "PFADD", "big", *items)
        if batch % 10 == 9:
            same(raw, "PFCOUNT", "big")
    same(raw, "GET", "big")
    assert 950_000 < int(same(raw, "PFCOUNT", "big")[1:-2]) < 1_050_000


def test_the_cached_cardinality_is_written_and_invalidated_as_redis_does(raw):
    for request in [
        ("PFADD", "h"), ("GET", "h"), ("PFCOUNT", "h"), ("GET", "h"),
        ("PFADD", "h", "a", "b", "c"), ("GET", "h"), ("PFCOUNT", "h"), ("GET", "h"),
        ("PFADD", "h", "a"), ("GET", "h"), ("PFCOUNT", "h"), ("PFCOUNT", "missing"),
        ("EXISTS", "missing"), ("PFADD", "h2", "x"), ("PFCOUNT", "h2"), ("PFDEBUG", "TODENSE", "h2"),
        ("GET", "h2"), ("PFADD", "h2", "y"), ("GET", "h2"), ("PFCOUNT", "h2"), ("GET", "h2"),
    ]:
        same(raw, *request)


def test_a_stale_cache_is_counted_on_the_values_registers(raw):
    """A value SET with a valid-looking cache is believed; with the stale bit, recounted."""
    sparse = hyperloglog.new_hll()
    for element in (b"a", b"b", b"c"):
        add(sparse, element, 3000)
    trusted = bytearray(sparse)
    trusted[8:16] = (12345).to_bytes(8, "little")
    for request in [
        ("SET", "stale", bytes(sparse)), ("PFCOUNT", "stale"), ("GET", "stale"),
        ("SET", "trusted", bytes(trusted)), ("PFCOUNT", "trusted"), ("GET", "trusted"),
        ("PFCOUNT", "trusted", "stale"),
    ]:
        same(raw, *request)


def test_pfcount_of_several_keys_counts_their_union_and_changes_nothing(raw):
    rng = random.Random(9)
    feed(raw, rng, "sparse", elements(rng, 300, "s"), 10)
    feed(raw, rng, "dense", elements(rng, 9000, "d"), 200)
    feed(raw, rng, "other", elements(rng, 40, "s"), 10)
    before = [same(raw, "GET", key) for key in ("sparse", "dense", "other")]
    for keys in [("sparse", "other"), ("sparse", "dense"), ("dense", "dense"),
                 ("missing", "sparse"), ("missing", "nope"), ("dense", "sparse", "other")]:
        same(raw, "PFCOUNT", *keys)
    assert [same(raw, "GET", key) for key in ("sparse", "dense", "other")] == before


# --- PFMERGE ---

def test_pfmerge_of_sparse_and_dense_values(raw):
    rng = random.Random(10)
    feed(raw, rng, "s1", elements(rng, 100, "a"), 10)
    feed(raw, rng, "s2", elements(rng, 150, "b"), 10)
    feed(raw, rng, "s3", elements(rng, 900, "c"), 30)
    feed(raw, rng, "d1", elements(rng, 5000, "d"), 200)
    for request in [
        ("PFMERGE", "m1", "s1", "s2"), ("GET", "m1"), ("PFDEBUG", "ENCODING", "m1"),
        ("PFMERGE", "m2", "s1", "d1"), ("GET", "m2"),
        ("PFMERGE", "s1", "s2", "s3"), ("GET", "s1"), ("PFDEBUG", "ENCODING", "s1"),
        ("PFMERGE", "s2", "d1"), ("GET", "s2"),
        ("PFMERGE", "d1", "s3", "missing"), ("GET", "d1"),
        ("PFMERGE", "empty"), ("GET", "empty"), ("PFMERGE", "empty2", "missing"),
        ("GET", "empty2"), ("PFMERGE", "m1"), ("GET", "m1"), ("PFCOUNT", "m1"),
        ("PFCOUNT", "m2"), ("PFCOUNT", "s1"), ("PFCOUNT", "d1"), ("GET", "d1"),
    ]:
        same(raw, *request)


def test_pfmerge_of_sparse_values_turns_dense_past_the_size_limit(raw):
    rng = random.Random(11)
    keys = [f"k{i}" for i in range(6)]
    for key in keys:
        feed(raw, rng, key, elements(rng, 500, key), 25)
        same(raw, "PFDEBUG", "ENCODING", key)
    same(raw, "PFMERGE", "union", *keys)
    same(raw, "PFDEBUG", "ENCODING", "union")
    same(raw, "GET", "union")
    same(raw, "PFCOUNT", "union")


@pytest.mark.parametrize("limit", ["0", "40", "700", "20000"])
def test_hll_sparse_max_bytes_decides_when_a_value_turns_dense(raw, limit):
    rng = random.Random(int(limit) + 12)
    for c in raw:
        c.call("CONFIG", "SET", "hll-sparse-max-bytes", limit)
    same(raw, "CONFIG", "GET", "hll-sparse-max-bytes")
    feed(raw, rng, "h", elements(rng, 3000), 15, check_every=20)
    feed(raw, rng, "g", elements(rng, 80), 4)
    same(raw, "PFMERGE", "u", "g", "missing")
    for request in [("GET", "h"), ("PFDEBUG", "ENCODING", "h"), ("GET", "u"),
                    ("PFDEBUG", "ENCODING", "u")]:
        same(raw, *request)


def test_hll_sparse_max_bytes_rejects_what_redis_rejects(node, reference):
    assert_same(node, reference, [
        ("CONFIG", "SET", "hll-sparse-max-bytes", "-1"),
        ("CONFIG", "SET", "hll-sparse-max-bytes", "abc"),
        ("CONFIG", "SET", "hll-sparse-max-bytes", "1kb"),
        ("CONFIG", "GET", "hll-sparse-max-bytes"),
        ("CONFIG", "SET", "hll-sparse-max-bytes", "3000"),
    ])


# --- PFDEBUG and PFSELFTEST ---

def test_pfdebug_subcommands_reply_as_redis(raw):
    rng = random.Random(13)
    feed(raw, rng, "h", elements(rng, 60), 6)
    for request in [
        ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "encoding", "h"),
        ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "DECODE", "h"),
        ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "GETREG", "h"), ("PFADD", "s", "a", "b"),
        ("PFDEBUG", "GETREG", "s"), ("PFDEBUG", "ENCODING", "s"), ("GET", "s"),
        ("PFDEBUG", "NOPE", "h"), ("PFDEBUG", "NOPE", "missing"), ("PFDEBUG", "GETREG", "missing"),
        ("PFDEBUG", "GETREG"), ("PFDEBUG", "GETREG", "h", "x"), ("SET", "str", "x"),
        ("PFDEBUG", "GETREG", "str"), ("RPUSH", "list", "x"), ("PFDEBUG", "DECODE", "list"),
    ]:
        same(raw, *request)


def test_pfselftest_passes(raw):
    same(raw, "PFSELFTEST")
    same(raw, "PFSELFTEST", "extra")


def test_resp3_replies_match(node, reference):
    assert_same_resp3(node, reference, [
        ("PFADD", "h", "a", "b", "c"), ("PFADD", "h", "a"), ("PFCOUNT", "h"),
        ("PFCOUNT", "h", "x"), ("PFMERGE", "m", "h"), ("PFDEBUG", "ENCODING", "m"),
        ("PFDEBUG", "DECODE", "m"), ("PFDEBUG", "GETREG", "m"), ("PFDEBUG", "TODENSE", "h"),
        ("GET", "m"), ("PFDEBUG", "NOPE", "m"), ("SET", "s", "x"), ("PFADD", "s", "a"),
    ])


# --- errors and corrupted values ---

SPARSE_HEADER = b"HYLL\x01\x00\x00\x00" + bytes(8)
DENSE_HEADER = b"HYLL\x00\x00\x00\x00" + bytes(8)


def test_values_that_are_not_hlls_are_refused(node, reference):
    script: list[Request] = [
        ("SET", "short", "HYLL"), ("SET", "magic", b"HYLX" + SPARSE_HEADER[4:] + b"\x7f\xff"),
        ("SET", "enc", b"HYLL\x02" + SPARSE_HEADER[5:] + b"\x7f\xff"),
        ("SET", "dense", DENSE_HEADER + bytes(100)), ("SET", "int", "12345678901234567"),
        ("RPUSH", "list", "x"),
    ]
    for key in ("short", "magic", "enc", "dense", "int", "list"):
        script += [("PFADD", key, "a"), ("PFCOUNT", key), ("PFCOUNT", key, "x"),
                   ("PFMERGE", "dest", key), ("PFMERGE", key, "x"), ("PFDEBUG", "GETREG", key)]
    script += [("EXISTS", "dest"), ("PFADD",), ("PFCOUNT",), ("PFMERGE",), ("PFDEBUG", "GETREG")]
    assert_same(node, reference, script)
    with redis.Redis(port=node.port) as ours, redis.Redis(port=reference.port) as theirs:
        fields = ("errorstat_WRONGTYPE",)
        assert [ours.info("errorstats").get(f) for f in fields] == [
            theirs.info("errorstats").get(f) for f in fields]


CORRUPT = [
    SPARSE_HEADER + b"\x7f\xfe",  # one register short
    SPARSE_HEADER + b"\x7f\xff\x00",  # one too many
    SPARSE_HEADER + b"\x7f\xff\x80",  # a VAL past the last register
    SPARSE_HEADER + b"\x7f",  # an XZERO cut by the end of the string
    SPARSE_HEADER + b"\x3f" * 256,  # exactly 16384 in ZERO opcodes
    SPARSE_HEADER,  # no opcodes at all
    SPARSE_HEADER + b"\x84\x7f\xfe",
    SPARSE_HEADER + b"\x80" * 16384,
]


@pytest.mark.parametrize("value", CORRUPT, ids=range(len(CORRUPT)))
def test_corrupted_sparse_values_fail_as_in_redis(raw, value):
    for request in [
        ("SET", "v", value), ("PFCOUNT", "v"), ("PFCOUNT", "v", "v"), ("PFMERGE", "m", "v"),
        ("EXISTS", "m"), ("PFDEBUG", "DECODE", "v"), ("PFDEBUG", "GETREG", "v"),
        ("SET", "v", value), ("PFADD", "v", "a", "b", "c", "d", "e"), ("GET", "v"),
        ("SET", "v", value), ("PFDEBUG", "TODENSE", "v"), ("GET", "v"),
        ("SET", "v", value), ("PFMERGE", "v", "missing"), ("GET", "v"),
    ]:
        same(raw, *request)


def test_randomly_damaged_sparse_values_behave_as_in_redis(raw):
    rng = random.Random(14)
    for _ in range(60):
        value = hyperloglog.new_hll()
        for element in elements(rng, rng.randint(1, 400)):
            add(value, element, 3000)
        damaged = bytearray(value)
        for _ in range(rng.randint(1, 3)):
            what = rng.random()
            if what < 0.4:
                damaged[rng.randrange(16, len(damaged))] = rng.randrange(256)
            elif what < 0.7:
                del damaged[rng.randrange(16, len(damaged)):]
            else:
                damaged += bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        same(raw, "SET", "v", bytes(damaged))
        same(raw, "PFADD", "v", *elements(rng, rng.randint(1, 20)))
        same(raw, "GET", "v")
        same(raw, "PFCOUNT", "v")
        same(raw, "PFCOUNT", "v", "missing")
        same(raw, "PFMERGE", "m", "v")
        same(raw, "GET", "m")
        same(raw, "DEL", "m")


def test_a_dense_value_with_registers_above_the_sparse_limit(raw):
    """Registers up to 63 (a hand-made dense value) count and merge as in Redis."""
    rng = random.Random(15)
    registers = bytes(rng.choice((0, 1, 2, 33, 40, 51, 52, 63)) for _ in range(16384))
    dense = DENSE_HEADER[:15] + b"\x80" + hyperloglog.pack(int.from_bytes(registers, "little"))
    for request in [
        ("SET", "d", dense), ("PFCOUNT", "d"), ("GET", "d"), ("PFADD", "s", "a"),
        ("PFMERGE", "s", "d"), ("GET", "s"), ("PFCOUNT", "s", "d"), ("PFDEBUG", "GETREG", "d"),
    ]:
        same(raw, *request)


# --- the value as a string: encodings, memory, DUMP/RESTORE, WATCH, dirty ---

def test_object_encoding_and_memory_usage_match(raw):
    rng = random.Random(16)
    feed(raw, rng, "s", elements(rng, 120), 6)
    feed(raw, rng, "d", elements(rng, 4000), 100)
    same(raw, "SET", "copy", same(raw, "GET", "s")[same(raw, "GET", "s").index(b"\n") + 1:-2])
    for request in [
        ("OBJECT", "ENCODING", "s"), ("MEMORY", "USAGE", "s"), ("OBJECT", "ENCODING", "d"),
        ("MEMORY", "USAGE", "d"), ("OBJECT", "ENCODING", "copy"), ("MEMORY", "USAGE", "copy"),
        ("PFCOUNT", "copy"), ("OBJECT", "ENCODING", "copy"), ("MEMORY", "USAGE", "copy"),
        ("PFADD", "copy", "zz"), ("MEMORY", "USAGE", "copy"), ("PFADD", "fresh"),
        ("MEMORY", "USAGE", "fresh"), ("STRLEN", "d"), ("TYPE", "d"),
    ]:
        same(raw, *request)


def test_dump_and_restore_carry_hlls_both_ways(node, reference):
    rng = random.Random(17)
    with redis.Redis(port=node.port) as ours, redis.Redis(port=reference.port) as theirs:
        for r in (ours, theirs):
            r.flushall()
        for key, n in (("s", 200), ("d", 5000)):
            items = elements(rng, n)
            for i in range(0, n, 500):
                ours.pfadd(key, *items[i:i + 500])
                theirs.pfadd(key, *items[i:i + 500])
            ours.pfcount(key)
            theirs.pfcount(key)
            mine, ref = ours.dump(key), theirs.dump(key)
            assert mine == retrailer(ref, RDB_VERSION)
            ours.restore(key + "-theirs", 0, ref)
            theirs.restore(key + "-ours", 0, retrailer(mine, 10))
            assert ours.get(key + "-theirs") == theirs.get(key + "-ours") == ours.get(key)
            assert ours.pfadd(key + "-theirs", "new") == theirs.pfadd(key + "-ours", "new")
            assert ours.pfcount(key + "-theirs") == theirs.pfcount(key + "-ours")
            assert ours.get(key + "-theirs") == theirs.get(key + "-ours")


TRANSACTIONS: Sequence[tuple[list[Request], list[Request]]] = [
    ([("PFADD", "h", "a")], [("PFADD", "h", "a")]),  # no register changes: EXEC runs
    ([("PFADD", "h", "a")], [("PFADD", "h", "zzz")]),
    ([("PFADD", "h", "b")], [("PFCOUNT", "h")]),  # the count is stored: EXEC aborts
    ([("PFADD", "h", "b"), ("PFCOUNT", "h")], [("PFCOUNT", "h")]),
    ([("PFADD", "h", "c")], [("PFCOUNT", "h", "other")]),
    ([("PFADD", "h", "c")], [("PFMERGE", "h", "missing")]),
    ([("PFADD", "h", "c")], [("PFDEBUG", "TODENSE", "h")]),  # dirty, not signalled
]


@pytest.mark.parametrize("setup,between", TRANSACTIONS)
def test_watch_sees_the_changes_redis_signals(node, reference, setup, between):
    outcomes = []
    for server in (node, reference):
        with RawClient(server.port) as watcher, RawClient(server.port) as other:
            watcher.call("FLUSHALL")
            for request in setup:
                watcher.call(*request)
            watcher.call("WATCH", "h")
            for request in between:
                other.call(*request)
            watcher.call("MULTI")
            watcher.call("PING")
            outcomes.append(watcher.call("EXEC"))
    assert outcomes[0] == outcomes[1]


def test_changes_are_counted_dirty_as_in_redis(raw):
    def dirty(c: RawClient) -> int:
        info = c.call("INFO", "persistence").decode()
        return int(info.split("rdb_changes_since_last_save:")[1].split("\r\n")[0])

    for request in [
        ("PFADD", "h", "a", "b", "c", "d"), ("PFADD", "h", "a"), ("PFADD", "new"),
        ("PFADD", "new2", "x", "y"), ("PFCOUNT", "h"), ("PFCOUNT", "h"), ("PFCOUNT", "h", "new"),
        ("PFMERGE", "m", "h"), ("PFMERGE", "m", "h"), ("PFDEBUG", "TODENSE", "m"),
        ("PFDEBUG", "GETREG", "h"), ("PFDEBUG", "ENCODING", "m"),
    ]:
        before = [dirty(c) for c in raw]
        same(raw, *request)
        after = [dirty(c) for c in raw]
        assert after[0] - before[0] == after[1] - before[1], request


# --- replication, persistence, cluster ---


def hll_workload(r: redis.Redis) -> None:
    rng = random.Random(18)
    r.pfadd("sparse", *elements(rng, 100))
    r.pfcount("sparse")  # propagated: the replica stores the count too
    r.pfadd("dense", *elements(rng, 5000))
    r.pfadd("sparse", "more")
    r.pfmerge("merged", "sparse", "dense")
    r.pfcount("merged")
    r.pfadd("todense", "a", "b")
    r.execute_command("PFDEBUG", "TODENSE", "todense")
    r.pfcount("sparse", "dense")


def test_replicas_of_redslot_hold_the_same_bytes():
    master = start_node()
    replicas = []
    try:
        replicas.append(start_node())
        replicas.append(start_redis_server())
        with redis.Redis(port=master.port, socket_timeout=30) as m:
            for proc in replicas:
                with redis.Redis(port=proc.port) as r:
                    r.replicaof("127.0.0.1", master.port)
                    until(lambda r=r: r.info("replication").get("master_link_status") == "up")
            hll_workload(m)
            offset = m.info("replication")["master_repl_offset"]
            for proc in replicas:
                with redis.Redis(port=proc.port) as r:
                    until(lambda r=r: r.info("replication")["master_repl_offset"] == offset)
                    for key in ("sparse", "dense", "merged", "todense"):
                        assert r.get(key) == m.get(key), key
    finally:
        for proc in (master, *replicas):
            proc.stop()


def test_hlls_survive_debug_reload_and_an_aof_restart():
    proc = start_node("--appendonly", "yes")
    try:
        with redis.Redis(port=proc.port) as r:
            hll_workload(r)
            values = {key: r.get(key) for key in ("sparse", "dense", "merged", "todense")}
            assert r.execute_command("DEBUG", "RELOAD") == b"OK"
            assert {key: r.get(key) for key in values} == values
        proc.stop(keep_dir=True)
        proc = start_node("--appendonly", "yes", "--dir", proc.workdir)
        with redis.Redis(port=proc.port) as r:
            assert {key: r.get(key) for key in values} == values
    finally:
        proc.stop()


def test_keys_of_several_slots_are_refused_in_cluster_mode():
    ours = start_node("--cluster-enabled", "yes")
    try:
        theirs = start_redis_server("--cluster-enabled", "yes", "--cluster-port", str(free_port()))
    except BaseException:
        ours.stop()
        raise
    try:
        for proc in (ours, theirs):
            with redis.Redis(port=proc.port, socket_timeout=10) as r:
                r.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
                until(lambda r=r: b"cluster_state:ok" in r.execute_command("CLUSTER", "INFO"))
        assert_same(ours, theirs, [
            ("PFADD", "{t}a", "x"), ("PFADD", "{t}b", "y"), ("PFCOUNT", "{t}a", "{t}b"),
            ("PFMERGE", "{t}c", "{t}a", "{t}b"), ("PFCOUNT", "a", "b"), ("PFMERGE", "a", "b"),
            ("GET", "{t}c"),
        ])
    finally:
        ours.stop()
        theirs.stop()


# --- the algorithms, without a server ---

# (register, run) of the first n letters, n = 0..17, read from redis-server with PFADD and
# PFDEBUG GETREG: every tail length of MurmurHash64A, with zero to two 8-byte blocks.
REDIS_PATTERNS = [
    (5938, 2), (12352, 1), (15231, 1), (5399, 1), (1261, 5), (7806, 1), (9367, 1),
    (6726, 1), (1868, 4), (2778, 1), (12195, 3), (12084, 1), (3718, 1), (5613, 2),
    (11769, 2), (7360, 3), (15493, 1), (9543, 5),
]


def test_hash_and_run_length_match_redis():
    letters = bytes(range(0x41, 0x41 + 17))
    assert [hyperloglog.pattern(letters[:n]) for n in range(18)] == REDIS_PATTERNS


def test_sparse_set_promotes_registers_above_32():
    value = hyperloglog.new_hll()
    assert hll_sparse.sparse_set(value, 100, 33, 3000) == 1
    assert value[4] == hyperloglog.DENSE
    assert hyperloglog.unpack(value) == 33 << (8 * 100)


def test_unpack_pack_and_histogram_agree_with_a_plain_loop():
    rng = random.Random(19)
    for top in (1, 2, 20, 64):
        registers = bytes(rng.randrange(top) for _ in range(16384))
        raw = int.from_bytes(registers, "little")
        packed = hyperloglog.pack(raw)
        for i in range(0, 16384, 997):
            bit = i * 6
            word = int.from_bytes(packed[bit // 8:bit // 8 + 2], "little")
            assert (word >> (bit % 8)) & 63 == registers[i]
        assert hyperloglog.unpack(packed, 0) == raw
        assert hyperloglog.histogram(raw) == [registers.count(v) for v in range(64)]
        other = bytes(rng.randrange(top) for _ in range(16384))
        merged = hyperloglog.raw_max(raw, int.from_bytes(other, "little"))
        assert hyperloglog.raw_bytes(merged) == bytes(map(max, registers, other))


def test_count_of_a_fresh_value_is_zero():
    assert count(hyperloglog.new_hll()) == 0


def scan_as_redis(value: bytearray, index: int, p: int, first: int, prev: int):
    """hllSparseSet's step 1 as written in C, one opcode at a time: the specification
    of hll_sparse._locate."""
    end = len(value)
    prev_first = pprev = -1
    span = 0
    while p < end:
        b = value[p]
        if b < 0x40:
            span, oplen = b + 1, 1
        elif b & 0x80:
            span, oplen = (b & 3) + 1, 1
        else:
            span, oplen = ((b & 0x3F) << 8 | (value[p + 1] if p + 1 < end else 0)) + 1, 2
        if index <= first + span - 1:
            return p, first, span, prev, prev_first, pprev
        pprev, prev, prev_first = prev, p, first
        p += oplen
        first += span
    return None


def test_the_windowed_opcode_scan_finds_what_redis_scan_finds():
    rng = random.Random(20)
    for trial in range(60):
        value = hyperloglog.new_hll()
        for element in elements(rng, rng.choice((1, 10, 300, 1500))):
            add(value, element, 100_000)
        body = bytearray(value)
        if trial % 3 == 0:  # damaged: opcodes of any kind, an XZERO cut at the end
            body += bytes(rng.randrange(256) for _ in range(rng.randint(1, 600)))
        starts, first = [16], [0]
        while starts[-1] < len(body):  # every opcode's offset and first register
            p = starts[-1]
            b = body[p]
            if 0x40 <= b < 0x80:
                low = body[p + 1] if p + 1 < len(body) else 0
                starts.append(p + 2)
                first.append(first[-1] + ((b & 0x3F) << 8 | low) + 1)
            else:
                starts.append(p + 1)
                first.append(first[-1] + (b + 1 if b < 0x40 else (b & 3) + 1))
        for k in range(len(starts) - 1) if trial % 10 == 1 else ():  # every opcode's start
            assert hll_sparse._locate(body, first[k], 16, 0, -1) == \
                scan_as_redis(body, first[k], 16, 0, -1), (trial, k)
        for _ in range(20):
            k = rng.randrange(len(starts) - 1) if rng.random() < 0.3 else 0
            prev = starts[k - 1] if k else -1
            index = rng.randrange(first[k], first[-1] + 3)
            assert hll_sparse._locate(body, index, starts[k], first[k], prev) == \
                scan_as_redis(body, index, starts[k], first[k], prev), (trial, index, k)


def test_random_mixes_of_hll_and_string_commands_match(raw):
    """PFADD, PFCOUNT, PFMERGE and PFDEBUG interleaved with string edits of the same
    values (SETRANGE, APPEND) and changes of hll-sparse-max-bytes."""
    rng = random.Random(21)
    keys = ["a", "b", "c", "d"]
    for _ in range(400):
        key = rng.choice(keys)
        what = rng.random()
        if what < 0.45:
            request: tuple[bytes | str | int, ...] = (
                "PFADD", key, *elements(rng, rng.choice((1, 3, 30, 200))))
        elif what < 0.6:
            request = ("PFCOUNT", *rng.sample(keys, rng.randint(1, 3)))
        elif what < 0.7:
            request = ("PFMERGE", key, *rng.sample(keys, rng.randint(0, 3)))
        elif what < 0.75:
            request = ("PFDEBUG", rng.choice(("TODENSE", "ENCODING", "DECODE")), key)
        elif what < 0.8:
            request = ("SETRANGE", key, rng.randrange(30), bytes((rng.randrange(256),)))
        elif what < 0.83:
            request = ("APPEND", key, bytes((rng.randrange(256),)))
        elif what < 0.86:
            request = ("DEL", key)
        elif what < 0.88:
            request = ("CONFIG", "SET", "hll-sparse-max-bytes", rng.choice(("60", "600", "3000")))
        else:
            request = ("GET", key)
        same(raw, *request)
    for key in keys:
        same(raw, "GET", key)


def histogram_as_redis(value: bytes | bytearray) -> list[int] | None:
    """hllSparseRegHisto (with the CVE-2025-32023 checks), one opcode at a time."""
    histo = [0] * 64
    idx = 0
    p = 16
    while p < len(value):
        b = value[p]
        if b < 0x40:
            span, kind, p = b + 1, 0, p + 1
        elif b < 0x80:
            low = value[p + 1] if p + 1 < len(value) else 0
            span, kind, p = ((b & 0x3F) << 8 | low) + 1, 0, p + 2
        else:
            span, kind, p = (b & 3) + 1, ((b >> 2) & 31) + 1, p + 1
        if idx + span > 16384:
            return None
        idx += span
        histo[kind] += span
    return histo if idx == 16384 else None


def test_the_sparse_histogram_counts_what_redis_counts():
    rng = random.Random(22)
    for trial in range(200):
        value = hyperloglog.new_hll()
        for element in elements(rng, rng.choice((0, 1, 10, 300, 1500))):
            add(value, element, 100_000)
        body = bytearray(value)
        for _ in range(trial % 4):  # damaged: any byte anywhere, cut, or extended
            what = rng.random()
            if what < 0.4 and len(body) > 16:
                body[rng.randrange(16, len(body))] = rng.randrange(256)
            elif what < 0.7:
                del body[rng.randrange(16, len(body) + 1):]
            else:
                body += bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        assert hll_sparse.sparse_histogram(body) == histogram_as_redis(body), trial
