"""Replication, replica side (replication.c syncWithMaster / readSyncBulkPayload).

While this node is a replica, ``MasterLink`` keeps a connection to its master: handshake
(PING, AUTH with masterauth, REPLCONF listening-port and capa), PSYNC with our own history
(replid and offset, so a restarted or demoted node can continue), then either the full
snapshot (the dataset is replaced by it) or +CONTINUE, then the stream. Stream commands
run as the master's client: never refused, never propagated as effects; the bytes applied
are relayed as they are to our own replicas and backlog, so the offsets stay the master's.
REPLCONF ACK <offset> goes back every second and on REPLCONF GETACK. A lost link is
retried every second, for ever, until REPLICAOF NO ONE.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from redslot.common.beat import next_beat, sleep_until

from ..base.outgoing import connect
from ..keyspace.propagation import Backlog
from ..keyspace.stats import EXPIRY_HIDE, EXPIRY_KEEP
from ..protocol.command import encode_command

if TYPE_CHECKING:
    from .context import Client, Server

READ_CHUNK = 1 << 16
ACK_EVERY = 1.0  # seconds between REPLCONF ACKs (replicationCron's)


def command_size(argv: list[bytes]) -> int:
    """Bytes of ``argv`` as a master streams it (a RESP multibulk)."""
    size = len(b"*%d\r\n" % len(argv))
    for arg in argv:
        size += len(b"$%d\r\n" % len(arg)) + len(arg) + 2
    return size


class SyncError(Exception):
    """The master refused a step of the handshake; the text says which."""


class MasterLink:
    def __init__(self, server: Server, host: str, port: int, failover: bool = False) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.failover = failover  # FAILOVER: our PSYNC asks this replica to take over
        self.state = "connect"  # connect, connecting, sync, connected (ROLE's words)
        self.client: Client | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_io = time.time()
        self.down_since = time.time()
        self.sync_total = -1
        self.sync_read = 0
        self.partial = b""  # an incomplete request's bytes
        self.open_tx = b""  # a transaction's bytes, run up to its EXEC
        self.task: asyncio.Task[None] | None = None
        self.stopped = False

    def connect(self) -> None:
        """Start keeping the connection: not before the node's own data is loaded, as
        replicationCron, which connects in Redis, does not run while it loads."""
        self.stopped = False
        self.task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        """Stop for good. ``stopped`` ends the loop even if the cancellation is lost: on
        Python 3.11 ``wait_for`` drops it when the read it waits on completes at the same
        moment (a master closing the link as this node shuts down), and the loop went on
        reconnecting while the shutdown waited for it, until the process was killed."""
        self.stopped = True
        if self.task is not None:
            self.task.cancel()
        self._drop()

    def resync(self) -> None:
        """Close the link to reconnect: with a new history id (``new_history``), the next
        PSYNC gets a full copy, as after our dataset stopped matching the stream."""
        if self.writer is not None:
            self.writer.close()

    # --- the connection ---

    async def _run(self) -> None:
        server = self.server
        while not self.stopped:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, EOFError, asyncio.IncompleteReadError, SyncError) as exc:
                if self.state == "connected":
                    server.log_warning("Connection with master lost.")
                else:
                    server.log_warning(f"Error condition on socket for SYNC: {exc or type(exc).__name__}")
            self._drop()
            if not self.stopped:
                await asyncio.sleep(1)

    def _drop(self) -> None:
        if self.state == "connected":
            self.down_since = time.time()
        self.state = "connect"
        self.client = None
        self.partial = b""
        self.open_tx = b""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def _session(self) -> None:
        server = self.server
        timeout = server.config["repl-timeout"]
        self.state = "connecting"
        server.log_notice(f"Connecting to MASTER {self.host}:{self.port}")
        config = server.config
        # A cluster master's announced port is its TLS port under tls-cluster: reached
        # over TLS even without tls-replication (where Redis would fail to connect).
        use_tls = config["tls-replication"] or (config["cluster-enabled"] and config["tls-cluster"])
        tls = server.tls_client if use_tls else None
        reader, writer = await asyncio.wait_for(
            connect(self.host, self.port, config["bind-source-addr"], tls), timeout)
        self.writer = writer
        server.log_notice("MASTER <-> REPLICA sync started")

        async def ask(*args: bytes) -> bytes:
            writer.write(encode_command(list(args)))
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                raise EOFError("master closed the connection")
            self.last_io = time.time()
            return line.rstrip(b"\r\n")

        pong = await ask(b"PING")
        if pong.startswith(b"-") and not pong.startswith((b"-NOAUTH", b"-NOPERM",
                                                          b"-ERR operation not permitted")):
            raise SyncError(f"Error reply to PING from master: '{pong.decode(errors='replace')}'")
        if config["masterauth"]:
            args = [b"AUTH"]
            if config["masteruser"]:
                args.append(config["masteruser"].encode())
            args.append(config["masterauth"].encode())
            reply = await ask(*args)
            if reply.startswith(b"-"):
                raise SyncError(f"Unable to AUTH to MASTER: {reply.decode(errors='replace')}")
        port = config["replica-announce-port"] or (
            config["tls-port"] if use_tls and config["tls-port"] else server.tcp_port)
        await ask(b"REPLCONF", b"listening-port", b"%d" % port)
        if config["replica-announce-ip"]:
            await ask(b"REPLCONF", b"ip-address", config["replica-announce-ip"].encode())
        await ask(b"REPLCONF", b"capa", b"eof", b"capa", b"psync2")
        repl = server.replication
        prop = server.propagation
        self.state = "sync"
        psync = [b"PSYNC", repl.replid.encode(), b"%d" % (prop.offset + 1)]
        reply = await ask(*psync, *([b"FAILOVER"] if self.failover else []))
        while not reply:  # newlines keep the link alive until the master answers
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                raise EOFError("master closed the connection")
            reply = line.rstrip(b"\r\n")
        if self.failover:
            self.failover = False
            if reply.startswith((b"+CONTINUE", b"+FULLRESYNC")):
                repl.failover_done()
            else:
                repl.abort_failover("Failover target rejected psync request")
                return
        if reply.startswith(b"+FULLRESYNC"):
            _, replid, offset = reply.split()
            repl.disconnect_replicas()  # our stream takes the new master's base
            await self._full_sync(reader, timeout)
            repl.replid = replid.decode()
            repl.replid2 = "0" * 40
            repl.second_offset = -1
            prop.offset = prop.written = int(offset)
            prop.backlog = Backlog(config["repl-backlog-size"], prop.offset + 1)
            prop.selected_db = -1
            server.log_notice("MASTER <-> REPLICA sync: Finished with success")
        elif reply.startswith(b"+CONTINUE"):
            parts = reply.split()
            if len(parts) > 1 and parts[1].decode() != repl.replid:
                repl.replid2 = repl.replid
                repl.second_offset = prop.offset + 1
                repl.replid = parts[1].decode()
                repl.disconnect_replicas()  # they must learn the new id
            server.log_notice("Successful partial resynchronization with master.")
        else:
            raise SyncError(f"Unexpected reply to PSYNC from master: {reply.decode(errors='replace')}")
        self._attach()
        await self._stream(reader, writer, timeout)

    async def _full_sync(self, reader: asyncio.StreamReader, timeout: int) -> None:
        """readSyncBulkPayload: skip the master's newline keepalives, read the snapshot,
        replace our dataset with it."""
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                raise EOFError("master closed the connection during the sync")
            self.last_io = time.time()
            if line.strip():
                break
        if not line.startswith(b"$"):
            raise SyncError(f"Bad protocol from MASTER, the first byte is not '$': {line[:64]!r}")
        if line.startswith(b"$EOF:"):
            # Diskless: read until the payload ends with the mark (the master sends
            # nothing after it until our first ACK).
            mark = line[5:].rstrip(b"\r\n")
            received = bytearray()
            self.sync_read = 0
            while not received.endswith(mark):
                chunk = await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
                if not chunk:
                    raise EOFError("master closed the connection during the sync")
                received += chunk
                self.sync_read += len(chunk)
                self.last_io = time.time()
            payload = bytes(received[:-len(mark)])
        else:
            self.sync_total = int(line[1:])
            self.sync_read = 0
            chunks = []
            while self.sync_read < self.sync_total:
                chunk = await asyncio.wait_for(
                    reader.read(min(READ_CHUNK, self.sync_total - self.sync_read)), timeout)
                if not chunk:
                    raise EOFError("master closed the connection during the sync")
                chunks.append(chunk)
                self.sync_read += len(chunk)
                self.last_io = time.time()
            payload = b"".join(chunks)
        server = self.server
        server.log_notice(f"MASTER <-> REPLICA sync: receiving {len(payload)} bytes from master")
        server.log_notice("MASTER <-> REPLICA sync: Flushing old data")
        for db in server.dbs:
            db.flush()
        server.keyspace_stats.signal_flushed()
        server.functions.flush()  # the master's libraries replace ours (functionsLibCtxClear)
        server.log_notice("MASTER <-> REPLICA sync: Loading DB in memory")
        server.snapshots.load(payload)
        self.sync_total = -1

    def _attach(self) -> None:
        """The master's client: authenticated, its replies dropped after each batch."""
        client = self.server.new_client()
        client.is_master = True
        client.authenticated = True
        client.addr = f"{self.host}:{self.port}"
        client.name = ""
        self.client = client
        self.state = "connected"

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      timeout: int) -> None:
        """The ack goes out on the beat of a second (redslot.common.beat): an idle replica
        wakes once a second for it, in step with the other timers of the machine's nodes."""
        next_ack = time.monotonic()
        while True:
            if time.monotonic() >= next_ack:
                self.send_ack()
                next_ack = next_beat(time.monotonic() + ACK_EVERY / 2, ACK_EVERY)
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK), sleep_until(next_ack))
            except TimeoutError:
                if time.time() - self.last_io > timeout:
                    raise SyncError("Timeout connecting to the MASTER...") from None
                continue
            if not data:
                raise EOFError("master closed the connection")
            self.last_io = time.time()
            self.apply(data)

    def apply(self, data: bytes) -> None:
        """Run the complete commands received and count (relay downstream) exactly the
        bytes of those that took effect, as they do.

        Our offset is what we acknowledge and what we continue from after a break, so it
        covers only what ran: a REPLCONF GETACK is answered with the offset of everything
        before it (Redis's reploff, updated per command), and a transaction counts once
        its EXEC ran: if the link breaks before, it is dropped with the link and the PSYNC
        asks for it again from its MULTI (Redis's reploff stays before an open MULTI)."""
        client = self.client
        assert client is not None
        server = self.server
        raw = self.partial + data
        requests = client.parser.feed(data)
        parsed = len(raw) - client.parser.buffered
        self.partial = raw[parsed:]
        body = self.open_tx + raw[:parsed]
        prop = server.propagation
        sizes = [command_size(argv) for argv in requests]
        stats = server.keyspace_stats
        stats.expiry = EXPIRY_KEEP
        try:
            if len(self.open_tx) + sum(sizes) != len(body):
                # Not the canonical encoding Redis streams: count what was parsed.
                server.run_requests(client, requests)
                self.open_tx = b""
                prop.relay(body)
                return
            counted = 0  # bytes of body relayed
            pos = len(self.open_tx)  # where the next request starts in body
            multi_at = 0 if self.open_tx else -1
            first = 0
            for i, argv in enumerate(requests):
                name = argv[0].lower() if argv else b""
                if name == b"replconf" and len(argv) > 1 and argv[1].lower() == b"getack":
                    server.run_requests(client, requests[first:i])
                    first = i
                    if not client.multi:
                        prop.relay(body[counted:pos])
                        counted = pos
                elif name == b"multi":
                    multi_at = pos
                pos += sizes[i]
            server.run_requests(client, requests[first:])
            end = multi_at if client.multi and multi_at >= counted else len(body)
            if end > counted:
                prop.relay(body[counted:end])
            self.open_tx = body[end:]
        finally:
            stats.expiry = EXPIRY_HIDE
            client.out.clear()

    def send_ack(self) -> None:
        """replicationSendAck: REPLCONF ACK <offset applied>."""
        if self.writer is not None and self.state == "connected":
            self.writer.write(encode_command(
                [b"REPLCONF", b"ACK", b"%d" % self.server.propagation.offset]))

    # --- INFO replication, ROLE ---

    def info(self) -> Iterator[str]:
        now = time.time()
        up = self.state == "connected"
        offset = self.server.propagation.offset
        yield f"master_host:{self.host}"
        yield f"master_port:{self.port}"
        yield f"master_link_status:{'up' if up else 'down'}"
        yield f"master_last_io_seconds_ago:{int(now - self.last_io) if up else -1}"
        syncing = self.sync_total >= 0
        yield f"master_sync_in_progress:{int(syncing)}"
        yield f"slave_read_repl_offset:{offset}"
        yield f"slave_repl_offset:{offset}"
        if syncing:
            left = self.sync_total - self.sync_read
            perc = self.sync_read * 100 / self.sync_total if self.sync_total else 0.0
            yield f"master_sync_total_bytes:{self.sync_total}"
            yield f"master_sync_read_bytes:{self.sync_read}"
            yield f"master_sync_left_bytes:{left}"
            yield f"master_sync_perc:{perc:.2f}"
            yield f"master_sync_last_io_seconds_ago:{int(now - self.last_io)}"
        if not up:
            yield f"master_link_down_since_seconds:{int(now - self.down_since)}"
        config = self.server.config
        yield f"slave_priority:{config['replica-priority']}"
        yield f"slave_read_only:{int(config['replica-read-only'])}"
        yield "replica_announced:1"

    def role(self) -> list[Any]:
        offset = self.server.propagation.offset if self.state == "connected" else -1
        return [b"slave", self.host.encode(), self.port, self.state.encode(), offset]
