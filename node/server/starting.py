"""Signals before a process's own handlers exist: SIGTERM and SIGINT still stop it.

In a container ``redslot`` is PID 1, and the kernel drops a signal whose disposition is the
default for a PID namespace's init process: a SIGTERM the kubelet sent before the program
had a handler was lost, and the pod waited out its grace period for a SIGKILL. The command
line installs this handler first thing, before the imports (a second or more on a loaded
machine), and it stays until the program has its own: the node's shutdown with its saves
once the data is loaded, kopf's graceful stop.

Until an event loop runs, the handler exits (SystemExit unwinds the imports). Once the node
loads its data, it asks the loaders to stop instead (``during_loading``), as Redis's
whileBlockedCron does: the AOF's replay never returns to the event loop, and an exception
raised inside one of uvloop's callbacks would be logged and swallowed, not exit. The node
then exits without saving (the data in memory is not whole).
"""

from __future__ import annotations

import signal
from collections.abc import Callable


class StartingSignals:
    """``received`` names the signal for the log line written once the node stops (not
    from the handler, which may interrupt a write to the log)."""

    def __init__(self) -> None:
        self.received: str | None = None
        self.during_loading: Callable[[], None] | None = None

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)

    def _stop(self, signum: int, frame: object) -> None:
        self.received = signal.Signals(signum).name
        if self.during_loading is not None:
            self.during_loading()
            return
        raise SystemExit(0)
