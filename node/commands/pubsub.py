"""Pub/Sub commands (pubsub.c): (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

The (un)subscribe confirmations are the command's reply (inside EXEC they take their
place in EXEC's array, as in Redis); under CLIENT REPLY OFF they are still sent, as
pushes. A publish reaches this node's subscribers at once; a standalone master streams
PUBLISH to its replicas (not to the AOF), a cluster node hands it to its peer links.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.command import encode_command
from ..protocol.reply import Raw
from ..table.command import command
from .args import help_reply, subcommand_syntax_error

if TYPE_CHECKING:
    from .context import Client

HELP = (
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
)


def _confirm(c: Client, frames: bytes) -> Any:
    if c.silent:
        c.push(frames)
        return None
    return Raw(frames)


@command("subscribe")
def subscribe(c: Client, argv: list[bytes]) -> Any:
    return _confirm(c, c.server.pubsub.subscribe(c, argv[1:]))


@command("psubscribe")
def psubscribe(c: Client, argv: list[bytes]) -> Any:
    return _confirm(c, c.server.pubsub.psubscribe(c, argv[1:]))


@command("ssubscribe")
def ssubscribe(c: Client, argv: list[bytes]) -> Any:
    if c.multi:  # CLIENT_DENY_BLOCKING: inside EXEC (SUBSCRIBE is let through there)
        raise CommandError(errors.SUBSCRIBE_DENY_BLOCKING % "SSUBSCRIBE")
    return _confirm(c, c.server.pubsub.ssubscribe(c, argv[1:]))


@command("unsubscribe")
def unsubscribe(c: Client, argv: list[bytes]) -> Any:
    return _confirm(c, c.server.pubsub.unsubscribe(c, argv[1:]))


@command("punsubscribe")
def punsubscribe(c: Client, argv: list[bytes]) -> Any:
    return _confirm(c, c.server.pubsub.punsubscribe(c, argv[1:]))


@command("sunsubscribe")
def sunsubscribe(c: Client, argv: list[bytes]) -> Any:
    return _confirm(c, c.server.pubsub.sunsubscribe(c, argv[1:]))


@command("publish")
def publish(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    receivers = server.pubsub.publish(argv[1], argv[2])
    _spread(c, argv, shard=False)
    return receivers


@command("spublish")
def spublish(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    receivers = server.pubsub.spublish(argv[1], argv[2])
    _spread(c, argv, shard=True)
    return receivers


def _spread(c: Client, argv: list[bytes], shard: bool) -> None:
    """pubsubPublishMessageAndPropagateToCluster / forceCommandPropagation(REPL)."""
    server = c.server
    if server.cluster is not None:
        server.cluster.forward_publish(argv[1], argv[2], shard)
        return
    propagation = server.propagation
    if propagation.active and not c.is_master:
        propagation.flush()
        propagation.feed(encode_command(argv), durable=False)


@command("cluster|publish")
def cluster_publish(c: Client, argv: list[bytes]) -> Any:
    """A peer's PUBLISH (or SPUBLISH with SHARD), for this node's subscribers only."""
    if len(argv) == 5 and argv[4].lower() == b"shard":
        return c.server.pubsub.spublish(argv[2], argv[3])
    if len(argv) != 4:
        raise CommandError(errors.SYNTAX)
    return c.server.pubsub.publish(argv[2], argv[3])


# --- PUBSUB introspection ---

@command("pubsub|help")
def pubsub_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("PUBSUB", HELP)


@command("pubsub|channels")
def pubsub_channels(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    return c.server.pubsub.channel_names(argv[2] if len(argv) == 3 else None)


@command("pubsub|shardchannels")
def pubsub_shardchannels(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    return c.server.pubsub.channel_names(argv[2] if len(argv) == 3 else None, shard=True)


@command("pubsub|numsub")
def pubsub_numsub(c: Client, argv: list[bytes]) -> Any:
    hub = c.server.pubsub
    out: list[Any] = []
    for channel in argv[2:]:
        out += [channel, hub.numsub(channel)]
    return out


@command("pubsub|shardnumsub")
def pubsub_shardnumsub(c: Client, argv: list[bytes]) -> Any:
    hub = c.server.pubsub
    out: list[Any] = []
    for channel in argv[2:]:
        out += [channel, hub.numsub(channel, shard=True)]
    return out


@command("pubsub|numpat")
def pubsub_numpat(c: Client, argv: list[bytes]) -> Any:
    return len(c.server.pubsub.patterns)
