"""ACL and its subcommands (aclCommand in acl.c)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from ..acl.catalog import CATEGORY_BITS, WALK
from ..acl.check import (
    DENIED_CMD,
    DENIED_KEY,
    OK,
    check_command,
)
from ..acl.describe import describe_user, selector_fields
from ..acl.rules import USER_FLAGS, RuleError, set_user
from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK as OK_REPLY
from ..protocol.reply import SetReply
from ..table.command import ACL_CATEGORY_ORDER, command
from .acl_access import disconnect_users_clients, kill_pubsub_clients
from .args import arg_text, to_int

if TYPE_CHECKING:
    from .context import Client

_SPACE = frozenset(b" \t\n\v\f\r\0")


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
        kill_pubsub_clients(c, existing, staged)
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
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (arg_text(argv[1]), "ACL"))
    category = arg_text(argv[2]).lower()
    if category not in ACL_CATEGORY_ORDER:
        raise CommandError(errors.ACL_UNKNOWN_CATEGORY % arg_text(argv[2])[:128])
    flag = CATEGORY_BITS[category]
    return [e.fullname.encode() for e in WALK if e.categories & flag]


@command("acl|genpass")
def acl_genpass(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (arg_text(argv[1]), "ACL"))
    bits = to_int(argv[2]) if len(argv) == 3 else 256
    if bits <= 0 or bits > 4096:
        raise CommandError(errors.ACL_GENPASS_BITS)
    chars = (bits + 3) // 4
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


@command("acl|log")
def acl_log(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (arg_text(argv[1]), "ACL"))
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
        raise CommandError(errors.ACL_DRYRUN_NO_USER % arg_text(argv[2]))
    call = argv[3:]
    commands = c.server.commands
    cmd = commands.get(arg_text(call[0]).lower())
    if cmd is not None and cmd.subcommands is not None and len(call) > 1:
        cmd = cmd.subcommands.get(arg_text(call[1]).lower())
    if cmd is None:
        raise CommandError(errors.ACL_DRYRUN_NO_COMMAND % arg_text(argv[3]))
    if (cmd.arity > 0 and cmd.arity != len(call)) or len(call) < -cmd.arity:
        raise CommandError(errors.WRONG_ARITY % cmd.fullname)
    reason, pos = check_command(user, cmd, call)
    if reason == OK:
        return OK_REPLY
    if reason == DENIED_CMD:
        return (errors.ACL_DRYRUN_DENIED_CMD % cmd.fullname).encode()
    template = (errors.ACL_DRYRUN_DENIED_KEY if reason == DENIED_KEY
                else errors.ACL_DRYRUN_DENIED_CHANNEL)
    return (template % arg_text(call[pos])).encode()


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
