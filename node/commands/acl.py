"""ACL and its subcommands, and the permission check dispatch and EXEC run (acl.c)."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from ..acl.catalog import BY_ID, CATEGORY_BITS, IDS, WALK
from ..acl.check import (
    DENIED_AUTH,
    DENIED_CMD,
    DENIED_KEY,
    OK,
    channel_allowed,
    check_command,
)
from ..acl.describe import describe_user, selector_fields
from ..acl.log import LogEntry
from ..acl.rules import USER_FLAGS, RuleError, User, set_user
from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK as OK_REPLY
from ..protocol.reply import SetReply
from ..table.command import ACL_CATEGORY_ORDER, command
from .args import to_int
from .client import client_info

if TYPE_CHECKING:
    from ..table.command import Command
    from .context import Client

_SPACE = frozenset(b" \t\n\v\f\r\0")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


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


def _kill_pubsub_clients(c: Client, old: User, new: User) -> None:
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


@command("acl|setuser")
def acl_setuser(c: Client, argv: list[bytes]) -> Any:
    name = argv[2]
    if any(ch in _SPACE for ch in name):
        raise CommandError(errors.ACL_USERNAME_SPACES)
    users = c.server.acl
    existing = users.get(name)
    try:
        staged = set_user(existing, name, argv[3:], users.pubsub_allchannels)
    except RuleError as exc:
        raise CommandError(exc.reason.replace("\r", " ").replace("\n", " ")) from None
    if existing is not None:
        _kill_pubsub_clients(c, existing, staged)
    users.install(name, staged)
    return OK_REPLY


@command("acl|deluser")
def acl_deluser(c: Client, argv: list[bytes]) -> Any:
    if any(name == b"default" for name in argv[2:]):
        raise CommandError(errors.ACL_DEFAULT_UNDELETABLE)
    users = c.server.acl
    deleted = 0
    for name in argv[2:]:
        user = users.users.pop(name, None)
        if user is not None:
            disconnect_users_clients(c, user)
            deleted += 1
    return deleted


@command("acl|getuser")
def acl_getuser(c: Client, argv: list[bytes]) -> Any:
    user = c.server.acl.get(argv[2])
    if user is None:
        return None
    fields: list[Any] = [
        b"flags", SetReply(flag.encode() for flag in USER_FLAGS if flag in user.flags),
        b"passwords", [p.encode() for p in user.passwords],
        *selector_fields(user.root),
        b"selectors", [_pairs(selector_fields(s)) for s in user.selectors[1:]],
    ]
    return _pairs(fields)


def _pairs(flat: list[Any]) -> dict[bytes, Any]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


@command("acl|list")
def acl_list(c: Client, argv: list[bytes]) -> Any:
    return [b"user " + u.name + b" " + describe_user(u) for u in c.server.acl.sorted()]


@command("acl|users")
def acl_users(c: Client, argv: list[bytes]) -> Any:
    return [u.name for u in c.server.acl.sorted()]


@command("acl|whoami")
def acl_whoami(c: Client, argv: list[bytes]) -> Any:
    return c.user.name


@command("acl|cat")
def acl_cat(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        return [name.encode() for name in ACL_CATEGORY_ORDER]
    if len(argv) > 3:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (_text(argv[1]), "ACL"))
    category = _text(argv[2]).lower()
    if category not in ACL_CATEGORY_ORDER:
        raise CommandError(errors.ACL_UNKNOWN_CATEGORY % _text(argv[2])[:128])
    return [e.fullname.encode() for e in WALK if category in _categories_of(e.fullname)]


def _categories_of(fullname: str) -> list[str]:
    bits = BY_ID[IDS[fullname]].categories
    return [name for name, flag in CATEGORY_BITS.items() if bits & flag]


@command("acl|genpass")
def acl_genpass(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (_text(argv[1]), "ACL"))
    bits = to_int(argv[2]) if len(argv) == 3 else 256
    if bits <= 0 or bits > 4096:
        raise CommandError(errors.ACL_GENPASS_BITS)
    chars = (bits + 3) // 4
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


@command("acl|log")
def acl_log(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (_text(argv[1]), "ACL"))
    log = c.server.acl.log
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            log.reset()
            return OK_REPLY
        count = to_int(argv[2])
    return log.show(count)


@command("acl|dryrun")
def acl_dryrun(c: Client, argv: list[bytes]) -> Any:
    user = c.server.acl.get(argv[2])
    if user is None:
        raise CommandError(errors.ACL_DRYRUN_NO_USER % _text(argv[2]))
    call = argv[3:]
    commands = c.server.commands
    cmd = commands.get(_text(call[0]).lower())
    if cmd is not None and cmd.subcommands is not None and len(call) > 1:
        cmd = cmd.subcommands.get(_text(call[1]).lower())
    if cmd is None:
        raise CommandError(errors.ACL_DRYRUN_NO_COMMAND % _text(argv[3]))
    if (cmd.arity > 0 and cmd.arity != len(call)) or len(call) < -cmd.arity:
        raise CommandError(errors.WRONG_ARITY % cmd.fullname)
    reason, pos = check_command(user, cmd, call)
    if reason == OK:
        return OK_REPLY
    if reason == DENIED_CMD:
        return (errors.ACL_DRYRUN_DENIED_CMD % cmd.fullname).encode()
    template = (errors.ACL_DRYRUN_DENIED_KEY if reason == DENIED_KEY
                else errors.ACL_DRYRUN_DENIED_CHANNEL)
    return (template % _text(call[pos])).encode()


@command("acl|load")
def acl_load(c: Client, argv: list[bytes]) -> Any:
    path = c.server.config["aclfile"]
    if not path:
        raise CommandError(errors.ACL_NO_FILE)
    users = c.server.acl
    loaded = users.parse_file(path)
    if isinstance(loaded, str):
        raise CommandError("ERR " + loaded)
    for user in users.replace_all(loaded):
        disconnect_users_clients(c, user)
    return OK_REPLY


@command("acl|save")
def acl_save(c: Client, argv: list[bytes]) -> Any:
    path = c.server.config["aclfile"]
    if not path:
        raise CommandError(errors.ACL_NO_FILE)
    if not c.server.acl.save(path):
        raise CommandError(errors.ACL_SAVE_FAILED)
    return OK_REPLY


@command("acl|help")
def acl_help(c: Client, argv: list[bytes]) -> Any:
    return list(HELP)


HELP = (
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
)
