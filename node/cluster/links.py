"""Links to the other nodes of the cluster, over their ordinary RESP port (the TLS port,
over TLS, with tls-cluster: what such a node announces as its port).

Redis nodes gossip over a binary bus; redslot nodes have none. Each known peer gets one
asyncio task that keeps one connection open and, when woken, does one of:
- pushes this node's whole table (nodes.conf text) with CLUSTER MERGETOPOLOGY when the
  table changed since the peer last took it (or when the peer's view of us is stale),
  unless the node is held (cluster-await-confirm) and so has no table worth spreading;
- asks the peer for its id (CLUSTER MYID), Redis's PING / PONG: it is what CLUSTER NODES
  shows as ping-sent / pong-recv and link state, and what ``cluster_state`` counts as
  reachable; a different id there means the node is gone. As Redis's clusterCron pings
  about one node a second and every node at least every cluster-node-timeout / 2, each
  peer is pinged every (number of peers) seconds, within 1 s and node-timeout / 2, on the
  beat of that interval (all peers at once, as the peers ping this node: one wake-up).
A failed connection or a reply that does not come within cluster-node-timeout marks the
link disconnected; the task retries a second later, so a push is retried until it lands.
The command loop never waits on a peer: the tasks run beside it. A task sleeps until its
next ping is due, or until ``tick`` (the server cron) wakes it for a new table version,
a change of hold or a push asked back; only a push that must wait (the node is held, or
the peer asked for a retry) has it look again every ``STEP``: an idle node's links wake
once a second per peer, not four times.

A node met with CLUSTER MEET is known only by address until its link asks it for its id
(CLUSTER MYID); the table row then takes the real id, as Redis's handshake does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from redslot.common.beat import next_beat, sleep_until

from ..base.outgoing import connect
from ..protocol.command import encode_command
from .internal_clients import PEER_NAME
from .state import ClusterNode, ClusterState, now_ms

if TYPE_CHECKING:
    from .context import Server

OUTBOX_LIMIT = 32 * 1024 * 1024  # forwarded publishes waiting for one peer, at most
PING_EVERY = 1.0  # one peer pinged about this often (clusterCron)
STEP = 0.25  # pushes of the table to a peer are at least this far apart
RETRY_DELAY = 1.0
CONNECT_TIMEOUT = 5.0


class LinkError(Exception):
    """The peer answered with an error or something unexpected."""


class PeerLink:
    """One peer's connection and its push / ping bookkeeping."""

    def __init__(self, links: Links, node_id: str) -> None:
        self.links = links
        self.node_id = node_id
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.address: tuple[str, int] | None = None
        self.tls = False  # connected with TLS (tls-cluster when it connected)
        self.pushed_version = -1
        self.pushed_at = 0.0
        self.last_ping = 0.0
        self.retry_at = 0.0
        self.task: asyncio.Task[None] | None = None
        # Forwarded publishes (pubsub.py) waiting to be sent, and what wakes the loop.
        self.outbox: list[bytes] = []
        self.outbox_bytes = 0
        self.wake = asyncio.Event()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.outbox.clear()  # a link that is down drops them, as the bus does
        self.outbox_bytes = 0

    def queue(self, payload: bytes) -> None:
        if self.writer is None or self.outbox_bytes + len(payload) > OUTBOX_LIMIT:
            return
        self.outbox.append(payload)
        self.outbox_bytes += len(payload)
        self.wake.set()

    async def send_outbox(self) -> None:
        """Pipeline the queued publishes; each reply is the receivers' count."""
        batch = self.outbox
        self.outbox = []
        self.outbox_bytes = 0
        await self.request(b"".join(batch), lines=len(batch))

    async def request(self, payload: bytes, lines: int = 1) -> list[bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(payload)
        timeout = max(self.links.server.config["cluster-node-timeout"] / 1000, 1.0)
        out = []
        for _ in range(lines):
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                raise ConnectionError("peer closed the connection")
            if line.startswith(b"-"):
                raise LinkError(line[1:].strip().decode(errors="replace"))
            out.append(line.rstrip(b"\r\n"))
        return out


class Links:
    """Every peer link of this node; ``tick`` (from the server cron) keeps them in step with
    the table."""

    def __init__(self, server: Server, state: ClusterState) -> None:
        self.server = server
        self.state = state
        self.peers: dict[str, PeerLink] = {}
        state.links = self.peers
        self.seen: tuple[int, bool] = (-1, False)  # the table version and hold links know of

    def tick(self, resync: bool = True) -> None:
        """Links woken for a new table or hold; links made or dropped for the table's nodes
        when it changed, or when ``resync`` (the cron asks once a second)."""
        state = self.state
        for node_id in state.push_back:
            asked = self.peers.get(node_id)
            if asked is not None:
                asked.wake.set()
        if (state.version, state.held) != self.seen:
            self.seen = (state.version, state.held)
            for link in self.peers.values():
                link.wake.set()
        elif not resync:
            return
        for node in list(state.nodes.values()):
            if node is state.myself or node.id in self.peers or not node.port:
                continue
            if not node.ip and "handshake" not in node.flags:
                continue
            link = self.peers[node.id] = PeerLink(self, node.id)
            link.task = asyncio.get_running_loop().create_task(self._run(link))
        for node_id in [i for i in self.peers if i not in state.nodes]:
            link = self.peers.pop(node_id)
            if link.task is not None:
                link.task.cancel()
            link.close()

    def forward(self, payload: bytes, node_ids: list[str]) -> None:
        for node_id in node_ids:
            link = self.peers.get(node_id)
            if link is not None:
                link.queue(payload)

    def close(self) -> None:
        for link in self.peers.values():
            if link.task is not None:
                link.task.cancel()
            link.close()
        self.peers.clear()

    async def _run(self, link: PeerLink) -> None:
        state = self.state
        while True:
            node = state.nodes.get(link.node_id)
            if node is None:
                return
            try:
                await self._serve(link, node)
                return
            except (TimeoutError, OSError, ConnectionError, LinkError) as exc:
                link.close()
                node = state.nodes.get(link.node_id)
                if node is None:
                    return
                if node.link_connected:
                    self.server.log_verbose(f"Connection with Node {node.id} at {node.address} failed: {exc}")
                node.link_connected = False
                if "handshake" in node.flags and node.link_created and (
                        now_ms() - node.link_created > max(self.server.config["cluster-node-timeout"], 1000)):
                    self.server.log_verbose(f"Handshake with node {node.address} timed out")
                    state.remove_node(node)
                    self.peers.pop(link.node_id, None)
                    return
                await asyncio.sleep(RETRY_DELAY)

    async def _connect(self, link: PeerLink, node: ClusterNode) -> None:
        timeout = min(CONNECT_TIMEOUT, max(self.server.config["cluster-node-timeout"] / 1000, 1.0))
        if not node.link_created:
            node.link_created = now_ms()
        tls = self.server.tls_client if self.server.config["tls-cluster"] else None
        link.reader, link.writer = await asyncio.wait_for(
            connect(node.ip or "127.0.0.1", node.port, self.server.config["bind-source-addr"],
                    tls), timeout)
        link.address = (node.ip, node.port)
        link.tls = tls is not None
        link.pushed_version = -1  # a new connection starts with our whole table
        # Peers share the cluster's password: masterauth (what replicas give their master),
        # else this node's own requirepass.
        config = self.server.config
        password = config["masterauth"] if "masterauth" in config.values else ""
        user = config["masteruser"] if password and "masteruser" in config.values else ""
        password = password or self.server.requirepass
        if password:
            auth = [b"AUTH", *([user.encode()] if user else []), password.encode()]
            await link.request(encode_command(auth))
        with contextlib.suppress(LinkError):  # a user without CLIENT SETNAME: still a link
            await link.request(encode_command([b"CLIENT", b"SETNAME", PEER_NAME.encode()]))

    async def _serve(self, link: PeerLink, node: ClusterNode) -> None:
        state = self.state
        await self._connect(link, node)
        if "handshake" in node.flags and await self._handshake(link, node) is None:
            return
        link.last_ping = 0.0
        while True:
            current = state.nodes.get(link.node_id)
            if current is None:
                link.close()
                return
            node = current
            if link.address != (node.ip, node.port) or link.tls != bool(self.server.config["tls-cluster"]):
                link.close()
                await self._connect(link, node)
            if link.outbox:
                await link.send_outbox()
            version = state.version
            if ((link.pushed_version != version or node.id in state.push_back)
                    and time.monotonic() >= max(link.retry_at, link.pushed_at + STEP)
                    and not state.held):
                meet = node.id in state.meet_pending
                state.push_back.discard(node.id)
                args = [b"CLUSTER", b"MERGETOPOLOGY", state.push_text().encode()] + (
                    [b"MEET"] if meet else [])
                count(state.stats_sent, "meet" if meet else "update")
                reply = await link.request(encode_command(args))
                self._mark_alive(node)
                if reply[0] == b"+IGNORED":
                    # Not known there yet (or forgotten): try again a little later.
                    link.retry_at = time.monotonic() + RETRY_DELAY
                    continue
                link.pushed_version = version
                link.pushed_at = time.monotonic()
                state.meet_pending.discard(node.id)
            elif time.monotonic() >= self.ping_due(link):
                link.last_ping = time.monotonic()
                if not node.ping_sent:
                    node.ping_sent = now_ms()
                count(state.stats_sent, "ping")
                reply = await link.request(encode_command([b"CLUSTER", b"MYID"]), lines=2)
                count(state.stats_received, "pong")
                if reply[1].decode(errors="replace") != node.id:
                    # Another node (or this one after CLUSTER RESET HARD) now answers there.
                    raise LinkError(f"the node at {node.address} is {reply[1].decode(errors='replace')}")
                self._mark_alive(node)
            if not link.outbox:
                timeout = sleep_until(self.ping_due(link))
                if link.pushed_version != state.version or node.id in state.push_back:
                    timeout = min(timeout, STEP)  # a push waits: hold, retry or last push
                if timeout > 0:
                    try:
                        await asyncio.wait_for(link.wake.wait(), timeout)
                    except TimeoutError:
                        pass
            link.wake.clear()

    def ping_interval(self) -> float:
        """Seconds between two pings of one peer: about one ping a second in all."""
        half_timeout = self.server.config["cluster-node-timeout"] / 2000
        return max(PING_EVERY, min(len(self.peers) * PING_EVERY, half_timeout))

    def ping_due(self, link: PeerLink) -> float:
        """When the peer's next ping is due: on the beat of the ping interval
        (redslot.common.beat), so that a node pings all its peers in one wake-up and, as its
        peers ping on the same beat, is pinged while it is awake; at least half an interval
        after the last ping (a timer that fires a little early does not ping twice)."""
        interval = self.ping_interval()
        return next_beat(link.last_ping + interval / 2, interval)

    def _mark_alive(self, node: ClusterNode) -> None:
        node.ping_sent = 0
        node.pong_recv = now_ms()
        if not node.link_connected:
            node.link_connected = True
            node.link_created = now_ms()
            self.state.update_state()

    async def _handshake(self, link: PeerLink, node: ClusterNode) -> ClusterNode | None:
        """The MEET handshake: learn the peer's id, then the row takes it."""
        state = self.state
        reply = await link.request(encode_command([b"CLUSTER", b"MYID"]), lines=2)
        real_id = reply[1].decode()
        self.peers.pop(link.node_id, None)
        state.remove_node(node)
        if real_id == state.myself.id or state.is_banned(real_id):
            link.close()
            return None
        known = state.nodes.get(real_id)
        if known is None:
            known = ClusterNode(real_id, node.ip, node.port, node.cport)
            known.link_connected = False
            state.add_node(known)
        link.node_id = real_id
        old = self.peers.get(real_id)
        if old is not None and old.task is not None:
            old.task.cancel()
            old.close()
        self.peers[real_id] = link
        state.meet_pending.add(real_id)
        link.pushed_version = -1
        state.changed()
        return known


def count(stats: dict[str, int], kind: str) -> None:
    stats[kind] = stats.get(kind, 0) + 1


def start_cluster(server: Server) -> None:
    """Once listening: our own address is known; save it, then link to every peer (which
    pushes our table, so peers learn a new address after a restart)."""
    state: ClusterState = server.cluster
    state.refresh_myself()
    state.link_manager = Links(server, state)
    state.changed()
    state.link_manager.tick()

    def announce(value: object) -> None:
        state.refresh_myself()
        state.changed()

    for name in ANNOUNCED:
        server.config.on_change(name, announce)


# Directives that change this node's row; CONFIG SET of one is pushed to the peers at once.
ANNOUNCED = ("cluster-announce-ip", "cluster-announce-port", "cluster-announce-bus-port",
             "cluster-announce-hostname", "cluster-replica-no-failover", "tls-cluster",
             "cluster-announce-tls-port", "tls-port")
