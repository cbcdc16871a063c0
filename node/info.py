"""The INFO text: Redis 7.2's sections and field names, in its order and format.

Tools parse this text (redis-cli --stat, redis_exporter, cluster clients), so every field
that means something for this node keeps Redis's name, place and number format; fields for
machinery this node does not have (fork, replication, eviction ...) report the value that
machinery would report while idle.

Memory is measured, not estimated object by object (no tracemalloc on the hot path):

- ``used_memory`` and ``used_memory_rss`` are both the process's resident set size (from
  /proc/self/statm): a Python process has no allocator counter of its own comparable to
  zmalloc's, so the fragmentation ratio reads 1.00.
- ``used_memory_peak`` is the kernel's peak RSS (getrusage ru_maxrss).
- ``used_memory_startup`` is the RSS when the command table was built, at server start;
  ``used_memory_overhead`` is that plus the clients' buffers, ``used_memory_dataset`` the rest.

Fields left out, with the reason:

- server: redis_git_sha1, redis_git_dirty, redis_build_id, gcc_version, atomicvar_api
  describe a C build of Redis.
- memory: allocator_*, rss_overhead_*, mem_allocator and active_defrag_running describe
  jemalloc; used_memory_lua/vm_*/scripts*/functions and number_of_* describe a Lua engine.
- persistence: module_fork_* (no modules); the aof_* size fields shown when the AOF is on.
- stats: active_defrag_* (no defragmenter), reply_buffer_* and eventloop_* (Redis's reply
  buffers and event loop internals).
- debug: the eventloop_* internals, for the same reason.
"""

from __future__ import annotations

import os
import resource
import struct
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Client
    from .server import Server

DEFAULT_SECTIONS = (
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu",
    "module_list", "errorstats", "cluster", "keyspace",
)
REPL_BACKLOG_SIZE = 1024 * 1024
_UNSAFE = str.maketrans("#:\n\r", "____")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MULTIPLEXING = "epoll" if sys.platform.startswith("linux") else (
    "kqueue" if "bsd" in sys.platform or sys.platform == "darwin" else "select")


def rss_bytes() -> int:
    """The resident set size now; the peak RSS where /proc is missing."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_SIZE
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


STARTUP_RSS = rss_bytes()


def bytes_to_human(n: int) -> str:
    """bytesToHuman: 100B, 1.50K, 2.00M ... with binary units."""
    if n < 1024:
        return f"{n}B"
    for power, unit in ((2, "K"), (3, "M"), (4, "G"), (5, "T"), (6, "P")):
        if n < 1024**power:
            return f"{n / 1024 ** (power - 1):.2f}{unit}"
    return f"{n}B"


def safe_name(name: str) -> str:
    """getSafeInfoString: ``#``, ``:``, CR and LF become ``_`` in names INFO prints."""
    return name.translate(_UNSAFE)


def requested_sections(args: list[bytes]) -> tuple[set[str], bool, bool]:
    """genInfoSectionDict: (sections, all, everything); names are case-insensitive."""
    if not args:
        return set(DEFAULT_SECTIONS), False, False
    sections: set[str] = set()
    all_sections = everything = False
    for arg in args:
        name = arg.decode("utf-8", "surrogateescape").lower()
        if name == "default":
            sections.update(DEFAULT_SECTIONS)
        elif name == "all":
            all_sections = True
        elif name == "everything":
            all_sections = everything = True
        else:
            sections.add(name)
    return sections, all_sections, everything


def info_text(server: Server, args: list[bytes]) -> str:
    """genRedisInfoString: the requested sections, a blank line between two sections."""
    sections, all_sections, _ = requested_sections(args)
    parts = []
    for names, title, build in _SECTIONS:
        if all_sections or any(n in sections for n in names):
            lines = "".join(f"{line}\r\n" for line in build(server))
            parts.append(f"# {title}\r\n{lines}")
    return "\r\n".join(parts)


# --- sections, each a generator of ``name:value`` lines ---

def _server(server: Server) -> Iterator[str]:
    uname = os.uname()
    config = server.config
    uptime = int(time.time()) - int(server.start_time)
    yield f"redis_version:{server.version}"
    yield "redis_mode:" + ("cluster" if server.cluster_enabled else "standalone")
    yield f"os:{uname.sysname} {uname.release} {uname.machine}"
    yield "arch_bits:" + ("64" if sys.maxsize > 2**32 else "32")
    yield "monotonic_clock:POSIX clock_gettime"
    yield f"multiplexing_api:{_MULTIPLEXING}"
    yield f"process_id:{os.getpid()}"
    yield "process_supervised:no"
    yield f"run_id:{server.run_id}"
    yield f"tcp_port:{server.tcp_port}"
    yield f"server_time_usec:{time.time_ns() // 1000}"
    yield f"uptime_in_seconds:{uptime}"
    yield f"uptime_in_days:{uptime // 86400}"
    yield f"hz:{config['hz']}"
    yield f"configured_hz:{config['hz']}"
    yield f"lru_clock:{server.keyspace_stats.lru_clock}"
    yield f"executable:{os.path.abspath(sys.argv[0]) if sys.argv[0] else ''}"
    yield f"config_file:{os.path.abspath(config.file) if config.file else ''}"
    yield "io_threads_active:0"
    binds = "".join(f",bind={addr}" for addr in config["bind"].split())
    yield f"listener0:name=tcp{binds},port={server.tcp_port}"


def _clients(server: Server) -> Iterator[str]:
    clients = server.clients.values()
    max_in = max((c.parser.buffered for c in clients), default=0)
    max_out = max((_output_buffer(c) for c in clients), default=0)
    yield f"connected_clients:{len(server.clients)}"
    yield "cluster_connections:0"
    yield f"maxclients:{server.config['maxclients']}"
    yield f"client_recent_max_input_buffer:{max_in}"
    yield f"client_recent_max_output_buffer:{max_out}"
    yield f"blocked_clients:{sum(1 for c in clients if c.waiting)}"
    yield "tracking_clients:0"
    yield f"clients_in_timeout_table:{sum(1 for c in clients if c.blocked and c.blocked.timer)}"
    yield f"total_blocking_keys:{sum(len(db.blocked) for db in server.dbs)}"
    yield "total_blocking_keys_on_nokey:0"


def _output_buffer(client: Client) -> int:
    transport = client.transport
    return transport.get_write_buffer_size() if transport is not None else 0


def _memory(server: Server) -> Iterator[str]:
    used = rss_bytes()
    peak = max(peak_rss_bytes(), used)
    clients_mem = sum(c.parser.buffered + _output_buffer(c) for c in server.clients.values())
    overhead = min(STARTUP_RSS + clients_mem, used)
    dataset = used - overhead
    net = used - STARTUP_RSS if used > STARTUP_RSS else 1
    system = _PAGE_SIZE * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    maxmemory = server.config["maxmemory"]
    yield f"used_memory:{used}"
    yield f"used_memory_human:{bytes_to_human(used)}"
    yield f"used_memory_rss:{used}"
    yield f"used_memory_rss_human:{bytes_to_human(used)}"
    yield f"used_memory_peak:{peak}"
    yield f"used_memory_peak_human:{bytes_to_human(peak)}"
    yield f"used_memory_peak_perc:{used * 100 / peak:.2f}%"
    yield f"used_memory_overhead:{overhead}"
    yield f"used_memory_startup:{STARTUP_RSS}"
    yield f"used_memory_dataset:{dataset}"
    yield f"used_memory_dataset_perc:{dataset * 100 / net:.2f}%"
    yield f"total_system_memory:{system}"
    yield f"total_system_memory_human:{bytes_to_human(system)}"
    yield f"maxmemory:{maxmemory}"
    yield f"maxmemory_human:{bytes_to_human(maxmemory)}"
    yield f"maxmemory_policy:{server.config['maxmemory-policy']}"
    yield "mem_fragmentation_ratio:1.00"
    yield "mem_fragmentation_bytes:0"
    yield "mem_not_counted_for_evict:0"
    yield "mem_replication_backlog:0"
    yield "mem_total_replication_buffers:0"
    yield "mem_clients_slaves:0"
    yield f"mem_clients_normal:{clients_mem}"
    yield "mem_cluster_links:0"
    yield "mem_aof_buffer:0"
    yield "lazyfree_pending_objects:0"
    yield "lazyfreed_objects:0"


def _persistence(server: Server) -> Iterator[str]:
    yield "loading:0"
    yield "async_loading:0"
    yield "current_cow_peak:0"
    yield "current_cow_size:0"
    yield "current_cow_size_age:0"
    yield "current_fork_perc:0.00"
    yield "current_save_keys_processed:0"
    yield "current_save_keys_total:0"
    yield f"rdb_changes_since_last_save:{server.keyspace_stats.dirty}"
    yield "rdb_bgsave_in_progress:0"
    yield f"rdb_last_save_time:{server.lastsave}"
    yield "rdb_last_bgsave_status:ok"
    yield "rdb_last_bgsave_time_sec:-1"
    yield "rdb_current_bgsave_time_sec:-1"
    yield "rdb_saves:0"
    yield "rdb_last_cow_size:0"
    yield "rdb_last_load_keys_expired:0"
    yield "rdb_last_load_keys_loaded:0"
    yield f"aof_enabled:{int(server.config['appendonly'])}"
    yield "aof_rewrite_in_progress:0"
    yield "aof_rewrite_scheduled:0"
    yield "aof_last_rewrite_time_sec:-1"
    yield "aof_current_rewrite_time_sec:-1"
    yield "aof_last_bgrewrite_status:ok"
    yield "aof_rewrites:0"
    yield "aof_rewrites_consecutive_failures:0"
    yield "aof_last_write_status:ok"
    yield "aof_last_cow_size:0"


def _stats(server: Server) -> Iterator[str]:
    ks = server.keyspace_stats
    yield f"total_connections_received:{server.stat_numconnections}"
    yield f"total_commands_processed:{server.stat_numcommands}"
    yield f"instantaneous_ops_per_sec:{int(server.metric_ops.rate())}"
    yield f"total_net_input_bytes:{server.stat_net_input_bytes}"
    yield f"total_net_output_bytes:{server.stat_net_output_bytes}"
    yield "total_net_repl_input_bytes:0"
    yield "total_net_repl_output_bytes:0"
    yield f"instantaneous_input_kbps:{int(server.metric_net_in.rate()) / 1024:.2f}"
    yield f"instantaneous_output_kbps:{int(server.metric_net_out.rate()) / 1024:.2f}"
    yield "instantaneous_input_repl_kbps:0.00"
    yield "instantaneous_output_repl_kbps:0.00"
    yield f"rejected_connections:{server.stat_rejected_conn}"
    yield "sync_full:0"
    yield "sync_partial_ok:0"
    yield "sync_partial_err:0"
    yield f"expired_keys:{ks.expired}"
    yield f"expired_stale_perc:{ks.expired_stale_perc * 100:.2f}"
    yield f"expired_time_cap_reached_count:{server.stat_expired_time_cap_reached_count}"
    yield f"expire_cycle_cpu_milliseconds:{server.stat_expire_cycle_time_used // 1_000_000}"
    yield "evicted_keys:0"
    yield "evicted_clients:0"
    yield "total_eviction_exceeded_time:0"
    yield "current_eviction_exceeded_time:0"
    yield f"keyspace_hits:{ks.hits}"
    yield f"keyspace_misses:{ks.misses}"
    yield "pubsub_channels:0"
    yield "pubsub_patterns:0"
    yield "pubsubshard_channels:0"
    yield "latest_fork_usec:0"
    yield "total_forks:0"
    yield "migrate_cached_sockets:0"
    yield "slave_expires_tracked_keys:0"
    yield "tracking_total_keys:0"
    yield "tracking_total_items:0"
    yield "tracking_total_prefixes:0"
    yield f"unexpected_error_replies:{server.stat_unexpected_error_replies}"
    yield f"total_error_replies:{server.stat_total_error_replies}"
    yield "dump_payload_sanitizations:0"
    yield f"total_reads_processed:{server.stat_total_reads_processed}"
    yield f"total_writes_processed:{server.stat_total_writes_processed}"
    yield "io_threaded_reads_processed:0"
    yield "io_threaded_writes_processed:0"
    yield f"acl_access_denied_auth:{server.stat_acl_denied_auth}"
    yield "acl_access_denied_cmd:0"
    yield "acl_access_denied_key:0"
    yield "acl_access_denied_channel:0"


def _replication(server: Server) -> Iterator[str]:
    yield "role:master"
    yield "connected_slaves:0"
    yield "master_failover_state:no-failover"
    yield f"master_replid:{server.replid}"
    yield f"master_replid2:{server.replid2}"
    yield f"master_repl_offset:{server.master_repl_offset}"
    yield f"second_repl_offset:{server.second_replid_offset}"
    yield "repl_backlog_active:0"
    yield f"repl_backlog_size:{REPL_BACKLOG_SIZE}"
    yield "repl_backlog_first_byte_offset:0"
    yield "repl_backlog_histlen:0"


def _cpu(server: Server) -> Iterator[str]:
    usages = [("", resource.RUSAGE_SELF), ("_children", resource.RUSAGE_CHILDREN)]
    if hasattr(resource, "RUSAGE_THREAD"):
        usages.append(("_main_thread", resource.RUSAGE_THREAD))
    for suffix, who in usages:
        ru = resource.getrusage(who)
        yield f"used_cpu_sys{suffix}:{ru.ru_stime:.6f}"
        yield f"used_cpu_user{suffix}:{ru.ru_utime:.6f}"


def _modules(server: Server) -> Iterator[str]:
    return iter(())


def _float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def _commandstats(server: Server) -> Iterator[str]:
    for cmd in server.all_commands():
        if cmd.calls or cmd.failed_calls or cmd.rejected_calls:
            per_call = _float32(_float32(cmd.usec) / cmd.calls) if cmd.calls else 0.0
            yield (f"cmdstat_{safe_name(cmd.fullname)}:calls={cmd.calls},usec={cmd.usec},"
                   f"usec_per_call={per_call:.2f},rejected_calls={cmd.rejected_calls},"
                   f"failed_calls={cmd.failed_calls}")


def _errorstats(server: Server) -> Iterator[str]:
    for code, count in sorted(server.errorstats.items()):
        yield f"errorstat_{safe_name(code)}:count={count}"


def _latencystats(server: Server) -> Iterator[str]:
    if not server.config["latency-tracking"]:
        return
    percentiles = server.config["latency-tracking-info-percentiles"]
    labels = [f"{p:f}".rstrip("0").rstrip(".") for p in percentiles]
    for cmd in server.all_commands():
        if cmd.latency:
            values = latency_percentiles(cmd.latency, percentiles)
            fields = ",".join(f"p{label}={value / 1000:.3f}"
                              for label, value in zip(labels, values, strict=True))
            yield f"latency_percentiles_usec_{safe_name(cmd.fullname)}:{fields}"


def latency_percentiles(counts: dict[int, int], percentiles: list[float]) -> list[int]:
    """hdr_value_at_percentile over durations in microseconds, answered in nanoseconds.

    Redis records each call in an HDR histogram (1 ns to 1 s, 2 significant digits) and
    prints the upper edge of the bucket holding the percentile; exact counts give the
    same answer, so only the bucket edges are computed here.
    """
    ordered = sorted(counts.items())
    total = sum(counts.values())
    out = []
    for pct in percentiles:
        target = max(int(min(pct, 100.0) / 100 * total + 0.5), 1)
        seen = 0
        value = ordered[-1][0]
        for usec, count in ordered:
            seen += count
            if seen >= target:
                value = usec
                break
        ns = min(max(value * 1000, 1), 1_000_000_000)
        out.append(_hdr_lowest(ns) if pct == 0.0 else _hdr_highest(ns))
    return out


def _hdr_bucket_shift(ns: int) -> int:
    return max((ns | 255).bit_length() - 8, 0)


def _hdr_lowest(ns: int) -> int:
    shift = _hdr_bucket_shift(ns)
    return ns >> shift << shift


def _hdr_highest(ns: int) -> int:
    return _hdr_lowest(ns) + (1 << _hdr_bucket_shift(ns)) - 1


def _cluster(server: Server) -> Iterator[str]:
    yield f"cluster_enabled:{int(server.cluster_enabled)}"


def _keyspace(server: Server) -> Iterator[str]:
    for db in server.dbs:
        keys, volatile = len(db), len(db.expires)
        if keys or volatile:
            yield f"db{db.id}:keys={keys},expires={volatile},avg_ttl={db.avg_ttl}"


_SECTIONS: tuple[tuple[tuple[str, ...], str, Callable[[Server], Iterator[str]]], ...] = (
    (("server",), "Server", _server),
    (("clients",), "Clients", _clients),
    (("memory",), "Memory", _memory),
    (("persistence",), "Persistence", _persistence),
    (("stats",), "Stats", _stats),
    (("replication",), "Replication", _replication),
    (("cpu",), "CPU", _cpu),
    (("module_list", "modules"), "Modules", _modules),
    (("commandstats",), "Commandstats", _commandstats),
    (("errorstats",), "Errorstats", _errorstats),
    (("latencystats",), "Latencystats", _latencystats),
    (("cluster",), "Cluster", _cluster),
    (("keyspace",), "Keyspace", _keyspace),
)
