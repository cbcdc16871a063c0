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
source runs a pipeline in order), so a batch costs five round trips, not eight. Given the
pair's next batch (``Lookahead``), a batch also does that one's first two steps in the
round trips of its own SETSLOT NODEs (IMPORTING behind the target's, MIGRATING and the
listing behind the source's): three round trips a batch, the source idle for fewer.

Every step can run again: a control plane that died anywhere in the middle re-runs the
whole batch. "Already the owner" from the target or "not the owner" from the source means
that slot already changed hands, and only its final SETSLOT NODE round is repeated. Marks
done ahead for a batch that then does not run at once (the control plane stopped, or a
step of the batch before failed) are set again when it runs: marking a marked slot is
harmless, and a failed mark ahead only leaves the batch to do its own.
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


@dataclass
class Lookahead:
    """A pair's next batch (``slots``), and once its first two steps are done in the round
    trips of the batch before: its slots marked on both sides and their keys listed."""

    slots: Sequence[int]
    marked: list[int] | None = None
    listed: Listing | None = None


async def move_slots(conns: Connections, slow: Connections, slots: Sequence[int],
                     source: Endpoint, target: Endpoint, others: Iterable[Endpoint],
                     on_keys: Callable[[int], None] = lambda n: None,
                     prepared: Lookahead | None = None, ahead: Lookahead | None = None) -> int:
    """Hand ``slots`` from ``source`` to ``target``; the number of keys migrated.

    ``prepared``: what the batch before did ahead for these slots. ``ahead``: the next
    batch, whose marks and listing this one does along with its SETSLOT NODEs (filled in
    when they succeeded)."""
    if prepared is not None and prepared.marked is not None and prepared.listed is not None \
            and list(prepared.slots) == list(slots):
        migrating, listed = prepared.marked, prepared.listed
    else:
        importing = await mark(slow, target, slots, "IMPORTING", source, "already the owner")
        migrating, listed = await mark(slow, source, importing, "MIGRATING", target,
                                       "not the owner", list_keys=True)
    moved = await migrate_keys(slow, migrating, source, target, on_keys, listed)
    following = list(ahead.slots) if ahead is not None else []
    replies = await setslot_node(slow, target, slots, target, "",
                                 mark_commands(following, "IMPORTING", source))
    importing_next = marked_ahead(target, following, "IMPORTING", "already the owner", replies)
    then = ([*mark_commands(importing_next, "MIGRATING", target),
             *map(list_command, importing_next)] if importing_next else [])
    # A source whose last slot this was may already have learned from the target's table
    # that it owns nothing and turned into a replica (as a Redis master does): the slot is
    # handed over, there is nothing left to tell it.
    replies, _ = await asyncio.gather(
        setslot_node(slow, source, slots, target, "only with masters", then),
        announce_owner(conns, slots, target, others))
    if ahead is None or importing_next is None:
        return moved
    try:
        ahead.marked, ahead.listed = marked_listing(source, importing_next, "MIGRATING",
                                                    "not the owner", replies)
    except MoveFailed:
        pass  # the next batch marks and lists its slots itself
    return moved


def marked_ahead(node: Endpoint, slots: list[int], state: str, moved_text: str,
                 replies: Sequence[Any]) -> list[int] | None:
    """The slots a mark done ahead set; None when one was refused otherwise than as
    already moved (the batch then marks its slots itself, and fails on that one)."""
    if not slots:
        return slots
    try:
        return marked_slots(node, slots, state, moved_text, replies[:len(slots)])
    except MoveFailed:
        return None


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
        *mark_commands(slots, state, peer),
        *((list_command(slot) for slot in slots) if list_keys else ())])
    if not list_keys:
        return marked_slots(node, slots, state, moved_text, replies)
    return marked_listing(node, slots, state, moved_text, replies)


def marked_listing(node: Endpoint, slots: Sequence[int], state: str, moved_text: str,
                   replies: Sequence[Any]) -> tuple[list[int], Listing]:
    """The slots a pipeline of marks then listings set, and the keys listed in them."""
    marked = marked_slots(node, slots, state, moved_text, replies)
    listed = listing(node, slots, replies[len(slots):])
    return marked, {slot: listed[slot] for slot in marked}


def mark_commands(slots: Iterable[int], state: str, peer: Endpoint) -> list[tuple[Any, ...]]:
    return [("CLUSTER", "SETSLOT", slot, state, peer.id) for slot in slots]


def marked_slots(node: Endpoint, slots: Sequence[int], state: str, moved_text: str,
                 replies: Sequence[Any]) -> list[int]:
    """The slots a pipeline of marks set; a refusal that says the slot already moved
    leaves it out, any other is a MoveFailed."""
    marked = []
    for slot, reply in zip(slots, replies, strict=False):
        if isinstance(reply, ResponseError):
            if moved_text not in str(reply):
                raise MoveFailed(f"{node.address} refused {state} {slot}: {reply}")
            continue
        marked.append(slot)
    return marked


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
                       owner: Endpoint, harmless: str,
                       then: Sequence[tuple[Any, ...]] = ()) -> list[Any]:
    """SETSLOT NODE for every slot, then the commands ``then`` in the same round trip;
    their replies."""
    replies = await pipeline(conns, node, [
        *(("CLUSTER", "SETSLOT", slot, "NODE", owner.id) for slot in slots), *then])
    for slot, reply in zip(slots, replies, strict=False):
        if isinstance(reply, ResponseError) and not (harmless and harmless in str(reply)):
            raise MoveFailed(f"{node.address} kept slot {slot}: {reply}")
    return replies[len(slots):]


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
