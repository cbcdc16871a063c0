"""CLUSTER subcommands that change the topology table (cluster.c clusterCommand, Redis 7).

Each one validates everything first, in Redis's order and with its texts, and only then
edits the table, ending with ``ClusterState.changed()``: nodes.conf is saved and the links
push the new table to every peer. SETTOPOLOGY (the control plane's whole-table push) and
MERGETOPOLOGY (a peer's push) are redslot's own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..cluster.manual_failover import manual_failover
from ..cluster.nodes_conf import TableError, parse_table
from ..cluster.state import ClusterNode, ClusterState, default_bus_port, new_node_id, now_ms
from ..keyspace.slots import SLOTS
from ..protocol.reply import OK
from ..protocol.request import strict_int
from ..table.command import command
from .args import to_int
from .cluster import cluster_state, lookup_node, parse_slot

if TYPE_CHECKING:
    from .context import Client


def _db_size(c: Client) -> int:
    return len(c.server.dbs[0])


def _check_assignments(state: ClusterState, marked: bytearray, delete: bool,
                       start: int, end: int) -> None:
    """checkSlotAssignmentsOrReply."""
    for slot in range(start, end + 1):
        if delete and state.owner[slot] is None:
            raise CommandError(errors.CLUSTER_SLOT_UNASSIGNED % slot)
        if not delete and state.owner[slot] is not None:
            raise CommandError(errors.CLUSTER_SLOT_BUSY % slot)
        if marked[slot]:
            raise CommandError(errors.CLUSTER_SLOT_TWICE % slot)
        marked[slot] = 1


def _update_slots(state: ClusterState, marked: bytearray, delete: bool) -> Any:
    """clusterUpdateSlots: the marked slots become unassigned, or ours (ending an import)."""
    for slot in range(SLOTS):
        if not marked[slot]:
            continue
        if delete:
            state.unassign(slot)
        else:
            state.importing.pop(slot, None)
            state.assign(slot, state.myself)
    state.changed(slots=True)
    return OK


def _slots_command(c: Client, argv: list[bytes], delete: bool) -> Any:
    state = cluster_state(c)
    slots = [parse_slot(arg) for arg in argv[2:]]
    marked = bytearray(SLOTS)
    for slot in slots:
        _check_assignments(state, marked, delete, slot, slot)
    return _update_slots(state, marked, delete)


def _range_command(c: Client, argv: list[bytes], delete: bool) -> Any:
    state = cluster_state(c)
    if len(argv) % 2 == 1:
        name = "cluster|delslotsrange" if delete else "cluster|addslotsrange"
        raise CommandError(errors.WRONG_ARITY % name)
    ranges = []
    for i in range(2, len(argv), 2):
        start, end = parse_slot(argv[i]), parse_slot(argv[i + 1])
        if start > end:
            raise CommandError(errors.CLUSTER_RANGE_ORDER % (start, end))
        ranges.append((start, end))
    marked = bytearray(SLOTS)
    for start, end in ranges:
        _check_assignments(state, marked, delete, start, end)
    return _update_slots(state, marked, delete)


@command("cluster|addslots")
def cluster_addslots(c: Client, argv: list[bytes]) -> Any:
    return _slots_command(c, argv, False)


@command("cluster|delslots")
def cluster_delslots(c: Client, argv: list[bytes]) -> Any:
    return _slots_command(c, argv, True)


@command("cluster|addslotsrange")
def cluster_addslotsrange(c: Client, argv: list[bytes]) -> Any:
    return _range_command(c, argv, False)


@command("cluster|delslotsrange")
def cluster_delslotsrange(c: Client, argv: list[bytes]) -> Any:
    return _range_command(c, argv, True)


@command("cluster|flushslots")
def cluster_flushslots(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    if _db_size(c):
        raise CommandError(errors.CLUSTER_FLUSHSLOTS_NOT_EMPTY)
    for slot in list(state.myself.slots):
        state.unassign(slot)
    state.changed(slots=True)
    return OK


@command("cluster|setslot")
def cluster_setslot(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    me = state.myself
    if not me.is_master:
        raise CommandError(errors.CLUSTER_SETSLOT_REPLICA)
    slot = parse_slot(argv[2])
    action = argv[3].lower()
    argc = len(argv)
    if action == b"migrating" and argc == 5:
        if state.owner[slot] is not me:
            raise CommandError(errors.CLUSTER_NOT_OWNER % slot)
        target = lookup_node(state, argv[4], errors.CLUSTER_DONT_KNOW_NODE)
        if not target.is_master:
            raise CommandError(errors.CLUSTER_TARGET_NOT_MASTER)
        state.migrating[slot] = target
    elif action == b"importing" and argc == 5:
        if state.owner[slot] is me:
            raise CommandError(errors.CLUSTER_ALREADY_OWNER % slot)
        source = lookup_node(state, argv[4], errors.CLUSTER_DONT_KNOW_NODE)
        if not source.is_master:
            raise CommandError(errors.CLUSTER_TARGET_NOT_MASTER)
        state.importing[slot] = source
    elif action == b"stable" and argc == 4:
        state.migrating.pop(slot, None)
        state.importing.pop(slot, None)
    elif action == b"node" and argc == 5:
        epoch = state.myself.config_epoch
        _setslot_node(c, state, slot, lookup_node(state, argv[4]))
        # Written before the reply, synced to disk only when our epoch moved (as Redis does).
        state.changed(slots=True, fsync=state.myself.config_epoch != epoch, before_reply=True)
        return OK
    else:
        raise CommandError(errors.CLUSTER_SETSLOT_SYNTAX)
    # MIGRATING/IMPORTING marks are this node's own business (peers ignore them in a
    # pushed table, as Redis does not gossip them): saved, not pushed or synced.
    state.save_before_reply(fsync=False)
    return OK


def _setslot_node(c: Client, state: ClusterState, slot: int, target: ClusterNode) -> None:
    me = state.myself
    if not target.is_master:
        raise CommandError(errors.CLUSTER_TARGET_NOT_MASTER)
    keys = state.keys_in_slot(slot)
    if state.owner[slot] is me and target is not me and keys:
        raise CommandError(errors.CLUSTER_SLOT_HAS_KEYS % slot)
    if not keys:
        state.migrating.pop(slot, None)
    if target is me and slot in state.importing:
        # The import is over: a new epoch makes our claim win everywhere.
        if state.bump_epoch_without_consensus():
            assert c.server is not None
            c.server.log_notice(f"configEpoch updated after importing slot {slot}")
        del state.importing[slot]
    was_mine = state.owner[slot] is me
    state.assign(slot, target)
    if (was_mine and target is not me and not me.slots
            and c.server.config["cluster-allow-replica-migration"]):
        c.server.log_notice(f"Lost my last slot during slot migration. Reconfiguring myself as a replica of {target.id}")
        state.set_my_master(target)


@command("cluster|replicate")
def cluster_replicate(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    master = lookup_node(state, argv[2])
    me = state.myself
    if master is me:
        raise CommandError(errors.CLUSTER_REPLICATE_MYSELF)
    if not master.is_master:
        raise CommandError(errors.CLUSTER_REPLICATE_REPLICA)
    if me.is_master and (me.slots or _db_size(c)):
        raise CommandError(errors.CLUSTER_REPLICATE_NOT_EMPTY)
    state.set_my_master(master)
    state.changed(slots=True)
    return OK


@command("cluster|failover")
def cluster_failover(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    force = takeover = False
    if len(argv) == 3:
        option = argv[2].lower()
        if option == b"force":
            force = True
        elif option == b"takeover":
            takeover = True
        else:
            raise CommandError(errors.SYNTAX)
    elif len(argv) > 3:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (argv[1].decode("utf-8", "surrogateescape"), "CLUSTER"))
    me = state.myself
    if me.is_master:
        raise CommandError(errors.CLUSTER_FAILOVER_MASTER)
    master = state.master_of(me)
    if master is None:
        raise CommandError(errors.CLUSTER_FAILOVER_NO_MASTER)
    if not force and not takeover and not state.reachable(master):
        raise CommandError(errors.CLUSTER_FAILOVER_MASTER_DOWN)
    if force or takeover:
        _replace_my_master(c, state, master)
    else:  # the handshake runs on; the reply, as in Redis, only says it started
        asyncio.ensure_future(manual_failover(
            c.server, master, lambda: _replace_my_master(c, state, master)))
    return OK


def _replace_my_master(c: Client, state: ClusterState, master: ClusterNode) -> None:
    """clusterFailoverReplaceYourMaster, with a new epoch of our own as TAKEOVER does."""
    me = state.myself
    if me.master_id != master.id:
        return  # the table changed while a manual failover waited
    me.set_role(None)
    me.shard_id = master.shard_id
    state.current_epoch = state.max_epoch() + 1
    me.config_epoch = state.current_epoch
    for slot in list(master.slots):
        state.assign(slot, me)
    master.set_role(me)
    for replica in state.replicas_of(master):
        replica.set_role(me)
    c.server.log_notice("Failover election won: I'm the new master. configEpoch set to "
                        f"{me.config_epoch} after successful failover")
    state.changed(slots=True)


@command("cluster|reset")
def cluster_reset(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    hard = False
    if len(argv) == 3:
        option = argv[2].lower()
        if option == b"hard":
            hard = True
        elif option != b"soft":
            raise CommandError(errors.SYNTAX)
    elif len(argv) > 3:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (argv[1].decode("utf-8", "surrogateescape"), "CLUSTER"))
    me = state.myself
    if me.is_master and _db_size(c):
        raise CommandError(errors.CLUSTER_RESET_WITH_KEYS)
    if not me.is_master:
        me.set_role(None)
        me.shard_id = new_node_id()
        for db in c.server.dbs:
            db.flush()
        c.server.keyspace_stats.signal_flushed()
    state.migrating.clear()
    state.importing.clear()
    for slot in range(SLOTS):
        state.unassign(slot)
    for node in list(state.nodes.values()):
        if node is not me:
            state.remove_node(node)
    if hard:
        state.current_epoch = state.last_vote_epoch = state.topology_epoch = 0
        me.config_epoch = 0
        old_id = me.id
        del state.nodes[old_id]
        me.id = new_node_id()
        me.shard_id = new_node_id()
        state.nodes[me.id] = me
        c.server.log_notice(f"Node hard reset, now I'm {me.id}")
    state.changed(slots=True)
    return OK


def _port(arg: bytes, message: str) -> int:
    value = strict_int(arg)
    if value is None:
        raise CommandError(message % arg.decode("utf-8", "surrogateescape"))
    return value


@command("cluster|meet")
def cluster_meet(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    if len(argv) > 5:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (argv[1].decode("utf-8", "surrogateescape"), "CLUSTER"))
    port = _port(argv[3], errors.CLUSTER_MEET_PORT)
    cport = _port(argv[4], errors.CLUSTER_MEET_BUS_PORT) if len(argv) == 5 else default_bus_port(port)
    text_ip = argv[2].decode("utf-8", "surrogateescape")
    try:
        ip = str(ipaddress.ip_address(text_ip))
    except ValueError:
        ip = ""
    if not ip or not 0 < port <= 65535 or not 0 < cport <= 65535:
        raise CommandError(errors.CLUSTER_MEET_ADDRESS % (text_ip, argv[3].decode("utf-8", "surrogateescape")))
    for node in state.nodes.values():
        if node.ip == ip and node.port == port and node is not state.myself:
            if "handshake" not in node.flags:
                state.push_back.add(node.id)
            return OK
    node = ClusterNode(new_node_id(), ip, port, cport)
    node.flags = {"handshake"}
    node.link_connected = False
    node.link_created = now_ms()
    state.add_node(node)
    if state.link_manager is not None:
        state.link_manager.tick()
    return OK


@command("cluster|forget")
def cluster_forget(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    node = lookup_node(state, argv[2])
    me = state.myself
    if node is me:
        raise CommandError(errors.CLUSTER_FORGET_MYSELF)
    if not me.is_master and me.master_id == node.id:
        raise CommandError(errors.CLUSTER_FORGET_MASTER)
    state.forget(node)
    state.changed(slots=True)
    return OK


@command("cluster|bumpepoch")
def cluster_bumpepoch(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    bumped = state.bump_epoch_without_consensus()
    if bumped:
        state.changed()
    return f"{'BUMPED' if bumped else 'STILL'} {state.myself.config_epoch}"


@command("cluster|set-config-epoch")
def cluster_set_config_epoch(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    epoch = to_int(argv[2])
    if epoch < 0:
        raise CommandError(errors.CLUSTER_BAD_CONFIG_EPOCH % epoch)
    if len(state.nodes) > 1:
        raise CommandError(errors.CLUSTER_EPOCH_NOT_ALONE)
    if state.myself.config_epoch:
        raise CommandError(errors.CLUSTER_EPOCH_NONZERO)
    state.myself.config_epoch = epoch
    state.current_epoch = max(state.current_epoch, epoch)
    state.changed()
    return OK


@command("cluster|saveconfig")
def cluster_saveconfig(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    try:
        state.save()
    except OSError as exc:
        raise CommandError(errors.CLUSTER_SAVECONFIG % os.strerror(exc.errno or 0)) from None
    return OK


@command("cluster|settopology")
def cluster_settopology(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    epoch = to_int(argv[2])
    try:
        table = parse_table(argv[3].decode("utf-8", "surrogateescape"))
    except TableError as exc:
        raise CommandError(errors.CLUSTER_TOPOLOGY_BAD % exc) from None
    refusal = state.set_topology(epoch, table)
    if refusal is not None:
        raise CommandError(refusal)
    return OK


@command("cluster|mergetopology")
def cluster_mergetopology(c: Client, argv: list[bytes]) -> Any:
    state = cluster_state(c)
    meet = False
    if len(argv) == 4:
        if argv[3].lower() != b"meet":
            raise CommandError(errors.SYNTAX)
        meet = True
    elif len(argv) > 4:
        raise CommandError(errors.SYNTAX)
    try:
        table = parse_table(argv[2].decode("utf-8", "surrogateescape"))
    except TableError as exc:
        raise CommandError(errors.CLUSTER_TOPOLOGY_BAD % exc) from None
    sender = next((row for row in table.rows if "myself" in row.flags), None)
    if sender is None:
        raise CommandError(errors.CLUSTER_TOPOLOGY_BAD % "no row is flagged myself")
    kind = "meet" if meet else "update"
    state.stats_received[kind] = state.stats_received.get(kind, 0) + 1
    if state.is_banned(sender.id) or (sender.id not in state.nodes and not meet):
        return "IGNORED"
    state.inbound[sender.id] = c
    if state.held:
        return OK  # answered as usual, but a held node takes nothing from its peers
    local_ip = c.laddr.rpartition(":")[0].strip("[]")
    state.learn_my_ip(local_ip)
    peer_ip = c.addr.rpartition(":")[0].strip("[]")
    state.merge(table, peer_ip)
    return OK


@command("cluster|lease")
def cluster_lease(c: Client, argv: list[bytes]) -> Any:
    """CLUSTER LEASE <duration-ms> <min-topology-epoch> [<run-id> <stamp-ms>] (redslot's own).

    The control plane's lease renewal (cluster/lease.py): extends the lease to stamp +
    duration when the run id and stamp are ones this process handed out and this node has a
    table at least as new as the epoch given, so a deposed master that has not yet been told
    of its successor gets no lease. Always answers [run-id, stamp-ms, remaining-ms]: the
    stamp for the next renewal."""
    state = cluster_state(c)
    if len(argv) not in (4, 6):
        raise CommandError(errors.SYNTAX)
    duration = to_int(argv[2])
    min_epoch = to_int(argv[3])
    if duration <= 0:
        raise CommandError(errors.CLUSTER_LEASE_DURATION)
    if min_epoch < 0:
        raise CommandError(errors.CLUSTER_LEASE_EPOCH)
    server = c.server
    if len(argv) == 6:
        stamp = to_int(argv[5])
        if argv[4] == server.run_id.encode() and state.topology_epoch >= min_epoch:
            state.lease.renew(stamp, duration)
    return [server.run_id.encode(), state.lease.stamp(), state.lease.remaining_ms()]
