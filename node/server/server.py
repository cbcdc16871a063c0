"""The node's process-wide state and lifecycle: listeners, clients, databases, the cron."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import ssl
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from .. import REDIS_VERSION
from ..acl.users import Users
from ..base import errors
from ..base.keyindex import REHASH_SLOTS, rehash
from ..cluster.links import start_cluster
from ..cluster.migrate_sockets import MigrateSockets
from ..cluster.pubsub import ShardChannelGuard
from ..cluster.routing import redirect_blocked_clients
from ..cluster.state import ClusterState
from ..commands import build_table, context
from ..config import tls
from ..config.directives import Config
from ..keyspace.blocking import disconnect_all as disconnect_blocked
from ..keyspace.database import Database
from ..keyspace.eviction import Evictor
from ..keyspace.expire import active_expire_cycle
from ..keyspace.lfu import LRU_CLOCK_MAX, LfuClock, is_lfu_policy
from ..keyspace.memusage import refresh as refresh_memory
from ..keyspace.pause import PauseState
from ..keyspace.propagation import Propagation
from ..keyspace.stats import EXPIRY_DELETE, EXPIRY_HIDE, KeyspaceStats
from ..observability.latency import LatencyMonitor
from ..observability.metrics import MetricsServer
from ..observability.rates import InstantaneousMetric
from ..observability.slowlog import Slowlog
from ..persistence.aof import AofError, AppendOnly
from ..persistence.context import PersistenceCheck
from ..persistence.snapshots import Snapshots
from ..protocol.quoting import repr_arg
from ..protocol.reply import Push
from ..protocol.request import share_command_names
from ..pubsub.hub import PubSub
from ..pubsub.notifications import keyspace_publisher
from ..pubsub.tracking import Tracker
from ..replication.master import Replication
from ..replication.replica_link import MasterLink
from ..scripting.engine import Engine
from ..scripting.functions import Functions
from ..table.command import Command
from .acceptor import Acceptor, attach, listening_sockets, unix_listening_socket
from .client import Client
from .client_eviction import evict_clients
from .cronpace import CronPace
from .dispatch import execute, invoke, run_requests
from .hot import ServerHot, on_hot
from .outbuf import OutputLimits


class _Overlay:
    """The configuration with pending CONFIG SET values laid over it."""

    def __init__(self, config: Config, changes: dict[str, Any]) -> None:
        self.config = config
        self.changes = changes

    def __getitem__(self, name: str) -> Any:
        return self.changes[name] if name in self.changes else self.config[name]

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..observability.metrics import MetricsServer

LOG_LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3, "nothing": 4}
LOG_MARKS = ".-*#"


class Server:
    # Kept on ``self.hot``, where the compiled client loop reads them (hot.py).
    command_index: dict[bytes, Command] = on_hot("command_index")
    keyspace_stats: KeyspaceStats = on_hot("keyspace_stats")
    tracker: Tracker = on_hot("tracker")
    pause: PauseState = on_hot("pause")
    monitors: list[Client] = on_hot("monitors")
    propagation: Propagation = on_hot("propagation")
    aof: AppendOnly = on_hot("aof")
    pace: CronPace = on_hot("pace")
    now: float = on_hot("now")
    fast_dispatch: bool = on_hot("fast_dispatch")
    cluster: Any = on_hot("cluster")
    persistence_check: PersistenceCheck | None = on_hot("persistence_check")
    maxmemory: int = on_hot("maxmemory")
    mem_overhead: int = on_hot("mem_overhead")
    write_guard: bool = on_hot("write_guard")
    write_ack: int = on_hot("write_ack")
    client_eviction: bool = on_hot("client_eviction")
    query_buffer_limit: int = on_hot("query_buffer_limit")
    latency_tracking: bool = on_hot("latency_tracking")
    slowlog_threshold: int = on_hot("slowlog_threshold")
    latency_threshold: int = on_hot("latency_threshold")
    stat_numcommands: int = on_hot("stat_numcommands")
    stat_internal_commands: int = on_hot("stat_internal_commands")
    stat_net_input_bytes: int = on_hot("stat_net_input_bytes")
    stat_net_output_bytes: int = on_hot("stat_net_output_bytes")
    stat_total_reads_processed: int = on_hot("stat_total_reads_processed")
    stat_total_writes_processed: int = on_hot("stat_total_writes_processed")

    def __init__(self, config: Config, fast_dispatch: bool = True) -> None:
        self.hot = ServerHot()
        self.config = config
        # False: every request goes through dispatch.execute, none through the short loop.
        self.fast_dispatch = fast_dispatch
        self.version = REDIS_VERSION
        self.run_id = secrets.token_hex(20)
        self.pid = os.getpid()
        self.start_time = time.time()
        self.now = self.start_time
        self.commands: dict[str, Command] = build_table()
        self.command_index = {}
        for name, cmd in self.commands.items():
            if "protected" in cmd.flags:
                continue
            self.command_index[name.encode()] = cmd
            self.command_index[name.upper().encode()] = cmd
        share_command_names(self.command_index)
        self.keyspace_stats = KeyspaceStats()
        self.cluster_enabled: bool = config["cluster-enabled"]
        # Cluster mode's state (topology, redirects); None on a standalone node.
        self.cluster = None
        self.migrate_sockets = MigrateSockets()  # MIGRATE's cached connections
        self.dbs = [Database(i, self.keyspace_stats) for i in range(config["databases"])]
        self.clients: dict[int, Client] = {}
        self.next_client_id = 1
        self.monitors = []
        self.pause = PauseState()
        self.pubsub = PubSub()
        notifier = self.keyspace_stats.notifier
        notifier.publish = keyspace_publisher(self.pubsub, notifier)
        self.pushed: list[Client] = []  # clients with frames pushed this loop turn
        self.tracker = Tracker(self.clients, self._track_keyspace)
        self.output_limits = OutputLimits(self)
        # TLS (config/tls.py): the contexts, and the listener on tls-port
        self.tls_server: ssl.SSLContext | None = None
        self.tls_client: ssl.SSLContext | None = None
        self.tls_listener: asyncio.AbstractServer | None = None
        self.tls_listener_shape: tuple[Any, ...] = ()
        self.tls_relisten = asyncio.Lock()
        self.client_eviction = False  # maxmemory-clients is set
        self.shard_channel_guard = ShardChannelGuard()
        self.slowlog = Slowlog(config["slowlog-max-len"])
        self.latency = LatencyMonitor()
        self.errorstats: dict[str, int] = {}
        self.listeners: list[asyncio.AbstractServer | Acceptor] = []
        # accepted connections whose transport the loop has not made yet (acceptor.py)
        self.connecting: dict[int, tuple[Client, socket.socket]] = {}
        self.shutdown_event: asyncio.Event | None = None
        self.cron_handle: asyncio.Handle | None = None
        self.cronloops = 0
        self.pace = CronPace(self.start_time)
        self.cron_paused = False  # DEBUG PAUSE-CRON
        self.lastsave = int(self.start_time)
        self.active_expire_enabled = True
        self.tcp_port = 0
        self.listening = False  # the listeners are open (a TLS-only node keeps tcp_port 0)
        self.requirepass = ""
        self.slowlog_threshold = 0
        self.latency_threshold = 0
        self.query_buffer_limit = 0
        self.stat_acl_denied_auth = 0
        self.stat_acl_denied_cmd = 0
        self.stat_acl_denied_key = 0
        self.stat_acl_denied_channel = 0
        self.acl = Users()
        config.users_for_rewrite = self._users_for_rewrite
        self.latency_tracking = True
        self.propagation = Propagation()
        self.keyspace_stats.propagation = self.propagation
        self.replication = Replication(self)
        self.aof = AppendOnly(self)
        # Writes from clients must be checked (replica-read-only on a replica,
        # min-replicas-to-write on a master): the short path leaves writes to execute().
        self.write_guard = False
        self.write_ack = 0  # min-replicas-ack (ackgate.py)
        self.maxmemory = 0
        self.mem_overhead = 0  # used_memory's non-dataset part, refreshed by the cron
        self.mem_peak = 0
        self.evictor = Evictor(self)
        self.reset_stats()
        self._apply_config()
        if self.cluster_enabled:
            self.cluster = ClusterState.open(self)
        # A callable while a persistence check stands (-LOADING, -MISCONF), else None.
        self.persistence_check = None
        self.snapshots = Snapshots(self)
        self.loaded = False  # the data on disk is loaded (readiness, metrics.py)
        self.loading_stopped = False  # a signal while loading: the loaders stop, no save
        self.metrics: MetricsServer | None = None  # when metrics-port is set
        # Lua scripts and functions; the run past busy-reply-threshold, while there is one
        self.busy_script: Any = None
        self.scripting = Engine(self)
        self.functions = Functions.for_server(self, self.scripting.rand)

    # --- configuration that the hot path reads as plain attributes ---

    def _apply_config(self) -> None:
        cfg = self.config
        watchers: dict[str, Callable[[Any], None]] = {
            "requirepass": self._set_requirepass,
            "acllog-max-len": self._set_acllog_max_len,
            "acl-pubsub-default": self._set_acl_pubsub_default,
            "slowlog-log-slower-than": self._set_slowlog_threshold,
            "slowlog-max-len": self.slowlog.resize,
            "latency-monitor-threshold": self._set_latency_threshold,
            "client-query-buffer-limit": self._set_query_buffer_limit,
            "proto-max-bulk-len": self._set_max_bulk_len,
            "dir": os.chdir,
            "latency-tracking": self._set_latency_tracking,
            "maxmemory": self._set_maxmemory,
            "replica-read-only": self._update_write_guard,
            "min-replicas-to-write": self._update_write_guard,
            "repl-backlog-size": self._resize_backlog,
            "min-replicas-ack": self._set_write_ack,
            "appendonly": self._set_appendonly,
            "maxmemory-policy": self._set_access_clock,
            "lfu-log-factor": self._set_access_clock,
            "lfu-decay-time": self._set_access_clock,
            "notify-keyspace-events": self._set_notify_flags,
            "tracking-table-max-keys": self._set_tracking_max_keys,
            "maxmemory-clients": self._set_client_eviction,
        }
        for name, apply in watchers.items():
            apply(cfg[name])
            cfg.on_change(name, apply)
        for d in dict.fromkeys(cfg.directives.values()):
            if d.name.startswith("tls-"):  # built at start, rebuilt on change
                cfg.on_change(d.name, self._apply_tls)

    def _track_keyspace(self, on: bool) -> None:
        """While some client tracks keys, changes and flushes reach the tracker."""
        stats = self.keyspace_stats
        stats.invalidate = self.tracker.invalidate if on else None
        stats.invalidate_all = self.tracker.invalidate_all if on else None

    # --- TLS (config/tls.py) ---

    def refuse_config(self, changes: dict[str, Any]) -> str | None:
        """applyTlsCfg before the values are stored: a TLS change that cannot be applied is
        refused whole (the reason in the log), leaving the running contexts alone."""
        if not any(name.startswith("tls-") for name in changes):
            return None
        settings = _Overlay(self.config, changes)
        if not tls.wanted(settings):
            return None
        try:
            tls.build(settings)
        except tls.TlsConfigError as exc:
            self.log_warning(str(exc))
            return errors.TLS_UPDATE_FAILED
        return None

    def _apply_tls(self, _value: Any = None) -> None:
        if not tls.wanted(self.config):
            self.tls_server = self.tls_client = None
            return
        self.tls_server, self.tls_client = tls.build(self.config)
        self.tls_server.sni_callback = self._latest_tls
        if self.shutdown_event is not None:  # running: re-listen if tls-port changed
            asyncio.get_running_loop().create_task(self._listen_tls())

    def _latest_tls(self, connection: Any, _name: str | None, _ctx: ssl.SSLContext) -> None:
        """Called in every handshake (with or without SNI): the connection takes the
        context built last, so reloaded certificates, keys and CAs serve new connections
        with the listener kept (re-listening resets connections waiting to be accepted)."""
        if self.tls_server is not None and connection.context is not self.tls_server:
            connection.context = self.tls_server

    def _tls_shape(self) -> tuple[Any, ...]:
        """What a handshake's switch of context does not carry (OpenSSL keeps the
        protocol versions, ciphers and verify mode the connection started with): a change
        of these needs a new listener."""
        return (self.config["tls-port"], *(self.config[name] for name in (
            "tls-protocols", "tls-ciphers", "tls-ciphersuites", "tls-auth-clients",
            "tls-prefer-server-ciphers", "tls-dh-params-file")))

    async def _listen_tls(self) -> None:
        """One re-listen at a time: a CONFIG SET of several tls-* names applies TLS once
        per name, and concurrent re-listens would each bind the port (address in use)."""
        async with self.tls_relisten:
            await self._relisten_tls()

    async def _relisten_tls(self) -> None:
        port = self.config["tls-port"]
        if self.tls_listener is not None:
            if self.tls_listener_shape == self._tls_shape() and self.tls_server is not None:
                return  # new handshakes switch to the new context (_latest_tls)
            self.tls_listener.close()
            self.listeners.remove(self.tls_listener)
            self.tls_listener = None
        if not port or self.tls_server is None:
            return
        listener = await asyncio.get_running_loop().create_server(
            lambda: cast(asyncio.Protocol, Client(self)), host=self._tls_host(), port=port, ssl=self.tls_server,
            backlog=self.config["tcp-backlog"], reuse_address=True)
        self.tls_listener = listener
        self.tls_listener_shape = self._tls_shape()
        self.listeners.append(listener)

    def _tls_host(self) -> str | None:
        first = self.config["bind"].split()[0].lstrip("-") if self.config["bind"] else "*"
        return None if first in ("*", "::*") else first

    def _set_client_eviction(self, setting: int) -> None:
        self.client_eviction = setting != 0

    def _set_tracking_max_keys(self, keys: int) -> None:
        self.tracker.max_keys = keys

    def _set_notify_flags(self, flags: int) -> None:
        self.keyspace_stats.notifier.flags = flags

    def schedule_push_flush(self, client: Client) -> None:
        """Write pushed frames at the end of this loop turn, one write per client."""
        if not self.pushed:
            asyncio.get_running_loop().call_soon(self._flush_pushed)
        self.pushed.append(client)

    def _flush_pushed(self) -> None:
        pushed = self.pushed
        self.pushed = []
        for client in pushed:
            client.pushed = False
            if client.transport is not None:
                client.flush()

    def _set_appendonly(self, on: bool) -> None:
        """CONFIG SET appendonly (at start the AOF opens once the data is loaded)."""
        if not self.listening:
            return
        if on and not self.aof.on:
            self.aof.enable()
        elif not on:
            self.aof.disable()

    def _set_write_ack(self, replicas: int) -> None:
        self.write_ack = replicas
        self.replication.gate.refresh()
        if replicas:  # writes get stream offsets even before a replica attaches
            self.propagation.start(self.config["repl-backlog-size"])

    def _resize_backlog(self, size: int) -> None:
        if self.propagation.backlog is not None:
            self.propagation.backlog.resize(size)

    @property
    def master_repl_offset(self) -> int:
        return self.propagation.offset

    def _update_write_guard(self, value: Any = None) -> None:
        cfg = self.config
        self.write_guard = ((self.replication.link is not None and cfg["replica-read-only"])
                            or cfg["min-replicas-to-write"] > 0)

    def i_am_master(self) -> bool:
        """iAmMaster: in cluster mode the role of its own row (nodes.conf, read before the
        data is), else not following a master."""
        if self.cluster is not None:
            return self.cluster.myself.is_master
        return self.replication.link is None

    def demote(self, host: str, port: int, failover: bool = False) -> None:
        """replicationSetMaster: follow ``host:port`` (our own history offered for PSYNC;
        with ``failover``, a PSYNC FAILOVER that makes that replica our master)."""
        repl = self.replication
        if repl.link is not None:
            repl.link.stop()
        disconnect_blocked(list(self.clients.values()), self.count_error)
        self.propagation.start(self.config["repl-backlog-size"])
        self.keyspace_stats.expiry = EXPIRY_HIDE
        repl.link = MasterLink(self, host, port, failover)
        repl.following()
        if self.loaded:  # else start() connects it once the data is loaded
            repl.link.connect()
        self._update_write_guard()

    # --- running commands, for the layers below that cannot import dispatch: EXEC, AOF
    # loading and the master's stream on a replica ---

    def new_client(self) -> context.Client:
        """A connection-less client (AOF loading, the master link). Typed as the handlers
        see a client: mypy checks here that ``Client`` and ``Server`` match the Protocols
        the layers below type against."""
        return Client(self)

    def invoke(self, client: Client, cmd: Command, argv: list[bytes]) -> Any:
        return invoke(self, client, cmd, argv)

    def execute(self, client: Client, argv: list[bytes]) -> None:
        execute(self, client, argv)

    def run_requests(self, client: Client, requests: list[list[bytes]]) -> int:
        if self.pace.resting:  # the replication stream, as Client.data_received
            self.wake_cron()
        return run_requests(self, client, requests)

    def promote(self) -> None:
        """replicationUnsetMaster: a master again, its history kept as replid2."""
        repl = self.replication
        if repl.link is None:
            return
        repl.link.stop()
        repl.link = None
        repl.shift_replid()
        repl.leading()
        self.keyspace_stats.expiry = EXPIRY_DELETE
        self._update_write_guard()

    def _set_maxmemory(self, value: int) -> None:
        self.maxmemory = value
        if value:  # as CONFIG SET maxmemory does: evict at once down to the new limit
            refresh_memory(self)
            self.evictor.perform()

    def _set_access_clock(self, value: Any) -> None:
        """Keys' access clocks count LFU frequencies under an LFU policy, else LRU time."""
        cfg = self.config
        ks = self.keyspace_stats
        if is_lfu_policy(cfg["maxmemory-policy"]):
            ks.lfu = LfuClock(cfg["lfu-log-factor"], cfg["lfu-decay-time"], self.now)
        else:
            ks.lfu = None
        self._tick_access_clock()

    def _tick_access_clock(self) -> None:
        ks = self.keyspace_stats
        lfu = ks.lfu
        ks.lru_clock = lfu.tick(self.now) if lfu is not None else int(self.now) & LRU_CLOCK_MAX

    def _set_requirepass(self, value: str) -> None:
        self.requirepass = value
        self.acl.set_requirepass(value)

    def _users_for_rewrite(self) -> list[str]:
        if self.config["aclfile"]:
            return []
        text = self.acl.acl_file_text().decode("utf-8", "surrogateescape")
        return text.splitlines()

    def _set_acllog_max_len(self, value: int) -> None:
        self.acl.log.max_len = value
        del self.acl.log.entries[value:]

    def _set_acl_pubsub_default(self, value: str) -> None:
        self.acl.pubsub_allchannels = value == "allchannels"

    def _set_slowlog_threshold(self, value: int) -> None:
        self.slowlog_threshold = value

    def _set_latency_threshold(self, value: int) -> None:
        self.latency_threshold = value

    def _set_query_buffer_limit(self, value: int) -> None:
        self.query_buffer_limit = value

    def _set_latency_tracking(self, value: bool) -> None:
        self.latency_tracking = value

    def _set_max_bulk_len(self, value: int) -> None:
        for client in self.clients.values():
            client.parser.max_bulk_len = value

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT: the counters INFO shows, not the data."""
        self.stat_numcommands = 0
        self.stat_internal_commands = 0  # of those, from peer links and the control plane
        self.stat_evictedkeys = 0
        self.stat_evicted_clients = 0
        self.stat_numconnections = 0
        self.stat_rejected_conn = 0
        self.stat_net_input_bytes = 0
        self.stat_net_output_bytes = 0
        self.stat_total_error_replies = 0
        self.stat_expired_time_cap_reached_count = 0
        self.stat_expire_cycle_time_used = 0
        self.stat_total_reads_processed = 0
        self.stat_total_writes_processed = 0
        self.stat_unexpected_error_replies = 0
        self.stat_client_qbuf_limit_disconnections = 0
        self.stat_migrated_keys = 0  # keys MIGRATE moved out (the target acknowledged them)
        self.stat_imported_keys = 0  # keys RESTORE-ASKING brought in
        self.keyspace_stats.hits = self.keyspace_stats.misses = 0
        self.keyspace_stats.expired = 0
        self.keyspace_stats.expired_stale_perc = 0.0
        self.errorstats = {}
        self.metric_ops = InstantaneousMetric()
        self.metric_net_in = InstantaneousMetric()
        self.metric_net_out = InstantaneousMetric()
        self.evictor.reset_stats()
        for cmd in self.all_commands():
            cmd.reset_stats()

    def all_commands(self) -> list[Command]:
        out = []
        for cmd in self.commands.values():
            out.append(cmd)
            if cmd.subcommands:
                out.extend(cmd.subcommands.values())
        return out

    # --- errors ---

    def count_error(self, message: str) -> None:
        """afterErrorReply: count the reply under its code; at most 128 distinct codes."""
        self.stat_total_error_replies += 1
        code = message.split(" ", 1)[0]
        if code in self.errorstats:
            self.errorstats[code] += 1
        elif len(self.errorstats) < 128:
            self.errorstats[code] = 1

    # --- clients ---

    def _accepted(self, sock: socket.socket) -> None:
        """A new connection: its client now, its transport once the loop makes it."""
        client = Client(self)
        self.connecting[id(client)] = (client, sock)
        asyncio.get_running_loop().create_task(attach(client, sock))

    def add_client(self, client: Client) -> None:
        if len(self.clients) >= self.config["maxclients"]:
            self.stat_rejected_conn += 1
            client.reject_and_close(errors.MAX_CLIENTS)
            return
        self.stat_numconnections += 1
        client.id = self.next_client_id
        self.next_client_id += 1
        self.clients[client.id] = client
        if (self.config["protected-mode"] and self.acl.default.nopass
                and not client.is_loopback()):
            self.stat_rejected_conn += 1
            client.reject_and_close(errors.DENIED_PROTECTED_MODE)
            return
        keepalive = self.config["tcp-keepalive"]
        if keepalive:
            client.set_keepalive(keepalive)

    def remove_client(self, client: Client) -> None:
        self.clients.pop(client.id, None)
        if client.monitor and client in self.monitors:
            self.monitors.remove(client)
        if client in self.pause.postponed:
            self.pause.postponed.remove(client)

    def feed_monitors(self, client: Client, argv: list[bytes]) -> None:
        """replicationFeedMonitors: ``+<time> [<db> <addr>] "arg" ...`` to every MONITOR."""
        micros = time.time_ns() // 1000
        source = "lua" if client.addr == "" else client.addr
        line = b"+%d.%06d [%d %s] %s\r\n" % (
            micros // 1_000_000, micros % 1_000_000, client.db.id, source.encode(),
            b" ".join(map(repr_arg, argv)))
        for monitor in list(self.monitors):
            if monitor.transport is not None:
                monitor.write(line)

    def push(self, client: Client, items: list[Any]) -> None:
        client.send(Push(items))

    # --- logging (Redis's log line format) ---

    def log(self, level: str, message: str) -> None:
        if LOG_LEVELS[level] < LOG_LEVELS[self.config["loglevel"]]:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
        line = f"{self.pid}:M {stamp}.{int(now * 1000) % 1000:03d} {LOG_MARKS[LOG_LEVELS[level]]} {message}\n"
        path = self.config["logfile"]
        if path:
            with open(path, "a") as f:
                f.write(line)
        else:
            sys.stdout.write(line)
            sys.stdout.flush()

    def log_notice(self, message: str) -> None:
        self.log("notice", message)

    def log_warning(self, message: str) -> None:
        self.log("warning", message)

    def log_verbose(self, message: str) -> None:
        self.log("verbose", message)

    # --- lifecycle ---

    async def start(self, on_loaded: Callable[[], None] | None = None) -> None:
        """Listen, load the data, then serve. ``on_loaded`` runs the moment the data is
        loaded, before anything can change it: the node's signal handling switches there
        from exiting at once (loading: nothing to save) to Redis's shutdown (the saves).
        A shutdown requested while loading ends the start there: no AOF is laid out from
        a partial dataset."""
        if self.config["metrics-port"]:
            # First, so that a node whose metrics port is taken never listens at all.
            # The exporter process it starts is the one that imports aiohttp and
            # prometheus-client: the node never does.
            self.metrics = MetricsServer(self)
            self.metrics.start()
        port = self.config["port"]
        addresses = self.config["bind"].split()
        if tls.wanted(self.config):
            try:
                self.tls_server, self.tls_client = tls.build(self.config)
                self.tls_server.sni_callback = self._latest_tls
            except tls.TlsConfigError as exc:
                self.log_warning(str(exc))
                self.log_warning("Failed to configure TLS. Check logs for more info.")
                raise SystemExit(1) from None
        if port == 0 and self.config["tls-port"]:
            addresses = []  # TLS only, as `port 0` means in Redis
        for addr in addresses:
            optional = addr.startswith("-")
            host = addr.lstrip("-")
            host = None if host in ("*", "::*") else host
            family = socket.AF_INET6 if addr.lstrip("-") == "::*" else socket.AF_UNSPEC
            if addr.lstrip("-") == "*":
                family = socket.AF_INET
            try:
                listener = Acceptor(
                    listening_sockets(host, port, family, self.config["tcp-backlog"]),
                    self._accepted)
            except OSError as exc:
                if optional:
                    continue
                raise OSError(f"Could not create server TCP listening socket {addr}:{port}: {exc}") from exc
            self.listeners.append(listener)
            for sock in listener.sockets:
                self.tcp_port = sock.getsockname()[1]
        self.shutdown_event = asyncio.Event()
        self.listening = True
        if self.cluster is not None:
            start_cluster(self)
        self._schedule_cron()
        self._follow_configured_master()
        await self._load_data()
        if self.shutdown_event.is_set() or self.loading_stopped:
            return
        if on_loaded is not None:
            on_loaded()
        if self.config["appendonly"]:
            self.aof.start()
        self.loaded = True
        if self.replication.link is not None:
            self.replication.link.connect()
        if self.cluster is not None:
            self.cluster.follow_my_master()
        await self._listen_unix()
        await self._listen_tls()
        self._write_pidfile()
        self._report_inert_directives()
        self.log_notice(f"Ready to accept connections tcp (port {self.tcp_port})")

    async def _listen_unix(self) -> None:
        path = self.config["unixsocket"]
        if not path:
            return
        if os.path.exists(path):
            os.unlink(path)
        try:
            listener = Acceptor([unix_listening_socket(path, self.config["tcp-backlog"])],
                                self._accepted)
        except OSError as exc:
            raise OSError(f"Failed opening Unix socket: {exc}") from exc
        if self.config["unixsocketperm"]:
            os.chmod(path, self.config["unixsocketperm"])
        self.listeners.append(listener)
        self.log_notice(f"The server is now ready to accept connections at {path}")

    def _write_pidfile(self) -> None:
        path = self.config["pidfile"]
        if not path:
            return
        try:
            with open(path, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as exc:
            self.log_warning(f"Failed to write PID file: {exc.strerror}")

    def _report_inert_directives(self) -> None:
        """Directives accepted for redis.conf compatibility but without an effect here:
        one line at start for each set away from its default."""
        config = self.config
        for d in dict.fromkeys(config.directives.values()):
            if d.inert and not config.is_default(d):
                self.log_warning(f"{d.name} is set to '{config.format(d.name)}' but has no "
                                 "effect in redslot (accepted for redis.conf compatibility)")

    async def _load_data(self) -> None:
        """loadDataFromDisk: the AOF when it is on and exists, else the RDB snapshot."""
        if not self.config["appendonly"]:
            if not await self.snapshots.load_at_start():
                raise SystemExit(1)
            return
        try:
            loaded = self.aof.load()
        except (AofError, OSError) as exc:
            self.log_warning(f"Fatal error loading the AOF: {exc}")
            raise SystemExit(1) from None
        if loaded:
            if not self.loading_stopped:
                self.log_notice("DB loaded from append only file")
        elif not await self.snapshots.load_at_start():
            raise SystemExit(1)

    def _follow_configured_master(self) -> None:
        """The replicaof directive: a replica from the start, so that while it loads its
        data it already refuses writes (-READONLY) and ROLE names its master, as in Redis."""
        if self.config["replicaof"]:
            host, port = self.config["replicaof"].split()
            self.demote(host, int(port))

    def _schedule_cron(self, delay: float | None = None) -> None:
        if delay is None:
            delay = 1 / max(self.config["hz"], 1)
        self.cron_handle = asyncio.get_running_loop().call_later(delay, self.cron)

    def wake_cron(self) -> None:
        """A request reached a resting node (cronpace.py): the clocks it reads are set
        now, and right after it, in the same loop turn, the cron runs if the request
        left it anything to do (else the node rests on)."""
        self.pace.resting = False
        self.now = time.time()
        self._tick_access_clock()
        asyncio.get_running_loop().call_soon(self._after_wake)

    def _after_wake(self) -> None:
        """The cron now when the request left it something to do, or when its
        once-a-second work is due (the tick is then taken in a turn the node is awake for
        anyway, and the resting timer, pushed a second on, fires only on a node that no
        one sent anything for a second)."""
        if self.pace.resting or self.cron_handle is None:
            return  # the turn's first request looked already, or the node is stopping
        cluster = self.cluster
        if not self.pace.second_due(self.now, max(self.config["hz"], 1)) and (
                not self.cron_needed() and (cluster is None or (
                    not cluster.push_back and not cluster.unsaved
                    and cluster.link_manager.seen == (cluster.version, cluster.held)))):
            self.pace.resting = True
            return
        self.cron_handle.cancel()
        self.cron()

    def cron_needed(self) -> bool:
        """Timed work under way that the cron must follow every tick (else it may rest)."""
        snapshots, aof, cluster = self.snapshots, self.aof, self.cluster
        return bool(
            self.maxmemory or self.client_eviction or aof.on or aof.child_pid
            or aof.rewrite_scheduled or snapshots.child_pid or snapshots.scheduled
            or snapshots.loading is not None or self.keyspace_stats.unsettled
            or self.output_limits.soft or self.replication.cron_needed()
            or any(db.expires or db.blocked for db in self.dbs)
            or (cluster is not None and cluster.unsaved)
            or (self.config["activerehashing"] and any(rehash(db.index, 0) for db in self.dbs)))

    def cron(self) -> None:
        """serverCron: clocks, active expiry, client timeouts, pause expiry, metrics."""
        if self.cron_paused:  # DEBUG PAUSE-CRON 1: only the schedule goes on
            self.pace.resting = False
            self._schedule_cron()
            return
        self.now = time.time()
        self.cronloops += 1
        hz = max(self.config["hz"], 1)
        requests = self.stat_numcommands - self.stat_internal_commands
        every_second = self.pace.second_passed(self.now, hz, requests)
        self._tick_access_clock()
        self.pause.expire()
        if self.active_expire_enabled and self.keyspace_stats.expiry == EXPIRY_DELETE:
            active_expire_cycle(self)  # a replica waits for its master's DELs
            self.propagation.flush()
        if self.config["activerehashing"]:
            for db in self.dbs:  # a large index's rebuild ends even with no command coming
                rehash(db.index, REHASH_SLOTS)
        if every_second:
            self._close_idle_clients()
        self.output_limits.cron()
        if self.client_eviction:
            evict_clients(self)
        self.snapshots.cron()
        self.aof.cron()
        self.replication.cron()
        if self.cluster is not None:
            self.cluster.settle_save()  # owed by a command whose client left unanswered
            redirect_blocked_clients(self)
            if self.cluster.lease.expired_now():
                self.log_warning("Lease expired: keyed commands get CLUSTERDOWN until the "
                                 "control plane renews it (CLUSTER LEASE)")
            self.shard_channel_guard.check(self)
            self.cluster.link_manager.tick(resync=every_second)
            if every_second:  # a change of the table updates it at once; this ages pongs
                self.cluster.update_state()
        if self.migrate_sockets.cached:
            self.migrate_sockets.close_idle(self.now)
        if self.maxmemory or every_second:
            refresh_memory(self)
        elif self.keyspace_stats.unsettled:
            self.keyspace_stats.settle()  # each changed key re-costed once a tick at most
        self.metric_ops.track(requests, 1 / hz)
        self.metric_net_in.track(self.stat_net_input_bytes, 1 / hz)
        self.metric_net_out.track(self.stat_net_output_bytes, 1 / hz)
        self._schedule_cron(self.pace.next_delay(hz, self.cron_needed()))

    def _close_idle_clients(self) -> None:
        timeout = self.config["timeout"]
        if not timeout:
            return
        for client in list(self.clients.values()):
            if (not client.monitor and not client.waiting and not client.pubsub
                    and self.now - client.last_interaction > timeout):
                self.log_verbose("Closing idle client")
                client.close()

    def stop_loading(self) -> None:
        """A signal while the data loads (from its handler, between two bytecodes): the
        loaders stop at their next step, and the node exits without saving."""
        self.loading_stopped = True

    def request_shutdown(self, reason: str, flags: tuple[str, ...] = ()) -> None:
        """A signal's shutdown, with shutdown-on-sigterm / -sigint's SHUTDOWN options."""
        self.log_warning(f"{reason} scheduling shutdown...")
        save = "save" in flags or (bool(self.config["save"]) and "nosave" not in flags)
        if not self.snapshots.prepare_shutdown(save, force="force" in flags):
            self.log_warning(f"{reason.removeprefix('Received ')} received but errors trying to "
                             "shut down the server, check the logs for more information")
            return
        if self.shutdown_event is not None:
            self.shutdown_event.set()

    async def serve_until_shutdown(self) -> None:
        assert self.shutdown_event is not None
        await self.shutdown_event.wait()
        await self.stop()

    async def stop(self) -> None:
        self.log_warning("User requested shutdown...")
        if self.cron_handle is not None:
            self.cron_handle.cancel()
            self.cron_handle = None
        if self.metrics is not None:
            self.metrics.stop()
        if self.aof.on:
            self.log_notice("Calling fsync() on the AOF file.")
            self.aof.prepare_shutdown()
        if self.cluster is not None and self.cluster.link_manager is not None:
            self.cluster.link_manager.close()
        if self.replication.link is not None:
            self.replication.link.stop()  # before the task cancellations at the loop's end
        for listener in self.listeners:
            listener.close()
        for client in list(self.clients.values()):
            client.flush()
            client.close()
        for listener in self.listeners:
            await listener.wait_closed()
        for path in (self.config["pidfile"], self.config["unixsocket"]):
            if path:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        self.log_warning("redslot is now ready to exit, bye bye...")

