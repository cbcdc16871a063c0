"""Zero-loss writes (min-replicas-ack): a write's reply waits for replicas to have it.

Redis acknowledges a write as soon as the master applied it, so a failover can lose
writes clients were told succeeded. With ``min-replicas-ack N`` a client's replies are
held from its first unacknowledged write on (later replies too: replies keep their
order) until N replicas have acknowledged the stream offset of that write; replicas are
asked (REPLCONF GETACK) at once, once per loop turn. A write still unacknowledged after
``min-replicas-ack-timeout`` ms is answered -NOACK instead: applied here, but not known to
survive a failover; it is never reported as a plain success. ``released`` is the highest
offset of a write reported as successful: a replica that acknowledged it holds every
acknowledged write, which is what a failover must promote (INFO replication ``in_sync``).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from ..base import errors

if TYPE_CHECKING:
    from .context import Client
    from .master import Replication

NOACK_REPLY = b"-%s\r\n" % errors.NOACK.encode()


class AckGate:
    __slots__ = ("repl", "waiting", "released", "asking")

    def __init__(self, repl: Replication) -> None:
        self.repl = repl
        self.waiting: set[Client] = set()
        self.released = 0
        self.asking = False

    def hold(self, client: Client) -> None:
        """Move the client's new replies behind its held ones; release what is acked."""
        base = len(client.held)
        client.held_writes.extend((base + start, base + end, offset)
                                  for start, end, offset in client.out_writes)
        client.out_writes.clear()
        client.held.extend(client.out)
        client.out.clear()
        self.check(client)

    def check(self, client: Client) -> None:
        wanted = self.repl.server.config["min-replicas-ack"]
        writes = client.held_writes
        if not writes or self.repl.acked(max(w[2] for w in writes)) >= wanted:
            self.release(client, acked=True)
            return
        if client not in self.waiting:
            self.waiting.add(client)
            client.held_since = time.monotonic()
        self.ask_soon()

    def release(self, client: Client, acked: bool) -> None:
        """Send the held replies; writes not acknowledged become -NOACK."""
        held = client.held
        for start, end, offset in client.held_writes:
            if acked:
                self.released = max(self.released, offset)
            else:
                held[start:end] = [NOACK_REPLY] + [b""] * (end - start - 1)
        data = b"".join(held)
        held.clear()
        client.held_writes.clear()
        self.waiting.discard(client)
        client.write(data)

    def ask_soon(self) -> None:
        """One REPLCONF GETACK per loop turn, whatever the number of writes waiting."""
        if not self.asking:
            self.asking = True
            asyncio.get_running_loop().call_soon(self._ask)

    def _ask(self) -> None:
        self.asking = False
        if self.waiting:
            self.repl.request_acks()

    def acks_arrived(self) -> None:
        for client in list(self.waiting):
            if client.transport is None:
                self.waiting.discard(client)
            else:
                self.check(client)

    def cron(self) -> None:
        """Answer -NOACK for writes held longer than min-replicas-ack-timeout."""
        if not self.waiting:
            return
        limit = self.repl.server.config["min-replicas-ack-timeout"] / 1000
        now = time.monotonic()
        for client in list(self.waiting):
            if client.transport is None:
                self.waiting.discard(client)
            elif now - client.held_since > limit:
                self.release(client, acked=False)
            else:
                self.ask_soon()
