"""used_memory and its parts, as INFO memory, MEMORY STATS and eviction read them.

used_memory = the process at startup (interpreter, code, command table: its RSS then)
+ the keyspace tables (dicts and lists sized as they are, per-key expiry objects)
+ client buffers + the dataset (every key's estimated cost, footprint.py, summed as keys
are written; a value changed in place is re-costed once, when the sum is next read:
KeyspaceStats.settle). Only the dataset changes with every command; the tables are
refreshed by the cron (``refresh``) and by INFO/MEMORY, so the check run before each
command under maxmemory costs one addition and the re-costing of what the last command
changed. used_memory_rss is the kernel's figure: their ratio is the
fragmentation ratio, as in Redis.

Unlike Redis, client buffers do not count for eviction (INFO: mem_not_counted_for_evict):
they are measured only every cron tick, and a pipeline's query buffer, gone by the next
command, would otherwise keep evicting keys for up to 100 ms after it was consumed.
"""

from __future__ import annotations

import os
import resource
import sys
from typing import TYPE_CHECKING

from ..types.footprint import footprint, obj, rounded
from .database import Database
from .stats import key_cost

if TYPE_CHECKING:
    from .context import Client, Server

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


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


STARTUP_BYTES = rss_bytes()


def table_bytes(db: Database) -> tuple[int, int]:
    """(main, expires): a database's key tables, and its expiry table (one array: a key's
    TTL takes no object, ttls.py)."""
    main = obj(db.index) + obj(db.kv) + obj(db.meta) if db.index else 0
    expires = db.expires
    return main, obj(expires.table) if expires else 0


def dataset_bytes(server: Server) -> int:
    """Every key's cost computed afresh: what ``data_bytes`` must equal (DEBUG FOOTPRINT)."""
    return sum(rounded(key_cost(key) + footprint(value))
               for db in server.dbs for key, value in db.items())


def output_buffer(client: Client) -> int:
    transport = client.transport
    return transport.get_write_buffer_size() if transport is not None else 0


class MemoryFigures:
    """getMemoryOverheadData: used_memory's parts, measured now."""

    __slots__ = ("used", "peak", "rss", "clients", "clients_count", "db_overheads", "keys",
                 "overhead", "dataset")

    # ``overhead`` includes the client buffers; server.mem_overhead, which eviction reads,
    # does not.

    def __init__(self, server: Server) -> None:
        buffers = [c.parser.buffered + output_buffer(c) for c in server.clients.values()]
        self.clients = sum(buffers)
        self.clients_count = len(buffers)
        self.db_overheads = [(db.id, *table_bytes(db)) for db in server.dbs if len(db)]
        self.keys = sum(len(db) for db in server.dbs)
        tables = sum(main + expires for _, main, expires in self.db_overheads)
        server.mem_overhead = STARTUP_BYTES + tables
        self.overhead = server.mem_overhead + self.clients
        stats = server.keyspace_stats
        if stats.unsettled:
            stats.settle()
        self.dataset = stats.data_bytes
        self.used = self.overhead + self.dataset
        self.peak = server.mem_peak = max(server.mem_peak, self.used)
        self.rss = rss_bytes()


def refresh(server: Server) -> None:
    """The cron's update of the slowly changing parts (and of the peak)."""
    MemoryFigures(server)


def used_memory(server: Server) -> int:
    """What eviction compares with maxmemory (O(1) between commands): used_memory without
    the client buffers."""
    stats = server.keyspace_stats
    if stats.unsettled:
        stats.settle()
    return server.mem_overhead + stats.data_bytes
