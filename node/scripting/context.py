"""What scripting sees of the server and of a client, as typing.Protocols.

A script runs commands on a connection-less client of its own (Redis's lua_client) through
``Server.invoke``; the caller is the client that sent EVAL or FCALL. Both are typed by
what the engine reads and sets; the real classes in ``server`` match them structurally.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from ..acl.users import Users
from ..config.directives import Config
from ..keyspace.database import Database
from ..keyspace.propagation import Propagation
from ..keyspace.stats import KeyspaceStats
from ..table.command import Command


class Client(Protocol):
    """The caller of EVAL or FCALL (the other clients served while busy are the
    server's own; busy.py reaches them through ``Server.clients``)."""

    id: int
    db: Database
    resp3: bool
    is_master: bool
    asking: bool
    readonly: bool


class Replication(Protocol):
    @property
    def link(self) -> Any: ...
    def refuses_writes(self) -> bool: ...


class Server(Protocol):
    config: Config
    acl: Users  # redis.call checks the script's user
    stat_acl_denied_cmd: int
    stat_acl_denied_key: int
    stat_acl_denied_channel: int
    commands: dict[str, Command]
    command_index: dict[bytes, Command]
    cluster: Any
    maxmemory: int
    mem_overhead: int
    fast_dispatch: bool
    busy_script: Any
    shutdown_event: asyncio.Event | None
    persistence_check: Any
    tracker: Any
    listeners: list[Any]
    connecting: dict[int, tuple[Any, Any]]
    tls_listener: Any  # not polled while a script is busy

    @property
    def clients(self) -> Mapping[int, Any]: ...
    @property
    def keyspace_stats(self) -> KeyspaceStats: ...
    @property
    def propagation(self) -> Propagation: ...
    @property
    def replication(self) -> Replication: ...
    @property
    def monitors(self) -> list[Any]: ...

    def invoke(self, client: Any, cmd: Command, argv: list[bytes]) -> Any: ...
    def new_client(self) -> Any: ...
    def count_error(self, message: str) -> None: ...
    def log(self, level: str, message: str) -> None: ...
    def log_warning(self, message: str) -> None: ...
