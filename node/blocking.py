"""Clients blocked on keys (blocked.c): BLPOP, BLMOVE, BZPOPMIN and the rest wait here.

A blocked client stops running requests (``client.waiting``; what it sends meanwhile is
queued) until one of its keys can serve it, its timeout fires, or CLIENT UNBLOCK. A key
becomes *ready* when it is created (``Database._insert``, as dbAdd's signalKeyAsReady);
after the command that created it finishes, ``serve_ready`` offers it to the clients
blocked on it, in the order they blocked, while it has something to give. A served
client's reply is written at once and its queued requests run on the next loop turn, not
inside the command of the client that made the key ready.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import CommandError

if TYPE_CHECKING:
    from .client import Client
    from .keyspace import Database, KeyspaceStats

# serve(db, key) -> the reply, or None when the key cannot serve this client now.
Serve = Callable[["Database", bytes], Any]


class Blocked:
    __slots__ = ("client", "db", "keys", "serve", "timeout_reply", "timer")

    def __init__(self, client: Client, db: Database, keys: list[bytes], serve: Serve,
                 timeout_reply: Any) -> None:
        self.client = client
        self.db = db
        self.keys = keys
        self.serve = serve
        self.timeout_reply = timeout_reply
        self.timer: asyncio.TimerHandle | None = None


class _BlockedReply:
    """What a blocking command returns when it blocked: dispatch sends nothing yet."""

    __slots__ = ()


BLOCKED = _BlockedReply()


def block(client: Client, keys: list[bytes], timeout: float, serve: Serve,
          timeout_reply: Any) -> _BlockedReply:
    """blockForKeys: park ``client`` on ``keys``; ``timeout`` seconds, 0 waits for ever."""
    db = client.db
    entry = Blocked(client, db, list(dict.fromkeys(keys)), serve, timeout_reply)
    for key in entry.keys:
        db.blocked.setdefault(key, deque()).append(entry)
    client.blocked = entry
    client.waiting = True
    if client.transport is not None:
        client.transport.pause_reading()
    if timeout:
        entry.timer = asyncio.get_running_loop().call_later(timeout, _time_out, entry)
    return BLOCKED


def _time_out(entry: Blocked) -> None:
    unblock(entry, entry.timeout_reply)


def release(entry: Blocked) -> None:
    """Forget a blocked client everywhere (served, timed out, unblocked or gone)."""
    db = entry.db
    for key in entry.keys:
        waiting = db.blocked.get(key)
        if waiting is not None:
            try:
                waiting.remove(entry)
            except ValueError:
                pass
            if not waiting:
                del db.blocked[key]
    if entry.timer is not None:
        entry.timer.cancel()
        entry.timer = None
    client = entry.client
    if client.blocked is entry:
        client.blocked = None


def unblock(entry: Blocked, reply: Any) -> None:
    """Answer a blocked client and let it go on with the requests it sent meanwhile."""
    release(entry)
    client = entry.client
    if client.transport is None:
        return
    client.reply(reply)
    client.flush()
    asyncio.get_running_loop().call_soon(client.resume)


def serve_ready(stats: KeyspaceStats) -> None:
    """handleClientsBlockedOnKeys: serve clients blocked on keys that became ready.

    Clients are offered the key in the order they blocked, while it exists; one that it
    cannot serve (another type, say) stays blocked and the next is offered it.
    """
    ready = stats.ready_keys
    while ready:
        db, key = ready.pop(0)
        for entry in list(db.blocked.get(key, ())):
            if key not in db.entries:
                break
            try:
                reply = entry.serve(db, key)
            except CommandError as exc:  # e.g. BLMOVE's destination became another type
                reply = exc
            if reply is not None:
                unblock(entry, reply)
