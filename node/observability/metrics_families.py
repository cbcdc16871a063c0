"""Prometheus metric families from a snapshot's INFO text, named as redis_exporter names them.

Imported by the exporter process only (exporter.py), never by the node.

Dashboards and alerts written for redis_exporter (oliver006/redis_exporter) must work
unchanged, so every INFO field keeps the exporter's metric name, type and labels:
``redis_<field>`` gauges and ``*_total`` counters mapped from the same INFO fields, per
command ``redis_commands_*{cmd}``, ``redis_errors_total{err}``, ``redis_db_*{db}``, the
replication pairs labelled by master or replica address, the ``redis_cluster_*`` fields of
CLUSTER INFO, and ``redis_latency_percentiles_usec{cmd}`` as a summary whose quantile labels
are INFO latencystats' percentiles (``50``, ``99``, ``99.9``). Status words count as the
exporter counts them: ok/up 1, err/fail/down 0.

redslot's own families: ``redslot_slot_keys{range}`` gives the keys of each of 16 fixed
ranges of 1024 slots (fixed rather than the node's owned ranges, so a series keeps its
meaning across resharding and the same range can be summed over nodes); the slots in
migration, the keys moved by MIGRATE and brought in by RESTORE-ASKING, writes held for a
replica's acknowledgement in zero-loss mode (ackgate.py), whether the node is held by
cluster-await-confirm, the topology epoch, and the age of the snapshot served.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

SLOT_BUCKET = 1024
SLOT_BUCKETS = 16
_STATUS = {"ok": 1.0, "up": 1.0, "err": 0.0, "fail": 0.0, "down": 0.0}


@dataclass(frozen=True)
class Snapshot:
    """The figures of one moment, as the node sent them to the exporter process."""

    taken: float  # time.monotonic() of the exporter when the node's answer arrived
    info: str  # INFO ALL
    cluster_info: str  # CLUSTER INFO, empty on a standalone node
    slot_keys: dict[int, int]  # keys per non-empty hash slot, empty on a standalone node
    acks_pending: int
    migrated_keys: int
    imported_keys: int


# INFO field -> redis_exporter metric (without the ``redis_`` namespace).
GAUGES = {
    "uptime_in_seconds": "uptime_in_seconds",
    "process_id": "process_id",
    "connected_clients": "connected_clients",
    "blocked_clients": "blocked_clients",
    "tracking_clients": "tracking_clients",
    "maxclients": "config_maxclients",
    "client_recent_max_output_buffer": "client_recent_max_output_buffer_bytes",
    "client_recent_max_input_buffer": "client_recent_max_input_buffer_bytes",
    "used_memory": "memory_used_bytes",
    "used_memory_rss": "memory_used_rss_bytes",
    "used_memory_peak": "memory_used_peak_bytes",
    "used_memory_overhead": "memory_used_overhead_bytes",
    "used_memory_startup": "memory_used_startup_bytes",
    "used_memory_dataset": "memory_used_dataset_bytes",
    "maxmemory": "memory_max_bytes",
    "mem_fragmentation_ratio": "mem_fragmentation_ratio",
    "mem_fragmentation_bytes": "mem_fragmentation_bytes",
    "mem_clients_slaves": "mem_clients_slaves",
    "mem_clients_normal": "mem_clients_normal",
    "mem_not_counted_for_evict": "mem_not_counted_for_eviction_bytes",
    "lazyfree_pending_objects": "lazyfree_pending_objects",
    "expired_stale_perc": "expired_stale_percentage",
    "expired_time_cap_reached_count": "expired_time_cap_reached_total",
    "migrate_cached_sockets": "migrate_cached_sockets_total",
    "loading": "loading_dump_file",
    "rdb_changes_since_last_save": "rdb_changes_since_last_save",
    "rdb_bgsave_in_progress": "rdb_bgsave_in_progress",
    "rdb_last_save_time": "rdb_last_save_timestamp_seconds",
    "rdb_last_bgsave_status": "rdb_last_bgsave_status",
    "rdb_last_bgsave_time_sec": "rdb_last_bgsave_duration_sec",
    "rdb_current_bgsave_time_sec": "rdb_current_bgsave_duration_sec",
    "rdb_last_cow_size": "rdb_last_cow_size_bytes",
    "aof_enabled": "aof_enabled",
    "aof_rewrite_in_progress": "aof_rewrite_in_progress",
    "aof_rewrite_scheduled": "aof_rewrite_scheduled",
    "aof_last_rewrite_time_sec": "aof_last_rewrite_duration_sec",
    "aof_current_rewrite_time_sec": "aof_current_rewrite_duration_sec",
    "aof_last_cow_size": "aof_last_cow_size_bytes",
    "aof_current_size": "aof_current_size_bytes",
    "aof_base_size": "aof_base_size_bytes",
    "aof_pending_rewrite": "aof_pending_rewrite",
    "aof_buffer_length": "aof_buffer_length",
    "aof_pending_bio_fsync": "aof_pending_bio_fsync",
    "aof_delayed_fsync": "aof_delayed_fsync",
    "aof_last_bgrewrite_status": "aof_last_bgrewrite_status",
    "aof_last_write_status": "aof_last_write_status",
    "pubsub_channels": "pubsub_channels",
    "pubsub_patterns": "pubsub_patterns",
    "latest_fork_usec": "latest_fork_usec",
    "connected_slaves": "connected_slaves",
    "repl_backlog_size": "replication_backlog_bytes",
    "repl_backlog_active": "repl_backlog_is_active",
    "repl_backlog_first_byte_offset": "repl_backlog_first_byte_offset",
    "repl_backlog_histlen": "repl_backlog_history_bytes",
    "master_repl_offset": "master_repl_offset",
    "second_repl_offset": "second_repl_offset",
    "slave_expires_tracked_keys": "slave_expires_tracked_keys",
    "slave_priority": "slave_priority",
    "sync_full": "replica_resyncs_full",
    "sync_partial_ok": "replica_partial_resync_accepted",
    "sync_partial_err": "replica_partial_resync_denied",
    "cluster_enabled": "cluster_enabled",
}
COUNTERS = {
    "total_connections_received": "connections_received_total",
    "total_commands_processed": "commands_processed_total",
    "rejected_connections": "rejected_connections_total",
    "total_net_input_bytes": "net_input_bytes_total",
    "total_net_output_bytes": "net_output_bytes_total",
    "expired_keys": "expired_keys_total",
    "evicted_keys": "evicted_keys_total",
    "keyspace_hits": "keyspace_hits_total",
    "keyspace_misses": "keyspace_misses_total",
    "used_cpu_sys": "cpu_sys_seconds_total",
    "used_cpu_user": "cpu_user_seconds_total",
    "used_cpu_sys_children": "cpu_sys_children_seconds_total",
    "used_cpu_user_children": "cpu_user_children_seconds_total",
    "used_cpu_sys_main_thread": "cpu_sys_main_thread_seconds_total",
    "used_cpu_user_main_thread": "cpu_user_main_thread_seconds_total",
}
# CLUSTER INFO fields the exporter renames; every other cluster_* field is redis_<field>.
CLUSTER_RENAMED = {
    "cluster_stats_messages_sent": "cluster_messages_sent_total",
    "cluster_stats_messages_received": "cluster_messages_received_total",
}
# redslot's own fields of INFO cluster and CLUSTER INFO.
OWN_GAUGES = {
    "cluster_topology_epoch": ("redslot_topology_epoch", "Epoch of the last table CLUSTER SETTOPOLOGY accepted"),
    "cluster_slots_with_keys": ("redslot_slots_with_keys", "Hash slots holding at least one key here"),
    "cluster_slots_migrating": ("redslot_slots_migrating", "Slots this node is migrating out"),
    "cluster_slots_importing": ("redslot_slots_importing", "Slots this node is importing"),
    "cluster_fenced": ("redslot_fenced", "1 while keyed commands get CLUSTERDOWN: held, or the lease ran out"),
    "cluster_lease_remaining_ms": ("redslot_lease_remaining_milliseconds",
                                   "Lease left under cluster-lease-fencing (-1: no lease needed)"),
}
REPLICA_LINK = ("master_last_io_seconds_ago", "master_sync_in_progress", "slave_repl_offset")
INSTANCE_LABELS = ("role", "redis_version", "redis_build_id", "redis_mode", "os",
                   "maxmemory_policy", "tcp_port", "run_id", "process_id", "master_replid")
SLAVE_LABELS = ["slave_ip", "slave_port", "slave_state"]


def number(text: str) -> float | None:
    """An INFO value as the exporter reads it: a number, or a status word; else None."""
    try:
        return float(text)
    except ValueError:
        return _STATUS.get(text)


def parse_info(text: str) -> dict[str, str]:
    fields = {}
    for line in text.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and not name.startswith("#"):
            fields[name] = value
    return fields


def _pairs(value: str) -> dict[str, str]:
    """``calls=3,usec=10,...`` -> {"calls": "3", "usec": "10", ...}."""
    return dict(part.split("=", 1) for part in value.split(",") if "=" in part)


class _Families:
    """Families by name, created on first use, in the order first used."""

    def __init__(self) -> None:
        self.by_name: dict[str, Metric] = {}

    def gauge(self, name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> None:
        family = self.by_name.get(name)
        if family is None:
            family = self.by_name[name] = GaugeMetricFamily(name, doc, labels=list(labels or ()))
        assert isinstance(family, GaugeMetricFamily)
        family.add_metric(list((labels or {}).values()), value)

    def counter(self, name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> None:
        family = self.by_name.get(name)
        if family is None:
            family = self.by_name[name] = CounterMetricFamily(name, doc, labels=list(labels or ()))
        assert isinstance(family, CounterMetricFamily)
        family.add_metric(list((labels or {}).values()), value)

    def summary_quantiles(self, name: str, doc: str, labels: dict[str, str],
                          quantiles: dict[str, float], count: float, total: float) -> None:
        family = self.by_name.get(name)
        if family is None:
            family = self.by_name[name] = Metric(name, doc, "summary")
        for quantile, value in quantiles.items():
            family.add_sample(name, labels | {"quantile": quantile}, value)
        family.add_sample(name + "_sum", labels, total)
        family.add_sample(name + "_count", labels, count)


def families(snapshot: Snapshot, up: bool, age: float) -> list[Metric]:
    """Every family of one scrape; ``up`` is whether the command loop answered for it."""
    out = _Families()
    info = parse_info(snapshot.info)
    out.gauge("redis_up", "Whether the command loop answered this scrape", float(up))
    _fields(out, info)
    uptime = number(info.get("uptime_in_seconds", ""))
    if uptime is not None:
        out.gauge("redis_start_time_seconds", "Start time, seconds since the epoch",
                  float(int(time.time() - uptime)))
    out.gauge("redis_instance_info", "INFO server and replication identity", 1.0,
              {label: info.get(label, "") for label in INSTANCE_LABELS})
    _replication(out, info)
    _commands(out, info)
    _keyspace(out, info)
    if snapshot.cluster_info:
        _cluster(out, parse_info(snapshot.cluster_info))
        _slot_keys(out, snapshot.slot_keys)
    _own(out, snapshot, info, age)
    return list(out.by_name.values())


def _fields(out: _Families, info: dict[str, str]) -> None:
    for field, name in GAUGES.items():
        value = number(info.get(field, ""))
        if value is not None:
            out.gauge("redis_" + name, f"INFO {field}", value)
    for field, name in COUNTERS.items():
        value = number(info.get(field, ""))
        if value is not None:
            out.counter("redis_" + name, f"INFO {field}", value)


def _replication(out: _Families, info: dict[str, str]) -> None:
    if info.get("role") == "slave":
        master = {"master_host": info.get("master_host", ""),
                  "master_port": info.get("master_port", "")}
        out.gauge("redis_master_link_up", "Whether the link to the master is up",
                  float(info.get("master_link_status") == "up"), master)
        for field in REPLICA_LINK:
            value = number(info.get(field, ""))
            if value is not None:
                out.gauge("redis_" + field, f"INFO {field}", value, master)
        out.gauge("redis_slave_info", "This replica's master", 1.0,
                  master | {"read_only": info.get("slave_read_only", "")})
    for i in range(int(info.get("connected_slaves", "0") or 0)):
        replica = _pairs(info.get(f"slave{i}", ""))
        labels = dict(zip(SLAVE_LABELS, (replica.get("ip", ""), replica.get("port", ""),
                                         replica.get("state", "")), strict=True))
        offset, lag = number(replica.get("offset", "")), number(replica.get("lag", ""))
        if offset is not None:
            out.gauge("redis_connected_slave_offset_bytes",
                      "Replication offset a replica acknowledged", offset, labels)
        if lag is not None:
            out.gauge("redis_connected_slave_lag_seconds",
                      "Seconds since a replica's last acknowledgement", lag, labels)


def _commands(out: _Families, info: dict[str, str]) -> None:
    for field, value in info.items():
        if field.startswith("cmdstat_"):
            cmd = {"cmd": field[len("cmdstat_"):]}
            stats = _pairs(value)
            calls = float(stats.get("calls", 0))
            usec = float(stats.get("usec", 0))
            out.counter("redis_commands_total", "Calls per command", calls, cmd)
            out.counter("redis_commands_duration_seconds_total", "Seconds spent per command",
                        usec / 1e6, cmd)
            out.counter("redis_commands_rejected_calls_total",
                        "Calls refused before running, per command",
                        float(stats.get("rejected_calls", 0)), cmd)
            out.counter("redis_commands_failed_calls_total",
                        "Calls that ran and failed, per command",
                        float(stats.get("failed_calls", 0)), cmd)
            latency = info.get("latency_percentiles_usec_" + cmd["cmd"])
            if latency is not None:
                quantiles = {p[1:]: float(v) for p, v in _pairs(latency).items()}
                out.summary_quantiles("redis_latency_percentiles_usec",
                                      "Latency percentiles per command, microseconds",
                                      cmd, quantiles, calls, usec)
        elif field.startswith("errorstat_"):
            out.counter("redis_errors_total", "Error replies per error code",
                        float(_pairs(value).get("count", 0)),
                        {"err": field[len("errorstat_"):]})


def _keyspace(out: _Families, info: dict[str, str]) -> None:
    dbs = {"db0": "keys=0,expires=0,avg_ttl=0"}
    dbs.update((f, v) for f, v in info.items() if f.startswith("db") and f[2:].isdigit())
    for db, value in dbs.items():
        stats = _pairs(value)
        label = {"db": db}
        out.gauge("redis_db_keys", "Keys per database", float(stats["keys"]), label)
        out.gauge("redis_db_keys_expiring", "Keys with a TTL per database",
                  float(stats["expires"]), label)
        out.gauge("redis_db_avg_ttl_seconds", "Average TTL of a sample of keys, seconds",
                  float(stats["avg_ttl"]) / 1000, label)


def _cluster(out: _Families, cluster: dict[str, str]) -> None:
    for field, text in cluster.items():
        if not field.startswith("cluster_"):
            continue
        value = number(text)
        if value is not None:
            out.gauge("redis_" + CLUSTER_RENAMED.get(field, field), f"CLUSTER INFO {field}", value)
    held = number(cluster.get("redslot_held", ""))
    if held is not None:
        out.gauge("redslot_held", "Held by cluster-await-confirm until CLUSTER SETTOPOLOGY", held)


def _slot_keys(out: _Families, slot_keys: dict[int, int]) -> None:
    buckets = [0] * SLOT_BUCKETS
    for slot, keys in slot_keys.items():
        buckets[slot // SLOT_BUCKET] += keys
    for i, keys_here in enumerate(buckets):
        first = i * SLOT_BUCKET
        out.gauge("redslot_slot_keys", "Keys per range of 1024 hash slots", float(keys_here),
                  {"range": f"{first}-{first + SLOT_BUCKET - 1}"})


def _own(out: _Families, snapshot: Snapshot, info: dict[str, str], age: float) -> None:
    for field, (name, doc) in OWN_GAUGES.items():
        value = number(info.get(field, ""))
        if value is not None:
            out.gauge(name, doc, value)
    out.counter("redslot_migration_keys_total", "Keys MIGRATE moved to another node",
                float(snapshot.migrated_keys))
    out.counter("redslot_migration_keys_imported_total", "Keys RESTORE-ASKING brought in",
                float(snapshot.imported_keys))
    out.gauge("redslot_zero_loss_acks_pending",
              "Replies (writes and reads) waiting for replicas' acknowledgements (min-replicas-ack)",
              float(snapshot.acks_pending))
    out.gauge("redslot_metrics_snapshot_age_seconds",
              "Age of the figures served: large when the command loop did not answer", age)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(metrics: list[Metric]) -> bytes:
    """The text format (0.0.4) of these families, byte for byte what prometheus_client's
    generate_latest writes, without its validation of every metric and label name, which
    costs more than all the rest of a scrape: here every name is a constant of this module.
    Less work per scrape is less CPU taken from the node's share (a pod's CPU limit)."""
    out = []
    for family in metrics:
        name = family.name + "_total" if family.type == "counter" else family.name
        out.append(f"# HELP {name} {family.documentation}\n# TYPE {name} {family.type}\n")
        for s in family.samples:
            if s.labels:
                labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()))
                out.append(f"{s.name}{{{labels}}} {floatToGoString(s.value)}\n")
            else:
                out.append(f"{s.name} {floatToGoString(s.value)}\n")
    return "".join(out).encode()
