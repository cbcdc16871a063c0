"""CONFIG GET / SET / RESETSTAT / REWRITE (config.c, Redis 7.0 semantics).

CONFIG SET is atomic: every name is checked (unknown, immutable, protected, duplicate)
and every value parsed before any is stored, so a failing request changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..base.glob import compile_glob
from ..config.directives import ConfigError, Directive
from ..protocol.reply import OK
from ..table.command import command
from .args import arg_text

if TYPE_CHECKING:
    from .context import Client

HELP = (
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
)


@command("config|help")
def config_help(c: Client, argv: list[bytes]) -> Any:
    return list(HELP)


@command("config|get")
def config_get(c: Client, argv: list[bytes]) -> Any:
    """configGetCommand: each name once as listed. An exact name is echoed as typed; a glob
    matches nocase over every name, aliases included: an alias is a configuration entry of
    its own in Redis 7.0 (its name is the alias), so CONFIG GET * lists slaveof next to
    replicaof, and CONFIG GET slaveof replicaof gives both. A hidden directive (a debugging
    knob) is given only by its exact name, as Redis's HIDDEN_CONFIG."""
    config = c.server.config
    matches: dict[str, tuple[str, Directive]] = {}  # by name in lower case (nocase dict)
    for pattern in argv[2:]:
        if not any(ch in pattern for ch in b"[*?"):
            name = arg_text(pattern)
            d = config.lookup(name)
            if d is not None and name.lower() not in matches:
                matches[name.lower()] = (name, d)
            continue
        match = compile_glob(pattern, True)
        for name, d in config.directives.items():
            if not d.hidden and name not in matches and match(name.encode()):
                matches[name] = (name, d)
    return {name.encode(): config.format(d.name).encode("utf-8", "surrogateescape")
            for name, d in matches.values()}


def _protected_allowed(c: Client) -> bool:
    """allowProtectedAction: ``yes``, or ``local`` for a loopback client."""
    allowed = c.server.config["enable-protected-configs"]
    host = c.addr.rsplit(":", 1)[0]
    return allowed == "yes" or (allowed == "local" and (host.startswith("127.") or host == "[::1]"))


@command("config|set")
def config_set(c: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2:
        raise CommandError(errors.SYNTAX)
    config = c.server.config
    chosen: list[Directive] = []
    unknown: str | None = None
    refusal: str | None = None
    for i in range(2, len(argv), 2):
        name = arg_text(argv[i])
        d = config.lookup(name)
        if d is None:
            if unknown is None and refusal is None:
                unknown = name
            continue
        if unknown is not None or refusal is not None:
            continue
        if not d.mutable:
            refusal = errors.CONFIG_IMMUTABLE % name
        elif d.protected and not _protected_allowed(c):
            refusal = errors.CONFIG_PROTECTED % name
        elif d in chosen:
            refusal = errors.CONFIG_DUPLICATE % name
        chosen.append(d)
    if unknown is not None:
        raise CommandError(errors.CONFIG_UNKNOWN_ARG % unknown)
    if refusal is not None:
        raise CommandError(refusal)
    values = []
    for d, raw in zip(chosen, argv[3::2], strict=True):
        try:
            values.append(config.parse(d, arg_text(raw)))
        except ConfigError as exc:
            raise CommandError(errors.CONFIG_SET_FAILED % (d.name, exc)) from None
    refusal = c.server.refuse_config({d.name: value for d, value in zip(chosen, values, strict=True)})
    if refusal is not None:
        raise CommandError(errors.CONFIG_SET_FAILED % (chosen[0].name, refusal))
    config.store_all(list(zip(chosen, values, strict=True)))
    return OK


@command("config|resetstat")
def config_resetstat(c: Client, argv: list[bytes]) -> Any:
    c.server.reset_stats()
    return OK


@command("config|rewrite")
def config_rewrite(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    if server.config.file is None:
        raise CommandError(errors.CONFIG_REWRITE_NO_FILE)
    try:
        server.config.rewrite()
    except OSError as exc:
        server.log_warning(f"CONFIG REWRITE failed: {exc.strerror}")
        raise CommandError(errors.CONFIG_REWRITE_FAILED % exc.strerror) from None
    server.log_notice("CONFIG REWRITE executed with success.")
    return OK
