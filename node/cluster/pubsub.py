"""Pub/Sub across the cluster (cluster.c clusterPropagatePublish, removeChannelsInSlot).

With no gossip bus, a PUBLISH goes to every other node and an SPUBLISH to the other nodes
of this node's shard over the peer links (links.py), as ``CLUSTER PUBLISH channel message
[SHARD]``, which the receiver delivers to its own subscribers only. A link that is down
drops what it would carry, as the bus does; what waits for a link is bounded.

When a slot stops being served by this node's shard, the subscribers of its shard
channels get the ``sunsubscribe`` push and clients re-subscribe at the new owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..keyspace.slots import key_slot
from ..protocol.command import encode_command

if TYPE_CHECKING:
    from .context import Server
    from .state import ClusterState


def forward_publish(state: ClusterState, channel: bytes, message: bytes, shard: bool) -> None:
    links = state.link_manager
    if links is None:
        return
    myself = state.myself
    if shard:
        targets = [n.id for n in shard_nodes(state) if n is not myself]
    else:
        targets = [node_id for node_id in state.nodes if node_id != myself.id]
    if not targets:
        return
    args = [b"CLUSTER", b"PUBLISH", channel, message] + ([b"SHARD"] if shard else [])
    links.forward(encode_command(args), targets)


def shard_nodes(state: ClusterState) -> list:
    """clusterGetNodesInMyShard: my master (or me) and its replicas."""
    myself = state.myself
    master = state.master_of(myself) if "slave" in myself.flags else myself
    if master is None:
        return [myself]
    return [master, *state.replicas_of(master)]


class ShardChannelGuard:
    """Drops the shard channels whose slot this node's shard no longer serves; looked at
    from the cron, only after the table changed.

    A slot this node is importing is kept: an ASKING client may subscribe to its channels
    here before the slot is handed over (getNodeByQuery serves it), and Redis drops
    channels only when a slot its shard served is deleted, never for a slot not yet owned.
    """

    def __init__(self) -> None:
        self.seen_version = -1

    def check(self, server: Server) -> None:
        state = server.cluster
        hub = server.pubsub
        if not hub.shard or state.version == self.seen_version:
            return
        self.seen_version = state.version
        serving = {n.id for n in shard_nodes(state)}
        for channel in hub.shard_channels():
            slot = key_slot(channel)
            owner = state.owner[slot]
            if (owner is None or owner.id not in serving) and slot not in state.importing:
                hub.drop_shard_channel(channel)
