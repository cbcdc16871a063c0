"""The control plane's batched slot moves (redslot.operator.actions.reshard) on real nodes.

A batch marks, migrates and hands over many slots at once, each step one pipelined round
trip per node. These tests drive ``move_slots`` directly against three redslot nodes
formed with standard commands, while a cluster client keeps writing, and check what a
reshard must keep: every key exactly once, every write kept, ASK while a slot is in
flight, MOVED after, and a batch cut short finished by running it again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from nodes import ServerProcess, start_node
from redis.cluster import RedisCluster
from redslot.node.keyspace.slots import key_slot
from redslot.operator.actions import reshard
from redslot.operator.actions.connection import Connections
from redslot.operator.actions.reshard import (
    Endpoint,
    Lookahead,
    mark,
    migrate_keys,
    move_slots,
)
from resp import RawClient

pytestmark = pytest.mark.timeout(300)

KEYS_PER_SLOT = 30


class Trio:
    """Three masters: node 0 owns slots 0-5460, node 1 5461-10922, node 2 the rest."""

    def __init__(self, nodes: list[ServerProcess]) -> None:
        self.nodes = nodes
        self.clients = [redis.Redis(port=n.port, socket_timeout=30) for n in nodes]
        self.ids = [c.execute_command("CLUSTER", "MYID").decode() for c in self.clients]
        self.endpoints = [Endpoint(i, f"127.0.0.1:{n.port}")
                          for i, n in zip(self.ids, nodes, strict=True)]

    def owner_seen_by(self, viewer: int, slot: int) -> int:
        for start, end, *rest in self.clients[viewer].execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return [n.port for n in self.nodes].index(rest[0][1])
        raise AssertionError(f"slot {slot} unassigned")

    def move(self, slots: list[int], source: int, target: int,
             prepared: Lookahead | None = None, ahead: Lookahead | None = None) -> int:
        others = [e for i, e in enumerate(self.endpoints) if i not in (source, target)]
        return asyncio.run(with_connections(lambda conns: move_slots(
            conns, conns, slots, self.endpoints[source], self.endpoints[target], others,
            prepared=prepared, ahead=ahead)))

    def marks(self, viewer: int) -> str:
        """The MIGRATING/IMPORTING marks in a node's CLUSTER NODES line for itself."""
        nodes = self.clients[viewer].execute_command("CLUSTER", "NODES").decode()
        mine = next(line for line in nodes.splitlines() if "myself" in line)
        return " ".join(part for part in mine.split() if part.startswith("["))


async def with_connections(action):  # type: ignore[no-untyped-def]
    conns = Connections(timeout=30)
    try:
        return await action(conns)
    finally:
        await conns.close()


def wait_until(condition, timeout: float = 30.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def trio() -> Iterator[Trio]:
    nodes: list[ServerProcess] = []
    try:
        for _ in range(3):
            nodes.append(start_node("--cluster-enabled", "yes"))
        for proc, (start, end) in zip(nodes, [(0, 5460), (5461, 10922), (10923, 16383)],
                                      strict=True):
            with RawClient(proc.port) as c:
                assert c.call("CLUSTER", "ADDSLOTSRANGE", start, end) == b"+OK\r\n"
        with RawClient(nodes[0].port) as c:
            for proc in nodes[1:]:
                assert c.call("CLUSTER", "MEET", "127.0.0.1", proc.port) == b"+OK\r\n"
        made = Trio(nodes)
        wait_until(lambda: all(b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO")
                               for c in made.clients), what="the cluster to form")
        yield made
        for c in made.clients:
            c.close()
    finally:
        for proc in nodes:
            proc.stop()


def keys_for(slots: list[int], per_slot: int, prefix: str) -> dict[int, list[str]]:
    """``per_slot`` distinct key names in each of ``slots`` (hash tags pick the slot)."""
    tags: dict[int, str] = {}
    i = 0
    while len(tags) < len(slots):
        tag = f"t{i}"
        slot = key_slot(tag.encode())
        if slot in slots and slot not in tags:
            tags[slot] = tag
        i += 1
    return {slot: [f"{prefix}{{{tags[slot]}}}:{n}" for n in range(per_slot)] for slot in slots}


def preload(trio: Trio, source: int, names: dict[int, list[str]]) -> None:
    pipe = trio.clients[source].pipeline(transaction=False)
    for keys in names.values():
        for key in keys:
            pipe.set(key, key)
    pipe.execute()


def test_a_batch_of_slots_moves_every_key_once_while_a_client_writes(trio: Trio) -> None:
    slots = list(range(100, 228))
    names = keys_for(slots, KEYS_PER_SLOT, "pre")
    preload(trio, 0, names)
    counters = [k for keys in keys_for(slots, 2, "count").values() for k in keys]
    counts = dict.fromkeys(counters, 0)
    written: dict[str, str] = {}
    failures: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        rc = RedisCluster(host="127.0.0.1", port=trio.nodes[2].port, socket_timeout=30)
        try:
            i = 0
            while not stop.is_set() or i < 2000:
                counter = counters[i % len(counters)]
                key = f"w{{{counter.split('{')[1].split('}')[0]}}}:{i}"
                try:
                    rc.incr(counter)
                    counts[counter] += 1
                    rc.set(key, i)
                    written[key] = str(i)
                except redis.exceptions.RedisError as exc:
                    failures.append(exc)
                i += 1
        finally:
            rc.close()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(written) > 200, what="the writer to start")
        moved = trio.move(slots, 0, 1)
    finally:
        stop.set()
        thread.join(120)
    assert not thread.is_alive()
    assert failures == []
    assert moved >= len(slots) * KEYS_PER_SLOT
    for slot in slots:
        assert trio.clients[0].execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        assert [trio.owner_seen_by(v, slot) for v in range(3)] == [1, 1, 1]
    target = trio.clients[1]
    preloaded = [k for keys in names.values() for k in keys]
    assert target.mget(preloaded[:1]) == [preloaded[0].encode()]
    assert trio.clients[0].dbsize() == 0
    rc = RedisCluster(host="127.0.0.1", port=trio.nodes[0].port, socket_timeout=30)
    try:
        pipe = rc.pipeline(transaction=False)
        for key in preloaded:
            pipe.get(key)
        for key in written:
            pipe.get(key)
        for key in counters:
            pipe.get(key)
        values = pipe.execute()
    finally:
        rc.close()
    expected = ([k.encode() for k in preloaded] + [v.encode() for v in written.values()]
                + [str(counts[k]).encode() for k in counters])
    assert values == expected
    assert target.dbsize() == len(preloaded) + len(written) + len(counters)
    for c in trio.clients:
        assert c.execute_command("CLUSTER", "NODES").count(b"[") == 0  # no marks left


def test_slots_in_flight_answer_ask_for_keys_gone_and_moved_once_handed_over(
        trio: Trio) -> None:
    slots = [300, 301, 302]
    names = keys_for(slots, 2, "ask")
    preload(trio, 0, names)
    source, target = trio.endpoints[0], trio.endpoints[1]

    async def mark_both(conns: Connections) -> None:
        assert await mark(conns, target, slots, "IMPORTING", source, "already the owner") == slots
        assert await mark(conns, source, slots, "MIGRATING", target, "not the owner") == slots

    asyncio.run(with_connections(mark_both))
    with RawClient(trio.nodes[0].port) as c:
        for slot in slots:
            here, missing = names[slot][0], names[slot][0] + "x"
            assert c.call("GET", here) == b"$%d\r\n%s\r\n" % (len(here), here.encode())
            assert c.call("GET", missing) == (
                f"-ASK {slot} 127.0.0.1:{trio.nodes[1].port}\r\n".encode())
    trio.move(slots, 0, 1)
    with RawClient(trio.nodes[0].port) as c:
        for slot in slots:
            assert c.call("GET", names[slot][0]) == (
                f"-MOVED {slot} 127.0.0.1:{trio.nodes[1].port}\r\n".encode())


def test_a_batch_cut_short_halfway_is_finished_by_running_it_again(trio: Trio) -> None:
    slots = list(range(400, 440))
    names = keys_for(slots, KEYS_PER_SLOT, "cut")
    preload(trio, 0, names)
    source, target = trio.endpoints[0], trio.endpoints[1]

    async def half_done(conns: Connections) -> None:
        # Marked, the keys of the first half migrated, the first quarter handed over on
        # the target only: where a control plane killed mid-batch leaves it.
        await mark(conns, target, slots, "IMPORTING", source, "already the owner")
        await mark(conns, source, slots, "MIGRATING", target, "not the owner")
        await migrate_keys(conns, slots[:20], source, target, lambda n: None)
        for slot in slots[:10]:
            await conns.call(target.address, "CLUSTER", "SETSLOT", slot, "NODE", target.id)

    asyncio.run(with_connections(half_done))
    trio.move(slots, 0, 1)
    everything = [k for keys in names.values() for k in keys]
    assert trio.clients[1].dbsize() == len(everything)
    assert trio.clients[0].dbsize() == 0
    assert trio.clients[1].mget(everything[:1]) == [everything[0].encode()]
    for slot in slots:
        assert [trio.owner_seen_by(v, slot) for v in range(3)] == [1, 1, 1]
    for c in trio.clients:
        assert c.execute_command("CLUSTER", "NODES").count(b"[") == 0


def test_a_pipeline_of_setslots_is_on_disk_before_its_replies(trio: Trio) -> None:
    slots = list(range(500, 564))
    asyncio.run(with_connections(lambda conns: mark(
        conns, trio.endpoints[1], slots, "IMPORTING", trio.endpoints[0], "already the owner")))
    conf = Path(trio.nodes[1].workdir) / "nodes.conf"
    saved = conf.read_text()
    assert f"[{slots[-1]}-<-{trio.ids[0]}]" in saved and f"[{slots[0]}-<-{trio.ids[0]}]" in saved


def test_slots_with_more_keys_than_a_listing_are_emptied_over_several_rounds(
        trio: Trio, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reshard, "BATCH_KEYS", 7)  # GETKEYSINSLOT lists 7 keys a slot
    monkeypatch.setattr(reshard, "PIPELINE_KEYS", 20)  # and MIGRATEs go 20 keys a pipeline
    slots = list(range(600, 610))
    names = keys_for(slots, KEYS_PER_SLOT, "deep")
    preload(trio, 0, names)
    assert trio.move(slots, 0, 2) == len(slots) * KEYS_PER_SLOT
    assert trio.clients[0].dbsize() == 0
    for keys in names.values():
        assert trio.clients[2].mget(keys) == [k.encode() for k in keys]
    for slot in slots:
        assert [trio.owner_seen_by(v, slot) for v in range(3)] == [2, 2, 2]


def test_a_batch_marks_the_next_ahead_and_the_next_moves_on_those_marks(trio: Trio) -> None:
    first, second = list(range(700, 732)), list(range(732, 764))
    names = keys_for(first + second, KEYS_PER_SLOT, "ahead")
    preload(trio, 0, names)
    ahead = Lookahead(second)
    assert trio.move(first, 0, 1, ahead=ahead) == len(first) * KEYS_PER_SLOT
    assert ahead.marked == second and ahead.listed is not None
    assert sorted(ahead.listed[second[0]]) == sorted(k.encode() for k in names[second[0]])
    assert trio.marks(0) == " ".join(f"[{slot}->-{trio.ids[1]}]" for slot in second)
    assert trio.marks(1) == " ".join(f"[{slot}-<-{trio.ids[0]}]" for slot in second)
    assert trio.move(second, 0, 1, prepared=ahead) == len(second) * KEYS_PER_SLOT
    everything = [k for keys in names.values() for k in keys]
    assert trio.clients[1].dbsize() == len(everything)
    assert trio.clients[0].dbsize() == 0
    for slot in first + second:
        assert [trio.owner_seen_by(v, slot) for v in range(3)] == [1, 1, 1]
    assert [trio.marks(v) for v in range(3)] == ["", "", ""]


def test_a_batch_marked_ahead_that_runs_later_on_its_own_marks_again_and_moves(
        trio: Trio) -> None:
    """A control plane stopped after a batch that marked the next: the next, run afresh
    by the one started again, sets its marks again and moves every key."""
    first, second = list(range(800, 816)), list(range(816, 832))
    names = keys_for(first + second, KEYS_PER_SLOT, "again")
    preload(trio, 0, names)
    trio.move(first, 0, 2, ahead=Lookahead(second))
    assert trio.marks(2) != ""
    assert trio.move(second, 0, 2) == len(second) * KEYS_PER_SLOT
    assert trio.clients[0].dbsize() == 0
    assert trio.clients[2].dbsize() == len(first + second) * KEYS_PER_SLOT
    assert [trio.marks(v) for v in range(3)] == ["", "", ""]
