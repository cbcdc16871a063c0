"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (eval.c, script.c scriptPrepareForRun).

The script itself runs in ``scripting.engine``; here are the argument checks, the cache,
and the checks Redis makes before a run: first those processCommand makes with the flags
a shebang gives the command (evalGetCommandFlags: a script without ``no-writes`` is a
write, without ``allow-oom`` too a denyoom one), then scriptPrepareForRun's. EVAL itself is
not propagated: the commands the script ran are, as its effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK
from ..scripting.engine import (
    FLAG_ALLOW_OOM,
    FLAG_EVAL_COMPAT,
    FLAG_NO_CLUSTER,
    FLAG_NO_WRITES,
    Engine,
    sha1hex,
)
from ..table.command import command
from .args import help_reply, to_int

if TYPE_CHECKING:
    from .context import Client


def numkeys(c: Client, argv: list[bytes]) -> int:
    n = to_int(argv[2])
    if n > len(argv) - 3:
        raise CommandError(errors.NUMKEYS_GREATER)
    if n < 0:
        raise CommandError(errors.NUMKEYS_NEGATIVE)
    return n


def check_script_flags(c: Client, flags: int, read_only: bool) -> None:
    """processCommand with the shebang's flags, then scriptPrepareForRun."""
    if flags & FLAG_EVAL_COMPAT:
        return
    server = c.server
    writes = not flags & FLAG_NO_WRITES
    if writes and not flags & FLAG_ALLOW_OOM and server.scripting.oom_now():
        raise CommandError(errors.OOM)
    if writes:
        check = server.persistence_check
        if check is not None and check.disk_error_refusal(c, server.commands["set"]):
            raise CommandError(errors.MISCONF)
        if server.replication.refuses_writes():
            raise CommandError(errors.NOREPLICAS)
        if (server.replication.link is not None and server.config["replica-read-only"]
                and not c.is_master):
            raise CommandError(errors.READONLY_REPLICA)
    if flags & FLAG_NO_CLUSTER and server.cluster is not None:
        raise CommandError(errors.SCRIPT_NO_CLUSTER)
    if writes and read_only:
        raise CommandError(errors.SCRIPT_WRITE_WITH_RO)


def run_script(c: Client, argv: list[bytes], evalsha: bool, read_only: bool) -> Any:
    server = c.server
    if server.monitors:
        server.feed_monitors(c, argv)
    engine = server.scripting
    if evalsha and len(argv[1]) != 40:
        raise CommandError(errors.NOSCRIPT)
    n = numkeys(c, argv)
    sha = argv[1].lower().decode("latin-1") if evalsha else sha1hex(argv[1])
    script = engine.scripts.get(sha)
    if script is None:
        if evalsha:
            raise CommandError(errors.NOSCRIPT)
        engine.create_script(argv[1])
        script = engine.scripts[sha]
    _body, flags, fn = script
    check_script_flags(c, flags, read_only)
    c.rewrite()
    return engine.run(c, fn, argv[3:3 + n], argv[3 + n:], True, sha, flags, read_only, argv)


@command("eval")
def eval_(c: Client, argv: list[bytes]) -> Any:
    return run_script(c, argv, False, False)


@command("eval_ro")
def eval_ro(c: Client, argv: list[bytes]) -> Any:
    return run_script(c, argv, False, True)


@command("evalsha")
def evalsha(c: Client, argv: list[bytes]) -> Any:
    return run_script(c, argv, True, False)


@command("evalsha_ro")
def evalsha_ro(c: Client, argv: list[bytes]) -> Any:
    return run_script(c, argv, True, True)


@command("script|load")
def script_load(c: Client, argv: list[bytes]) -> Any:
    return c.server.scripting.create_script(argv[2]).encode()


@command("script|exists")
def script_exists(c: Client, argv: list[bytes]) -> Any:
    scripts = c.server.scripting.scripts
    return [int(sha.lower().decode("latin-1") in scripts) for sha in argv[2:]]


@command("script|flush")
def script_flush(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise CommandError(errors.SCRIPT_FLUSH_MODE)
    c.server.scripting.reset()
    return OK


@command("script|kill")
def script_kill(c: Client, argv: list[bytes]) -> Any:
    running_engine(c).kill(True)
    return OK


def running_engine(c: Client) -> Engine:
    """The interpreter running a script or function now (EVAL's when neither is)."""
    server = c.server
    if server.functions.engine.run_ctx is not None:
        return server.functions.engine
    return server.scripting



HELP = (
    "EXISTS <sha1> [<sha1> ...]",
    "    1 for each script in the cache, 0 for each one not in it.",
    "FLUSH [ASYNC|SYNC]",
    "    Empty the script cache.",
    "KILL",
    "    Stop the script running now, if it has not written yet.",
    "LOAD <script>",
    "    Put a script in the cache without running it; its SHA1.",
)


@command("script|help")
def script_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("SCRIPT", HELP)
