"""Replication, master side and shared state (replication.c): PSYNC, the replicas, WAIT.

A replica connects like a client and sends REPLCONF then PSYNC <replid> <offset>. When our
backlog still holds everything after its offset, under our current replication id or the
previous one (kept across a promotion, ``replid2``), it gets +CONTINUE and the missing bytes;
otherwise +FULLRESYNC <replid> <offset>: a snapshot is forked (snapshot.py, the same BGSAVE
child) at that offset, the stream produced meanwhile is held for it, and it gets the file
as one bulk, then the held stream, then the live stream (propagation.py). Replicas send
REPLCONF ACK <offset> every second; WAIT and min-replicas-to-write count those acks.

The replica side (our own link to a master) lives in replica_link.py.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..keyspace.blocking import BLOCKED, Blocked, block, unblock
from ..protocol.command import encode_command
from .ackgate import AckGate
from .diskless import DisklessTransfer
from .failover import CoordinatedFailover

if TYPE_CHECKING:
    from .context import Client, Server
    from .replica_link import MasterLink

# A replica's sync: waiting for a snapshot child to be forked for it (no FULLRESYNC sent
# yet), waiting for that child's file (stream held meanwhile), or online. INFO shows both
# waits as Redis's "wait_bgsave".
WAIT_BGSAVE_START = "wait_bgsave_start"
WAIT_BGSAVE_END = "wait_bgsave_end"
ONLINE = "online"
PING = encode_command([b"PING"])
# What a replica asked for before syncing (REPLCONF): the EOF capability (diskless
# transfers), only the snapshot (redis-cli --rdb), a snapshot without the keys
# (rdb-filter-only: redis-cli --replica) or without the functions.
REQ_CAPA_EOF = 1
REQ_RDB_ONLY = 2
REQ_EXCLUDE_DATA = 4
REQ_EXCLUDE_FUNCTIONS = 8
GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])


class ReplicaState:
    """A replica of ours: where its sync stands and what it has acknowledged."""

    __slots__ = ("client", "state", "ack_offset", "ack_time", "port", "ip", "held",
                 "outgoing", "pre_psync", "rdb_only", "diskless", "await_ack",
                 "waiting_since")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.state = WAIT_BGSAVE_START
        self.ack_offset = 0
        self.ack_time = time.time()
        self.port = 0
        self.ip = ""
        self.held: list[bytes] = []  # stream produced while its snapshot is being made
        self.outgoing: list[bytes] = []  # this loop turn's stream, sent in one write
        self.pre_psync = False  # came with SYNC: no +FULLRESYNC line, no ACKs
        self.rdb_only = bool(client.replica_req & REQ_RDB_ONLY)  # the file, then goodbye
        self.diskless = False  # its snapshot comes over the socket (diskless.py)
        self.await_ack = False  # diskless: the stream starts at its first REPLCONF ACK
        self.waiting_since = time.time()

    def address(self) -> str:
        """Its announced address, else the connection's."""
        return (self.ip or self.client.addr.rsplit(":", 1)[0]).lower()

    def sink(self, data: bytes) -> None:
        """The stream for this replica: gathered over the loop turn, one write at its end
        (a write per command would cost a system call per command per replica)."""
        if self.rdb_only:
            return  # canFeedReplicaReplBuffer
        if self.state == ONLINE:
            if not self.outgoing:
                asyncio.get_running_loop().call_soon(self._send)
            self.outgoing.append(data)
        elif self.state == WAIT_BGSAVE_END:
            self.held.append(data)

    def _send(self) -> None:
        data = b"".join(self.outgoing)
        self.outgoing.clear()
        transport = self.client.transport
        if transport is not None and data:
            transport.write(data)
            self.client.tot_net_out += len(data)

    def finish_diskless(self, mark: bytes) -> None:
        """The EOF mark ends the payload; the stream waits for the replica's ACK."""
        transport = self.client.transport
        if transport is None:
            return
        transport.write(mark)
        if self.rdb_only:
            self.state = ONLINE
            self.client.close()
            return
        self.await_ack = True

    def start_stream(self) -> None:
        """After a diskless sync, at the first ACK: the held stream, then live."""
        self.await_ack = False
        transport = self.client.transport
        if transport is not None:
            for chunk in self.held:
                transport.write(chunk)
        self.held = []
        self.state = ONLINE

    def send_snapshot(self, payload: bytes) -> None:
        """The file as one bulk, the stream held meanwhile, then live streaming."""
        transport = self.client.transport
        if transport is None:
            return
        transport.write(b"$%d\r\n" % len(payload))
        transport.write(payload)
        if self.rdb_only:  # replicaPutOnline: an RDB-only replica is done
            self.state = ONLINE
            self.client.close()
            return
        for chunk in self.held:
            transport.write(chunk)
        self.held = []
        self.state = ONLINE


class Replication:
    """replid, offsets, the replicas of this node, and its master link when it is one."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.replid = secrets.token_hex(20)
        self.replid2 = "0" * 40
        self.second_offset = -1
        self.replicas: list[ReplicaState] = []
        self.link: MasterLink | None = None  # set while this node is a replica
        self.snapshot_child = 0  # the BGSAVE pid serving replicas, while it runs
        self.diskless: DisklessTransfer | None = None  # the last diskless transfer
        self.failover: CoordinatedFailover | None = None  # FAILOVER, while it runs
        self.snapshot_started = 0.0
        self.waiters: list[tuple[Blocked, int, int]] = []  # WAIT: (entry, offset, replicas)
        self.no_replicas_since = time.time()
        self.last_ping = time.time()
        self.gate = AckGate(self)
        self.sync_full = 0  # INFO stats counters
        self.sync_partial_ok = 0
        self.sync_partial_err = 0

    @property
    def propagation(self) -> Any:
        return self.server.propagation

    @property
    def offset(self) -> int:
        return self.server.propagation.offset

    # --- PSYNC ---

    def _attach(self, client: Client) -> ReplicaState:
        prop = self.server.propagation
        prop.start(self.server.config["repl-backlog-size"])
        replica = client.replica = ReplicaState(client)
        client.write_through_transport()  # the stream writes its transport itself
        replica.port = client.replica_port
        replica.ip = client.replica_ip
        self._drop_previous_links(replica)
        self.replicas.append(replica)
        prop.sinks.append(replica.sink)
        return replica

    def _drop_previous_links(self, replica: ReplicaState) -> None:
        """A replica syncing again left its previous link behind: one we may not have seen
        close (a partition swallows the FIN). Kept, it would count as a second replica for
        min-replicas-ack and WAIT, with acknowledgements from before the break."""
        if not replica.port:
            return  # redis-cli --rdb and the like announce no port: nothing to match
        me = replica.address()
        for old in list(self.replicas):
            if old.port == replica.port and old.address() == me:
                self.server.log_notice(f"Replica {me}:{replica.port} synced again: its previous "
                                       f"link {old.client.addr} is dropped")
                self.forget(old.client)
                old.client.close()

    def sync(self, client: Client) -> None:
        """syncCommand for SYNC (redis-cli --rdb and --replica, old replicas): always a
        full sync, with no +FULLRESYNC line; a replica that filtered the keys out gets a
        snapshot without them at once, then the live stream."""
        server = self.server
        replica = self._attach(client)
        replica.pre_psync = True
        self.sync_full += 1
        server.log_notice(f"Replica {client.addr} asks for synchronization")
        if client.replica_req & REQ_EXCLUDE_DATA:
            replica.state = WAIT_BGSAVE_END
            client.flush()
            replica.send_snapshot(server.snapshots.empty_payload(
                with_functions=not client.replica_req & REQ_EXCLUDE_FUNCTIONS))
            return
        self._start_full_syncs()

    def psync(self, client: Client, replid: bytes, offset_text: bytes) -> Any:
        """syncCommand for PSYNC: continue from the backlog, or start a full sync."""
        server = self.server
        if client.replica is not None:
            return None  # a second PSYNC on a link already syncing is ignored, as Redis does
        replica = self._attach(client)
        prop = server.propagation
        try:
            offset = int(offset_text)
        except ValueError:
            offset = -1
        ours = replid.decode("ascii", "replace")
        continues = (ours == self.replid or (ours == self.replid2 and offset <= self.second_offset))
        backlog = prop.backlog
        if continues and backlog is not None and offset - 1 <= prop.offset:
            missing = backlog.since(offset - 1)
            if missing is not None:
                replica.state = ONLINE
                replica.ack_offset = offset - 1
                self.gate.refresh()
                self.sync_partial_ok += 1
                self._send_raw(client, b"+CONTINUE %s\r\n" % self.replid.encode() + missing)
                server.log_notice(f"Partial resynchronization request from {client.addr} "
                                  f"accepted. Sending {len(missing)} bytes of backlog starting "
                                  f"from offset {offset}.")
                return None
        if ours != "?":
            self.sync_partial_err += 1
        self.sync_full += 1
        server.log_notice(f"Replica {client.addr} asks for synchronization; full resync.")
        self._start_full_syncs()
        return None

    def _send_raw(self, client: Client, data: bytes) -> None:
        client.flush()
        if client.transport is not None:
            client.transport.write(data)

    def _start_full_syncs(self) -> None:
        """startBgsaveForReplication, once no snapshot child runs: FULLRESYNC to every
        replica waiting, at the offset the fork is taken at. With repl-diskless-sync and
        replicas that read EOF-marked payloads, the snapshot goes over their sockets, once
        the oldest has waited repl-diskless-sync-delay (or enough replicas wait)."""
        waiting = [r for r in self.replicas if r.state == WAIT_BGSAVE_START]
        if not waiting or self.server.snapshots.child_pid:
            return
        config = self.server.config
        if config["repl-diskless-sync"] and all(
                r.client.replica_req & REQ_CAPA_EOF for r in waiting):
            most = config["repl-diskless-sync-max-replicas"]
            waited = time.time() - min(r.waiting_since for r in waiting)
            if waited < config["repl-diskless-sync-delay"] and not (most and len(waiting) >= most):
                return
            self._start_diskless(waiting)
            return
        if not self.server.snapshots.background_save():
            for replica in waiting:
                replica.client.close()
            return
        self.snapshot_child = self.server.snapshots.child_pid
        line = b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset)
        for replica in waiting:
            replica.state = WAIT_BGSAVE_END
            self._send_raw(replica.client, b"" if replica.pre_psync else line)

    def _start_diskless(self, waiting: list[ReplicaState]) -> None:
        line = b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset)
        for replica in waiting:
            replica.state = WAIT_BGSAVE_END
            replica.diskless = True
        self.diskless = DisklessTransfer(self.server, waiting)
        if not self.diskless.start(line):
            self.diskless = None
            for replica in waiting:
                replica.client.close()

    def snapshot_done(self, ok: bool) -> None:
        """updateSlavesWaitingBgsave: send the file to the replicas that waited for it."""
        self.snapshot_child = 0
        targets = [r for r in self.replicas if r.state == WAIT_BGSAVE_END and not r.diskless]
        if not targets:
            return
        payload = self.server.snapshots.read_file() if ok else None
        for replica in targets:
            if payload is None:
                replica.client.close()
            else:
                replica.send_snapshot(payload)
                self.server.log_notice(f"Synchronization with replica {replica.client.addr} "
                                       "succeeded")

    def forget(self, client: Client) -> None:
        """A replica's connection closed."""
        replica = client.replica
        if replica is None:
            return
        client.replica = None
        if replica in self.replicas:
            self.replicas.remove(replica)
        prop = self.server.propagation
        if replica.sink in prop.sinks:
            prop.sinks.remove(replica.sink)
        if not self.replicas:
            self.no_replicas_since = time.time()
        self.gate.refresh()
        self.server.log_notice(f"Connection with replica {client.addr} lost.")

    # --- acknowledgements, WAIT, min-replicas ---

    def ack(self, client: Client, offset: int) -> None:
        """REPLCONF ACK: the replica applied our stream up to ``offset``.

        Counted only from a replica streaming from us (a sync in progress acknowledges
        nothing of this stream yet) and only up to what we have produced: an offset
        beyond ours was counted in another stream or from another base, and believing it
        would acknowledge writes before the replica has them."""
        replica = client.replica
        if replica is None:
            return
        replica.ack_time = time.time()
        if offset > self.offset:
            self.server.log_warning(f"Replica {client.addr} acknowledged offset {offset}, beyond "
                                    f"our {self.offset}: not counted")
            return
        if replica.await_ack:
            replica.start_stream()
        if replica.state != ONLINE:
            return
        replica.ack_offset = max(replica.ack_offset, offset)
        self.gate.refresh()
        if self.failover is not None:
            self.failover.update()
        if self.waiters:
            self._serve_waiters()
        if self.gate.waiting:
            self.gate.acks_arrived()

    def acked(self, offset: int) -> int:
        """replicationCountAcksByOffset."""
        return sum(1 for r in self.replicas if r.state == ONLINE and r.ack_offset >= offset)

    def acked_by(self, wanted: int) -> int:
        """The highest offset at least ``wanted`` online replicas acknowledged (0: none)."""
        if wanted <= 0:
            return self.offset
        offsets = sorted((r.ack_offset for r in self.replicas if r.state == ONLINE), reverse=True)
        return offsets[wanted - 1] if len(offsets) >= wanted else 0

    def disconnect_replicas(self) -> None:
        """disconnectSlaves: our stream changed base (a full sync, a new master's id); our
        replicas must sync again and learn it, not go on acknowledging offsets of the old one."""
        for replica in list(self.replicas):
            self.forget(replica.client)
            replica.client.close()

    def following(self) -> None:
        """This node turned replica: its stream is its master's from now on, and the
        replies still waiting for acknowledgements as a master get -NOACK at once (the
        writes may or may not be in the new master's history)."""
        self.server.propagation.following = True
        self.gate.abandon()

    def leading(self) -> None:
        """This node is a master again: its own writes make its stream."""
        prop = self.server.propagation
        prop.following = False
        prop.selected_db = -1  # the next effect says which database it is for
        self.gate.refresh()

    def wait(self, client: Client, replicas: int, timeout_ms: int) -> Any:
        """WAIT numreplicas timeout: block until enough replicas acknowledged our writes."""
        offset = client.woff
        done = self.acked(offset)
        if done >= replicas or client.multi:
            return done
        block(client, [], "", timeout_ms / 1000, lambda db, key: None,
              lambda: self.acked(offset))
        entry = client.blocked
        assert entry is not None
        self.waiters.append((entry, offset, replicas))
        self.request_acks()
        return BLOCKED

    def request_acks(self) -> None:
        """REPLCONF GETACK down the stream: replicas answer with their offset at once. A
        replica asks nothing: its stream is its master's."""
        if self.link is None and any(r.state == ONLINE for r in self.replicas):
            self.server.propagation.feed(GETACK, durable=False)

    def _serve_waiters(self) -> None:
        """Answer the WAITs now satisfied; forget those already answered (timeout, CLIENT
        UNBLOCK) or gone."""
        still = []
        for entry, offset, wanted in self.waiters:
            if entry.client.blocked is not entry:
                continue
            done = self.acked(offset)
            if done >= wanted:
                unblock(entry, done)
            else:
                still.append((entry, offset, wanted))
        self.waiters = still

    def good_replicas(self) -> int:
        """repl_good_slaves_count: online replicas that acknowledged within the max lag."""
        lag = self.server.config["min-replicas-max-lag"]
        now = time.time()
        return sum(1 for r in self.replicas if r.state == ONLINE and now - r.ack_time <= lag)

    def refuses_writes(self) -> bool:
        """min-replicas-to-write: too few good replicas for a master to accept writes."""
        config = self.server.config
        wanted = config["min-replicas-to-write"]
        return (bool(wanted) and bool(config["min-replicas-max-lag"]) and self.link is None
                and self.good_replicas() < wanted)

    # --- promotion ---

    def restore(self, replid: str, offset: int, master: bool) -> None:
        """The replication history a snapshot recorded (loadDataFromDisk), so that a
        restarted node's replicas, or its master, can resynchronise partially.

        A replica takes the id back as its own: its master decides what follows. A master
        keeps it only as ``replid2``, valid up to the snapshot's offset, and writes on under
        a fresh id, as Redis does: its replicas may hold writes past the snapshot that this
        restart lost, and the new writes at those offsets are another history. Under the
        old id, a replica that was ahead would continue from the wrong bytes once the new
        stream passed its offset; under replid2 it gets a full resync."""
        if master:
            self.replid2 = replid
            self.second_offset = offset + 1
        else:
            self.replid = replid
        prop = self.server.propagation
        prop.offset = prop.written = offset
        prop.backlog = None
        prop.start(self.server.config["repl-backlog-size"])
        self.server.log_notice(f"Restored replication ID {replid} and offset {offset}"
                               + (" as the previous ID" if master else ""))

    # --- FAILOVER (failover.py) ---

    def find_replica(self, host: str, port: int) -> ReplicaState | None:
        """findReplica: by its announced address (or the connection's) and listening port."""
        for replica in self.replicas:
            if replica.address() == host.lower() and replica.port == port:
                return replica
        return None

    def start_failover(self, host: str | None, port: int, timeout_ms: int, force: bool) -> None:
        self.server.log_notice(f"FAILOVER requested to {host}:{port}." if host
                               else "FAILOVER requested to any replica.")
        self.failover = CoordinatedFailover(self.server, host, port, timeout_ms, force)
        self.server.pause.hold_for_failover()

    def failover_done(self) -> None:
        """The target accepted our PSYNC FAILOVER: it is the master now."""
        self.failover = None
        self.server.pause.release_failover()

    def abort_failover(self, why: str) -> None:
        """abortFailover: a master again if the hand-over had begun; writes flow again."""
        failover = self.failover
        if failover is None:
            return
        self.server.log_notice(f"FAILOVER to {failover.target_text()} aborted: {why}")
        in_progress = failover.state != "waiting-for-sync"
        self.failover = None
        if in_progress:
            self.server.promote()
        self.server.pause.release_failover()

    def failover_state(self) -> str:
        return self.failover.state if self.failover is not None else "no-failover"

    def new_history(self) -> None:
        """changeReplicationId + clearReplicationId2 (DEBUG CHANGE-REPL-ID)."""
        self.replid = secrets.token_hex(20)
        self.replid2 = "0" * 40
        self.second_offset = -1

    def shift_replid(self) -> None:
        """shiftReplicationId: a promoted replica keeps its old history under replid2."""
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.replid = secrets.token_hex(20)

    # --- cron ---

    def cron(self) -> None:
        """replicationCron's master part: PING replicas, start waiting syncs, time out."""
        server = self.server
        now = time.time()
        self.gate.cron()
        if self.snapshot_child and not server.snapshots.child_pid:
            self.snapshot_done(server.snapshots.status_ok)
        self._start_full_syncs()
        if self.failover is not None:
            self.failover.update()
        if (self.replicas and self.failover is None
                and now - self.last_ping >= server.config["repl-ping-replica-period"]):
            self.last_ping = now
            if self.link is None:
                server.propagation.feed(PING, durable=False)
        ttl = server.config["repl-backlog-ttl"]
        prop = server.propagation
        if (ttl and not self.replicas and self.link is None and prop.backlog is not None
                and now - self.no_replicas_since > ttl):
            # freeReplicationBacklog: a new id, so no replica continues a history we dropped
            prop.backlog = None
            prop.active = False
            self.replid = secrets.token_hex(20)
            self.replid2 = "0" * 40
            self.second_offset = -1
            server.log_notice(f"Replication backlog freed after {ttl} seconds without "
                              "connected replicas.")
        timeout = server.config["repl-timeout"]
        for replica in list(self.replicas):
            if replica.state == ONLINE and now - replica.ack_time > timeout:
                server.log_warning(f"Disconnecting timedout replica: {replica.client.addr}")
                replica.client.close()

    def cron_needed(self) -> bool:
        """Work the cron must follow every tick: held replies, a sync's snapshot, a
        coordinated failover, replicas not yet online."""
        return bool(self.gate.waiting or self.snapshot_child or self.failover is not None
                    or any(r.state != ONLINE for r in self.replicas))

    # --- INFO replication ---

    def info(self) -> Iterator[str]:
        server = self.server
        prop = server.propagation
        link = self.link
        if link is None:
            yield "role:master"
        else:
            yield "role:slave"
            yield from link.info()
        online = list(self.replicas)
        yield f"connected_slaves:{len(online)}"
        if self.server.config["min-replicas-to-write"]:
            yield f"min_slaves_good_slaves:{self.good_replicas()}"
        now = time.time()
        released = self.gate.released
        for i, r in enumerate(online):
            ip = r.ip or r.client.addr.rsplit(":", 1)[0]
            in_sync = int(r.state == ONLINE and r.ack_offset >= released)
            state = "online" if r.state == ONLINE else "wait_bgsave"
            yield (f"slave{i}:ip={ip},port={r.port},state={state},offset={r.ack_offset},"
                   f"lag={int(now - r.ack_time)},in_sync={in_sync}")
        yield f"master_failover_state:{self.failover_state()}"
        yield f"master_replid:{self.replid}"
        yield f"master_replid2:{self.replid2}"
        yield f"master_repl_offset:{prop.offset}"
        yield f"second_repl_offset:{self.second_offset}"
        backlog = prop.backlog
        yield f"repl_backlog_active:{int(backlog is not None)}"
        yield f"repl_backlog_size:{server.config['repl-backlog-size']}"
        if backlog is None:
            yield "repl_backlog_first_byte_offset:0"
            yield "repl_backlog_histlen:0"
        else:
            histlen = backlog.histlen()
            yield f"repl_backlog_first_byte_offset:{prop.offset - histlen + 1}"
            yield f"repl_backlog_histlen:{histlen}"

    def role(self) -> list[Any]:
        """ROLE."""
        if self.link is not None:
            return self.link.role()
        replicas = []
        for r in self.replicas:
            ip = r.ip or r.client.addr.rsplit(":", 1)[0]
            replicas.append([ip.encode(), b"%d" % r.port, b"%d" % r.ack_offset])
        return [b"master", self.offset, replicas]
