"""The harness itself: a real API server and controllers, with pods run by the fake kubelet.

No operator is involved: a hand-written StatefulSet of `redslot node` pods shaped like the
operator's (config from a ConfigMap, password from a Secret, PVC for /data, readiness on the
metrics port's /readyz) must behave as on a real cluster.

Why the fake kubelet is kept, for these tests only: bench/operator_api.py runs the operator
on it to count its API requests on a machine without root, containerd or a built image, so
the simulation it relies on is tested here. No operator test uses it any more: they all run
their pods on the real node (e2e/realnode.py), which gives every fault they need (a pod
deleted, a container's process killed or stopped, the API server stopped).
"""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis

from e2e.controlplane import eventually, free_port
from e2e.kubelet import NODE_NAME, FakeKubelet

if TYPE_CHECKING:
    from e2e.conftest import Kube

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parent.parent
LABELS = {"app.kubernetes.io/name": "redslot", "app.kubernetes.io/instance": "kv"}
PASSWORD = "s3cret-e2e"
POD_TIMEOUT = 60.0


def statefulset_manifest(port: int, metrics_port: int, replicas: int,
                         readiness_path: str = "/readyz",
                         liveness: bool = False) -> dict[str, Any]:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kv-config"},
              "data": {"redslot.conf": "appendonly yes\nappendfsync always\nsave \"\"\n"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "kv-auth"},
              "stringData": {"password": PASSWORD}}
    container = {
        "name": "node", "image": "redslot:e2e",
        "command": ["redslot", "node", "/etc/redslot/redslot.conf", "--port", str(port),
                    "--dir", "/data", "--metrics-port", str(metrics_port)],
        "env": [{"name": "REDSLOT_PASSWORD",
                 "valueFrom": {"secretKeyRef": {"name": "kv-auth", "key": "password"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "ports": [{"name": "redis", "containerPort": port},
                  {"name": "metrics", "containerPort": metrics_port}],
        "readinessProbe": {"httpGet": {"path": readiness_path, "port": "metrics"},
                           "periodSeconds": 1},
        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                         {"name": "config", "mountPath": "/etc/redslot"}]}
    if liveness:
        container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "metrics"},
                                      "periodSeconds": 1, "failureThreshold": 3}
    statefulset = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "kv", "labels": LABELS},
        "spec": {
            "serviceName": "kv", "replicas": replicas, "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": LABELS},
            "template": {"metadata": {"labels": LABELS},
                         "spec": {"containers": [container],
                                  "volumes": [{"name": "config",
                                               "configMap": {"name": "kv-config"}}]}},
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}]}}
    return {"apiVersion": "v1", "kind": "List", "items": [config, secret, statefulset]}


def pods(kube: Kube, namespace: str) -> dict[str, dict[str, Any]]:
    listing = kube.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout
    return {p["metadata"]["name"]: p for p in json.loads(listing)["items"]}


def is_ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod.get("status", {}).get("conditions", []))


def ready_pods(kube: Kube, namespace: str, count: int) -> dict[str, dict[str, Any]]:
    def probe() -> dict[str, dict[str, Any]] | None:
        found = pods(kube, namespace)
        ready = {name: pod for name, pod in found.items()
                 if is_ready(pod) and not pod["metadata"].get("deletionTimestamp")}
        return ready if len(ready) == count else None
    return eventually(probe, POD_TIMEOUT, f"{count} ready pods in {namespace}")


def client(pod: dict[str, Any], port: int) -> redis.Redis:
    return redis.Redis(host=pod["status"]["podIP"], port=port, password=PASSWORD,
                       socket_timeout=10)


@pytest.fixture
def statefulset(kube: Kube, namespace: str, kubelet: FakeKubelet) -> int:
    """A 2-pod StatefulSet applied in the test's namespace; returns the nodes' port."""
    port, metrics_port = free_port(), free_port()
    kube.kubectl("apply", "-n", namespace, "-f", "-",
                 input=json.dumps(statefulset_manifest(port, metrics_port, replicas=2)))
    return port


def test_kubectl_lists_the_system_namespaces(kube: Kube) -> None:
    listing = json.loads(kube.kubectl("get", "namespaces", "-o", "json").stdout)
    names = {ns["metadata"]["name"] for ns in listing["items"]}
    assert {"default", "kube-system", "kube-public"} <= names


def test_the_server_reports_the_pinned_kubernetes_version(kube: Kube) -> None:
    script = (REPO / "scripts" / "kube-binaries").read_text()
    pinned = re.search(r"^KUBERNETES_VERSION=(\S+)", script, re.MULTILINE)
    assert pinned is not None
    version = json.loads(kube.kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert version["gitVersion"] == pinned.group(1)


def test_statefulset_pods_run_as_ready_nodes_on_their_own_ips(
        kube: Kube, namespace: str, kubelet: FakeKubelet, statefulset: int) -> None:
    ready = ready_pods(kube, namespace, 2)
    assert set(ready) == {"kv-0", "kv-1"}
    running = kubelet.pods()
    ips = {pod["status"]["podIP"] for pod in ready.values()}
    assert len(ips) == 2
    for name, pod in ready.items():
        assert pod["spec"]["nodeName"] == NODE_NAME
        assert pod["status"]["phase"] == "Running"
        assert running[name][0] == pod["status"]["podIP"]
        with client(pod, statefulset) as r:
            assert r.ping()
            assert r.set("owner", name)
            assert r.get("owner") == name.encode()


def test_the_statefulset_controller_counts_the_ready_replicas(
        kube: Kube, namespace: str, kubelet: FakeKubelet, statefulset: int) -> None:
    def ready_replicas() -> bool:
        status = json.loads(kube.kubectl("get", "statefulset", "kv", "-n", namespace,
                                         "-o", "json").stdout).get("status", {})
        return status.get("readyReplicas") == 2 and status.get("availableReplicas") == 2
    eventually(ready_replicas, POD_TIMEOUT, "readyReplicas 2")


def test_a_recreated_pod_gets_a_new_ip_and_keeps_its_data(
        kube: Kube, namespace: str, kubelet: FakeKubelet, statefulset: int) -> None:
    before = ready_pods(kube, namespace, 2)["kv-0"]
    with client(before, statefulset) as r:
        assert r.set("survivor", "still here")
    kube.kubectl("delete", "pod", "kv-0", "-n", namespace, "--wait=false")

    def recreated() -> dict[str, Any] | None:
        pod = ready_pods(kube, namespace, 2)["kv-0"]
        return pod if pod["metadata"]["uid"] != before["metadata"]["uid"] else None
    after = eventually(recreated, POD_TIMEOUT, "kv-0 recreated")
    assert after["status"]["podIP"] != before["status"]["podIP"]
    with client(after, statefulset) as r:
        assert r.get("survivor") == b"still here"


def test_a_crashed_node_is_restarted_on_the_same_ip(
        kube: Kube, namespace: str, kubelet: FakeKubelet, statefulset: int) -> None:
    before = ready_pods(kube, namespace, 2)["kv-1"]
    old_pid = kubelet.pods()["kv-1"][1]
    kubelet.kill("kv-1", signal.SIGKILL)

    def restarted() -> dict[str, Any] | None:
        pod = ready_pods(kube, namespace, 2)["kv-1"]
        return pod if pod["status"]["containerStatuses"][0]["restartCount"] == 1 else None
    after = eventually(restarted, POD_TIMEOUT, "kv-1 restarted")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["status"]["podIP"] == before["status"]["podIP"]
    assert kubelet.pods()["kv-1"][1] != old_pid
    assert after["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 137


def test_deleting_the_statefulset_garbage_collects_its_pods(
        kube: Kube, namespace: str, kubelet: FakeKubelet, statefulset: int) -> None:
    ready_pods(kube, namespace, 2)
    kube.kubectl("delete", "statefulset", "kv", "-n", namespace, "--wait=false")
    eventually(lambda: not pods(kube, namespace), POD_TIMEOUT, "the pods to be collected")
    eventually(lambda: not kubelet.pods(), POD_TIMEOUT, "the node processes to stop")


def test_deleting_a_claim_removes_its_data(
        kube: Kube, namespace: str, kubelet: FakeKubelet, statefulset: int) -> None:
    ready_pods(kube, namespace, 2)
    claims = json.loads(kube.kubectl("get", "pvc", "-n", namespace, "-o", "json").stdout)
    assert {c["status"]["phase"] for c in claims["items"]} == {"Bound"}
    assert len(kubelet.claims) == 2
    kube.kubectl("delete", "statefulset", "kv", "-n", namespace, "--wait=false")
    eventually(lambda: not pods(kube, namespace), POD_TIMEOUT, "the pods to be collected")
    kube.kubectl("delete", "pvc", "--all", "-n", namespace, "--wait=false")
    eventually(lambda: not kubelet.claims, POD_TIMEOUT, "the claims' directories to go")


def test_a_pod_is_ready_only_when_its_readiness_probe_passes(
        kube: Kube, namespace: str, kubelet: FakeKubelet) -> None:
    port, metrics_port = free_port(), free_port()
    manifest = statefulset_manifest(port, metrics_port, replicas=1, readiness_path="/missing")
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    eventually(lambda: "kv-0" in kubelet.pods(), POD_TIMEOUT, "kv-0's process")

    def with_ip() -> dict[str, Any] | None:
        pod = pods(kube, namespace).get("kv-0")
        return pod if pod and pod.get("status", {}).get("podIP") else None
    pod = eventually(with_ip, POD_TIMEOUT, "kv-0's IP")
    with client(pod, port) as r:
        eventually(lambda: r.ping(), POD_TIMEOUT, "kv-0 to answer")
    time.sleep(2)  # several probe rounds: the 404 of /missing must keep it unready
    pod = pods(kube, namespace)["kv-0"]
    assert pod["status"]["phase"] == "Running"
    assert not is_ready(pod)
    assert pod["status"]["containerStatuses"][0]["ready"] is False


def test_a_hung_node_is_killed_by_its_liveness_probe_and_restarted(
        kube: Kube, namespace: str, kubelet: FakeKubelet) -> None:
    port, metrics_port = free_port(), free_port()
    manifest = statefulset_manifest(port, metrics_port, replicas=1, liveness=True)
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    before = ready_pods(kube, namespace, 1)["kv-0"]
    kubelet.kill("kv-0", signal.SIGSTOP)

    def restarted() -> dict[str, Any] | None:
        pod = ready_pods(kube, namespace, 1)["kv-0"]
        return pod if pod["status"]["containerStatuses"][0]["restartCount"] == 1 else None
    after = eventually(restarted, POD_TIMEOUT, "kv-0 restarted after its liveness probe failed")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    with client(after, port) as r:
        assert r.ping()
