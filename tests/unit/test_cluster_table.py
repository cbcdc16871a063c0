"""The topology table without processes: nodes.conf round trips, epoch rules, merges."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from redis.crc import key_slot as redis_key_slot
from redslot.node.cluster.nodes_conf import TableError, parse_row, parse_table
from redslot.node.cluster.state import ClusterNode, ClusterState, slot_ranges
from redslot.node.config.directives import Config
from redslot.node.keyspace.database import Database
from redslot.node.keyspace.slots import SLOTS, SlotIndex, key_slot
from redslot.node.keyspace.stats import KeyspaceStats

A = "a" * 40
B = "b" * 40
C = "c" * 40
D = "d" * 40


def make_state(node_id: str, port: int = 7000) -> ClusterState:
    """A state with a stand-in server: a real Config and database, logs dropped."""
    me = ClusterNode(node_id, "127.0.0.1", port)
    me.flags.add("myself")
    me.shard_id = "f" * 40
    state = ClusterState(me)
    db = Database(0, KeyspaceStats())
    db.slot_index = SlotIndex()
    state.server = SimpleNamespace(  # type: ignore[assignment]
        config=Config(), dbs=[db], log_notice=lambda m: None, log_verbose=lambda m: None,
        tcp_port=0, listening=False)  # not serving: replication is not started by table changes
    return state


def row_line(node_id: str, port: int, epoch: int, slots: str = "", flags: str = "master",
             master: str = "-") -> str:
    return f"{node_id} 127.0.0.1:{port}@{port + 10000} {flags} {master} 0 0 {epoch} connected {slots}".strip()


def push(sender: str, *lines: str, current_epoch: int | None = None) -> str:
    """A peer's table: ``lines`` with the sender's own line flagged myself."""
    out = []
    for line in lines:
        fields = line.split(" ")
        if fields[0] == sender:
            fields[2] = "myself," + fields[2]
        out.append(" ".join(fields))
    if current_epoch is not None:
        out.append(f"vars currentEpoch {current_epoch} lastVoteEpoch 0")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("key", [b"foo", b"123456789", b"{}foo", b"foo{}{bar}", b"foo{{bar}}zap",
                                 b"{user1000}.following", b"{a}{b}", b"}{x}", b""])
def test_keyslot_matches_redis_py(key: bytes) -> None:
    assert key_slot(key) == redis_key_slot(key)


def test_keyslot_vectors_from_redis_tests() -> None:
    assert key_slot(b"foo") == 12182
    assert key_slot(b"123456789") == 12739
    assert key_slot(b"foo{{bar}}zap") == key_slot(b"{bar")
    assert key_slot(b"{user1000}.following") == key_slot(b"user1000")


def test_slot_ranges_print_as_cluster_nodes_does() -> None:
    assert slot_ranges({0, 1, 2, 5, 7, 8}) == ["0-2", "5", "7-8"]
    assert slot_ranges(set()) == []


def test_parse_row_reads_every_field() -> None:
    row = parse_row(f"{A} 10.0.0.1:7000@17000,host-a,shard-id={B} myself,master - 5 6 3 connected "
                    f"0-2 9 [4->-{C}] [10-<-{D}]")
    assert (row.id, row.ip, row.port, row.cport, row.hostname) == (A, "10.0.0.1", 7000, 17000, "host-a")
    assert row.flags == {"myself", "master"} and row.master_id is None
    assert (row.ping_sent, row.pong_recv, row.config_epoch, row.connected) == (5, 6, 3, True)
    assert row.slots == [0, 1, 2, 9]
    assert row.migrating == {4: C} and row.importing == {10: D}
    assert row.shard_id == B


@pytest.mark.parametrize("line", [
    "short line",
    f"{A} 127.0.0.1:7000@17000 master - 0 0 0 connected 16384",
    f"{A} 127.0.0.1:7000@17000 master - 0 0 0 connected 5-3",
    f"{A} 127.0.0.1:7000@17000 wizard - 0 0 0 connected",
    f"{A} 127.0.0.1:7000@17000 master - 0 0 0 sleeping",
    "nothex 127.0.0.1:7000@17000 master - 0 0 0 connected",
])
def test_parse_row_refuses_malformed_lines(line: str) -> None:
    with pytest.raises(TableError):
        parse_row(line)


def test_parse_table_refuses_a_slot_claimed_twice() -> None:
    with pytest.raises(TableError, match="slot 3 is claimed"):
        parse_table(row_line(A, 7000, 1, "0-5") + "\n" + row_line(B, 7001, 2, "3") + "\n")


def test_nodes_conf_round_trips() -> None:
    state = make_state(A)
    other = ClusterNode(B, "127.0.0.2", 7001)
    other.hostname = "node-b"
    other.shard_id = "e" * 40
    state.add_node(other)
    replica = ClusterNode(C, "127.0.0.3", 7002)
    replica.set_role(other)
    state.add_node(replica)
    for slot in range(0, 100):
        state.assign(slot, state.myself)
    state.assign(200, other)
    other.link_connected = replica.link_connected = False  # link state is not restored
    state.migrating[5] = other
    state.importing[300] = other
    state.current_epoch = 9
    state.myself.config_epoch = 4
    text = state.config_text()
    table = parse_table(text)
    assert table.current_epoch == 9
    copy = make_state(A)
    copy.apply_rows(table.rows, keep_own_address=False)
    copy.current_epoch = table.current_epoch or 0
    assert copy.config_text() == text
    assert copy.nodes[C].shard_id == "e" * 40


def test_cluster_nodes_line_shows_marks_only_on_myself() -> None:
    state = make_state(A)
    other = ClusterNode(B, "127.0.0.2", 7001)
    state.add_node(other)
    state.assign(5, state.myself)
    state.migrating[5] = other
    state.importing[9] = other
    lines = state.nodes_text().splitlines()
    assert lines[0] == (f"{A} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected 5 "
                        f"[5->-{B}] [9-<-{B}]")
    assert lines[1].endswith("connected") and "[" not in lines[1]
    assert state.nodes_text().endswith("\n")


def test_replica_line_shows_its_masters_epoch() -> None:
    state = make_state(A)
    master = ClusterNode(B, "127.0.0.2", 7001)
    master.config_epoch = 7
    state.add_node(master)
    state.myself.set_role(master)
    assert state.describe(state.myself).split(" ")[2:7] == ["myself,slave", B, "0", "0", "7"]


def test_merge_adds_unknown_nodes_and_takes_their_claims() -> None:
    state = make_state(A)
    table = parse_table(push(B, row_line(B, 7001, 1, "0-99"), row_line(C, 7002, 2, "100-199"),
                             current_epoch=2))
    assert state.merge(table)
    assert set(state.nodes) == {A, B, C}
    assert state.owner[0] is state.nodes[B] and state.owner[150] is state.nodes[C]
    assert state.current_epoch == 2


def test_merge_gives_a_slot_to_the_greater_config_epoch() -> None:
    state = make_state(A)
    state.merge(parse_table(push(B, row_line(B, 7001, 3, "0-9"))))
    state.merge(parse_table(push(C, row_line(C, 7002, 2, "5-9"))))
    assert state.owner[5] is state.nodes[B], "an older claim must not take the slot"
    state.merge(parse_table(push(C, row_line(C, 7002, 4, "5-9"))))
    assert state.owner[5] is state.nodes[C] and state.owner[4] is state.nodes[B]


def test_merge_sender_is_authoritative_on_its_own_row_only() -> None:
    state = make_state(A)
    state.merge(parse_table(push(B, row_line(B, 7001, 5), row_line(C, 7002, 5))))
    state.merge(parse_table(push(B, row_line(B, 7009, 5), row_line(C, 7008, 4))))
    assert state.nodes[B].port == 7009, "the sender's own address is taken"
    assert state.nodes[C].port == 7002, "a stale third-party row is not"


def test_merge_from_a_forgotten_node_is_ignored() -> None:
    state = make_state(A)
    state.merge(parse_table(push(B, row_line(B, 7001, 1, "0-9"))))
    state.forget(state.nodes[B])
    assert state.owner[0] is None
    assert not state.merge(parse_table(push(B, row_line(B, 7001, 1, "0-9"))))
    assert B not in state.nodes
    state.merge(parse_table(push(C, row_line(C, 7002, 1), row_line(B, 7001, 1, "0-9"))))
    assert C in state.nodes and B not in state.nodes, "nor is it learned from a third node"
    assert state.owner[0] is None


def test_config_epoch_collision_makes_the_smaller_id_bump() -> None:
    smaller = make_state(A)
    smaller.assign(0, smaller.myself)
    assert smaller.merge(parse_table(push(B, row_line(B, 7001, 0, "1"))))
    assert smaller.myself.config_epoch == 1 and smaller.current_epoch == 1

    greater = make_state(C)
    greater.merge(parse_table(push(B, row_line(B, 7001, 0, "1"))))
    assert greater.myself.config_epoch == 0
    assert B in greater.push_back, "the greater id pushes back so the other side bumps"


def test_a_master_that_loses_every_slot_becomes_a_replica_of_the_taker() -> None:
    state = make_state(A)
    for slot in range(10):
        state.assign(slot, state.myself)
    state.myself.config_epoch = 1
    state.merge(parse_table(push(B, row_line(B, 7001, 2, "0-9"))))
    assert state.myself.flags >= {"myself", "slave"} and state.myself.master_id == B
    assert not state.myself.slots


def test_losing_a_slot_with_keys_drops_those_keys() -> None:
    state = make_state(A)
    db = state.server.dbs[0]  # type: ignore[union-attr]
    state.assign(key_slot(b"foo"), state.myself)
    state.assign(0, state.myself)
    state.myself.config_epoch = 1
    db.set(b"foo", b"bar")
    state.merge(parse_table(push(B, row_line(B, 7001, 2, str(key_slot(b"foo"))))))
    assert db.peek(b"foo") is None
    assert state.keys_in_slot(key_slot(b"foo")) == 0


def test_an_importing_slot_is_not_taken_by_claims() -> None:
    state = make_state(A)
    state.merge(parse_table(push(B, row_line(B, 7001, 1, "0-9"))))
    state.importing[3] = state.nodes[B]
    state.merge(parse_table(push(C, row_line(C, 7002, 5, "3"))))
    assert state.owner[3] is state.nodes[B]


def test_set_topology_needs_a_newer_epoch() -> None:
    state = make_state(A)
    table = parse_table(row_line(A, 7000, 1, "0-8191") + "\n" + row_line(B, 7001, 2, "8192-16383"))
    assert state.set_topology(5, table) is None
    assert state.set_topology(5, table) == "ERR topology epoch 5 is not newer than this node's epoch 5"
    assert state.set_topology(4, table) == "ERR topology epoch 4 is not newer than this node's epoch 5"
    assert state.set_topology(6, table) is None
    assert state.topology_epoch == 6 and state.current_epoch == 6
    assert sum(len(n.slots) for n in state.nodes.values()) == SLOTS
    assert state.nodes[B].address == "127.0.0.1:7001"


def test_a_peer_push_does_not_block_the_same_control_plane_push() -> None:
    """The control plane pushes one table to every node in turn; the first node's pushes to
    its peers (with their currentEpoch) must not make the others refuse it."""
    state = make_state(A)
    state.merge(parse_table(push(B, row_line(B, 7001, 1), current_epoch=9)))
    assert state.current_epoch == 9
    table = parse_table(row_line(A, 7000, 1, "0-8191") + "\n" + row_line(B, 7001, 2, "8192-16383"))
    assert state.set_topology(3, table) is None
    assert state.current_epoch == 9 and state.topology_epoch == 3


def test_topology_epoch_survives_in_nodes_conf() -> None:
    state = make_state(A)
    state.set_topology(4, parse_table(row_line(A, 7000, 1, "0-16383")))
    assert "topologyEpoch 4" in state.config_text()
    assert parse_table(state.config_text()).topology_epoch == 4


def test_set_topology_replaces_the_whole_table() -> None:
    state = make_state(A)
    state.merge(parse_table(push(C, row_line(C, 7002, 1, "0-9"))))
    table = parse_table(row_line(A, 9999, 3, f"5 [5->-{B}]") + "\n" + row_line(B, 7001, 2, "6"))
    assert state.set_topology(10, table) is None
    assert C not in state.nodes and state.owner[0] is None
    assert state.myself.port == 7000, "a node keeps its own address"
    assert state.migrating == {5: state.nodes[B]}


def test_set_topology_refuses_a_table_without_this_node() -> None:
    state = make_state(A)
    refusal = state.set_topology(1, parse_table(row_line(B, 7001, 1, "0-16383")))
    assert refusal == f"ERR the topology table has no row for this node ({A})"


def test_set_topology_refuses_to_take_a_slot_with_keys_from_a_master() -> None:
    state = make_state(A)
    slot = key_slot(b"foo")
    state.assign(slot, state.myself)
    state.server.dbs[0].set(b"foo", b"bar")  # type: ignore[union-attr]
    refusal = state.set_topology(1, parse_table(row_line(A, 7000, 1) + "\n" + row_line(B, 7001, 2, str(slot))))
    assert refusal == (f"ERR Can't assign hashslot {slot} to a different node while I still hold "
                       "keys for this hash slot.")


def test_bump_epoch_without_consensus() -> None:
    state = make_state(C)
    assert state.bump_epoch_without_consensus()
    assert state.myself.config_epoch == 1 == state.current_epoch
    assert not state.bump_epoch_without_consensus(), "already the greatest and unique"
    state.merge(parse_table(push(B, row_line(B, 7001, 1))))
    assert state.myself.config_epoch == 1
    assert state.bump_epoch_without_consensus(), "an equal epoch elsewhere calls for a bump"
    assert state.myself.config_epoch == 2


def test_state_is_ok_only_with_every_slot_served() -> None:
    state = make_state(A)
    for slot in range(SLOTS - 1):
        state.assign(slot, state.myself)
    state.update_state()
    assert not state.state_ok
    state.assign(SLOTS - 1, state.myself)
    state.update_state()
    assert state.state_ok
    other = ClusterNode(B, "127.0.0.2", 7001)
    other.link_connected = False
    state.add_node(other)
    state.assign(0, other)
    state.update_state()
    assert not state.state_ok, "a slot whose owner is unreachable is not served"
    state.server.config.set("cluster-require-full-coverage", "no")  # type: ignore[union-attr]
    state.update_state()
    assert not state.state_ok, "a master that cannot reach a majority of masters stays failed"


def test_keyslot_matches_redis_py_on_hash_tag_edge_cases_and_random_keys() -> None:
    import random

    from redis.crc import key_slot as redis_py_slot

    for key in (b"{}foo", b"foo{}{bar}", b"foo{{bar}}zap", b"foo{bar}{zap}", b"{", b"}", b"{}",
                b"a{b", b"", b"\xff{\x00}"):
        assert key_slot(key) == redis_py_slot(key), key
    rng = random.Random(7)
    for _ in range(20_000):
        key = bytes(rng.choice(b"ab{}\x00\xff") for _ in range(rng.randrange(10)))
        assert key_slot(key) == redis_py_slot(key), key


def test_a_tls_peers_plaintext_port_travels_as_tcp_port_and_outlives_control_plane_tables() -> None:
    state = make_state(A)
    tls_row = f"{B} 127.0.0.1:7101@17101,,shard-id={C},tcp-port=7001 master - 0 0 1 connected 0-99"
    assert parse_row(tls_row).pport == 7001
    assert state.merge(parse_table(push(B, tls_row)))
    peer = state.nodes[B]
    assert (peer.port, peer.pport) == (7101, 7001)
    assert peer.client_address(plaintext=True) == "127.0.0.1:7001"
    assert peer.client_address(plaintext=False) == "127.0.0.1:7101"
    assert f"127.0.0.1:7101@17101,,shard-id={C},tcp-port=7001 " in state.config_text()
    assert "127.0.0.1:7001@17101 master" in state.describe(peer, plaintext=True)
    # the control plane's tables carry no plaintext port: the one the peer sent is kept
    table = parse_table(row_line(A, 7000, 1, "100-16383") + "\n" + row_line(B, 7101, 2, "0-99"))
    assert state.set_topology(3, table) is None
    assert state.nodes[B].pport == 7001


def test_plaintext_ports_are_told_only_to_plaintext_clients_of_a_tls_cluster() -> None:
    state = make_state(A)
    assert not state.plaintext_view(False)
    state.server.config.set("tls-cluster", "yes")  # type: ignore[union-attr]
    assert state.plaintext_view(False) and not state.plaintext_view(True)
