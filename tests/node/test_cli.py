"""The ``redslot`` command line: config files, options, start-up errors, signals, help."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis
from nodes import ServerProcess, free_port

REDSLOT = [sys.executable, "-m", "redslot.cli"]


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*REDSLOT, *args], capture_output=True, text=True, timeout=timeout)


def start(*args: str) -> ServerProcess:
    """``redslot node ARGS`` on a free port (``{port}`` in ARGS is replaced by it)."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redslot-cli-")
    argv = [*REDSLOT, "node", *(a.replace("{port}", str(port)) for a in args)]
    return ServerProcess(argv, port, workdir)


def test_node_reads_a_redis_conf_file_with_comments_quotes_and_include(tmp_path: Path):
    extra = tmp_path / "extra.conf"
    extra.write_text("maxmemory-policy allkeys-lru\nhz 25\n")
    conf = tmp_path / "node.conf"
    conf.write_text(
        "# a comment line\n"
        "   # an indented comment\n"
        "\n"
        "bind 127.0.0.1\n"
        "maxmemory 10mb\n"
        'requirepass "pa ss\\"word"\n'
        "dbfilename 'my dump.rdb'\n"
        "save 900 1\n"
        "save 300 10\n"
        f"dir {tmp_path}\n"
        f"include {extra}\n"
    )
    proc = start(str(conf), "--port", "{port}")
    try:
        client = redis.Redis(port=proc.port, password='pa ss"word', decode_responses=True)
        got = client.config_get("maxmemory", "dbfilename", "save", "maxmemory-policy", "hz", "dir")
        assert got == {"maxmemory": "10485760", "dbfilename": "my dump.rdb", "save": "900 1 300 10",
                       "maxmemory-policy": "allkeys-lru", "hz": "25", "dir": str(tmp_path)}
        client.close()
    finally:
        proc.stop()


def test_command_line_options_override_the_file(tmp_path: Path):
    conf = tmp_path / "node.conf"
    conf.write_text("bind 127.0.0.1\nmaxmemory 10mb\ntimeout 30\nsave 900 1\n")
    proc = start(str(conf), "--port", "{port}", "--maxmemory", "2gb", "--save", "60 5 120 6")
    try:
        client = redis.Redis(port=proc.port, decode_responses=True)
        got = client.config_get("maxmemory", "timeout", "save")
        # As with redis-server, save lines add up across the file and the command line.
        assert got == {"maxmemory": "2147483648", "timeout": "30", "save": "900 1 60 5 120 6"}
        client.close()
    finally:
        proc.stop()


def test_options_alone_start_a_node():
    proc = start("--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--maxclients", "77")
    try:
        client = redis.Redis(port=proc.port, decode_responses=True)
        assert client.config_get("maxclients", "save") == {"maxclients": "77", "save": ""}
        client.close()
    finally:
        proc.stop()


def test_unknown_directive_fails_at_start(tmp_path: Path):
    conf = tmp_path / "node.conf"
    conf.write_text("port 0\nno-such-directive yes\n")
    result = run_cli("node", str(conf))
    assert result.returncode != 0
    assert "FATAL CONFIG FILE ERROR" in result.stderr
    assert "at line 2" in result.stderr
    assert ">>> 'no-such-directive yes'" in result.stderr
    assert "Bad directive or wrong number of arguments" in result.stderr


def test_unknown_option_fails_at_start():
    result = run_cli("node", "--port", "0", "--no-such-option", "1")
    assert result.returncode != 0
    assert "Bad directive or wrong number of arguments" in result.stderr


@pytest.mark.parametrize("args,reason", [
    (["--timeout", "soon"], "argument couldn't be parsed into an integer"),
    (["--maxmemory", "lots"], "argument must be a memory value"),
    (["--maxmemory-policy", "random"], "argument(s) must be one of the following"),
    (["--protected-mode", "maybe"], "argument must be 'yes' or 'no'"),
    (["--port", "70000"], "argument must be between 0 and 65535 inclusive"),
    (["--timeout", "1", "2"], "wrong number of arguments"),
    (["--save", "100"], "Invalid save parameters"),
    (["--dir", "/no/such/dir"], "No such file or directory"),
])
def test_bad_value_fails_at_start_with_the_reason(args, reason):
    result = run_cli("node", "--bind", "127.0.0.1", *args)
    assert result.returncode != 0
    assert reason in result.stderr


def test_missing_config_file_fails_at_start(tmp_path: Path):
    result = run_cli("node", str(tmp_path / "absent.conf"))
    assert result.returncode != 0
    assert "can't open config file" in result.stderr


def test_unbalanced_quotes_fail_at_start(tmp_path: Path):
    conf = tmp_path / "node.conf"
    conf.write_text('logfile "unclosed\n')
    result = run_cli("node", str(conf))
    assert result.returncode != 0
    assert "Unbalanced quotes" in result.stderr


@pytest.mark.parametrize("sig,name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")])
def test_signals_shut_the_node_down_cleanly(sig, name):
    proc = start("--port", "{port}", "--bind", "127.0.0.1", "--save", "")
    client = redis.Redis(port=proc.port)
    client.set("k", "v")
    proc.proc.send_signal(sig)
    code = proc.proc.wait(10)
    log = proc.log
    proc.stop()
    client.close()
    assert code == 0
    assert f"Received {name} scheduling shutdown" in log
    assert "bye bye" in log


def test_redslot_help():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "Usage: redslot <command>" in result.stdout
    assert "node" in result.stdout


def test_redslot_node_help():
    result = run_cli("node", "--help")
    assert result.returncode == 0
    assert "Usage: redslot node [CONFIG_FILE] [--directive value ...]" in result.stdout


def test_redslot_without_a_command_prints_usage_and_fails():
    result = run_cli()
    assert result.returncode == 2
    assert "Usage: redslot" in result.stdout
