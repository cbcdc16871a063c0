"""Moving one slot between masters while clients keep working, as redis-cli's reshard does.

For each slot: the target marks it IMPORTING, the source MIGRATING (from then on the
source answers ASK for keys it no longer has), the keys go over in MIGRATE batches, and
SETSLOT NODE tells the target, the source and then every other node the new owner.

Every step can run again: a control plane that died anywhere in the middle re-runs the
whole slot. "Already the owner" from the target or "not the owner" from the source means
the slot already changed hands, and only the final SETSLOT NODE round is repeated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from redis.exceptions import ResponseError

from .connection import Connections, NodeError

BATCH_KEYS = 200
MIGRATE_TIMEOUT_MS = 10000


@dataclass(frozen=True)
class Endpoint:
    id: str
    address: str

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])


class MoveFailed(Exception):
    """A step of a slot move was refused in a way a retry will not fix by itself."""


async def move_slot(conns: Connections, slow: Connections, slot: int, source: Endpoint,
                    target: Endpoint, others: Iterable[Endpoint],
                    on_keys: Callable[[int], None] = lambda n: None) -> int:
    """Hand ``slot`` from ``source`` to ``target``; the number of keys migrated."""
    moved = 0
    handed_over = (
        await mark(conns, target, slot, "IMPORTING", source, "already the owner")
        or await mark(conns, source, slot, "MIGRATING", target, "not the owner"))
    if not handed_over:
        moved = await migrate_keys(slow, slot, source, target, on_keys)
    await conns.call(target.address, "CLUSTER", "SETSLOT", slot, "NODE", target.id)
    try:
        await conns.call(source.address, "CLUSTER", "SETSLOT", slot, "NODE", target.id)
    except ResponseError as exc:
        # A source whose last slot this was may already have learned from the target's
        # table that it owns nothing and turned into a replica (as a Redis master does):
        # the slot is handed over, there is nothing left to tell it.
        if "only with masters" not in str(exc):
            raise MoveFailed(f"source {source.address} kept slot {slot}: {exc}") from exc
    await announce_owner(conns, slot, target, others)
    return moved


async def mark(conns: Connections, node: Endpoint, slot: int, state: str, peer: Endpoint,
               moved_text: str) -> bool:
    """SETSLOT IMPORTING/MIGRATING; True when the refusal says the slot already moved."""
    try:
        await conns.call(node.address, "CLUSTER", "SETSLOT", slot, state, peer.id)
    except ResponseError as exc:
        if moved_text not in str(exc):
            raise MoveFailed(f"{node.address} refused {state} {slot}: {exc}") from exc
        return True
    return False


async def migrate_keys(slow: Connections, slot: int, source: Endpoint, target: Endpoint,
                       on_keys: Callable[[int], None]) -> int:
    """GETKEYSINSLOT + MIGRATE until the source has no key left in ``slot``.

    REPLACE makes a batch that reached the target before a crash safe to send again; a key
    exists on both sides only then, since a source that lacks a key redirects its writes.
    """
    moved = 0
    while True:
        keys = await slow.call(source.address, "CLUSTER", "GETKEYSINSLOT", slot, BATCH_KEYS)
        if not keys:
            return moved
        auth = ("AUTH", slow.password) if slow.password else ()
        reply = await slow.call(source.address, "MIGRATE", target.host, target.port, "", 0,
                                MIGRATE_TIMEOUT_MS, "REPLACE", *auth, "KEYS", *keys)
        if reply not in (b"OK", b"NOKEY"):
            raise MoveFailed(f"MIGRATE of slot {slot} answered {reply!r}")
        moved += len(keys)
        on_keys(len(keys))


async def announce_owner(conns: Connections, slot: int, owner: Endpoint,
                         others: Iterable[Endpoint]) -> None:
    """SETSLOT NODE on every other node; one that is down learns it from its peers or the
    control plane's next table push."""
    async def tell(node: Endpoint) -> None:
        try:
            await conns.call(node.address, "CLUSTER", "SETSLOT", slot, "NODE", owner.id)
        except NodeError:
            pass

    await asyncio.gather(*(tell(node) for node in others))
