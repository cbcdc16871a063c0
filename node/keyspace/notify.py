"""Keyspace notifications (notify.c): event classes, their config letters, and the hook.

Commands report what they did with ``Database.notify(kind, event, key)``, as Redis's
``notifyKeyspaceEvent(type, event, key, dbid)``: ``kind`` is one ``NOTIFY_*`` class and
``event`` Redis's event name ("set", "lpush", "expired", ...). The check against
``notify-keyspace-events`` is one AND, so a command pays almost nothing while
notifications are off (the default). What is sent, and to whom, is the pub/sub layer's
business: it installs ``Notifier.publish`` (the keyspace layer sits below it).
"""

from __future__ import annotations

from collections.abc import Callable

from ..config.keyspace_events import (  # noqa: F401 (the classes commands report)
    NOTIFY_ALL,
    NOTIFY_EVICTED,
    NOTIFY_EXPIRED,
    NOTIFY_GENERIC,
    NOTIFY_HASH,
    NOTIFY_KEY_MISS,
    NOTIFY_KEYEVENT,
    NOTIFY_KEYSPACE,
    NOTIFY_LIST,
    NOTIFY_LOADED,
    NOTIFY_MODULE,
    NOTIFY_NEW,
    NOTIFY_SET,
    NOTIFY_STREAM,
    NOTIFY_STRING,
    NOTIFY_ZSET,
)

Publisher = Callable[[int, str, bytes, int], None]


class Notifier:
    """The configured classes and where events go (one per server, shared by its dbs).

    ``flags`` is ``notify-keyspace-events`` as flags; ``publish(kind, event, key, dbid)``
    is called only for an enabled class, and sends the ``__keyspace@`` and
    ``__keyevent@`` messages the flags ask for.
    """

    __slots__ = ("flags", "publish")

    def __init__(self) -> None:
        self.flags = 0
        self.publish: Publisher = _nowhere


def _nowhere(kind: int, event: str, key: bytes, dbid: int) -> None:
    """Until a publisher is installed, events go nowhere."""
