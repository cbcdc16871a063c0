"""client-output-buffer-limit (networking.c checkClientOutputBufferLimits).

A client whose unsent output passes its class's hard limit, or stays past the soft limit
for longer than the soft seconds, is disconnected and its output discarded: a subscriber
that stopped reading, or a replica that cannot keep up, cannot grow the node's memory
without bound. Unsent output is what the transport still holds (the kernel's socket
buffer is not counted, as in Redis). Checked after each write that leaves output
pending, and by the cron for clients over a soft limit (time alone can end those) and
for replicas (whose stream bypasses the reply path).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from ..commands.client import client_info, client_type
from ..replication.master import ONLINE

if TYPE_CHECKING:
    from .client import Client
    from .server import Server


# getClientTypeByName's limit classes: the master's link is limited as a normal client
_LIMIT_CLASS = {"master": "normal", "replica": "slave"}


def client_class(c: Client) -> str:
    """getClientType for limits: the master's link counts as normal, a MONITOR too."""
    kind = client_type(c)
    return _LIMIT_CLASS.get(kind, kind)


class OutputLimits:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.soft: set[Client] = set()  # over a soft limit, timing

    def check(self, c: Client) -> bool:
        """Disconnect ``c`` if it is over its limits; True if it was."""
        transport = c.transport
        if transport is None or c.closing:
            return False
        used = transport.get_write_buffer_size()
        kind = client_class(c)
        hard, soft, seconds = self.server.config["client-output-buffer-limit"][kind]
        if kind == "slave" and hard and hard < self.server.config["repl-backlog-size"]:
            hard = self.server.config["repl-backlog-size"]
        over = bool(hard and used >= hard)
        if soft and used >= soft:
            now = time.time()
            if not c.obuf_soft_since:
                c.obuf_soft_since = now
                self.soft.add(c)
            elif now - c.obuf_soft_since > seconds:
                over = True
        elif c.obuf_soft_since:
            c.obuf_soft_since = 0.0
            self.soft.discard(c)
        if not over:
            return False
        self.soft.discard(c)
        self.server.log_warning(
            f"Client {client_info(c, time.time())} closed for overcoming of output buffer limits.")
        c.drop()
        return True

    def cron(self) -> None:
        for c in list(self.soft):
            if c.transport is None:
                self.soft.discard(c)
            else:
                self.check(c)
        for replica in list(self.server.replication.replicas):  # not every client a tick
            client = cast("Client", replica.client)  # the replication layer's view of it
            if replica.state == ONLINE and client.transport is not None:
                self.check(client)
