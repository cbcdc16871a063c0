"""Pub/Sub on a `redslot up` cluster (3 shards, 1 replica each): PUBLISH reaches every node,
sharded Pub/Sub is routed by slot like keys, a manual failover keeps sharded subscribers
receiving, and a reshard hands a shard channel over.

Classic channels: every node forwards a PUBLISH to every other node over its peer links, so
a subscriber anywhere (master or replica) gets every message once, in each publisher's
order. Shard channels: SSUBSCRIBE / SPUBLISH go to the channel's shard (MOVED elsewhere,
CROSSSLOT for several slots), whose replicas serve them without READONLY; when the slot
leaves the shard its subscribers get the ``sunsubscribe`` push and follow the slot.

The tests share one cluster; the reshard test moves a slot by Redis's own sequence
(SETSLOT IMPORTING / MIGRATING, then SETSLOT NODE on every master, target first) and runs
last. The refusals' exact bytes (CROSSSLOT, CLUSTERDOWN, in and out of subscribed mode)
are compared with redis-server's on a one-node cluster of each. Every wait is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from differential import assert_same
from local_cluster import LocalCluster, key_in_shard
from nodes import free_port, start_node, start_redis_server
from redis.client import PubSub
from redis.cluster import ClusterPubSub
from redis.crc import key_slot
from resp import RawClient

pytestmark = pytest.mark.timeout(120)

WAIT = 15.0  # seconds any expected message may take to arrive
PER_PUBLISHER = 60


class Shard:
    """One shard as CLUSTER SLOTS shows it now: its slot ranges, master and replica ports."""

    def __init__(self, ranges: list[tuple[int, int]], master: int, replicas: list[int],
                 master_id: str) -> None:
        self.ranges = ranges
        self.master = master
        self.replicas = replicas
        self.master_id = master_id

    def owns(self, slot: int) -> bool:
        return any(start <= slot <= end for start, end in self.ranges)

    def channel(self, prefix: str, skip: int = 0) -> str:
        """A channel name whose slot this shard serves (the ``skip``-th such name)."""
        found = (f"{prefix}:{i}" for i in range(100000) if self.owns(key_slot(f"{prefix}:{i}".encode())))
        for _ in range(skip):
            next(found)
        return next(found)


def shards(port: int) -> list[Shard]:
    """The shards in master-port order, from one node's CLUSTER SLOTS."""
    by_master: dict[int, Shard] = {}
    for start, end, master, *replicas in redis.Redis(port=port).execute_command("CLUSTER", "SLOTS"):
        shard = by_master.setdefault(master[1], Shard([], master[1], [r[1] for r in replicas],
                                                      master[2].decode()))
        shard.ranges.append((start, end))
    return [by_master[p] for p in sorted(by_master)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    made = LocalCluster(3, 1)
    try:
        made.wait_ready()
        made.check()
        yield made
    finally:
        made.close()


@pytest.fixture
def layout(cluster: LocalCluster) -> list[Shard]:
    found = shards(cluster.address()[1])
    assert len(found) == 3 and all(len(s.replicas) == 1 for s in found), found
    return found


def read_messages(subscriber: PubSub, want: int, kind: str = "message") -> list[dict[str, Any]]:
    """Messages of ``kind`` until ``want`` arrived or WAIT passed (what arrived is returned)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT
    while len(got) < want and time.monotonic() < deadline:
        message = subscriber.get_message(timeout=0.1)
        if message is not None and message["type"] == kind:
            got.append(message)
    return got


def confirmed(subscriber: PubSub, kind: str) -> None:
    message = None
    deadline = time.monotonic() + WAIT
    while message is None and time.monotonic() < deadline:
        message = subscriber.get_message(timeout=0.1)
    assert message is not None and message["type"] == kind, message


def in_publisher_order(messages: list[bytes], publishers: list[int], count: int) -> None:
    """Every publisher's ``count`` messages, each once and in the order they were sent."""
    for port in publishers:
        sent = [int(m.split(b":")[1]) for m in messages if m.startswith(b"%d:" % port)]
        assert sent == list(range(count)), (port, sent)


# --- PUBLISH across the cluster ---

def test_publish_on_any_node_reaches_subscribers_on_every_node_once_and_in_order(
        layout: list[Shard]) -> None:
    ports = [p for s in layout for p in (s.master, *s.replicas)]
    subscribers = {}
    for port in ports:
        subscriber = redis.Redis(port=port, socket_timeout=WAIT).pubsub()
        subscriber.subscribe("news")
        confirmed(subscriber, "subscribe")
        subscribers[port] = subscriber
    watcher = redis.Redis(port=layout[1].replicas[0], socket_timeout=WAIT).pubsub()
    watcher.psubscribe("ne*")
    confirmed(watcher, "psubscribe")
    publishers = [layout[0].master, layout[1].replicas[0], layout[2].master]
    clients = {port: redis.Redis(port=port) for port in publishers}
    for i in range(PER_PUBLISHER):
        for port, client in clients.items():
            local = 2 if port == layout[1].replicas[0] else 1
            assert client.publish("news", b"%d:%d" % (port, i)) == local  # this node's only
    total = PER_PUBLISHER * len(publishers)
    for port, subscriber in subscribers.items():
        got = read_messages(subscriber, total)
        assert len(got) == total, (port, len(got))
        assert all(m["channel"] == b"news" for m in got)
        in_publisher_order([m["data"] for m in got], publishers, PER_PUBLISHER)
        assert subscriber.get_message(timeout=0.3) is None  # nothing twice
        subscriber.close()
    matched = read_messages(watcher, total, "pmessage")
    assert len(matched) == total
    in_publisher_order([m["data"] for m in matched], publishers, PER_PUBLISHER)
    watcher.close()


# --- sharded Pub/Sub ---

def test_redis_cluster_sharded_pubsub_receives_every_spublish(
        cluster: LocalCluster, layout: list[Shard]) -> None:
    client = cluster.client()
    subscriber = client.pubsub()
    channels = [s.channel(f"orders{n}") for s in layout for n in range(2)]
    for channel in channels:
        subscriber.ssubscribe(channel)
    confirmations = read_sharded(subscriber, len(channels), "ssubscribe")
    assert sorted(m["channel"] for m in confirmations) == sorted(c.encode() for c in channels)
    for i in range(PER_PUBLISHER):
        for channel in channels:
            assert client.spublish(channel, b"%d" % i) == 1  # the owner's own subscriber
    got = read_sharded(subscriber, PER_PUBLISHER * len(channels), "smessage")
    for channel in channels:
        assert [int(m["data"]) for m in got if m["channel"] == channel.encode()] == list(
            range(PER_PUBLISHER)), channel
    for shard in layout:
        owned = [c for c in channels if shard.owns(key_slot(c.encode()))]
        assert redis.Redis(port=shard.master).execute_command(
            "PUBSUB", "SHARDNUMSUB", *owned) == [x for c in owned for x in (c.encode(), 1)]
    subscriber.close()
    client.close()


def read_sharded(subscriber: ClusterPubSub, want: int, kind: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT
    while len(got) < want and time.monotonic() < deadline:
        message = subscriber.get_sharded_message(timeout=0.1)
        if message is not None and message["type"] == kind:
            got.append(message)
    assert len(got) == want, (kind, len(got), want)
    return got


def test_ssubscribe_of_channels_in_two_slots_is_crossslot(layout: list[Shard]) -> None:
    first = layout[0].channel("two")
    second = next(c for c in (layout[0].channel("two", i) for i in range(1, 100))
                  if key_slot(c.encode()) != key_slot(first.encode()))
    with RawClient(layout[0].master) as c:
        for command in ("SSUBSCRIBE", "SUNSUBSCRIBE"):
            assert c.call(command, first, second) == (
                b"-CROSSSLOT Keys in request don't hash to the same slot\r\n")


def test_shard_channel_of_another_shard_is_moved(layout: list[Shard]) -> None:
    channel = layout[1].channel("elsewhere")
    moved = b"-MOVED %d 127.0.0.1:%d\r\n" % (key_slot(channel.encode()), layout[1].master)
    for port in (layout[0].master, layout[2].replicas[0]):
        with RawClient(port) as c:
            assert c.call("SSUBSCRIBE", channel) == moved
            assert c.call("SPUBLISH", channel, "x") == moved
            assert c.call("SUNSUBSCRIBE", channel) == moved


def test_replica_serves_ssubscribe_for_its_masters_slots_without_readonly(
        layout: list[Shard]) -> None:
    shard = layout[2]
    channel = shard.channel("replicated")
    with RawClient(shard.replicas[0], timeout=WAIT) as on_replica, \
            RawClient(shard.master, timeout=WAIT) as on_master:
        assert on_replica.call("SSUBSCRIBE", channel) == frame(b"ssubscribe", channel, b":1")
        assert on_master.call("SSUBSCRIBE", channel) == frame(b"ssubscribe", channel, b":1")
        with RawClient(shard.master) as publisher:
            assert publisher.call("SPUBLISH", channel, "from-master") == b":1\r\n"
        with RawClient(shard.replicas[0]) as publisher:  # the replica takes SPUBLISH too
            assert publisher.call("SPUBLISH", channel, "from-replica") == b":1\r\n"
        for conn in (on_replica, on_master):  # two publishers on two nodes: in either order
            assert sorted([conn.read_reply(), conn.read_reply()]) == [
                frame(b"smessage", channel, b"$11\r\nfrom-master"),
                frame(b"smessage", channel, b"$12\r\nfrom-replica")]
        other = layout[0].channel("replicated")
        assert on_replica.call("SSUBSCRIBE", other) == b"-MOVED %d 127.0.0.1:%d\r\n" % (
            key_slot(other.encode()), layout[0].master)


def frame(kind: bytes, channel: str, last: bytes, push: bool = False) -> bytes:
    """A RESP2 (or RESP3 push) three-element Pub/Sub frame; ``last`` is already encoded."""
    data = channel.encode()
    return b"%c3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n%s\r\n" % (
        ord(">") if push else ord("*"), len(kind), kind, len(data), data, last)



SERVED, UNSERVED = "b", "a"  # slots 3300 (of 0-8191, served) and 15495 (no owner)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_shard_channel_refusals_match_redis_on_a_half_covered_node(resp3: bool) -> None:
    """One node owning slots 0-8191, redslot and redis-server alike: CROSSSLOT and
    CLUSTERDOWN for shard channels, in and out of subscribed mode, byte for byte."""
    args = ("--cluster-enabled", "yes", "--cluster-require-full-coverage", "no")
    ours = start_node(*args)
    try:
        theirs = start_redis_server(*args, "--cluster-port", str(free_port()))
    except BaseException:
        ours.stop()
        raise
    try:
        for proc in (ours, theirs):
            client = redis.Redis(port=proc.port, socket_timeout=10)
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 8191)
            deadline = time.monotonic() + 10
            while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                assert time.monotonic() < deadline, "cluster did not come up"
                time.sleep(0.05)
            client.close()
        assert_same(ours, theirs, [
            ("SSUBSCRIBE", UNSERVED, SERVED),
            ("SPUBLISH", UNSERVED, "m"),
            ("SSUBSCRIBE", UNSERVED, "{a}x"),
            ("SUNSUBSCRIBE", SERVED, UNSERVED),
            ("PUBLISH", UNSERVED, "m"),
            ("SSUBSCRIBE", SERVED),
            ("SSUBSCRIBE", UNSERVED),
            ("SSUBSCRIBE", SERVED, UNSERVED),
            ("SPUBLISH", UNSERVED, "m"),
            ("SUNSUBSCRIBE", UNSERVED),
            ("SUNSUBSCRIBE",),
            ("SUNSUBSCRIBE", SERVED, "{b}2"),
        ], resp3=resp3)
    finally:
        ours.stop()
        theirs.stop()

# --- a reshard moves a subscribed shard channel ---

def test_sharded_subscriber_keeps_receiving_across_a_manual_failover(cluster: LocalCluster) -> None:
    """The shard's old master becomes its replica and still serves the channel; the new
    master's SPUBLISH reaches it over the shard's links, and the cluster client's publishes
    follow the MOVED to the new master by themselves."""
    before = cluster.status()["shards"][1]
    channel = key_in_shard(cluster.status(), 1, "handover")
    client = cluster.client()
    subscriber = client.pubsub()
    subscriber.ssubscribe(channel)
    read_sharded(subscriber, 1, "ssubscribe")
    client.spublish(channel, b"before")
    assert [m["data"] for m in read_sharded(subscriber, 1, "smessage")] == [b"before"]
    result = cluster.redslot("failover", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    after = cluster.wait_ready()["shards"][1]
    assert after["master"]["name"] == before["replicas"][0]["name"]
    for i in range(PER_PUBLISHER):
        client.spublish(channel, b"%d" % i)
    got = read_sharded(subscriber, PER_PUBLISHER, "smessage")
    assert [int(m["data"]) for m in got] == list(range(PER_PUBLISHER))
    subscriber.close()
    client.close()


def move_slot(layout: list[Shard], slot: int, source: Shard, target: Shard,
              while_migrating: Callable[[], None]) -> None:
    """redis-cli's reshard of one empty slot; ``while_migrating`` runs while it is open."""
    nodes = {s.master: redis.Redis(port=s.master) for s in layout}
    nodes[target.master].execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.master_id)
    nodes[source.master].execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target.master_id)
    assert nodes[source.master].execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0
    while_migrating()
    order = [target.master, source.master] + [p for p in nodes if p not in (target.master, source.master)]
    for port in order:
        nodes[port].execute_command("CLUSTER", "SETSLOT", slot, "NODE", target.master_id)


def wait_moved(port: int, slot: int, target: Shard) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if any(s.master == target.master and s.owns(slot) for s in shards(port)):
            return
        time.sleep(0.05)
    raise AssertionError(f"node {port} never learned that slot {slot} moved")


def test_reshard_sends_sunsubscribe_and_the_subscriber_follows_the_slot(
        cluster: LocalCluster, layout: list[Shard]) -> None:
    source, target = layout[0], layout[1]
    channel = source.channel("moving")
    slot = key_slot(channel.encode())
    publisher = cluster.client()
    subscriber_client = cluster.client()
    subscriber = subscriber_client.pubsub()
    subscriber.ssubscribe(channel)
    read_sharded(subscriber, 1, "ssubscribe")
    raw = {"master": RawClient(source.master, timeout=WAIT),
           "replica": RawClient(source.replicas[0], timeout=WAIT),
           "master resp3": RawClient(source.master, timeout=WAIT)}
    raw["master resp3"].call("HELLO", "3")
    importer = RawClient(target.master, timeout=WAIT)
    try:
        for name, conn in raw.items():
            assert conn.call("SSUBSCRIBE", channel) == frame(
                b"ssubscribe", channel, b":1", push="resp3" in name), name
        for i in range(10):
            publisher.spublish(channel, b"before:%d" % i)
        assert [m["data"] for m in read_sharded(subscriber, 10, "smessage")] == [
            b"before:%d" % i for i in range(10)]
        for name, conn in raw.items():
            for i in range(10):
                assert conn.read_reply() == frame(b"smessage", channel,
                                                  b"$8\r\nbefore:%d" % i, push="resp3" in name)

        def while_migrating() -> None:
            """The source serves the channel until the slot is handed over (no ASK, as keys
            would get); the importing side sends a client without ASKING back to it, and
            keeps one with ASKING through a change of its table (BUMPEPOCH)."""
            assert importer.call("ASKING") == b"+OK\r\n"
            assert importer.call("SSUBSCRIBE", channel) == frame(b"ssubscribe", channel, b":1")
            assert redis.Redis(port=target.master).execute_command("CLUSTER", "BUMPEPOCH")
            time.sleep(0.3)  # a few cron ticks: the shard-channel guard has looked
            assert redis.Redis(port=target.master).execute_command(
                "PUBSUB", "SHARDNUMSUB", channel) == [channel.encode(), 1]
            with RawClient(source.master) as c:
                assert c.call("SPUBLISH", channel, "during") == b":3\r\n"  # on the source master
            with RawClient(target.master) as c:
                assert c.call("SSUBSCRIBE", channel) == b"-MOVED %d 127.0.0.1:%d\r\n" % (
                    slot, source.master)
            assert [m["data"] for m in read_sharded(subscriber, 1, "smessage")] == [b"during"]
            for name, conn in raw.items():
                assert conn.read_reply() == frame(b"smessage", channel, b"$6\r\nduring",
                                                  push="resp3" in name), name

        move_slot(layout, slot, source, target, while_migrating)

        # Every subscriber of the source shard is told, in its protocol, with its count.
        gone = read_sharded(subscriber, 1, "sunsubscribe")
        assert gone[0]["channel"] == channel.encode()
        for name, conn in raw.items():
            assert conn.read_reply() == frame(b"sunsubscribe", channel, b":0",
                                              push="resp3" in name), name
        for port in (source.master, source.replicas[0]):
            assert redis.Redis(port=port).execute_command("PUBSUB", "SHARDNUMSUB", channel) == [
                channel.encode(), 0]
        for port in (*source.replicas, *target.replicas):  # replicas learn it from the masters
            wait_moved(port, slot, target)

        # Subscribing again where it was is redirected to the new owner, whose master and
        # replica both serve it; redis-py's pubsub follows the MOVED by itself.
        assert raw["master"].call("SSUBSCRIBE", channel) == b"-MOVED %d 127.0.0.1:%d\r\n" % (
            slot, target.master)
        followers = {"master": RawClient(target.master, timeout=WAIT),
                     "replica": RawClient(target.replicas[0], timeout=WAIT)}
        for conn in followers.values():
            assert conn.call("SSUBSCRIBE", channel) == frame(b"ssubscribe", channel, b":1")
        followers["importer"] = importer  # subscribed with ASKING: no sunsubscribe, kept
        subscriber.ssubscribe(channel)
        deadline = time.monotonic() + WAIT
        first = None
        after: list[bytes] = []
        sent = 0
        while time.monotonic() < deadline and len(after) < 20:
            publisher.spublish(channel, b"after:%d" % sent)
            sent += 1
            message = subscriber.get_sharded_message(timeout=0.05)
            while message is not None:
                if message["type"] == "smessage":
                    if first is None:
                        first = int(message["data"].split(b":")[1])
                    after.append(message["data"])
                message = subscriber.get_sharded_message(timeout=0.01)
        assert first is not None, "the redis-py subscriber never received on the new owner"
        # Once it receives there, it misses nothing.
        tail = read_sharded(subscriber, sent - first - len(after), "smessage")
        assert after + [m["data"] for m in tail] == [b"after:%d" % i for i in range(first, sent)]
        for conn in followers.values():
            for i in range(sent):
                assert conn.read_reply() == frame(b"smessage", channel,
                                                  b"$%d\r\nafter:%d" % (len(b"after:%d" % i), i))
        assert redis.Redis(port=target.master).execute_command(
            "PUBSUB", "SHARDNUMSUB", channel) == [channel.encode(), 3]
        assert redis.Redis(port=target.replicas[0]).execute_command(
            "PUBSUB", "SHARDNUMSUB", channel) == [channel.encode(), 1]
        for conn in followers.values():
            conn.close()
    finally:
        for conn in [*raw.values(), importer]:
            conn.close()
        subscriber.close()
        subscriber_client.close()
        publisher.close()
