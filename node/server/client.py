"""A client: its state and how its requests run (the socket side is connection.py).

Requests are parsed per read, run in order, and all replies of one read are written with
one ``transport.write``. A client whose next request must wait (CLIENT PAUSE, a blocking
command) keeps the rest of its requests queued until resumed, but is still read from, as
Redis reads a blocked client into its query buffer: a peer that hangs up meanwhile is
forgotten at once (``connection_lost``), and what it queues counts toward
``client-query-buffer-limit``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Final

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.blocking import Blocked, release
from ..keyspace.watch import WatchedKey, unwatch_all
from ..protocol.quoting import repr_arg
from ..protocol.reply import encode, error_line
from ..protocol.request import RequestParser
from ..pubsub.hub import Subscriptions
from ..pubsub.tracking import TrackingState
from ..table.multi import MultiState
from .client_eviction import evict_clients
from .connection import FULL_READ, Connection
from .dispatch import run_requests

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..table.command import Command
    from .server import Server


EVICTION_CHECK_INPUT: Final = 32 * 1024  # unparsed input past this makes maxmemory-clients look


class Client(Connection):
    __slots__ = (
        "id", "name", "lib_name", "lib_ver", "resp3", "authenticated", "user", "parser", "out",
        "queue", "queued_bytes", "waiting", "closing", "cmd", "created", "last_interaction",
        "silent", "reply_off", "reply_skip", "reply_skip_next", "no_evict", "no_touch",
        "monitor", "asking", "readonly", "is_master", "replica", "propagate_as", "propagate_forced",
        "woff",
        "replica_port", "replica_ip", "replica_req", "held", "held_writes", "out_writes", "held_since",
        "multi", "mstate", "dirty_exec", "dirty_cas", "watched", "blocked",
        "pubsub", "subscriptions", "pushed", "obuf_soft_since", "tracking", "internal",
        "running", "migrated_ahead",
    )

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.id = 0
        self.name = ""
        self.internal = False  # a peer link or the control plane (cluster/internal_clients.py)
        self.lib_name = ""
        self.lib_ver = ""
        self.db: Database = server.dbs[0]
        self.resp3 = False
        self.user = server.acl.default
        self.authenticated = self.user.nopass and self.user.enabled
        self.parser = RequestParser(server.config["proto-max-bulk-len"])
        self.parser.auth_required = not self.authenticated
        self.out: list[bytes] = []
        self.queue: deque[list[bytes]] = deque()
        self.queued_bytes = 0  # received while waiting: part of the query buffer
        self.waiting = False
        self.closing = False
        self.cmd: Command | None = None
        now = time.time()
        self.created = now
        self.last_interaction = now
        # CLIENT REPLY: ``silent`` is reply_off or reply_skip, kept as one flag for speed.
        self.silent = False
        self.reply_off = False
        self.reply_skip = False
        self.reply_skip_next = False
        self.no_evict = False
        self.no_touch = False
        self.monitor = False
        self.asking = False  # cluster: ASKING, valid for the next command
        self.readonly = False  # cluster: READONLY, reads served by a replica
        # replication: this client is our master's link / a replica of ours (its link
        # state); the effects a handler propagates instead of its argv; the stream offset
        # after this client's last write (WAIT)
        self.is_master = False
        self.replica: Any = None
        self.propagate_as: list[list[bytes]] | None = None
        self.propagate_forced = False  # force_propagation
        self.woff = 0
        self.replica_port = 0  # REPLCONF listening-port / ip-address, before PSYNC
        self.replica_ip = ""
        self.replica_req = 0  # REPLCONF capa eof / rdb-only / rdb-filter-only (master.py REQ_*)
        # min-replicas-ack (ackgate.py): replies held until replicas have our writes, and
        # (start, end, offset of the last write they may show) of the replies that wait
        self.held: list[bytes] = []
        self.held_writes: list[tuple[int, int, int]] = []
        self.out_writes: list[tuple[int, int, int]] = []
        self.held_since = 0.0
        # MULTI/EXEC (transactions.py): ``multi`` while queueing; ``dirty_exec`` after a
        # refused request (EXEC aborts), ``dirty_cas`` after a watched key changed (EXEC nil).
        self.multi = False
        self.mstate = MultiState()
        self.dirty_exec = False
        self.dirty_cas = False
        self.watched: list[WatchedKey] = []
        self.blocked: Blocked | None = None  # waiting on keys (blocking.py)
        # The requests being run, for a MIGRATE that batches the MIGRATEs behind it, and
        # their results, (request, reply or error), for when their turn comes (migrate.py).
        self.running: list[list[bytes]] | None = None
        self.migrated_ahead: list[tuple[list[bytes], Any]] | None = None
        # Pub/Sub (pubsub/hub.py): subscribed to something; what to; frames pushed this
        # loop turn, written by the server's end-of-turn flush.
        self.pubsub = False
        self.subscriptions: Subscriptions | None = None
        self.pushed = False
        self.obuf_soft_since = 0.0  # client-output-buffer-limit: over the soft limit since
        self.tracking: TrackingState | None = None  # CLIENT TRACKING (pubsub/tracking.py)

    # --- the event loop's protocol calls ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        adopted = self.transport is not None  # served by a busy script's hook meanwhile
        super().connection_made(transport)
        self.server.connecting.pop(id(self), None)
        if not adopted:
            self.server.add_client(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._detach()
        self.transport = None

    def _detach(self) -> None:
        """freeClient's bookkeeping: out of every key queue, watch list and client table.

        Done when the connection closes and already when the server closes it (CLIENT
        KILL, idle timeout): no write made after that may serve or count this client."""
        self.closing = True
        if self.watched:
            unwatch_all(self)
        if self.blocked is not None:
            release(self.blocked)
        self.waiting = False
        if self.replica is not None:
            self.server.replication.forget(self)
        if self.subscriptions is not None:
            self.server.pubsub.drop(self)
        if self.tracking is not None:
            self.server.tracker.disable(self)
        self.server.remove_client(self)

    def data_received(self, data: bytes) -> None:
        hot = self.hot
        if hot.pace.resting:
            self.server.wake_cron()
        size = len(data)
        self.tot_net_in += size
        hot.stat_net_input_bytes += size
        hot.stat_total_reads_processed += 1
        self.last_interaction = hot.now
        parser = self.parser
        requests = parser.feed(data)
        held = bool(self.queue) or self.waiting
        if held:
            self.queued_bytes += size
        if parser.buffered + self.queued_bytes > hot.query_buffer_limit:
            server = self.server
            head = repr_arg(parser.head(64)).decode("utf-8", "surrogateescape")
            server.log_warning("Closing client that reached max query buffer length: "
                               f"{self.describe()} (qbuf initial bytes: {head})")
            server.stat_client_qbuf_limit_disconnections += 1
            self.close()
            return
        if hot.client_eviction and parser.buffered + self.queued_bytes > EVICTION_CHECK_INPUT:
            evict_clients(self.server)
            if self.closing:
                return
        if held:
            self.queue.extend(requests)
            return  # run, and any protocol error answered, once resumed
        self._run(requests)
        if parser.deferred:
            self._run_deferred()
        if parser.error is not None and not self.waiting and not self.closing:
            self.protocol_error(parser.error)
        self.flush()
        if size >= FULL_READ:
            self.yield_turn()

    # --- running requests ---

    def _run(self, requests: list[list[bytes]]) -> None:
        self.running = requests
        try:
            done = run_requests(self.server, self, requests)
        finally:
            self.running = self.migrated_ahead = None
        if self.waiting and done < len(requests):
            self.queue.extend(requests[done:])

    def _run_deferred(self) -> None:
        """Parse on past a header the parser deferred until the requests before it ran
        (an unauthenticated client's AUTH followed by a large request, request.py)."""
        parser = self.parser
        while parser.deferred and not self.waiting and not self.closing:
            self._run(parser.feed(b""))

    def force_propagation(self) -> None:
        """forceCommandPropagation: this command goes to the stream even though the
        dirty counter did not rise during it (FLUSHALL, whose save resets the counter)."""
        if self.hot.propagation.active:
            self.propagate_forced = True

    def rewrite(self, *effects: list[bytes]) -> None:
        """Propagate ``effects`` instead of this command (rewriteClientCommandVector,
        alsoPropagate): for commands whose replay would not give the same result."""
        if self.hot.propagation.active:
            self.propagate_as = list(effects)

    def rotate_skip(self) -> None:
        """CLIENT REPLY SKIP silences exactly the request after it."""
        self.reply_skip = self.reply_skip_next
        self.reply_skip_next = False
        self.silent = self.reply_off or self.reply_skip

    def postpone(self, argv: list[bytes]) -> None:
        """Hold this request (and the ones after it) until ``resume``."""
        self.queue.appendleft(argv)
        self.waiting = True
        self.server.pause.postponed.append(self)

    def resume(self) -> None:
        self.waiting = False
        self.run_queued()

    def run_queued(self) -> None:
        """Run the requests queued while waiting, unless the client waits again."""
        if self.transport is None or self.waiting:
            return
        queued = list(self.queue)
        self.queue.clear()
        self.queued_bytes = 0
        self._run(queued)
        self._run_deferred()
        parser = self.parser
        if parser.error is not None and not self.closing and not self.waiting:
            self.protocol_error(parser.error)
        self.flush()
        if self.closing and self.transport is not None:
            self.transport.close()

    # --- replies ---

    def reply(self, value: Any) -> None:
        if not self.silent:
            start = len(self.out)
            encode(self.out, value, self.resp3)
            cmd = self.cmd
            if self.hot.write_ack and cmd is not None and cmd.shows_data:
                # e.g. a BLPOP served by a push: it waits for the push (ackgate.py), which
                # must be in the stream for that
                propagation = self.server.propagation
                if propagation.pending:
                    propagation.flush()
                self.server.replication.gate.tag(self, start)

    def refuse(self, message: str) -> None:
        """A command refused before it ran (processCommand's rejectCommand): the error shows
        no data, so in zero-loss mode it waits for nothing of its own (only behind the
        replies held before it)."""
        if not self.silent:
            encode(self.out, CommandError(message), self.resp3)

    def send(self, value: Any) -> None:
        """Write a reply now, outside the request cycle (MONITOR feed, unblocked clients)."""
        out: list[bytes] = []
        encode(out, value, self.resp3)
        self.write(b"".join(out))

    def push(self, frame: bytes) -> None:
        """An out-of-band frame (pub/sub message, invalidation): sent even under CLIENT
        REPLY OFF, written at the end of this loop turn with whatever else is queued."""
        self.out.append(frame)
        if not self.pushed:
            self.pushed = True
            self.server.schedule_push_flush(self)

    def flush(self) -> None:
        hot = self.hot
        cluster = hot.cluster
        if cluster is not None and cluster.unsaved:
            cluster.settle_save()  # the table these replies report is on disk first
        # An AOF buffers only while attached to the stream: its Python fields read then only.
        if self.out and hot.propagation.aof is not None and hot.aof.buf and hot.aof.hold(self):
            return  # written once this loop turn's AOF write is done (aof.py)
        if self.out_writes or self.held:
            self.server.replication.gate.hold(self)
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            if len(data) > self.reply_peak:
                self.reply_peak = len(data)
            self.write(data)
            if self.unsent:  # the transport took some: is it still waiting there?
                transport = self.transport
                if transport is not None and transport.get_write_buffer_size():
                    if not self.server.output_limits.check(self) and hot.client_eviction:
                        evict_clients(self.server)
                else:
                    self.unsent = False
        if self.closing and self.transport is not None and not self.queue:
            self.transport.close()

    def protocol_error(self, text: str) -> None:
        self.server.count_error("ERR")
        self.out.append(b"-%s\r\n" % error_line(errors.PROTOCOL_ERROR % text))
        self.server.log_verbose(f"Protocol error ({text}) from client: {self.describe()}")
        self.close_after_reply()

    def close_after_reply(self) -> None:
        self.closing = True
        self.queue.clear()

    def close(self) -> None:
        self.queue.clear()
        self._detach()
        if self.transport is not None:
            self.transport.close()

    def drop(self) -> None:
        """Close now, discarding unsent output (output buffer limits: freeing that
        memory is the point)."""
        self.queue.clear()
        self.out.clear()
        self._detach()
        if self.transport is not None:
            self.transport.abort()

    def reject_and_close(self, message: str) -> None:
        """Refuse a new connection (maxclients) the way Redis does: one error, then close."""
        self.write(b"-%s\r\n" % error_line(message))
        self.close()

    def discard_transaction(self) -> None:
        """discardTransaction: leave MULTI, forget the queue, the flags and the watches."""
        self.multi = False
        self.mstate = MultiState()
        self.dirty_exec = self.dirty_cas = False
        if self.watched:
            unwatch_all(self)
        if self.blocked is not None:
            release(self.blocked)

    def set_resp(self, version: int) -> None:
        self.resp3 = version == 3

    def select(self, index: int) -> None:
        self.db = self.server.dbs[index]

    def describe(self) -> str:
        return f"id={self.id} addr={self.addr} laddr={self.laddr} name={self.name}"
