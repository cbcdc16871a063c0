"""Redirect decisions of a cluster node (cluster.c getNodeByQuery and processCommand's hook).

Before a command with keys runs, its keys must all hash to one slot, and that slot must be
served here: by this node as its owner, by this node as the importing side of a migration
when the client sent ASKING, by the migrating side while it still has every key, or by a
replica of the owner for a READONLY client's reads. Anything else is answered with the
text Redis sends (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN) so cluster clients follow
it. The common cases, one key in a stable slot this node owns, or a RESTORE-ASKING (a
migrating node's key) into a slot it imports, cost a ``key_slot`` and a few lookups
before anything else is looked at.

Clients blocked on keys (BLPOP & co) are checked from the cron, as clientsCron does with
clusterRedirectBlockedClientIfNeeded: once their slot is served elsewhere or nowhere they
get the redirect instead of waiting for a key that can no longer arrive here.
"""

from __future__ import annotations

from collections.abc import Iterable
from time import monotonic
from typing import TYPE_CHECKING

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.blocking import Blocked, unblock
from ..keyspace.slots import key_slot

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from ..table.command import Command
    from .context import Client, Server
    from .state import ClusterState


SHARD_CHANNEL_COMMANDS = frozenset({"ssubscribe", "sunsubscribe", "spublish"})


def route(state: ClusterState, client: Client, cmd: Command, argv: list[bytes]) -> str | None:
    """The refusal or redirect text for this request, or None when this node serves it."""
    if client.asking:
        # resetClient: ASKING covers the next command, or a whole MULTI ... EXEC.
        name = cmd.name
        if name != "asking" and (name in ("exec", "discard")
                                 or not (client.multi or name == "multi")):
            client.asking = False
        return decide(state, client, cmd, argv, True)
    first = cmd.first_key
    if first == cmd.last_key and first and not cmd.movablekeys and len(argv) > first:
        slot = key_slot(argv[first])
        owner = state.owner[slot]
        if owner is state.myself:
            if (state.state_ok and slot not in state.migrating
                    and state.lease.until > monotonic()):
                return None
        elif (slot in state.importing and "asking" in cmd.flags and owner is not None
              and state.state_ok and not state.held and state.lease.until > monotonic()):
            return None  # RESTORE-ASKING into an importing slot: what decide answers
    elif not cmd.key_specs and not cmd.movablekeys and cmd.name != "exec":
        return None
    return decide(state, client, cmd, argv, False)


def key_positions(cmd: Command, argv: list[bytes]) -> list[int]:
    """getKeysFromCommand: the command's key procedure when it has one, else its key specs.

    The shard-channel commands' specs are all NOT_KEY, which the key specs leave out; 7.0
    routes by the legacy range (first, last, step) instead, which counts their channels."""
    if cmd.name in SHARD_CHANNEL_COMMANDS:
        last = cmd.last_key if cmd.last_key >= 0 else len(argv) + cmd.last_key
        return list(range(cmd.first_key, last + 1, cmd.key_step))
    if cmd.native_getkeys is not None:
        return [pos for pos, _ in cmd.native_getkeys(argv)]
    if cmd.getkeys is not None:
        return cmd.getkeys(argv)
    found = cmd.spec_keys(argv)
    return [] if found is None else [pos for pos, _ in found]


def _present(db: Database, key: bytes) -> bool:
    """lookupKeyReadWithFlags(NOTOUCH|NOSTATS|NONOTIFY|NOEXPIRE) found something."""
    return key in db.index and not db.is_expired(key)


def decide(state: ClusterState, client: Client, cmd: Command, argv: list[bytes],
           asking: bool) -> str | None:
    """getNodeByQuery followed by clusterRedirectClient, for one command or a whole EXEC."""
    if client.is_master:
        return None  # mustObeyClient: our master's replication stream is applied as sent
    queued: Iterable[tuple[Command, list[bytes]]]
    is_exec = cmd.name == "exec"
    if is_exec:
        if not client.multi:
            return None  # EXEC answers its own error
        queued = client.mstate.commands
    else:
        queued = ((cmd, argv),)
    myself = state.myself
    db = client.server.dbs[0]
    # Shard channels are served by the slot's shard during a migration (the source until
    # SETSLOT NODE), and by its replicas without READONLY.
    shard_channels = cmd.name in SHARD_CHANNEL_COMMANDS
    node = None
    first_key = b""
    slot = 0
    migrating = importing = multiple_keys = False
    missing = existing = 0
    for qcmd, qargv in queued:
        for pos in key_positions(qcmd, qargv):
            key = qargv[pos]
            this_slot = key_slot(key)
            if node is None:
                first_key = key
                slot = this_slot
                node = state.owner[slot]
                if state.held:  # cluster-await-confirm: whatever the table says, no slot is served
                    return errors.CLUSTERDOWN_STATE
                if state.lease.until <= monotonic():  # fenced: a replica may be taking over
                    return errors.CLUSTERDOWN_STATE
                if node is None:
                    return errors.CLUSTERDOWN_UNBOUND
                if node is myself and slot in state.migrating:
                    migrating = True
                elif slot in state.importing:
                    importing = True
            else:
                if this_slot != slot:
                    return errors.CROSSSLOT
                if importing and not multiple_keys and key != first_key:
                    multiple_keys = True
            if (migrating or importing) and not shard_channels:
                if _present(db, key):
                    existing += 1
                else:
                    missing += 1
    if node is None:
        return None  # no key at all: any node serves it
    if not state.state_ok:
        # Reads may go on while the cluster is down if so configured; EXEC is judged by
        # its own flags, as Redis does.
        if shard_channels:
            if not client.server.config["cluster-allow-pubsubshard-when-down"]:
                return errors.CLUSTERDOWN_STATE
        elif not client.server.config["cluster-allow-reads-when-down"]:
            return errors.CLUSTERDOWN_STATE
        elif cmd.write:
            return errors.CLUSTERDOWN_READONLY
    if (migrating or importing) and cmd.name == "migrate":
        return None  # MIGRATE moves keys freely while the slot is open
    if migrating and missing:
        if existing:
            return errors.TRYAGAIN
        return errors.ASK % (slot, state.migrating[slot].client_address(state.plaintext_view(client.tls)))
    if importing and (asking or "asking" in cmd.flags):
        if multiple_keys and missing:
            return errors.TRYAGAIN
        return None
    if ((client.readonly or shard_channels) and "slave" in myself.flags
            and myself.master_id == node.id):
        writes = cmd.write or (is_exec and any(q.write for q, _ in client.mstate.commands))
        if not writes:
            return None
    if node is not myself:
        return errors.MOVED % (slot, node.client_address(state.plaintext_view(client.tls)))
    return None


def refuse(server: Server, client: Client, cmd: Command, message: str) -> None:
    """processCommand's cluster refusal: a refused EXEC discards the transaction and gets
    the redirect as is (no EXECABORT); any other refusal inside MULTI dooms the EXEC."""
    if cmd.name == "exec":
        client.discard_transaction()
    elif client.multi:
        client.dirty_exec = True
    cmd.rejected_calls += 1
    server.count_error(message)
    client.refuse(message)


def blocked_redirect(state: ClusterState, entry: Blocked) -> str | None:
    """clusterRedirectBlockedClientIfNeeded: the error for a client blocked on a slot
    served elsewhere or nowhere (or while the cluster is down or this node fenced), else None."""
    if not state.state_ok or not state.lease.valid():
        return errors.CLUSTERDOWN_STATE
    if not entry.keys:
        return None
    slot = key_slot(entry.keys[0])  # a blocking command's keys share one slot
    node = state.owner[slot]
    myself = state.myself
    client = entry.client
    last = client.cmd
    if (client.readonly and node is not None and (last is None or not last.write)
            and "slave" in myself.flags and myself.master_id == node.id):
        node = myself
    if node is not myself and slot not in state.importing:
        if node is None:
            return errors.CLUSTERDOWN_UNBOUND
        return errors.MOVED % (slot, node.client_address(state.plaintext_view(client.tls)))
    return None


def redirect_blocked_clients(server: Server) -> None:
    """Answer, from the cron, every blocked client whose slot is no longer served here."""
    state = server.cluster
    entries: dict[int, Blocked] = {}
    for db in server.dbs:
        if not db.blocked:
            continue
        for waiting in db.blocked.values():
            for entry in waiting:
                entries[id(entry)] = entry
    for entry in entries.values():
        message = blocked_redirect(state, entry)
        if message is not None:
            server.count_error(message)
            unblock(entry, CommandError(message))
