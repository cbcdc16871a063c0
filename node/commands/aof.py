"""BGREWRITEAOF."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..table.command import command

if TYPE_CHECKING:
    from .context import Client


@command("bgrewriteaof")
def bgrewriteaof(c: Client, argv: list[bytes]) -> Any:
    aof = c.server.aof
    if aof.child_pid:
        raise CommandError(errors.AOF_REWRITE_RUNNING)
    if c.server.snapshots.child_pid:
        aof.rewrite_scheduled = True
        return "Background append only file rewriting scheduled"
    if not aof.on:
        aof.manifest = aof.read_manifest() or aof.manifest
    if not aof.rewrite():
        raise CommandError(errors.AOF_REWRITE_FAILED)
    return "Background append only file rewriting started"
