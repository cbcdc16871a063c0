"""SAVE, BGSAVE [SCHEDULE], LASTSAVE: the snapshot commands (the machinery is snapshot.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK
from ..table.command import command

if TYPE_CHECKING:
    from .context import Client


@command("save")
def save(c: Client, argv: list[bytes]) -> Any:
    snapshots = c.server.snapshots
    if snapshots.child_pid:
        raise CommandError(errors.BGSAVE_IN_PROGRESS)
    if not snapshots.save():
        raise CommandError(errors.GENERIC_ERR)
    return OK


@command("bgsave")
def bgsave(c: Client, argv: list[bytes]) -> Any:
    """bgsaveCommand. No other kind of child process runs here, so SCHEDULE starts at once;
    a BGSAVE run by EXEC is scheduled for the cron, as in Redis."""
    if len(argv) > 1 and (len(argv) > 2 or argv[1].lower() != b"schedule"):
        raise CommandError(errors.SYNTAX)
    snapshots = c.server.snapshots
    if snapshots.child_pid:
        raise CommandError(errors.BGSAVE_IN_PROGRESS)
    if c.multi:  # run by EXEC: the fork waits for the cron
        snapshots.scheduled = True
        return "Background saving scheduled"
    if not snapshots.background_save():
        raise CommandError(errors.GENERIC_ERR)
    return "Background saving started"


@command("lastsave")
def lastsave(c: Client, argv: list[bytes]) -> Any:
    return c.server.lastsave
