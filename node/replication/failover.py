"""FAILOVER: the coordinated failover of a standalone master to one of its replicas
(replication.c failoverCommand, updateFailoverStatus).

The master holds writes, waits until a replica (the one named, or any) has acknowledged
its whole stream, then turns into a replica of it and asks for a PSYNC with FAILOVER: the
replica promotes itself and continues the old master's history, so nothing written is
lost. Past the timeout the failover is abandoned, or with FORCE carried out anyway.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import Server

WAITING = "waiting-for-sync"
IN_PROGRESS = "failover-in-progress"
ACK_REQUEST_EVERY = 0.1


class CoordinatedFailover:
    def __init__(self, server: Server, host: str | None, port: int, timeout_ms: int,
                 force: bool) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.end_time = time.time() + timeout_ms / 1000 if timeout_ms else 0.0
        self.force = force
        self.state = WAITING
        self.last_ack_request = 0.0

    def target_text(self) -> str:
        return f"{self.host}:{self.port}" if self.host else "any replica"

    def update(self) -> None:
        """updateFailoverStatus, from the cron and on every ACK."""
        if self.state != WAITING:
            return
        server = self.server
        repl = server.replication
        now = time.time()
        if self.end_time and now >= self.end_time:
            if self.force and self.host:
                server.log_notice(f"FAILOVER to {self.target_text()} time out exceeded, "
                                  "failing over.")
                self._hand_over()
            else:
                repl.abort_failover("Replica never caught up before timeout")
            return
        offset = repl.offset
        for replica in repl.replicas:
            if replica.state != "online" or replica.ack_offset != offset:
                continue
            host = replica.ip or replica.client.addr.rsplit(":", 1)[0]
            if self.host is None:
                self.host, self.port = host, replica.port
            elif (host.lower(), replica.port) != (self.host.lower(), self.port):
                continue
            server.log_notice(f"Failover target {self.host}:{self.port} is synced, "
                              "failing over.")
            self._hand_over()
            return
        if now - self.last_ack_request >= ACK_REQUEST_EVERY:
            self.last_ack_request = now
            repl.request_acks()

    def _hand_over(self) -> None:
        self.state = IN_PROGRESS
        assert self.host is not None
        self.server.demote(self.host, self.port, failover=True)
