"""The dispatch switch: REDSLOT_FAST_DISPATCH=0 sends every request through the full checks.

That both paths answer as redis-server does is the random differential tests' job (they
run both ways). These tests show that the switch reaches dispatch, and that the two paths
leave the same traces beyond replies: statistics, slowlog, latency tracking and the
propagated stream (the AOF). MONITOR needs no comparison: a monitor turns the short loop
off.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from nodes import DISPATCH_ENV, start_node
from redslot.node.base.compiled import build
from redslot.node.config.directives import Config
from redslot.node.server import dispatch
from redslot.node.server.client import Client
from redslot.node.server.main import fast_dispatch_wanted
from redslot.node.server.server import Server
from redslot.node.table.command import DATA_GROUPS
from redslot.node.types.rdb import crc64
from resp import RawClient, encode_command

REQUESTS = [[b"SET", b"k", b"v"], [b"GET", b"k"], [b"INCR", b"n"]]
ZSET_REQUESTS = [[b"ZADD", b"z", b"1", b"a"], [b"ZRANGE", b"z", b"0", b"-1"],
                 [b"ZSCORE", b"z", b"a"], [b"ZRANK", b"z", b"a"]]
# Compiled dispatch calls execute directly, past a patched module attribute: these run in
# the pure-Python phase of scripts/test.
pure_only = pytest.mark.skipif(build() != "pure", reason="patches dispatch.execute")


def requests_through_execute(monkeypatch: pytest.MonkeyPatch, server: Server,
                             requests: list[list[bytes]] = REQUESTS,
                             replies: bytes = b"+OK\r\n$1\r\nv\r\n:1\r\n") -> list[bytes]:
    """Run ``requests`` as one batch; return the names of those that went through execute."""
    seen: list[bytes] = []
    full_path = dispatch.execute

    def counting(server: Server, client: Client, argv: list[bytes]) -> None:
        seen.append(argv[0])
        full_path(server, client, argv)

    monkeypatch.setattr(dispatch, "execute", counting)
    client = Client(server)
    assert dispatch.run_requests(server, client, requests) == len(requests)
    assert b"".join(client.out) == replies
    return seen


def test_every_data_group_names_a_group_of_the_command_table() -> None:
    """A misspelt group keeps its commands off the short loop without failing anything
    else ('sorted-set' for the table's 'sorted_set' did, for every sorted-set command)."""
    groups = {cmd.spec["group"] for cmd in Server(Config()).commands.values()}
    assert DATA_GROUPS <= groups, sorted(DATA_GROUPS - groups)


@pure_only
def test_data_commands_take_the_short_loop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert requests_through_execute(monkeypatch, Server(Config())) == []


@pure_only
def test_sorted_set_commands_take_the_short_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    replies = b":1\r\n*1\r\n$1\r\na\r\n$1\r\n1\r\n:0\r\n"
    assert requests_through_execute(monkeypatch, Server(Config()), ZSET_REQUESTS, replies) == []


@pure_only
def test_restore_asking_takes_the_short_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A migrating node's RESTORE-ASKINGs are the whole of a reshard's load on its target."""
    requests = [[b"RESTORE-ASKING", b"k", b"0", PAYLOAD], [b"GET", b"k"]]
    replies = b"+OK\r\n$1\r\nv\r\n"
    assert requests_through_execute(monkeypatch, Server(Config()), requests, replies) == []


@pure_only
def test_with_fast_dispatch_off_every_request_goes_through_execute(
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server(Config(), fast_dispatch=False)
    assert requests_through_execute(monkeypatch, server) == [b"SET", b"GET", b"INCR"]


@pytest.mark.parametrize(("environ", "wanted"), [
    ({}, True), ({"REDSLOT_FAST_DISPATCH": "1"}, True), ({"REDSLOT_FAST_DISPATCH": "0"}, False),
])
def test_the_environment_turns_the_short_loop_off_with_0(environ: dict[str, str],
                                                          wanted: bool) -> None:
    assert fast_dispatch_wanted(environ) is wanted


# A DUMP payload of the string "v" (RDB version 10), as a migrating node sends it.
PAYLOAD = b"\x00\x01v\x0a\x00" + crc64(b"\x00\x01v\x0a\x00").to_bytes(8, "little")

# Data commands in stretches broken by others: hits, misses, a failed call, refusals,
# database switches, and writes propagated as they are or as their effects.
SCRIPT: list[tuple[str | bytes, ...]] = [
    ("CLIENT", "SETNAME", "script"),
    ("SET", "k", "v"), ("GET", "k"), ("GET", "missing"), ("INCR", "k"), ("GET",),
    ("NOSUCH", "x"), ("APPEND", "k", "w"), ("STRLEN", "k"),
    ("SELECT", "1"),
    ("RPUSH", "l", "a", "b"), ("LPOP", "l"), ("HSET", "h", "f", "1"),
    ("HINCRBYFLOAT", "h", "f", "0.5"), ("INCRBYFLOAT", "n", "1.5"), ("SADD", "s", "m"),
    ("SPOP", "s"), ("SET", "t", "v", "PXAT", "4102444800000"), ("ZADD", "z", "1", "x"),
    ("ZINCRBY", "z", "2", "x"),
    ("SELECT", "0"),
    ("MSET", "a", "1", "b", "2"), ("DEL", "a", "nope"), ("GETDEL", "b"), ("TYPE", "k"),
    ("RESTORE-ASKING", "r", "0", PAYLOAD), ("RESTORE-ASKING", "r", "0", PAYLOAD),
    ("RESTORE-ASKING", "r", "4102444800000", PAYLOAD, "REPLACE", "ABSTTL"), ("GET", "r"),
]
STATS = ("total_commands_processed", "keyspace_hits", "keyspace_misses",
         "total_error_replies")


def traces(dispatch: str) -> dict[str, Any]:
    """SCRIPT's replies, sent in one batch, and every trace it leaves on a node started
    with the given dispatch."""
    proc = start_node("--appendonly", "yes", "--appendfsync", "always",
                      "--slowlog-log-slower-than", "0", "--slowlog-max-len", "1000",
                      env=DISPATCH_ENV[dispatch])
    try:
        with RawClient(proc.port) as raw, redis.Redis(port=proc.port) as r:
            raw.send_raw(b"".join(encode_command(*req) for req in SCRIPT))
            replies = [raw.read_reply() for _ in SCRIPT]
            stats = r.info("stats")
            errorstats = r.info("errorstats")
            commandstats = {name: {k: v for k, v in figures.items() if "usec" not in k}
                            for name, figures in r.info("commandstats").items()}
            client = next(c for c in r.client_list() if c["name"] == "script")
            latencystats = r.info("latencystats")
            slowlog = r.slowlog_get(1000)
        folder = Path(proc.workdir) / "appendonlydir"
        aof = b"".join((folder / name).read_bytes()
                       for name in sorted(os.listdir(folder)) if name.endswith(".incr.aof"))
    finally:
        proc.stop()
    return {
        "replies": replies,
        "stats": {name: stats[name] for name in STATS},
        "commandstats": commandstats,
        "errorstats": errorstats,
        "client's last command": client["cmd"],
        "latency tracked": sorted(latencystats),  # the percentiles depend on timing
        "slowlog": [(e["id"], e["command"], e["client_name"]) for e in slowlog],
        "aof": aof,
    }


def test_both_paths_leave_the_same_statistics_slowlog_and_stream() -> None:
    fast, full = traces("fast"), traces("full")
    assert fast == full
    assert fast["slowlog"] and b"SREM" in fast["aof"]


def bulk(value: bytes | None) -> bytes:
    return b"$-1\r\n" if value is None else b"$%d\r\n%s\r\n" % (len(value), value)


def batch_replies(dispatch: str, preload: list[bytes], batch: list[list[bytes]]) -> tuple:
    """The replies to ``batch`` sent in one write, after ``preload`` (one write of SETs);
    then the hits and misses it counted."""
    proc = start_node(env=DISPATCH_ENV[dispatch])
    try:
        with RawClient(proc.port) as raw, redis.Redis(port=proc.port) as r:
            raw.send_raw(b"".join(preload))
            for _ in preload:
                raw.read_reply()
            time.sleep(0.05)  # the PX 1 keys expire
            r.config_resetstat()
            raw.send_raw(b"".join(encode_command(*req) for req in batch))
            replies = b"".join(raw.read_reply() for _ in batch)
            stats = r.info("stats")
    finally:
        proc.stop()
    return replies, stats["keyspace_hits"], stats["keyspace_misses"]


def test_a_batch_over_a_large_keyspace_reads_what_the_full_path_reads() -> None:
    """Past 4096 keys the short loop prefetches each stretch's keys, and a hit without a
    TTL is read and touched in one call: the replies (bulk headers of every length, keys
    with a TTL, expired keys, misses) and the hit counts are the full path's."""
    rng = random.Random(22)
    sizes = [0, 1, 9, 511, 512, 513, 4096]
    values = {b"k%d" % i: b"v" * rng.choice(sizes) for i in range(6000)}
    ttls = {key: rng.choice([None, None, b"100000", b"1"]) for key in values}
    preload = [encode_command(b"SET", key, value) if ttls[key] is None
               else encode_command(b"SET", key, value, b"PX", ttls[key])
               for key, value in values.items()]
    batch = [[b"GET", b"k%d" % rng.randrange(7000)] for _ in range(300)]
    batch[100:100] = [[b"SET", b"k1", b"new"], [b"GET", b"k1"]]
    fast = batch_replies("fast", preload, batch)
    expected = [None if ttls.get(argv[1], b"1") == b"1" else values[argv[1]]
                for argv in batch if argv[0] == b"GET"]
    expected[100] = b"new"
    assert fast == batch_replies("full", preload, batch)
    assert fast[0] == b"".join(
        [bulk(value) for value in expected[:100]] + [b"+OK\r\n"]
        + [bulk(value) for value in expected[100:]])
    assert fast[1] == sum(value is not None for value in expected)
