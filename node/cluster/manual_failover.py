"""CLUSTER FAILOVER without FORCE or TAKEOVER: the manual failover handshake, over RESP.

A Redis replica asks its master over the cluster bus to stop writes (MFSTART), waits until
it has replicated everything up to the master's offset, then takes over; no acknowledged
write is lost. Without a bus, the replica does the same with plain commands on its
master: CLIENT PAUSE WRITE, INFO replication for the offset to reach, then, once its own
offset is there, the takeover (the new table reaches the old master, which turns into a
replica of this node) and CLIENT UNPAUSE, after which the master's held clients are
redirected. Past CLUSTER_MF_TIMEOUT (5 s) the failover is abandoned and the master
unpaused, as Redis abandons it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..base.outgoing import connect
from ..protocol.command import encode_command

if TYPE_CHECKING:
    from .context import Server
    from .state import ClusterNode

MF_TIMEOUT = 5.0


class FailoverAborted(Exception):
    """The master refused a step; the text is what the log says."""


async def manual_failover(server: Server, master: ClusterNode, take_over: Callable[[], None]) -> None:
    server.log_notice("Manual failover user request accepted.")
    deadline = time.monotonic() + MF_TIMEOUT
    writer = None
    try:
        tls = server.tls_client if server.config["tls-cluster"] else None
        reader, writer = await asyncio.wait_for(
            connect(master.ip, master.port, server.config["bind-source-addr"], tls),
            MF_TIMEOUT)

        async def ask(*args: bytes) -> bytes:
            assert writer is not None
            writer.write(encode_command(list(args)))
            line = await asyncio.wait_for(reader.readline(), MF_TIMEOUT)
            if not line or line.startswith(b"-"):
                raise FailoverAborted(f"{args[0].decode()} refused by the master: {line.strip()!r}")
            if line.startswith(b"$"):
                body = await asyncio.wait_for(reader.readexactly(int(line[1:]) + 2), MF_TIMEOUT)
                return body[:-2]
            return line.strip()

        config = server.config
        password = config["masterauth"] or config["requirepass"]
        if password:
            # masteruser goes with masterauth; our own requirepass is the default user's.
            user = ([config["masteruser"].encode()]
                    if config["masteruser"] and config["masterauth"] else [])
            await ask(b"AUTH", *user, password.encode())
        await ask(b"CLIENT", b"PAUSE", b"%d" % int(MF_TIMEOUT * 1000), b"WRITE")
        info = await ask(b"INFO", b"replication")
        target = next(int(line.split(b":")[1]) for line in info.splitlines()
                      if line.startswith(b"master_repl_offset:"))
        server.log_notice(f"Received replication offset for paused master manual failover: {target}")
        # Our epoch must beat the master's, and peers' pushes may not have told us its
        # latest yet (Redis learns it from the votes): ask the master itself.
        cluster_info = await ask(b"CLUSTER", b"INFO")
        epoch = max(int(line.split(b":")[1]) for line in cluster_info.splitlines()
                    if line.startswith((b"cluster_current_epoch:", b"cluster_my_epoch:")))
        if server.cluster is not None:
            server.cluster.current_epoch = max(server.cluster.current_epoch, epoch)
        while server.propagation.offset < target:
            if time.monotonic() > deadline:
                raise FailoverAborted("Manual failover timed out.")
            await asyncio.sleep(0.005)
        server.log_notice("All master replication stream processed, manual failover can start.")
        take_over()
        await ask(b"CLIENT", b"UNPAUSE")
    except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError, FailoverAborted,
            StopIteration, ValueError) as exc:
        server.log_warning(f"Manual failover aborted: {exc or type(exc).__name__}")
        if writer is not None and not writer.is_closing():
            writer.write(encode_command([b"CLIENT", b"UNPAUSE"]))
    finally:
        if writer is not None:
            writer.close()
