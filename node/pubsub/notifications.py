"""Keyspace notifications as pub/sub messages (notify.c notifyKeyspaceEvent).

``__keyspace@<db>__:<key>`` carries the event name, ``__keyevent@<db>__:<event>`` the
key, each when its letter (K, E) is configured. They stay on this node, as in Redis
(not forwarded to the rest of the cluster).
"""

from __future__ import annotations

from ..keyspace.notify import NOTIFY_KEYEVENT, NOTIFY_KEYSPACE, Notifier, Publisher
from .hub import PubSub


def keyspace_publisher(hub: PubSub, notifier: Notifier) -> Publisher:
    def publish(kind: int, event: str, key: bytes, dbid: int) -> None:
        flags = notifier.flags
        name = event.encode()
        if flags & NOTIFY_KEYSPACE:
            hub.publish(b"__keyspace@%d__:%s" % (dbid, key), name)
        if flags & NOTIFY_KEYEVENT:
            hub.publish(b"__keyevent@%d__:%s" % (dbid, name), key)

    return publish
