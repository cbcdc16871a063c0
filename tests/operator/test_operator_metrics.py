"""The control plane's /metrics, scraped from a running `redslot up --metrics-port`:
names and types, and values that move with what the cluster does (passes, nodes by role
and health, a manual failover with its duration, a kill seen as a node down)."""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator

import pytest
from local_cluster import LocalCluster
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Scraper:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"

    def families(self) -> dict[str, object]:
        with urllib.request.urlopen(self.url, timeout=5) as response:
            text = response.read().decode()
        return {family.name: family for family in text_string_to_metric_families(text)}

    def value(self, name: str, **labels: str) -> float:
        total = 0.0
        found = False
        for family in self.families().values():
            for sample in family.samples:  # type: ignore[attr-defined]
                if sample.name == name and all(sample.labels.get(k) == v
                                               for k, v in labels.items()):
                    total += sample.value
                    found = True
        if not found:
            raise KeyError(f"{name}{labels} not scraped")
        return total

    def wait(self, name: str, predicate: object, timeout: float = 30, **labels: str) -> float:
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            try:
                value = self.value(name, **labels)
                if predicate(value):  # type: ignore[operator]
                    return value
            except (KeyError, OSError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"{name}{labels} stayed at {value}")


@pytest.fixture
def metered() -> Iterator[tuple[LocalCluster, Scraper]]:
    port = free_port()
    cluster = LocalCluster(3, 1, "--metrics-port", str(port))
    try:
        cluster.wait_ready()
        yield cluster, Scraper(port)
    finally:
        cluster.close()


def test_operator_metrics_have_their_names_and_types(
        metered: tuple[LocalCluster, Scraper]) -> None:
    cluster, scraper = metered
    scraper.wait("redslot_operator_nodes", lambda v: v == 3, role="master", health="up")
    families = scraper.families()
    expected = {
        "redslot_operator_reconcile": "counter",
        "redslot_operator_reconcile_errors": "counter",
        "redslot_operator_failovers": "counter",
        "redslot_operator_failover_duration_seconds": "histogram",
        "redslot_operator_reshard_slots_done": "gauge",
        "redslot_operator_reshard_slots_total": "gauge",
        "redslot_operator_slots_moved": "counter",
        "redslot_operator_keys_moved": "counter",
        "redslot_operator_nodes": "gauge",
        "redslot_operator_topology_epoch": "gauge",
        "redslot_operator_cluster_phase": "gauge",
    }
    for name, kind in expected.items():
        assert name in families, name
        assert families[name].type == kind, name  # type: ignore[attr-defined]
    passes = scraper.value("redslot_operator_reconcile_total")
    scraper.wait("redslot_operator_reconcile_total", lambda v: v > passes)
    assert scraper.value("redslot_operator_nodes", role="replica", health="up") == 3
    assert scraper.value("redslot_operator_cluster_phase", phase="Ready") == 1
    # Each node serves its own metrics on its port + 20000.
    node_port = cluster.status()["shards"][0]["master"]["port"]
    node = Scraper(node_port + 20000)
    assert node.value("redis_up") == 1 and node.value("redis_cluster_state") == 1


def test_failovers_and_dead_nodes_show_in_the_metrics(
        metered: tuple[LocalCluster, Scraper]) -> None:
    cluster, scraper = metered
    scraper.wait("redslot_operator_nodes", lambda v: v == 3, role="master", health="up")
    result = cluster.redslot("failover", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    scraper.wait("redslot_operator_failovers_total", lambda v: v == 1,
                 reason="manual failover")
    assert scraper.value("redslot_operator_failover_duration_seconds_count") == 1
    assert 0 < scraper.value("redslot_operator_failover_duration_seconds_sum") < 10
    cluster.wait_ready()
    replica = cluster.status()["shards"][0]["replicas"][0]["pid"]
    os.kill(replica, signal.SIGSTOP)
    try:
        scraper.wait("redslot_operator_nodes", lambda v: v >= 1, role="replica", health="down")
        assert scraper.value("redslot_operator_cluster_phase", phase="Degraded") == 1
    finally:
        os.kill(replica, signal.SIGCONT)
    scraper.wait("redslot_operator_nodes", lambda v: v == 3, role="replica", health="up")
