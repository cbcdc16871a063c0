"""REPLICAOF/SLAVEOF, ROLE, WAIT, and the replication handshake (REPLCONF, PSYNC)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK, Raw
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
        elif option in (b"capa", b"rdb-only", b"rdb-filter-only"):
            pass
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


@command("psync")
def psync(c: Client, argv: list[bytes]) -> Any:
    repl = c.server.replication
    if repl.link is not None and repl.link.state != "connected":
        raise CommandError(errors.NOMASTERLINK)
    cluster = c.server.cluster
    if cluster is not None and cluster.held:
        # A held node may have restarted without its data: none of it may reach a replica.
        raise CommandError(errors.CLUSTER_HELD_SYNC)
    repl.psync(c, argv[1], argv[2])
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
