"""INFO: Redis 7's sections and field names in Redis's order, and values that behave."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import time

import pytest
import redis
from output_wait import read_until
from redslot.node.observability.info import bytes_to_human, latency_percentiles
from resp import RawClient

# Fields redis-server 7.0.15 has that this node leaves out, and why.
OMITTED = {
    "redis_git_sha1": "describes a C build of Redis",
    "redis_git_dirty": "describes a C build of Redis",
    "redis_build_id": "describes a C build of Redis",
    "gcc_version": "describes a C build of Redis",
    "atomicvar_api": "describes a C build of Redis",
    "allocator_allocated": "jemalloc statistics",
    "allocator_active": "jemalloc statistics",
    "allocator_resident": "jemalloc statistics",
    "allocator_frag_ratio": "jemalloc statistics",
    "allocator_frag_bytes": "jemalloc statistics",
    "allocator_rss_ratio": "jemalloc statistics",
    "allocator_rss_bytes": "jemalloc statistics",
    "rss_overhead_ratio": "jemalloc statistics",
    "rss_overhead_bytes": "jemalloc statistics",
    "mem_allocator": "jemalloc statistics",
    "active_defrag_running": "no active defragmenter",
    "module_fork_in_progress": "no modules",
    "module_fork_last_cow_size": "no modules",
    "active_defrag_hits": "no active defragmenter",
    "active_defrag_misses": "no active defragmenter",
    "active_defrag_key_hits": "no active defragmenter",
    "active_defrag_key_misses": "no active defragmenter",
    "total_active_defrag_time": "no active defragmenter",
    "current_active_defrag_time": "no active defragmenter",
    "reply_buffer_shrinks": "Redis's reply-buffer internals",
    "reply_buffer_expands": "Redis's reply-buffer internals",
}

# Fields Redis 7.2 added after 7.0.15; this node claims 7.2.
ADDED_IN_7_2 = {
    "listener0", "total_blocking_keys", "total_blocking_keys_on_nokey",
    "acl_access_denied_auth", "acl_access_denied_cmd", "acl_access_denied_key",
    "acl_access_denied_channel",
}
OURS = {"redslot_build"}  # compiled or pure (node/base/compiled.py)

# Sections whose field names depend on the traffic (one line per command, error, db).
DYNAMIC_SECTIONS = {"Commandstats", "Errorstats", "Latencystats", "Keyspace"}


def parse(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """INFO text as [(section, [(field, value)])], checking Redis's line format."""
    assert text.endswith("\r\n") or text == ""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for block in text.split("\r\n\r\n"):
        lines = block.rstrip("\r\n").split("\r\n")
        assert lines[0].startswith("# "), lines[0]
        fields = [tuple(line.split(":", 1)) for line in lines[1:] if line]
        assert all(len(f) == 2 for f in fields)
        sections.append((lines[0][2:], fields))  # type: ignore[arg-type]
    return sections


def info(port: int, *sections: str) -> str:
    with RawClient(port) as c:
        reply = c.call("INFO", *sections)
    head, _, body = reply.partition(b"\r\n")
    assert head == b"$%d" % (len(body) - 2)
    return body[:-2].decode()


def fields(port: int, section: str) -> dict[str, str]:
    return dict(parse(info(port, section))[0][1])


def test_sections_and_fields_are_named_and_ordered_as_in_redis(node, reference):
    ours, theirs = parse(info(node.port, "everything")), parse(info(reference.port, "everything"))
    assert [s for s, _ in ours] == [s for s, _ in theirs]
    for (section, mine), (_, ref) in zip(ours, theirs, strict=True):
        if section in DYNAMIC_SECTIONS:
            continue
        mine_names = [name for name, _ in mine]
        ref_names = [name for name, _ in ref]
        assert [n for n in ref_names if n not in mine_names] == [
            n for n in ref_names if n in OMITTED], section
        assert [n for n in mine_names if n not in ref_names] == [
            n for n in mine_names if n in ADDED_IN_7_2 | OURS], section
        common = [n for n in mine_names if n in ref_names]
        assert common == [n for n in ref_names if n in mine_names], section


def test_default_sections_match_redis_and_sections_are_case_insensitive(node, reference):
    for args in ((), ("default",), ("SERVER", "Clients"), ("all",), ("cpu", "cpu")):
        ours = [s for s, _ in parse(info(node.port, *args))]
        assert ours == [s for s, _ in parse(info(reference.port, *args))], args
    assert info(node.port, "nosuch") == ""


def test_resp3_reply_is_a_verbatim_string(node):
    with RawClient(node.port) as c:
        c.call("HELLO", "3")
        reply = c.call("INFO", "server")
    assert reply.startswith(b"=") and b"\r\ntxt:# Server\r\n" in reply


def test_server_section_describes_this_node(node):
    server = fields(node.port, "server")
    assert server["redis_version"] == "7.2.4"
    assert server["redis_mode"] == "standalone"
    assert server["tcp_port"] == str(node.port)
    assert re.fullmatch(r"[0-9a-f]{40}", server["run_id"])
    assert server["listener0"] == f"name=tcp,bind=127.0.0.1,port={node.port}"
    assert int(server["process_id"]) == node.proc.pid
    assert int(server["uptime_in_seconds"]) >= 0


def test_replication_section_of_a_master(node):
    repl = fields(node.port, "replication")
    assert repl["role"] == "master" and repl["connected_slaves"] == "0"
    assert re.fullmatch(r"[0-9a-f]{40}", repl["master_replid"])
    assert repl["master_replid2"] == "0" * 40
    assert repl["second_repl_offset"] == "-1"


def test_memory_figures_are_real_and_formatted_like_redis(node):
    memory = fields(node.port, "memory")
    used = int(memory["used_memory"])
    assert used > 1024 * 1024
    assert memory["used_memory_human"] == bytes_to_human(used)
    assert int(memory["used_memory_peak"]) >= used
    assert re.fullmatch(r"\d+\.\d\d%", memory["used_memory_peak_perc"])
    assert memory["maxmemory_policy"] == "noeviction"
    assert bytes_to_human(0) == "0B"
    assert bytes_to_human(1015032) == "991.24K"
    assert bytes_to_human(12427264) == "11.85M"
    assert bytes_to_human(25276510208) == "23.54G"


def test_cpu_times_are_seconds_with_microseconds(node):
    cpu = fields(node.port, "cpu")
    assert set(cpu) >= {"used_cpu_sys", "used_cpu_user", "used_cpu_sys_children"}
    assert all(re.fullmatch(r"\d+\.\d{6}", v) for v in cpu.values())


def test_keyspace_hits_and_misses_count_reads(r, node):
    before = fields(node.port, "stats")
    r.set("k", "v")
    r.get("k")
    r.get("absent")
    after = fields(node.port, "stats")
    assert int(after["keyspace_hits"]) == int(before["keyspace_hits"]) + 1
    assert int(after["keyspace_misses"]) == int(before["keyspace_misses"]) + 1


def test_keyspace_line_appears_only_for_non_empty_databases(r, node):
    assert parse(info(node.port, "keyspace")) == [("Keyspace", [])]
    r.set("k", "v")
    r.set("t", "v", ex=100)
    keyspace = fields(node.port, "keyspace")
    assert list(keyspace) == ["db0"]
    assert re.fullmatch(r"keys=2,expires=1,avg_ttl=\d+", keyspace["db0"])


def command_stats(port: int, name: str) -> dict[str, float]:
    line = fields(port, "commandstats").get(f"cmdstat_{name}")
    if line is None:
        return {"calls": 0, "usec": 0, "rejected_calls": 0, "failed_calls": 0}
    assert re.fullmatch(r"calls=\d+,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=\d+,"
                        r"failed_calls=\d+", line)
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split(","))}


def test_commandstats_count_calls_rejections_and_failures(node):
    echo, select = command_stats(node.port, "echo"), command_stats(node.port, "select")
    with RawClient(node.port) as c:
        for _ in range(3):
            c.call("ECHO", "x")
        c.call("ECHO")
        c.call("SELECT", "nosuch")
    echo2, select2 = command_stats(node.port, "echo"), command_stats(node.port, "select")
    assert echo2["calls"] - echo["calls"] == 3
    assert echo2["rejected_calls"] - echo["rejected_calls"] == 1
    assert echo2["failed_calls"] == echo["failed_calls"]
    assert echo2["usec_per_call"] == pytest.approx(echo2["usec"] / echo2["calls"], abs=0.01)
    assert select2["failed_calls"] - select["failed_calls"] == 1


def test_commandstats_name_subcommands_with_a_bar(node):
    before = command_stats(node.port, "command|count")["calls"]
    with RawClient(node.port) as c:
        c.call("COMMAND", "COUNT")
    assert command_stats(node.port, "command|count")["calls"] == before + 1
    assert "cmdstat_command:" not in info(node.port, "commandstats")


def test_errorstats_count_errors_by_code(node):
    with RawClient(node.port) as c:
        before = fields(node.port, "errorstats").get("errorstat_ERR", "count=0")
        c.call("NOSUCHCOMMAND")
        c.call("ECHO")
    count = int(before.split("=")[1])
    assert fields(node.port, "errorstats")["errorstat_ERR"] == f"count={count + 2}"
    stats = fields(node.port, "stats")
    assert int(stats["total_error_replies"]) >= 2


def test_latencystats_report_percentiles_per_command(node):
    with RawClient(node.port) as c:
        c.call("ECHO", "x")
    line = fields(node.port, "latencystats")["latency_percentiles_usec_echo"]
    assert re.fullmatch(r"p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}", line)


def test_latency_percentiles_are_hdr_bucket_edges_as_redis_prints_them():
    # Values seen from redis-server 7.0.15 for single calls of 23, 6, 10 and 49 usec.
    assert latency_percentiles({23: 1}, [50.0]) == [23039]
    assert latency_percentiles({6: 1}, [50.0]) == [6015]
    assert latency_percentiles({10: 1}, [99.9]) == [10047]
    assert latency_percentiles({22: 1, 49: 1}, [50.0, 99.0]) == [22015, 49151]
    assert latency_percentiles({0: 5}, [50.0]) == [1]


def test_redis_cli_reads_info_and_stat(r, node):
    r.set("k", "v")
    out = subprocess.run(["redis-cli", "-p", str(node.port), "info", "server"],
                         capture_output=True, text=True, timeout=10).stdout
    assert "redis_version:7.2.4" in out
    main, child = pty.openpty()  # redis-cli --stat writes rows only to a terminal
    proc = subprocess.Popen(["redis-cli", "-p", str(node.port), "--stat", "-i", "0.1"],
                            stdout=child, stderr=child)
    os.close(child)
    try:
        output = read_until(main, b"keys", b"(+", b")").decode()  # the header, a first row
    finally:
        proc.kill()
        proc.wait(5)
    os.close(main)
    rows = output.split("\r\n")
    assert rows[1].split()[:5] == ["keys", "mem", "clients", "blocked", "requests"]
    assert re.match(r"1\s+[\d.]+[BKMG]\s+\d+\s+0\s+\d+ \(\+\d+\)", rows[2])


def test_total_commands_processed_counts_pipelined_data_commands(r):
    before = r.info("stats")["total_commands_processed"]
    with r.pipeline(transaction=False) as p:
        for i in range(50):
            p.get(f"k{i}")
        p.execute()
    after = r.info("stats")["total_commands_processed"]
    assert after - before == 51  # the 50 GETs and the first INFO


def ops_per_sec_while(node, name: str) -> tuple[int, int]:
    """instantaneous_ops_per_sec after 2 s of pipelined GETs from a client named ``name``,
    read by another client; and how many GETs were sent."""
    busy = redis.Redis(port=node.port, client_name=name)
    reader = redis.Redis(port=node.port)
    before = reader.info("stats")["total_commands_processed"]
    deadline = time.monotonic() + 2.0
    sent = 0
    while time.monotonic() < deadline:
        with busy.pipeline(transaction=False) as p:
            for _ in range(100):
                p.get("k")
            p.execute()
        sent += 100
        time.sleep(0.01)
    stats = reader.info("stats")
    busy.close()
    reader.close()
    assert stats["total_commands_processed"] - before >= sent  # counted as processed
    return stats["instantaneous_ops_per_sec"], sent


def test_instantaneous_ops_leave_out_the_cluster_s_own_connections(node):
    """Peer links and the control plane name their connections; what they send is no
    client's work (Redis's cluster bus sends no commands at all)."""
    for internal in ("redslot-control", "redslot-peer"):
        ops, sent = ops_per_sec_while(node, internal)
        assert ops < 50, (internal, ops, sent)
    ops, sent = ops_per_sec_while(node, "someone")
    assert ops > 500, (ops, sent)
