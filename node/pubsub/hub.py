"""Who listens to what, and delivery (pubsub.c).

The server keeps channel -> subscribers, pattern -> subscribers and shard channel ->
subscribers, each an insertion-ordered dict used as a set (Redis's client lists keep
subscription order); a client keeps its own side in ``Subscriptions``. A publish encodes
the message once per protocol and pushes the same bytes to every receiver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..base.glob import compile_glob, stringmatchlen
from .context import Subscriber
from .frames import bulk, count_reply, frame

_MESSAGE = bulk(b"message")
_PMESSAGE = bulk(b"pmessage")
_SMESSAGE = bulk(b"smessage")


class Subscriptions:
    """One client's channels, patterns and shard channels."""

    __slots__ = ("channels", "patterns", "shard")

    def __init__(self) -> None:
        self.channels: dict[bytes, None] = {}
        self.patterns: dict[bytes, None] = {}
        self.shard: dict[bytes, None] = {}

    def count(self) -> int:
        """clientSubscriptionsCount: channels and patterns (what (P)SUBSCRIBE replies)."""
        return len(self.channels) + len(self.patterns)

    def total(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shard)


class _Pattern:
    __slots__ = ("matches", "subscribers")

    def __init__(self, pattern: bytes) -> None:
        self.matches: Callable[[bytes], bool] = compile_glob(pattern)
        self.subscribers: dict[Subscriber, None] = {}


def _mine(client: Subscriber) -> Subscriptions:
    subs = client.subscriptions
    if subs is None:
        subs = client.subscriptions = Subscriptions()
    return subs


class PubSub:
    """The server's subscription tables and delivery."""

    def __init__(self) -> None:
        self.channels: dict[bytes, dict[Subscriber, None]] = {}
        self.patterns: dict[bytes, _Pattern] = {}
        self.shard: dict[bytes, dict[Subscriber, None]] = {}

    # --- subscribing ---

    def subscribe(self, client: Subscriber, channels: Iterable[bytes]) -> bytes:
        subs = _mine(client)
        out = []
        for channel in channels:
            if channel not in subs.channels:
                subs.channels[channel] = None
                self.channels.setdefault(channel, {})[client] = None
            out.append(count_reply(b"subscribe", channel, subs.count(), client.resp3))
        client.pubsub = True
        return b"".join(out)

    def ssubscribe(self, client: Subscriber, channels: Iterable[bytes]) -> bytes:
        subs = _mine(client)
        out = []
        for channel in channels:
            if channel not in subs.shard:
                subs.shard[channel] = None
                self.shard.setdefault(channel, {})[client] = None
            out.append(count_reply(b"ssubscribe", channel, len(subs.shard), client.resp3))
        client.pubsub = True
        return b"".join(out)

    def psubscribe(self, client: Subscriber, patterns: Iterable[bytes]) -> bytes:
        subs = _mine(client)
        out = []
        for pattern in patterns:
            if pattern not in subs.patterns:
                subs.patterns[pattern] = None
                entry = self.patterns.get(pattern)
                if entry is None:
                    entry = self.patterns[pattern] = _Pattern(pattern)
                entry.subscribers[client] = None
            out.append(count_reply(b"psubscribe", pattern, subs.count(), client.resp3))
        client.pubsub = True
        return b"".join(out)

    # --- unsubscribing ---

    def unsubscribe(self, client: Subscriber, channels: list[bytes]) -> bytes:
        """UNSUBSCRIBE: the named channels, or all of them (one null reply if none)."""
        subs = _mine(client)
        out = []
        for channel in channels or list(subs.channels):
            if channel in subs.channels:
                del subs.channels[channel]
                _leave(self.channels, channel, client)
            out.append(count_reply(b"unsubscribe", channel, subs.count(), client.resp3))
        if not out:
            out.append(count_reply(b"unsubscribe", None, subs.count(), client.resp3))
        self._settle(client, subs)
        return b"".join(out)

    def sunsubscribe(self, client: Subscriber, channels: list[bytes]) -> bytes:
        subs = _mine(client)
        out = []
        for channel in channels or list(subs.shard):
            if channel in subs.shard:
                del subs.shard[channel]
                _leave(self.shard, channel, client)
            out.append(count_reply(b"sunsubscribe", channel, len(subs.shard), client.resp3))
        if not out:
            out.append(count_reply(b"sunsubscribe", None, len(subs.shard), client.resp3))
        self._settle(client, subs)
        return b"".join(out)

    def punsubscribe(self, client: Subscriber, patterns: list[bytes]) -> bytes:
        subs = _mine(client)
        out = []
        for pattern in patterns or list(subs.patterns):
            if pattern in subs.patterns:
                del subs.patterns[pattern]
                entry = self.patterns[pattern]
                del entry.subscribers[client]
                if not entry.subscribers:
                    del self.patterns[pattern]
            out.append(count_reply(b"punsubscribe", pattern, subs.count(), client.resp3))
        if not out:
            out.append(count_reply(b"punsubscribe", None, subs.count(), client.resp3))
        self._settle(client, subs)
        return b"".join(out)

    def drop(self, client: Subscriber) -> None:
        """A closing client (or RESET) leaves everything, with no replies."""
        subs = client.subscriptions
        if subs is None:
            return
        for channel in subs.channels:
            _leave(self.channels, channel, client)
        for channel in subs.shard:
            _leave(self.shard, channel, client)
        for pattern in subs.patterns:
            entry = self.patterns[pattern]
            del entry.subscribers[client]
            if not entry.subscribers:
                del self.patterns[pattern]
        client.subscriptions = None
        client.pubsub = False

    def drop_shard_channel(self, channel: bytes) -> None:
        """pubsubShardUnsubscribeAllClients: the channel's slot left this node; each
        subscriber gets the ``sunsubscribe`` push and leaves subscribed mode if that was
        its last subscription."""
        listeners = self.shard.pop(channel, None)
        if listeners is None:
            return
        for client in listeners:
            subs = _mine(client)
            subs.shard.pop(channel, None)
            client.push(count_reply(b"sunsubscribe", channel, len(subs.shard), client.resp3))
            self._settle(client, subs)

    @staticmethod
    def _settle(client: Subscriber, subs: Subscriptions) -> None:
        if not subs.total():
            client.pubsub = False

    # --- publishing ---

    def publish(self, channel: bytes, message: bytes) -> int:
        """pubsubPublishMessage: to the channel's subscribers, then to every matching
        pattern's; the number of deliveries."""
        receivers = 0
        listeners = self.channels.get(channel)
        if listeners:
            receivers += _deliver(listeners, _MESSAGE, channel, message)
        if self.patterns:
            channel_part = bulk(channel)
            message_part = bulk(message)
            for pattern, entry in self.patterns.items():
                if not entry.matches(channel):
                    continue
                encoded = [b"", b""]
                pattern_part = bulk(pattern)
                for client in entry.subscribers:
                    resp3 = client.resp3
                    data = encoded[resp3]
                    if not data:
                        data = encoded[resp3] = frame(resp3, _PMESSAGE, pattern_part,
                                                      channel_part, message_part)
                    client.push(data)
                    receivers += 1
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        listeners = self.shard.get(channel)
        return _deliver(listeners, _SMESSAGE, channel, message) if listeners else 0

    # --- introspection (PUBSUB, INFO) ---

    def channel_names(self, pattern: bytes | None, shard: bool = False) -> list[bytes]:
        table = self.shard if shard else self.channels
        if pattern is None:
            return list(table)
        return [c for c in table if stringmatchlen(pattern, c)]

    def numsub(self, channel: bytes, shard: bool = False) -> int:
        return len((self.shard if shard else self.channels).get(channel, ()))

    def shard_channels(self) -> Iterator[bytes]:
        return iter(list(self.shard))


def _leave(table: dict[bytes, dict[Subscriber, None]], channel: bytes,
           client: Subscriber) -> bool:
    """Remove ``client`` from ``channel``'s listeners; True if it was the last one."""
    listeners = table[channel]
    del listeners[client]
    if listeners:
        return False
    del table[channel]
    return True


def _deliver(listeners: dict[Subscriber, None], kind: bytes, channel: bytes,
             message: bytes) -> int:
    parts = kind + bulk(channel) + bulk(message)
    encoded = [b"", b""]
    count = 0
    for client in listeners:
        resp3 = client.resp3
        data = encoded[resp3]
        if not data:
            data = encoded[resp3] = b"%c3\r\n%s" % (62 if resp3 else 42, parts)
        client.push(data)
        count += 1
    return count
