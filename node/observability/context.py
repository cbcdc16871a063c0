"""What observability sees of the server and of a client, as typing.Protocols.

INFO, the slowlog and the metrics snapshot read figures from every layer below; the
server and the connections sit in the layer above, so they are typed here by what is read
(the real classes match them structurally).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from ..config.directives import Config
from ..keyspace.blocking import Blocked
from ..keyspace.database import Database
from ..keyspace.eviction import Evictor
from ..keyspace.propagation import Propagation
from ..keyspace.stats import KeyspaceStats
from ..persistence.aof import AppendOnly
from ..persistence.snapshots import Snapshots
from ..protocol.request import RequestParser
from ..pubsub.hub import PubSub
from ..pubsub.tracking import Tracker
from ..replication.master import Replication
from ..table.command import Command
from .rates import InstantaneousMetric


class Client(Protocol):
    name: str
    addr: str
    waiting: bool
    blocked: Blocked | None
    held_writes: list[tuple[int, int, int]]

    @property
    def parser(self) -> RequestParser: ...
    @property
    def transport(self) -> asyncio.WriteTransport | None: ...


class ScriptEngine(Protocol):
    """A Lua interpreter as INFO reports it (scripting/engine.py)."""

    scripts: dict[str, Any]
    scripts_memory: int

    def memory(self) -> int: ...


class FunctionLibraries(Protocol):
    """The function libraries as INFO reports them (scripting/functions.py)."""

    libraries: dict[str, Any]
    functions: dict[str, Any]

    @property
    def engine(self) -> ScriptEngine: ...
    def memory(self) -> int: ...


class Server(Protocol):
    config: Config
    dbs: list[Database]
    keyspace_stats: KeyspaceStats
    cluster: Any
    cluster_enabled: bool
    version: str
    run_id: str
    pid: int
    tcp_port: int
    start_time: float
    loaded: bool
    errorstats: dict[str, int]

    @property
    def scripting(self) -> ScriptEngine: ...
    @property
    def functions(self) -> FunctionLibraries: ...
    maxmemory: int
    mem_overhead: int
    mem_peak: int
    stat_numconnections: int
    stat_numcommands: int
    stat_rejected_conn: int
    stat_net_input_bytes: int
    stat_net_output_bytes: int
    stat_total_reads_processed: int
    stat_total_writes_processed: int
    stat_total_error_replies: int
    stat_unexpected_error_replies: int
    stat_evictedkeys: int
    stat_evicted_clients: int
    stat_expired_time_cap_reached_count: int
    stat_expire_cycle_time_used: int
    stat_acl_denied_auth: int
    stat_acl_denied_cmd: int
    stat_acl_denied_key: int
    stat_acl_denied_channel: int
    stat_migrated_keys: int
    stat_imported_keys: int

    @property
    def clients(self) -> Mapping[int, Client]: ...
    @property
    def replication(self) -> Replication: ...
    @property
    def snapshots(self) -> Snapshots: ...
    @property
    def aof(self) -> AppendOnly: ...
    @property
    def propagation(self) -> Propagation: ...
    @property
    def evictor(self) -> Evictor: ...
    @property
    def pubsub(self) -> PubSub: ...
    @property
    def tracker(self) -> Tracker: ...
    @property
    def metric_ops(self) -> InstantaneousMetric: ...
    @property
    def metric_net_in(self) -> InstantaneousMetric: ...
    @property
    def metric_net_out(self) -> InstantaneousMetric: ...

    def all_commands(self) -> list[Command]: ...
    def log_notice(self, message: str) -> None: ...
    def log_warning(self, message: str) -> None: ...
