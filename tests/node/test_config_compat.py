"""redis.conf compatibility: Redis 7.0's configuration names load, with Redis's defaults and
checks; pidfile, daemonize, unixsocket and shutdown-on-sig* take effect."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from nodes import ServerProcess, free_port, start_node, start_redis_server, wait_for_ping
from resp import RawClient, encode_command

NEW_NAMES = [
    "daemonize", "pidfile", "unixsocket", "unixsocketperm", "shutdown-on-sigint",
    "shutdown-on-sigterm", "shutdown-timeout", "supervised", "always-show-logo",
    "set-proc-title", "proc-title-template", "syslog-enabled", "syslog-ident",
    "syslog-facility", "crash-log-enabled", "crash-memcheck-enabled", "disable-thp",
    "oom-score-adj", "oom-score-adj-values", "ignore-warnings", "socket-mark-id",
    "bind-source-addr", "server_cpulist", "bio_cpulist", "aof_rewrite_cpulist",
    "bgsave_cpulist", "io-threads", "io-threads-do-reads", "jemalloc-bg-thread",
    "activerehashing", "activedefrag", "active-defrag-ignore-bytes",
    "active-defrag-threshold-lower", "active-defrag-threshold-upper",
    "active-defrag-cycle-min", "active-defrag-cycle-max", "active-defrag-max-scan-fields",
    "lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del", "lazyfree-lazy-user-flush", "replica-lazy-flush",
    "slave-lazy-flush", "aof-disable-auto-gc", "aof-rewrite-incremental-fsync",
    "aof-timestamp-enabled", "rdb-save-incremental-fsync", "no-appendfsync-on-rewrite",
    "repl-disable-tcp-nodelay", "replica-announced", "replica-ignore-disk-write-errors",
    "propagation-error-behavior", "sanitize-dump-payload", "cluster-migration-barrier",
    "cluster-replica-validity-factor", "cluster-slave-validity-factor",
    "cluster-link-sendbuf-limit", "cluster-preferred-endpoint-type", "tls-cluster",
    "cluster-announce-tls-port",
]


def config_get_all(port: int) -> dict[bytes, bytes]:
    with RawClient(port) as c:
        raw = c.call("CONFIG", "GET", "*")
    import hiredis
    reader = hiredis.Reader()
    reader.feed(raw)
    flat = reader.gets()
    return dict(zip(flat[::2], flat[1::2], strict=True))


def test_every_redis_name_is_accepted(node: ServerProcess,
                                                            reference: ServerProcess) -> None:
    """Each name CONFIG GET * lists on redis-server (aliases too, in hash order there) is
    one CONFIG GET of redslot knows."""
    with RawClient(node.port) as c:
        missing = {name.decode() for name in config_get_all(reference.port)
                   if c.call("CONFIG", "GET", name) == b"*0\r\n"}
    assert missing == set()


def test_new_names_have_redis_defaults(node: ServerProcess, reference: ServerProcess) -> None:
    with RawClient(node.port) as ours, RawClient(reference.port) as theirs:
        for name in NEW_NAMES:
            assert ours.call("CONFIG", "GET", name) == theirs.call("CONFIG", "GET", name), name


@pytest.mark.parametrize("name,value", [
    ("shutdown-on-sigterm", "save now"), ("shutdown-on-sigterm", "save nosave"),
    ("shutdown-on-sigterm", "bogus"), ("shutdown-on-sigint", "force nosave"),
    ("oom-score-adj-values", "0 200"), ("oom-score-adj-values", "0 200 9000"),
    ("oom-score-adj-values", "-100 0 100"), ("proc-title-template", "{nope}"),
    ("proc-title-template", "{title} {port}"), ("proc-title-template", "{title"),
    ("io-threads", "2"), ("activedefrag", "maybe"), ("active-defrag-cycle-max", "100"),
    ("lazyfree-lazy-user-del", "yes"), ("sanitize-dump-payload", "clients"),
    ("cluster-preferred-endpoint-type", "hostname"),
    ("unixsocketperm", "700"), ("pidfile", "/tmp/x.pid"),
])
def test_config_set_matches_redis(node: ServerProcess, reference: ServerProcess,
                                  name: str, value: str) -> None:
    replies = []
    for server in (node, reference):
        with RawClient(server.port) as c:
            replies.append((c.call("CONFIG", "SET", name, value), c.call("CONFIG", "GET", name)))
    assert replies[0] == replies[1]


def test_pidfile_is_written_and_removed(tmp_path: Path) -> None:
    pidfile = tmp_path / "node.pid"
    node = start_node("--pidfile", str(pidfile))
    try:
        assert int(pidfile.read_text()) == node.proc.pid
    finally:
        node.stop()
    assert not pidfile.exists()


def test_unixsocket_serves_clients(tmp_path: Path) -> None:
    path = str(tmp_path / "node.sock")
    node = start_node("--unixsocket", path, "--unixsocketperm", "700")
    try:
        assert os.stat(path).st_mode & 0o777 == 0o700
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        sock.sendall(encode_command("CLIENT", "INFO"))
        info = b""
        while not info.endswith(b"\n\r\n"):
            info += sock.recv(4096)
        assert f"addr={path}:0".encode() in info
        sock.sendall(encode_command("DEBUG", "SLEEP", "0"))  # a protected command: local
        assert sock.recv(64) == b"+OK\r\n"
        sock.close()
    finally:
        node.stop()
    assert not os.path.exists(path)


def test_daemonize_detaches_and_writes_the_pidfile(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "daemon.pid"
    done = subprocess.run(
        [sys.executable, "-m", "redslot.cli", "node", "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(tmp_path), "--save", "", "--daemonize", "yes", "--pidfile", str(pidfile)],
        timeout=30)
    assert done.returncode == 0  # the foreground process exits at once
    deadline = time.monotonic() + 15
    while not pidfile.exists():
        assert time.monotonic() < deadline, "the daemon never wrote its pidfile"
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    try:
        with RawClient(port) as c:
            assert c.call("PING") == b"+PONG\r\n"
            assert f"process_id:{pid}".encode() in c.call("INFO", "server")
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while pidfile.exists():
            assert time.monotonic() < deadline, "the daemon did not stop"
            time.sleep(0.05)


@pytest.mark.parametrize("flags,saved", [("nosave", False), ("save", True), ("default", True)])
def test_shutdown_on_sigterm_options(flags: str, saved: bool) -> None:
    workdir = tempfile.mkdtemp(prefix="redslot-sig-")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "redslot.cli", "node", "--port", str(port), "--bind",
         "127.0.0.1", "--dir", workdir, "--save", "3600 1", "--shutdown-on-sigterm", flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_ping(port, proc)
        with RawClient(port) as c:
            c.call("SET", "k", "v")
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert os.path.exists(os.path.join(workdir, "dump.rdb")) == saved


def test_inert_directives_are_reported_at_start() -> None:
    node = start_node("--io-threads", "4", "--activedefrag", "yes")
    try:
        assert "io-threads is set to '4' but has no effect in redslot" in node.log
        assert "activedefrag is set to 'yes' but has no effect" in node.log
        assert "lazyfree-lazy-user-del" not in node.log  # left at its default
    finally:
        node.stop()


DEBIAN_REDIS_CONF = Path("/etc/redis/redis.conf")
# What this test sets differently on the command line (a free port, a temporary
# directory, no daemon, no log or pid file of the system's service), and what differs by
# nature: the ports and paths of each process.
PER_PROCESS = {b"port", b"dir", b"pidfile", b"logfile", b"daemonize", b"save", b"appendonly",
               b"enable-debug-command", b"bind", b"unixsocket"}


def start_both_with(conf: Path) -> tuple[ServerProcess, ServerProcess]:
    """redis-server and a redslot node started from the same redis.conf, with the same
    command-line overrides after it."""
    started: list[ServerProcess] = []
    try:
        for kind in ("redis", "redslot"):
            port = free_port()
            workdir = tempfile.mkdtemp(prefix=f"{kind}-conf-")
            overrides = ["--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
                         "--daemonize", "no", "--pidfile", "", "--logfile", "",
                         "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"]
            program = ([str(shutil.which("redis-server"))] if kind == "redis"
                       else [sys.executable, "-m", "redslot.cli", "node"])
            process = ServerProcess([*program, str(conf), *overrides], port, workdir)
            started.append(process)
        return started[0], started[1]
    except BaseException:
        for process in started:
            process.stop()
        raise


def differences(reference: ServerProcess, node: ServerProcess) -> dict[bytes, tuple[bytes, bytes]]:
    theirs = config_get_all(reference.port)
    ours = config_get_all(node.port)
    return {name: (value, ours.get(name, b"<missing>")) for name, value in theirs.items()
            if name not in PER_PROCESS and ours.get(name) != value}


@pytest.mark.skipif(not DEBIAN_REDIS_CONF.exists(), reason="Debian's redis.conf is not here")
def test_debian_redis_conf_gives_the_same_config_get_all() -> None:
    """The redis.conf Debian's redis-server package ships (daemonize, pidfile, logfile,
    supervised, lazyfree-*, client-output-buffer-limit ... as its service uses it) starts a
    node, and CONFIG GET * then says what redis-server says for every name."""
    reference, node = start_both_with(DEBIAN_REDIS_CONF)
    try:
        assert differences(reference, node) == {}
    finally:
        reference.stop()
        node.stop()


def test_every_name_set_to_its_default_gives_the_same_config_get_all(tmp_path: Path) -> None:
    """A redis.conf that sets each of the names CONFIG GET * lists on redis-server 7.0 to
    the value it shows there loads in both, with the same CONFIG GET * afterwards."""
    reference = start_redis_server()
    try:
        lines = []
        for name, value in sorted(config_get_all(reference.port).items()):
            if name in PER_PROCESS or (name in (b"replicaof", b"slaveof") and not value):
                continue  # "no master" shows as "", which neither loads back (one word)
            text = value.decode()
            quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
            if name in (b"client-output-buffer-limit", b"oom-score-adj-values"):
                quoted = text  # several words, as redis.conf writes them
            lines.append(f"{name.decode()} {quoted}")
    finally:
        reference.stop()
    conf = tmp_path / "every-default.conf"
    conf.write_text("\n".join(lines) + "\n")
    reference, node = start_both_with(conf)
    try:
        assert differences(reference, node) == {}
    finally:
        reference.stop()
        node.stop()


@pytest.mark.parametrize("line,error", [
    ('replicaof ""', "wrong number of arguments"),
    ("replicaof 127.0.0.1 99999", "Invalid master port"),
    ("slaveof 127.0.0.1 12x", "Invalid master port"),
])
def test_a_bad_replicaof_line_stops_both_with_redis_error(tmp_path: Path, line: str,
                                                          error: str) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(line + "\n")
    programs = [[str(shutil.which("redis-server"))], [sys.executable, "-m", "redslot.cli", "node"]]
    for program in programs:
        done = subprocess.run([*program, str(conf), "--port", str(free_port())],
                              capture_output=True, text=True, timeout=30, cwd=tmp_path)
        assert done.returncode == 1
        assert f">>> '{line}'\n{error}" in done.stdout + done.stderr, program
