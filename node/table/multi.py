"""The MULTI queue (multi.c's multiState): commands queued with their arguments.

EXEC runs them in order; what it must know before running any (whether one writes, for
CLIENT PAUSE WRITE and replica refusals; whether one may grow memory, for -OOM) is
gathered as they are queued.
"""

from __future__ import annotations

from .command import Command


class MultiState:
    """The commands queued between MULTI and EXEC, and whether EXEC may write."""

    __slots__ = ("commands", "writes", "denyoom")

    def __init__(self) -> None:
        self.commands: list[tuple[Command, list[bytes]]] = []
        self.writes = False
        self.denyoom = False  # mstate.cmd_flags & CMD_DENYOOM: EXEC is refused under OOM

    def queue(self, cmd: Command, argv: list[bytes]) -> None:
        self.commands.append((cmd, argv))
        if cmd.write or cmd.may_replicate:
            self.writes = True
        if cmd.denyoom:
            self.denyoom = True
