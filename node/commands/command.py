"""COMMAND and its subcommands: the command table as clients see it.

Entries have Redis 7's shape (server.c addReplyCommandInfo and friends), field for field,
so cluster clients (redis-py, Jedis, go-redis) can learn key positions from them. Only the
commands and subcommands this node implements are listed.

COMMAND DOCS gives facts only: since, group, doc_flags, deprecated_since, replaced_by and
the argument structure. Redis's prose (summary, complexity, history and argument
summaries) is not copied into this project, so those fields are absent from the reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..base.glob import compile_glob
from ..protocol.reply import SetReply
from ..table.command import ACL_CATEGORY_ORDER, Command, command
from ..table.keyspecs import KeyRef
from .args import arg_text

if TYPE_CHECKING:
    from .context import Client, Server

# addReplyFlagsForCommand: the flags COMMAND shows, in its order (others are hidden).
COMMAND_FLAG_ORDER = (
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
    "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy",
)

# addReplyFlagsForKeyArgs: key-spec flag -> the name COMMAND shows, in its order.
KEY_FLAG_NAMES = (
    ("RO", "RO"), ("RW", "RW"), ("OW", "OW"), ("RM", "RM"), ("ACCESS", "access"),
    ("UPDATE", "update"), ("INSERT", "insert"), ("DELETE", "delete"), ("NOT_KEY", "not_key"),
    ("INCOMPLETE", "incomplete"), ("VARIABLE_FLAGS", "variable_flags"),
)

ARGUMENT_FLAGS = ("optional", "multiple", "multiple_token")

HELP = (
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
)


# --- the reply shapes ---

def key_flags(flags: tuple[str, ...] | list[str]) -> SetReply:
    return SetReply(name for flag, name in KEY_FLAG_NAMES if flag in flags)


def key_spec_reply(spec: dict[str, Any]) -> dict[bytes, Any]:
    """One key spec as addReplyCommandKeySpecs describes it."""
    out: dict[bytes, Any] = {}
    out[b"flags"] = key_flags(spec["flags"])
    bs = spec["begin_search"]
    if "index" in bs:
        begin: dict[bytes, Any] = {b"type": b"index", b"spec": {b"index": bs["index"]["pos"]}}
    elif "keyword" in bs:
        kw = bs["keyword"]
        begin = {b"type": b"keyword", b"spec": {
            b"keyword": kw["keyword"].encode(), b"startfrom": kw["startfrom"]}}
    else:
        begin = {b"type": b"unknown", b"spec": {}}
    out[b"begin_search"] = begin
    fk = spec["find_keys"]
    if "range" in fk:
        rng = fk["range"]
        find: dict[bytes, Any] = {b"type": b"range", b"spec": {
            b"lastkey": rng["lastkey"], b"keystep": rng["step"], b"limit": rng["limit"]}}
    elif "keynum" in fk:
        num = fk["keynum"]
        find = {b"type": b"keynum", b"spec": {
            b"keynumidx": num["keynumidx"], b"firstkey": num["firstkey"],
            b"keystep": num["step"]}}
    else:
        find = {b"type": b"unknown", b"spec": {}}
    out[b"find_keys"] = find
    return out


def command_info(cmd: Command) -> list[Any]:
    """The 10-field COMMAND entry, subcommands included (addReplyCommandInfo)."""
    subcommands: Any = SetReply()
    if cmd.subcommands is not None:
        subcommands = [command_info(sub) for sub in cmd.subcommands.values()]
    return [
        cmd.fullname.encode(),
        cmd.arity,
        SetReply(f for f in COMMAND_FLAG_ORDER if f in cmd.flags),
        cmd.first_key,
        cmd.last_key,
        cmd.key_step,
        SetReply("@" + cat for cat in cmd.acl_categories),
        SetReply(tip.encode() for tip in cmd.spec["tips"]),
        SetReply(key_spec_reply(spec) for spec in cmd.key_specs),
        subcommands,
    ]


def argument_docs(arg: dict[str, Any]) -> dict[bytes, Any]:
    """One argument as addReplyCommandArgList describes it, minus its prose summary."""
    out: dict[bytes, Any] = {b"name": arg["name"].encode(), b"type": arg["type"].encode()}
    nested = arg["type"] in ("oneof", "block")
    if not nested:
        out[b"display_text"] = arg.get("display", arg["name"]).encode()
    if "key_spec_index" in arg:
        out[b"key_spec_index"] = arg["key_spec_index"]
    for field in ("token", "since", "deprecated_since"):
        if field in arg:
            out[field.encode()] = arg[field].encode()
    flags = [f for f in ARGUMENT_FLAGS if arg.get(f)]
    if flags:
        out[b"flags"] = SetReply(flags)
    if nested:
        out[b"arguments"] = [argument_docs(a) for a in arg.get("arguments", ())]
    return out


def command_docs(cmd: Command) -> dict[bytes, Any]:
    """The COMMAND DOCS map of one command (addReplyCommandDocs), facts only."""
    spec = cmd.spec
    out: dict[bytes, Any] = {}
    if spec.get("since"):
        out[b"since"] = spec["since"].encode()
    out[b"group"] = spec["group"].encode()
    if spec["doc_flags"]:
        out[b"doc_flags"] = SetReply(f for f in ("deprecated", "syscmd") if f in spec["doc_flags"])
    for field in ("deprecated_since", "replaced_by"):
        if field in spec:
            out[field.encode()] = spec[field].encode()
    if spec["arguments"]:
        out[b"arguments"] = [argument_docs(a) for a in spec["arguments"]]
    if cmd.subcommands is not None:
        out[b"subcommands"] = {
            sub.fullname.encode(): command_docs(sub) for sub in cmd.subcommands.values()}
    return out


# --- lookups ---


def lookup_by_fullname(server: Server, name: bytes) -> Command | None:
    """lookupCommandBySds: ``get`` or ``client|list``; a container alone is itself."""
    parts = arg_text(name).lower().split("|")
    cmd = server.commands.get(parts[0])
    if cmd is None or len(parts) == 1:
        return cmd
    if len(parts) > 2 or cmd.subcommands is None:
        return None
    return cmd.subcommands.get(parts[1])


def lookup_by_argv(server: Server, argv: list[bytes]) -> Command | None:
    """lookupCommand: the command an argument vector would run, or None."""
    cmd = server.commands.get(arg_text(argv[0]).lower())
    if cmd is None or len(argv) == 1 or cmd.subcommands is None:
        return cmd
    return cmd.subcommands.get(arg_text(argv[1]).lower())


# --- the handlers ---

@command("command")
def command_(c: Client, argv: list[bytes]) -> Any:
    return [command_info(cmd) for cmd in c.server.commands.values()]


@command("command|count")
def command_count(c: Client, argv: list[bytes]) -> Any:
    return len(c.server.commands)


@command("command|info")
def command_info_(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    if len(argv) == 2:
        return [command_info(cmd) for cmd in server.commands.values()]
    out: list[Any] = []
    for name in argv[2:]:
        cmd = lookup_by_fullname(server, name)
        out.append(None if cmd is None else command_info(cmd))
    return out


@command("command|docs")
def command_docs_(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    if len(argv) == 2:
        found = list(server.commands.values())
    else:
        found = [cmd for cmd in map(lambda n: lookup_by_fullname(server, n), argv[2:])
                 if cmd is not None]
    return {cmd.fullname.encode(): command_docs(cmd) for cmd in found}


@command("command|list")
def command_list(c: Client, argv: list[bytes]) -> Any:
    kind = arg = b""
    i = 2
    while i < len(argv):
        if argv[i].lower() == b"filterby" and len(argv) - 1 - i == 2:
            kind, arg = argv[i + 1].lower(), argv[i + 2]
            if kind not in (b"module", b"aclcat", b"pattern"):
                raise CommandError(errors.SYNTAX)
            i += 3
        else:
            raise CommandError(errors.SYNTAX)
    commands = c.server.all_commands()
    if kind == b"module":
        commands = []
    elif kind == b"aclcat":
        category = arg_text(arg).lower()
        commands = [cmd for cmd in commands
                    if category in ACL_CATEGORY_ORDER and category in cmd.acl_categories]
    elif kind == b"pattern":
        matches = compile_glob(arg, nocase=True)
        commands = [cmd for cmd in commands if matches(cmd.fullname.encode())]
    return [cmd.fullname.encode() for cmd in commands]


def _keys_of(c: Client, argv: list[bytes]) -> list[KeyRef]:
    """getKeysSubcommandImpl's checks, in its order, then the keys of ``argv[2:]``."""
    target = argv[2:]
    cmd = lookup_by_argv(c.server, target)
    if cmd is None:
        raise CommandError(errors.GETKEYS_INVALID_COMMAND)
    if not cmd.has_keys:
        raise CommandError(errors.GETKEYS_NO_KEYS)
    arity = cmd.arity
    if (arity > 0 and arity != len(target)) or len(target) < -arity:
        raise CommandError(errors.GETKEYS_WRONG_ARITY)
    keys = cmd.keys_and_flags(target)
    if not keys and "no_mandatory_keys" not in cmd.flags:
        raise CommandError(errors.GETKEYS_INVALID_ARGUMENTS)
    return keys


@command("command|getkeys")
def command_getkeys(c: Client, argv: list[bytes]) -> Any:
    return [argv[2 + pos] for pos, _ in _keys_of(c, argv)]


@command("command|getkeysandflags")
def command_getkeysandflags(c: Client, argv: list[bytes]) -> Any:
    return [[argv[2 + pos], key_flags(flags)] for pos, flags in _keys_of(c, argv)]


@command("command|help")
def command_help(c: Client, argv: list[bytes]) -> Any:
    """addReplyHelp: a header naming the command as sent, the lines, then HELP itself."""
    name = argv[0].decode("utf-8", "surrogateescape").upper()
    return [f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", *HELP,
            "HELP", "    Prints this help."]
