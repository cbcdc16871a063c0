"""Client-side caching: CLIENT TRACKING's server side (tracking.c).

Default mode remembers, per key, the ids of the clients that read it (after each
read-only command; OPTIN / OPTOUT narrow that with CLIENT CACHING); a change to the key
sends each of them one invalidation and forgets the key. BCAST mode remembers nothing
per client: keys changed under a registered prefix are collected and broadcast at the
end of the loop turn. Invalidations are RESP3 pushes, or, for a RESP2 client redirecting
to a subscribed connection, messages on ``__redis__:invalidate``. A flush invalidates
everything with a null. Invalidations caused by a client's own command reach it after
that command's reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .frames import bulk

if TYPE_CHECKING:
    from .context import Subscriber

_INVALIDATE_PUSH = b">2\r\n" + bulk(b"invalidate")
_INVALIDATE_MESSAGE = b"*3\r\n" + bulk(b"message") + bulk(b"__redis__:invalidate")


class TrackingState:
    """One client's CLIENT TRACKING settings."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken",
                 "prefixes")

    def __init__(self, redirect: int, bcast: bool, optin: bool, optout: bool,
                 noloop: bool) -> None:
        self.redirect = redirect
        self.bcast = bcast
        self.optin = optin
        self.optout = optout
        self.noloop = noloop
        self.caching = False  # CLIENT CACHING YES (optin) / NO (optout) for the next command
        self.broken = False  # the redirect target is gone
        self.prefixes: dict[bytes, None] = {}


class _Prefix:
    __slots__ = ("clients", "keys")

    def __init__(self) -> None:
        self.clients: dict[Subscriber, None] = {}
        self.keys: dict[bytes, Subscriber | None] = {}  # changed key -> who changed it


def overlap(a: bytes, b: bytes) -> bool:
    """stringCheckPrefix: one is a prefix of the other."""
    return a.startswith(b) or b.startswith(a)


class Tracker:
    def __init__(self, clients: Mapping[int, Subscriber],
                 on_active: Callable[[bool], None]) -> None:
        self.clients = clients
        self.table: dict[bytes, dict[int, None]] = {}
        self.items = 0
        self.prefixes: dict[bytes, _Prefix] = {}
        self.tracking_clients = 0
        self.current: Subscriber | None = None  # the client whose command runs
        self.pending: list[bytes | None] = []  # the current client's, after its reply
        self.bcast_scheduled = False
        self.max_keys = 1_000_000
        self._on_active = on_active  # the keyspace's hook is installed while clients track

    # --- CLIENT TRACKING ON / OFF ---

    def enable(self, client: Subscriber, redirect: int, bcast: bool, optin: bool,
               optout: bool, noloop: bool, prefixes: list[bytes]) -> None:
        state = client.tracking
        if state is None:
            self.tracking_clients += 1
            if self.tracking_clients == 1:
                self._on_active(True)
        new = TrackingState(redirect, bcast, optin, optout, noloop)
        if state is not None:
            new.prefixes = state.prefixes
        client.tracking = new
        if bcast:
            for prefix in prefixes or [b""]:
                entry = self.prefixes.get(prefix)
                if entry is None:
                    entry = self.prefixes[prefix] = _Prefix()
                if client not in entry.clients:
                    entry.clients[client] = None
                    new.prefixes[prefix] = None

    def disable(self, client: Subscriber) -> None:
        state = client.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes[prefix]
            entry.clients.pop(client, None)
            if not entry.clients:
                del self.prefixes[prefix]
        client.tracking = None
        self.tracking_clients -= 1
        if not self.tracking_clients:  # nobody left to tell: forget what was read
            self._on_active(False)
            self.table = {}
            self.items = 0

    # --- reads ---

    def remember(self, client: Subscriber, keys: list[bytes]) -> None:
        """trackingRememberKeys, for a read-only command's keys."""
        state = client.tracking
        if state is None or state.bcast:
            return
        if (state.optin and not state.caching) or (state.optout and state.caching):
            return
        cid = client.id
        table = self.table
        for key in keys:
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if cid not in ids:
                ids[cid] = None
                self.items += 1

    # --- changes ---

    def invalidate(self, key: bytes, bcast: bool = True, running: bool = True) -> None:
        """trackingInvalidateKey: a key changed (or is evicted from the table). While a
        command runs (``running``), its own client's invalidations wait for its reply."""
        if bcast and self.prefixes:
            for prefix, entry in self.prefixes.items():
                if key.startswith(prefix):
                    entry.keys[key] = self.current
                    self._schedule_broadcast()
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        current = self.current
        for cid in ids:
            target = self.clients.get(cid)
            if target is None or target.tracking is None or target.tracking.bcast:
                continue
            if target is current and target.tracking.noloop:
                continue
            if target is current and running:
                self.pending.append(key)
            else:
                self._send(target, b"*1\r\n" + bulk(key))

    def invalidate_all(self) -> None:
        """trackingInvalidateKeysOnFlush: a null to every tracking client; the table
        is forgotten."""
        if self.tracking_clients:
            for client in list(self.clients.values()):
                if client.tracking is not None:
                    if client is self.current:
                        self.pending.append(None)
                    else:
                        self._send(client, b"_\r\n" if client.resp3 else b"$-1\r\n")
        self.table = {}
        self.items = 0

    def flush_pending(self) -> None:
        """trackingHandlePendingKeyInvalidations: after the current command's reply."""
        pending = self.pending
        self.pending = []
        client = self.current
        if client is None or client.tracking is None:
            return
        for key in pending:
            if key is None:
                self._send(client, b"_\r\n" if client.resp3 else b"$-1\r\n")
            else:
                self._send(client, b"*1\r\n" + bulk(key))

    def limit(self) -> None:
        """trackingLimitUsedSlots: over tracking-table-max-keys, forget keys (their
        readers are told, as if the keys changed)."""
        if not self.max_keys:
            return
        while len(self.table) > self.max_keys:
            self.invalidate(next(iter(self.table)), bcast=False, running=False)

    # --- delivery ---

    def _send(self, client: Subscriber, payload: bytes) -> None:
        """sendTrackingMessage: ``payload`` is the RESP form of the keys (or a null)."""
        state = client.tracking
        assert state is not None
        if state.redirect:
            target = self.clients.get(state.redirect)
            if target is None:
                state.broken = True
                if client.resp3:
                    client.push(b">2\r\n" + bulk(b"tracking-redir-broken")
                                + b":%d\r\n" % state.redirect)
                return
            if target.resp3:
                target.push(_INVALIDATE_PUSH + payload)
            elif target.pubsub:
                target.push(_INVALIDATE_MESSAGE + payload)
            return
        if client.resp3:
            client.push(_INVALIDATE_PUSH + payload)

    def _schedule_broadcast(self) -> None:
        if not self.bcast_scheduled:
            self.bcast_scheduled = True
            asyncio.get_running_loop().call_soon(self.broadcast)

    def broadcast(self) -> None:
        """trackingBroadcastInvalidationMessages: each prefix's changed keys, to each of
        its clients (without the keys a NOLOOP client changed itself)."""
        self.bcast_scheduled = False
        for entry in self.prefixes.values():
            if not entry.keys:
                continue
            keys = entry.keys
            entry.keys = {}
            common = _keys_reply(keys, None)
            for client in list(entry.clients):
                state = client.tracking
                if state is not None and state.noloop:
                    own = _keys_reply(keys, client)
                    if own is not None:
                        self._send(client, own)
                elif common is not None:
                    self._send(client, common)

    # --- INFO ---

    def total_prefixes(self) -> int:
        return len(self.prefixes)


def _keys_reply(keys: dict[bytes, Subscriber | None], skip: Subscriber | None) -> bytes | None:
    """trackingBuildBroadcastReply: the keys (but those ``skip`` changed), sorted as
    Redis's radix tree lists them; None when none is left."""
    chosen = sorted(k for k, who in keys.items() if skip is None or who is not skip)
    if not chosen:
        return None
    return b"*%d\r\n" % len(chosen) + b"".join(bulk(k) for k in chosen)
