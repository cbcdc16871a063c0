"""Moving slots between masters while clients keep working, as redis-cli's reshard does,
a batch of slots at a time.

For each slot: the target marks it IMPORTING, the source MIGRATING (from then on the
source answers ASK for keys it no longer has), the keys go over in MIGRATE batches, and
SETSLOT NODE tells the target, then the source and every other node at once, the new
owner. A batch does each of these steps for all its slots in one pipelined round trip per
node (a node saves its table once for a pipeline of SETSLOTs, not once per slot), and
MIGRATEs the keys of all its slots in one pipeline: the per-slot round trips, not the
keys, were what a slot move cost. The listings of the keys ride along: the first in the
round trip of the MIGRATING marks, each next one behind the MIGRATEs it checks (the
source runs a pipeline in order), so a batch costs five round trips, not eight.

Every step can run again: a control plane that died anywhere in the middle re-runs the
whole batch. "Already the owner" from the target or "not the owner" from the source means
that slot already changed hands, and only its final SETSLOT NODE round is repeated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

from redis.exceptions import ResponseError

from .connection import Connections, NodeError

# Keys per MIGRATE (redis-cli's --cluster-pipeline; it defaults to 10), and at most this
# many keys in one pipeline of MIGRATEs: the source runs a pipeline without serving other
# clients, so this bounds the pause a batch causes them.
BATCH_KEYS = 1000
PIPELINE_KEYS = 8000
MIGRATE_TIMEOUT_MS = 10000

Listing = dict[int, list[bytes]]  # the keys GETKEYSINSLOT found, by slot


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


async def move_slots(conns: Connections, slow: Connections, slots: Sequence[int],
                     source: Endpoint, target: Endpoint, others: Iterable[Endpoint],
                     on_keys: Callable[[int], None] = lambda n: None) -> int:
    """Hand ``slots`` from ``source`` to ``target``; the number of keys migrated."""
    importing = await mark(slow, target, slots, "IMPORTING", source, "already the owner")
    migrating, listed = await mark(slow, source, importing, "MIGRATING", target,
                                   "not the owner", list_keys=True)
    moved = await migrate_keys(slow, migrating, source, target, on_keys, listed)
    await setslot_node(slow, target, slots, target, "")
    # A source whose last slot this was may already have learned from the target's table
    # that it owns nothing and turned into a replica (as a Redis master does): the slot is
    # handed over, there is nothing left to tell it.
    await asyncio.gather(setslot_node(slow, source, slots, target, "only with masters"),
                         announce_owner(conns, slots, target, others))
    return moved


async def pipeline(conns: Connections, node: Endpoint,
                   commands: Iterable[tuple[Any, ...]]) -> list[Any]:
    """One round trip; each command's reply, or the ResponseError it got."""
    pipe = conns.get(node.address).pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)
    return list(await pipe.execute(raise_on_error=False))


@overload
async def mark(conns: Connections, node: Endpoint, slots: Sequence[int], state: str,
               peer: Endpoint, moved_text: str) -> list[int]: ...


@overload
async def mark(conns: Connections, node: Endpoint, slots: Sequence[int], state: str,
               peer: Endpoint, moved_text: str, list_keys: Literal[True]
               ) -> tuple[list[int], Listing]: ...


async def mark(conns: Connections, node: Endpoint, slots: Sequence[int], state: str,
               peer: Endpoint, moved_text: str, list_keys: bool = False
               ) -> list[int] | tuple[list[int], Listing]:
    """SETSLOT IMPORTING/MIGRATING for every slot; the slots marked (a refusal that says
    the slot already moved leaves it out). With ``list_keys``, also the first keys of
    each marked slot, listed in the same round trip once every mark is set."""
    replies = await pipeline(conns, node, [
        *(("CLUSTER", "SETSLOT", slot, state, peer.id) for slot in slots),
        *((list_command(slot) for slot in slots) if list_keys else ())])
    marked = []
    for slot, reply in zip(slots, replies, strict=False):
        if isinstance(reply, ResponseError):
            if moved_text not in str(reply):
                raise MoveFailed(f"{node.address} refused {state} {slot}: {reply}")
            continue
        marked.append(slot)
    if not list_keys:
        return marked
    listed = listing(node, slots, replies[len(slots):])
    return marked, {slot: listed[slot] for slot in marked}


def list_command(slot: int) -> tuple[Any, ...]:
    return ("CLUSTER", "GETKEYSINSLOT", slot, BATCH_KEYS)


def listing(source: Endpoint, slots: Sequence[int], replies: Sequence[Any]) -> Listing:
    """The keys GETKEYSINSLOT found in each slot."""
    found: Listing = {}
    for slot, keys in zip(slots, replies, strict=True):
        if isinstance(keys, ResponseError):
            raise MoveFailed(f"GETKEYSINSLOT {slot} on {source.address}: {keys}")
        found[slot] = keys
    return found


async def setslot_node(conns: Connections, node: Endpoint, slots: Sequence[int],
                       owner: Endpoint, harmless: str) -> None:
    replies = await pipeline(conns, node, (("CLUSTER", "SETSLOT", slot, "NODE", owner.id)
                                           for slot in slots))
    for slot, reply in zip(slots, replies, strict=True):
        if isinstance(reply, ResponseError) and not (harmless and harmless in str(reply)):
            raise MoveFailed(f"{node.address} kept slot {slot}: {reply}")


async def migrate_keys(slow: Connections, slots: Sequence[int], source: Endpoint,
                       target: Endpoint, on_keys: Callable[[int], None],
                       listed: Listing | None = None) -> int:
    """GETKEYSINSLOT + MIGRATE until the source has no key left in any of ``slots``
    (``listed``: their keys, already listed).

    REPLACE makes a batch that reached the target before a crash safe to send again; a key
    exists on both sides only then, since a source that lacks a key redirects its writes.
    A slot is done once GETKEYSINSLOT finds it empty: a MIGRATING source creates no key in
    it (a write of a key it lacks is sent to the target with ASK). That listing goes in
    the pipeline of the slot's last MIGRATEs, behind them.
    """
    moved = 0
    if listed is None:
        listed = listing(source, slots, await pipeline(slow, source, map(list_command, slots)))
    auth = ("AUTH", slow.password) if slow.password else ()
    found = [(slot, keys) for slot, keys in listed.items() if keys]
    unchecked: list[int] = []  # slots migrated since their last listing
    while found:
        chunk: list[tuple[int, list[bytes]]] = []
        count = 0
        while found and (not chunk or count + len(found[0][1]) <= PIPELINE_KEYS):
            chunk.append(found.pop(0))
            count += len(chunk[-1][1])
        unchecked += [slot for slot, _ in chunk]
        check = unchecked if not found else []  # listed behind the last MIGRATEs
        replies = await pipeline(slow, source, [
            *(("MIGRATE", target.host, target.port, "", 0, MIGRATE_TIMEOUT_MS, "REPLACE",
               *auth, "KEYS", *keys) for _, keys in chunk),
            *map(list_command, check)])
        for (slot, keys), reply in zip(chunk, replies, strict=False):
            if reply not in (b"OK", b"NOKEY"):
                raise MoveFailed(f"MIGRATE of slot {slot} answered {reply!r}")
            moved += len(keys)
            on_keys(len(keys))
        if check:
            found = [(slot, keys) for slot, keys in
                     listing(source, check, replies[len(chunk):]).items() if keys]
            unchecked = []
    return moved


async def announce_owner(conns: Connections, slots: Sequence[int], owner: Endpoint,
                         others: Iterable[Endpoint]) -> None:
    """SETSLOT NODE on every other node; one that is down learns it from its peers or the
    control plane's next table push."""
    async def tell(node: Endpoint) -> None:
        try:
            await pipeline(conns, node, (("CLUSTER", "SETSLOT", slot, "NODE", owner.id)
                                         for slot in slots))
        except NodeError:
            pass

    await asyncio.gather(*(tell(node) for node in others))
