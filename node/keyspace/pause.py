"""CLIENT PAUSE state: which commands wait, until when, and who is waiting.

A pause ends at its deadline by a timer on the event loop (not only when the cron or a
new command notices). The postponed clients then resume in the order they arrived, from
the event loop rather than inside the command that ended the pause, as Redis does from
beforeSleep.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

FAILOVER_HOLD = 10.0 * 365 * 86400  # "until the failover ends"


class Client(Protocol):
    def resume(self) -> None: ...


class PauseState:
    __slots__ = ("mode", "until", "postponed", "timer", "failover")

    def __init__(self) -> None:
        self.mode: str | None = None  # "write" or "all"
        self.until = 0.0
        self.postponed: list[Client] = []
        self.timer: asyncio.TimerHandle | None = None
        # A coordinated FAILOVER holds writes until it ends, whatever CLIENT UNPAUSE says
        # (Redis's PAUSE_DURING_FAILOVER purpose).
        self.failover = False

    def blocks(self, writes: bool) -> bool:
        """Whether a command must wait: any under PAUSE ALL, one that ``writes`` (or may,
        or an EXEC of such) under PAUSE WRITE."""
        mode = self.mode
        if mode is None:
            return False
        if time.monotonic() >= self.until:
            self.unpause()
            return False
        return mode == "all" or writes

    def pause(self, mode: str, seconds: float) -> None:
        """A new pause never shortens nor weakens one in force (pauseActions in networking.c)."""
        until = time.monotonic() + seconds
        if self.mode is None or until > self.until:
            self.until = until
        if self.mode != "all":
            self.mode = mode
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(self.until - time.monotonic(), self.expire)

    def hold_for_failover(self) -> None:
        self.failover = True
        self.pause("write", FAILOVER_HOLD)

    def release_failover(self) -> None:
        self.failover = False
        self.unpause()

    def unpause(self) -> None:
        if self.failover:  # CLIENT UNPAUSE or a client pause's end: writes stay held
            self.mode = "write"
            self.until = time.monotonic() + FAILOVER_HOLD
            return
        self.mode = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        waiting, self.postponed = self.postponed, []
        if waiting:
            asyncio.get_running_loop().call_soon(_resume_in_order, waiting)

    def expire(self) -> None:
        if self.mode is not None and time.monotonic() >= self.until:
            self.unpause()
        elif self.mode is not None:
            self.timer = asyncio.get_running_loop().call_later(self.until - time.monotonic(), self.expire)


def _resume_in_order(clients: list[Client]) -> None:
    """Run the postponed clients after the current command, first postponed first."""
    for client in clients:
        client.resume()
