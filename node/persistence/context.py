"""What the persistence layer sees of the server and of a client, as typing.Protocols.

The server and the connections sit in the layer above; replication is a sibling layer,
so the replication history a snapshot records and restores is typed here by what is read
and called. AOF loading runs commands through ``Server.execute`` on a client from
``Server.new_client``: it cannot import dispatch.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from ..keyspace.context import Replication as KeyspaceReplication
from ..keyspace.context import Server as KeyspaceServer
from ..keyspace.propagation import Propagation
from ..protocol.request import RequestParser
from ..table.command import Command
from ..table.multi import MultiState

if TYPE_CHECKING:
    from .snapshots import Snapshots


class Client(Protocol):
    authenticated: bool
    is_master: bool
    multi: bool
    mstate: MultiState
    out: list[bytes]
    parser: RequestParser

    def flush(self) -> None: ...


class PersistenceCheck(Protocol):
    """dispatch's checks while one stands (-MISCONF, -LOADING), each giving the refusal or
    None: two, because processCommand runs the replica checks between them."""

    def disk_error_refusal(self, client: Client, cmd: Command) -> str | None: ...
    def loading_refusal(self, cmd: Command) -> str | None: ...


class FunctionStore(Protocol):
    """The function libraries a snapshot records (RDB's FUNCTION2 opcode: their code)."""

    def codes(self) -> list[bytes]: ...
    def load_code(self, code: bytes) -> None: ...


class Replication(KeyspaceReplication, Protocol):
    replid: str

    def restore(self, replid: str, offset: int, master: bool) -> None: ...


class Server(KeyspaceServer, Protocol):
    """What keyspace reads (used_memory goes into a snapshot's header), and more."""

    version: str
    now: float
    lastsave: int
    shutdown_event: asyncio.Event | None
    loading_stopped: bool
    persistence_check: PersistenceCheck | None
    command_index: dict[bytes, Command]

    @property
    def propagation(self) -> Propagation: ...
    @property
    def snapshots(self) -> Snapshots: ...
    @property
    def replication(self) -> Replication: ...
    @property
    def functions(self) -> FunctionStore: ...

    def log_notice(self, message: str) -> None: ...
    def log_warning(self, message: str) -> None: ...
    def log_verbose(self, message: str) -> None: ...
    def i_am_master(self) -> bool: ...
    def new_client(self) -> Any: ...
    def execute(self, client: Any, argv: list[bytes]) -> None: ...
