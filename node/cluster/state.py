"""A cluster node's state: the versioned topology table and this node's place in it.

Every node keeps the whole table: the known nodes (id, address, role, master, config
epoch, link state) and the owner of each of the 16384 slots, plus this node's own
MIGRATING/IMPORTING marks. There is no gossip bus: the table changes through the standard
CLUSTER commands and through whole tables pushed by the control plane (SETTOPOLOGY,
accepted only with a newer epoch) or by peers (MERGETOPOLOGY, merged entry by entry with
Redis's epoch rules). Redirect decisions (routing.py) read it on every request, so lookups
are plain list and dict accesses.

Every change goes through ``changed()``: it saves nodes.conf and makes the links
(cluster_links.py) push the new table to every peer, which is how a CLUSTER command on one
node reaches the others.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..keyspace.slots import SLOTS, SlotIndex
from . import nodes_conf
from .lease import Lease
from .nodes_conf import Row, Table
from .pubsub import forward_publish
from .routing import route

if TYPE_CHECKING:
    from .context import Server

FORGET_BAN_SECONDS = 60
MERGE_SAVE_DELAY = 0.1
FLAG_ORDER = ("myself", "master", "slave", "fail?", "fail", "handshake", "noaddr", "nofailover")


def new_node_id() -> str:
    return secrets.token_hex(20)


def default_bus_port(port: int) -> int:
    """port + 10000 as Redis announces it; with no bus to listen on, a port too high for that
    announces itself instead of refusing to start as Redis would."""
    return port + 10000 if port + 10000 <= 65535 else port


def now_ms() -> int:
    return int(time.time() * 1000)


class ClusterNode:
    """One row of the table (a line of CLUSTER NODES)."""

    __slots__ = ("id", "ip", "port", "pport", "cport", "hostname", "flags", "master_id",
                 "config_epoch", "slots", "ping_sent", "pong_recv", "link_connected", "shard_id",
                 "link_created", "ranges_cache")

    def __init__(self, node_id: str, ip: str, port: int, cport: int = 0) -> None:
        self.id = node_id
        self.ip = ip
        self.port = port
        # With tls-cluster, ``port`` is the node's TLS port and ``pport`` its plaintext one
        # (0: none), which plaintext clients are told instead (Redis's use_pport).
        self.pport = 0
        self.cport = cport or default_bus_port(port)
        self.hostname = ""
        self.flags: set[str] = {"master"}
        self.master_id: str | None = None
        self.config_epoch = 0
        self.slots: set[int] = set()
        self.ping_sent = 0
        self.pong_recv = 0
        self.link_connected = True
        self.shard_id = ""
        self.link_created = 0  # ms time the current link to this peer was set up
        self.ranges_cache: list[str] | None = None  # slot_ranges(slots), until they change

    def ranges(self) -> list[str]:
        """The slots as CLUSTER NODES prints them; every table render needs them, and
        sorting thousands of slots per node per render is what made resharding slow."""
        if self.ranges_cache is None:
            self.ranges_cache = slot_ranges(self.slots)
        return self.ranges_cache

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def address(self) -> str:
        """``ip:port`` as the logs name the node."""
        return f"{self.ip}:{self.port}"

    def client_port(self, plaintext: bool) -> int:
        """The port a client is told: the plaintext one for a plaintext client of a TLS
        cluster when the node has one (cluster.c's use_pport), else ``port``."""
        return self.pport if plaintext and self.pport else self.port

    def client_address(self, plaintext: bool) -> str:
        """``ip:port`` as MOVED and ASK print it to this client."""
        return f"{self.ip}:{self.client_port(plaintext)}"

    def set_role(self, master: ClusterNode | None) -> None:
        """Master (``None``) or replica of ``master``; a replica shares its master's shard."""
        self.flags.discard("master" if master is not None else "slave")
        self.flags.add("slave" if master is not None else "master")
        self.master_id = master.id if master is not None else None
        if master is not None:
            self.shard_id = master.shard_id


class ClusterState:
    """The table as this node knows it."""

    def __init__(self, myself: ClusterNode) -> None:
        self.myself = myself
        self.nodes: dict[str, ClusterNode] = {myself.id: myself}
        self.current_epoch = 0
        self.last_vote_epoch = 0
        # Epoch of the last table the control plane pushed (SETTOPOLOGY); only a greater one
        # is taken. Unlike currentEpoch it does not travel between nodes, so the same push
        # can reach every node.
        self.topology_epoch = 0
        # cluster-await-confirm: until the control plane confirms our role with a
        # SETTOPOLOGY, serve no slot, replicate nothing, push and take no table. A master
        # restarted without its data would otherwise take its slots back and wipe its
        # replicas with its empty dataset. In memory only: every start holds again.
        self.held = False
        # cluster-lease-fencing: keyed commands are served only while this lease holds.
        self.lease = Lease(enforced=False)
        self.owner: list[ClusterNode | None] = [None] * SLOTS
        self.migrating: dict[int, ClusterNode] = {}  # slot -> target node (on myself)
        self.importing: dict[int, ClusterNode] = {}  # slot -> source node (on myself)
        self.state_ok = False
        self.server: Server | None = None
        self.config_path = ""
        # Node ids removed by CLUSTER FORGET, with the time their ban ends: merges ignore them.
        self.forgotten: dict[str, float] = {}
        # Called with no arguments after slot ownership or cluster_state changes.
        self.on_slots_changed: list[Callable[[], None]] = []
        # Bumped on every table change; a link pushes until its peer has the current one.
        self.version = 0
        self.push_back: set[str] = set()  # peers to push to even without a change
        self.meet_pending: set[str] = set()  # peers met by CLUSTER MEET, not yet pushed to
        self.stats_sent: dict[str, int] = {}
        self.stats_received: dict[str, int] = {}
        # Our address comes from cluster-announce-ip or a specific bind address; otherwise
        # peers take it from the connections our pushes arrive on (as Redis's bus does).
        self.ip_pinned = False
        self.links: dict[str, Any] = {}  # node id -> cluster_links.PeerLink
        self.inbound: dict[str, Any] = {}  # node id -> the Client its pushes arrive on
        self.link_manager: Any = None  # cluster_links.Links, set when the server starts
        self.push_cache: tuple[Any, str] | None = None
        self.save_pending = False
        # A save owed before the next reply goes out: 0 none, 1 written, 2 written and
        # synced (save_before_reply).
        self.unsaved = 0

    # route(client, cmd, argv) -> the redirect or refusal text (MOVED, ASK, ...) or None.
    route = route

    # --- startup ---

    @classmethod
    def open(cls, server: Server) -> ClusterState:
        """clusterInit: load nodes.conf from ``dir`` or start as a lone master with a new id."""
        config = server.config
        path = os.path.join(config["dir"], config["cluster-config-file"])
        table = nodes_conf.load(path)
        if table is None:
            state = cls(ClusterNode(new_node_id(), "", config["port"]))
            state.myself.shard_id = new_node_id()
            state.myself.flags.add("myself")
            server.log_notice(f"No cluster configuration found, I'm {state.myself.id}")
        else:
            mine = next(row for row in table.rows if "myself" in row.flags)
            state = cls(ClusterNode(mine.id, mine.ip, mine.port, mine.cport))
            state.apply_rows(table.rows, keep_own_address=False)
            state.current_epoch = max(table.current_epoch or 0, state.max_epoch())
            state.last_vote_epoch = table.last_vote_epoch
            state.topology_epoch = table.topology_epoch
            for node in state.nodes.values():
                if node is not state.myself:
                    node.link_connected = False
            server.log_notice(f"Node configuration loaded, I'm {state.myself.id}")
        state.server = server
        state.config_path = path
        if config["cluster-await-confirm"]:
            state.held = True
            server.log_notice("Holding: no slot served, no replication and no table exchanged "
                              "until CLUSTER SETTOPOLOGY confirms this node's role")
        state.lease = Lease(enforced=config["cluster-lease-fencing"])
        server.dbs[0].slot_index = SlotIndex()
        return state

    def refresh_myself(self) -> None:
        """Our own address from the configuration and the listening socket (after a restart
        on another address the id and table stay, the address follows the node)."""
        assert self.server is not None
        config = self.server.config
        me = self.myself
        me.port, me.pport = self._announced_ports()
        port = me.port
        me.cport = config["cluster-announce-bus-port"] or config["cluster-port"] or default_bus_port(port)
        me.hostname = config["cluster-announce-hostname"]
        ip = config["cluster-announce-ip"]
        self.ip_pinned = bool(ip) or self._bind_names_ip()
        if not ip and self.ip_pinned:
            ip = config["bind"].split()[0].lstrip("-")
        me.ip = ip or me.ip
        if config["cluster-replica-no-failover"]:
            me.flags.add("nofailover")
        else:
            me.flags.discard("nofailover")

    def _announced_ports(self) -> tuple[int, int]:
        """deriveAnnouncedPorts: (port, pport); with tls-cluster the TLS port is the one
        peers and TLS clients use, the plaintext port (if any) the one plaintext clients get."""
        assert self.server is not None
        config = self.server.config
        tcp = self.server.tcp_port or config["port"]
        if not config["tls-cluster"]:
            return config["cluster-announce-port"] or tcp, 0
        if config["cluster-announce-tls-port"]:
            return config["cluster-announce-tls-port"], config["cluster-announce-port"]
        return config["cluster-announce-port"] or config["tls-port"], tcp

    def plaintext_view(self, client_tls: bool) -> bool:
        """Whether a client is told plaintext ports: one not on TLS, in a TLS cluster."""
        return not client_tls and self.server is not None and bool(self.server.config["tls-cluster"])

    def learn_my_ip(self, local_ip: str) -> None:
        """Like Redis learning its address from a MEET: when nothing names it, the local
        address of a peer's connection is ours."""
        assert self.server is not None
        if self.server.config["cluster-announce-ip"] or not local_ip:
            return
        if self.myself.ip != local_ip and not self.ip_pinned:
            self.myself.ip = local_ip
            self.changed()

    def _bind_names_ip(self) -> bool:
        assert self.server is not None
        binds = [b.lstrip("-") for b in self.server.config["bind"].split()]
        return all(b not in ("*", "::*", "0.0.0.0", "::") for b in binds)

    # --- the table ---

    def forward_publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        """PUBLISH to every other node, SPUBLISH to the rest of this shard (pubsub.py)."""
        forward_publish(self, channel, message, shard)

    def master_of(self, node: ClusterNode) -> ClusterNode | None:
        return self.nodes.get(node.master_id) if node.master_id else None

    def replicas_of(self, node: ClusterNode) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.master_id == node.id and "slave" in n.flags]

    def node_epoch(self, node: ClusterNode) -> int:
        """nodeEpoch: a replica shows its master's config epoch."""
        if "slave" in node.flags and node.master_id:
            master = self.nodes.get(node.master_id)
            if master is not None:
                return master.config_epoch
        return node.config_epoch

    def max_epoch(self) -> int:
        return max([self.current_epoch, *(n.config_epoch for n in self.nodes.values())])

    def assign(self, slot: int, node: ClusterNode) -> None:
        old = self.owner[slot]
        if old is not None:
            old.slots.discard(slot)
            old.ranges_cache = None
        self.owner[slot] = node
        node.slots.add(slot)
        node.ranges_cache = None

    def unassign(self, slot: int) -> None:
        old = self.owner[slot]
        if old is not None:
            old.slots.discard(slot)
            old.ranges_cache = None
            self.owner[slot] = None

    def add_node(self, node: ClusterNode) -> None:
        self.nodes[node.id] = node

    def remove_node(self, node: ClusterNode) -> None:
        """clusterDelNode: its slots become unassigned, marks naming it are cleared."""
        for slot in list(node.slots):
            self.unassign(slot)
        for marks in (self.migrating, self.importing):
            for slot in [s for s, n in marks.items() if n is node]:
                del marks[slot]
        for other in self.nodes.values():
            if other.master_id == node.id:
                other.master_id = None
        self.nodes.pop(node.id, None)
        self.push_back.discard(node.id)
        self.meet_pending.discard(node.id)

    def forget(self, node: ClusterNode) -> None:
        self.remove_node(node)
        self.forgotten[node.id] = time.time() + FORGET_BAN_SECONDS

    def is_banned(self, node_id: str) -> bool:
        until = self.forgotten.get(node_id)
        if until is None:
            return False
        if until < time.time():
            del self.forgotten[node_id]
            return False
        return True

    def bump_epoch_without_consensus(self) -> bool:
        """clusterBumpConfigEpochWithoutConsensus: a new epoch for myself unless its epoch is
        already the greatest and unique."""
        max_epoch = self.max_epoch()
        me = self.myself
        if me.config_epoch == 0 or me.config_epoch != max_epoch or any(
                n is not me and n.config_epoch == me.config_epoch for n in self.nodes.values()):
            self.current_epoch += 1
            me.config_epoch = self.current_epoch
            return True
        return False

    def set_my_master(self, master: ClusterNode) -> None:
        """clusterSetMaster: myself becomes a replica of ``master``; a master gives up its slots
        and marks."""
        me = self.myself
        if me.is_master:
            for slot in list(me.slots):
                self.unassign(slot)
            self.migrating.clear()
            self.importing.clear()
        me.set_role(master)

    def delete_keys_in_slots(self, slots: set[int]) -> None:
        """delKeysInSlot for slots this node lost while holding keys in them."""
        assert self.server is not None
        db = self.server.dbs[0]
        index = db.slot_index
        if index is None:
            return
        for slot in slots:
            for key in index.keys_in(slot, index.count(slot)):
                db.delete(key)

    def keys_in_slot(self, slot: int) -> int:
        assert self.server is not None
        index = self.server.dbs[0].slot_index
        return index.count(slot) if index is not None else 0

    # --- state and change propagation ---

    def reachable(self, node: ClusterNode) -> bool:
        if node is self.myself:
            return True
        if "fail" in node.flags or "fail?" in node.flags:
            return False
        if node.link_connected:
            return True
        timeout = self.server.config["cluster-node-timeout"] if self.server is not None else 15000
        return bool(node.pong_recv) and now_ms() - node.pong_recv <= timeout

    def update_state(self) -> None:
        """clusterUpdateState: ok when every slot is served by a reachable owner (or
        coverage is not required) and a master sees a majority of the masters."""
        assert self.server is not None
        full = self.server.config["cluster-require-full-coverage"]
        ok = not self.held
        size = reachable_masters = 0
        for node in self.nodes.values():
            if not node.slots or not node.is_master:
                continue
            size += 1
            if self.reachable(node):
                reachable_masters += 1
            elif full:
                ok = False
        if full and sum(len(n.slots) for n in self.nodes.values()) != SLOTS:
            ok = False
        if ok and self.myself.is_master and reachable_masters < size // 2 + 1:
            ok = False
        if ok != self.state_ok:
            self.state_ok = ok
            self.server.log_notice(f"Cluster state changed: {'ok' if ok else 'fail'}")
            self.slots_changed()

    def slots_changed(self) -> None:
        for callback in self.on_slots_changed:
            callback()

    def changed(self, slots: bool = False, save_now: bool = True, fsync: bool = True,
                before_reply: bool = False) -> None:
        """The table changed: recompute the state, save nodes.conf, let the links push it.

        A command's change is saved before its reply, as in Redis. A peer's push is saved
        a moment later, once for every push of that moment: during a reshard peers push
        many times a second, and a lost merge is pushed again when the peers reconnect.
        ``before_reply``: saved once for every command of this read, before their replies.
        """
        self.version += 1
        self.current_epoch = max(self.current_epoch, self.max_epoch())
        if slots:
            self.slots_changed()
        self.update_state()
        self.follow_my_master()
        if before_reply:
            self.save_before_reply(fsync)
        elif save_now:
            self.save_or_warn(fsync)
        elif not self.save_pending:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (the table used on its own): save now
                self.save_or_warn()
                return
            self.save_pending = True
            loop.call_later(MERGE_SAVE_DELAY, self.save_or_warn)

    def save_before_reply(self, fsync: bool) -> None:
        """Owe a save that must be done before any reply leaves (clusterDoBeforeSleep's
        CLUSTER_TODO_SAVE_CONFIG): the SETSLOTs of one pipeline, as a reshard sends them,
        then cost one save instead of one each. Client.flush settles it before writing."""
        self.unsaved = max(self.unsaved, 2 if fsync else 1)

    def settle_save(self) -> None:
        """Do the save owed by save_before_reply, if any."""
        if self.unsaved:
            self.save_or_warn(self.unsaved == 2)

    def save_or_warn(self, fsync: bool = True) -> None:
        self.save_pending = False
        if fsync or self.unsaved < 2:
            self.unsaved = 0
        try:
            self.save(fsync)
        except OSError as exc:
            # Redis exits here (clusterSaveConfigOrDie); the table in memory stays right and
            # the next change, or CLUSTER SAVECONFIG, tries again.
            assert self.server is not None
            self.server.log_warning(f"Can't update cluster config file {self.config_path}: {exc.strerror}")

    def follow_my_master(self) -> None:
        """Replication follows the table (clusterSetMaster / replicationUnsetMaster): a
        replica row replicates from its master's address, a master row stops replicating."""
        server = self.server
        if server is None or not server.listening or self.held:
            return  # not serving yet, or held: start() or SETTOPOLOGY calls again
        me = self.myself
        link = server.replication.link
        if me.is_master or me.master_id is None:
            if link is not None:
                server.promote()
            return
        master = self.nodes.get(me.master_id)
        if master is None or not master.ip:
            return
        if link is None or (link.host, link.port) != (master.ip, master.port):
            server.demote(master.ip, master.port)

    def save(self, fsync: bool = True) -> None:
        """clusterSaveConfigOrDie; raises OSError for SAVECONFIG to report."""
        if self.config_path:
            nodes_conf.save(self.config_path, self.config_text(), fsync)

    # --- text renderings ---

    def describe(self, node: ClusterNode, for_config: bool = False, plaintext: bool = False) -> str:
        """clusterGenNodeDescription: one CLUSTER NODES line, without the newline. nodes.conf
        and pushed tables keep a TLS node's plaintext port as 7.2's ``tcp-port`` aux field
        (Redis 7.0 carries it on the bus instead)."""
        address = f"{node.ip}:{node.client_port(plaintext)}@{node.cport}"
        if node.hostname:
            address += "," + node.hostname
        if for_config:
            address += ("" if node.hostname else ",") + f",shard-id={node.shard_id}"
            if node.pport:
                address += f",tcp-port={node.pport}"
        flags = ",".join(f for f in FLAG_ORDER if f in node.flags) or "noflags"
        master = node.master_id or "-"
        link = "connected" if node.link_connected or node is self.myself else "disconnected"
        parts = [node.id, address, flags, master, str(node.ping_sent), str(node.pong_recv),
                 str(self.node_epoch(node)), link]
        parts.extend(node.ranges())
        if node is self.myself:
            parts.extend(f"[{slot}->-{n.id}]" for slot, n in sorted(self.migrating.items()))
            parts.extend(f"[{slot}-<-{n.id}]" for slot, n in sorted(self.importing.items()))
        return " ".join(parts)

    def nodes_text(self, plaintext: bool = False) -> str:
        return "".join(self.describe(n, plaintext=plaintext) + "\n" for n in self.nodes.values())

    def push_text(self) -> str:
        """The table pushed to peers, rendered once per table version for all links."""
        me = self.myself
        key = (self.version, me.ip, me.port, me.pport, self.ip_pinned, self.current_epoch)
        if self.push_cache is None or self.push_cache[0] != key:
            self.push_cache = (key, self.config_text(for_push=True))
        return self.push_cache[1]

    def config_text(self, for_push: bool = False) -> str:
        """nodes.conf: the table with shard ids, then the epochs. A pushed copy leaves our
        own address blank unless it is pinned, so that the receiver uses the one it sees."""
        lines = []
        for node in self.nodes.values():
            if "handshake" in node.flags:
                continue
            line = self.describe(node, for_config=True)
            if for_push and node is self.myself and not self.ip_pinned and node.ip:
                line = line.replace(f" {node.ip}:{node.port}@", f" :{node.port}@", 1)
            lines.append(line + "\n")
        lines.append(f"vars currentEpoch {self.current_epoch} lastVoteEpoch {self.last_vote_epoch}"
                     f" topologyEpoch {self.topology_epoch}\n")
        return "".join(lines)

    # --- applying tables ---

    def apply_rows(self, rows: list[Row], keep_own_address: bool) -> None:
        """Make the table exactly ``rows`` (nodes.conf at start, SETTOPOLOGY)."""
        me = self.myself
        wanted = {row.id for row in rows}
        for stale in list(self.nodes.values()):
            if stale is not me and stale.id not in wanted:
                self.remove_node(stale)
        for row in rows:
            found = self.nodes.get(row.id)
            if found is None:
                found = ClusterNode(row.id, row.ip, row.port, row.cport)
                found.link_connected = False
                self.add_node(found)
            node = found
            if node is not me or not keep_own_address:
                node.ip, node.port, node.cport, node.hostname = row.ip, row.port, row.cport or default_bus_port(row.port), row.hostname
                node.pport = row.pport or node.pport  # the control plane's tables omit it
            keep = {"myself"} if node is me else set()
            node.flags = (row.flags - {"myself"}) | keep
            if not node.flags & {"master", "slave"}:
                node.flags.add("master")
            node.master_id = row.master_id
            node.config_epoch = row.config_epoch
            if row.shard_id:
                node.shard_id = row.shard_id
            if node is not me:
                node.ping_sent = node.pong_recv = 0
        self.owner = [None] * SLOTS
        for node in self.nodes.values():
            node.slots = set()
            node.ranges_cache = None
        self.migrating.clear()
        self.importing.clear()
        for row in rows:
            node = self.nodes[row.id]
            for slot in row.slots:
                self.assign(slot, node)
            if row.id == me.id:
                for marks, wanted_marks in ((self.migrating, row.migrating), (self.importing, row.importing)):
                    for slot, other_id in wanted_marks.items():
                        other = self.nodes.get(other_id)
                        if other is not None:
                            marks[slot] = other
        for node in self.nodes.values():
            if not node.shard_id:
                master = self.master_of(node)
                node.shard_id = master.shard_id if master is not None and master.shard_id else new_node_id()
            elif "slave" in node.flags:
                master = self.master_of(node)
                if master is not None and master.shard_id:
                    node.shard_id = master.shard_id

    def set_topology(self, epoch: int, table: Table) -> str | None:
        """CLUSTER SETTOPOLOGY: replace the table; None, or the refusal reason."""
        if epoch <= self.topology_epoch:
            return errors.CLUSTER_TOPOLOGY_STALE % (epoch, self.topology_epoch)
        mine = next((row for row in table.rows if row.id == self.myself.id), None)
        if mine is None:
            return errors.CLUSTER_TOPOLOGY_NOT_MINE % self.myself.id
        if "slave" not in mine.flags:
            keep = set(mine.slots)
            for slot in self.myself.slots - keep:
                if self.keys_in_slot(slot):
                    return errors.CLUSTER_SLOT_HAS_KEYS % slot
        # Nodes new to us may not know us yet: introduce ourselves as CLUSTER MEET would.
        self.meet_pending |= {row.id for row in table.rows if row.id not in self.nodes}
        self.apply_rows(table.rows, keep_own_address=True)
        self.topology_epoch = epoch
        if self.held:
            self.held = False
            assert self.server is not None
            self.server.log_notice(f"Role confirmed by the control plane (topology epoch {epoch}): hold ended")
        self.current_epoch = max(self.current_epoch, epoch, self.max_epoch())
        self.changed(slots=True)
        return None

    def merge(self, table: Table, peer_ip: str = "") -> bool:
        """Take in a peer's table, as Redis takes in gossip (clusterProcessPacket).

        The sender (its ``myself`` row) is authoritative on its own row; unknown nodes are
        added; a slot goes to the claimant with the greater config epoch
        (clusterUpdateSlotsConfigWith); two masters with the same config epoch are told
        apart as clusterHandleConfigEpochCollision does. Returns whether anything changed.
        """
        sender_row = next((row for row in table.rows if "myself" in row.flags), None)
        me = self.myself
        if sender_row is None or sender_row.id == me.id or self.is_banned(sender_row.id):
            return False
        changed = False
        if table.current_epoch is not None and table.current_epoch > self.current_epoch:
            self.current_epoch = table.current_epoch
            changed = True
        rows = {row.id: row for row in table.rows if not self.is_banned(row.id)}
        for row in rows.values():
            if row.id == me.id:
                if self._stale_view_of_me(row):
                    self.push_back.add(sender_row.id)
                continue
            node = self.nodes.get(row.id)
            is_sender = row is sender_row
            if node is None:
                ip = row.ip or (peer_ip if is_sender else "")
                node = ClusterNode(row.id, ip, row.port, row.cport)
                node.link_connected = False
                node.flags = set()
                self.add_node(node)
                self._take_row(node, row, ip)
                changed = True
            elif is_sender or row.config_epoch > self.node_epoch(node):
                changed |= self._take_row(node, row, row.ip or (peer_ip if is_sender else node.ip))
        changed |= self._take_slots(rows)
        sender = self.nodes.get(sender_row.id)
        if (sender is not None and sender.is_master and me.is_master
                and sender.config_epoch == me.config_epoch and sender.id > me.id):
            self.current_epoch += 1
            me.config_epoch = self.current_epoch
            changed = True
            assert self.server is not None
            self.server.log_verbose(
                f"WARNING: configEpoch collision with node {sender.id}. configEpoch set to {me.config_epoch}")
        elif (sender is not None and sender.is_master and me.is_master
                and sender.config_epoch == me.config_epoch):
            self.push_back.add(sender.id)
        if changed:
            self.changed(slots=True, save_now=False)
        return changed

    def _stale_view_of_me(self, row: Row) -> bool:
        me = self.myself
        return (row.config_epoch != self.node_epoch(me) or set(row.slots) != me.slots
                or row.master_id != me.master_id or row.port != me.port or row.pport != me.pport
                or (self.ip_pinned and row.ip != me.ip))

    def _take_row(self, node: ClusterNode, row: Row, ip: str) -> bool:
        before = (node.ip, node.port, node.pport, node.cport, node.hostname, frozenset(node.flags),
                  node.master_id, node.config_epoch, node.shard_id)
        node.ip, node.port, node.cport, node.hostname = ip, row.port, row.cport or default_bus_port(row.port), row.hostname
        node.pport = row.pport
        role = row.flags & {"master", "slave", "nofailover", "fail", "fail?", "noaddr"}
        node.flags = (node.flags - {"master", "slave", "nofailover", "fail", "fail?", "noaddr", "handshake"}) | role
        if not node.flags & {"master", "slave"}:
            node.flags.add("master")
        if "slave" in node.flags and node.slots:
            for slot in list(node.slots):
                self.unassign(slot)
        node.master_id = row.master_id
        if "slave" not in row.flags:
            node.config_epoch = row.config_epoch
        if row.shard_id:
            node.shard_id = row.shard_id
        after = (node.ip, node.port, node.pport, node.cport, node.hostname, frozenset(node.flags),
                 node.master_id, node.config_epoch, node.shard_id)
        return before != after

    def _take_slots(self, rows: dict[str, Row]) -> bool:
        """clusterUpdateSlotsConfigWith for every claim in the table."""
        me = self.myself
        cur_master = me if me.is_master else self.master_of(me)
        had_slots = bool(cur_master.slots) if cur_master is not None else False
        new_master: ClusterNode | None = None
        lost_with_keys: set[int] = set()
        changed = False
        for row in rows.values():
            claimant = self.nodes.get(row.id)
            if claimant is None or claimant is me or "slave" in row.flags:
                continue
            if claimant.slots.issuperset(row.slots):
                continue  # nothing new: most rows of most pushes
            epoch = claimant.config_epoch
            for slot in row.slots:
                owner = self.owner[slot]
                if owner is claimant or slot in self.importing:
                    continue
                if owner is None or owner.config_epoch < epoch:
                    if owner is me and self.keys_in_slot(slot):
                        lost_with_keys.add(slot)
                    if owner is not None and owner is cur_master:
                        new_master = claimant
                    self.assign(slot, claimant)
                    changed = True
        demoted = False
        if (new_master is not None and cur_master is not None and had_slots
                and not cur_master.slots and new_master is not me):
            assert self.server is not None
            if me.is_master and self.server.config["cluster-allow-replica-migration"]:
                self.server.log_notice(
                    f"Configuration change detected. Reconfiguring myself as a replica of {new_master.id}")
                self.set_my_master(new_master)
                demoted = True
            elif not me.is_master:
                me.set_role(new_master)
                demoted = True
        if lost_with_keys and not demoted:
            # Only a master that goes on serving other slots drops the keys of those it
            # lost; a master turned replica of the claimant keeps them: they are the
            # history its partial resync continues (clusterUpdateSlotsConfigWith's last
            # branch, after the two that reconfigure replication).
            self.delete_keys_in_slots(lost_with_keys)
        return changed


def slot_ranges(slots: set[int]) -> list[str]:
    """Sorted slots as CLUSTER NODES prints them: ``0-5460``, ``5461``."""
    out: list[str] = []
    for start, end in slot_spans(slots):
        out.append(str(start) if start == end else f"{start}-{end}")
    return out


def slot_spans(slots: set[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = prev = -2
    for slot in sorted(slots):
        if slot != prev + 1:
            if start >= 0:
                spans.append((start, prev))
            start = slot
        prev = slot
    if start >= 0:
        spans.append((start, prev))
    return spans
