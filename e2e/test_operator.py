"""The operator against a real kube-apiserver: the chart installed with helm + kubectl, the
operator running under the chart's ServiceAccount and RBAC, a RedisCluster applied, its
pods run by the fake kubelet as real node processes, and a cluster-aware client outside.

What is real here and what is not: see README "What the e2e tests simulate".
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis
import yaml
from certs import make_certs, sign
from redis.cluster import ClusterNode, RedisCluster

from e2e.controlplane import eventually, free_port, log_tail
from e2e.kubelet import FakeKubelet

if TYPE_CHECKING:
    from e2e.conftest import Kube

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parent.parent
RELEASE = "redslot"
READY_TIMEOUT = 120.0


def node_port() -> int:
    """A free port a RedisCluster accepts (its bus port, +10000, must fit too)."""
    for _ in range(100):
        port = free_port()
        if port <= 55535:
            return port
    raise RuntimeError("no free port below 55536")


def render_chart(kube: Kube, namespace: str, *values: str) -> str:
    result = kube.helm("template", RELEASE, str(REPO / "charts" / "redslot"), "--namespace",
                       namespace, "--include-crds", "--set", "operator.replicas=0",
                       *[arg for value in values for arg in ("--set", value)])
    return result.stdout


def install_chart(kube: Kube, namespace: str) -> None:
    """CRDs first (established before anything names them), then the rest."""
    docs = [d for d in yaml.safe_load_all(render_chart(kube, namespace)) if d]
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    rest = [d for d in docs if d["kind"] != "CustomResourceDefinition"]
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                 input=yaml.safe_dump_all(crds))
    for crd in crds:
        kube.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                     f"crd/{crd['metadata']['name']}")
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(rest))


def service_account_kubeconfig(kube: Kube, namespace: str, path: Path) -> Path:
    """A kubeconfig with the operator ServiceAccount's token: the operator gets exactly
    the chart's RBAC, as in a pod."""
    token = kube.kubectl("create", "token", "redslot-operator", "-n", namespace,
                         "--duration=2h").stdout.strip()
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {
            "server": kube.plane.server,
            "certificate-authority": str(kube.plane.ca_file)}}],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "e2e", "user": "operator",
                                                     "namespace": namespace}}],
        "current-context": "operator",
    }
    path.write_text(yaml.safe_dump(config))
    return path


class Operator:
    """`redslot operator` as a subprocess, logged to a file."""

    def __init__(self, kube: Kube, namespace: str, workdir: Path, priority: int = 0,
                 extra: tuple[str, ...] = ()) -> None:
        self.log_path = workdir / f"operator-{priority}.log"
        self.metrics_port = free_port()
        kubeconfig = service_account_kubeconfig(kube, namespace,
                                                workdir / f"operator-{priority}.kubeconfig")
        env = dict(os.environ, KUBECONFIG=str(kubeconfig))
        env.pop("KUBERNETES_SERVICE_HOST", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "redslot.cli", "operator", "--namespace", namespace,
                 "--liveness-port", "0", "--metrics-port", str(self.metrics_port),
                 "--priority", str(priority), "--image", "redslot:e2e", *extra],
                stdout=log, stderr=log, env=env)

    def log(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def cluster_manifest(name: str, shards: int, port: int, metrics_port: int,
                     **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"shards": shards, "replicasPerShard": 1, "port": port,
                            "metrics": {"port": metrics_port},
                            "persistence": {"appendonly": True, "appendfsync": "everysec"},
                            "downAfterMilliseconds": 2000}
    spec.update(extra)
    return {"apiVersion": "redslot.dev/v1alpha1", "kind": "RedisCluster",
            "metadata": {"name": name}, "spec": spec}


def get_cluster(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    out = kube.kubectl("get", "rediscluster", name, "-n", namespace, "-o", "json").stdout
    data: dict[str, Any] = json.loads(out)
    return data


def password(kube: Kube, namespace: str, name: str) -> str:
    out = kube.kubectl("get", "secret", f"{name}-auth", "-n", namespace, "-o",
                       "jsonpath={.data.password}").stdout
    return base64.b64decode(out).decode()


def wait_phase(kube: Kube, namespace: str, name: str, phase: str, operator: Operator,
               timeout: float = READY_TIMEOUT, shards: int | None = None) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        obj = get_cluster(kube, namespace, name)
        status = obj.get("status") or {}
        if status.get("phase") != phase:
            return None
        if shards is not None and status.get("ready") != f"{shards}/{shards}":
            return None
        return obj
    try:
        return eventually(probe, timeout, f"{name} phase {phase}", interval=0.5)
    except TimeoutError:
        status = (get_cluster(kube, namespace, name).get("status") or {})
        status.pop("record", None)
        raise AssertionError(f"status: {json.dumps(status, indent=1)[:3000]}\n"
                             f"operator log:\n{operator.log()}") from None


def create_ready(kube: Kube, namespace: str, operator: Operator, name: str, shards: int,
                 **extra: Any) -> tuple[dict[str, Any], int]:
    """Apply a RedisCluster on free ports and wait for it to be Ready: (object, port)."""
    port, metrics_port = node_port(), free_port()
    kube.kubectl("apply", "-n", namespace, "-f", "-",
                 input=json.dumps(cluster_manifest(name, shards, port, metrics_port, **extra)))
    return wait_phase(kube, namespace, name, "Ready", operator, shards=shards), port


def client(kube: Kube, namespace: str, name: str, obj: dict[str, Any]) -> RedisCluster:
    port = obj["spec"]["port"]
    seeds = [ClusterNode(node["address"].rsplit(":", 1)[0], port)
             for shard in obj["status"]["shards"] for node in shard["nodes"]]
    return RedisCluster(startup_nodes=seeds, password=password(kube, namespace, name),
                        socket_timeout=5, decode_responses=True)


@pytest.fixture
def deployed(kube: Kube, namespace: str, kubelet: FakeKubelet,
             tmp_path: Path) -> Iterator[tuple[Kube, str, Operator]]:
    install_chart(kube, namespace)
    operator = Operator(kube, namespace, tmp_path)
    try:
        yield kube, namespace, operator
    finally:
        operator.stop()


def test_chart_crd_refuses_unsafe_specs(kube: Kube, namespace: str) -> None:
    install_chart(kube, namespace)
    port = node_port()

    def apply(manifest: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return kube.kubectl("apply", "-n", namespace, "-f", "-", check=False,
                            input=json.dumps(manifest))

    refused = apply(cluster_manifest("zero", 0, port, port + 1))
    assert refused.returncode != 0 and "spec.shards" in refused.stderr
    refused = apply(cluster_manifest("unsafe", 3, port, port + 1, replicasPerShard=0,
                                     durability="zero-loss"))
    assert refused.returncode != 0 and "zero-loss needs replicasPerShard >= 1" in refused.stderr
    refused = apply(cluster_manifest("clash", 3, port, port))
    assert refused.returncode != 0 and "metrics.port clashes" in refused.stderr
    refused = apply(cluster_manifest("reserved", 3, port, port + 1,
                                     config={"requirepass": "x"}))
    assert refused.returncode != 0 and "spec.config" in refused.stderr
    def user(name: str, *rules: str) -> dict[str, Any]:
        return {"name": name, "rules": list(rules), "passwordSecret": {"name": "s"}}

    for users, message in (([user("default")], "the default user belongs to the operator"),
                           ([user("app", "NoPass")], "belong to the operator"),
                           ([user("app", ">pw")], "should match"),
                           ([user("app"), user("app")], "Duplicate value")):
        refused = apply(cluster_manifest("users", 1, port, port + 1, users=users))
        assert refused.returncode != 0 and message in refused.stderr, refused.stderr
    refused = apply(cluster_manifest("tls", 1, port, port + 1, tls={"enabled": True}))
    assert refused.returncode != 0 and "needs secretName or certManager" in refused.stderr
    # Defaults come from the schema.
    assert apply(cluster_manifest("fine", 3, port, port + 1)).returncode == 0
    spec = get_cluster(kube, namespace, "fine")["spec"]
    assert spec["durability"] == "async" and spec["storage"]["size"] == "1Gi"
    # Immutable port.
    refused = apply(cluster_manifest("fine", 3, port + 7, port + 1))
    assert refused.returncode != 0 and "port is immutable" in refused.stderr
    refused = apply(cluster_manifest("fine", 3, port, port + 1, storage={"size": "2Gi"}))
    assert refused.returncode != 0 and "storage.size is immutable" in refused.stderr
    refused = apply(cluster_manifest("fine", 3, port, port + 1,
                                     tls={"enabled": True, "secretName": "certs"}))
    assert refused.returncode != 0 and "tls.enabled is immutable" in refused.stderr
    # No scale-in while a reshard runs (the status says so; nobody runs an operator here).
    kube.kubectl("patch", "rediscluster", "fine", "-n", namespace, "--subresource=status",
                 "--type=merge", "-p", json.dumps({"status": {"phase": "Resharding"}}))
    refused = apply(cluster_manifest("fine", 2, port, port + 1))
    assert refused.returncode != 0 and "cannot be lowered while the cluster is resharding" \
        in refused.stderr
    assert apply(cluster_manifest("fine", 4, port, port + 1)).returncode == 0
    # The short name and the printer columns.
    table = kube.kubectl("get", "rdc", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "SHARDS", "REPLICAS", "READY", "PHASE", "AGE"]
    assert table[1].split()[:2] == ["fine", "4"]


def test_chart_network_policy_passes_the_api_servers_validation(kube: Kube,
                                                              namespace: str) -> None:
    docs = yaml.safe_load_all(render_chart(
        kube, namespace, "networkPolicy.clients.from[0].namespaceSelector.matchLabels.team=a",
        "networkPolicy.clients.from[1].ipBlock.cidr=10.0.0.0/8",
        "networkPolicy.metrics.from[0].podSelector.matchLabels.app=prometheus"))
    policies = [d for d in docs if d and d["kind"] == "NetworkPolicy"]
    assert len(policies) == 1
    out = kube.kubectl("create", "--dry-run=server", "-n", namespace, "-o", "json", "-f", "-",
                       input=yaml.safe_dump_all(policies))
    assert json.loads(out.stdout)["spec"]["ingress"][0]["from"][1] == {
        "ipBlock": {"cidr": "10.0.0.0/8"}}
    broken = json.loads(json.dumps(policies[0]))
    broken["spec"]["ingress"][0]["ports"][0]["port"] = "not a port name!"
    refused = kube.kubectl("create", "--dry-run=server", "-n", namespace, "-f", "-",
                           check=False, input=json.dumps(broken))
    assert refused.returncode != 0 and "port" in refused.stderr


def test_operator_forms_serves_and_reshards_a_cluster(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet) -> None:
    kube, namespace, operator = deployed
    obj, _port = create_ready(kube, namespace, operator, "cache", 3)

    # The objects, all owned by the RedisCluster.
    uid = obj["metadata"]["uid"]
    for kind, names in [("statefulset", ["cache-shard-0", "cache-shard-1", "cache-shard-2"]),
                        ("poddisruptionbudget", ["cache-shard-0", "cache-shard-1",
                                                 "cache-shard-2"]),
                        ("service", ["cache", "cache-nodes"]),
                        ("configmap", ["cache-config"]),
                        ("secret", ["cache-auth", "cache-credentials"])]:
        items = json.loads(kube.kubectl("get", kind, "-n", namespace, "-l",
                                        "redslot.dev/cluster=cache", "-o", "json").stdout)
        found = sorted(i["metadata"]["name"] for i in items["items"])
        assert found == names, kind
        assert all(i["metadata"]["ownerReferences"][0]["uid"] == uid for i in items["items"])
    assert len(kubelet.pods()) == 6

    status = obj["status"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Ready": "True", "SlotsCovered": "True", "Resharding": "False",
                          "Degraded": "False"}
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert sum(s["slotCount"] for s in status["shards"]) == 16384
    row = kube.kubectl("get", "rdc", "cache", "-n", namespace).stdout.splitlines()[1].split()
    assert row[:5] == ["cache", "3", "1", "3/3", "Ready"]

    # A cluster-aware client outside writes and reads through redirects.
    rc = client(kube, namespace, "cache", obj)
    for i in range(2000):
        rc.set(f"key:{i}", i)
    assert all(rc.get(f"key:{i}") == str(i) for i in range(0, 2000, 37))

    # Scale out: 3 -> 4 shards. The plan appears in status, then the reshard finishes.
    kube.kubectl("patch", "rediscluster", "cache", "-n", namespace, "--type=merge",
                 "-p", json.dumps({"spec": {"shards": 4}}))
    seen_plan = eventually(
        lambda: (get_cluster(kube, namespace, "cache").get("status") or {}).get("reshard"),
        READY_TIMEOUT, "the reshard plan in status", interval=0.2)
    assert seen_plan["total"] == 4096
    obj = wait_phase(kube, namespace, "cache", "Ready", operator, timeout=300, shards=4)
    counts = sorted(s["slotCount"] for s in obj["status"]["shards"])
    assert counts == [4096, 4096, 4096, 4096]
    rc = client(kube, namespace, "cache", obj)
    assert all(rc.get(f"key:{i}") == str(i) for i in range(2000))
    events = json.loads(kube.kubectl("get", "events", "-n", namespace, "--field-selector",
                                     "involvedObject.name=cache", "-o", "json").stdout)
    reasons = {e["reason"] for e in events["items"]}
    assert {"Forming", "Reshard"} <= reasons, reasons


def test_a_deleted_master_pod_fails_over_and_rejoins_with_a_new_ip(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet) -> None:
    kube, namespace, operator = deployed
    obj, port = create_ready(kube, namespace, operator, "kv", 2)
    rc = client(kube, namespace, "kv", obj)
    for i in range(500):
        rc.set(f"k{i}", i)
    shard = obj["status"]["shards"][0]
    old_master = shard["master"]
    old_ip = kubelet.pods()[old_master][0]
    kube.kubectl("delete", "pod", old_master, "-n", namespace, "--wait=false")

    def failed_over() -> dict[str, Any] | None:
        current = get_cluster(kube, namespace, "kv")
        status = current.get("status") or {}
        shards = status.get("shards") or []
        if shards and shards[0]["master"] != old_master and status.get("phase") == "Ready":
            return current
        return None

    try:
        obj = eventually(failed_over, READY_TIMEOUT, "a failover and Ready", interval=0.5)
    except TimeoutError:
        raise AssertionError(operator.log()) from None
    assert obj["status"]["lastFailover"]["from"] == old_master
    # The recreated pod has a new IP; the node found again by its id is a replica now.
    new_ip = kubelet.pods()[old_master][0]
    assert new_ip != old_ip
    members = {n["pod"]: n for n in obj["status"]["shards"][0]["nodes"]}
    assert members[old_master]["address"] == f"{new_ip}:{port}"
    assert old_master in obj["status"]["shards"][0]["replicas"]
    rc = client(kube, namespace, "kv", obj)
    assert all(rc.get(f"k{i}") == str(i) for i in range(500))


def test_an_image_change_rolls_every_pod_replicas_first(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet) -> None:
    kube, namespace, operator = deployed
    obj, _port = create_ready(kube, namespace, operator, "roll", 2)
    before = kubelet.pods()
    masters = {s["master"] for s in obj["status"]["shards"]}
    kube.kubectl("patch", "rediscluster", "roll", "-n", namespace, "--type=merge",
                 "-p", json.dumps({"spec": {"image": "redslot:e2e-2"}}))

    def rolled() -> bool:
        now = kubelet.pods()
        return len(now) == 4 and all(now[p][1] != before[p][1] for p in before)

    try:
        eventually(rolled, 300, "every pod restarted", interval=1.0)
    except TimeoutError:
        raise AssertionError(operator.log()) from None
    obj = wait_phase(kube, namespace, "roll", "Ready", operator, shards=2)
    # Every old master handed its slots over before it restarted.
    assert not masters & {s["master"] for s in obj["status"]["shards"]}
    events = json.loads(kube.kubectl("get", "events", "-n", namespace, "--field-selector",
                                     "involvedObject.name=roll", "-o", "json").stdout)
    texts = [e["message"] for e in sorted(events["items"],
                                          key=lambda e: e.get("lastTimestamp") or "")]
    restarts = [t for t in texts if t.startswith("rolling restart: restarting")]
    assert len(restarts) == 4 and "replica" in restarts[0]


def test_one_operator_acts_and_deleting_the_cluster_deletes_what_it_owns(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet, tmp_path: Path) -> None:
    kube, namespace, standby = deployed

    def standby_in_peering() -> bool:
        # kopf lists live peers in the peering object's status. Started before the first
        # operator is there, the second would find it paused from the start, and the
        # "Pausing" line below would never come.
        found = kube.kubectl("get", "kopfpeering", "redslot", "-n", namespace, "-o", "json",
                             check=False)
        return found.returncode == 0 and bool(json.loads(found.stdout).get("status"))

    eventually(standby_in_peering, 60, "the first operator in the peering", interval=0.5)
    # A second operator with a higher peering priority: the first one pauses for it.
    active = Operator(kube, namespace, tmp_path, priority=100)
    try:
        eventually(lambda: "Pausing operations in favour of" in standby.log(400), 60,
                   "the first operator pausing", interval=0.5)
        # The chart's namespaced Role is all it needs: nothing it asks for is refused.
        assert "Forbidden" not in standby.log(400) + active.log(400)
        create_ready(kube, namespace, active, "gone", 1, replicasPerShard=0)
        assert f"control loop for {namespace}/gone started" in active.log(400)
        assert f"control loop for {namespace}/gone started" not in standby.log(400)
        kube.kubectl("delete", "rediscluster", "gone", "-n", namespace, "--timeout=60s")

        def cleaned() -> bool:
            left = kube.kubectl("get", "statefulsets,services,configmaps,secrets,pods", "-n",
                                namespace, "-l", "redslot.dev/cluster=gone", "-o",
                                "name").stdout
            return not left.strip()

        eventually(cleaned, 60, "owned objects garbage-collected", interval=1.0)
        time.sleep(0.5)
        assert "gone" not in json.dumps(kubelet.pods())
    finally:
        active.stop()


def test_a_standalone_operator_acts_without_peering(
        kube: Kube, namespace: str, kubelet: FakeKubelet, tmp_path: Path) -> None:
    """--standalone: no peering object is needed and the watches are not paused for one."""
    install_chart(kube, namespace)
    kube.kubectl("delete", "kopfpeering", "--all", "-n", namespace)
    operator = Operator(kube, namespace, tmp_path, extra=("--standalone",))
    try:
        create_ready(kube, namespace, operator, "alone", 1, replicasPerShard=0)
        assert "peering CRD is missing" not in operator.log(400)
    finally:
        operator.stop()


IDLE_WINDOW = 30.0
IDLE_REQUESTS_MAX = 15  # in the window; listing pods at every idle pass made 30 lists alone


def test_an_idle_ready_cluster_costs_the_api_server_no_pod_list(
        deployed: tuple[Kube, str, Operator]) -> None:
    """The operator watches its pods: once Ready and idle it lists none, and its other
    requests (peering, the Secrets' resync) stay few. Counted from the API server's audit
    log of the operator's ServiceAccount."""
    kube, namespace, operator = deployed
    create_ready(kube, namespace, operator, "quiet", 1)
    time.sleep(5.0)
    start = time.time()
    time.sleep(IDLE_WINDOW)
    counts = kube.plane.requests_by(f"system:serviceaccount:{namespace}:redslot-operator",
                                    start, time.time())
    print(f"   [idle] operator requests in {IDLE_WINDOW:.0f} s: {counts}")
    assert counts.get("list pods", 0) == 0, counts
    assert sum(counts.values()) <= IDLE_REQUESTS_MAX, counts
    assert (get_cluster(kube, namespace, "quiet").get("status") or {})["phase"] == "Ready"


def credential_phases(kube: Kube, namespace: str, name: str) -> dict[str, str]:
    status = get_cluster(kube, namespace, name).get("status") or {}
    return {c["user"]: c["phase"] for c in status.get("credentials") or []}


class Writer(threading.Thread):
    """A client writing and reading back in a loop; ``switch`` gives it a new password,
    which it takes as an application reloading its Secret would (a new client)."""

    def __init__(self, seeds: list[ClusterNode], password: str, **options: Any) -> None:
        super().__init__(daemon=True)
        self.seeds = seeds
        self.options = options
        self.password = password
        self.wanted = password
        self.done = 0
        self.errors: list[str] = []
        self.stopping = threading.Event()

    def connect(self) -> RedisCluster:
        return RedisCluster(startup_nodes=self.seeds, password=self.password, socket_timeout=5,
                            decode_responses=True, **self.options)

    def run(self) -> None:
        rc = self.connect()
        i = 0
        while not self.stopping.is_set():
            if self.wanted != self.password:
                self.password = self.wanted
                rc.close()
                rc = self.connect()
            try:
                rc.set(f"w:{i}", i)
                if rc.get(f"w:{i}") != str(i):
                    self.errors.append(f"w:{i} read back wrong")
                self.done += 1
            except redis.RedisError as error:
                self.errors.append(f"{type(error).__name__}: {error}")
            i += 1
            time.sleep(0.01)
        rc.close()


def test_password_secrets_rotate_with_no_downtime_and_users_get_their_rules(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet) -> None:
    kube, namespace, operator = deployed
    kube.kubectl("create", "secret", "generic", "app-secret", "-n", namespace,
                 "--from-literal=password=app-one")
    users = [{"name": "app",
              "rules": ["~app:*", "+@read", "+@write", "+@connection", "-@dangerous"],
              "passwordSecret": {"name": "app-secret"}}]
    obj, port = create_ready(kube, namespace, operator, "sec", 1, users=users,
                             auth={"rotationGraceSeconds": 5})
    master_ip = kubelet.pods()[obj["status"]["shards"][0]["master"]][0]
    replica_ip = kubelet.pods()[obj["status"]["shards"][0]["replicas"][0]][0]

    def user_client(password: str, name: str = "app", ip: str = master_ip) -> redis.Redis:
        return redis.Redis(host=ip, port=port, username=name, password=password,
                           socket_timeout=5, decode_responses=True)

    def refused(password: str, name: str = "app") -> bool:
        try:
            user_client(password, name).ping()
        except redis.AuthenticationError:
            return True
        return False

    # The user from the Secret does what its rules allow, and nothing else.
    app = user_client("app-one")
    assert app.set("app:1", "x") and app.get("app:1") == "x"
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
        app.set("other:1", "x")
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
        app.config_get("maxmemory")
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
        app.flushall()
    assert refused("wrong")
    assert user_client("app-one", ip=replica_ip).ping()  # on every node

    # Rotate both Secrets while a client writes and reads with the default password.
    old = password(kube, namespace, "sec")
    seeds = [ClusterNode(master_ip, port), ClusterNode(replica_ip, port)]
    writer = Writer(seeds, old)
    writer.start()
    try:
        time.sleep(1)
        kube.kubectl("patch", "secret", "sec-auth", "-n", namespace, "--type=merge",
                     "-p", json.dumps({"stringData": {"password": "default-two"}}))
        kube.kubectl("patch", "secret", "app-secret", "-n", namespace, "--type=merge",
                     "-p", json.dumps({"stringData": {"password": "app-two"}}))
        try:
            eventually(lambda: credential_phases(kube, namespace, "sec") ==
                       {"default": "Overlap", "app": "Overlap"}, 60,
                       "both passwords in overlap", interval=0.2)
        except TimeoutError:
            raise AssertionError(f"{credential_phases(kube, namespace, 'sec')}\n"
                                 f"{operator.log()}") from None
        # Both passwords work on every node; the client switches.
        for ip in (master_ip, replica_ip):
            assert user_client(old, "default", ip).ping()
            assert user_client("default-two", "default", ip).ping()
            assert user_client("app-one", ip=ip).ping() and user_client("app-two", ip=ip).ping()
        writer.wanted = "default-two"
        eventually(lambda: credential_phases(kube, namespace, "sec") ==
                   {"default": "Current", "app": "Current"}, 60,
                   "the old passwords removed", interval=0.2)
        before = writer.done
        time.sleep(1)
        assert writer.done > before + 10, "the switched client keeps working"
    finally:
        writer.stopping.set()
        writer.join(10)
    assert writer.errors == [], writer.errors[:5]
    assert refused(old, "default") and refused("app-one")
    assert user_client("app-two").get("app:1") == "x"
    # Replication authenticates with the new masterauth: a broken link comes back.
    admin = user_client("default-two", "default", replica_ip)
    admin.execute_command("CLIENT", "KILL", "TYPE", "master")

    def link_up() -> bool:
        return admin.info("replication").get("master_link_status") == "up"

    eventually(link_up, 30, "the replica's link back with the new masterauth", interval=0.2)
    # A restarted pod starts from the operator's Secret: the new passwords only.
    replica = obj["status"]["shards"][0]["replicas"][0]
    kube.kubectl("delete", "pod", replica, "-n", namespace, "--wait=false")
    obj = wait_phase(kube, namespace, "sec", "Ready", operator, shards=1)
    eventually(lambda: replica in kubelet.pods() and kubelet.pods()[replica][0] != replica_ip,
               60, "the replica back", interval=0.5)
    new_ip = kubelet.pods()[replica][0]
    restarted = user_client("default-two", "default", new_ip)
    eventually(lambda: restarted.info("replication").get("master_link_status") == "up", 60,
               "the restarted replica synced", interval=0.5)
    assert user_client("app-two", ip=new_ip).ping()
    events = json.loads(kube.kubectl("get", "events", "-n", namespace, "--field-selector",
                                     "involvedObject.name=sec", "-o", "json").stdout)
    assert "PasswordRotation" in {e["reason"] for e in events["items"]}
    assert "credentials pass failed" not in operator.log(5000)


def served_certificate(ip: str, port: int, ca: Path) -> bytes:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    with socket.create_connection((ip, port), timeout=5) as raw, \
            context.wrap_socket(raw) as wrapped:
        der = wrapped.getpeercert(binary_form=True)
    assert der is not None
    return der


def test_tls_cluster_serves_tls_only_and_reloads_a_renewed_certificate(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet, tmp_path: Path) -> None:
    kube, namespace, operator = deployed
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certs(certs)

    def put_secret(name: str, verb: str) -> None:
        manifest = kube.kubectl("create", "secret", "generic", "certs", "-n", namespace,
                                f"--from-file=tls.crt={certs / name}.crt",
                                f"--from-file=tls.key={certs / name}.key",
                                f"--from-file=ca.crt={certs / 'ca.crt'}",
                                "--dry-run=client", "-o", "json").stdout
        kube.kubectl(verb, "-n", namespace, "-f", "-", input=manifest)

    put_secret("server", "create")
    obj, port = create_ready(kube, namespace, operator, "tls", 1,
                             tls={"enabled": True, "secretName": "certs"})
    shard = obj["status"]["shards"][0]
    master_ip = kubelet.pods()[shard["master"]][0]
    replica_ip = kubelet.pods()[shard["replicas"][0]][0]
    secret = password(kube, namespace, "tls")
    options = {"ssl": True, "ssl_ca_certs": str(certs / "ca.crt"), "ssl_check_hostname": False}
    rc = RedisCluster(startup_nodes=[ClusterNode(master_ip, port)], password=secret,
                      socket_timeout=5, decode_responses=True, **options)
    assert rc.set("k", "v") and rc.get("k") == "v"
    rc.close()
    # TLS only: a plaintext client gets nowhere; the replica's link is up (over TLS).
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host=master_ip, port=port, password=secret, socket_timeout=2).ping()
    replica = redis.Redis(host=replica_ip, port=port, password=secret, socket_timeout=5,
                          decode_responses=True, **options)
    assert replica.info("replication")["master_link_status"] == "up"
    first = served_certificate(master_ip, port, certs / "ca.crt")

    # Renewal: the Secret gets a new certificate; every node reloads it, clients keep going.
    renewed = ssl.PEM_cert_to_DER_cert(sign(certs, "renewed").read_text())
    assert renewed != first
    writer = Writer([ClusterNode(master_ip, port)], secret, **options)
    writer.start()
    try:
        time.sleep(1)
        put_secret("renewed", "replace")
        try:
            eventually(lambda: all(served_certificate(ip, port, certs / "ca.crt") == renewed
                                   for ip in (master_ip, replica_ip)), 60,
                       "every node serving the renewed certificate", interval=0.5)
        except TimeoutError:
            raise AssertionError(operator.log()) from None
        before = writer.done
        time.sleep(1)
        assert writer.done > before + 10
    finally:
        writer.stopping.set()
        writer.join(10)
    assert writer.errors == [], writer.errors[:5]
    assert "asked to reload its TLS certificate" in operator.log(5000)
    assert replica.info("replication")["master_link_status"] == "up"
    assert (get_cluster(kube, namespace, "tls").get("status") or {}).get("phase") == "Ready"


CERT_MANAGER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "certificates.cert-manager.io"},
    "spec": {"group": "cert-manager.io", "scope": "Namespaced",
             "names": {"kind": "Certificate", "plural": "certificates",
                       "singular": "certificate", "listKind": "CertificateList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                 "openAPIV3Schema": {"type": "object",
                                     "x-kubernetes-preserve-unknown-fields": True}}}]}}


def test_a_cert_manager_certificate_is_requested_and_its_secret_used(
        deployed: tuple[Kube, str, Operator], kubelet: FakeKubelet, tmp_path: Path) -> None:
    """cert-manager itself does not run here: its CRD (schema-less) stands for it, and the
    test issues the Secret the Certificate asks for."""
    kube, namespace, operator = deployed
    kube.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(CERT_MANAGER_CRD))
    kube.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                 "crd/certificates.cert-manager.io")
    port, metrics_port = node_port(), free_port()
    manifest = cluster_manifest("cm", 1, port, metrics_port, replicasPerShard=0, tls={
        "enabled": True, "certManager": {"issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}})
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))

    def requested() -> dict[str, Any] | None:
        found = kube.kubectl("get", "certificates.cert-manager.io", "cm-tls", "-n", namespace,
                             "-o", "json", check=False)
        return json.loads(found.stdout) if found.returncode == 0 else None

    try:
        cert = eventually(requested, 60, "the Certificate", interval=0.5)
    except TimeoutError:
        raise AssertionError(operator.log()) from None
    assert cert["spec"]["secretName"] == "cm-tls"
    assert cert["spec"]["issuerRef"] == {"name": "ca", "kind": "ClusterIssuer",
                                         "group": "cert-manager.io"}
    assert f"*.cm-nodes.{namespace}.svc" in cert["spec"]["dnsNames"]
    assert cert["metadata"]["ownerReferences"][0]["name"] == "cm"
    assert not kubelet.pods()  # no pod before its certificate
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certs(certs)
    kube.kubectl("create", "secret", "generic", "cm-tls", "-n", namespace,
                 f"--from-file=tls.crt={certs / 'server.crt'}",
                 f"--from-file=tls.key={certs / 'server.key'}",
                 f"--from-file=ca.crt={certs / 'ca.crt'}")
    obj = wait_phase(kube, namespace, "cm", "Ready", operator, shards=1)
    ip = kubelet.pods()[obj["status"]["shards"][0]["master"]][0]
    tls = redis.Redis(host=ip, port=port, password=password(kube, namespace, "cm"), ssl=True,
                      ssl_ca_certs=str(certs / "ca.crt"), ssl_check_hostname=False,
                      socket_timeout=5)
    assert tls.ping()
