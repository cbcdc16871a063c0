"""Clients blocked on keys (blocked.c): BLPOP, BLMOVE, BZPOPMIN and the rest wait here.

A blocked client stops running requests (``client.waiting``; what it sends meanwhile is
queued) until one of its keys can serve it, its timeout fires, or CLIENT UNBLOCK. Its
connection is still read meanwhile, as Redis keeps a blocked client's read handler: that
is how a peer that hangs up is seen at once and leaves every key's queue, instead of
being served an element it can never receive. A key becomes *ready* when it is created
(``Database._insert``, as dbAdd's signalKeyAsReady); after the command (or EXEC) that
created it finishes, ``serve_ready`` offers it to the clients blocked on it, in the order
they blocked, while it has something to give. A served client's reply is written at once
and its queued requests run on the next loop turn, not inside the command of the client
that made the key ready.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..base.errors import UNBLOCKED_DEMOTED, CommandError

if TYPE_CHECKING:
    from .database import Database
    from .stats import KeyspaceStats


class Client(Protocol):
    """What blocking needs of a client: where it waits, and how to answer and resume it."""

    db: Database
    blocked: Blocked | None
    waiting: bool
    closing: bool
    readonly: bool  # cluster READONLY, and the command it blocked in (cmd.write): what
    cmd: Any  # the cluster's redirect of blocked clients reads (routing.blocked_redirect)
    tls: bool  # and which port of the new owner it names (routing.blocked_redirect)

    @property
    def transport(self) -> asyncio.Transport | None: ...
    def reply(self, value: Any) -> None: ...
    def flush(self) -> None: ...
    def run_queued(self) -> None: ...
    def close_after_reply(self) -> None: ...

# serve(db, key) -> the reply, or None when the key cannot serve this client now.
Serve = Callable[["Database", bytes], Any]
# timed_out() -> the reply on timeout or CLIENT UNBLOCK (replyToBlockedClientTimedOut).
TimedOut = Callable[[], Any]


class Blocked:
    __slots__ = ("client", "db", "keys", "kind", "serve", "timed_out", "timer")

    def __init__(self, client: Client, db: Database, keys: list[bytes], kind: str,
                 serve: Serve, timed_out: TimedOut) -> None:
        self.client = client
        self.db = db
        self.keys = keys
        self.kind = kind  # the type name that can serve it ("list", "zset"); "" for WAIT
        self.serve = serve
        self.timed_out = timed_out
        self.timer: asyncio.TimerHandle | None = None


class _BlockedReply:
    """What a blocking command returns when it blocked: dispatch sends nothing yet."""

    __slots__ = ()


BLOCKED = _BlockedReply()


def block(client: Client, keys: list[bytes], kind: str, timeout: float, serve: Serve,
          timed_out: TimedOut) -> _BlockedReply:
    """blockForKeys: park ``client`` on ``keys`` until a value of type ``kind`` serves it;
    ``timeout`` seconds, 0 waits for ever."""
    db = client.db
    entry = Blocked(client, db, list(dict.fromkeys(keys)), kind, serve, timed_out)
    for key in entry.keys:
        db.blocked.setdefault(key, deque()).append(entry)
    waiting_for = db.stats.waiting_for
    waiting_for[kind] = waiting_for.get(kind, 0) + 1
    client.blocked = entry
    client.waiting = True
    if timeout:
        entry.timer = asyncio.get_running_loop().call_later(timeout, _time_out, entry)
    return BLOCKED


def _time_out(entry: Blocked) -> None:
    entry.timer = None
    unblock(entry, entry.timed_out())


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
        db.stats.waiting_for[entry.kind] -= 1


def unblock(entry: Blocked, reply: Any) -> None:
    """Answer a blocked client and let it go on with the requests it sent meanwhile.

    Nothing happens to an entry already released (served, timed out, CLIENT UNBLOCKed or
    disconnected): a client is answered once."""
    client = entry.client
    if client.blocked is not entry:
        return
    release(entry)
    # Not blocked from now on (INFO, CLIENT LIST); its queued requests run on the next turn.
    client.waiting = False
    if client.transport is None:
        return
    client.reply(reply)
    client.flush()
    asyncio.get_running_loop().call_soon(client.run_queued)


def disconnect_all(clients: list[Client], count_error: Callable[[str], None]) -> None:
    """disconnectAllBlockedClients: a master turned replica answers every client blocked
    on keys or WAIT with -UNBLOCKED (counted as an error reply) and closes it; CLIENT
    PAUSE's postponed clients stay."""
    for client in clients:
        entry = client.blocked
        if entry is not None:
            client.close_after_reply()
            unblock(entry, CommandError(UNBLOCKED_DEMOTED))
            count_error(UNBLOCKED_DEMOTED)


def serve_ready(stats: KeyspaceStats) -> None:
    """handleClientsBlockedOnKeys: serve clients blocked on keys that became ready.

    Clients are offered the key in the order they blocked, while it exists; one that it
    cannot serve (another type, say) stays blocked and the next is offered it. A client
    whose connection is gone is never offered anything (closing releases it at once; this
    is the last guard before an element is taken from the key).
    """
    ready = stats.ready_keys
    while ready:
        db, key = ready.pop(0)
        for entry in list(db.blocked.get(key, ())):
            if key not in db.index and entry.kind != "stream":
                continue  # a stream reader is told its key is gone; others wait on
            if entry.client.transport is None or entry.client.closing:
                release(entry)
                continue
            try:
                reply = entry.serve(db, key)
            except CommandError as exc:  # e.g. BLMOVE's destination became another type
                reply = exc
            if reply is not None:
                unblock(entry, reply)
