"""CLIENT PAUSE state: which commands wait, until when, and who is waiting."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Client
    from .commandtable import Command


class PauseState:
    __slots__ = ("mode", "until", "postponed")

    def __init__(self) -> None:
        self.mode: str | None = None  # "write" or "all"
        self.until = 0.0
        self.postponed: list[Client] = []

    def blocks(self, client: Client, cmd: Command) -> bool:
        mode = self.mode
        if mode is None:
            return False
        if time.monotonic() >= self.until:
            self.unpause()
            return False
        return mode == "all" or cmd.write or cmd.may_replicate

    def pause(self, mode: str, seconds: float) -> None:
        """A new pause never shortens nor weakens one in force (pauseActions in networking.c)."""
        until = time.monotonic() + seconds
        if self.mode is None or until > self.until:
            self.until = until
        if self.mode != "all":
            self.mode = mode

    def unpause(self) -> None:
        self.mode = None
        waiting, self.postponed = self.postponed, []
        for client in waiting:
            client.resume()

    def expire(self) -> None:
        if self.mode is not None and time.monotonic() >= self.until:
            self.unpause()
