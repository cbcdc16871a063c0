"""The metrics server (metrics-port): redis_exporter's names and types on /metrics, figures
that move with the node's work, and the probes /healthz and /readyz, answered by the
exporter, a child process of the node, while the command loop is busy; the node restarts the
exporter when it dies and the exporter dies with the node."""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from nodes import free_port, no_retry, start_node
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry
from redslot.node.observability.metrics_families import Snapshot, families, render
from redslot.operator.planner import Role, SlotRange, TopologyNode, render_topology
from replication_wait import until
from resp import RawClient

HTTP_TIMEOUT = 10.0
Labels = dict[str, str]


class MetricsNode:
    """A node process with its metrics port."""

    def __init__(self, *directives: str) -> None:
        self.metrics_port = free_port()
        self.proc = start_node("--metrics-port", str(self.metrics_port), *directives)
        self.r = redis.Redis(port=self.proc.port, socket_timeout=10)

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def scrape(self) -> dict[str, Metric]:
        status, text = self.get("/metrics")
        assert status == 200, text
        return {family.name: family for family in text_string_to_metric_families(text)}

    def value(self, name: str, labels: Labels | None = None) -> float:
        return sample(self.scrape(), name, labels)


def sample(families: dict[str, Metric], name: str, labels: Labels | None = None) -> float:
    """The value of sample ``name`` (full sample name, e.g. ``..._total``) with these labels."""
    for family in families.values():
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in (labels or {}).items()):
                return float(s.value)
    raise AssertionError(f"no sample {name} {labels or ''}")


@pytest.fixture(scope="module")
def mnode() -> Iterator[MetricsNode]:
    node = MetricsNode()
    yield node
    node.proc.stop()


@pytest.fixture
def started() -> Iterator[list[MetricsNode]]:
    nodes: list[MetricsNode] = []
    yield nodes
    for node in nodes:
        if node.proc.proc.poll() is None:
            node.proc.proc.send_signal(signal.SIGCONT)  # a test that failed while it was stopped
        node.proc.stop()


# --- names, types, labels ---

GAUGES = [
    "redis_up", "redis_uptime_in_seconds", "redis_connected_clients", "redis_blocked_clients",
    "redis_memory_used_bytes", "redis_memory_used_rss_bytes", "redis_memory_max_bytes",
    "redis_db_keys", "redis_db_keys_expiring", "redis_db_avg_ttl_seconds",
    "redis_connected_slaves", "redis_master_repl_offset", "redis_instance_info",
    "redis_cluster_enabled", "redis_rdb_last_save_timestamp_seconds",
    "redis_rdb_changes_since_last_save", "redis_aof_enabled", "redslot_zero_loss_acks_pending",
]
COUNTERS = [
    "redis_commands_processed", "redis_connections_received", "redis_commands",
    "redis_commands_duration_seconds", "redis_commands_failed_calls",
    "redis_commands_rejected_calls", "redis_keyspace_hits", "redis_keyspace_misses",
    "redis_evicted_keys", "redis_expired_keys", "redis_net_input_bytes",
    "redis_net_output_bytes", "redslot_migration_keys", "redslot_migration_keys_imported",
]


def test_families_carry_redis_exporter_names_and_types(mnode: MetricsNode) -> None:
    mnode.r.get("warm-up")  # commandstats list commands once called
    families = mnode.scrape()
    for name in GAUGES:
        assert families[name].type == "gauge", name
    for name in COUNTERS:
        assert families[name].type == "counter", name
    assert families["redis_latency_percentiles_usec"].type == "summary"


def test_counters_are_exposed_with_the_total_suffix(mnode: MetricsNode) -> None:
    _, text = mnode.get("/metrics")
    assert "# TYPE redis_commands_processed_total counter" in text
    assert "# TYPE redis_keyspace_hits_total counter" in text
    assert '\nredis_commands_total{cmd="get"} ' in text


class _Fixed(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> list[Metric]:
        return self.metrics


def _bulk_text(reply: bytes) -> str:
    return reply.split(b"\r\n", 1)[1][:-2].decode()


def test_rendered_text_is_what_prometheus_client_writes(started: list[MetricsNode]) -> None:
    node = MetricsNode("--cluster-enabled", "yes")
    started.append(node)
    _confirm(node, 1)
    node.r.set("k", "v")
    node.r.get("k")
    with RawClient(node.proc.port) as raw:
        info = _bulk_text(raw.call("INFO", "ALL"))
        cluster = _bulk_text(raw.call("CLUSTER", "INFO"))
    snapshot = Snapshot(time.monotonic(), info, cluster, {0: 2, 5000: 1}, 2, 3, 4)
    metrics = families(snapshot, True, 0.5)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(metrics))
    assert render(metrics) == generate_latest(registry)


def test_up_and_instance_info_describe_the_node(mnode: MetricsNode) -> None:
    families = mnode.scrape()
    assert sample(families, "redis_up") == 1
    info = families["redis_instance_info"].samples[0]
    assert info.value == 1
    assert info.labels["role"] == "master"
    assert info.labels["redis_mode"] == "standalone"
    assert info.labels["tcp_port"] == str(mnode.proc.port)
    assert info.labels["redis_version"] == mnode.r.info("server")["redis_version"]
    assert set(info.labels) >= {"redis_build_id", "os", "maxmemory_policy", "run_id", "process_id"}


def test_content_type_is_prometheus_text() -> None:
    node = MetricsNode()
    try:
        url = f"http://127.0.0.1:{node.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    finally:
        node.proc.stop()


# --- values that move ---

def test_keyspace_hits_and_misses_count_gets(mnode: MetricsNode) -> None:
    mnode.r.set("present", "v")
    hits, misses = mnode.value("redis_keyspace_hits_total"), mnode.value("redis_keyspace_misses_total")
    for _ in range(3):
        mnode.r.get("present")
    for _ in range(2):
        mnode.r.get("absent")
    families = mnode.scrape()
    assert sample(families, "redis_keyspace_hits_total") == hits + 3
    assert sample(families, "redis_keyspace_misses_total") == misses + 2


def test_commands_total_counts_calls_per_command(mnode: MetricsNode) -> None:
    mnode.r.get("x")
    before = mnode.value("redis_commands_total", {"cmd": "get"})
    duration = mnode.value("redis_commands_duration_seconds_total", {"cmd": "get"})
    processed = mnode.value("redis_commands_processed_total")
    for _ in range(5):
        mnode.r.get("x")
    families = mnode.scrape()
    assert sample(families, "redis_commands_total", {"cmd": "get"}) == before + 5
    assert sample(families, "redis_commands_duration_seconds_total", {"cmd": "get"}) > duration
    assert sample(families, "redis_commands_processed_total") >= processed + 5


def test_failed_calls_and_errors_are_counted_per_command_and_code(mnode: MetricsNode) -> None:
    mnode.r.set("text", "abc")
    with pytest.raises(redis.ResponseError):
        mnode.r.execute_command("INCR", "text")
    families = mnode.scrape()
    assert sample(families, "redis_commands_failed_calls_total", {"cmd": "incr"}) >= 1
    assert sample(families, "redis_commands_rejected_calls_total", {"cmd": "incr"}) == 0
    assert sample(families, "redis_errors_total", {"err": "ERR"}) >= 1


def test_latency_percentiles_are_a_summary_per_command(mnode: MetricsNode) -> None:
    mnode.r.ping()
    families = mnode.scrape()
    calls = sample(families, "redis_commands_total", {"cmd": "ping"})
    summary = families["redis_latency_percentiles_usec"]
    quantiles = {s.labels["quantile"] for s in summary.samples
                 if s.labels.get("cmd") == "ping" and "quantile" in s.labels}
    assert quantiles == {"50", "99", "99.9"}
    assert sample(families, "redis_latency_percentiles_usec_count", {"cmd": "ping"}) == calls


def test_memory_used_grows_with_writes(mnode: MetricsNode) -> None:
    before = mnode.value("redis_memory_used_bytes")
    pipe = mnode.r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"grow:{i}", "x" * 100)
    pipe.execute()
    assert mnode.value("redis_memory_used_bytes") > before + 200_000
    assert mnode.value("redis_memory_used_rss_bytes") > 0


def test_db_keys_and_expiring_keys_follow_the_keyspace(mnode: MetricsNode) -> None:
    r3 = redis.Redis(port=mnode.proc.port, db=3)
    r3.flushdb()
    r3.set("a", 1)
    r3.set("b", 1, ex=100)
    families = mnode.scrape()
    assert sample(families, "redis_db_keys", {"db": "db3"}) == 2
    assert sample(families, "redis_db_keys_expiring", {"db": "db3"}) == 1
    # avg_ttl is estimated by the active expiry cycle's samples, as in Redis
    until(lambda: 0 < mnode.value("redis_db_avg_ttl_seconds", {"db": "db3"}) <= 100, "avg_ttl")
    r3.flushdb()


def test_expired_keys_counter_counts_expiries(mnode: MetricsNode) -> None:
    before = mnode.value("redis_expired_keys_total")
    for i in range(3):
        mnode.r.set(f"short:{i}", 1, px=20)
    time.sleep(0.1)
    for i in range(3):
        assert mnode.r.get(f"short:{i}") is None
    assert mnode.value("redis_expired_keys_total") == before + 3


def test_connections_received_count_new_connections(mnode: MetricsNode) -> None:
    before = mnode.value("redis_connections_received_total")
    for _ in range(2):
        redis.Redis(port=mnode.proc.port).ping()
    assert mnode.value("redis_connections_received_total") >= before + 2


def test_migrate_counts_keys_moved_out(mnode: MetricsNode) -> None:
    target = MetricsNode()
    try:
        mnode.r.set("moving", "v")
        before = mnode.value("redslot_migration_keys_total")
        assert mnode.r.migrate("127.0.0.1", target.proc.port, "moving", 0, 5000)
        assert mnode.value("redslot_migration_keys_total") == before + 1
        assert target.r.get("moving") == b"v"
    finally:
        target.proc.stop()


# --- replication ---

def test_replica_pair_shows_link_offsets_and_lag(started: list[MetricsNode]) -> None:
    master = MetricsNode()
    started.append(master)
    replica = MetricsNode("--replicaof", "127.0.0.1", str(master.proc.port))
    started.append(replica)
    until(lambda: master.value("redis_connected_slaves") == 1, "connected_slaves 1")
    link = {"master_host": "127.0.0.1", "master_port": str(master.proc.port)}
    until(lambda: replica.value("redis_master_link_up", link) == 1, "master_link_up 1")
    families = replica.scrape()
    assert sample(families, "redis_master_last_io_seconds_ago", link) >= 0
    assert families["redis_instance_info"].samples[0].labels["role"] == "slave"
    master.r.set("k", "v")
    master.r.execute_command("WAIT", 1, 5000)

    def gap() -> float:
        families = master.scrape()
        offset = sample(families, "redis_master_repl_offset")
        return offset - sample(families, "redis_connected_slave_offset_bytes")

    until(lambda: gap() == 0, "the replica caught up")
    offset = replica.value("redis_slave_repl_offset", link)
    assert offset == master.value("redis_master_repl_offset")
    replica.proc.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(50):
            master.r.set(f"while-stopped:{i}", "x" * 100)
        until(lambda: gap() > 5000, "the offset gap of a stopped replica")
        until(lambda: master.value("redis_connected_slave_lag_seconds") >= 2,
              "the lag of a stopped replica")
        families = master.scrape()
        labels = families["redis_connected_slave_offset_bytes"].samples[0].labels
        assert labels["slave_ip"] == "127.0.0.1" and labels["slave_state"] == "online"
        assert labels["slave_port"] == str(replica.proc.port)
    finally:
        replica.proc.proc.send_signal(signal.SIGCONT)
    until(lambda: gap() == 0, "the gap closing after SIGCONT")
    until(lambda: master.value("redis_connected_slave_lag_seconds") <= 1, "the lag back to 0-1")


def test_zero_loss_writes_waiting_for_an_ack_are_counted(started: list[MetricsNode]) -> None:
    master = MetricsNode("--min-replicas-ack", "1", "--min-replicas-ack-timeout", "20000")
    started.append(master)
    replica = MetricsNode("--replicaof", "127.0.0.1", str(master.proc.port))
    started.append(replica)
    until(lambda: master.value("redis_connected_slaves") == 1, "connected_slaves 1")
    assert master.r.set("acked", 1)
    assert master.value("redslot_zero_loss_acks_pending") == 0
    replica.proc.proc.send_signal(signal.SIGSTOP)
    writer = threading.Thread(target=lambda: redis.Redis(port=master.proc.port, socket_timeout=30)
                              .set("held", 1))
    writer.start()
    try:
        until(lambda: master.value("redslot_zero_loss_acks_pending") == 1, "one write held")
    finally:
        replica.proc.proc.send_signal(signal.SIGCONT)
    writer.join(30)
    until(lambda: master.value("redslot_zero_loss_acks_pending") == 0, "the write released")


# --- cluster mode ---

def _confirm(node: MetricsNode, epoch: int) -> None:
    nid = node.r.execute_command("CLUSTER", "MYID").decode()
    port = node.proc.port
    bus = port + 10000 if port + 10000 <= 65535 else port
    table = render_topology([TopologyNode(nid, "127.0.0.1", port, Role.MASTER, None, epoch,
                                          (SlotRange(0, 16383),), bus)])
    assert node.r.execute_command("CLUSTER", "SETTOPOLOGY", epoch, table) == b"OK"


def test_cluster_node_exports_cluster_info_and_keys_per_slot_range(started: list[MetricsNode]) -> None:
    node = MetricsNode("--cluster-enabled", "yes")
    started.append(node)
    _confirm(node, 4)
    until(lambda: node.value("redis_cluster_state") == 1, "cluster_state ok")
    pipe = node.r.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"k:{i}", i)
    pipe.execute()
    families = node.scrape()
    assert sample(families, "redis_cluster_enabled") == 1
    for name, value in (("redis_cluster_slots_assigned", 16384), ("redis_cluster_slots_ok", 16384),
                        ("redis_cluster_slots_pfail", 0), ("redis_cluster_slots_fail", 0),
                        ("redis_cluster_known_nodes", 1), ("redis_cluster_size", 1),
                        ("redslot_topology_epoch", 4), ("redslot_held", 0),
                        ("redslot_slots_migrating", 0), ("redslot_slots_importing", 0),
                        ("redslot_fenced", 0), ("redslot_lease_remaining_milliseconds", -1)):
        assert sample(families, name) == value, name
    assert sample(families, "redis_cluster_current_epoch") >= 4
    assert sample(families, "redis_cluster_my_epoch") >= 0
    ranges = {s.labels["range"]: s.value for s in families["redslot_slot_keys"].samples}
    assert len(ranges) == 16 and ranges["0-1023"] >= 0 and "15360-16383" in ranges
    assert sum(ranges.values()) == 300
    slot = int(node.r.execute_command("CLUSTER", "KEYSLOT", "k:0"))
    first = slot // 1024 * 1024
    assert ranges[f"{first}-{first + 1023}"] >= node.r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot)


# --- probes ---

def test_healthz_and_readyz_answer_200_on_a_serving_node(mnode: MetricsNode) -> None:
    assert mnode.get("/healthz") == (200, "ok\n")
    assert mnode.get("/readyz") == (200, "ready\n")


def test_a_busy_command_loop_fails_healthz_while_metrics_still_answer(started: list[MetricsNode]) -> None:
    node = MetricsNode()
    started.append(node)
    assert node.value("redis_up") == 1
    sleeper = threading.Thread(target=lambda: redis.Redis(port=node.proc.port, socket_timeout=15)
                               .execute_command("DEBUG", "SLEEP", "5"))
    sleeper.start()
    try:
        until(lambda: node.get("/healthz")[0] == 503, "healthz 503", timeout=4.5)
        started_at = time.monotonic()
        status, text = node.get("/healthz")
        assert status == 503 and text.startswith("command loop silent for"), text
        status, text = node.get("/readyz")
        assert status == 503 and "command loop silent" in text
        families = node.scrape()
        assert time.monotonic() - started_at < 2.0  # answered while the loop still sleeps
        assert sample(families, "redis_up") == 0
        assert sample(families, "redslot_metrics_snapshot_age_seconds") > 2
        assert sample(families, "redis_uptime_in_seconds") >= 0  # the last figures
    finally:
        sleeper.join(10)
    until(lambda: node.get("/healthz")[0] == 200, "healthz back to 200")
    assert node.value("redis_up") == 1


def test_readyz_waits_for_the_control_plane_to_confirm_a_held_node(started: list[MetricsNode]) -> None:
    node = MetricsNode("--cluster-enabled", "yes", "--cluster-await-confirm", "yes")
    started.append(node)
    status, text = node.get("/readyz")
    assert status == 503
    assert text == "held by cluster-await-confirm: waiting for CLUSTER SETTOPOLOGY\n"
    assert node.get("/healthz")[0] == 200
    assert node.value("redslot_held") == 1
    _confirm(node, 1)
    assert node.get("/readyz") == (200, "ready\n")
    assert node.value("redslot_held") == 0


def test_readyz_fails_while_the_node_is_fenced_by_its_lease(started: list[MetricsNode]) -> None:
    """cluster-lease-fencing: a master without a valid lease refuses every keyed command,
    so a client Service must not send it clients."""
    node = MetricsNode("--cluster-enabled", "yes", "--cluster-lease-fencing", "yes")
    started.append(node)
    _confirm(node, 1)
    status, text = node.get("/readyz")
    assert (status, text) == (503, "fenced: no lease granted by the control plane since "
                                    "this node started\n")
    run_id, stamp, _ = node.r.execute_command("CLUSTER", "LEASE", 1500, 0)
    node.r.execute_command("CLUSTER", "LEASE", 1500, 0, run_id, stamp)
    assert node.get("/readyz") == (200, "ready\n")
    assert node.r.set("k", "v")
    until(lambda: node.get("/readyz")[0] == 503, "readyz 503 once the lease ran out", timeout=5)
    status, text = node.get("/readyz")
    assert text.startswith("fenced: lease expired ") and text.endswith(
        " ms ago: no renewal from the control plane\n"), text
    with pytest.raises(redis.exceptions.ClusterDownError):
        node.r.get("k")


def test_unknown_paths_are_not_found(mnode: MetricsNode) -> None:
    assert mnode.get("/nothing")[0] == 404


def test_a_node_without_metrics_port_serves_no_http() -> None:
    proc = start_node()
    try:
        assert redis.Redis(port=proc.port).config_get("metrics-port") == {"metrics-port": "0"}
        assert "Metrics and probes served" not in proc.log
    finally:
        proc.stop()


def test_metrics_port_in_use_stops_the_node_at_start() -> None:
    node = MetricsNode()
    try:
        with pytest.raises(RuntimeError, match="exited with 1"):
            start_node("--metrics-port", str(node.metrics_port))
    finally:
        node.proc.stop()


# --- the exporter process ---

def exporter_pids(node_pid: int) -> list[int]:
    """The live exporter processes whose parent is this node, from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == node_pid and state != "Z" and b"redslot.node.observability.exporter" in cmdline:
            pids.append(int(entry.name))
    return pids


def alive(pid: int) -> bool:
    """Running, neither gone nor a zombie waiting for whoever adopted it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def refused(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
            return False
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ConnectionRefusedError)


def test_metrics_are_served_by_a_child_process_that_is_no_client(mnode: MetricsNode) -> None:
    assert len(exporter_pids(mnode.proc.proc.pid)) == 1
    assert mnode.value("redis_up") == 1
    assert [c["laddr"] for c in mnode.r.client_list()] == [f"127.0.0.1:{mnode.proc.port}"]


def test_a_killed_exporter_is_restarted_and_serves_again(started: list[MetricsNode]) -> None:
    node = MetricsNode()
    started.append(node)
    assert node.value("redis_up") == 1
    [first] = exporter_pids(node.proc.proc.pid)
    os.kill(first, signal.SIGKILL)
    until(lambda: exporter_pids(node.proc.proc.pid) not in ([], [first]), "a new exporter")
    assert node.value("redis_up") == 1
    assert node.get("/healthz") == (200, "ok\n")
    assert f"Metrics exporter (pid {first}) exited with code -9" in node.proc.log
    assert node.r.ping()


def test_the_exporter_exits_when_the_node_is_killed(started: list[MetricsNode]) -> None:
    node = MetricsNode()
    started.append(node)
    assert node.get("/healthz")[0] == 200
    [pid] = exporter_pids(node.proc.proc.pid)
    node.proc.proc.kill()
    node.proc.proc.wait(10)
    until(lambda: not alive(pid), "the exporter gone with its node", timeout=5)
    assert refused(node.metrics_port)


def test_the_exporter_stops_with_the_node(started: list[MetricsNode]) -> None:
    node = MetricsNode()
    started.append(node)
    assert node.get("/healthz")[0] == 200
    [pid] = exporter_pids(node.proc.proc.pid)
    assert node.proc.stop() == 0
    assert not alive(pid)
    assert refused(node.metrics_port)


# --- REDSLOT_PASSWORD ---

def test_password_from_the_environment_sets_requirepass_and_masterauth(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDSLOT_PASSWORD", "s3cret")
    proc = start_node()
    try:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=proc.port, retry=no_retry()).ping()
        r = redis.Redis(port=proc.port, password="s3cret")
        assert r.config_get("requirepass") == {"requirepass": "s3cret"}
        assert r.config_get("masterauth") == {"masterauth": "s3cret"}
    finally:
        proc.stop()


def test_explicit_requirepass_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDSLOT_PASSWORD", "from-env")
    proc = start_node("--requirepass", "given")
    try:
        r = redis.Redis(port=proc.port, password="given")
        assert r.config_get("requirepass") == {"requirepass": "given"}
        assert r.config_get("masterauth") == {"masterauth": "from-env"}
    finally:
        proc.stop()


def test_an_empty_password_variable_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDSLOT_PASSWORD", "")
    proc = start_node()
    try:
        assert redis.Redis(port=proc.port).config_get("requirepass") == {"requirepass": ""}
    finally:
        proc.stop()


def test_replica_authenticates_with_the_environment_password(
        monkeypatch: pytest.MonkeyPatch, started: list[MetricsNode]) -> None:
    monkeypatch.setenv("REDSLOT_PASSWORD", "shared")
    master = MetricsNode()
    started.append(master)
    replica = MetricsNode("--replicaof", "127.0.0.1", str(master.proc.port))
    started.append(replica)
    link = {"master_host": "127.0.0.1", "master_port": str(master.proc.port)}
    until(lambda: replica.value("redis_master_link_up", link) == 1, "the authenticated link")


def test_restore_asking_counts_keys_imported(started: list[MetricsNode], mnode: MetricsNode) -> None:
    node = MetricsNode("--cluster-enabled", "yes")
    started.append(node)
    _confirm(node, 1)
    mnode.r.set("carried", "v")
    payload = mnode.r.dump("carried")
    assert node.value("redslot_migration_keys_imported_total") == 0
    assert node.r.execute_command("RESTORE-ASKING", "carried", 0, payload) == b"OK"
    assert node.value("redslot_migration_keys_imported_total") == 1
    assert node.r.get("carried") == b"v"


def test_pubsub_channels_and_patterns_are_exported(mnode: MetricsNode) -> None:
    """redis_exporter's redis_pubsub_channels / redis_pubsub_patterns."""
    pubsub = mnode.r.pubsub()
    try:
        pubsub.subscribe("a", "b")
        pubsub.psubscribe("p*")
        until(lambda: mnode.value("redis_pubsub_channels") == 2, "two channels exported")
        assert mnode.value("redis_pubsub_patterns") == 1
    finally:
        pubsub.close()
    until(lambda: mnode.value("redis_pubsub_channels") == 0, "channels gone after close")
