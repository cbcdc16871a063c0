"""Server commands: TIME, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, MONITOR, SHUTDOWN."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.watch import touch_all
from ..protocol.reply import OK, Raw
from ..table.command import command
from .args import to_int

if TYPE_CHECKING:
    from .context import Client

NO_REPLY = Raw(b"")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


@command("time")
def time_(c: Client, argv: list[bytes]) -> Any:
    micros = time.time_ns() // 1000
    return [b"%d" % (micros // 1_000_000), b"%d" % (micros % 1_000_000)]


@command("dbsize")
def dbsize(c: Client, argv: list[bytes]) -> Any:
    return len(c.db)


def _check_flush_args(argv: list[bytes]) -> None:
    """getFlushCommandFlags: nothing, SYNC or ASYNC. Both free at once here: values
    are Python objects the runtime frees as they go, there is no lazyfree thread."""
    if len(argv) == 2 and argv[1].lower() in (b"sync", b"async"):
        return
    if len(argv) != 1:
        raise CommandError(errors.SYNTAX)


@command("flushdb")
def flushdb(c: Client, argv: list[bytes]) -> Any:
    _check_flush_args(argv)
    c.db.flush()
    c.server.keyspace_stats.signal_flushed()
    c.force_propagation()  # an empty database's FLUSHDB too
    return OK


@command("flushall")
def flushall(c: Client, argv: list[bytes]) -> Any:
    _check_flush_args(argv)
    server = c.server
    for db in server.dbs:
        db.flush()
    server.keyspace_stats.signal_flushed()
    server.snapshots.flushed_all()  # its save, if any, resets the dirty counter
    c.force_propagation()  # an empty dataset's FLUSHALL too, and after the save
    return OK


def _db_index(arg: bytes, message: str) -> int:
    """getIntFromObjectOrReply: a 32-bit int, else the command's own message."""
    value = to_int(arg, message)
    if not INT_MIN <= value <= INT_MAX:
        raise CommandError(message)
    return value


@command("swapdb")
def swapdb(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    if server.cluster_enabled:
        raise CommandError(errors.SWAPDB_CLUSTER)
    first = _db_index(argv[1], errors.SWAPDB_INVALID_FIRST)
    second = _db_index(argv[2], errors.SWAPDB_INVALID_SECOND)
    count = len(server.dbs)
    if not (0 <= first < count and 0 <= second < count):
        raise CommandError(errors.DB_INDEX_OUT_OF_RANGE)
    if first != second:
        one, other = server.dbs[first], server.dbs[second]
        touch_all(one, other)  # before the swap, as dbSwapDatabases does
        touch_all(other, one)
        one.swap_with(other)
    server.keyspace_stats.dirty += 1
    return OK


@command("monitor")
def monitor(c: Client, argv: list[bytes]) -> Any:
    if c.multi:
        raise CommandError(errors.MONITOR_DENY_BLOCKING)
    if c.monitor:
        return NO_REPLY
    c.monitor = True
    c.server.monitors.append(c)
    return OK


SHUTDOWN_FLAGS = (b"nosave", b"save", b"now", b"force")


@command("shutdown")
def shutdown(c: Client, argv: list[bytes]) -> Any:
    """Stop the server as SIGTERM does. The client gets no reply: the connection closes.

    The final snapshot is written when save points are set (or SAVE), unless NOSAVE; a
    failed one refuses the shutdown unless FORCE. NOW changes nothing (there are no
    replicas to wait for); a shutdown is never pending, so ABORT always finds none.
    """
    flags: set[bytes] = set()
    abort = False
    for arg in argv[1:]:
        word = arg.lower()
        if word in SHUTDOWN_FLAGS:
            flags.add(word)
        elif word == b"abort":
            abort = True
        else:
            raise CommandError(errors.SYNTAX)
    if (abort and flags) or {b"save", b"nosave"} <= flags:
        raise CommandError(errors.SYNTAX)
    if abort:
        raise CommandError(errors.NO_SHUTDOWN_IN_PROGRESS)
    server = c.server
    busy = server.busy_script
    if busy is not None and b"nosave" not in flags:  # a script timed out: NOSAVE only
        raise CommandError(errors.BUSY_EVAL if busy.eval_mode else errors.BUSY_FUNCTION)
    save = b"save" in flags or (bool(server.config["save"]) and b"nosave" not in flags)
    if not server.snapshots.prepare_shutdown(save, b"force" in flags):
        raise CommandError(errors.SHUTDOWN_ERRORS)
    c.close_after_reply()
    if server.shutdown_event is not None:
        server.shutdown_event.set()
    return NO_REPLY
