"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (multi.c).

Queueing happens in dispatch (every command but these and QUIT/RESET is queued while
``client.multi``); a request refused at queue time marks the transaction dirty, so EXEC
answers EXECABORT. A touched watched key (any write, expiry, FLUSHDB, SWAPDB) makes EXEC
answer a null array. Queued commands run one after another with nothing in between, since
one thread runs every command; a runtime error in one does not undo the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.watch import unwatch_all, watch, watched_key_expired
from ..protocol.reply import NULL_ARRAY, OK
from ..table.command import command
from .acl_access import exec_refusal

if TYPE_CHECKING:
    from .context import Client


@command("multi")
def multi(c: Client, argv: list[bytes]) -> Any:
    if c.multi:
        raise CommandError(errors.MULTI_NESTED)
    c.multi = True
    return OK


@command("exec")
def exec_(c: Client, argv: list[bytes]) -> Any:
    if not c.multi:
        raise CommandError(errors.EXEC_WITHOUT_MULTI)
    if watched_key_expired(c):
        c.dirty_cas = True
    if c.dirty_exec or c.dirty_cas:
        aborted = c.dirty_exec
        c.discard_transaction()
        if aborted:
            raise CommandError(errors.EXECABORT)
        return NULL_ARRAY
    queued = c.mstate.commands
    if c.watched:
        unwatch_all(c)
    server = c.server
    restricted = not c.user.unrestricted and not c.is_master
    replies = [
        (restricted and exec_refusal(c, cmd, argv)) or server.invoke(c, cmd, argv)
        for cmd, argv in queued
    ]
    c.discard_transaction()
    return replies


@command("discard")
def discard(c: Client, argv: list[bytes]) -> Any:
    if not c.multi:
        raise CommandError(errors.DISCARD_WITHOUT_MULTI)
    c.discard_transaction()
    return OK


@command("watch")
def watch_(c: Client, argv: list[bytes]) -> Any:
    if c.multi:
        raise CommandError(errors.WATCH_INSIDE_MULTI)
    if c.dirty_cas:
        return OK  # already doomed: no point watching more (watchCommand)
    for key in argv[1:]:
        watch(c, c.db, key)
    return OK


@command("unwatch")
def unwatch(c: Client, argv: list[bytes]) -> Any:
    if c.watched:
        unwatch_all(c)
    c.dirty_cas = False
    return OK
