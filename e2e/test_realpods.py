"""Real pods on a real node (e2e/realnode.py): the redslot image built from the checkout, run by
containerd under the kubelet, scheduled by kube-scheduler, on the bridge CNI, with CoreDNS and
kube-proxy. Each test prints the time of its phases."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis
import yaml
from redis.cluster import RedisCluster

from e2e.controlplane import eventually, phase_timer
from e2e.realnode import RealNode

if TYPE_CHECKING:
    from e2e.conftest import Kube

pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parent.parent


def pod_ready(kube: Kube, namespace: str, name: str) -> dict | None:
    found = kube.kubectl("get", "pod", name, "-n", namespace, "-o", "json", check=False)
    if found.returncode != 0:
        return None
    pod = json.loads(found.stdout)
    conditions = pod.get("status", {}).get("conditions", [])
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return pod if ready else None


def test_a_redslot_pod_runs_on_the_real_node(kube: Kube, namespace: str,
                                             real_node: RealNode) -> None:
    done = phase_timer("solo pod")
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "solo", "labels": {"app": "solo"}},
        "spec": {
            "hostname": "solo", "subdomain": "solo",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
            "containers": [{
                "name": "node", "image": real_node.image, "imagePullPolicy": "Never",
                "args": ["node", "--port", "7000", "--dir", "/data", "--protected-mode", "no"],
                "ports": [{"containerPort": 7000}],
                "readinessProbe": {"tcpSocket": {"port": 7000}, "periodSeconds": 1},
                "securityContext": {"readOnlyRootFilesystem": True,
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}]}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "solo"},
               "spec": {"clusterIP": "None", "selector": {"app": "solo"},
                        "ports": [{"port": 7000}]}}
    kube.kubectl("apply", "-n", namespace, "-f", "-",
                 input=json.dumps({"apiVersion": "v1", "kind": "List",
                                   "items": [pod, service]}))
    try:
        ready = eventually(lambda: pod_ready(kube, namespace, "solo"), 120, "pod solo Ready", 0.5)
    except TimeoutError:
        print(kube.kubectl("describe", "pod", "solo", "-n", namespace, check=False).stdout)
        print(real_node.log("kubelet", 60))
        raise
    done("pod Ready")
    ip = ready["status"]["podIP"]
    assert ip.startswith("10.213.0.")
    client = redis.Redis(host=ip, port=7000, socket_timeout=5)
    assert client.set("k", "v") and client.get("k") == b"v"
    # DNS from inside the pod, through CoreDNS: the headless Service resolves to the pod IP.
    name = f"solo.{namespace}.svc.cluster.local"
    out = kube.kubectl("exec", "solo", "-n", namespace, "--", "python3", "-c",
                       f"import socket; print(socket.gethostbyname({name!r}))").stdout
    assert out.strip() == ip
    # The root filesystem is read-only for real.
    refused = kube.kubectl("exec", "solo", "-n", namespace, "--", "touch", "/etc/x", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    done("Redis commands, DNS from inside the pod, read-only root checked")


def cluster_status(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    out = kube.kubectl("get", "rediscluster", name, "-n", namespace, "-o", "json").stdout
    return json.loads(out).get("status") or {}


def ready_status(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    status = cluster_status(kube, namespace, name)
    shards = len(status.get("shards") or [])
    return status if status.get("phase") == "Ready" and shards and \
        status.get("ready") == f"{shards}/{shards}" else None


def left_behind(kube: Kube, namespace: str, kinds: str, selector: str) -> list[str]:
    out = kube.kubectl("get", kinds, "-n", namespace, "-l", selector, "-o", "name").stdout
    return out.split()


def redis_cli(*args: str, input: str) -> str:
    result = subprocess.run(["redis-cli", *args], input=input, capture_output=True, text=True,
                            timeout=300)
    # redis-cli exits 0 even when a command failed; it says so on stderr.
    assert result.returncode == 0 and not result.stderr, result.stderr[-2000:]
    return result.stdout


def assert_owned_and_reported(kube: Kube, namespace: str, name: str, shards: int) -> None:
    """Every object the operator made is owned by the RedisCluster (deleting it deletes
    them); the status, its conditions, the printer columns and the events say Ready."""
    obj = json.loads(kube.kubectl("get", "rediscluster", name, "-n", namespace,
                                  "-o", "json").stdout)
    uid = obj["metadata"]["uid"]
    per_shard = [f"{name}-shard-{i}" for i in range(shards)]
    for kind, names in [("statefulset", per_shard), ("poddisruptionbudget", per_shard),
                        ("service", [name, f"{name}-nodes"]),
                        ("configmap", [f"{name}-config"]),
                        ("secret", [f"{name}-auth", f"{name}-credentials"])]:
        items = json.loads(kube.kubectl("get", kind, "-n", namespace, "-l",
                                        f"redslot.dev/cluster={name}", "-o", "json").stdout)
        assert sorted(i["metadata"]["name"] for i in items["items"]) == names, kind
        assert all(i["metadata"]["ownerReferences"][0]["uid"] == uid for i in items["items"])
    assert len(left_behind(kube, namespace, "pods", f"redslot.dev/cluster={name}")) == \
        2 * shards
    status = obj["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True", "SlotsCovered": "True", "Resharding": "False", "Degraded": "False"}
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert sum(s["slotCount"] for s in status["shards"]) == 16384
    row = kube.kubectl("get", "rdc", name, "-n", namespace).stdout.splitlines()[1].split()
    assert row[:5] == [name, str(shards), "1", f"{shards}/{shards}", "Ready"]
    events = json.loads(kube.kubectl("get", "events", "-n", namespace, "--field-selector",
                                     f"involvedObject.name={name}", "-o", "json").stdout)
    assert "Forming" in {e["reason"] for e in events["items"]}


def serve_and_scrape(kube: Kube, namespace: str, status: dict[str, Any],
                     done: Callable[[str], None]) -> None:
    """10,000 keys with redis-py and redis-cli -c from the host; metrics through Services."""
    password = base64.b64decode(kube.kubectl(
        "get", "secret", "cache-auth", "-n", namespace, "-o",
        "jsonpath={.data.password}").stdout).decode()
    seed = status["shards"][0]["nodes"][0]["address"].rsplit(":", 1)[0]
    assert seed.startswith("10.213.0.")
    client = RedisCluster(host=seed, port=6379, password=password, socket_timeout=10,
                          decode_responses=True)
    pipe = client.pipeline()
    for i in range(10_000):
        pipe.set(f"py:{i}", i)
    assert all(pipe.execute())
    pipe = client.pipeline()
    for i in range(10_000):
        pipe.get(f"py:{i}")
    assert pipe.execute() == [str(i) for i in range(10_000)]
    done("redis-py RedisCluster: 10,000 keys written and read")

    cli = ["-c", "-h", seed, "-p", "6379", "--no-auth-warning", "-a", password]
    written = redis_cli(*cli, input="".join(f"SET cli:{i} {i}\n" for i in range(10_000)))
    assert [line for line in written.splitlines() if not line.startswith("-> Redirected")] \
        == ["OK"] * 10_000
    out = redis_cli(*cli, input="".join(f"GET py:{i}\n" for i in range(10_000)))
    replies = [line for line in out.splitlines() if not line.startswith("-> Redirected")]
    assert replies == [str(i) for i in range(10_000)]
    assert "-> Redirected to slot" in out   # MOVED redirects were followed
    assert [client.get(f"cli:{i}") for i in range(0, 10_000, 7)] == \
        [str(i) for i in range(0, 10_000, 7)]
    done("redis-cli -c: 10,000 keys written and read through MOVED")

    # Metrics through the operator's Service (its ClusterIP, through kube-proxy).
    service_ip = kube.kubectl("get", "service", "redslot-operator", "-n", namespace,
                              "-o", "jsonpath={.spec.clusterIP}").stdout
    with urllib.request.urlopen(f"http://{service_ip}:9090/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert "redslot" in metrics
    # The nodes' metrics through the headless Service's DNS name, from inside a pod.
    node_pod = status["shards"][0]["master"]
    scraped = kube.kubectl("exec", node_pod, "-n", namespace, "--", "python3", "-c",
                           "import urllib.request; print(urllib.request.urlopen("
                           f"'http://cache-nodes.{namespace}.svc.cluster.local:9121/metrics'"
                           ").read().decode())").stdout
    assert "redis_up" in scraped or "redis_" in scraped
    done("metrics scraped through the Services")


def test_helm_install_a_cluster_serves_10000_keys_and_uninstall_leaves_nothing(
        kube: Kube, namespace: str, real_node: RealNode) -> None:
    done = phase_timer("helm install")
    repository, tag = real_node.image.rsplit(":", 1)
    kube.helm("install", "redslot", str(REPO / "charts/redslot"), "--namespace", namespace,
              "--set", f"image.repository={repository.removeprefix('docker.io/library/')}",
              "--set", f"image.tag={tag}", "--wait", "--timeout", "300s", timeout=330)
    operator = json.loads(kube.kubectl("get", "pods", "-n", namespace, "-l",
                                       "app.kubernetes.io/component=operator",
                                       "-o", "json").stdout)["items"]
    assert len(operator) == 1
    operator_pod = operator[0]["metadata"]["name"]
    done("helm install (operator pod Ready)")

    cluster = {"apiVersion": "redslot.dev/v1alpha1", "kind": "RedisCluster",
               "metadata": {"name": "cache"},
               "spec": {"shards": 3, "replicasPerShard": 1}}
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(cluster))

    def ready() -> dict[str, Any] | None:
        status = cluster_status(kube, namespace, "cache")
        return status if status.get("phase") == "Ready" and status.get("ready") == "3/3" \
            else None
    try:
        status = eventually(ready, 400, "RedisCluster cache Ready", 1.0)
    except TimeoutError:
        print(kube.kubectl("get", "pods,pvc", "-n", namespace, "-o", "wide").stdout)
        print(kube.kubectl("logs", operator_pod, "-n", namespace, "--tail", "80",
                           check=False).stdout)
        raise
    assert_owned_and_reported(kube, namespace, "cache", 3)
    done("RedisCluster Ready, owning its objects")

    try:
        serve_and_scrape(kube, namespace, status, done)
    except BaseException:
        print(kube.kubectl("get", "pods", "-n", namespace, "-o", "wide").stdout)
        pods = json.loads(kube.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)
        for pod in pods["items"]:
            for container in pod["status"].get("containerStatuses", []):
                print(pod["metadata"]["name"], container["restartCount"],
                      json.dumps(container.get("lastState")))
        print(kube.kubectl("get", "events", "-n", namespace, check=False).stdout[-6000:])
        raise

    pod = json.loads(kube.kubectl("get", "pod", operator_pod, "-n", namespace,
                                  "-o", "json").stdout)
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0, \
        "the operator's liveness probe failed"
    kube.kubectl("delete", "rediscluster", "cache", "-n", namespace, "--timeout=120s",
                 timeout=150)
    kube.helm("uninstall", "redslot", "--namespace", namespace, "--wait", "--timeout", "120s",
              timeout=150)

    def nothing_left() -> bool:
        kinds = "pods,statefulsets,services,configmaps,secrets,poddisruptionbudgets"
        return not left_behind(kube, namespace, kinds, "redslot.dev/cluster=cache") and \
            not left_behind(kube, namespace, kinds + ",deployments,serviceaccounts,roles,"
                            "rolebindings", "app.kubernetes.io/instance=redslot")
    eventually(nothing_left, 120, "nothing left of the cluster and the release", 1.0)
    # Retention Retain (the default): the volumes stay, for a cluster re-created later.
    claims = kube.kubectl("get", "pvc", "-n", namespace, "-o", "name").stdout.split()
    assert len(claims) == 6, claims
    done("RedisCluster deleted, helm uninstall: nothing left but the retained PVCs")


def test_kubectl_apply_manifests_and_a_deleted_master_pod_loses_no_acknowledged_write(
        kube: Kube, real_node: RealNode) -> None:
    """The manifests/ flow (the image set the way kustomize's `images:` would), with
    durability zero-loss; then a master pod deleted under a writer."""
    done = phase_timer("manifests")
    manifests = REPO / "manifests"
    kube.kubectl("apply", "-f", str(manifests / "namespace.yaml"), "-f",
                 str(manifests / "crds.yaml"))
    kube.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f",
                 str(manifests / "crds.yaml"))
    image = real_node.image.removeprefix("docker.io/library/")
    operator_manifest = (manifests / "redslot.yaml").read_text().replace("redslot:0.1.0", image)
    kube.kubectl("apply", "-f", "-", input=operator_manifest)
    example = yaml.safe_load((manifests / "example-rediscluster.yaml").read_text())
    example["spec"]["durability"] = "zero-loss"
    kube.kubectl("apply", "-f", "-", input=json.dumps(example))
    namespace = "redslot"
    try:
        status = eventually(lambda: ready_status(kube, namespace, "example"), 400,
                            "RedisCluster example Ready", 1.0)
        done("kubectl apply -f manifests/: RedisCluster Ready")
        password = base64.b64decode(kube.kubectl(
            "get", "secret", "example-auth", "-n", namespace, "-o",
            "jsonpath={.data.password}").stdout).decode()
        seed = status["shards"][0]["nodes"][0]["address"].rsplit(":", 1)[0]
        client = RedisCluster(host=seed, port=6379, password=password, socket_timeout=5,
                              decode_responses=True)
        acknowledged: dict[str, str] = {}
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set():
                key, value = f"w:{i}", str(i)
                try:
                    if client.set(key, value):
                        acknowledged[key] = value
                except (redis.RedisError, OSError):
                    time.sleep(0.1)
                i += 1

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        eventually(lambda: len(acknowledged) > 500, 60, "500 acknowledged writes", 0.2)
        master = status["shards"][0]["master"]
        old_address = next(n["address"] for n in status["shards"][0]["nodes"]
                           if n["pod"] == master)
        kube.kubectl("delete", "pod", master, "-n", namespace, "--wait=false")

        def failed_over() -> dict[str, Any] | None:
            now = ready_status(kube, namespace, "example")
            return now if now and now["shards"][0]["master"] != master else None
        status = eventually(failed_over, 300, "a failover of shard 0 and Ready", 1.0)
        assert status["lastFailover"]["from"] == master
        done(f"master {master} deleted: failed over, Ready again")

        def rejoined() -> str | None:
            """The recreated pod's new address, once its node (found again by its id) is
            listed as the shard's replica there."""
            now = ready_status(kube, namespace, "example")
            if not now or master not in now["shards"][0]["replicas"]:
                return None
            address: str = next(n["address"] for n in now["shards"][0]["nodes"]
                                if n["pod"] == master)
            pod_ip = kube.kubectl("get", "pod", master, "-n", namespace, "-o",
                                  "jsonpath={.status.podIP}", check=False).stdout
            return address if pod_ip and address == f"{pod_ip}:6379" else None
        address = eventually(rejoined, 120, f"{master} back as a replica at its new IP", 1.0)
        assert address != old_address
        done(f"{master} rejoined as a replica at {address} (was {old_address})")
        time.sleep(2)
        stop.set()
        thread.join(30)
        checker = RedisCluster(host=status["shards"][0]["nodes"][0]["address"].rsplit(":", 1)[0],
                               port=6379, password=password, socket_timeout=10,
                               decode_responses=True)
        keys = sorted(acknowledged)
        pipe = checker.pipeline()
        for key in keys:
            pipe.get(key)
        lost = [k for k, v in zip(keys, pipe.execute(), strict=True) if v != acknowledged[k]]
        assert not lost, f"{len(lost)} of {len(keys)} acknowledged writes lost: {lost[:10]}"
        done(f"{len(keys)} acknowledged writes all read back")
    finally:
        kube.kubectl("delete", "rediscluster", "example", "-n", namespace, "--timeout=120s",
                     check=False, timeout=150)
        kube.kubectl("delete", "-f", "-", "--timeout=120s", input=operator_manifest,
                     check=False, timeout=150)
        kube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
