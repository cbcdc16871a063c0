"""A client streaming a long pipeline does not hold the others: after a full read the
node serves every other ready client before reading more from it (Redis reads at most
16 KB per client per event loop turn)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from nodes import ServerProcess, start_node

KEYS = 200_000


@pytest.fixture
def node() -> Iterator[ServerProcess]:
    proc = start_node()
    try:
        yield proc
    finally:
        proc.stop()


def test_other_clients_are_served_while_a_bulk_load_streams_in(node: ServerProcess) -> None:
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n" % (len(k), k)
                       for k in (b"bulk:%d" % i for i in range(KEYS)))
    client = redis.Redis(port=node.port, socket_timeout=120)
    client.ping()
    latencies: list[float] = []
    loading = threading.Event()
    loading.set()

    def ping() -> None:
        while loading.is_set():
            started = time.monotonic()
            client.ping()
            latencies.append(time.monotonic() - started)
            time.sleep(0.005)  # the load takes 0.25 s here since requests are parsed in C

    pinger = threading.Thread(target=ping)
    pinger.start()
    started = time.monotonic()
    try:
        load = subprocess.run(["redis-cli", "-p", str(node.port), "--pipe"], input=payload,
                              capture_output=True, timeout=300, check=False)
    finally:
        loading.clear()
        pinger.join(120)
    took = time.monotonic() - started
    assert b"errors: 0," in load.stdout, load.stdout
    assert client.dbsize() == KEYS
    # Held for the whole load, the pinger would have had one PING answered, after it.
    assert len(latencies) >= 5, (latencies, took)
    assert max(latencies) < took / 2, (latencies, took)
