"""Who may do what, outside the ACL command: the NOPERM checks of dispatch and EXEC, logins
(AUTH, HELLO), and the disconnection of clients whose user is gone (acl.c, server.c)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..acl.check import (
    DENIED_AUTH,
    DENIED_CMD,
    DENIED_KEY,
    OK,
    channel_allowed,
    check_command,
)
from ..acl.log import LogEntry
from ..acl.rules import User
from ..base import errors
from ..base.errors import CommandError
from .client import client_info

if TYPE_CHECKING:
    from ..table.command import Command
    from .context import Client


def log_denial(c: Client, reason: int, context: str, obj: bytes,
               username: bytes | None = None) -> None:
    """addACLLogEntry, and the INFO counter of the reason."""
    server = c.server
    entry = LogEntry(reason, context, obj, username if username is not None else c.user.name,
                     client_info(c, time.time()).encode())
    server.acl.log.add(entry)
    if reason == DENIED_CMD:
        server.stat_acl_denied_cmd += 1
    elif reason == DENIED_KEY:
        server.stat_acl_denied_key += 1
    elif reason == DENIED_AUTH:
        server.stat_acl_denied_auth += 1
    else:
        server.stat_acl_denied_channel += 1


def permission_check(c: Client, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
    """The ACL verdict for ``c`` running ``argv``, logged when denied (processCommand)."""
    c.cmd = cmd  # the log's client-info names the refused command, as lookupCommand set it
    reason, pos = check_command(c.user, cmd, argv)
    if reason != OK:
        obj = cmd.fullname.encode() if reason == DENIED_CMD else argv[pos]
        log_denial(c, reason, "multi" if c.multi else "toplevel", obj)
    return reason, pos


def refusal(c: Client, cmd: Command, argv: list[bytes]) -> str | None:
    """The -NOPERM text for a command the client's user may not run, or None."""
    reason, _ = permission_check(c, cmd, argv)
    if reason == OK:
        return None
    if reason == DENIED_CMD:
        return errors.NOPERM_COMMAND % cmd.fullname
    return errors.NOPERM_KEY if reason == DENIED_KEY else errors.NOPERM_CHANNEL


def exec_refusal(c: Client, cmd: Command, argv: list[bytes]) -> CommandError | None:
    """execCommand's check of each queued command against the rules of EXEC time."""
    reason, pos = check_command(c.user, cmd, argv)
    if reason == OK:
        return None
    obj = cmd.fullname.encode() if reason == DENIED_CMD else argv[pos]
    c.cmd = cmd
    log_denial(c, reason, "multi", obj)
    name = "command" if reason == DENIED_CMD else "key" if reason == DENIED_KEY else "channel"
    return CommandError(errors.NOPERM_EXEC % errors.NOPERM_EXEC_REASONS[name])


def authenticate(c: Client, username: bytes, password: bytes, command_name: bytes) -> None:
    """ACLAuthenticateUser: the client becomes ``username`` or gets -WRONGPASS."""
    user = c.server.acl.get(username)
    if user is not None and user.check_password(password):
        c.user = user
        c.authenticated = True
        c.parser.auth_required = False
        return
    log_denial(c, DENIED_AUTH, "multi" if c.multi else "toplevel", command_name, username)
    raise CommandError(errors.WRONGPASS)


def disconnect_users_clients(c: Client, user: User) -> None:
    """ACLFreeUserAndKillClients: the user's clients go (the caller after its reply)."""
    for target in list(c.server.clients.values()):
        if target.user is user:
            target.user = c.server.acl.default
            target.authenticated = False
            if target is c:
                c.close_after_reply()
            else:
                target.close()


def kill_pubsub_clients(c: Client, old: User, new: User) -> None:
    """ACLKillPubsubClientsIfNeeded: subscribers whose channels are no longer allowed."""
    if any(s.allchannels for s in new.selectors):
        return
    upcoming = [ch for s in new.selectors for ch in s.channels]
    if not any(s.allchannels for s in old.selectors) and all(
            ch in upcoming for s in old.selectors for ch in s.channels):
        return
    for target in list(c.server.clients.values()):
        subs = target.subscriptions
        if target.user is not old or subs is None:
            continue
        if (any(not channel_allowed(upcoming, p, True) for p in subs.patterns)
                or any(not channel_allowed(upcoming, ch, False)
                       for ch in (*subs.channels, *subs.shard))):
            target.close()
