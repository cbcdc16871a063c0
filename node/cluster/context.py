"""What the cluster layer sees of the server and of a client, as typing.Protocols.

The server and the connections sit in the layer above; routing, the topology state, the
cluster links and manual failover type against these (the real classes match them
structurally). Replication is a sibling layer, so the one fact taken from it, which master
this node follows, is typed here too.
"""

from __future__ import annotations

import ssl
from typing import Any, Protocol

from ..config.directives import Config
from ..keyspace.database import Database
from ..keyspace.propagation import Propagation
from ..pubsub.hub import PubSub
from ..table.command import Command
from ..table.multi import MultiState


class MasterLink(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


class Replication(Protocol):
    @property
    def link(self) -> MasterLink | None: ...


class Server(Protocol):
    config: Config
    dbs: list[Database]
    cluster: Any
    requirepass: str
    tcp_port: int
    listening: bool  # the listeners are open (tcp_port stays 0 on a TLS-only node)
    tls_client: ssl.SSLContext | None  # tls-cluster: how to reach the peers

    @property
    def propagation(self) -> Propagation: ...
    @property
    def replication(self) -> Replication: ...
    @property
    def pubsub(self) -> PubSub: ...

    def log_notice(self, message: str) -> None: ...
    def log_warning(self, message: str) -> None: ...
    def log_verbose(self, message: str) -> None: ...
    def count_error(self, message: str) -> None: ...
    def promote(self) -> None: ...
    def demote(self, host: str, port: int) -> None: ...


class Client(Protocol):
    cmd: Command | None
    asking: bool
    readonly: bool
    multi: bool
    mstate: MultiState
    dirty_exec: bool
    is_master: bool
    tls: bool  # connected over TLS: told TLS ports (else plaintext ones, with tls-cluster)

    @property
    def server(self) -> Server: ...

    def reply(self, value: Any) -> None: ...
    def discard_transaction(self) -> None: ...
