"""SLOWLOG GET, LEN, RESET, HELP over the server's slow log (node/slowlog.py)."""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..protocol.reply import OK
from ..table.command import command
from .args import LLONG_MAX, help_reply, subcommand_syntax_error, to_int_range

if TYPE_CHECKING:
    from .context import Client

DEFAULT_COUNT = 10

HELP = (
    "GET [<count>]",
    "    The <count> most recent entries, newest first (10 by default, -1 for all).",
    "    Each entry holds: a unique id, the Unix time it was logged, the run time in",
    "    microseconds, the arguments, the client's address and the client's name.",
    "LEN",
    "    How many entries the slow log holds.",
    "RESET",
    "    Drop every entry.",
)


@command("slowlog|get")
def slowlog_get(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    entries = c.server.slowlog.entries
    count = DEFAULT_COUNT
    if len(argv) == 3:
        count = to_int_range(argv[2], -1, LLONG_MAX, errors.SLOWLOG_COUNT)
        if count == -1:
            count = len(entries)
    return [entry.reply() for entry in islice(entries, count)]


@command("slowlog|len")
def slowlog_len(c: Client, argv: list[bytes]) -> Any:
    return len(c.server.slowlog.entries)


@command("slowlog|reset")
def slowlog_reset(c: Client, argv: list[bytes]) -> Any:
    c.server.slowlog.reset()
    return OK


@command("slowlog|help")
def slowlog_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("SLOWLOG", HELP)
