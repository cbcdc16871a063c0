"""The INFO text: Redis 7.2's sections and field names, in its order and format.

Tools parse this text (redis-cli --stat, redis_exporter, cluster clients), so every field
that means something for this node keeps Redis's name, place and number format; fields for
machinery this node does not have (fork, replication ...) report the value that
machinery would report while idle.

Memory: ``used_memory`` is the process at startup plus the keyspace tables, the client
buffers and the dataset, every key's cost estimated as it is written (memusage.py,
footprint.py); ``used_memory_rss`` is the kernel's resident set size, and their ratio the
fragmentation ratio, as in Redis. ``used_memory_startup`` is the RSS once the server was
built; ``used_memory_peak`` the highest used_memory seen.

Fields left out, with the reason:

- server: redis_git_sha1, redis_git_dirty, redis_build_id, gcc_version, atomicvar_api
  describe a C build of Redis. ``redslot_build`` (ours) says whether the hot modules run
  compiled with mypyc or as plain Python (node/base/compiled.py).
- memory: allocator_*, rss_overhead_*, mem_allocator and active_defrag_running describe
  jemalloc.
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

from ..base.compiled import build as build_kind
from ..keyspace.memusage import STARTUP_BYTES, MemoryFigures, output_buffer

if TYPE_CHECKING:
    from .context import Server

DEFAULT_SECTIONS = (
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu",
    "module_list", "errorstats", "cluster", "keyspace",
)
_UNSAFE = str.maketrans("#:\n\r", "____")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MULTIPLEXING = "epoll" if sys.platform.startswith("linux") else (
    "kqueue" if "bsd" in sys.platform or sys.platform == "darwin" else "select")


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
    yield f"redslot_build:{build_kind()}"


def _clients(server: Server) -> Iterator[str]:
    clients = server.clients.values()
    max_in = max((c.parser.buffered for c in clients), default=0)
    max_out = max((output_buffer(c) for c in clients), default=0)
    yield f"connected_clients:{len(server.clients)}"
    yield "cluster_connections:0"
    yield f"maxclients:{server.config['maxclients']}"
    yield f"client_recent_max_input_buffer:{max_in}"
    yield f"client_recent_max_output_buffer:{max_out}"
    yield f"blocked_clients:{sum(1 for c in clients if c.waiting)}"
    yield f"tracking_clients:{server.tracker.tracking_clients}"
    yield f"clients_in_timeout_table:{sum(1 for c in clients if c.blocked and c.blocked.timer)}"
    yield f"total_blocking_keys:{sum(len(db.blocked) for db in server.dbs)}"
    yield "total_blocking_keys_on_nokey:0"


def _scripting_memory(server: Server) -> Iterator[str]:
    """The Lua interpreters (EVAL's and the functions') and what they hold, as 7.0 lists it."""
    scripting = server.scripting
    functions = server.functions
    vm_eval = scripting.memory()
    vm_functions = functions.engine.memory()
    scripts = scripting.scripts_memory
    libraries = functions.memory()
    yield f"used_memory_lua:{vm_eval}"
    yield f"used_memory_vm_eval:{vm_eval}"
    yield f"used_memory_lua_human:{bytes_to_human(vm_eval)}"
    yield f"used_memory_scripts_eval:{scripts}"
    yield f"number_of_cached_scripts:{len(scripting.scripts)}"
    yield f"number_of_functions:{len(functions.functions)}"
    yield f"number_of_libraries:{len(functions.libraries)}"
    yield f"used_memory_vm_functions:{vm_functions}"
    yield f"used_memory_vm_total:{vm_eval + vm_functions}"
    yield f"used_memory_vm_total_human:{bytes_to_human(vm_eval + vm_functions)}"
    yield f"used_memory_functions:{libraries}"
    yield f"used_memory_scripts:{scripts + libraries}"
    yield f"used_memory_scripts_human:{bytes_to_human(scripts + libraries)}"


def _memory(server: Server) -> Iterator[str]:
    m = MemoryFigures(server)
    used, peak, rss = m.used, m.peak, m.rss
    net = used - STARTUP_BYTES if used > STARTUP_BYTES else 1
    system = _PAGE_SIZE * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    maxmemory = server.config["maxmemory"]
    yield f"used_memory:{used}"
    yield f"used_memory_human:{bytes_to_human(used)}"
    yield f"used_memory_rss:{rss}"
    yield f"used_memory_rss_human:{bytes_to_human(rss)}"
    yield f"used_memory_peak:{peak}"
    yield f"used_memory_peak_human:{bytes_to_human(peak)}"
    yield f"used_memory_peak_perc:{used * 100 / peak:.2f}%"
    yield f"used_memory_overhead:{m.overhead}"
    yield f"used_memory_startup:{STARTUP_BYTES}"
    yield f"used_memory_dataset:{m.dataset}"
    yield f"used_memory_dataset_perc:{m.dataset * 100 / net:.2f}%"
    yield f"total_system_memory:{system}"
    yield f"total_system_memory_human:{bytes_to_human(system)}"
    yield from _scripting_memory(server)
    yield f"maxmemory:{maxmemory}"
    yield f"maxmemory_human:{bytes_to_human(maxmemory)}"
    yield f"maxmemory_policy:{server.config['maxmemory-policy']}"
    yield f"mem_fragmentation_ratio:{rss / used:.2f}"
    yield f"mem_fragmentation_bytes:{rss - used}"
    yield f"mem_not_counted_for_evict:{m.clients}"
    backlog = server.propagation.backlog
    yield f"mem_replication_backlog:{len(backlog.buf) if backlog is not None else 0}"
    yield "mem_total_replication_buffers:0"
    yield "mem_clients_slaves:0"
    yield f"mem_clients_normal:{m.clients}"
    yield "mem_cluster_links:0"
    yield "mem_aof_buffer:0"
    yield "lazyfree_pending_objects:0"
    yield "lazyfreed_objects:0"


def _persistence(server: Server) -> Iterator[str]:
    yield from server.snapshots.info()
    yield from server.aof.info()
    yield from server.aof.info_enabled()
    yield from server.snapshots.loading_info()


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
    repl = server.replication
    yield f"sync_full:{repl.sync_full}"
    yield f"sync_partial_ok:{repl.sync_partial_ok}"
    yield f"sync_partial_err:{repl.sync_partial_err}"
    yield f"expired_keys:{ks.expired}"
    yield f"expired_stale_perc:{ks.expired_stale_perc * 100:.2f}"
    yield f"expired_time_cap_reached_count:{server.stat_expired_time_cap_reached_count}"
    yield f"expire_cycle_cpu_milliseconds:{server.stat_expire_cycle_time_used // 1_000_000}"
    current, total = server.evictor.exceeded_ms()
    yield f"evicted_keys:{server.stat_evictedkeys}"
    yield f"evicted_clients:{server.stat_evicted_clients}"
    yield f"total_eviction_exceeded_time:{total}"
    yield f"current_eviction_exceeded_time:{current}"
    yield f"keyspace_hits:{ks.hits}"
    yield f"keyspace_misses:{ks.misses}"
    yield f"pubsub_channels:{len(server.pubsub.channels)}"
    yield f"pubsub_patterns:{len(server.pubsub.patterns)}"
    yield f"pubsubshard_channels:{len(server.pubsub.shard)}"
    yield "latest_fork_usec:0"
    yield "total_forks:0"
    yield "migrate_cached_sockets:0"
    yield "slave_expires_tracked_keys:0"
    yield f"tracking_total_keys:{len(server.tracker.table)}"
    yield f"tracking_total_items:{server.tracker.items}"
    yield f"tracking_total_prefixes:{server.tracker.total_prefixes()}"
    yield f"unexpected_error_replies:{server.stat_unexpected_error_replies}"
    yield f"total_error_replies:{server.stat_total_error_replies}"
    yield "dump_payload_sanitizations:0"
    yield f"total_reads_processed:{server.stat_total_reads_processed}"
    yield f"total_writes_processed:{server.stat_total_writes_processed}"
    yield "io_threaded_reads_processed:0"
    yield "io_threaded_writes_processed:0"
    yield f"acl_access_denied_auth:{server.stat_acl_denied_auth}"
    yield f"acl_access_denied_cmd:{server.stat_acl_denied_cmd}"
    yield f"acl_access_denied_key:{server.stat_acl_denied_key}"
    yield f"acl_access_denied_channel:{server.stat_acl_denied_channel}"


def _replication(server: Server) -> Iterator[str]:
    return server.replication.info()


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
        counts = cmd.latency_counts()
        if counts:
            values = latency_percentiles(counts, percentiles)
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
    """Redis's one field, then redslot's own: the epoch of the last table pushed with
    CLUSTER SETTOPOLOGY, whether keyed commands are refused and why (hold, lease), slots
    holding keys here and the slots in migration
    (``slot->target`` / ``slot<-source``), which no Redis section shows."""
    yield f"cluster_enabled:{int(server.cluster_enabled)}"
    state = server.cluster
    if state is None:
        return
    yield f"cluster_topology_epoch:{state.topology_epoch}"
    reason = state.lease.fence_reason(state.held)
    yield f"cluster_fenced:{int(bool(reason))}"
    yield f"cluster_fenced_reason:{reason}"
    yield f"cluster_lease_remaining_ms:{state.lease.remaining_ms()}"
    index = server.dbs[0].slot_index
    yield f"cluster_slots_with_keys:{len(index.by_slot) if index is not None else 0}"
    yield f"cluster_slots_migrating:{len(state.migrating)}"
    yield f"cluster_slots_importing:{len(state.importing)}"
    moves = [f"{slot}->{n.id}" for slot, n in sorted(state.migrating.items())]
    moves += [f"{slot}<-{n.id}" for slot, n in sorted(state.importing.items())]
    yield f"cluster_migrations:{','.join(moves)}"


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
