"""REPLICAOF/SLAVEOF, ROLE, WAIT, and the replication handshake (REPLCONF, PSYNC)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK, Raw
from ..protocol.splitargs import split_args
from ..replication.master import REQ_CAPA_EOF, REQ_EXCLUDE_DATA, REQ_EXCLUDE_FUNCTIONS, REQ_RDB_ONLY
from ..table.command import command
from .args import LLONG_MAX, to_int, to_int_range

if TYPE_CHECKING:
    from .context import Client

NO_REPLY = Raw(b"")


@command("replicaof")
def replicaof(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    if server.cluster_enabled:
        raise CommandError(errors.REPLICAOF_CLUSTER)
    repl = server.replication
    if repl.failover is not None:
        raise CommandError(errors.REPLICAOF_DURING_FAILOVER)
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        if repl.link is not None:
            server.promote()
            server.log_notice(f"MASTER MODE enabled (user request from '{c.describe()}')")
        return OK
    if c.replica is not None:
        raise CommandError(errors.REPLICAOF_BY_REPLICA)
    port = to_int_range(argv[2], 0, 65535, errors.INVALID_MASTER_PORT)
    host = argv[1].decode("utf-8", "surrogateescape")
    link = repl.link
    if link is not None and link.host.lower() == host.lower() and link.port == port:
        server.log_notice("REPLICAOF would result into synchronization with the master we are "
                          "already connected with. No operation performed.")
        return Raw(b"+OK Already connected to specified master\r\n")
    server.demote(host, port)
    server.log_notice(f"REPLICAOF {host}:{port} enabled (user request from '{c.describe()}')")
    return OK


@command("slaveof")
def slaveof(c: Client, argv: list[bytes]) -> Any:
    return replicaof(c, argv)


@command("role")
def role(c: Client, argv: list[bytes]) -> Any:
    return c.server.replication.role()


@command("replconf")
def replconf(c: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:
        raise CommandError(errors.SYNTAX)
    repl = c.server.replication
    for i in range(1, len(argv), 2):
        option, value = argv[i].lower(), argv[i + 1]
        if option == b"listening-port":
            port = to_int(value)
            c.replica_port = port
        elif option == b"ip-address":
            c.replica_ip = value.decode("ascii", "replace")
        elif option == b"capa":
            if value.lower() == b"eof":
                c.replica_req |= REQ_CAPA_EOF
        elif option == b"rdb-only":
            rdb_only = to_int(value)
            if not 0 <= rdb_only <= 1:
                raise CommandError(errors.VALUE_OUT_OF_RANGE % (0, 1))
            if rdb_only:
                c.replica_req |= REQ_RDB_ONLY
            else:
                c.replica_req &= ~REQ_RDB_ONLY
        elif option == b"rdb-filter-only":
            c.replica_req = _rdb_filter(c.replica_req, value)
        elif option == b"ack":
            repl.ack(c, to_int(value))
            return NO_REPLY  # an ACK is never answered
        elif option == b"getack":
            if c.is_master and repl.link is not None:
                repl.link.send_ack()
            return NO_REPLY
        else:
            raise CommandError(errors.UNKNOWN_REPLCONF % argv[i].decode("utf-8", "replace"))
    return OK


def _rdb_filter(req: int, value: bytes) -> int:
    """REPLCONF rdb-filter-only: leave out everything but the parts named."""
    filters = split_args(value)
    if filters is None:
        raise CommandError(errors.RDB_FILTER_MISSING)
    req |= REQ_EXCLUDE_DATA | REQ_EXCLUDE_FUNCTIONS
    for name in filters:
        if name.lower() != b"functions":
            raise CommandError(errors.RDB_FILTER_UNSUPPORTED % name.decode("utf-8", "replace"))
        req &= ~REQ_EXCLUDE_FUNCTIONS
    return req


def _check_sync(c: Client) -> None:
    repl = c.server.replication
    if repl.failover is not None:
        raise CommandError(errors.SYNC_DURING_FAILOVER)
    if repl.link is not None and repl.link.state != "connected":
        raise CommandError(errors.NOMASTERLINK)
    cluster = c.server.cluster
    if cluster is not None and cluster.held:
        # A held node may have restarted without its data: none of it may reach a replica.
        raise CommandError(errors.CLUSTER_HELD_SYNC)
    if c.replica_req & (REQ_EXCLUDE_DATA | REQ_EXCLUDE_FUNCTIONS) and not c.replica_req & REQ_CAPA_EOF:
        raise CommandError(errors.FILTERED_REPLICA_NEEDS_EOF)


@command("psync")
def psync(c: Client, argv: list[bytes]) -> Any:
    if c.replica is not None:
        return NO_REPLY  # ignored on a link already syncing, as Redis does
    if len(argv) > 3 and argv[3].lower() == b"failover":
        _take_over(c, argv[1])
    _check_sync(c)
    c.server.replication.psync(c, argv[1], argv[2])
    return NO_REPLY


def _take_over(c: Client, replid: bytes) -> None:
    """PSYNC <replid> <offset> FAILOVER from our master: we become the master, and its
    PSYNC then continues our (its) history."""
    server = c.server
    repl = server.replication
    server.log_warning(f"Failover request received for replid {replid.decode('ascii', 'replace')}.")
    if repl.link is None:
        raise CommandError(errors.PSYNC_FAILOVER_ON_MASTER)
    if replid.decode("ascii", "replace") != repl.replid:
        raise CommandError(errors.PSYNC_FAILOVER_REPLID)
    server.promote()
    server.log_notice(f"MASTER MODE enabled (failover request from '{c.describe()}')")


@command("failover")
def failover(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    repl = server.replication
    if server.cluster_enabled:
        raise CommandError(errors.FAILOVER_CLUSTER)
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if repl.failover is None:
            raise CommandError(errors.FAILOVER_NONE)
        repl.abort_failover("Failover manually aborted")
        return OK
    timeout = port = 0
    force = False
    host: str | None = None
    j = 1
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"timeout" and j + 1 < len(argv) and timeout == 0:
            timeout = to_int(argv[j + 1])
            if timeout <= 0:
                raise CommandError(errors.FAILOVER_TIMEOUT)
            j += 2
        elif opt == b"to" and j + 2 < len(argv) and host is None:
            port = to_int(argv[j + 2])
            host = argv[j + 1].decode("utf-8", "surrogateescape")
            j += 3
        elif opt == b"force" and not force:
            force = True
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
    if repl.failover is not None:
        raise CommandError(errors.FAILOVER_ALREADY)
    if repl.link is not None:
        raise CommandError(errors.FAILOVER_ON_REPLICA)
    if not repl.replicas:
        raise CommandError(errors.FAILOVER_NO_REPLICAS)
    if force and (not timeout or host is None):
        raise CommandError(errors.FAILOVER_FORCE_NEEDS)
    if host is not None:
        target = repl.find_replica(host, port)
        if target is None:
            raise CommandError(errors.FAILOVER_NOT_A_REPLICA)
        if target.state != "online":
            raise CommandError(errors.FAILOVER_NOT_ONLINE)
    repl.start_failover(host, port, timeout, force)
    return OK


@command("sync")
def sync(c: Client, argv: list[bytes]) -> Any:
    if c.replica is not None:
        return NO_REPLY
    _check_sync(c)
    c.server.replication.sync(c)
    return NO_REPLY


@command("wait")
def wait(c: Client, argv: list[bytes]) -> Any:
    repl = c.server.replication
    if repl.link is not None:
        raise CommandError(errors.WAIT_ON_REPLICA)
    replicas = to_int(argv[1])
    timeout = to_int_range(argv[2], -LLONG_MAX - 1, LLONG_MAX, errors.TIMEOUT_NOT_INTEGER)
    if timeout < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return repl.wait(c, replicas, timeout)
