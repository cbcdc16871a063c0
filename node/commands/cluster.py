"""CLUSTER subcommands that read the topology table (cluster.c clusterCommand, Redis 7).

Replies are shaped exactly as Redis 7.0 sends them (CLUSTER NODES and INFO are verbatim
text, SLOTS and SHARDS nested arrays and maps), so cluster clients and redis-cli's
--cluster tooling read them unchanged. The subcommands that change the table live in
cluster_admin.py. On a node without cluster mode every CLUSTER subcommand answers that
cluster support is disabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..cluster.info import info_text
from ..cluster.state import ClusterNode, ClusterState, slot_spans
from ..keyspace.slots import SLOTS, key_slot
from ..protocol.reply import Verbatim
from ..table.command import command
from .args import to_int

if TYPE_CHECKING:
    from .context import Client

def cluster_state(c: Client) -> ClusterState:
    state = c.server.cluster
    if state is None:
        raise CommandError(errors.CLUSTER_DISABLED)
    return state  # type: ignore[no-any-return]


def lookup_node(state: ClusterState, arg: bytes, message: str = errors.CLUSTER_UNKNOWN_NODE) -> ClusterNode:
    name = arg.decode("utf-8", "surrogateescape")
    node = state.nodes.get(name)
    if node is None:
        raise CommandError(message % name)
    return node


def parse_slot(arg: bytes) -> int:
    """getSlotOrReply."""
    try:
        slot = to_int(arg)
    except CommandError:
        raise CommandError(errors.CLUSTER_BAD_SLOT) from None
    if not 0 <= slot < SLOTS:
        raise CommandError(errors.CLUSTER_BAD_SLOT)
    return slot


@command("cluster|myid")
def cluster_myid(c: Client, argv: list[bytes]) -> Any:
    return cluster_state(c).myself.id.encode()


@command("cluster|myshardid")
def cluster_myshardid(c: Client, argv: list[bytes]) -> Any:
    return cluster_state(c).myself.shard_id.encode()


@command("cluster|keyslot")
def cluster_keyslot(c: Client, argv: list[bytes]) -> Any:
    cluster_state(c)
    return key_slot(argv[2])


@command("cluster|countkeysinslot")
def cluster_countkeysinslot(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    slot = to_int(argv[2])
    if not 0 <= slot < SLOTS:
        raise CommandError(errors.CLUSTER_INVALID_SLOT)
    return state.keys_in_slot(slot)


@command("cluster|getkeysinslot")
def cluster_getkeysinslot(c: Client, argv: list[bytes]) -> Any:
    cluster_state(c)
    slot = to_int(argv[2])
    count = to_int(argv[3])
    if count < 0 or not 0 <= slot < SLOTS:
        raise CommandError(errors.CLUSTER_BAD_SLOT_OR_COUNT)
    index = c.server.dbs[0].slot_index
    return index.keys_in(slot, count) if index is not None else []


@command("cluster|nodes")
def cluster_nodes(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    return Verbatim(state.nodes_text(state.plaintext_view(c.tls)))


@command("cluster|info")
def cluster_info(c: Client, argv: list[bytes]) -> Any:
    return Verbatim(info_text(cluster_state(c)))


def _node_entry(node: ClusterNode, plaintext: bool) -> list[Any]:
    """addNodeToNodeReply: preferred endpoint (the ip), port, id, extra metadata."""
    meta: dict[bytes, bytes] = {}
    if node.hostname:
        meta[b"hostname"] = node.hostname.encode()
    return [node.ip.encode(), node.client_port(plaintext), node.id.encode(), meta]


@command("cluster|slots")
def cluster_slots(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    plaintext = state.plaintext_view(c.tls)
    out = []
    for node in state.nodes.values():
        if not node.is_master or not node.slots:
            continue
        replicas = [r for r in state.replicas_of(node) if "fail" not in r.flags]
        entries = [_node_entry(node, plaintext), *(_node_entry(r, plaintext) for r in replicas)]
        for start, end in slot_spans(node.slots):
            out.append([start, end, *entries])
    return out


def _health(node: ClusterNode) -> bytes:
    if "fail" in node.flags:
        return b"fail"
    if "slave" in node.flags:
        return b"loading"
    return b"online"


def _shard_node(c: Client, state: ClusterState, node: ClusterNode) -> dict[bytes, Any]:
    # addNodeDetailsToShardReply: tls-cluster says whether ``port`` is the TLS port.
    tls_cluster = c.server.config["tls-cluster"]
    entry: dict[bytes, Any] = {b"id": node.id.encode()}
    plaintext_port = node.pport if tls_cluster else node.port
    if plaintext_port:
        entry[b"port"] = plaintext_port
    if tls_cluster and node.port:
        entry[b"tls-port"] = node.port
    entry[b"ip"] = node.ip.encode()
    entry[b"endpoint"] = node.ip.encode()
    if node.hostname:
        entry[b"hostname"] = node.hostname.encode()
    entry[b"role"] = b"master" if node.is_master else b"replica"
    offset = c.server.master_repl_offset if node is state.myself and node.is_master else 0
    entry[b"replication-offset"] = offset
    entry[b"health"] = _health(node)
    return entry


@command("cluster|shards")
def cluster_shards(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    out = []
    for node in state.nodes.values():
        if not node.is_master:
            continue
        spans = [bound for span in slot_spans(node.slots) for bound in span]
        members = [node, *state.replicas_of(node)]
        out.append({b"slots": spans, b"nodes": [_shard_node(c, state, m) for m in members]})
    return out


@command("cluster|replicas")
def cluster_replicas(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    node = lookup_node(state, argv[2])
    if not node.is_master:
        raise CommandError(errors.CLUSTER_NOT_A_MASTER)
    plaintext = state.plaintext_view(c.tls)
    return [state.describe(r, plaintext=plaintext).encode() for r in state.replicas_of(node)]


command("cluster|slaves")(cluster_replicas)


@command("cluster|count-failure-reports")
def cluster_count_failure_reports(c: Client, argv: list[bytes]) -> Any:
    lookup_node(cluster_state(c), argv[2])
    return 0  # failure reports travel on Redis's gossip bus; redslot leaves detection to the operator


@command("cluster|links")
def cluster_links(c: Client, argv: list[bytes]) -> Any:
    """Per peer, the link to it then the link from it (the connection it pushes its table
    on), as addReplyClusterLinksDescription walks the node table."""
    state = cluster_state(c)
    for node_id, peer in list(state.inbound.items()):
        if node_id not in state.nodes or peer.closing or c.server.clients.get(peer.id) is not peer:
            del state.inbound[node_id]
    out = []
    for node_id, node in state.nodes.items():
        link = state.links.get(node_id)
        if link is not None and link.writer is not None:
            out.append(_link_entry(b"to", node_id, node.link_created))
        peer = state.inbound.get(node_id)
        if peer is not None:
            out.append(_link_entry(b"from", node_id, int(peer.created * 1000)))
    return out


def _link_entry(direction: bytes, node_id: str, created: int) -> dict[bytes, Any]:
    return {
        b"direction": direction,
        b"node": node_id.encode(),
        b"create-time": created,
        b"events": b"r",
        b"send-buffer-allocated": 0,
        b"send-buffer-used": 0,
    }


HELP = (
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "MYSHARDID",
    "    Return the node's shard id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
    "SETTOPOLOGY <epoch> <table>",
    "    Replace the topology table (CLUSTER NODES format) when <epoch> is newer than this node's.",
    "MERGETOPOLOGY <table> [MEET]",
    "    Merge a peer's topology table (nodes.conf format) by config epochs.",
    "HELP",
    "    Prints this help.",
)


@command("cluster|help")
def cluster_help(c: Client, argv: list[bytes]) -> Any:
    cluster_state(c)
    return list(HELP)
