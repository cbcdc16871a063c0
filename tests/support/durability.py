"""Kill -9 a master under write load, promote its replica, count acknowledged writes lost.

Shared by tests/test_durability.py (zero-loss mode must lose none) and bench/durability.py
(which also reports the losses of Redis's default asynchronous mode).
"""

from __future__ import annotations

import random
import signal
import threading
import time

import redis
from nodes import start_node
from redis.backoff import NoBackoff
from redis.retry import Retry

BATCH = 50


class AckedWriter:
    """A thread pipelining SETs of unique keys at ``port`` until stopped or cut off; keeps
    the keys the server acknowledged (``acked``)."""

    def __init__(self, port: int, prefix: str) -> None:
        self.port = port
        self.prefix = prefix
        self.acked: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        # No retries: redis-py's default backoff would spend seconds reconnecting to the
        # killed master before the round can go on.
        client = redis.Redis(port=self.port, socket_timeout=5, retry=Retry(NoBackoff(), 0))
        n = 0
        while not self.stopping.is_set():
            pipe = client.pipeline(transaction=False)
            keys = [f"{self.prefix}:{n + i}" for i in range(BATCH)]
            for key in keys:
                pipe.set(key, "v")
            n += BATCH
            try:
                replies = pipe.execute(raise_on_error=False)
            except redis.RedisError:
                return
            self.acked.extend(k for k, ok in zip(keys, replies, strict=True) if ok is True)

    def stop(self) -> list[str]:
        self.stopping.set()
        self.thread.join(10)
        return self.acked


def missing(r: redis.Redis, keys: list[str]) -> int:
    """How many of ``keys`` ``r`` lacks."""
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.exists(key)
    return pipe.execute().count(0) if keys else 0


def _linked(replica: redis.Redis) -> bool:
    return replica.info("replication").get("master_link_status") == "up"


def kill_round(zero_loss: bool, seed: int, run_for: tuple[float, float] = (0.3, 0.8),
               lagging: float = 0.0) -> tuple[int, int]:
    """One round: (writes acknowledged, of which missing on the promoted replica).

    ``lagging``: seconds the replica is frozen (SIGSTOP) before the master dies, as a
    replica falling behind would be; it resumes once the master is gone."""
    rng = random.Random(seed)
    master, replica = start_node(), start_node()
    try:
        m = redis.Redis(port=master.port, socket_timeout=5)
        r = redis.Redis(port=replica.port, socket_timeout=5)
        r.replicaof("127.0.0.1", master.port)
        deadline = time.monotonic() + 15
        while not _linked(r):
            assert time.monotonic() < deadline, "replica never linked"
            time.sleep(0.05)
        if zero_loss:
            m.config_set("min-replicas-ack", 1)
        writer = AckedWriter(master.port, f"key:{seed}")
        time.sleep(rng.uniform(*run_for))
        if lagging:
            replica.proc.send_signal(signal.SIGSTOP)
            time.sleep(lagging)
        master.proc.send_signal(signal.SIGKILL)
        master.proc.wait(5)
        if lagging:
            replica.proc.send_signal(signal.SIGCONT)
        acked = writer.stop()
        r.replicaof("no", "one")
        return len(acked), missing(r, acked)
    finally:
        master.stop()
        replica.stop()
