"""The Streams work-queue pattern end to end on `redslot up`, through redis-py's RedisCluster.

A producer adds 10,000 jobs to one stream; three consumers of one group read them with
XREADGROUP and acknowledge them with XACK; one consumer dies mid-batch, leaving entries
pending, which the others take with XAUTOCLAIM once they have been idle long enough.
Meanwhile the master of the stream's shard is killed (SIGKILL) and its replica takes over,
in zero-loss mode. Afterwards every acknowledged XADD is in the stream, and every entry of
the stream was acknowledged exactly once by the server: XACK answered 1 for it at most
once over all consumers, and the others answered 0 (a reply lost with the dying master, or
an entry taken over with XAUTOCLAIM while its first holder waited out the failover: the
pattern processes at least once, as in Redis).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from local_cluster import LocalCluster
from redis.cluster import RedisCluster
from redis.crc import key_slot

pytestmark = pytest.mark.timeout(300)

JOBS = 10_000
STREAM = "{queue}jobs"
GROUP = "workers"
CLAIM_IDLE_MS = 1500
LOST_REPLY = 1000  # an XACK answering 0: acknowledged by an attempt whose reply was lost


@pytest.fixture
def zero_loss() -> Iterator[LocalCluster]:
    made = LocalCluster(3, 1, "--durability", "zero-loss")
    try:
        made.wait_ready()
        yield made
    finally:
        made.close()


def shard_of(status: dict[str, Any], key: str) -> int:
    slot = key_slot(key.encode())
    for i, shard in enumerate(status["shards"]):
        for piece in shard["slots"].split():
            start, _, end = piece.partition("-")
            if int(start) <= slot <= int(end or start):
                return i
    raise AssertionError(f"no shard owns slot {slot}")


def call(action: Any, deadline: float = 60) -> Any:
    """Retry ``action`` through the failover (connection errors, MOVED, CLUSTERDOWN)."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            return action()
        except Exception:  # noqa: BLE001 - redis-py raises several kinds while topology moves
            if time.monotonic() > give_up:
                raise
            time.sleep(0.05)


class Consumer:
    """A worker thread: reads new jobs, else claims idle ones, and acknowledges each."""

    def __init__(self, cluster: LocalCluster, name: str, acks: Counter[bytes],
                 lock: threading.Lock, dies_after: int | None = None) -> None:
        self.client: RedisCluster = cluster.client()
        self.name = name
        self.acks = acks
        self.lock = lock
        self.dies_after = dies_after  # batches read before it dies holding one unacked
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def batch(self) -> list[tuple[bytes, Any]]:
        reply = self.client.xreadgroup(GROUP, self.name, {STREAM: ">"}, count=20, block=100)
        if reply:
            return list(reply[0][1])
        claimed = self.client.xautoclaim(STREAM, GROUP, self.name, CLAIM_IDLE_MS, "0-0", count=50)
        return list(claimed[1])

    def run(self) -> None:
        batches = 0
        while not self.stop.is_set():
            try:
                entries = self.batch()
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
                continue
            batches += 1
            if self.dies_after is not None and batches > self.dies_after and entries:
                return  # dies mid-job: this batch stays pending under its name
            for entry_id, _fields in entries:
                answered = self.ack(entry_id)
                with self.lock:
                    self.acks[entry_id] += answered

    def ack(self, entry_id: bytes) -> int:
        """XACK, retried through the failover. An answer of 0 means an earlier attempt
        acknowledged the entry and its reply was lost with the dying master (redis-py's
        cluster client also retries by itself, so the loss may not surface here): such an
        entry is counted apart (``LOST_REPLY``), never as a second acknowledgement."""
        answered = int(call(lambda: self.client.xack(STREAM, GROUP, entry_id)))
        return answered if answered else LOST_REPLY


def test_work_queue_survives_a_dead_consumer_and_a_master_failover(zero_loss: LocalCluster):
    client = zero_loss.client()
    call(lambda: client.xgroup_create(STREAM, GROUP, "$", mkstream=True))
    acks: Counter[bytes] = Counter()
    lock = threading.Lock()
    consumers = [Consumer(zero_loss, "c0", acks, lock), Consumer(zero_loss, "c1", acks, lock),
                 Consumer(zero_loss, "dying", acks, lock, dies_after=5)]
    shard = shard_of(zero_loss.status(), STREAM)
    before = zero_loss.status()["shards"][shard]
    added: list[bytes] = []
    for n in range(JOBS):
        if n == JOBS // 3:
            os.kill(zero_loss.master_pid(shard), signal.SIGKILL)
        added.append(call(lambda n=n: client.xadd(STREAM, {"job": n})))
    after = zero_loss.wait_ready()["shards"][shard]
    assert after["master"]["name"] == before["replicas"][0]["name"]
    assert not consumers[2].thread.is_alive()

    def entries() -> list[bytes]:
        ids: list[bytes] = []
        start = "-"
        while True:
            chunk = call(lambda start=start: client.xrange(STREAM, start, "+", count=5000))
            ids += [entry_id for entry_id, _ in chunk]
            if len(chunk) < 5000:
                return ids
            start = "(" + chunk[-1][0].decode()

    deadline = time.monotonic() + 120
    while True:
        stored = entries()
        with lock:
            done = all(acks[entry_id] for entry_id in stored)  # 1, or lost replies only
        if done:
            break
        if time.monotonic() >= deadline:
            unacked = [i for i in stored if not acks[i]]
            detail = [call(lambda i=i: client.xpending_range(STREAM, GROUP, i, i, 1))
                      for i in unacked[:5]]
            groups = call(lambda: client.xinfo_groups(STREAM))
            alive = [c.name for c in consumers if c.thread.is_alive()]
            raise AssertionError(f"{len(unacked)} unacked: {unacked[:5]} pending {detail} "
                                 f"groups {groups} consumers alive {alive}")
        time.sleep(0.5)
    for consumer in consumers:
        consumer.stop.set()
    for consumer in consumers:
        consumer.thread.join(10)
    assert set(added) <= set(stored), "an acknowledged XADD was lost"
    with lock:
        # acknowledged, and by the server once: never two XACKs answering 1 (answers of 0
        # are lost replies, or a consumer that took an entry over after the failover kept
        # its first holder from acknowledging in time: at-least-once processing)
        assert [e for e in stored if acks[e] == 0 or acks[e] % LOST_REPLY > 1] == []
        assert set(acks) <= set(stored)
    pending = call(lambda: client.xpending(STREAM, GROUP))
    assert pending["pending"] == 0
