"""Command execution in Redis's order (server.c processCommand, then call()).

lookup -> arity -> auth -> (cluster redirect, OOM, MULTI: hooks of later work) -> pause
-> call, with per-command statistics, error statistics, slowlog, latency monitor and
MONITOR feed. This is the one place that order lives.
"""

from __future__ import annotations

from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from . import errors
from .errors import CommandError
from .reply import encode

if TYPE_CHECKING:
    from .client import Client
    from .commandtable import Command
    from .server import Server


def _args_preview(argv: list[bytes]) -> str:
    """The ``with args beginning with:`` part: quoted args until 128 characters."""
    out = ""
    for arg in argv[1:]:
        if len(out) >= 128:
            break
        out += "'%s' " % arg.decode("utf-8", "surrogateescape")[: 128 - len(out)]
    return out


def lookup(server: Server, argv: list[bytes]) -> Command | str:
    """The command for ``argv``, or the error text for an unknown (sub)command."""
    name = argv[0]
    cmd = server.commands.get(name.lower().decode("utf-8", "surrogateescape"))
    if cmd is not None and cmd.subcommands is not None and len(argv) > 1:
        sub = cmd.subcommands.get(argv[1].lower().decode("utf-8", "surrogateescape"))
        if sub is None:
            return errors.UNKNOWN_SUBCOMMAND % (
                argv[1][:128].decode("utf-8", "surrogateescape"), cmd.name.upper())
        return sub
    if cmd is None:
        return errors.UNKNOWN_COMMAND % (
            name[:128].decode("utf-8", "surrogateescape"), _args_preview(argv))
    return cmd


def check(server: Server, client: Client, cmd: Command, argv: list[bytes]) -> str | None:
    """The rejection text for this call, or None: arity, then authentication."""
    arity = cmd.arity
    argc = len(argv)
    if (arity > 0 and arity != argc) or argc < -arity:
        return errors.WRONG_ARITY % cmd.fullname
    if not client.authenticated and not cmd.noauth:
        return errors.NOAUTH
    return None


def reject(server: Server, client: Client, message: str, cmd: Command | None) -> None:
    """A command refused before it ran: counted as rejected, reply sent as an error."""
    if cmd is not None:
        cmd.rejected_calls += 1
    server.count_error(message)
    client.reply(CommandError(message))


def execute(server: Server, client: Client, argv: list[bytes]) -> None:
    """Run one request for ``client``; the reply goes to ``client.out``.

    The common case (a known top-level command sent in lower or upper case) costs one
    dict lookup; everything else takes ``lookup``.
    """
    cmd = server.command_index.get(argv[0])
    if cmd is None or cmd.subcommands is not None:
        found = lookup(server, argv)
        if isinstance(found, str):
            reject(server, client, found, None)
            return
        cmd = found
    arity = cmd.arity
    if (arity != len(argv) and arity > 0) or len(argv) < -arity or not client.authenticated:
        refusal = check(server, client, cmd, argv)
        if refusal is not None:
            reject(server, client, refusal, cmd)
            return
    if server.pause.mode is not None and server.pause.blocks(client, cmd):
        client.postpone(argv)
        return
    call(server, client, cmd, argv)


def call(server: Server, client: Client, cmd: Command, argv: list[bytes]) -> None:
    """Run the handler, encode its reply, account for it (call() in server.c)."""
    client.cmd = cmd
    start = perf_counter_ns()
    try:
        result: Any = cmd.handler(client, argv)  # type: ignore[misc]
    except CommandError as exc:
        cmd.failed_calls += 1
        server.count_error(exc.message)
        result = exc
    duration = (perf_counter_ns() - start) // 1000
    cmd.calls += 1
    cmd.usec += duration
    server.stat_numcommands += 1
    if duration >= server.slowlog_threshold >= 0 and not cmd.skip_slowlog:
        server.slowlog.add(client, argv, duration)
    if server.latency_threshold and duration // 1000 >= server.latency_threshold:
        server.latency.add("command" if not cmd.fast else "fast-command", duration // 1000)
    if not client.silent:
        encode(client.out, result, client.resp3)
    if server.monitors and not cmd.skip_monitor and not cmd.admin:
        server.feed_monitors(client, argv)
