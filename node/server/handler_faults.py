"""A handler that raised something other than ``CommandError``: a bug in the node.

Redis crashes on a failed assertion (serverAssert) and restarts from its persistence. A
node that serves many clients answers the one request with ``-ERR internal error: <type>``
instead, and goes on: the client keeps its connection and the requests it pipelined after
that one, and the error counts in errorstats and in the command's failed_calls as any
error reply does. The traceback is logged at warning level once per place it was raised
from (a bug hit by every request would otherwise flood the log).

A handler that raised after changing the dataset left it half-written, and its replay
elsewhere (the command as received) could fail differently. Nothing of it is propagated;
instead the copies are remade from the dataset as it is: a master starts a new replication
history and drops its replicas (they can only resynchronise fully), a replica drops its
master link under a new history (it loads a full copy), and the AOF is rewritten. Until
then the write exists on this node only, like a write not yet propagated.
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

from ..base import errors
from ..base.errors import CommandError

if TYPE_CHECKING:
    from ..table.command import Command
    from .client import Client
    from .server import Server

_logged: set[tuple[str, str, int]] = set()  # where each logged bug was raised (one node a process)


def handler_failed(server: Server, client: Client, cmd: Command, exc: Exception,
                   wrote: bool) -> CommandError:
    """Log and count ``exc``, resynchronise the copies if the handler ``wrote``; return the
    error to reply."""
    frames = traceback.extract_tb(exc.__traceback__)
    site = (frames[-1].filename, type(exc).__name__, frames[-1].lineno or 0) if frames else (
        "", type(exc).__name__, 0)
    if site not in _logged:
        _logged.add(site)
        trace = "".join(traceback.format_exception(exc)).rstrip()
        server.log_warning(f"Internal error in '{cmd.fullname}' (a bug; logged once, "
                           f"later ones only counted) from client {client.describe()}:\n{trace}")
    if wrote and server.loaded:
        resynchronise(server)
    message = errors.INTERNAL_ERROR % type(exc).__name__
    cmd.failed_calls += 1
    server.count_error(message)
    return CommandError(message)


def resynchronise(server: Server) -> None:
    """Remake every copy of the dataset from what it now is (see the module's docstring)."""
    server.log_warning("The failed command changed the dataset: replicas resynchronise "
                       "fully and the AOF is rewritten")
    repl = server.replication
    repl.new_history()
    if repl.link is not None:
        repl.link.resync()
    else:
        repl.disconnect_replicas()
    if server.aof.on:
        server.aof.rewrite()
