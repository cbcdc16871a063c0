"""SLOWLOG, LATENCY, MEMORY, OBJECT, DEBUG DIGEST/OBJECT and the LFU counter,
against Debian's redis-server where the reply is deterministic."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator

import hiredis
import pytest
import redis
from differential import assert_same
from nodes import ServerProcess, start_node, start_redis_server
from redslot.node.keyspace.lfu import LFU_INIT_VAL, LfuClock
from redslot.node.types.typeinfo import jemalloc_size
from resp import RawClient


def pair(*directives: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    ours, theirs = start_node(*directives), start_redis_server(*directives)
    try:
        yield ours, theirs
    finally:
        ours.stop()
        theirs.stop()


@pytest.fixture(scope="module")
def slow_pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A node and a redis-server that log every command in the slow log."""
    yield from pair("--slowlog-log-slower-than", "0")


@pytest.fixture(scope="module")
def lfu_pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """allkeys-lfu with lfu-log-factor 0: every access counts, so counters are exact."""
    yield from pair("--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0")


@pytest.fixture(scope="module")
def latency_node() -> Iterator[ServerProcess]:
    proc = start_node("--latency-monitor-threshold", "10")
    yield proc
    proc.stop()


def long_string(n: int, ch: str = "a") -> str:
    return ch * n


# --- help replies ---

@pytest.mark.parametrize("container", ["SLOWLOG", "LATENCY", "MEMORY", "OBJECT", "DEBUG"])
def test_help_lists_subcommands_in_redis_help_layout(r, container):
    lines = [line.decode() for line in r.execute_command(container, "HELP")]
    assert lines[0] == f"{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == ["HELP", "    Prints this help."]
    for line in lines[1:]:
        assert line.startswith("    ") or re.match(r"[A-Z-]+( |$)", line), line


# --- SLOWLOG ---

def test_slowlog_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("SLOWLOG", "GET", "x"),
        ("SLOWLOG", "GET", "-2"),
        ("SLOWLOG", "GET", "1", "2"),
        ("slowlog", "get", "1", "2"),
        ("SLOWLOG", "foo"),
        ("SLOWLOG", "LEN", "x"),
        ("SLOWLOG", "RESET", "x"),
        ("SLOWLOG",),
    ])


def _slowlog_shapes(port: int) -> list[tuple[list[bytes], bytes]]:
    """What the slow log holds for a fixed script: arguments and client name per entry."""
    with RawClient(port) as c:
        c.call("SLOWLOG", "RESET")
        c.call("CLIENT", "SETNAME", "slowpoke")
        c.call("SET", "k", "v")
        c.call("ECHO", long_string(200))
        c.call("MSET", *[f"a{i}" for i in range(40)])
        c.call("AUTH", "user", "secret")
        c.call("AUTH", "secret")
        c.call("HELLO", "3", "AUTH", "user", "secret", "SETNAME", "x")
        c.call("HELLO", "x", "AUTH", "user", "secret")
        c.call("HELLO", "2", "AUTH", "user")
        reader = hiredis.Reader()
        reader.feed(c.call("SLOWLOG", "GET", "-1"))
        entries = reader.gets()
    return [(e[3], e[5]) for e in entries]


def test_slowlog_entries_match_redis(slow_pair):
    ours, theirs = slow_pair
    assert _slowlog_shapes(ours.port) == _slowlog_shapes(theirs.port)


def test_slowlog_entry_fields_ids_and_order(slow_pair):
    ours, _ = slow_pair
    r = redis.Redis(port=ours.port, protocol=3, socket_timeout=10)
    r.slowlog_reset()
    r.set("a", "1")
    r.get("a")
    entries = r.slowlog_get(-1)
    newest, older = entries[0], entries[1]
    assert newest["id"] > older["id"]
    assert abs(newest["start_time"] - time.time()) < 5
    assert newest["duration"] >= 0
    assert newest["client_address"].startswith(b"127.0.0.1:")
    commands = [e["command"] for e in entries]
    assert commands.index(b"GET a") < commands.index(b"SET a 1")
    r.close()


def test_slowlog_get_counts_len_and_reset_keeps_ids(slow_pair):
    ours, _ = slow_pair
    r = redis.Redis(port=ours.port, protocol=2, socket_timeout=10)
    r.slowlog_reset()
    for i in range(15):
        r.echo(str(i))
    assert len(r.slowlog_get()) == 10
    assert len(r.slowlog_get(3)) == 3
    assert r.slowlog_len() >= 16
    last_id = r.slowlog_get(1)[0]["id"]
    r.slowlog_reset()
    assert r.slowlog_len() == 1
    assert r.slowlog_get(1)[0]["id"] > last_id
    r.close()


def test_slowlog_respects_max_len(slow_pair):
    ours, _ = slow_pair
    r = redis.Redis(port=ours.port, socket_timeout=10)
    r.config_set("slowlog-max-len", 5)
    try:
        for i in range(20):
            r.echo(str(i))
        assert r.slowlog_len() == 5
    finally:
        r.config_set("slowlog-max-len", 128)
        r.close()


# --- LATENCY ---

def test_latency_replies_match_redis_without_events(node, reference):
    assert_same(node, reference, [
        ("LATENCY", "LATEST"),
        ("LATENCY", "HISTORY", "command"),
        ("LATENCY", "RESET"),
        ("LATENCY", "RESET", "a", "b"),
        ("LATENCY", "HISTORY"),
        ("LATENCY", "LATEST", "x"),
        ("LATENCY", "nosuch"),
    ])


def test_latency_doctor_says_the_monitor_is_off(r):
    report = r.execute_command("LATENCY", "DOCTOR")
    assert b"latency-monitor-threshold" in report


def test_a_slow_command_becomes_a_command_latency_event(latency_node):
    r = redis.Redis(port=latency_node.port, protocol=3, socket_timeout=10, decode_responses=True)
    r.latency_reset()
    assert "not a single latency spike" in r.execute_command("LATENCY", "DOCTOR")
    r.execute_command("DEBUG", "SLEEP", "0.05")
    latest = r.latency_latest()
    assert len(latest) == 1
    event, when, ms, worst = latest[0]
    assert event == "command" and 50 <= ms <= worst and abs(when - time.time()) < 5
    history = r.latency_history("command")
    assert history == [[when, ms]]
    report = r.execute_command("LATENCY", "DOCTOR")
    assert "1. command: 1 latency spikes" in report
    assert "SLOWLOG" in report
    assert r.latency_reset("command", "nosuch") == 1
    assert r.latency_latest() == []
    r.close()


def test_latency_history_keeps_one_sample_per_second(latency_node):
    r = redis.Redis(port=latency_node.port, socket_timeout=10)
    r.latency_reset()
    first = int(time.time())
    for _ in range(3):
        r.execute_command("DEBUG", "SLEEP", "0.02")
    last = int(time.time())
    history = r.latency_history("command")
    # three events, at most one sample for each second they fell in
    assert 1 <= len(history) <= last - first + 1
    assert len({t for t, _ in history}) == len(history)
    assert all(first <= t <= last for t, _ in history)
    r.close()


def test_fast_commands_are_their_own_event(latency_node):
    r = redis.Redis(port=latency_node.port, socket_timeout=10)
    r.latency_reset()
    r.execute_command("DEBUG", "SLEEP", "0.015")
    assert [e[0] for e in r.latency_latest()] == [b"command"]
    r.close()


# --- MEMORY ---

def test_memory_usage_of_strings_matches_redis(node, reference):
    script = []
    for n in (0, 1, 12, 13, 20, 30, 44, 45, 60, 100, 200, 300, 1000, 5000, 70000):
        script += [("SET", "k", long_string(n)), ("MEMORY", "USAGE", "k")]
    for value in ("0", "100", "9999", "10000", "-5", "123456789012", "007"):
        script += [("SET", "n", value), ("MEMORY", "USAGE", "n")]
    script += [
        ("SET", long_string(43, "k"), "v"), ("MEMORY", "USAGE", long_string(43, "k")),
        ("SET", "", "v"), ("MEMORY", "USAGE", ""),
        ("SET", "ap", "x"), ("APPEND", "ap", "y"), ("MEMORY", "USAGE", "ap"),
        ("APPEND", "ap", long_string(55, "y")), ("MEMORY", "USAGE", "ap"),
        ("MEMORY", "USAGE", "k", "SAMPLES", "0"),
        ("MEMORY", "USAGE", "nokey"),
    ]
    assert_same(node, reference, script)


def test_memory_usage_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("SET", "k", "v"),
        ("MEMORY", "USAGE"),
        ("MEMORY", "USAGE", "k", "SAMPLES"),
        ("MEMORY", "USAGE", "k", "SAMPLES", "x"),
        ("MEMORY", "USAGE", "k", "SAMPLES", "-1"),
        ("MEMORY", "USAGE", "k", "FOO", "1"),
        ("MEMORY", "USAGE", "nokey", "FOO", "1"),
        ("MEMORY", "USAGE", "k", "samples", "3", "SAMPLES", "7"),
        ("MEMORY", "nosuch"),
        ("MEMORY", "DOCTOR", "x"),
    ])


def test_memory_stats_reports_keys_and_sizes(r):
    r.mset({"a": "1", "b": "2"})
    stats = r.memory_stats()
    assert stats["keys.count"] == 2
    assert stats["total.allocated"] >= stats["startup.allocated"] > 0
    assert stats["peak.allocated"] >= stats["total.allocated"]
    assert "overhead.hashtable.main" in stats["db.0"]
    assert stats["dataset.bytes"] + stats["overhead.total"] == stats["total.allocated"]


def test_memory_doctor_speaks_of_an_empty_instance_then_of_data(r):
    assert b"no data" in r.execute_command("MEMORY", "DOCTOR")
    r.set("k", "v")
    assert r.execute_command("MEMORY", "DOCTOR").startswith((b"Hi Sam", b"Sam"))


def test_memory_malloc_stats_and_purge(r):
    assert r.execute_command("MEMORY", "MALLOC-STATS") == b"Stats not supported for the current allocator"
    assert r.execute_command("MEMORY", "PURGE") in (b"OK", "OK", True)


def test_jemalloc_size_classes():
    assert [jemalloc_size(n) for n in (1, 8, 9, 17, 33, 64, 65, 129, 161, 257, 1025, 70010)] == \
        [8, 8, 16, 32, 48, 64, 80, 160, 192, 320, 1280, 81920]


# --- OBJECT ---

def test_object_encoding_and_refcount_of_strings_match_redis(node, reference):
    script = []
    for value in ("1", "0", "9999", "10000", "-1", "05", " 5", "+5", "12345678901234567890",
                  "9223372036854775807", "9223372036854775808", "-9223372036854775808",
                  "", "abc", long_string(44), long_string(45), "3.14"):
        script += [("SET", "k", value), ("OBJECT", "ENCODING", "k"), ("OBJECT", "REFCOUNT", "k")]
    script += [
        ("SET", "a", "x"), ("APPEND", "a", "y"), ("OBJECT", "ENCODING", "a"),
        ("SET", "i", "5"), ("APPEND", "i", "1"), ("OBJECT", "ENCODING", "i"),
        ("SETRANGE", "r", "3", "x"), ("OBJECT", "ENCODING", "r"),
        ("INCR", "counter"), ("OBJECT", "ENCODING", "counter"), ("OBJECT", "REFCOUNT", "counter"),
        ("OBJECT", "ENCODING", "nokey"), ("OBJECT", "REFCOUNT", "nokey"),
        ("OBJECT", "IDLETIME", "nokey"), ("OBJECT", "FREQ", "nokey"),
        ("OBJECT", "FREQ", "k"),
        ("OBJECT", "IDLETIME", "k"),
        ("OBJECT", "ENCODING"), ("OBJECT", "ENCODING", "a", "b"), ("OBJECT", "nosuch"),
    ]
    assert_same(node, reference, script)


def test_object_lookups_count_hits_and_misses_like_redis(node, reference):
    figures = []
    for server in (node, reference):
        r = redis.Redis(port=server.port, socket_timeout=10)
        r.set("k", "v")
        r.config_resetstat()
        r.object("encoding", "k")
        r.object("refcount", "k")
        r.object("encoding", "nokey")
        r.memory_usage("k")
        r.execute_command("DEBUG", "OBJECT", "k")
        stats = r.info("stats")
        figures.append((stats["keyspace_hits"], stats["keyspace_misses"]))
        r.close()
    assert figures[0] == figures[1] == (2, 1)


def test_object_idletime_counts_seconds_since_the_last_access(r):
    r.set("k", "v")
    r.set("read", "v")
    r.set("overwritten", "v")
    time.sleep(2.2)
    assert r.object("idletime", "k") >= 2
    r.get("read")
    r.set("overwritten", "v2")
    assert r.object("idletime", "read") == 0
    assert r.object("idletime", "overwritten") == 0
    assert r.object("idletime", "k") >= 2


# --- LFU ---

def test_lfu_counters_match_redis(lfu_pair):
    ours, theirs = lfu_pair
    script = [("SET", "k", "v"), ("OBJECT", "FREQ", "k")]
    script += [("GET", "k")] * 10
    script += [
        ("OBJECT", "FREQ", "k"),
        ("SET", "k", "v2", "KEEPTTL"), ("OBJECT", "FREQ", "k"),
        ("APPEND", "k", "x"), ("OBJECT", "FREQ", "k"),
        ("OBJECT", "ENCODING", "k"), ("OBJECT", "FREQ", "k"),
        ("SET", "fresh", "1"), ("OBJECT", "FREQ", "fresh"),
        ("OBJECT", "IDLETIME", "k"), ("OBJECT", "FREQ", "nokey"),
        ("OBJECT", "REFCOUNT", "fresh"),
    ]
    assert_same(ours, theirs, script)


def test_plain_set_on_an_existing_key_counts_one_lfu_access(lfu_pair):
    assert_same(*lfu_pair, [("SET", "k", "v"), ("SET", "k", "v2"), ("OBJECT", "FREQ", "k")])


def test_switching_to_lfu_at_runtime_enables_freq(node, reference):
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("FLUSHALL")
            c.call("CONFIG", "SET", "maxmemory-policy", "volatile-lfu")
            try:
                c.call("SET", "k", "v")
                assert c.call("OBJECT", "FREQ", "k") == b":5\r\n"
                assert c.call("OBJECT", "IDLETIME", "k").startswith(b"-ERR An LFU maxmemory policy is selected")
            finally:
                c.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            assert c.call("OBJECT", "FREQ", "k").startswith(b"-ERR An LFU maxmemory policy is not selected")


def _clock_with(counter: int, minutes_ago: int, lfu: LfuClock) -> int:
    return (((lfu.now_minutes - minutes_ago) & 65535) << 8) | counter


def test_lfu_counter_decays_one_per_decay_period():
    lfu = LfuClock(log_factor=10, decay_time=1, now=1_700_000_000)
    assert lfu.decayed(_clock_with(20, 0, lfu)) == 20
    assert lfu.decayed(_clock_with(20, 7, lfu)) == 13
    assert lfu.decayed(_clock_with(20, 70, lfu)) == 0
    slow = LfuClock(log_factor=10, decay_time=5, now=1_700_000_000)
    assert slow.decayed(_clock_with(20, 12, slow)) == 18
    never = LfuClock(log_factor=10, decay_time=0, now=1_700_000_000)
    assert never.decayed(_clock_with(20, 500, never)) == 20


def test_lfu_elapsed_minutes_wrap_at_16_bits():
    lfu = LfuClock(log_factor=10, decay_time=1, now=0)
    lfu.now_minutes = 3
    assert lfu.elapsed(65530) == 65535 - 65530 + 3


def test_lfu_counter_grows_logarithmically_and_saturates():
    random.seed(7)
    lfu = LfuClock(log_factor=10, decay_time=1, now=1_700_000_000)
    counter = LFU_INIT_VAL
    for _ in range(1000):
        counter = lfu.incremented(counter)
    assert 14 <= counter <= 26
    assert lfu.incremented(255) == 255
    eager = LfuClock(log_factor=0, decay_time=1, now=1_700_000_000)
    assert eager.incremented(100) == 101


def test_lfu_touch_stamps_the_current_minute():
    lfu = LfuClock(log_factor=0, decay_time=1, now=1_700_000_000)
    assert lfu.touched(_clock_with(9, 3, lfu)) == (lfu.now_minutes << 8) | 7


# --- DEBUG DIGEST, DIGEST-VALUE, OBJECT ---

def test_debug_digest_value_matches_redis(node, reference):
    values = ["v", "", "12345", "-1", long_string(44), long_string(45), "value\x00with\xffbytes",
              long_string(5000, "z")]
    script = [("SET", f"k{i}", v) for i, v in enumerate(values)]
    script += [("SET", "ap", "x"), ("APPEND", "ap", "yz"), ("SET", "ttl", "v", "EX", "100")]
    script += [("DEBUG", "DIGEST-VALUE", *[f"k{i}" for i in range(len(values))], "ap", "ttl",
                "nokey")]
    script += [("DEBUG", "DIGEST-VALUE")]
    assert_same(node, reference, script)


def test_debug_digest_of_the_dataset_matches_redis(node, reference):
    assert_same(node, reference, [
        ("DEBUG", "DIGEST"),
        ("SET", "a", "1"), ("SET", "b", "two"), ("DEBUG", "DIGEST"),
        ("SELECT", "4"), ("SET", "a", "1"), ("DEBUG", "DIGEST"),
        ("EXPIRE", "a", "100"), ("DEBUG", "DIGEST"),
        ("SWAPDB", "0", "4"), ("DEBUG", "DIGEST"),
    ])


def test_debug_digest_ignores_insertion_order(r):
    r.set("x", "1")
    r.set("y", "2")
    first = r.execute_command("DEBUG", "DIGEST")
    r.flushall()
    r.set("y", "2")
    r.set("x", "1")
    assert r.execute_command("DEBUG", "DIGEST") == first


DEBUG_OBJECT = re.compile(
    rb"\+Value at:0x[0-9a-f]+ refcount:(\d+) encoding:(\w+) serializedlength:(\d+) "
    rb"lru:(\d+) lru_seconds_idle:(\d+)\r\n")


@pytest.mark.parametrize("value", ["v", "123", "1234567", "12345678901", "-100", "",
                                   long_string(89), "value:1" + "\x00" * 13])
def test_debug_object_line_matches_redis_except_address_and_clock(node, reference, value):
    found = []
    for server in (node, reference):
        with RawClient(server.port) as c:
            c.call("SET", "k", value)
            m = DEBUG_OBJECT.fullmatch(c.call("DEBUG", "OBJECT", "k"))
            assert m
            found.append((m[1], m[2], m[3], m[5]))
    assert found[0][:3] == found[1][:3]
    assert found[0][3] == b"0"
