"""Child processes that write the dataset (BGSAVE, BGREWRITEAOF), as Redis forks them.

The child sees the parent's memory as it was at the fork (copy-on-write), writes its file
and exits without ever returning into the parent's event loop; the parent polls for it
from the cron (``finished``) and may stop it (``stop``: SIGUSR1, which Redis's children
also treat as a clean cancel).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable


def fork_child(work: Callable[[], None], on_error: Callable[[BaseException], None]) -> int:
    """Fork; the child runs ``work`` with default signal dispositions and exits 0, or 1
    after ``on_error``. Returns the child's pid; raises OSError when fork fails."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        work()
        code = 0
    except BaseException as exc:  # the child must never return into the parent's loop
        try:
            on_error(exc)
        except BaseException:
            pass
    finally:
        os._exit(code)


def finished(pid: int) -> int | None:
    """The child's exit code (negative: the signal that ended it), None while it runs."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 1
    return os.waitstatus_to_exitcode(status) if done else None


def stop(pid: int) -> None:
    """Cancel a child and wait for it."""
    try:
        os.kill(pid, signal.SIGUSR1)
        os.waitpid(pid, 0)
    except OSError:
        pass
