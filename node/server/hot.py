"""The server's fields that a client's read cycle reads, on a compiled object.

``Server`` (server.py) is a plain Python class: each read of one of its attributes costs
a type lookup and a dict lookup (``_PyObject_GenericGetAttrWithDict``), each ``+=`` two of
them and an ``int`` object. A client's read reads about 25 of them (data_received, the
short dispatch loop's state checks, flush, write): at pipeline 1 that was 9% of a node's
CPU. ``ServerHot`` is a native class (base/compiled.py), so the compiled client loop
reads these fields as C struct members through ``client.hot``.

``Server`` declares each of these attributes with ``on_hot``, so the rest of the code reads
and writes ``server.maxmemory`` as before. The counters the loop adds to live here only: a
read of ``server.stat_numcommands`` goes through a property (INFO, the cron). The other
fields are set through the server and mirrored: a write stores the value in both places,
a read of the server's attribute stays a plain one (a property costs 5x: the scripting
engine reads a dozen of these per call).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mypy_extensions import mypyc_attr

if TYPE_CHECKING:
    from ..keyspace.pause import PauseState
    from ..keyspace.propagation import Propagation
    from ..keyspace.stats import KeyspaceStats
    from ..persistence.aof import AppendOnly
    from ..persistence.context import PersistenceCheck
    from ..pubsub.tracking import Tracker
    from ..table.command import Command
    from .client import Client
    from .cronpace import CronPace


class ServerHot:
    __slots__ = ("command_index", "keyspace_stats", "tracker", "pause", "monitors",
                 "propagation", "aof", "pace", "now", "fast_dispatch", "cluster",
                 "persistence_check", "maxmemory", "mem_overhead", "write_guard", "write_ack",
                 "client_eviction", "query_buffer_limit", "latency_tracking",
                 "slowlog_threshold", "latency_threshold", "stat_numcommands",
                 "stat_internal_commands", "stat_net_input_bytes", "stat_net_output_bytes",
                 "stat_total_reads_processed", "stat_total_writes_processed")

    # The objects are the server's own, made once in Server.__init__ (never replaced).
    command_index: dict[bytes, Command]
    keyspace_stats: KeyspaceStats
    tracker: Tracker
    pause: PauseState
    monitors: list[Client]
    propagation: Propagation
    aof: AppendOnly
    pace: CronPace

    def __init__(self) -> None:
        self.now = 0.0  # time.time() at the last cron tick
        self.fast_dispatch = True  # False: every request through dispatch.execute
        self.cluster: Any = None  # ClusterState in cluster mode
        self.persistence_check: PersistenceCheck | None = None
        self.maxmemory = 0
        self.mem_overhead = 0
        self.write_guard = False
        self.write_ack = 0
        self.client_eviction = False
        self.query_buffer_limit = 0
        self.latency_tracking = True
        self.slowlog_threshold = 0
        self.latency_threshold = 0
        self.stat_numcommands = 0
        self.stat_internal_commands = 0
        self.stat_net_input_bytes = 0
        self.stat_net_output_bytes = 0
        self.stat_total_reads_processed = 0
        self.stat_total_writes_processed = 0


# Written by the client loop on ``ServerHot`` itself.
COUNTERS = frozenset({"stat_numcommands", "stat_internal_commands", "stat_net_input_bytes",
                      "stat_net_output_bytes", "stat_total_reads_processed",
                      "stat_total_writes_processed"})


def on_hot(name: str) -> Any:
    """The class attribute that keeps ``Server``'s attribute ``name`` on ``server.hot``."""
    if name in COUNTERS:
        def load(server: Any) -> int:
            value: int = getattr(server.hot, name)
            return value

        def store(server: Any, value: int) -> None:
            setattr(server.hot, name, value)
        return property(load, store)
    return Mirrored(name)


@mypyc_attr(native_class=False)
class Mirrored:
    """A data descriptor without ``__get__``: a read finds the instance's own value in
    its ``__dict__`` (the plain attribute read), a write stores it there and on
    ``server.hot``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __set__(self, server: Any, value: Any) -> None:
        server.__dict__[self.name] = value
        setattr(server.hot, self.name, value)
