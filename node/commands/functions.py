"""FUNCTION LOAD | LIST | DELETE | FLUSH | DUMP | RESTORE | STATS | KILL, FCALL and
FCALL_RO (functions.c).

The libraries live in ``scripting.functions``; a function runs like an EVAL script with
the flags it registered (never in compatibility mode). Changing the libraries makes the
dataset dirty, so the command is propagated to replicas and the AOF as sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..base.glob import stringmatchlen
from ..protocol.reply import OK, SetReply
from ..scripting.functions import LOAD_TIMEOUT_MS
from ..table.command import command
from .args import help_reply, to_int
from .scripting import check_script_flags, running_engine

if TYPE_CHECKING:
    from .context import Client


def _dirty(c: Client) -> None:
    c.server.keyspace_stats.dirty += 1


@command("function|load")
def function_load(c: Client, argv: list[bytes]) -> Any:
    replace = False
    pos = 2
    while pos < len(argv) - 1:
        arg = argv[pos]
        pos += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        raise CommandError(errors.FUNCTION_UNKNOWN_OPTION % arg.decode("utf-8", "surrogateescape"))
    if pos >= len(argv):
        raise CommandError(errors.FUNCTION_CODE_MISSING)
    timeout = 0 if c.is_master else LOAD_TIMEOUT_MS  # mustObeyClient: no timeout
    name = c.server.functions.create(argv[pos], replace, timeout)
    _dirty(c)
    return name.encode()


@command("function|list")
def function_list(c: Client, argv: list[bytes]) -> Any:
    with_code = False
    pattern: bytes | None = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        if not with_code and arg.lower() == b"withcode":
            with_code = True
        elif pattern is None and arg.lower() == b"libraryname":
            if i >= len(argv) - 1:
                raise CommandError(errors.FUNCTION_LIST_NO_NAME)
            i += 1
            pattern = argv[i]
        else:
            raise CommandError(errors.FUNCTION_LIST_UNKNOWN % arg.decode("utf-8", "surrogateescape"))
        i += 1
    out = []
    for library in c.server.functions.libraries.values():
        if pattern is not None and not stringmatchlen(pattern, library.name.encode(), nocase=True):
            continue
        entry: dict[bytes, Any] = {
            b"library_name": library.name.encode(),
            b"engine": b"LUA",
            b"functions": [
                {b"name": f.name.encode(), b"description": f.description,
                 b"flags": SetReply(f.flag_names())}
                for f in library.functions.values()],
        }
        if with_code:
            entry[b"library_code"] = library.code
        out.append(entry)
    return out


@command("function|delete")
def function_delete(c: Client, argv: list[bytes]) -> Any:
    c.server.functions.delete(argv[2].decode("utf-8", "surrogateescape"))
    _dirty(c)
    return OK


@command("function|flush")
def function_flush(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (
            argv[1].decode("utf-8", "surrogateescape"), "FUNCTION"))
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise CommandError(errors.FUNCTION_FLUSH_MODE)
    c.server.functions.flush()
    _dirty(c)
    return OK


@command("function|dump")
def function_dump(c: Client, argv: list[bytes]) -> Any:
    return c.server.functions.dump()


@command("function|restore")
def function_restore(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 4:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (
            argv[1].decode("utf-8", "surrogateescape"), "FUNCTION"))
    policy = argv[3].lower() if len(argv) == 4 else b"append"
    if policy not in (b"append", b"replace", b"flush"):
        raise CommandError(errors.FUNCTION_RESTORE_POLICY)
    c.server.functions.restore(argv[2], policy)
    _dirty(c)
    return OK


@command("function|stats")
def function_stats(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    running = server.scripting.run_ctx
    if running is not None:
        raise CommandError(errors.BUSY_EVAL)
    ctx = server.functions.engine.run_ctx
    script = None
    if ctx is not None:
        script = {b"name": ctx.funcname.encode(), b"command": ctx.argv,
                  b"duration_ms": ctx.duration_ms()}
    functions = server.functions
    return {b"running_script": script,
            b"engines": {b"LUA": {b"libraries_count": len(functions.libraries),
                                   b"functions_count": len(functions.functions)}}}


@command("function|kill")
def function_kill(c: Client, argv: list[bytes]) -> Any:
    running_engine(c).kill(False)
    return OK


def run_function(c: Client, argv: list[bytes], read_only: bool) -> Any:
    server = c.server
    if server.monitors:
        server.feed_monitors(c, argv)
    function = server.functions.functions.get(
        argv[1].decode("utf-8", "surrogateescape").lower())
    if function is None:
        raise CommandError(errors.FUNCTION_NOT_FOUND)
    n = to_int(argv[2], errors.FUNCTION_BAD_NUMKEYS)
    if n > len(argv) - 3:
        raise CommandError(errors.NUMKEYS_GREATER)
    if n < 0:
        raise CommandError(errors.NUMKEYS_NEGATIVE)
    check_script_flags(c, function.flags, read_only)
    c.rewrite()
    return server.functions.engine.run(c, function.fn, argv[3:3 + n], argv[3 + n:], False,
                                       function.name, function.flags, read_only, argv)


@command("fcall")
def fcall(c: Client, argv: list[bytes]) -> Any:
    return run_function(c, argv, False)


@command("fcall_ro")
def fcall_ro(c: Client, argv: list[bytes]) -> Any:
    return run_function(c, argv, True)


HELP = (
    "LOAD [REPLACE] <library code>",
    "    Load a library (its first line: #!lua name=<library>); REPLACE an existing one.",
    "DELETE <library name>",
    "    Remove a library and its functions.",
    "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
    "    The libraries, their engine and functions (name, description, flags), and code.",
    "STATS",
    "    The function running now, if any, and the engines' library and function counts.",
    "KILL",
    "    Stop the function running now, if it has not written yet.",
    "FLUSH [ASYNC|SYNC]",
    "    Remove every library.",
    "DUMP",
    "    Every library in one payload for FUNCTION RESTORE.",
    "RESTORE <payload> [FLUSH|APPEND|REPLACE]",
    "    Load a FUNCTION DUMP payload: after removing every library (FLUSH), failing on a",
    "    library that exists (APPEND, the default), or replacing it (REPLACE).",
)


@command("function|help")
def function_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("FUNCTION", HELP)
