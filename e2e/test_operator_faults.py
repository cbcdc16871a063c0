"""Faults of the operator's side, each while a client reads and writes: the API server
gone for a minute, the active operator losing its peering entry (a second operator takes
over), and the RedisCluster edited while a failover runs.

The data plane needs the operator only for lease renewals, which go to the nodes directly:
the API server going away must not fence a single master. Each test reports what its client
saw (operations that succeeded, the longest stretch without a success) and how long the
cluster took to converge once the fault ended; the figures are printed (pytest -s).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis
from kubernetes_asyncio import client as kube_client
from redis.cluster import ClusterNode, RedisCluster
from redslot.operator.control.reconciler import RecordSuperseded
from redslot.operator.k8s.api import KubeApi
from redslot.operator.k8s.objects import Cluster
from redslot.operator.k8s.settings import parse_spec
from redslot.operator.k8s.store import KubeStore
from redslot.operator.model.record import Record

from e2e.controlplane import eventually
from e2e.kubelet import FakeKubelet
from e2e.test_operator import (
    READY_TIMEOUT,
    Operator,
    cluster_manifest,
    create_ready,
    get_cluster,
    install_chart,
    node_port,
    password,
    wait_phase,
)

if TYPE_CHECKING:
    from e2e.conftest import Kube

pytestmark = pytest.mark.timeout(900)

API_AWAY = 60.0  # seconds the API server is gone
KEYS = 300  # the client cycles over this many keys
SETTLE = 3.0  # seconds of traffic before a fault and after it ends
# redis-py's "no node reachable" is a RedisClusterException, not a RedisError.
CLIENT_ERRORS = (redis.RedisError, redis.exceptions.RedisClusterException)


class Traffic(threading.Thread):
    """One client: SET of a fresh value then GET of it, over KEYS keys, until stopped. The
    clusters it runs against are zero-loss: in async mode a master killed before its
    replica had a write loses it (as Redis does), which these scenarios are not about.

    A SET that failed has an unknown outcome (it may have been applied), so a key may hold
    its last acknowledged value or one of the failed values written after it; any other
    value, or a read that does not return what was just acknowledged, is a lost write."""

    def __init__(self, seeds: list[ClusterNode], secret: str) -> None:
        super().__init__(daemon=True)
        self.seeds = seeds
        self.secret = secret
        self.ok = 0
        self.failed = 0
        self.acked: dict[str, int] = {}
        self.unknown: dict[str, set[int]] = {}
        self.lost: list[str] = []
        self.errors: dict[str, int] = {}
        self.started = self.last_ok = time.monotonic()
        self.longest_gap = 0.0
        self.stopping = threading.Event()

    def connect(self) -> RedisCluster:
        return RedisCluster(startup_nodes=self.seeds, password=self.secret, socket_timeout=2,
                            socket_connect_timeout=2, decode_responses=True)

    def succeeded(self) -> None:
        now = time.monotonic()
        self.longest_gap = max(self.longest_gap, now - self.last_ok)
        self.last_ok = now
        self.ok += 1

    def fail(self, error: Exception) -> None:
        self.failed += 1
        kind = type(error).__name__
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def run(self) -> None:
        rc = self.connect()
        i = 0
        while not self.stopping.is_set():
            key = f"t:{i % KEYS}"
            try:
                rc.set(key, i)
            except CLIENT_ERRORS as error:
                self.unknown.setdefault(key, set()).add(i)
                self.fail(error)
                time.sleep(0.05)
                i += 1
                continue
            self.acked[key] = i
            self.unknown.pop(key, None)
            self.succeeded()
            try:
                value = rc.get(key)
            except CLIENT_ERRORS as error:
                self.fail(error)
            else:
                self.succeeded()
                if value != str(i):
                    self.lost.append(f"{key}: read {value} right after SET {i} was acknowledged")
            i += 1
            time.sleep(0.005)
        rc.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)
        self.longest_gap = max(self.longest_gap, time.monotonic() - self.last_ok)

    def check(self, rc: RedisCluster) -> list[str]:
        """Every key at its last acknowledged value (or a later one of unknown outcome)."""
        lost = list(self.lost)
        for key, value in self.acked.items():
            found = rc.get(key)
            allowed = {str(value)} | {str(v) for v in self.unknown.get(key, ())}
            if found not in allowed:
                lost.append(f"{key}: {found}, acknowledged {value}")
        return lost

    def summary(self, name: str) -> str:
        total = self.ok + self.failed
        return (f"[{name}] client: {self.ok}/{total} operations succeeded "
                f"({100 * self.ok / max(total, 1):.2f}%), longest unavailability "
                f"{self.longest_gap:.2f} s, errors {self.errors}")


def seeds_of(obj: dict[str, Any]) -> list[ClusterNode]:
    port = obj["spec"]["port"]
    return [ClusterNode(node["address"].rsplit(":", 1)[0], port)
            for shard in obj["status"]["shards"] for node in shard["nodes"]]


def start_traffic(kube: Kube, namespace: str, name: str, obj: dict[str, Any]) -> Traffic:
    traffic = Traffic(seeds_of(obj), password(kube, namespace, name))
    traffic.start()
    eventually(lambda: traffic.ok > 20, 30, "the client's first operations", interval=0.1)
    return traffic


def verify(traffic: Traffic, obj: dict[str, Any]) -> None:
    rc = RedisCluster(startup_nodes=seeds_of(obj), password=traffic.secret, socket_timeout=5,
                      decode_responses=True)
    try:
        lost = traffic.check(rc)
    finally:
        rc.close()
    assert lost == [], lost[:10]


def failovers_logged(*operators: Operator) -> list[str]:
    """The failover decisions in the operators' logs: each is logged when decided, before
    it is stored (a decision whose store was refused is logged too)."""
    return [line for op in operators for line in op.log(100_000).splitlines()
            if ": failover from " in line]


def failover_events(kube: Kube, namespace: str, name: str) -> int:
    """Failovers told as Events: one per failover stored in the record."""
    events = json.loads(kube.kubectl("get", "events", "-n", namespace, "--field-selector",
                                     f"involvedObject.name={name}", "-o", "json").stdout)
    return sum(1 for e in events["items"] if ": failover from " in e.get("message", ""))


def converged(kube: Kube, namespace: str, name: str, shards: int,
              replicas: int) -> dict[str, Any] | None:
    """Ready, every shard with its master and ``replicas`` linked replicas, and the status
    written for the current generation."""
    obj = get_cluster(kube, namespace, name)
    status = obj.get("status") or {}
    if (status.get("phase") != "Ready" or status.get("ready") != f"{shards}/{shards}"
            or status.get("observedGeneration") != obj["metadata"]["generation"]):
        return None
    if any(len(s.get("replicas") or []) != replicas for s in status["shards"]):
        return None
    return obj



def await_converged(kube: Kube, namespace: str, name: str, shape: tuple[int, int],
                    operator: Operator, timeout: float, what: str) -> dict[str, Any]:
    """The RedisCluster once converged to ``shape`` (shards, replicas per shard); on a
    timeout the test fails with the operator's last log lines."""
    try:
        obj: dict[str, Any] = eventually(lambda: converged(kube, namespace, name, *shape),
                                         timeout, what, interval=0.5)
    except TimeoutError:
        raise AssertionError(operator.log(200)) from None
    return obj

@pytest.fixture
def deployed(kube: Kube, namespace: str, kubelet: FakeKubelet,
             tmp_path: Path) -> Iterator[tuple[Kube, str, Operator]]:
    install_chart(kube, namespace)
    operator = Operator(kube, namespace, tmp_path)
    try:
        yield kube, namespace, operator
    finally:
        operator.stop()


def test_two_stores_of_one_resource_store_one_record_at_a_time(kube: Kube,
                                                                namespace: str) -> None:
    """What keeps two operators from both acting: a record write based on a version that
    another writer's record replaced is refused and hands over the stored record; writes
    by others that leave the record alone (a spec edit) are not in the way."""
    install_chart(kube, namespace)
    port = node_port()
    kube.kubectl("apply", "-n", namespace, "-f", "-",
                 input=json.dumps(cluster_manifest("cas", 1, port, port + 1)))
    obj = get_cluster(kube, namespace, "cas")

    async def scenario() -> None:
        configuration = kube_client.Configuration(host=kube.plane.server)
        configuration.ssl_ca_cert = str(kube.plane.ca_file)
        configuration.cert_file = str(kube.plane.client_cert)
        configuration.key_file = str(kube.plane.client_key)
        api = KubeApi(configuration)
        try:
            cluster = Cluster("cas", namespace, obj["metadata"]["uid"], parse_spec(
                obj["spec"], "redslot:e2e"))
            first = KubeStore(api, cluster, obj, "redslot:e2e")
            second = KubeStore(api, cluster, obj, "redslot:e2e")
            assert first.load_record() is None and second.load_record() is None
            first.save_record(Record(epoch=1, formed=True))
            await first.flush()
            second.save_record(Record(epoch=2, formed=True))
            with pytest.raises(RecordSuperseded) as taken:
                await second.flush()
            assert taken.value.record.epoch == 1
            # Based on the stored record now, the second writes; the first is refused.
            second.save_record(Record(epoch=3, formed=True))
            await second.flush()
            first.save_record(Record(epoch=4, formed=True))
            with pytest.raises(RecordSuperseded):
                await first.flush()
            # A spec edit changes the version, not the record: written again on the new one.
            kube.kubectl("patch", "rediscluster", "cas", "-n", namespace, "--type=merge",
                         "-p", json.dumps({"spec": {"downAfterMilliseconds": 2500}}))
            second.save_record(Record(epoch=5, formed=True))
            await second.flush()
        finally:
            await api.close()

    asyncio.run(scenario())
    stored = get_cluster(kube, namespace, "cas")
    assert json.loads(stored["status"]["record"])["epoch"] == 5


def test_the_api_server_gone_for_a_minute_leaves_the_cluster_serving(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet) -> None:
    kube, namespace, operator = deployed
    obj, _port = create_ready(kube, namespace, operator, "away", 2, durability="zero-loss")
    traffic = start_traffic(kube, namespace, "away", obj)
    before = traffic.ok
    kube.plane.stop_apiserver()
    try:
        time.sleep(API_AWAY)
    finally:
        kube.plane.start_apiserver()
    back = time.monotonic()
    during = traffic.ok - before
    # The operator acts on the resource again: a spec edit is seen and reported.
    kube.kubectl("patch", "rediscluster", "away", "-n", namespace, "--type=merge",
                 "-p", json.dumps({"spec": {"auth": {"rotationGraceSeconds": 61}}}))
    obj = await_converged(kube, namespace, "away", (2, 1), operator, READY_TIMEOUT,
                          "status for the new generation")
    took = time.monotonic() - back
    time.sleep(SETTLE)
    traffic.stop()
    print(traffic.summary("api server away 60 s"), f"converged {took:.1f} s after it came back")
    assert traffic.failed == 0, traffic.errors
    assert during > 100, "the client kept going while the API server was gone"
    assert traffic.longest_gap < 5.0
    assert failovers_logged(operator) == []
    verify(traffic, obj)


def peering_status(kube: Kube, namespace: str) -> dict[str, Any]:
    out = kube.kubectl("get", "kopfpeering", "redslot", "-n", namespace, "-o", "json").stdout
    status: dict[str, Any] = json.loads(out).get("status") or {}
    return status


def test_an_operator_that_loses_its_peering_entry_never_acts_beside_its_successor(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet, tmp_path: Path) -> None:
    """The active operator's peering entry disappears (its keep-alives failed, or an
    administrator cleaned it) while it runs: the standby resumes at once, and for as long
    as both run, one record write at a time wins; a master killed then is failed over once."""
    kube, namespace, standby = deployed
    eventually(lambda: bool(peering_status(kube, namespace)), 60,
               "the first operator in the peering", interval=0.5)
    active = Operator(kube, namespace, tmp_path, priority=100)
    try:
        eventually(lambda: "Pausing operations in favour of" in standby.log(400), 60,
                   "the standby pausing", interval=0.5)
        obj, _port = create_ready(kube, namespace, active, "peer", 2, durability="zero-loss")
        traffic = start_traffic(kube, namespace, "peer", obj)
        identity = next(peer for peer, entry in peering_status(kube, namespace).items()
                        if entry.get("priority") == 100)
        kube.kubectl("patch", "kopfpeering", "redslot", "-n", namespace, "--type=merge",
                     "-p", json.dumps({"status": {identity: None}}))
        try:
            eventually(lambda: "control loop for" in standby.log(400), 60,
                       "the standby taking over", interval=0.2)
        except TimeoutError:
            raise AssertionError(standby.log(100)) from None
        # Both operators run now. A master dies: one failover, whoever decides it.
        victim = obj["status"]["shards"][0]["master"]
        kube.kubectl("delete", "pod", victim, "-n", namespace, "--wait=false")
        faulted = time.monotonic()

        def failed_over() -> dict[str, Any] | None:
            current = converged(kube, namespace, "peer", 2, 1)
            if current and current["status"]["shards"][0]["master"] != victim:
                return current
            return None

        try:
            obj = eventually(failed_over, READY_TIMEOUT, "the failover", interval=0.5)
        except TimeoutError:
            raise AssertionError(f"{active.log(100)}\n--- standby\n{standby.log(100)}") from None
        took = time.monotonic() - faulted
        time.sleep(SETTLE)
        traffic.stop()
        print(traffic.summary("peering entry lost, master killed"),
              f"failed over and converged in {took:.1f} s")
        adopted = sum(op.log(100_000).count("taking it over") for op in (active, standby))
        print(f"   failover decisions logged: {failovers_logged(active, standby)}; "
              f"records taken over after a refused write: {adopted}")
        assert obj["status"]["failovers"] == 1, obj["status"]
        assert obj["status"]["lastFailover"]["from"] == victim
        assert failover_events(kube, namespace, "peer") == 1
        assert traffic.longest_gap < 30.0
        verify(traffic, obj)
    finally:
        active.stop()


def test_a_cluster_edited_while_a_failover_runs_ends_as_the_new_spec_says(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet) -> None:
    kube, namespace, operator = deployed
    obj, _port = create_ready(kube, namespace, operator, "edit", 2, durability="zero-loss")
    traffic = start_traffic(kube, namespace, "edit", obj)
    victim = obj["status"]["shards"][0]["master"]
    kube.kubectl("delete", "pod", victim, "-n", namespace, "--wait=false")
    faulted = time.monotonic()
    time.sleep(1.0)  # down, not yet failed over (downAfterMilliseconds is 2000)
    kube.kubectl("patch", "rediscluster", "edit", "-n", namespace, "--type=merge",
                 "-p", json.dumps({"spec": {"replicasPerShard": 2}}))
    obj = await_converged(kube, namespace, "edit", (2, 2), operator, 300,
                          "three nodes per shard, Ready")
    took = time.monotonic() - faulted
    time.sleep(SETTLE)
    traffic.stop()
    print(traffic.summary("edited during a failover"), f"converged in {took:.1f} s")
    status = obj["status"]
    assert status["shards"][0]["master"] != victim
    assert status["lastFailover"]["from"] == victim
    assert status["failovers"] == 1 and len(failovers_logged(operator)) == 1, \
        failovers_logged(operator)
    assert failover_events(kube, namespace, "edit") == 1
    assert all(len(s["nodes"]) == 3 for s in status["shards"])
    assert len(kubelet.pods()) == 6
    # Every replica follows its master, link up.
    secret = password(kube, namespace, "edit")
    for shard in status["shards"]:
        for node in shard["nodes"]:
            if node["pod"] == shard["master"]:
                continue
            host, port = node["address"].rsplit(":", 1)
            info = redis.Redis(host=host, port=int(port), password=secret,
                               socket_timeout=5).info("replication")
            assert info["master_link_status"] == "up", (node["pod"], info)
    assert traffic.longest_gap < 30.0
    verify(traffic, obj)
    wait_phase(kube, namespace, "edit", "Ready", operator, shards=2)
