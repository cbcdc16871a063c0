"""Zero-loss mode (min-replicas-ack): no reply shows a write replicas do not have.

Redis acknowledges a write as soon as the master applied it, so a failover can lose
writes clients were told succeeded, and clients may have read them too. With
``min-replicas-ack N`` every reply of a master (a write's, a read's, a served BLPOP's) is
tagged with the offset of the last write the master had applied when it was made: any
write it may reflect is at or before that offset. A reply whose offset N replicas have
already acknowledged (``safe``) goes out at once; otherwise the client's replies are held
from it on (later replies too: replies keep their order, and a pipeline's wait together)
until N replicas have acknowledged that offset; replicas are asked (REPLCONF GETACK) at
once, once per loop turn. Still unacknowledged after ``min-replicas-ack-timeout`` ms, such
a reply becomes -NOACK: a write was applied here but is of unknown outcome (a failover may
lose it, or may not), and a read is not answered rather than show it. ``released`` is the
highest offset shown to a client: a replica that acknowledged it holds everything any
client has seen, which is what a failover must promote (INFO replication ``in_sync``).
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
    __slots__ = ("repl", "waiting", "released", "asking", "safe")

    def __init__(self, repl: Replication) -> None:
        self.repl = repl
        self.waiting: set[Client] = set()
        self.released = 0
        self.asking = False
        self.safe = 0  # the highest offset min-replicas-ack replicas acknowledged

    def refresh(self) -> None:
        """Recompute ``safe`` after an acknowledgement or a change of replicas."""
        repl = self.repl
        self.safe = repl.acked_by(repl.server.config["min-replicas-ack"])

    def tag(self, client: Client, start: int) -> None:
        """Replies from ``client.out[start]`` on show what the master has applied so far:
        they wait for its acknowledgement unless it is known already."""
        if self.repl.link is not None:
            return  # a replica's replies show its master's acknowledged history only
        written = self.repl.server.propagation.written
        if written > self.safe:
            client.out_writes.append((start, len(client.out), written))
        elif written > self.released:
            self.released = written

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
        writes = client.held_writes
        if self.repl.link is not None:  # turned replica meanwhile: no acks will come
            self.release(client, acked=False)
            return
        if not writes or max(w[2] for w in writes) <= self.safe:
            self.release(client, acked=True)
            return
        if client not in self.waiting:
            self.waiting.add(client)
            client.held_since = time.monotonic()
        self.ask_soon()

    def release(self, client: Client, acked: bool) -> None:
        """Send the held replies; those not acknowledged become -NOACK."""
        held = client.held
        safe = self.safe
        for start, end, offset in client.held_writes:
            if acked or offset <= safe:
                self.released = max(self.released, offset)
            else:
                held[start:end] = [NOACK_REPLY] + [b""] * (end - start - 1)
        data = b"".join(held)
        held.clear()
        client.held_writes.clear()
        self.waiting.discard(client)
        client.write(data)

    def abandon(self) -> None:
        """This node turned replica: what still waits is answered -NOACK now."""
        for client in list(self.waiting):
            if client.transport is None:
                self.waiting.discard(client)
            else:
                self.release(client, acked=False)

    def ask_soon(self) -> None:
        """One REPLCONF GETACK per loop turn, whatever the number of replies waiting."""
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
        """Answer -NOACK for replies held longer than min-replicas-ack-timeout."""
        if not self.waiting:
            return
        limit = self.repl.server.config["min-replicas-ack-timeout"] / 1000
        now = time.monotonic()
        for client in list(self.waiting):
            if client.transport is None:
                self.waiting.discard(client)
            elif now - client.held_since > limit or self.repl.link is not None:
                self.release(client, acked=False)
            else:
                self.ask_soon()
