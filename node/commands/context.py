"""What a command handler sees of its client and of the server, as typing.Protocols.

The connection (``server/client.py``) and the server (``server/server.py``) sit in the
layer above the handlers, which type against these instead, as redis-py's command mixins
type against ``CommandsProtocol``; the real classes match them structurally (mypy checks
it where dispatch hands a ``Client`` to a handler). Each member is one some handler uses.
Members the handlers only read, and whose type names a class of the layer above, are
read-only properties here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from ..acl.rules import User
from ..acl.users import Users
from ..cluster.context import Server as ClusterServer
from ..cluster.migrate_sockets import MigrateSockets
from ..keyspace.context import Server as KeyspaceServer
from ..keyspace.pause import PauseState
from ..keyspace.watch import WatchedKey
from ..observability.context import Server as ObservabilityServer
from ..observability.latency import LatencyMonitor
from ..observability.slowlog import Slowlog
from ..pubsub.hub import Subscriptions
from ..pubsub.tracking import Tracker, TrackingState
from ..replication.context import Client as ReplicationClient
from ..replication.master import Replication
from ..scripting.engine import Engine
from ..scripting.functions import Functions
from ..table.command import Command
from ..table.multi import MultiState


class Server(ObservabilityServer, ClusterServer, KeyspaceServer, Protocol):
    """Everything the layers below read of the server, and what handlers use besides."""

    commands: dict[str, Command]
    acl: Users
    stat_acl_denied_auth: int
    stat_acl_denied_cmd: int
    stat_acl_denied_key: int
    stat_acl_denied_channel: int
    requirepass: str
    now: float
    lastsave: int
    active_expire_enabled: bool
    cron_paused: bool
    latency_threshold: int
    shutdown_event: asyncio.Event | None

    @property
    def clients(self) -> Mapping[int, Client]: ...
    @property
    def monitors(self) -> list[Any]: ...
    @property
    def replication(self) -> Replication: ...
    @property
    def pause(self) -> PauseState: ...
    @property
    def slowlog(self) -> Slowlog: ...

    @property
    def latency(self) -> LatencyMonitor: ...
    @property
    def migrate_sockets(self) -> MigrateSockets: ...
    @property
    def tracker(self) -> Tracker: ...
    @property
    def scripting(self) -> Engine: ...
    @property
    def functions(self) -> Functions: ...
    busy_script: Any
    persistence_check: Any

    def feed_monitors(self, client: Any, argv: list[bytes]) -> None: ...

    def reset_stats(self) -> None: ...
    def refuse_config(self, changes: dict[str, Any]) -> str | None: ...
    @property
    def master_repl_offset(self) -> int: ...
    def invoke(self, client: Any, cmd: Command, argv: list[bytes]) -> Any: ...


class Client(ReplicationClient, Protocol):
    id: int
    internal: bool
    lib_name: str
    lib_ver: str
    laddr: str
    fd: int
    resp3: bool
    created: float
    last_interaction: float
    mstate: MultiState
    dirty_cas: bool
    dirty_exec: bool
    watched: list[WatchedKey]
    asking: bool
    monitor: bool
    silent: bool
    reply_off: bool
    reply_skip: bool
    reply_skip_next: bool
    reply_peak: int
    no_evict: bool
    no_touch: bool
    pubsub: bool
    queued_bytes: int
    subscriptions: Subscriptions | None
    tracking: TrackingState | None
    user: User
    running: list[list[bytes]] | None  # the requests of this run (migrate.py batches)
    migrated_ahead: list[tuple[list[bytes], Any]] | None

    @property
    def server(self) -> Server: ...

    def rewrite(self, *effects: list[bytes]) -> None: ...
    def force_propagation(self) -> None: ...
    def push(self, frame: bytes) -> None: ...
    def select(self, index: int) -> None: ...
    def set_resp(self, version: int) -> None: ...
    def describe(self) -> str: ...
    def discard_transaction(self) -> None: ...
