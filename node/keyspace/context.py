"""What the keyspace layer sees of the server and of a client, as typing.Protocols.

Memory accounting, the expiry cycle and eviction read a few server-wide figures and
settings; the server and the connections sit in the layer above, so they are typed here
by what is read (the real classes match them structurally).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from ..config.directives import Config
from ..protocol.request import RequestParser
from .database import Database
from .propagation import Propagation
from .stats import KeyspaceStats


class Client(Protocol):
    """A connection, as its buffers count toward used_memory."""

    @property
    def parser(self) -> RequestParser: ...
    @property
    def transport(self) -> asyncio.WriteTransport | None: ...


class MasterLink(Protocol):
    """Replication's link to our master: only whether there is one matters here."""


class Replication(Protocol):
    @property
    def link(self) -> MasterLink | None: ...


class Server(Protocol):
    config: Config
    dbs: list[Database]
    keyspace_stats: KeyspaceStats
    maxmemory: int
    mem_overhead: int
    mem_peak: int
    stat_evictedkeys: int
    stat_expired_time_cap_reached_count: int
    stat_expire_cycle_time_used: int

    @property
    def clients(self) -> Mapping[int, Client]: ...
    @property
    def propagation(self) -> Propagation: ...
    @property
    def replication(self) -> Replication: ...
