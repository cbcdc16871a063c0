"""LATENCY HISTOGRAM, MODULE, and the DEBUG subcommands test suites use, against redis-server."""

from __future__ import annotations

import time

import hiredis
import pytest
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient
from transcripts import assert_same_transcript


def histogram(server: ServerProcess, *names: str) -> dict:
    with RawClient(server.port) as c:
        c.call("CONFIG", "RESETSTAT")
        for i in range(20):
            c.call("SET", "k", i)
        c.call("CONFIG", "GET", "maxmemory")
        reader = hiredis.Reader()
        reader.feed(c.call("LATENCY", "HISTOGRAM", *names))
        flat = reader.gets()
    return {flat[i]: dict(zip(flat[i + 1][::2], flat[i + 1][1::2], strict=True))
            for i in range(0, len(flat), 2)}


def test_latency_histogram_has_redis_shape(node: ServerProcess, reference: ServerProcess) -> None:
    for names in [("set", "config", "nosuch"), ("get",)]:
        ours, theirs = histogram(node, *names), histogram(reference, *names)
        assert ours.keys() == theirs.keys()
        for name, entry in ours.items():
            assert entry[b"calls"] == theirs[name][b"calls"]
            buckets = entry[b"histogram_usec"]
            counts = buckets[1::2]
            assert counts == sorted(counts) and counts[-1] == entry[b"calls"]
            # the bucket keys are the same power-of-two series Redis reports
            assert set(buckets[::2]) <= {1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113,
                                         4227, 8454, 16908, 33816, 67633, 135266}


def test_module_commands_match_redis() -> None:
    node = start_node("--enable-module-command", "yes")
    ref = start_redis_server("--enable-module-command", "yes")
    try:
        assert_same_transcript(node, ref, [
            ("c", 1, "MODULE", "LIST"),
            ("c", 1, "MODULE", "LOAD", "/nonexistent/module.so"),
            ("c", 1, "MODULE", "LOADEX", "/nonexistent/module.so", "ARGS", "x"),
            ("c", 1, "MODULE", "UNLOAD", "search"),
            ("c", 1, "MODULE", "HELP"),
            ("c", 1, "MODULE", "LIST", "extra"),
        ])
    finally:
        node.stop()
        ref.stop()


def test_module_load_is_protected_by_default(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same_transcript(node, reference, [("c", 1, "MODULE", "LOAD", "/x.so"),
                                             ("c", 1, "MODULE", "LIST")])


@pytest.mark.parametrize("steps", [
    [("c", 1, "DEBUG", "CHANGE-REPL-ID")],
    [("c", 1, "DEBUG", "PAUSE-CRON", "1"), ("c", 1, "DEBUG", "PAUSE-CRON", "0")],
    [("c", 1, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1mb"),
     ("c", 1, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"),
     ("c", 1, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"),
     ("c", 1, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "x")],
    [("c", 1, "HSET", "h", "f", "v"), ("c", 1, "SET", "s", "v"),
     ("c", 1, "DEBUG", "LISTPACK", "h"), ("c", 1, "DEBUG", "LISTPACK", "s"),
     ("c", 1, "DEBUG", "LISTPACK", "none")],
])
def test_debug_subcommands_match_redis(node: ServerProcess, reference: ServerProcess,
                                       steps: list[tuple]) -> None:
    assert_same_transcript(node, reference, steps)


def test_stringmatch_test_survives(node: ServerProcess) -> None:
    with RawClient(node.port) as c:
        assert c.call("DEBUG", "STRINGMATCH-TEST") == b"+Apparently Redis did not crash: test passed\r\n"


def test_change_repl_id_starts_a_new_history(node: ServerProcess) -> None:
    with RawClient(node.port) as c:
        before = c.call("INFO", "replication")
        c.call("DEBUG", "CHANGE-REPL-ID")
        after = c.call("INFO", "replication")
    field = lambda info, name: [line for line in info.split(b"\r\n") if line.startswith(name)]  # noqa: E731
    assert field(before, b"master_replid:") != field(after, b"master_replid:")
    assert field(after, b"master_replid2:") == [b"master_replid2:" + b"0" * 40]


def test_lolwut_shows_the_version_line(node: ServerProcess, reference: ServerProcess) -> None:
    with RawClient(node.port) as c, RawClient(reference.port) as r:
        ours = c.call("LOLWUT")
        assert ours.startswith(b"$") and b"Redis ver. " in ours
        assert c.call("LOLWUT", "VERSION", "x") == r.call("LOLWUT", "VERSION", "x")
        c.call("HELLO", "3")
        assert c.call("LOLWUT", "VERSION", "9").startswith(b"=")


def test_latency_graph_draws_redis_chart(node: ServerProcess, reference: ServerProcess) -> None:
    def chart(server: ServerProcess) -> tuple[bytes, list[bytes]]:
        with RawClient(server.port) as c:
            c.call("LATENCY", "RESET")
            missing = c.call("LATENCY", "GRAPH", "command")
            c.call("CONFIG", "SET", "latency-monitor-threshold", "1")
            c.call("DEBUG", "SLEEP", "0.05")
            time.sleep(1.1)  # one sample per second: the next spike is a second sample
            c.call("DEBUG", "SLEEP", "0.2")
            text = c.call("LATENCY", "GRAPH", "command")
            c.call("CONFIG", "SET", "latency-monitor-threshold", "0")
        lines = text.split(b"\n")
        # the header's milliseconds and the age labels depend on timing: the chart does not
        return missing, lines[2:7]  # the rule and the chart's four rows
    assert chart(node) == chart(reference)
