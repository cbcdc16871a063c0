"""WATCH bookkeeping (multi.c).

A client's ``WatchedKey`` records are indexed per database (``Database.watched``), so a
write to a key costs one dict probe when anyone watches anything in that database, and
FLUSHDB/SWAPDB cost O(watched keys), not O(keys). ``expired`` remembers that a key was
already logically expired when WATCHed: its later deletion by expiry is then no change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .database import Database


class Client(Protocol):
    """What WATCH keeps of a client: its watched keys, and the flag a change sets."""

    watched: list[WatchedKey]
    dirty_cas: bool


class WatchedKey:
    __slots__ = ("client", "db", "key", "expired")

    def __init__(self, client: Client, db: Database, key: bytes, expired: bool) -> None:
        self.client = client
        self.db = db
        self.key = key
        self.expired = expired


def watch(client: Client, db: Database, key: bytes) -> None:
    """watchForKey: once per (db, key); notes whether the key is already expired."""
    for wk in client.watched:
        if wk.db is db and wk.key == key:
            return
    wk = WatchedKey(client, db, key, db.is_expired(key))
    client.watched.append(wk)
    db.watched.setdefault(key, []).append(wk)


def unwatch_all(client: Client) -> None:
    for wk in client.watched:
        watchers = wk.db.watched.get(wk.key)
        if watchers is not None:
            watchers.remove(wk)
            if not watchers:
                del wk.db.watched[wk.key]
    client.watched = []


def touch_key(db: Database, key: bytes, watchers: list[WatchedKey]) -> None:
    """touchWatchedKey: every client watching ``key`` in ``db`` will see EXEC fail."""
    for wk in list(watchers):
        if wk.expired and key not in db.index:
            wk.expired = False  # an expired key deleted: logically no change
            continue
        client = wk.client
        client.dirty_cas = True
        unwatch_all(client)  # nothing more to learn from its other keys


def touch_all(emptied: Database, replaced_with: Database | None) -> None:
    """touchAllWatchedKeysInDb: ``emptied`` loses its keys (FLUSHDB) or swaps them (SWAPDB)."""
    for key, watchers in list(emptied.watched.items()):
        in_emptied = key in emptied.index
        in_replacement = replaced_with is not None and key in replaced_with.index
        if not (in_emptied or in_replacement):
            continue
        for wk in list(watchers):
            if wk.expired:
                if not in_replacement:
                    wk.expired = False
                    continue
                if replaced_with is not None and replaced_with.is_expired(key):
                    continue
            elif not in_emptied and replaced_with is not None and replaced_with.is_expired(key):
                wk.expired = True
                continue
            client = wk.client
            client.dirty_cas = True
            unwatch_all(client)


def watched_key_expired(client: Client) -> bool:
    """isWatchedKeyExpired: a key live at WATCH time has expired since (checked at EXEC)."""
    return any(not wk.expired and wk.db.is_expired(wk.key) for wk in client.watched)
