"""MODULE LIST, LOAD, LOADEX, UNLOAD, HELP (module.c): redslot loads no Redis modules.

LIST is empty; LOAD and LOADEX fail as Redis fails on a library it cannot open (the reason
in the log); UNLOAD names no module. The commands are protected (enable-module-command),
as in Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..table.command import command
from .args import help_reply

if TYPE_CHECKING:
    from .context import Client

HELP = (
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
)


@command("module|help")
def module_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("MODULE", HELP)


@command("module|list")
def module_list(c: Client, argv: list[bytes]) -> Any:
    return []


def _refuse_load(c: Client, path: bytes) -> None:
    c.server.log_warning(f"Module {path.decode('utf-8', 'surrogateescape')} failed to load: "
                         "redslot does not load Redis modules")
    raise CommandError(errors.MODULE_LOAD)


@command("module|load")
def module_load(c: Client, argv: list[bytes]) -> Any:
    _refuse_load(c, argv[2])


@command("module|loadex")
def module_loadex(c: Client, argv: list[bytes]) -> Any:
    _refuse_load(c, argv[2])


@command("module|unload")
def module_unload(c: Client, argv: list[bytes]) -> Any:
    raise CommandError(errors.MODULE_UNLOAD % "no such module with that name")
