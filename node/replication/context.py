"""What the replication layer sees of the server and of a client, as typing.Protocols.

The server and the connections sit in the layer above; persistence is a sibling layer,
so the few things replication asks of it (a BGSAVE for a full sync, the snapshot file,
loading a received snapshot) are typed here by what is called. A replica link or a
replica's connection is a client like any other, so ``Client`` extends what blocking
(WAIT) needs of one.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any, Protocol

from ..config.directives import Config
from ..keyspace.blocking import Client as BlockingClient
from ..keyspace.database import Database
from ..keyspace.pause import PauseState
from ..keyspace.propagation import Propagation
from ..keyspace.stats import KeyspaceStats
from ..protocol.request import RequestParser

if TYPE_CHECKING:
    from .master import Replication


class Client(BlockingClient, Protocol):
    addr: str
    name: str
    authenticated: bool
    is_master: bool
    multi: bool
    out: list[bytes]
    parser: RequestParser
    replica: Any
    replica_ip: str
    replica_port: int
    replica_req: int
    woff: int
    tot_net_out: int
    # min-replicas-ack: replies held until replicas acknowledge (ackgate.py)
    held: list[bytes]
    held_writes: list[tuple[int, int, int]]
    out_writes: list[tuple[int, int, int]]
    held_since: float

    def write(self, data: bytes) -> None: ...
    def write_through_transport(self) -> None: ...
    def close(self) -> None: ...


class Snapshots(Protocol):
    child_pid: int
    status_ok: bool

    def background_save(self, pipe_fd: int = -1) -> bool: ...
    def kill_child(self) -> None: ...
    def empty_payload(self, with_functions: bool = False) -> bytes: ...
    def read_file(self) -> bytes | None: ...
    def load(self, data: bytes, merge: bool = False) -> object: ...


class FunctionLibraries(Protocol):
    def flush(self) -> None: ...


class Server(Protocol):
    config: Config
    tls_client: ssl.SSLContext | None  # tls-replication: how to reach the master
    dbs: list[Database]
    keyspace_stats: KeyspaceStats
    tcp_port: int

    @property
    def propagation(self) -> Propagation: ...
    @property
    def snapshots(self) -> Snapshots: ...
    @property
    def replication(self) -> Replication: ...
    @property
    def functions(self) -> FunctionLibraries: ...

    @property
    def pause(self) -> PauseState: ...

    def log_notice(self, message: str) -> None: ...
    def log_warning(self, message: str) -> None: ...
    def demote(self, host: str, port: int, failover: bool = False) -> None: ...
    def promote(self) -> None: ...
    def new_client(self) -> Any: ...
    def run_requests(self, client: Any, requests: list[list[bytes]]) -> int: ...
