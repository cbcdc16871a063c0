"""CLUSTER commands on real processes: 3-master clusters of redslot nodes formed with
ADDSLOTSRANGE and MEET only, compared with redis-server clusters formed the same way."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import hiredis
import pytest
from differential import assert_same, assert_same_resp3
from nodes import ServerProcess, free_port, start_node, start_redis_server
from resp import RawClient

RANGES = ((0, 5460), (5461, 10922), (10923, 16383))
DEADLINE = 30.0


def start_ours(*directives: str) -> ServerProcess:
    return start_node("--cluster-enabled", "yes", "--cluster-port", str(free_port()), *directives)


def start_theirs() -> ServerProcess:
    return start_redis_server("--cluster-enabled", "yes", "--cluster-port", str(free_port()))


def call(proc: ServerProcess, *args: str | int) -> bytes:
    with RawClient(proc.port) as c:
        return c.call(*args)


def text(proc: ServerProcess, *args: str) -> str:
    """A bulk or verbatim reply's text."""
    raw = call(proc, *args)
    body = raw.split(b"\r\n", 1)[1][:-2]
    if raw.startswith(b"="):
        body = body[4:]
    return body.decode()


def bus_port(proc: ServerProcess) -> int:
    for line in text(proc, "CLUSTER", "NODES").splitlines():
        if "myself" in line:
            return int(line.split()[1].split("@")[1].split(",")[0])
    raise AssertionError("no myself line")


def wait_until(predicate, what: str, timeout: float = DEADLINE) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def signature(proc: ServerProcess) -> str:
    """redis-cli's clusterManagerGetConfigSignature: node ids with their slots, sorted."""
    parts = []
    for line in text(proc, "CLUSTER", "NODES").splitlines():
        fields = line.split()
        slots = [f for f in fields[8:] if not f.startswith("[")]
        if slots:
            parts.append(fields[0] + ":" + ",".join(sorted(slots)))
    return "|".join(sorted(parts))


def converged(procs: list[ServerProcess]) -> bool:
    if not all(b"cluster_state:ok" in call(p, "CLUSTER", "INFO") for p in procs):
        return False
    if len({signature(p) for p in procs}) != 1:
        return False
    return all(len(text(p, "CLUSTER", "NODES").splitlines()) == len(procs) for p in procs)


def form(procs: list[ServerProcess], ranges: tuple[tuple[int, int], ...] = RANGES) -> None:
    for proc, (start, end) in zip(procs, ranges, strict=False):
        assert call(proc, "CLUSTER", "ADDSLOTSRANGE", start, end) == b"+OK\r\n"
    for proc in procs[1:]:
        reply = call(procs[0], "CLUSTER", "MEET", "127.0.0.1", proc.port, bus_port(proc))
        assert reply == b"+OK\r\n"
    wait_until(lambda: converged(procs), "the cluster to converge")


@pytest.fixture(scope="module")
def ours() -> Iterator[list[ServerProcess]]:
    procs = [start_ours() for _ in range(3)]
    try:
        form(procs)
        yield procs
    finally:
        for proc in procs:
            proc.stop()


@pytest.fixture(scope="module")
def theirs() -> Iterator[list[ServerProcess]]:
    procs = [start_theirs() for _ in range(3)]
    try:
        form(procs)
        yield procs
    finally:
        for proc in procs:
            proc.stop()


@pytest.fixture
def lone_pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """One cluster-mode node of each kind, alone in its cluster."""
    mine, ref = start_ours(), start_theirs()
    try:
        yield mine, ref
    finally:
        mine.stop()
        ref.stop()


def normalised_nodes(procs: list[ServerProcess]) -> list[list[str]]:
    """CLUSTER NODES of the first node with ids, ports, times and epochs replaced by names
    that depend only on the slots each node serves; sorted by slot."""
    lines = [line.split() for line in text(procs[0], "CLUSTER", "NODES").splitlines()]
    lines.sort(key=lambda f: int(f[8].split("-")[0]))
    names = {f[0]: f"node{i}" for i, f in enumerate(lines)}
    out = []
    for f in lines:
        assert f[1].startswith("127.0.0.1:") and re.fullmatch(r"127\.0\.0\.1:\d+@\d+", f[1])
        assert f[4].isdigit() and f[5].isdigit() and f[6].isdigit()
        out.append([names[f[0]], "ADDR", f[2], f[3], "PING", "PONG", "EPOCH", *f[7:]])
    return out


def test_cluster_nodes_lines_have_redis_fields(ours: list[ServerProcess],
                                               theirs: list[ServerProcess]) -> None:
    assert normalised_nodes(ours) == normalised_nodes(theirs)
    for procs in (ours, theirs):
        raw = call(procs[0], "CLUSTER", "NODES")
        assert raw.endswith(b"\n\r\n"), "every line ends with a newline, the last one too"


def test_cluster_nodes_is_verbatim_text_in_resp3(ours: list[ServerProcess]) -> None:
    with RawClient(ours[0].port) as c:
        c.call("HELLO", "3")
        assert c.call("CLUSTER", "NODES").startswith(b"=")
        assert c.call("CLUSTER", "INFO").startswith(b"=")


def test_config_epochs_end_up_distinct(ours: list[ServerProcess]) -> None:
    epochs = [line.split()[6] for line in text(ours[0], "CLUSTER", "NODES").splitlines()]
    assert len(set(epochs)) == 3


def normalise_ids_and_ports(raw: bytes, procs: list[ServerProcess]) -> bytes:
    for i, proc in enumerate(procs):
        node_id = call(proc, "CLUSTER", "MYID").split(b"\r\n")[1]
        raw = raw.replace(node_id, b"%040d" % i)
        raw = raw.replace(b":%d\r\n" % proc.port, b":PORT%d\r\n" % i)
    return raw


def test_cluster_slots_matches_redis(ours: list[ServerProcess], theirs: list[ServerProcess]) -> None:
    for resp3 in (False, True):
        replies = []
        for procs in (ours, theirs):
            with RawClient(procs[0].port) as c:
                if resp3:
                    c.call("HELLO", "3")
                replies.append(normalise_ids_and_ports(c.call("CLUSTER", "SLOTS"), procs))
        assert sorted(replies[0].split(b"*3\r\n:")) == sorted(replies[1].split(b"*3\r\n:"))


def test_cluster_shards_matches_redis(ours: list[ServerProcess], theirs: list[ServerProcess]) -> None:
    def shards(procs: list[ServerProcess]) -> list[object]:
        names: dict[object, object] = {}
        for i, proc in enumerate(procs):
            names[text(proc, "CLUSTER", "MYID").encode()] = f"id{i}"
            names[proc.port] = f"port{i}"

        def rename(value: object) -> object:
            if isinstance(value, list):
                return [rename(v) for v in value]
            return names.get(value, value)

        reader = hiredis.Reader()
        reader.feed(call(procs[0], "CLUSTER", "SHARDS"))
        value = rename(reader.gets())
        assert isinstance(value, list)
        return sorted(value, key=lambda shard: shard[1])  # type: ignore[index]

    assert shards(ours) == shards(theirs)


def info_fields(proc: ServerProcess) -> dict[str, str]:
    return dict(line.split(":", 1) for line in text(proc, "CLUSTER", "INFO").splitlines())


def test_cluster_info_fields_match_redis(ours: list[ServerProcess], theirs: list[ServerProcess]) -> None:
    mine, ref = info_fields(ours[0]), info_fields(theirs[0])
    head = ["cluster_state", "cluster_slots_assigned", "cluster_slots_ok", "cluster_slots_pfail",
            "cluster_slots_fail", "cluster_known_nodes", "cluster_size"]
    assert list(mine)[:9] == list(ref)[:9]
    assert {k: mine[k] for k in head} == {k: ref[k] for k in head}
    assert list(mine)[-3] == list(ref)[-1] == "total_cluster_links_buffer_limit_exceeded"
    assert list(mine)[-2:] == ["redslot_topology_epoch", "redslot_held"]  # redslot's own, last
    stats = re.compile(r"cluster_stats_messages_([a-z-]+_)?(sent|received)")
    assert all(stats.fullmatch(k) for k in list(mine)[9:-3])
    assert int(mine["cluster_current_epoch"]) >= int(mine["cluster_my_epoch"])


def test_redis_cli_cluster_check_passes(ours: list[ServerProcess]) -> None:
    result = subprocess.run(["redis-cli", "--cluster", "check", f"127.0.0.1:{ours[0].port}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[OK] All nodes agree about slots configuration." in result.stdout
    assert "[OK] All 16384 slots covered." in result.stdout


def test_keys_per_slot_are_counted(ours: list[ServerProcess]) -> None:
    owner = ours[2]  # slot 12182 (foo) lies in 10923-16383
    assert call(owner, "SET", "foo", "1") == b"+OK\r\n"
    assert call(owner, "SET", "{foo}2", "1") == b"+OK\r\n"
    try:
        assert call(owner, "CLUSTER", "COUNTKEYSINSLOT", 12182) == b":2\r\n"
        with RawClient(owner.port) as c:
            keys = c.call("CLUSTER", "GETKEYSINSLOT", 12182, 10)
        assert keys.startswith(b"*2\r\n") and b"foo" in keys and b"{foo}2" in keys
        assert b"cluster_slots_with_keys:1" in call(owner, "INFO", "cluster")
    finally:
        call(owner, "DEL", "foo", "{foo}2")


def test_migration_marks_show_on_the_myself_line_and_in_info(ours: list[ServerProcess]) -> None:
    source, target = ours[0], ours[1]
    target_id = call(target, "CLUSTER", "MYID").split(b"\r\n")[1].decode()
    source_id = call(source, "CLUSTER", "MYID").split(b"\r\n")[1].decode()
    assert call(source, "CLUSTER", "SETSLOT", 7, "MIGRATING", target_id) == b"+OK\r\n"
    assert call(target, "CLUSTER", "SETSLOT", 7, "IMPORTING", source_id) == b"+OK\r\n"
    try:
        mine = [ln for ln in text(source, "CLUSTER", "NODES").splitlines() if "myself" in ln][0]
        assert mine.endswith(f" 0-5460 [7->-{target_id}]")
        theirs = [ln for ln in text(target, "CLUSTER", "NODES").splitlines() if "myself" in ln][0]
        assert theirs.endswith(f" 5461-10922 [7-<-{source_id}]")
        info = text(source, "INFO", "cluster")
        assert "cluster_slots_migrating:1" in info and f"cluster_migrations:7->{target_id}" in info
    finally:
        call(source, "CLUSTER", "SETSLOT", 7, "STABLE")
        call(target, "CLUSTER", "SETSLOT", 7, "STABLE")


def redis_info(proc: ServerProcess) -> str:
    """CLUSTER INFO without redslot's own fields (the last lines)."""
    lines = text(proc, "CLUSTER", "INFO").splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("redslot_"))


SLOT_SCRIPT = [
    ("CLUSTER", "KEYSLOT", "foo"),
    ("CLUSTER", "KEYSLOT", "{user1000}.following"),
    ("CLUSTER", "ADDSLOTS", "abc"),
    ("CLUSTER", "ADDSLOTS", "16384"),
    ("CLUSTER", "ADDSLOTS", "-1"),
    ("CLUSTER", "ADDSLOTS", "1", "1"),
    ("CLUSTER", "ADDSLOTS", "1"),
    ("CLUSTER", "ADDSLOTS", "1"),
    ("CLUSTER", "ADDSLOTS", "2", "1"),
    ("CLUSTER", "ADDSLOTSRANGE", "5", "3"),
    ("CLUSTER", "ADDSLOTSRANGE", "5"),
    ("CLUSTER", "ADDSLOTSRANGE", "5", "9", "7"),
    ("CLUSTER", "ADDSLOTSRANGE", "0", "3"),
    ("CLUSTER", "DELSLOTS", "9"),
    ("CLUSTER", "DELSLOTS", "1"),
    ("CLUSTER", "DELSLOTS", "1"),
    ("CLUSTER", "DELSLOTSRANGE", "3", "1"),
    ("CLUSTER", "DELSLOTSRANGE", "10", "20"),
    ("CLUSTER", "SETSLOT", "1"),
    ("CLUSTER", "SETSLOT", "1", "FOO"),
    ("CLUSTER", "SETSLOT", "1", "IMPORTING"),
    ("CLUSTER", "SETSLOT", "abc", "STABLE"),
    ("CLUSTER", "SETSLOT", "2", "IMPORTING", "abc"),
    ("CLUSTER", "SETSLOT", "99", "IMPORTING", "abc"),
    ("CLUSTER", "SETSLOT", "2", "MIGRATING", "abc"),
    ("CLUSTER", "SETSLOT", "99", "MIGRATING", "abc"),
    ("CLUSTER", "SETSLOT", "2", "STABLE"),
    ("CLUSTER", "SETSLOT", "2", "NODE", "abc"),
    ("CLUSTER", "REPLICATE", "abc"),
    ("CLUSTER", "FORGET", "abc"),
    ("CLUSTER", "REPLICAS", "abc"),
    ("CLUSTER", "SLAVES", "abc"),
    ("CLUSTER", "COUNT-FAILURE-REPORTS", "abc"),
    ("CLUSTER", "MEET", "127.0.0.1", "abc"),
    ("CLUSTER", "MEET", "1.2.3", "5"),
    ("CLUSTER", "MEET", "127.0.0.1", "0"),
    ("CLUSTER", "MEET", "127.0.0.1", "70000"),
    ("CLUSTER", "MEET", "127.0.0.1", "5", "70000"),
    ("CLUSTER", "MEET", "127.0.0.1", "5", "x"),
    ("CLUSTER", "MEET", "127.0.0.1", "5", "6", "7"),
    ("CLUSTER", "COUNTKEYSINSLOT", "x"),
    ("CLUSTER", "COUNTKEYSINSLOT", "99999"),
    ("CLUSTER", "COUNTKEYSINSLOT", "-1"),
    ("CLUSTER", "GETKEYSINSLOT", "1", "-1"),
    ("CLUSTER", "GETKEYSINSLOT", "99999", "1"),
    ("CLUSTER", "GETKEYSINSLOT", "1", "x"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "-1"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "x"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "5"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "7"),
    ("CLUSTER", "BUMPEPOCH"),
    ("CLUSTER", "BUMPEPOCH"),
    ("CLUSTER", "FAILOVER"),
    ("CLUSTER", "FAILOVER", "FOO"),
    ("CLUSTER", "FAILOVER", "FORCE", "X"),
    ("CLUSTER", "RESET", "FOO"),
    ("CLUSTER", "RESET", "SOFT", "X"),
    ("CLUSTER", "SETSLOT", "1", "STABLE", "X"),
    ("CLUSTER", "FOO"),
    ("CLUSTER", "NODES", "x"),
    ("CLUSTER", "SAVECONFIG"),
    ("CLUSTER", "ADDSLOTSRANGE", "0", "16383"),
]

# Run once both nodes say cluster_state:ok (Redis waits up to 5 s after being alone).
KEYS_SCRIPT = [
    ("SET", "foo", "bar"),
    ("CLUSTER", "COUNTKEYSINSLOT", "12182"),
    ("CLUSTER", "GETKEYSINSLOT", "12182", "5"),
    ("CLUSTER", "GETKEYSINSLOT", "12182", "0"),
    ("CLUSTER", "FLUSHSLOTS"),
    ("CLUSTER", "RESET"),
    ("CLUSTER", "DELSLOTSRANGE", "12182", "12182"),
    ("CLUSTER", "SETSLOT", "12182", "IMPORTING", "abc"),
    ("DEL", "foo"),
    ("CLUSTER", "FLUSHSLOTS"),
]


def test_slot_commands_and_errors_match_redis(lone_pair: tuple[ServerProcess, ServerProcess]) -> None:
    mine, ref = lone_pair
    # Redis leaves cluster_size at 1 for its first two seconds (CLUSTER_WRITABLE_DELAY).
    wait_until(lambda: b"cluster_size:0" in call(ref, "CLUSTER", "INFO"), "the reference to settle")
    assert redis_info(mine) == redis_info(ref)
    assert_same(mine, ref, SLOT_SCRIPT)
    wait_until(lambda: all(b"cluster_state:ok" in call(p, "CLUSTER", "INFO") for p in lone_pair),
               "cluster_state:ok")
    assert_same(mine, ref, KEYS_SCRIPT)
    assert redis_info(mine) == redis_info(ref)


def test_slot_commands_match_redis_in_resp3(lone_pair: tuple[ServerProcess, ServerProcess]) -> None:
    mine, ref = lone_pair
    assert_same_resp3(mine, ref, [("CLUSTER", "ADDSLOTSRANGE", "0", "99", "200", "300"),
                                  ("CLUSTER", "COUNTKEYSINSLOT", "1"),
                                  ("CLUSTER", "GETKEYSINSLOT", "1", "1"), ("CLUSTER", "KEYSLOT", "x")])


def test_myself_line_before_meeting_anyone(lone_pair: tuple[ServerProcess, ServerProcess]) -> None:
    mine, ref = lone_pair
    for proc in (mine, ref):
        call(proc, "CLUSTER", "ADDSLOTSRANGE", "0", "2", "7", "7")
    ours_fields = text(mine, "CLUSTER", "NODES").split()
    ref_fields = text(ref, "CLUSTER", "NODES").split()
    assert ours_fields[2:] == ref_fields[2:]


def test_cluster_commands_need_cluster_mode(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same(node, reference, [("CLUSTER", "INFO"), ("CLUSTER", "NODES"),
                                  ("CLUSTER", "KEYSLOT", "foo"), ("CLUSTER", "MYID")])


def test_own_commands_are_described_by_command_docs(lone_pair: tuple[ServerProcess, ServerProcess]) -> None:
    mine, _ = lone_pair
    info = call(mine, "COMMAND", "INFO", "CLUSTER")
    assert b"cluster|settopology" in info and b"cluster|mergetopology" in info
    with RawClient(mine.port) as c:
        help_text = c.call("CLUSTER", "HELP")
    assert b"+SETTOPOLOGY <epoch> <table>\r\n" in help_text


def test_restart_on_another_port_keeps_id_and_table() -> None:
    procs = [start_ours() for _ in range(3)]
    restarted: ServerProcess | None = None
    try:
        form(procs)
        moved = procs[1]
        node_id = text(moved, "CLUSTER", "MYID")
        saved = tempfile.mkdtemp(prefix="redslot-test-")
        shutil.copy(os.path.join(moved.workdir, "nodes.conf"), saved)
        moved.stop()
        port = free_port()
        argv = [sys.executable, "-m", "redslot.cli", "node", "--port", str(port), "--bind",
                "127.0.0.1", "--dir", saved, "--save", "", "--cluster-enabled", "yes",
                "--cluster-port", str(free_port())]
        restarted = ServerProcess(argv, port, saved)
        assert text(restarted, "CLUSTER", "MYID") == node_id
        mine = [ln for ln in text(restarted, "CLUSTER", "NODES").splitlines() if "myself" in ln][0]
        assert mine.split()[1].startswith(f"127.0.0.1:{port}@") and mine.endswith(" 5461-10922")
        others = [procs[0], procs[2]]
        wait_until(lambda: all(f"127.0.0.1:{port}@" in text(p, "CLUSTER", "NODES") for p in others),
                   "the peers to learn the new address")
        wait_until(lambda: converged([procs[0], restarted, procs[2]]), "the cluster to settle")
        result = subprocess.run(["redis-cli", "--cluster", "check", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout
    finally:
        for proc in procs:
            proc.stop()
        if restarted is not None:
            restarted.stop()


def table_for(procs: list[ServerProcess], ranges: tuple[tuple[int, int], ...]) -> str:
    lines = []
    for epoch, (proc, (start, end)) in enumerate(zip(procs, ranges, strict=True), 1):
        node_id = text(proc, "CLUSTER", "MYID")
        lines.append(f"{node_id} 127.0.0.1:{proc.port}@{bus_port(proc)} master - 0 0 {epoch} "
                     f"connected {start}-{end}")
    return "\n".join(lines) + "\n"


def test_settopology_takes_only_a_newer_epoch() -> None:
    procs = [start_ours() for _ in range(2)]
    try:
        table = table_for(procs, ((0, 8191), (8192, 16383)))
        assert call(procs[0], "CLUSTER", "SETTOPOLOGY", 5, table) == b"+OK\r\n"
        # The first node's own pushes reach the second before the control plane does.
        wait_until(lambda: b"cluster_current_epoch:5" in call(procs[1], "CLUSTER", "INFO"),
                   "the first node to push its table")
        assert call(procs[1], "CLUSTER", "SETTOPOLOGY", 5, table) == b"+OK\r\n"
        wait_until(lambda: all(b"cluster_state:ok" in call(p, "CLUSTER", "INFO") for p in procs),
                   "cluster_state:ok after the push")
        assert call(procs[0], "CLUSTER", "SETTOPOLOGY", 5, table) == (
            b"-ERR topology epoch 5 is not newer than this node's epoch 5\r\n")
        assert b"cluster_current_epoch:5" in call(procs[0], "CLUSTER", "INFO")
        assert b"cluster_topology_epoch:5" in call(procs[0], "INFO", "cluster")
        moved = table_for(procs, ((0, 99), (100, 16383)))
        assert call(procs[0], "CLUSTER", "SETTOPOLOGY", 6, moved) == b"+OK\r\n"
        assert call(procs[0], "GET", "a") == b"-MOVED 15495 127.0.0.1:%d\r\n" % procs[1].port
        assert call(procs[0], "CLUSTER", "SETTOPOLOGY", 7, "garbage") == (
            b"-ERR invalid topology table: a node line needs at least 8 fields: 'garbage'\r\n")
    finally:
        for proc in procs:
            proc.stop()


def test_replicate_then_failover_takeover_swaps_roles() -> None:
    procs = [start_ours() for _ in range(2)]
    try:
        master, replica = procs
        call(master, "CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        call(master, "CLUSTER", "MEET", "127.0.0.1", replica.port)
        master_id = text(master, "CLUSTER", "MYID")
        replica_id = text(replica, "CLUSTER", "MYID")
        wait_until(lambda: master_id in text(replica, "CLUSTER", "NODES"), "the replica to know the master")
        assert call(replica, "CLUSTER", "REPLICATE", master_id) == b"+OK\r\n"
        wait_until(lambda: replica_id in text(master, "CLUSTER", "REPLICAS", master_id), "REPLICAS")
        assert call(replica, "CLUSTER", "SETSLOT", 1, "STABLE") == b"-ERR Please use SETSLOT only with masters.\r\n"
        assert call(replica, "CLUSTER", "FORGET", master_id) == b"-ERR Can't forget my master!\r\n"
        assert call(replica, "CLUSTER", "FAILOVER", "TAKEOVER") == b"+OK\r\n"
        for proc in procs:
            wait_until(lambda p=proc: f"{master_id} " in text(p, "CLUSTER", "REPLICAS", replica_id),
                       "the old master to follow the new one")
        mine = [ln for ln in text(replica, "CLUSTER", "NODES").splitlines() if "myself" in ln][0]
        assert mine.split()[2] == "myself,master" and mine.endswith(" 0-16383")
        epochs = info_fields(replica)
        assert int(epochs["cluster_my_epoch"]) == int(epochs["cluster_current_epoch"]) >= 1
    finally:
        for proc in procs:
            proc.stop()


def test_reset_hard_gives_a_new_id_and_epoch_zero() -> None:
    proc = start_ours()
    try:
        old_id = text(proc, "CLUSTER", "MYID")
        call(proc, "CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        call(proc, "CLUSTER", "BUMPEPOCH")
        call(proc, "SET", "k", "v")
        assert call(proc, "CLUSTER", "RESET", "HARD") == (
            b"-ERR CLUSTER RESET can't be called with master nodes containing keys\r\n")
        call(proc, "DEL", "k")
        assert call(proc, "CLUSTER", "RESET", "HARD") == b"+OK\r\n"
        assert text(proc, "CLUSTER", "MYID") != old_id
        fields = info_fields(proc)
        assert fields["cluster_current_epoch"] == fields["cluster_my_epoch"] == "0"
        assert fields["cluster_slots_assigned"] == "0"
        with open(os.path.join(proc.workdir, "nodes.conf")) as f:
            assert text(proc, "CLUSTER", "MYID") in f.read()
    finally:
        proc.stop()


def test_forget_removes_a_node_and_keeps_it_out(ours: list[ServerProcess]) -> None:
    extra = start_ours()
    try:
        extra_id = text(extra, "CLUSTER", "MYID")
        call(ours[0], "CLUSTER", "MEET", "127.0.0.1", extra.port)
        wait_until(lambda: all(extra_id in text(p, "CLUSTER", "NODES") for p in ours), "the new node to be known")
        for proc in ours:
            assert call(proc, "CLUSTER", "FORGET", extra_id) == b"+OK\r\n"
        time.sleep(2.5)  # the forgotten node keeps pushing its table; it must stay out
        assert all(extra_id not in text(p, "CLUSTER", "NODES") for p in ours)
        assert call(ours[0], "CLUSTER", "FORGET", extra_id) == b"-ERR Unknown node %s\r\n" % extra_id.encode()
    finally:
        extra.stop()


def test_cluster_directives_read_and_refuse_as_redis(node: ServerProcess, reference: ServerProcess) -> None:
    assert_same(node, reference, [
        ("CONFIG", "SET", "cluster-announce-hostname", "a_b"),
        ("CONFIG", "SET", "cluster-announce-hostname", "ok-1.example"),
        ("CONFIG", "GET", "cluster-announce-hostname"),
        ("CONFIG", "SET", "cluster-announce-hostname", ""),
        ("CONFIG", "SET", "cluster-node-timeout", "-1"),
        ("CONFIG", "GET", "cluster-node-timeout"),
        ("CONFIG", "SET", "cluster-announce-port", "70000"),
        ("CONFIG", "SET", "cluster-port", "5"),
        ("CONFIG", "SET", "cluster-config-file", "x"),
        ("CONFIG", "GET", "cluster-config-file"),
        ("CONFIG", "GET", "cluster-require-full-coverage"),
        ("CONFIG", "GET", "cluster-allow-reads-when-down"),
        ("CONFIG", "GET", "cluster-replica-no-failover"),
        ("CONFIG", "GET", "cluster-slave-no-failover"),
        ("CONFIG", "GET", "cluster-announce-ip"),
        ("CONFIG", "GET", "cluster-announce-bus-port"),
    ])


def test_announced_hostname_reaches_the_peers(ours: list[ServerProcess]) -> None:
    assert call(ours[1], "CONFIG", "SET", "cluster-announce-hostname", "node-b.example") == b"+OK\r\n"
    try:
        wait_until(lambda: ",node-b.example " in text(ours[0], "CLUSTER", "NODES"), "the hostname to spread")
        assert b"$8\r\nhostname\r\n$14\r\nnode-b.example\r\n" in call(ours[0], "CLUSTER", "SLOTS")
    finally:
        call(ours[1], "CONFIG", "SET", "cluster-announce-hostname", "")
    wait_until(lambda: "node-b.example" not in text(ours[0], "CLUSTER", "NODES"), "the hostname to go")


def test_a_cluster_with_a_password_forms() -> None:
    procs = [start_ours("--requirepass", "sesame") for _ in range(2)]
    try:
        clients = [RawClient(p.port) for p in procs]
        for c in clients:
            assert c.call("AUTH", "sesame") == b"+OK\r\n"
        assert clients[0].call("CLUSTER", "ADDSLOTSRANGE", 0, 8191) == b"+OK\r\n"
        assert clients[1].call("CLUSTER", "ADDSLOTSRANGE", 8192, 16383) == b"+OK\r\n"
        assert clients[0].call("CLUSTER", "MEET", "127.0.0.1", procs[1].port) == b"+OK\r\n"
        wait_until(lambda: all(b"cluster_state:ok" in c.call("CLUSTER", "INFO") for c in clients),
                   "cluster_state:ok with authenticated links")
        for c in clients:
            c.close()
    finally:
        for proc in procs:
            proc.stop()


def test_cluster_links_authenticate_as_masteruser() -> None:
    """With masteruser and masterauth, peers log in as that user, not as default."""
    procs = [start_ours("--requirepass", "sesame", "--masteruser", "peer", "--masterauth",
                        "ppw", "--user", "peer", "on", ">ppw", "+@all", "~*", "&*")
             for _ in range(2)]
    try:
        clients = [RawClient(p.port) for p in procs]
        for c in clients:
            assert c.call("AUTH", "sesame") == b"+OK\r\n"
        assert clients[0].call("CLUSTER", "ADDSLOTSRANGE", 0, 8191) == b"+OK\r\n"
        assert clients[1].call("CLUSTER", "ADDSLOTSRANGE", 8192, 16383) == b"+OK\r\n"
        assert clients[0].call("CLUSTER", "MEET", "127.0.0.1", procs[1].port) == b"+OK\r\n"
        wait_until(lambda: all(b"cluster_state:ok" in c.call("CLUSTER", "INFO") for c in clients),
                   "cluster_state:ok with links logged in as the peer user")
        for c in clients:
            assert b" user=peer " in c.call("CLIENT", "LIST")
            assert c.call("ACL", "LOG") == b"*0\r\n"
            c.close()
    finally:
        for proc in procs:
            proc.stop()


def test_nodes_bound_to_every_address_learn_theirs_from_peers() -> None:
    procs = [start_ours("--bind", "* -::*") for _ in range(2)]
    try:
        before = text(procs[0], "CLUSTER", "NODES").split()[1]
        assert before.startswith(":"), "no address is known before meeting a peer (as Redis)"
        form(procs, ((0, 8191), (8192, 16383)))
        for proc in procs:
            addresses = [line.split()[1] for line in text(proc, "CLUSTER", "NODES").splitlines()]
            assert sorted(a.split("@")[0] for a in addresses) == sorted(
                f"127.0.0.1:{p.port}" for p in procs)
    finally:
        for proc in procs:
            proc.stop()


def test_cluster_links_lists_both_directions(ours: list[ServerProcess]) -> None:
    ids = {text(p, "CLUSTER", "MYID") for p in ours[1:]}
    raw = call(ours[0], "CLUSTER", "LINKS")
    reader = hiredis.Reader()
    reader.feed(raw)
    links = [dict(zip(entry[::2], entry[1::2], strict=True)) for entry in reader.gets()]
    assert {(link[b"direction"], link[b"node"].decode()) for link in links} >= {
        (direction, node_id) for direction in (b"to", b"from") for node_id in ids}
    assert all(set(link) == {b"direction", b"node", b"create-time", b"events",
                             b"send-buffer-allocated", b"send-buffer-used"} for link in links)


def test_cluster_links_pair_each_peers_to_and_from_links(ours: list[ServerProcess]) -> None:
    """As Redis 7.0 lists them (redis-py's test reads them so): per peer, "to" then "from"."""
    deadline = time.monotonic() + 10
    while True:
        reader = hiredis.Reader()
        reader.feed(call(ours[0], "CLUSTER", "LINKS"))
        links = [dict(zip(entry[::2], entry[1::2], strict=True)) for entry in reader.gets()]
        pairs = [(links[i][b"node"], links[i][b"direction"], links[i + 1][b"node"],
                  links[i + 1][b"direction"]) for i in range(0, len(links) - 1, 2)]
        if len(links) == 2 * (len(ours) - 1):
            break
        assert time.monotonic() < deadline, f"links never settled: {links}"
        time.sleep(0.1)
    assert all(a == b and d1 == b"to" and d2 == b"from" for a, d1, b, d2 in pairs)
