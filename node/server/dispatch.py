"""Command execution in Redis's order (server.c processCommand, then call()).

lookup -> arity -> auth -> ACL -> cluster redirect -> maxmemory (eviction, OOM) -> MISCONF ->
NOREPLICAS -> READONLY (replica) -> subscribed mode (RESP2) -> LOADING -> pause -> MULTI
queueing
-> call, with per-command statistics, error statistics, slowlog, latency monitor and
MONITOR feed. This is the one place that order lives.
"""

from __future__ import annotations

from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Final

from ..acl.check import check_command
from ..base import errors
from ..base.errors import CommandError
from ..cluster.routing import refuse
from ..commands.acl_access import refusal as acl_refusal
from ..keyspace.blocking import BLOCKED, serve_ready
from ..keyspace.eviction import EVICT_FAIL
from ..observability.slowlog import redacted
from ..protocol.reply import _ENCODERS, OK, QUEUED, bulk_reply, encode, int_reply
from .handler_faults import handler_failed

# Final: compiled code uses them as constants (other module-level names it looks up by
# name at each use).
OK_REPLY: Final = b"+OK\r\n"
NULL_RESP2: Final = b"$-1\r\n"
NULL_RESP3: Final = b"_\r\n"
_CLOCK: Final = perf_counter_ns
_OK: Final = OK  # reply.OK itself (not a literal: handlers' replies are told by identity)
# Requests whose keys one prefetch covers (Database.fetch_ahead): their entries fit the L1
# cache many times over, and Valkey's default batch is 16 too.
PREFETCH_AHEAD: Final = 16

if TYPE_CHECKING:
    from ..table.command import Command
    from .client import Client
    from .server import Server


def _args_preview(argv: list[bytes]) -> str:
    """The ``with args beginning with:`` part: ``'%.*s' `` per arg until 128 bytes."""
    out = b""
    for arg in argv[1:]:
        if len(out) >= 128:
            break
        out += b"'%s' " % _c_string(arg)[: 128 - len(out)]
    return out.decode("utf-8", "surrogateescape")


def _c_string(arg: bytes) -> bytes:
    """What C's ``%s`` prints of an argument: up to its first NUL."""
    nul = arg.find(b"\0")
    return arg if nul < 0 else arg[:nul]


def lookup(server: Server, argv: list[bytes]) -> Command | str:
    """The command for ``argv``, or the error text for an unknown (sub)command."""
    name = argv[0]
    cmd = server.commands.get(name.lower().decode("utf-8", "surrogateescape"))
    if cmd is not None and cmd.subcommands is not None and len(argv) > 1:
        sub = cmd.subcommands.get(argv[1].lower().decode("utf-8", "surrogateescape"))
        if sub is None:
            return errors.UNKNOWN_SUBCOMMAND % (
                _c_string(argv[1])[:128].decode("utf-8", "surrogateescape"), cmd.name.upper())
        return sub
    if cmd is None:
        return errors.UNKNOWN_COMMAND % (
            _c_string(name)[:128].decode("utf-8", "surrogateescape"), _args_preview(argv))
    return cmd


def check(server: Server, client: Client, cmd: Command, argv: list[bytes]) -> str | None:
    """The rejection text for this call, or None: arity, protection, authentication, MULTI."""
    arity = cmd.arity
    argc = len(argv)
    if (arity > 0 and arity != argc) or argc < -arity:
        return errors.WRONG_ARITY % cmd.fullname
    if "protected" in cmd.flags and not protected_allowed(server, client, cmd):
        name = (cmd.parent or cmd).name
        return errors.PROTECTED_COMMAND % (name.upper(), f"enable-{name}-command")
    if not client.authenticated and not cmd.noauth:
        return errors.NOAUTH
    if client.multi and cmd.no_multi:
        return errors.NOT_ALLOWED_IN_MULTI
    return None


def protected_allowed(server: Server, client: Client, cmd: Command) -> bool:
    """allowProtectedAction: enable-<name>-command is yes, or local and so is the client."""
    directive = f"enable-{(cmd.parent or cmd).name}-command"
    setting = server.config[directive] if directive in server.config.values else "no"
    if setting == "local":
        return client.is_loopback()
    return bool(setting == "yes")


def reject(server: Server, client: Client, message: str, cmd: Command | None) -> None:
    """A command refused before it ran: counted as rejected, reply sent as an error.

    Inside MULTI the refusal also dooms the transaction (flagTransaction): EXEC aborts;
    a refused EXEC itself discards the transaction with the reason (execCommandAbort).
    """
    if client.multi:
        client.dirty_exec = True
    if cmd is not None and cmd.name == "exec":
        client.discard_transaction()  # execCommandAbort
        message = errors.EXECABORT_BECAUSE % message.removeprefix("ERR ")
    if cmd is not None:
        cmd.rejected_calls += 1
    if client.asking and not client.multi and (cmd is None or cmd.name != "asking"):
        client.asking = False  # resetClient: ASKING covers one command, refused or not
    server.count_error(message)
    client.refuse(message)


def execute(server: Server, client: Client, argv: list[bytes]) -> None:
    """Run one request for ``client``; the reply goes to ``client.out``.

    The common case (a known top-level command sent in lower or upper case) costs one
    dict lookup; everything else takes ``lookup``.
    """
    cmd = server.command_index.get(argv[0])
    if cmd is None or cmd.subcommands is not None:
        found = lookup(server, argv)
        if isinstance(found, str):
            reject(server, client, found, None)
            return
        cmd = found
        if "protected" in cmd.flags:
            refusal = check(server, client, cmd, argv)
            if refusal is not None:
                reject(server, client, refusal, cmd)
                return
    arity = cmd.arity
    if ((arity != len(argv) and arity > 0) or len(argv) < -arity or not client.authenticated
            or client.multi):
        refusal = check(server, client, cmd, argv)
        if refusal is not None:
            reject(server, client, refusal, cmd)
            return
    if not client.user.unrestricted and not client.is_master:  # master, AOF: no user
        refusal = acl_refusal(client, cmd, argv)
        if refusal is not None:
            reject(server, client, refusal, cmd)
            return
    if server.cluster is not None:
        refusal = server.cluster.route(client, cmd, argv)
        if refusal is not None:
            refuse(server, client, cmd, refusal)
            return
    if server.maxmemory and out_of_memory(server, client, cmd):
        reject(server, client, errors.OOM, cmd)
        return
    persistence = server.persistence_check
    if persistence is not None:  # -MISCONF after a failed BGSAVE
        refusal = persistence.disk_error_refusal(client, cmd)
        if refusal is not None:
            reject(server, client, refusal, cmd)
            return
    if server.write_guard and (cmd.write or (cmd.name == "exec" and client.mstate.writes)):
        refusal = write_refusal(server, client)
        if refusal is not None:
            reject(server, client, refusal, cmd)
            return
    if client.pubsub and not client.resp3 and cmd.name not in SUBSCRIBED_MODE_COMMANDS:
        reject(server, client, errors.PUBSUB_CONTEXT % cmd.fullname, cmd)
        return
    if persistence is not None:
        refusal = persistence.loading_refusal(cmd)
        if refusal is not None:
            reject(server, client, refusal, cmd)
            return
    busy = server.busy_script
    if busy is not None and "allow_busy" not in cmd.flags:
        reject(server, client, errors.BUSY_EVAL if busy.eval_mode else errors.BUSY_FUNCTION, cmd)
        return
    if server.pause.mode is not None and server.pause.blocks(
            cmd.write or cmd.may_replicate or (cmd.name == "exec" and client.mstate.writes)):
        client.postpone(argv)
        return
    if client.multi and cmd.name not in NOT_QUEUED:
        client.mstate.queue(cmd, argv)
        client.reply(QUEUED)
        return
    tracker = server.tracker
    if tracker.tracking_clients:
        tracker.limit()
    call(server, client, cmd, argv)
    if tracker.pending:
        tracker.flush_pending()  # after the reply, as afterCommand does
    tracking = client.tracking
    if (tracking is not None and tracking.caching and not client.multi
            and (cmd.parent or cmd).name != "client"):
        tracking.caching = False  # CLIENT CACHING covers the next command only


def write_refusal(server: Server, client: Client) -> str | None:
    """min-replicas-to-write on a master (-NOREPLICAS), replica-read-only (-READONLY)."""
    if server.replication.refuses_writes():
        return errors.NOREPLICAS
    if (server.replication.link is not None and server.config["replica-read-only"]
            and not client.is_master):
        return errors.READONLY_REPLICA
    return None


def out_of_memory(server: Server, client: Client, cmd: Command) -> bool:
    """processCommand's maxmemory step: evict as needed; True when ``cmd`` must get -OOM.

    Refused when eviction cannot bring memory under the limit: commands that may grow the
    dataset (denyoom), EXEC of a transaction holding one, and any command queued in MULTI
    (a queue grows without bound), but never EXEC, DISCARD, QUIT or RESET themselves.
    """
    if server.evictor.perform() != EVICT_FAIL:
        return False
    if cmd.denyoom or (cmd.name == "exec" and client.mstate.denyoom):
        return True
    return client.multi and cmd.name not in OOM_EXEMPT_IN_MULTI


# What a RESP2 client may run while subscribed (processCommand).
SUBSCRIBED_MODE_COMMANDS = frozenset({"ping", "subscribe", "ssubscribe", "unsubscribe",
                                      "sunsubscribe", "psubscribe", "punsubscribe", "quit",
                                      "reset"})

OOM_EXEMPT_IN_MULTI = frozenset({"exec", "discard", "quit", "reset"})

# Commands that act at once even between MULTI and EXEC (processCommand).
NOT_QUEUED = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})


def call(server: Server, client: Client, cmd: Command, argv: list[bytes]) -> None:
    """Run the handler, encode its reply (call() in server.c)."""
    start = len(client.out)
    propagation = server.propagation
    offset = propagation.offset
    result = invoke(server, client, cmd, argv)
    if result is not BLOCKED and not client.silent:
        encode(client.out, result, client.resp3)
    stats = server.keyspace_stats
    if stats.ready_keys:
        serve_ready(stats)
    if propagation.pending:
        propagation.flush()
    if propagation.offset != offset:  # flushed here, or by a served client's reply
        client.woff = propagation.offset
    if server.write_ack and cmd.shows_data:  # zero-loss: held until replicas have what it shows
        server.replication.gate.tag(client, start)


def invoke(server: Server, client: Client, cmd: Command, argv: list[bytes]) -> Any:
    """Run the handler and account for it; return its reply value (an error included).

    EXEC uses this for each queued command, collecting the replies into its own.
    """
    client.cmd = cmd
    # CLIENT NO-TOUCH: reads leave the access clock alone, except TOUCH itself.
    no_touch = client.no_touch and cmd.name != "touch"
    stats = server.keyspace_stats
    if no_touch:
        stats.no_touch = True
    dirty = stats.dirty
    start = perf_counter_ns()
    try:
        result: Any = cmd.handler(client, argv)  # type: ignore[misc]
    except CommandError as exc:
        cmd.failed_calls += 1
        server.count_error(exc.message)
        result = exc
    except Exception as exc:  # a bug: answered, and its writes go to no stream
        result = handler_failed(server, client, cmd, exc, stats.dirty != dirty)
        dirty = stats.dirty
    finally:
        if no_touch:
            stats.no_touch = False
    duration = (perf_counter_ns() - start) // 1000
    hot = client.hot
    if hot.propagation.active:
        propagate(server, client, cmd, argv, stats.dirty > dirty)
    cmd.calls += 1
    cmd.usec += duration
    if hot.latency_tracking:
        cmd.record_latency(duration)
    hot.stat_numcommands += 1
    if client.internal:
        hot.stat_internal_commands += 1
    if duration >= hot.slowlog_threshold >= 0 and not cmd.skip_slowlog:
        server.slowlog.add(client, cmd, argv, duration)
    if hot.latency_threshold and duration // 1000 >= hot.latency_threshold:
        server.latency.add("command" if not cmd.fast else "fast-command", duration // 1000)
    if hot.monitors and not cmd.skip_monitor and not cmd.admin:
        server.feed_monitors(client, redacted(cmd, argv))
    if client.tracking is not None and cmd.readonly and not cmd.pubsub:
        server.tracker.remember(client, [argv[pos] for pos in cmd.keys(argv)])
    return result


def propagate(server: Server, client: Client, cmd: Command, argv: list[bytes],
              dirty: bool) -> None:
    """call()'s propagation: a command that raised the dirty counter (``dirty``; not one
    that lowered it, as SAVE does) or forced it (``Client.force_propagation``) goes to the
    stream as its effects (``client.propagate_as`` when the handler rewrote it). EXEC's
    commands went one by one; the master's own commands are relayed as received
    (replication.py)."""
    rewritten = client.propagate_as
    client.propagate_as = None
    if client.propagate_forced:
        client.propagate_forced = False
        dirty = True
    if not dirty or client.is_master or cmd.name == "exec":
        return
    db_id = client.db.id
    if rewritten is None:
        server.propagation.add(db_id, argv)
    else:
        for effect in rewritten:
            server.propagation.add(db_id, effect)


def run_requests(server: Server, client: Client, requests: list[list[bytes]]) -> int:
    """Run ``requests`` in order for ``client``; return how many ran.

    Fewer than all ran when the client must wait (CLIENT PAUSE, blocking commands) or is
    closing. Data commands run on a short path while nothing in the client's or server's
    state calls for the full checks of ``execute``: it is the same sequence as
    ``execute`` + ``call`` (lookup, arity, handler, statistics, slowlog, latency, reply)
    with the state checks done once per stretch instead of once per request (a restricted
    user's ACL check stays per request: a refusal leaves it to ``execute``). Any other
    request goes through ``execute``, after which the state is read again. With
    ``server.fast_dispatch`` off (REDSLOT_FAST_DISPATCH=0) every request does, so the
    tests can hold the two paths to the same replies.
    """
    hot = client.hot
    index = hot.command_index
    stats = hot.keyspace_stats
    ready = stats.ready_keys
    clock = _CLOCK
    encoders = _ENCODERS
    ok = _OK
    n = len(requests)
    i = 0
    while i < n:
        if stats.invalidate is not None:  # some client tracks keys (CLIENT TRACKING)
            hot.tracker.current = client  # whose writes they are: NOLOOP, pending invalidations
        if (hot.fast_dispatch and client.authenticated and not client.silent
                and not client.reply_skip_next
                and not client.no_touch and hot.pause.mode is None and not hot.monitors
                and not client.multi and not client.waiting and not client.closing
                and not client.asking and not client.pubsub and client.tracking is None
                and hot.persistence_check is None
                and not hot.write_ack):
            out = client.out
            resp3 = client.resp3
            null = NULL_RESP3 if resp3 else NULL_RESP2
            tracking = hot.latency_tracking
            slow_us = hot.slowlog_threshold
            latency_ms = hot.latency_threshold
            cluster = hot.cluster
            maxmemory = hot.maxmemory
            unsettled = stats.unsettled
            propagation = hot.propagation
            propagating = propagation.active
            pending = propagation.pending
            write_guard = hot.write_guard and not client.is_master
            user = client.user
            restricted = not user.unrestricted and not client.is_master
            first = i
            ran: Command | None = None
            # One clock read per request: a call's time runs from the end of the one
            # before (its bookkeeping, then this one's lookup, checks, handler and reply),
            # or from a clock read after work that is no call's (a slowlog entry, serving
            # blocked clients, writing the replication stream). Redis times proc(), reply
            # included.
            start = clock()
            fetched = i  # requests[:fetched] had their keyspace entries prefetched
            while i < n:
                if i == fetched:
                    fetched = i + PREFETCH_AHEAD
                    if n - i > 1:
                        db = client.db
                        db.fetch_ahead(requests, i, fetched, db.kv, db.meta)
                argv = requests[i]
                cmd = index.get(argv[0])
                if cmd is None or not cmd.data:
                    break
                arity = cmd.arity
                argc = len(argv)
                if (arity != argc and arity > 0) or argc < -arity:
                    break
                if cluster is not None and cluster.route(client, cmd, argv) is not None:
                    break
                # Over the limit, or just back under it: execute's eviction step then
                # evicts, or ends the period INFO counts as over the limit. The values
                # the last commands changed are costed first: a write past the limit is
                # caught by the command after it, as in Redis.
                if maxmemory:
                    if unsettled:
                        stats.settle()
                    if (hot.mem_overhead + stats.data_bytes > maxmemory
                            or server.evictor.exceeded_since):
                        break
                if write_guard and cmd.write:
                    break
                if restricted and check_command(user, cmd, argv)[0]:
                    break  # execute refuses it, and logs the refusal
                dirty = stats.dirty
                try:
                    result: Any = cmd.handler(client, argv)  # type: ignore[misc]
                except CommandError as exc:
                    cmd.failed_calls += 1
                    server.count_error(exc.message)
                    result = exc
                except Exception as exc:  # a bug: answered, and its writes go to no stream
                    result = handler_failed(server, client, cmd, exc, stats.dirty != dirty)
                    dirty = stats.dirty
                kind = type(result)
                if kind is bytes:
                    out.append(bulk_reply(result))
                elif result is ok:
                    out.append(OK_REPLY)
                elif result is None:
                    out.append(null)
                elif kind is int:
                    out.append(int_reply(result))
                else:
                    encoders[kind](out, result, resp3)
                end = clock()
                duration = (end - start) // 1000
                start = end
                if propagating:
                    propagate(server, client, cmd, argv, stats.dirty > dirty)
                cmd.calls += 1
                cmd.usec += duration
                if tracking:
                    short = cmd.latency_short
                    if duration < len(short):
                        short[duration] = short[duration] + 1  # += is a generic add
                    else:
                        cmd.record_latency(duration)
                if duration >= slow_us >= 0 and not cmd.skip_slowlog:
                    server.slowlog.add(client, cmd, argv, duration)
                    start = clock()
                if latency_ms and duration // 1000 >= latency_ms:
                    server.latency.add("command" if not cmd.fast else "fast-command", duration // 1000)
                if ready or pending:
                    if ready:
                        serve_ready(stats)
                    if pending:
                        propagation.flush()
                        client.woff = propagation.offset
                    start = clock()
                ran = cmd
                i += 1
            if ran is not None:
                client.cmd = ran
                hot.stat_numcommands += i - first
                if client.internal:
                    hot.stat_internal_commands += i - first
            if i >= n:
                break
        if client.closing:
            return i
        execute(server, client, requests[i])
        i += 1
        if client.waiting:
            return i
        if client.reply_skip or client.reply_skip_next:
            client.rotate_skip()
    return n
