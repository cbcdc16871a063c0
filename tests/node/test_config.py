"""CONFIG GET / SET / RESETSTAT / REWRITE against Redis's replies and file format."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis
from differential import assert_same
from nodes import ServerProcess, free_port
from redslot.node.config.directives import DIRECTIVES, ConfigError, parse_memory
from resp import RawClient

# Directives whose value the test harness sets differently on the two servers.
HARNESS_SET = {"port", "bind", "dir", "save", "logfile", "enable-debug-command",
               "repl-diskless-sync-delay"}


def start_node_with_file(path: str, *directives: str) -> ServerProcess:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redslot-test-")
    argv = [sys.executable, "-m", "redslot.cli", "node", path, "--port", str(port),
            "--bind", "127.0.0.1", "--dir", workdir, *directives]
    return ServerProcess(argv, port, workdir)


def start_redis_with_file(path: str, *directives: str) -> ServerProcess:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redis-ref-")
    argv = ["redis-server", path, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
            *directives]
    return ServerProcess(argv, port, workdir)


def test_defaults_match_redis_for_every_directive(node, reference):
    ours = redis.Redis(port=node.port, decode_responses=True)
    theirs = redis.Redis(port=reference.port, decode_responses=True)
    for d in DIRECTIVES:
        if d.name in HARNESS_SET or d.name == "loglevel" or d.own:
            continue
        if d.name == "enable-protected-configs":
            continue
        assert ours.config_get(d.name) == theirs.config_get(d.name), d.name


def test_get_errors_and_exact_names_match_redis(node, reference):
    assert_same(node, reference, [
        ("CONFIG",),
        ("CONFIG", "nosuch"),
        ("CONFIG", "GET"),
        ("CONFIG", "GET", "MAXMEMORY"),
        ("CONFIG", "GET", "no-such-thing"),
        ("CONFIG", "GET", "maxmemory-polic?"),
        ("CONFIG", "GET", "proto-max-bulk-le[m-o]"),
        ("CONFIG", "HELP"),
        ("CONFIG", "HELP", "x"),
        ("CONFIG", "RESETSTAT", "x"),
        ("CONFIG", "REWRITE", "x"),
    ])


def test_get_names_each_parameter_once(r):
    assert r.config_get("timeout", "TIMEOUT", "hz", "time*") == {"timeout": "0", "hz": "10"}


def test_get_patterns_match_the_same_parameters_as_redis(node, reference):
    ours = redis.Redis(port=node.port, decode_responses=True)
    theirs = redis.Redis(port=reference.port, decode_responses=True)
    known = {d.name for d in DIRECTIVES}
    for patterns in (["maxmem*"], ["*max-*len*", "timeout"], ["*LOG*"], ["lfu-*", "*-samples"]):
        mine = ours.config_get(*patterns)
        ref = {k: v for k, v in theirs.config_get(*patterns).items() if k in known}
        assert mine.keys() - HARNESS_SET == ref.keys() - HARNESS_SET, patterns
        for name in mine.keys() - HARNESS_SET:
            assert mine[name] == ref[name], name


def test_get_star_leaves_out_the_hidden_debug_configs_as_redis(node, reference):
    """Redis's HIDDEN_CONFIG (key-load-delay, rdb-key-save-delay): no pattern matches them."""
    ours = redis.Redis(port=node.port, decode_responses=True)
    theirs = redis.Redis(port=reference.port, decode_responses=True)
    own = {name for d in DIRECTIVES if d.own for name in (d.name, *d.aliases)}
    assert ours.config_get("*").keys() - own == theirs.config_get("*").keys()


def test_hidden_debug_configs_are_got_by_their_exact_name_only_as_redis(node, reference):
    assert_same(node, reference, [
        ("CONFIG", "GET", "key-load-delay"),
        ("CONFIG", "GET", "RDB-KEY-SAVE-DELAY"),
        ("CONFIG", "GET", "key-load-dela?"),
        ("CONFIG", "GET", "*-save-delay"),
        ("CONFIG", "GET", "rdb-key-save-delay", "key-load-*"),
    ])


def test_get_is_a_map_in_resp3(node):
    with RawClient(node.port) as c:
        c.call("HELLO", "3")
        assert c.call("CONFIG", "GET", "maxmemory") == b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"


def test_set_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("CONFIG", "SET", "timeout"),
        ("CONFIG", "SET", "timeout", "1", "maxmemory"),
        ("CONFIG", "SET", "nosuch", "1"),
        ("CONFIG", "SET", "timeout", "abc"),
        ("CONFIG", "SET", "timeout", "-1"),
        ("CONFIG", "SET", "timeout", " 5"),
        ("CONFIG", "SET", "timeout", "+5"),
        ("CONFIG", "SET", "timeout", "007"),
        ("CONFIG", "SET", "timeout", "1.0"),
        ("CONFIG", "SET", "timeout", ""),
        ("CONFIG", "SET", "timeout", "99999999999"),
        ("CONFIG", "SET", "maxmemory", "-1"),
        ("CONFIG", "SET", "maxmemory", "1x"),
        ("CONFIG", "SET", "maxmemory", "1.5mb"),
        ("CONFIG", "SET", "maxmemory", "0x10"),
        ("CONFIG", "SET", "protected-mode", "maybe"),
        ("CONFIG", "SET", "protected-mode", "1"),
        ("CONFIG", "SET", "maxmemory-policy", "foo"),
        ("CONFIG", "SET", "appendfsync", "sometimes"),
        ("CONFIG", "SET", "save", "a b"),
        ("CONFIG", "SET", "save", "1"),
        ("CONFIG", "SET", "save", "0 1"),
        ("CONFIG", "SET", "save", "-1 1"),
        ("CONFIG", "SET", "save", "100 x"),
        ("CONFIG", "SET", "save", "  "),
        ("CONFIG", "SET", "save", "3600 1 300"),
        ("CONFIG", "SET", "databases", "5"),
        ("CONFIG", "SET", "appendfilename", "x"),
        ("CONFIG", "SET", "cluster-enabled", "yes"),
        ("CONFIG", "SET", "tcp-backlog", "5"),
        ("CONFIG", "SET", "logfile", "x"),
        ("CONFIG", "SET", "dir", "/tmp"),
        ("CONFIG", "SET", "dbfilename", "x.rdb"),
        ("CONFIG", "SET", "timeout", "1", "timeout", "2"),
        ("CONFIG", "SET", "timeout", "1", "maxmemory", "5", "TIMEOUT", "3"),
        ("CONFIG", "SET", "timeout", "1", "nosuch", "2"),
        ("CONFIG", "SET", "nosuch", "1", "databases", "2"),
        ("CONFIG", "SET", "databases", "2", "nosuch", "1"),
        ("CONFIG", "SET", "databases", "2", "timeout", "x"),
        ("CONFIG", "SET", "timeout", "x", "databases", "2"),
        ("CONFIG", "SET", "TIMEOUT", "1", "maxmemory", "x"),
        ("CONFIG", "SET", "Timeout", "x"),
        ("CONFIG", "SET", "proto-max-bulk-len", "1000"),
        ("CONFIG", "SET", "client-query-buffer-limit", "1000"),
        ("CONFIG", "SET", "client-query-buffer-limit", "1.5gb"),
        ("CONFIG", "SET", "hz", "-1"),
        ("CONFIG", "SET", "maxclients", "0"),
        ("CONFIG", "SET", "maxmemory-samples", "0"),
        ("CONFIG", "SET", "active-expire-effort", "11"),
        ("CONFIG", "SET", "slowlog-log-slower-than", "-2"),
        ("CONFIG", "SET", "slowlog-max-len", "-1"),
        ("CONFIG", "SET", "latency-monitor-threshold", "-1"),
        ("CONFIG", "SET", "tcp-keepalive", "-1"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 101"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "abc"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "-1"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "1e1 nan"),
        ("CONFIG", "SET", "requirepass", "x", "y"),
    ])


@pytest.mark.parametrize("name,value", [
    ("maxmemory", "100kB"), ("maxmemory", "1G"), ("maxmemory", "10GB"), ("maxmemory", "3m"),
    ("maxmemory", ""), ("maxmemory", "0"), ("maxmemory-policy", "ALLKEYS-LRU"),
    ("appendfsync", "ALWAYS"), ("protected-mode", "NO"), ("hz", "0"), ("hz", "1000"),
    ("hz", "42"), ("save", ""), ("save", "100 1 200 2"), ("timeout", "0"),
    ("latency-tracking-info-percentiles", "1.5 99.99 0"), ("latency-tracking-info-percentiles", ""),
    ("proto-max-bulk-len", "1mb"), ("client-query-buffer-limit", "2gb"),
    ("slowlog-log-slower-than", "-1"), ("maxclients", "4294967295"), ("maxmemory-samples", "65"),
])
def test_set_then_get_shows_the_value_as_redis_does(node, reference, name, value):
    script = [("CONFIG", "SET", name, value), ("CONFIG", "GET", name)]
    try:
        assert_same(node, reference, script)
    finally:
        for server in (node, reference):
            with RawClient(server.port) as c:
                default = next(d.default for d in DIRECTIVES if d.name == name)
                c.call("CONFIG", "SET", name, "" if name == "save" else default)


def test_listening_addresses_cannot_change_at_run_time(r):
    """Redis can rebind port and bind on CONFIG SET; a node keeps its listeners."""
    for name, value in (("port", "7000"), ("bind", "0.0.0.0")):
        with pytest.raises(redis.ResponseError, match="can't set immutable config"):
            r.config_set(name, value)


def test_set_is_atomic_when_a_later_value_is_invalid(r):
    r.config_set("timeout", "7")
    with pytest.raises(redis.ResponseError, match="argument 'maxmemory'"):
        r.execute_command("CONFIG", "SET", "timeout", "9", "maxmemory", "lots")
    assert r.config_get("timeout") == {"timeout": "7"}
    assert r.execute_command("CONFIG", "SET", "timeout", "0", "maxmemory", "2mb")
    assert r.config_get("timeout", "maxmemory") == {"timeout": "0", "maxmemory": "2097152"}
    r.config_set("maxmemory", "0")


def test_set_takes_effect_on_the_running_server(r):
    r.config_set("slowlog-log-slower-than", "0")
    r.ping()
    assert r.slowlog_len() >= 1
    r.config_set("slowlog-log-slower-than", "10000")


def test_protected_configs_can_be_set_when_enabled():
    proc = start_node_with_file(os.devnull, "--enable-protected-configs", "local")
    try:
        other = tempfile.mkdtemp(prefix="redslot-dir-")
        client = redis.Redis(port=proc.port, decode_responses=True)
        assert client.config_set("dir", other)
        assert client.config_get("dir") == {"dir": os.path.realpath(other)}
        with pytest.raises(redis.ResponseError, match="No such file or directory"):
            client.config_set("dir", "/no/such/dir")
        client.close()
    finally:
        proc.stop()


def test_resetstat_clears_the_counters_info_shows(r):
    r.ping()
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    assert r.config_resetstat()
    stats = r.info("stats")
    assert stats["total_error_replies"] == 0
    assert stats["total_commands_processed"] <= 1
    assert r.info("errorstats") == {}


def test_rewrite_without_a_file_matches_redis(node, reference):
    assert_same(node, reference, [("CONFIG", "REWRITE")])


OLD_FILE = """\
# my comment
port 6379
bind 127.0.0.1

timeout 5
timeout 6
save ""
maxmemory 100mb
loglevel notice
  # indented comment
include {include}
"""


def rewrite_on(start, tmp_path: Path, name: str) -> str:
    include = tmp_path / f"{name}-inc.conf"
    include.write_text("hz 15\n")
    path = tmp_path / f"{name}.conf"
    path.write_text(OLD_FILE.format(include=include))
    proc = start(str(path))
    try:
        client = redis.Redis(port=proc.port)
        client.execute_command(
            "CONFIG", "SET", "timeout", "0", "hz", "20", "maxmemory", "2gb", "slowlog-max-len",
            "129", "save", "100 1 200 2", "loglevel", "warning", "maxmemory-policy", "allkeys-lru",
            "latency-tracking-info-percentiles", "50 99.5", "protected-mode", "no",
            "client-query-buffer-limit", "1025kb", "requirepass", 'se cr"et')
        client.execute_command("AUTH", 'se cr"et')
        assert client.execute_command("CONFIG", "REWRITE") == b"OK"
        client.close()
    finally:
        proc.stop()
    return path.read_text()


def test_rewrite_updates_lines_in_place_and_appends_like_redis(tmp_path):
    ours = rewrite_on(start_node_with_file, tmp_path, "ours")
    theirs = rewrite_on(start_redis_with_file, tmp_path, "theirs")
    ours, theirs = (re.sub(r"(?m)^port \d+$", "port N", text) for text in (ours, theirs))
    our_head, _, our_tail = ours.partition("# Generated by CONFIG REWRITE\n")
    ref_head, _, ref_tail = theirs.partition("# Generated by CONFIG REWRITE\n")
    assert our_head == ref_head.replace("theirs-inc", "ours-inc")
    ref_lines = set(ref_tail.splitlines())
    for line in our_tail.splitlines():
        if line.startswith(("dir ", "port ", "bind ")):
            continue
        assert line in ref_lines, line


def test_rewritten_file_restarts_with_the_same_values(tmp_path):
    path = tmp_path / "node.conf"
    path.write_text("# keep me\nmaxmemory 1mb\n")
    proc = start_node_with_file(str(path))
    try:
        client = redis.Redis(port=proc.port, decode_responses=True)
        client.config_set("maxmemory", "3mb")
        client.config_set("maxmemory-policy", "allkeys-lfu")
        client.config_set("save", "60 5")
        client.config_rewrite()
        client.close()
    finally:
        proc.stop()
    text = path.read_text()
    assert text.startswith("# keep me\nmaxmemory 3mb\n")
    assert "maxmemory-policy allkeys-lfu\n" in text
    # The first node's data dir is gone with it; the restart gets its own on the command line.
    path.write_text("".join(line for line in text.splitlines(True) if not line.startswith("dir ")))
    proc = start_node_with_file(str(path))
    try:
        client = redis.Redis(port=proc.port, decode_responses=True)
        got = client.config_get("maxmemory", "maxmemory-policy", "save")
        assert got == {"maxmemory": "3145728", "maxmemory-policy": "allkeys-lfu", "save": "60 5"}
        client.close()
    finally:
        proc.stop()


def test_rewrite_reports_an_unwritable_file(tmp_path):
    path = tmp_path / "ro" / "node.conf"
    path.parent.mkdir()
    path.write_text("hz 10\n")
    proc = start_node_with_file(str(path))
    try:
        path.parent.chmod(0o500)
        client = redis.Redis(port=proc.port)
        if os.geteuid() == 0:
            assert client.config_rewrite()
        else:
            with pytest.raises(redis.ResponseError, match="^Rewriting config file: Permission denied"):
                client.config_rewrite()
        client.close()
    finally:
        path.parent.chmod(0o700)
        proc.stop()


# --- the directive kinds, as units ---

@pytest.mark.parametrize("text,value", [
    ("", 0), ("0", 0), ("1k", 1000), ("1kb", 1024), ("1KB", 1024), ("2m", 2_000_000),
    ("2mb", 2 * 1024**2), ("1g", 10**9), ("1gb", 1024**3), ("5b", 5), ("mb", 0),
])
def test_memory_values_parse_like_memtoull(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["-1", "1x", "1.5mb", " 1", "1 mb", "0x10", "1kbb"])
def test_memory_values_redis_rejects_are_rejected(text):
    with pytest.raises(ConfigError, match="argument must be a memory value"):
        parse_memory(text)


# --- multi-word directives written bare in a config file (setConfigSaveOption) ---

@pytest.mark.parametrize("lines", [
    "save", "save \"\"", "save 100 1\nsave", "save 100 1\nsave \"\"", "save 100 1\nsave 200 2",
    "save \"\"\nsave 300 3", "latency-tracking-info-percentiles",
], ids=lambda text: text.replace("\n", " | "))
def test_bare_multi_word_directives_in_a_file_load_as_redis_loads_them(tmp_path, lines):
    values = []
    for name, start in (("ours", start_node_with_file), ("theirs", start_redis_with_file)):
        path = tmp_path / f"{name}.conf"
        path.write_text(lines + "\n")
        proc = start(str(path))
        try:
            with redis.Redis(port=proc.port, decode_responses=True) as client:
                values.append(client.config_get("save", "latency-tracking-info-percentiles"))
        finally:
            proc.stop()
    assert values[0] == values[1]


def test_bare_replicaof_in_a_file_is_refused_as_redis_refuses_it(tmp_path):
    conf = tmp_path / "node.conf"
    conf.write_text("port 0\nreplicaof\n")
    proc = subprocess.run([sys.executable, "-m", "redslot.cli", "node", str(conf)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "wrong number of arguments" in proc.stderr
