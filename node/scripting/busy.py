"""Serving other clients while a script runs past busy-reply-threshold
(processEventsWhileBlocked, protectClient).

A script runs inside the command that started it, on the event loop's thread, and the
loop cannot be re-entered from there. So every HOOK_INSTRUCTIONS Lua instructions, once
past the threshold, the count hook polls the other clients' sockets itself (``poll`` with
no wait) and feeds what it reads to their ``data_received``, exactly as the loop would:
their requests go through dispatch, which answers -BUSY to all but the commands flagged
allow_busy (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE, MULTI, AUTH ...), and their
replies are written at once (transports write immediately when their buffer is empty).
The caller's socket is left alone, as Redis protects it; a peer that hung up is skipped
until the loop runs again and closes it; new connections wait in the listen backlog.
The short dispatch path is switched off meanwhile, so every request takes those checks.
"""

from __future__ import annotations

import os
import select
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Server


class BusyState:
    __slots__ = ("server", "fast_dispatch", "hung_up")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.fast_dispatch = True
        self.hung_up: set[int] = set()

    def enter(self, ctx: Any) -> None:
        """enterScriptTimedoutMode."""
        server = self.server
        server.busy_script = ctx
        self.fast_dispatch = server.fast_dispatch
        server.fast_dispatch = False

    def leave(self, ctx: Any) -> None:
        """exitScriptTimedoutMode."""
        server = self.server
        server.busy_script = None
        server.fast_dispatch = self.fast_dispatch
        self.hung_up.clear()

    def shutting_down(self) -> bool:
        event = self.server.shutdown_event
        return event is not None and event.is_set()

    def process_events(self, ctx: Any) -> None:
        server = self.server
        caller = ctx.caller
        by_fd: dict[int, Any] = {}
        for client in list(server.clients.values()):
            if client is caller or client.closing or client.is_master:
                continue
            transport = client.transport
            if transport is None:
                continue
            sock = transport.get_extra_info("socket")
            if sock is None:
                continue
            fd = sock.fileno()
            if fd >= 0 and fd not in self.hung_up:
                by_fd[fd] = client
        if not by_fd:
            return
        poller = select.poll()
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        tracker = server.tracker
        current = tracker.current
        try:
            for fd, _events in poller.poll(0):
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.hung_up.add(fd)
                    continue
                by_fd[fd].data_received(data)
        finally:
            tracker.current = current
