"""The planner: initial ranges, minimal slot moves, replica placement, failover choice and
the rendered topology table, as pure functions; the table is also pushed to a real node."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from nodes import free_port, start_node
from redslot.operator.planner import (
    SLOTS,
    Host,
    PlanError,
    ReplicaState,
    Role,
    ShardReplicas,
    SlotMove,
    SlotRange,
    TopologyNode,
    apply_moves,
    failover_candidate,
    in_sync,
    initial_ranges,
    place_replicas,
    plan_moves,
    render_topology,
    slot_ranges,
)

FAST = settings(max_examples=60, deadline=None)


def ids(count: int, prefix: str = "s") -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def balanced(shards: list[str]) -> dict[str, list[SlotRange]]:
    return {shard: [r] for shard, r in zip(shards, initial_ranges(len(shards)), strict=True)}


def minimal_moves(owners: dict[str, frozenset[int]], targets: set[str]) -> int:
    """The fewest slots any balanced plan moves: the largest owners keep the extra slots."""
    share, extra = divmod(SLOTS, len(targets))
    sizes = sorted((len(owners.get(shard, ())) for shard in targets), reverse=True)
    kept = sum(min(size, share + (rank < extra)) for rank, size in enumerate(sizes))
    return SLOTS - kept


@st.composite
def clusters(draw: st.DrawFn) -> tuple[dict[str, frozenset[int]], set[str]]:
    """A fragmented ownership of every slot by up to 8 shards, and a target shard set."""
    current = ids(draw(st.integers(1, 8)))
    cuts = sorted(set(draw(st.lists(st.integers(1, SLOTS - 1), max_size=30))))
    bounds = [0, *cuts, SLOTS]
    slots: dict[str, set[int]] = {shard: set() for shard in current}
    for start, end in zip(bounds, bounds[1:], strict=False):
        slots[draw(st.sampled_from(current))].update(range(start, end))
    kept = draw(st.sets(st.sampled_from(current)))
    added = set(ids(draw(st.integers(0 if kept else 1, 5)), "new"))
    return {shard: frozenset(owned) for shard, owned in slots.items()}, kept | added


# --- initial ranges ---


def test_three_shards_get_the_ranges_redis_cli_creates() -> None:
    assert initial_ranges(3) == [SlotRange(0, 5460), SlotRange(5461, 10922),
                                 SlotRange(10923, 16383)]


@given(st.integers(1, SLOTS))
def test_initial_ranges_are_contiguous_and_differ_by_at_most_one_slot(count: int) -> None:
    ranges = initial_ranges(count)
    assert len(ranges) == count
    assert ranges[0].start == 0 and ranges[-1].end == SLOTS - 1
    assert all(a.end + 1 == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    sizes = {len(r) for r in ranges}
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("count", [0, SLOTS + 1])
def test_initial_ranges_refuse_an_impossible_shard_count(count: int) -> None:
    with pytest.raises(PlanError):
        initial_ranges(count)


def test_slot_ranges_group_slots_into_the_fewest_ranges() -> None:
    assert slot_ranges([5, 1, 2, 3, 9, 10, 3]) == [SlotRange(1, 3), SlotRange(5, 5),
                                                   SlotRange(9, 10)]
    assert [str(r) for r in slot_ranges([7, 8, 100])] == ["7-8", "100"]


# --- slot moves ---


@FAST
@given(clusters())
def test_after_the_moves_every_slot_is_owned_exactly_once(
        cluster: tuple[dict[str, frozenset[int]], set[str]]) -> None:
    owners, targets = cluster
    after = apply_moves(owners, plan_moves(owners, targets))
    assert sorted(slot for slots in after.values() for slot in slots) == list(range(SLOTS))


@FAST
@given(clusters())
def test_the_moves_are_minimal_and_each_slot_moves_at_most_once(
        cluster: tuple[dict[str, frozenset[int]], set[str]]) -> None:
    owners, targets = cluster
    moves = plan_moves(owners, targets)
    moved = [slot for move in moves for slot in move.slots.slots()]
    assert len(moved) == len(set(moved)) == minimal_moves(owners, targets)
    assert all(move.source != move.target for move in moves)


@FAST
@given(clusters())
def test_the_target_shards_end_balanced_within_one_slot(
        cluster: tuple[dict[str, frozenset[int]], set[str]]) -> None:
    owners, targets = cluster
    after = apply_moves(owners, plan_moves(owners, targets))
    sizes = [len(after.get(shard, ())) for shard in targets]
    assert max(sizes) - min(sizes) <= 1


@FAST
@given(clusters())
def test_removed_shards_are_drained(cluster: tuple[dict[str, frozenset[int]], set[str]]) -> None:
    owners, targets = cluster
    after = apply_moves(owners, plan_moves(owners, targets))
    assert all(not after[shard] for shard in owners if shard not in targets)


@FAST
@given(clusters(), st.randoms(use_true_random=False))
def test_the_plan_depends_on_the_input_not_its_order(
        cluster: tuple[dict[str, frozenset[int]], set[str]], rng: random.Random) -> None:
    owners, targets = cluster
    shuffled_owners = list(owners.items())
    rng.shuffle(shuffled_owners)
    shuffled_targets = list(targets)
    rng.shuffle(shuffled_targets)
    assert plan_moves(dict(shuffled_owners), shuffled_targets) == plan_moves(owners, targets)


@FAST
@given(clusters())
def test_moves_are_maximal_ranges_of_one_donor_to_one_receiver(
        cluster: tuple[dict[str, frozenset[int]], set[str]]) -> None:
    owners, targets = cluster
    pieces = sorted((m.source, m.target, m.slots) for m in plan_moves(owners, targets))
    for (src, dst, a), (src2, dst2, b) in zip(pieces, pieces[1:], strict=False):
        assert (src, dst) != (src2, dst2) or a.end + 1 < b.start


def test_a_balanced_cluster_needs_no_moves() -> None:
    assert plan_moves(balanced(ids(5)), ids(5)) == []


def test_adding_a_shard_takes_a_quarter_from_each_of_three() -> None:
    moves = plan_moves(balanced(ids(3)), ids(4))
    assert moves == [SlotMove(SlotRange(4096, 5460), "s0", "s3"),
                     SlotMove(SlotRange(9557, 10922), "s1", "s3"),
                     SlotMove(SlotRange(15019, 16383), "s2", "s3")]


def test_scaling_out_fills_the_new_shards_evenly_and_interleaved() -> None:
    moves = plan_moves(balanced(ids(3)), ids(5))
    received: Counter[str] = Counter()
    for move in moves:
        received[move.target] += len(move.slots)
    assert sorted(received.values()) == [3276, 3277]
    assert [move.target for move in moves][:2] == ["s3", "s4"]


def test_scaling_in_drains_the_removed_shard_to_the_others() -> None:
    moves = plan_moves(balanced(ids(4)), ["s0", "s1", "s2"])
    assert {move.source for move in moves} == {"s3"}
    assert sum(len(move.slots) for move in moves) == 4096
    after = apply_moves(balanced(ids(4)), moves)
    assert sorted(len(after[s]) for s in ("s0", "s1", "s2")) == [5461, 5461, 5462]


def test_a_donor_gives_its_highest_slots_and_keeps_a_contiguous_range() -> None:
    after = apply_moves(balanced(ids(2)), plan_moves(balanced(ids(2)), ids(3)))
    assert slot_ranges(after["s0"]) == [SlotRange(0, 5461)]
    assert slot_ranges(after["s1"]) == [SlotRange(8192, 13652)]


def test_the_largest_owners_keep_the_extra_slots() -> None:
    owners = {"a": [SlotRange(0, 9999)], "b": [SlotRange(10000, 16383)]}
    moves = plan_moves(owners, ["a", "b", "c"])
    assert sum(len(move.slots) for move in moves) == 10000 - 5462 + 6384 - 5461


@pytest.mark.parametrize("owners, why", [
    ({"a": [SlotRange(0, 16383)], "b": [5]}, "owned by both"),
    ({"a": [SlotRange(0, 16382)]}, "no owner"),
    ({"a": [SlotRange(0, 16383), 16384]}, "not within"),
])
def test_moves_refuse_owners_that_are_not_a_whole_cluster(
        owners: dict[str, list[int | SlotRange]], why: str) -> None:
    with pytest.raises(PlanError, match=why):
        plan_moves(owners, ["a"])


def test_moves_refuse_an_empty_target() -> None:
    with pytest.raises(PlanError):
        plan_moves(balanced(ids(2)), [])


def test_applying_a_move_from_a_shard_without_the_slots_is_refused() -> None:
    with pytest.raises(PlanError, match="does not own"):
        apply_moves(balanced(ids(2)), [SlotMove(SlotRange(0, 10), "s1", "s0")])


# --- replica placement ---


ZONED = [Host(f"h{i}", f"z{i % 3}") for i in range(6)]


def test_replicas_avoid_their_masters_host_and_zone() -> None:
    shards = [ShardReplicas("a", "h0", 1), ShardReplicas("b", "h1", 1), ShardReplicas("c", "h2", 1)]
    placed = place_replicas(shards, ZONED)
    zone = {host.name: host.zone for host in ZONED}
    for shard in shards:
        (host,) = placed[shard.shard]
        assert zone[host] != zone[shard.master_host]


def test_replicas_of_one_shard_spread_over_zones_then_hosts() -> None:
    placed = place_replicas([ShardReplicas("a", "h0", 4)], ZONED)["a"]
    assert len(set(placed)) == 4 and "h0" not in placed
    zone = {host.name: host.zone for host in ZONED}
    assert sorted(Counter(zone[h] for h in ("h0", *placed)).values()) == [1, 2, 2]


def test_a_single_host_takes_every_replica() -> None:
    assert place_replicas([ShardReplicas("a", "h", 2)], [Host("h")]) == {"a": ("h", "h")}


def test_replicas_without_hosts_are_refused() -> None:
    with pytest.raises(PlanError):
        place_replicas([ShardReplicas("a", "h", 1)], [])


placement_inputs = st.tuples(
    st.lists(st.sampled_from(ids(4, "z")), min_size=1, max_size=8),
    st.lists(st.integers(0, 3), min_size=1, max_size=6))


def placement_case(
        drawn: tuple[list[str], list[int]]) -> tuple[list[Host], list[ShardReplicas]]:
    zones, wanted = drawn
    hosts = [Host(f"h{i}", zone) for i, zone in enumerate(zones)]
    shards = [ShardReplicas(f"s{i}", hosts[i % len(hosts)].name, n) for i, n in enumerate(wanted)]
    return hosts, shards


@FAST
@given(placement_inputs)
def test_placement_keeps_replicas_off_their_masters_host_when_it_can(
        drawn: tuple[list[str], list[int]]) -> None:
    hosts, shards = placement_case(drawn)
    placed = place_replicas(shards, hosts)
    for shard in shards:
        assert len(placed[shard.shard]) == shard.replicas
        if len(hosts) > 1:
            assert shard.master_host not in placed[shard.shard]
        if len(hosts) > shard.replicas:
            assert len(set(placed[shard.shard])) == shard.replicas
        zones = {host.zone for host in hosts}
        if len(zones) > shard.replicas:
            zone = {host.name: host.zone for host in hosts}
            used = [zone[shard.master_host], *(zone[h] for h in placed[shard.shard])]
            assert len(set(used)) == len(used)


@FAST
@given(placement_inputs, st.randoms(use_true_random=False))
def test_placement_depends_on_the_input_not_its_order(
        drawn: tuple[list[str], list[int]], rng: random.Random) -> None:
    hosts, shards = placement_case(drawn)
    expected = place_replicas(shards, hosts)
    rng.shuffle(hosts)
    rng.shuffle(shards)
    assert place_replicas(shards, hosts) == expected


# --- failover candidate ---


def replica(node_id: str, offset: int, link_up: bool = True,
            priority: int = 100) -> ReplicaState:
    return ReplicaState(node_id, link_up, offset, priority)


def test_the_highest_offset_wins() -> None:
    best = failover_candidate([replica("a", 10), replica("b", 30), replica("c", 20)])
    assert best is not None and best.node_id == "b"


def test_equal_offsets_go_to_the_lower_priority_then_the_smaller_id() -> None:
    tied = [replica("c", 5, priority=50), replica("b", 5, priority=10), replica("a", 5, priority=10)]
    best = failover_candidate(tied)
    assert best is not None and best.node_id == "a"


def test_a_priority_zero_replica_is_never_promoted() -> None:
    best = failover_candidate([replica("a", 99, priority=0), replica("b", 1)])
    assert best is not None and best.node_id == "b"
    assert failover_candidate([replica("a", 99, priority=0)]) is None


def test_an_unreachable_replica_is_never_promoted() -> None:
    assert failover_candidate([replica("a", 99, link_up=False)]) is None


def test_zero_loss_waits_while_acknowledging_replicas_are_out_of_reach() -> None:
    # One ack required: the unreachable replica may be the only one with the last write.
    assert failover_candidate([replica("a", 99, link_up=False), replica("b", 50)], 1) is None
    # Two acks required, one out of reach: the other one holds every acknowledged write.
    best = failover_candidate([replica("a", 99, link_up=False), replica("b", 50)], 2)
    assert best is not None and best.node_id == "b"


def test_zero_loss_never_passes_over_the_replica_with_the_most_data() -> None:
    # The highest offset cannot be promoted (priority 0): promoting b could lose writes.
    assert failover_candidate([replica("a", 99, priority=0), replica("b", 50)], 1) is None
    best = failover_candidate([replica("a", 99, priority=0), replica("b", 50)])
    assert best is not None and best.node_id == "b"



def test_a_replica_within_one_mebibyte_of_its_master_is_in_sync() -> None:
    assert in_sync(True, 5_000_000, 5_000_000 - 1024 * 1024)
    assert not in_sync(True, 5_000_000, 5_000_000 - 1024 * 1024 - 1)


def test_a_replica_whose_link_is_down_is_never_in_sync() -> None:
    assert not in_sync(False, 100, 100)

replica_states = st.lists(st.builds(
    ReplicaState, st.sampled_from("abcdef"), st.booleans(), st.integers(0, 5),
    st.integers(0, 3)), max_size=6)


@FAST
@given(replica_states, st.integers(0, 3), st.randoms(use_true_random=False))
def test_the_candidate_is_eligible_and_the_same_in_any_order(
        replicas: list[ReplicaState], acks: int, rng: random.Random) -> None:
    best = failover_candidate(replicas, acks)
    eligible = [r for r in replicas if r.link_up and r.priority]
    if best is None:
        return
    assert best in eligible
    assert best.offset == max(r.offset for r in eligible)
    if acks:
        # Zero-loss: fewer replicas out of reach than acks, and nobody reachable has more.
        assert sum(not r.link_up for r in replicas) < acks
        assert best.offset == max(r.offset for r in replicas if r.link_up)
    rng.shuffle(replicas)
    assert failover_candidate(replicas, acks) == best


@FAST
@given(replica_states)
def test_async_mode_always_finds_a_candidate_when_one_is_eligible(
        replicas: list[ReplicaState]) -> None:
    best = failover_candidate(replicas)
    assert (best is None) == (not [r for r in replicas if r.link_up and r.priority])


# --- topology table ---


A, B, C = "a" * 40, "b" * 40, "c" * 40


def test_the_table_is_written_in_cluster_nodes_format() -> None:
    table = render_topology([
        TopologyNode(A, "10.0.0.1", 6379, Role.MASTER, None, 3,
                     (SlotRange(0, 99), SlotRange(100, 200), SlotRange(500, 500)),
                     migrating=((500, B),)),
        TopologyNode(B, "10.0.0.2", 6380, Role.MASTER, None, 4, (SlotRange(201, 499),),
                     bus_port=7000, importing=((500, A),)),
        TopologyNode(C, "10.0.0.3", 6381, Role.REPLICA, A, 3),
    ])
    assert table == (
        f"{A} 10.0.0.1:6379@16379 master - 0 0 3 connected 0-200 500 [500->-{B}]\n"
        f"{B} 10.0.0.2:6380@7000 master - 0 0 4 connected 201-499 [500-<-{A}]\n"
        f"{C} 10.0.0.3:6381@16381 slave {A} 0 0 3 connected\n")


def test_a_port_too_high_for_a_bus_port_announces_itself_as_the_node_does() -> None:
    assert TopologyNode(A, "h", 7000, Role.MASTER).announced_bus_port == 17000
    assert TopologyNode(A, "h", 60000, Role.MASTER).announced_bus_port == 60000


def test_a_replica_of_a_node_missing_from_the_table_is_refused() -> None:
    with pytest.raises(ValueError, match="not a master here"):
        render_topology([TopologyNode(C, "10.0.0.3", 6381, Role.REPLICA, A)])


def test_a_slot_owned_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="owned by both"):
        render_topology([TopologyNode(A, "h", 1, Role.MASTER, slots=(SlotRange(0, 5),)),
                         TopologyNode(B, "h", 2, Role.MASTER, slots=(SlotRange(5, 6),))])


@pytest.mark.parametrize("node", [
    lambda: TopologyNode("not-an-id", "h", 1, Role.MASTER),
    lambda: TopologyNode(A, "h", 1, Role.REPLICA),
    lambda: TopologyNode(A, "h", 1, Role.MASTER, B),
    lambda: TopologyNode(A, "h", 1, Role.REPLICA, B, slots=(SlotRange(0, 1),)),
    lambda: TopologyNode(A, "h", 70000, Role.MASTER),
    lambda: TopologyNode(A, "h", 6379, Role.MASTER, bus_port=70000),
])
def test_an_inconsistent_node_is_refused(node) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        node()


def test_a_real_node_accepts_the_rendered_table() -> None:
    proc = start_node("--cluster-enabled", "yes", "--cluster-port", str(free_port()))
    try:
        with redis.Redis(port=proc.port) as client:
            me = client.execute_command("CLUSTER", "MYID").decode()
            ranges = initial_ranges(2)
            other, replica_port = free_port(), free_port()
            table = render_topology([
                TopologyNode(me, "127.0.0.1", proc.port, Role.MASTER, None, 1, (ranges[0],),
                             bus_port=free_port(), migrating=((100, B),)),
                TopologyNode(B, "127.0.0.1", other, Role.MASTER, None, 2, (ranges[1],),
                             bus_port=free_port()),
                TopologyNode(C, "127.0.0.1", replica_port, Role.REPLICA, me, 1,
                             bus_port=free_port()),
            ])
            assert client.execute_command("CLUSTER", "SETTOPOLOGY", 1, table) == b"OK"
            slots = sorted((start, end, master[1], [r[1] for r in replicas])
                           for start, end, master, *replicas in
                           client.execute_command("CLUSTER", "SLOTS"))
            assert slots == [(0, 8191, proc.port, [replica_port]), (8192, 16383, other, [])]
            info = client.execute_command("INFO", "cluster")
            assert info["cluster_topology_epoch"] == 1
            assert info["cluster_slots_migrating"] == 1
    finally:
        proc.stop()
