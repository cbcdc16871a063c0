"""Redirect decisions (routing.py, Redis's getNodeByQuery) on a table built by hand.

No process is started: a ClusterState, the real command table and a stand-in client are
enough to check every branch, with Redis's exact error texts.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from redslot.node.cluster.routing import blocked_redirect, decide, key_positions
from redslot.node.cluster.state import ClusterNode, ClusterState
from redslot.node.commands import build_table
from redslot.node.keyspace.blocking import Blocked
from redslot.node.keyspace.database import Database
from redslot.node.keyspace.slots import key_slot
from redslot.node.keyspace.stats import KeyspaceStats
from redslot.node.table.command import Command
from redslot.node.table.multi import MultiState

TABLE = build_table()
A, B, C = b"{a}1", b"{a}2", b"{c}1"  # A and B share a slot, C is elsewhere
SLOT_A, SLOT_C = key_slot(A), key_slot(C)


def cmd(name: str) -> Command:
    top, _, sub = name.partition("|")
    found = TABLE[top]
    return found.subcommands[sub] if sub and found.subcommands else found


class World:
    """This node (myself), a peer, and this node's replica view of the peer."""

    def __init__(self) -> None:
        self.me = ClusterNode("a" * 40, "127.0.0.1", 7000)
        self.me.flags = {"master", "myself"}
        self.peer = ClusterNode("b" * 40, "127.0.0.1", 7001)
        self.state = ClusterState(self.me)
        self.state.nodes[self.peer.id] = self.peer
        for slot in range(0, 8192):
            self.state.owner[slot] = self.me
        for slot in range(8192, 16384):
            self.state.owner[slot] = self.peer
        self.state.owner[SLOT_A] = self.me
        self.state.owner[SLOT_C] = self.peer
        self.state.state_ok = True
        self.db = Database(0, KeyspaceStats())
        self.config = {"cluster-allow-reads-when-down": False, "tls-cluster": False}
        self.server = SimpleNamespace(dbs=[self.db], config=self.config)

    def client(self, **flags: Any) -> Any:
        base = {"asking": False, "readonly": False, "multi": False, "mstate": MultiState(),
                "server": self.server, "cmd": None, "is_master": False, "tls": False}
        base.update(flags)
        return SimpleNamespace(**base)

    def route(self, client: Any, *argv: bytes | str) -> str | None:
        args = [a if isinstance(a, bytes) else a.encode() for a in argv]
        return self.state.route(client, cmd(args[0].decode().lower()), args)


@pytest.fixture
def w() -> World:
    return World()


# --- stable slots ---

def test_key_on_an_owned_slot_is_served(w):
    assert w.route(w.client(), "get", A) is None


def test_key_on_a_peer_slot_is_moved(w):
    assert w.route(w.client(), "get", C) == f"MOVED {SLOT_C} 127.0.0.1:7001"


def test_unassigned_slot_is_clusterdown_unbound(w):
    w.state.owner[SLOT_A] = None
    assert w.route(w.client(), "set", A, "v") == "CLUSTERDOWN Hash slot not served"


def test_keys_in_two_slots_are_crossslot(w):
    assert (w.route(w.client(), "mset", A, "1", C, "2")
            == "CROSSSLOT Keys in request don't hash to the same slot")


def test_keys_sharing_a_hash_tag_are_served(w):
    assert w.route(w.client(), "mset", A, "1", B, "2") is None
    assert w.route(w.client(), "rename", A, B) is None


def test_movable_keys_are_found_by_the_key_procedure(w):
    assert w.route(w.client(), "zunionstore", A, "2", B, C).startswith("CROSSSLOT")
    assert w.route(w.client(), "zunionstore", A, "2", B, A) is None
    assert w.route(w.client(), "sort", A, "store", C).startswith("CROSSSLOT")


def test_keyless_commands_are_never_redirected(w):
    w.state.state_ok = False
    assert w.route(w.client(), "ping") is None
    assert w.route(w.client(), "dbsize") is None


def test_key_positions_follow_getkeys_procedures():
    assert key_positions(cmd("migrate"), [b"migrate", b"h", b"1", b"", b"0", b"5", b"keys",
                                          b"x", b"y"]) == [7, 8]
    assert key_positions(cmd("mset"), [b"mset", b"a", b"1", b"b", b"2"]) == [1, 3]
    assert key_positions(cmd("get"), [b"get", b"k"]) == [1]


# --- cluster down ---

def test_down_cluster_refuses_keyed_commands(w):
    w.state.state_ok = False
    assert w.route(w.client(), "get", A) == "CLUSTERDOWN The cluster is down"


def test_down_cluster_serves_reads_when_allowed(w):
    w.state.state_ok = False
    w.config["cluster-allow-reads-when-down"] = True
    assert w.route(w.client(), "get", A) is None
    assert (w.route(w.client(), "set", A, "v")
            == "CLUSTERDOWN The cluster is down and only accepts read commands")
    assert w.route(w.client(), "get", C) == f"MOVED {SLOT_C} 127.0.0.1:7001"


# --- migrating source ---

def test_migrating_slot_serves_present_keys(w):
    w.state.migrating[SLOT_A] = w.peer
    w.db.set(A, b"1")
    assert w.route(w.client(), "get", A) is None


def test_migrating_slot_asks_for_missing_keys(w):
    w.state.migrating[SLOT_A] = w.peer
    assert w.route(w.client(), "get", A) == f"ASK {SLOT_A} 127.0.0.1:7001"
    assert w.route(w.client(), "mget", A, B) == f"ASK {SLOT_A} 127.0.0.1:7001"


def test_migrating_slot_with_some_keys_missing_is_tryagain(w):
    w.state.migrating[SLOT_A] = w.peer
    w.db.set(A, b"1")
    assert (w.route(w.client(), "mget", A, B)
            == "TRYAGAIN Multiple keys request during rehashing of slot")


def test_expired_key_counts_as_missing(w):
    w.state.migrating[SLOT_A] = w.peer
    w.db.set(A, b"1")
    w.db.set_expire(A, 1)
    assert w.route(w.client(), "get", A).startswith("ASK ")
    assert A in w.db.index  # looked at, not deleted


def test_migrate_runs_on_an_open_slot(w):
    w.state.migrating[SLOT_A] = w.peer
    assert w.route(w.client(), "migrate", "127.0.0.1", "7001", A, "0", "1000") is None


# --- importing target ---

def importing(w: World) -> None:
    w.state.owner[SLOT_A] = w.peer
    w.state.importing[SLOT_A] = w.peer


def test_importing_slot_without_asking_is_moved_to_the_owner(w):
    importing(w)
    assert w.route(w.client(), "get", A) == f"MOVED {SLOT_A} 127.0.0.1:7001"


def test_importing_slot_with_asking_is_served_once(w):
    importing(w)
    client = w.client(asking=True)
    assert w.route(client, "set", A, "1") is None
    assert client.asking is False
    assert w.route(client, "get", A).startswith("MOVED ")


def test_asking_multi_key_request_with_missing_keys_is_tryagain(w):
    importing(w)
    w.db.set(A, b"1")
    assert w.route(w.client(asking=True), "mget", A, B).startswith("TRYAGAIN ")
    w.db.set(B, b"2")
    assert w.route(w.client(asking=True), "mget", A, B) is None
    w.db.delete(B)
    assert w.route(w.client(asking=True), "rpoplpush", B, B) is None  # one key twice


def test_restore_asking_needs_no_asking(w):
    importing(w)
    assert w.route(w.client(), "restore-asking", A, "0", "payload") is None
    assert w.route(w.client(), "restore", A, "0", "payload").startswith("MOVED ")


@pytest.mark.parametrize("state", ["ok", "down", "held", "fenced", "unbound", "migrating"])
def test_restore_asking_into_an_importing_slot_is_decided_as_in_full(w, state):
    """route's short answer for a migrating node's RESTORE-ASKING (the whole of a
    reshard's load on its target) is decide's in every state that changes it."""
    importing(w)
    if state == "down":
        w.state.state_ok = False
    elif state == "held":
        w.state.held = True
    elif state == "fenced":
        w.state.lease.until = 0.0
    elif state == "unbound":
        w.state.owner[SLOT_A] = None
    elif state == "migrating":  # owned here and open both ways
        w.state.owner[SLOT_A] = w.me
        w.state.migrating[SLOT_A] = w.peer
    argv = [b"restore-asking", A, b"0", b"payload"]
    full = decide(w.state, w.client(), cmd("restore-asking"), argv, False)
    assert w.route(w.client(), *argv) == full
    assert (full is None) == (state == "ok")


def test_asking_itself_keeps_the_flag(w):
    client = w.client(asking=True)
    assert w.route(client, "asking") is None
    assert client.asking is True
    assert w.route(client, "ping") is None
    assert client.asking is False


def test_asking_lasts_for_a_whole_transaction(w):
    importing(w)
    client = w.client(asking=True)
    assert w.route(client, "multi") is None
    client.multi = True
    assert w.route(client, "set", A, "1") is None
    client.mstate.queue(cmd("set"), [b"set", A, b"1"])
    assert client.asking is True
    assert w.route(client, "exec") is None
    assert client.asking is False


# --- replicas ---

def make_replica(w: World) -> None:
    w.me.flags = {"slave", "myself"}
    w.me.master_id = w.peer.id
    for slot in range(16384):
        w.state.owner[slot] = w.peer


def test_replica_redirects_without_readonly(w):
    make_replica(w)
    assert w.route(w.client(), "get", A) == f"MOVED {SLOT_A} 127.0.0.1:7001"


def test_readonly_client_reads_on_the_replica(w):
    make_replica(w)
    assert w.route(w.client(readonly=True), "get", A) is None
    assert w.route(w.client(readonly=True), "set", A, "v") == f"MOVED {SLOT_A} 127.0.0.1:7001"


def test_the_replication_master_link_is_never_redirected(w):
    make_replica(w)
    assert w.route(w.client(is_master=True), "set", A, "v") is None


def test_readonly_exec_with_a_queued_write_is_moved(w):
    make_replica(w)
    client = w.client(readonly=True, multi=True)
    client.mstate.queue(cmd("get"), [b"get", A])
    assert w.route(client, "exec") is None
    client.mstate.queue(cmd("set"), [b"set", A, b"v"])
    assert w.route(client, "exec") == f"MOVED {SLOT_A} 127.0.0.1:7001"


# --- EXEC re-checks the queued commands ---

def test_exec_is_moved_when_the_slot_moved_after_queueing(w):
    client = w.client(multi=True)
    client.mstate.queue(cmd("set"), [b"set", A, b"1"])
    assert w.route(client, "exec") is None
    w.state.owner[SLOT_A] = w.peer
    assert w.route(client, "exec") == f"MOVED {SLOT_A} 127.0.0.1:7001"


def test_exec_with_queued_keys_in_two_slots_is_crossslot(w):
    w.state.owner[SLOT_C] = w.me
    client = w.client(multi=True)
    client.mstate.queue(cmd("set"), [b"set", A, b"1"])
    client.mstate.queue(cmd("set"), [b"set", C, b"1"])
    assert w.route(client, "exec").startswith("CROSSSLOT ")


def test_exec_outside_multi_is_left_to_exec(w):
    assert w.route(w.client(), "exec") is None


# --- blocked clients ---

def blocked_on(w: World, key: bytes, **flags: Any) -> Blocked:
    client = w.client(cmd=cmd("blpop"), **flags)
    return Blocked(client, w.db, [key], "list", lambda db, k: None, lambda: None)  # type: ignore[arg-type]


def test_blocked_client_stays_while_the_slot_is_served(w):
    assert blocked_redirect(w.state, blocked_on(w, A)) is None


def test_blocked_client_is_moved_when_the_slot_moves(w):
    entry = blocked_on(w, A)
    w.state.owner[SLOT_A] = w.peer
    assert blocked_redirect(w.state, entry) == f"MOVED {SLOT_A} 127.0.0.1:7001"


def test_blocked_client_stays_on_an_importing_slot(w):
    entry = blocked_on(w, A)
    importing(w)
    assert blocked_redirect(w.state, entry) is None


def test_blocked_client_gets_clusterdown(w):
    entry = blocked_on(w, A)
    w.state.owner[SLOT_A] = None
    assert blocked_redirect(w.state, entry) == "CLUSTERDOWN Hash slot not served"
    w.state.state_ok = False
    assert blocked_redirect(w.state, entry) == "CLUSTERDOWN The cluster is down"
