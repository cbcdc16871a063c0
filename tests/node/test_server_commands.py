"""Server commands: TIME, DBSIZE, LASTSAVE, FLUSHDB/FLUSHALL, SWAPDB, MONITOR, SHUTDOWN,
and DEBUG's protection and its non-introspection subcommands, against redis-server."""

from __future__ import annotations

import re
import socket
import subprocess
import time

import pytest
import redis
from differential import assert_same
from nodes import no_retry, start_node, start_redis_server
from output_wait import read_until
from resp import RawClient

MONITOR_LINE = re.compile(rb'^\+(\d+)\.(\d{6}) \[(\d+) (127\.0\.0\.1:\d+)\] (.*)\r\n$')


def test_flush_and_swapdb_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("FLUSHALL", "x"),
        ("FLUSHALL", "SYNC", "ASYNC"),
        ("FLUSHALL", "async"),
        ("FLUSHALL", "SYNC"),
        ("FLUSHDB", "foo"),
        ("FLUSHDB", "sync"),
        ("FLUSHDB", "ASYNC", "x"),
        ("SWAPDB", "a", "1"),
        ("SWAPDB", "0", "b"),
        ("SWAPDB", "-1", "1"),
        ("SWAPDB", "0", "16"),
        ("SWAPDB", "2147483648", "1"),
        ("SWAPDB", "99999999999999999999", "1"),
        ("SWAPDB", "0", "0"),
        ("SWAPDB",),
        ("TIME", "x"),
        ("DBSIZE", "x"),
        ("LASTSAVE", "x"),
        ("MONITOR", "x"),
    ])


def test_dbsize_flushdb_and_flushall_follow_the_data(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "1"), ("SET", "b", "2"), ("DBSIZE",),
        ("SELECT", "3"), ("SET", "c", "3"), ("DBSIZE",),
        ("FLUSHDB",), ("DBSIZE",),
        ("SELECT", "0"), ("DBSIZE",),
        ("SELECT", "3"), ("SET", "c", "3"),
        ("FLUSHALL", "ASYNC"), ("DBSIZE",),
        ("SELECT", "0"), ("DBSIZE",), ("GET", "a"),
    ])


def test_swapdb_exchanges_whole_databases(node, reference):
    assert_same(node, reference, [
        ("SET", "a", "in0"), ("SELECT", "1"), ("SET", "b", "in1"), ("SET", "c", "x"),
        ("SWAPDB", "0", "1"),
        ("DBSIZE",), ("GET", "a"), ("GET", "b"),
        ("SELECT", "0"), ("DBSIZE",), ("GET", "a"), ("GET", "b"),
        ("SWAPDB", "1", "0"), ("GET", "a"),
    ])


def test_swapdb_keeps_ttls_with_their_keys(r):
    r.set("k", "v", ex=100)
    r.swapdb(0, 5)
    r.select(5)
    assert 0 < r.ttl("k") <= 100


def test_swapdb_is_refused_in_cluster_mode():
    proc = start_node("--cluster-enabled", "yes")
    try:
        with RawClient(proc.port) as c:
            assert c.call("SWAPDB", "0", "1") == b"-ERR SWAPDB is not allowed in cluster mode\r\n"
    finally:
        proc.stop()


def test_time_is_seconds_and_microseconds_now(r2):
    seconds, micros = r2.time()
    assert abs(seconds + micros / 1e6 - time.time()) < 2
    assert 0 <= micros < 1_000_000


def test_time_replies_bulk_strings_like_redis(node):
    with RawClient(node.port) as c:
        assert re.fullmatch(rb"\*2\r\n\$10\r\n\d{10}\r\n\$\d\r\n\d{1,6}\r\n", c.call("TIME"))


def test_lastsave_is_the_start_time_without_snapshots(node, r):
    assert abs(r.lastsave().timestamp() - time.time()) < 3600


def test_monitor_lines_match_redis_byte_format(node, reference):
    lines = []
    for server in (node, reference):
        with RawClient(server.port) as mon, RawClient(server.port) as c:
            assert mon.call("MONITOR") == b"+OK\r\n"
            c.call("SELECT", "2")
            c.call("SET", "k", b'va"l\\ue\n\x01\xff')
            c.call("GET", "k")
            lines.append([mon.read_reply() for _ in range(3)])
    for mine, theirs in zip(*lines, strict=True):
        m, t = MONITOR_LINE.match(mine), MONITOR_LINE.match(theirs)
        assert m and t, (mine, theirs)
        assert (m[3], m[5]) == (t[3], t[5])
    assert lines[0][1].endswith(b' "SET" "k" "va\\"l\\\\ue\\n\\x01\\xff"\r\n')


def test_monitor_shows_the_client_address_and_a_current_timestamp(node, r):
    with RawClient(node.port) as mon:
        mon.call("MONITOR")
        r.ping()
        line = mon.read_reply()
    m = MONITOR_LINE.match(line)
    assert m, line
    assert abs(int(m[1]) - time.time()) < 5
    assert m[3] == b"0"
    assert m[5] == b'"PING"'


def test_monitor_redacts_auth_and_hello_secrets_like_redis(node, reference):
    lines = []
    for server in (node, reference):
        with RawClient(server.port) as mon, RawClient(server.port) as c:
            mon.call("MONITOR")
            c.call("AUTH", "secret")
            c.call("AUTH", "user", "secret")
            c.call("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "me")
            c.call("HELLO", "2", "SETNAME", "me2")
            lines.append([MONITOR_LINE.match(mon.read_reply())[5] for _ in range(4)])
    assert lines[0] == lines[1]
    assert lines[0][0] == b'"AUTH" "(redacted)"'


def test_monitor_skips_admin_commands(node):
    with RawClient(node.port) as mon, RawClient(node.port) as c:
        mon.call("MONITOR")
        c.call("CONFIG", "GET", "port")
        c.call("ECHO", "after")
        assert MONITOR_LINE.match(mon.read_reply())[5] == b'"ECHO" "after"'


def test_monitor_twice_replies_only_once(node):
    with RawClient(node.port) as mon, RawClient(node.port) as c:
        mon.call("MONITOR")
        mon.send_raw(b"*1\r\n$7\r\nMONITOR\r\n")
        c.call("ECHO", "x")
        line = mon.read_reply()
        assert MONITOR_LINE.match(line)[5] == b'"ECHO" "x"'


def test_redis_cli_monitor_prints_commands(node):
    cli = subprocess.Popen(["redis-cli", "-p", str(node.port), "monitor"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        with RawClient(node.port) as c:
            while b" flags=O " not in c.call("CLIENT", "LIST"):  # MONITOR ran
                assert time.monotonic() < deadline, "redis-cli never started monitoring"
                time.sleep(0.05)
            c.call("ECHO", "from-test")
        assert cli.stdout is not None
        read_until(cli.stdout.fileno(), b'"ECHO" "from-test"')
    finally:
        cli.terminate()
        cli.communicate(timeout=5)


def test_shutdown_argument_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("SHUTDOWN", "foo"),
        ("SHUTDOWN", "ABORT"),
        ("SHUTDOWN", "NOSAVE", "SAVE"),
        ("SHUTDOWN", "NOSAVE", "ABORT"),
        ("SHUTDOWN", "ABORT", "NOW"),
    ])


@pytest.mark.parametrize("args", [(), ("NOSAVE", "NOW"), ("SAVE", "FORCE")])
def test_shutdown_stops_the_process_cleanly_without_a_reply(args):
    proc = start_node()
    try:
        with RawClient(proc.port) as c:
            c.send_raw(b"SHUTDOWN " + b" ".join(a.encode() for a in args) + b"\r\nPING\r\n")
            assert c.read_until_closed() == b""
        assert proc.proc.wait(10) == 0
        assert "ready to exit" in proc.log
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", proc.port), timeout=1).close()
    finally:
        proc.stop()


def test_redis_py_shutdown_succeeds(node):
    proc = start_node()
    try:
        client = redis.Redis(port=proc.port, socket_timeout=5, retry=no_retry())
        client.shutdown(nosave=True)
        assert proc.proc.wait(10) == 0
    finally:
        proc.stop()


# --- DEBUG protection and plain subcommands ---

PROTECTED = (
    b'-ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", '
    b"you can run it from a local connection, otherwise you need to set this option in the "
    b"configuration file, and then restart the server.\r\n"
)


def test_debug_is_refused_by_default_before_authentication_like_redis():
    ours = start_node("--enable-debug-command", "no", "--requirepass", "pw")
    theirs = start_redis_server("--enable-debug-command", "no", "--requirepass", "pw")
    try:
        for server in (ours, theirs):
            with RawClient(server.port) as c:
                assert c.call("DEBUG", "SLEEP", "0") == PROTECTED
                assert c.call("debug") == b"-ERR wrong number of arguments for 'debug' command\r\n"
                c.call("AUTH", "pw")
                assert c.call("DEBUG", "SLEEP", "0") == PROTECTED
                stats = c.call("INFO", "commandstats")
                assert b"cmdstat_debug:calls=0,usec=0,usec_per_call=0.00,rejected_calls=3" in stats
    finally:
        ours.stop()
        theirs.stop()


def test_debug_local_allows_loopback_clients():
    proc = start_node("--enable-debug-command", "local")
    try:
        with RawClient(proc.port) as c:
            assert c.call("DEBUG", "SLEEP", "0") == b"+OK\r\n"
    finally:
        proc.stop()


def test_debug_argument_errors_match_redis(node, reference):
    assert_same(node, reference, [
        ("DEBUG", "nosuch"),
        ("DEBUG", "SLEEP"),
        ("DEBUG", "sleep", "0", "1"),
        ("DEBUG", "OBJECT"),
        ("DEBUG", "OBJECT", "nokey"),
        ("DEBUG", "DIGEST", "x"),
        ("DEBUG", "DIGEST-VALUE"),
        ("DEBUG", "populate", "-3"),
        ("DEBUG", "populate", "x"),
        ("DEBUG", "populate", "1", "p", "-1"),
        ("DEBUG", "populate", "1", "p", "2", "3"),
        ("DEBUG", "SLEEP", "abc"),
        ("DEBUG", "SLEEP", "-1"),
        ("DEBUG", "ERROR", "FOO bar"),
        ("DEBUG", "ERROR", "x\r\ny"),
        ("DEBUG", "LOG", "hello"),
        ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
    ])


def test_debug_error_is_not_counted_as_an_error_reply(r):
    r.config_resetstat()
    with pytest.raises(redis.ResponseError):
        r.execute_command("DEBUG", "ERROR", "ERR made up")
    assert "errorstat_ERR" not in r.execute_command("INFO", "errorstats")


def test_debug_populate_creates_the_same_keys_as_redis(node, reference):
    assert_same(node, reference, [
        ("DEBUG", "POPULATE", "3"),
        ("SET", "key:1", "kept"),
        ("DEBUG", "POPULATE", "3", "p", "20"),
        ("DEBUG", "POPULATE", "2", "q", "3"),
        ("DEBUG", "POPULATE", "3"),
        ("DBSIZE",), ("GET", "key:0"), ("GET", "key:1"), ("GET", "p:2"), ("GET", "q:1"),
    ])


PROTOCOL_KINDS = ["string", "integer", "double", "bignum", "null", "array", "set", "map",
                  "attrib", "push", "verbatim", "true", "false", "nosuch"]


def test_debug_protocol_samples_match_redis_in_resp2(node, reference):
    assert_same(node, reference, [("DEBUG", "PROTOCOL", k) for k in PROTOCOL_KINDS])


def test_debug_protocol_samples_match_redis_in_resp3(node, reference):
    assert _resp3_protocol(node.port) == _resp3_protocol(reference.port)


def _resp3_protocol(port: int) -> list[bytes]:
    with RawClient(port) as c:
        c.call("HELLO", "3")
        out = []
        for kind in PROTOCOL_KINDS:
            reply = c.call("DEBUG", "PROTOCOL", kind)
            if kind in ("attrib", "push"):
                reply += c.read_reply()
            out.append(reply)
        return out


def test_debug_sleep_blocks_the_whole_server(node):
    """Another client's PINGs, sent back to back while the sleep runs, are held: one of
    them waits for most of it (when the sleep starts is not observable from outside)."""
    with RawClient(node.port) as sleeper, RawClient(node.port) as other:
        sleeper.send_raw(b"DEBUG SLEEP 0.3\r\n")
        timeout = sleeper.sock.gettimeout()
        sleeper.sock.setblocking(False)
        waits = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            start = time.monotonic()
            assert other.call("PING") == b"+PONG\r\n"
            waits.append(time.monotonic() - start)
            try:
                answered = sleeper.sock.recv(5, socket.MSG_PEEK) == b"+OK\r\n"
            except BlockingIOError:
                answered = False
            if answered:
                break
        sleeper.sock.settimeout(timeout)
        assert sleeper.read_reply() == b"+OK\r\n"
        assert max(waits) > 0.15, waits


def test_debug_set_active_expire_0_leaves_expired_keys_until_accessed(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("gone", "v", px=50)
        time.sleep(0.4)
        assert r.dbsize() == 1
        assert r.get("gone") is None
        assert r.dbsize() == 0
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        r.set("gone", "v", px=50)
        deadline = time.monotonic() + 3
        while r.dbsize() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert r.dbsize() == 0
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
