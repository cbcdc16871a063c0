"""Real pods on a real node (e2e/realnode.py): the redslot image built from the checkout, run by
containerd under the kubelet, scheduled by kube-scheduler, on the bridge CNI, with CoreDNS and
kube-proxy. Each test prints the time of its phases."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest
import redis

from e2e.controlplane import eventually
from e2e.realnode import RealNode

if TYPE_CHECKING:
    from e2e.conftest import Kube

pytestmark = pytest.mark.timeout(900)


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
    started = time.monotonic()
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
    print(f"   [test] pod Ready: {time.monotonic() - started:.1f} s")
    ip = ready["status"]["podIP"]
    assert ip.startswith("10.213.0.")
    client = redis.Redis(host=ip, port=7000, socket_timeout=5)
    assert client.set("k", "v") and client.get("k") == b"v"
    # DNS from inside the pod: the headless Service's pod name resolves to the pod IP.
    name = f"solo.solo.{namespace}.svc.cluster.local"
    out = kube.kubectl("exec", "solo", "-n", namespace, "--", "python3", "-c",
                       f"import socket; print(socket.gethostbyname({name!r}))").stdout
    assert out.strip() == ip
    # The root filesystem is read-only for real.
    refused = kube.kubectl("exec", "solo", "-n", namespace, "--", "touch", "/etc/x", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    print(f"   [test] checks: {time.monotonic() - started:.1f} s")
