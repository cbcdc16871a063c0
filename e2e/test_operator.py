"""The operator against a real kube-apiserver: the chart installed with helm + kubectl and
the operator run on the host under the chart's ServiceAccount and RBAC (two operators side by
side for peering, --standalone, an audit-log count of its idle requests, TLS Secrets, a
cert-manager Certificate), its pods run by the real node (e2e/realnode.py) from the image
built from the checkout, and clients outside reaching them by pod IP. The CRD's and the
NetworkPolicy's validation need no pod.

Covered by the real-pod tests instead (a fake-kubelet version of each was dropped): forming,
serving and owning the objects, a reshard (e2e/test_realpods.py's helm test and
test_realpods_day2.py's scale test), a deleted master pod (test_realpods.py's manifests
test), an image change and a password rotation (test_realpods_day2.py). The fake kubelet
(e2e/kubelet.py) remains for e2e/test_operator_faults.py and e2e/test_controlplane.py: see
their docstrings.
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
from e2e.realnode import RealNode

if TYPE_CHECKING:
    from e2e.conftest import Kube

pytestmark = pytest.mark.timeout(900)  # the first test also waits for the real node

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
                 extra: tuple[str, ...] = (), image: str = "redslot:e2e") -> None:
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
                 "--priority", str(priority), "--image", image, *extra],
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


def image(node: RealNode) -> str:
    """The image the operator gives its pods: the one built from the checkout."""
    return node.image.removeprefix("docker.io/library/")


def pods(kube: Kube, namespace: str, cluster: str) -> dict[str, str]:
    """The IP of each live pod of a RedisCluster."""
    found = json.loads(kube.kubectl("get", "pods", "-n", namespace, "-l",
                                    f"redslot.dev/cluster={cluster}", "-o", "json").stdout)
    return {pod["metadata"]["name"]: pod.get("status", {}).get("podIP", "")
            for pod in found["items"] if not pod["metadata"].get("deletionTimestamp")}


@pytest.fixture
def deployed(kube: Kube, namespace: str, real_node: RealNode,
             tmp_path: Path) -> Iterator[tuple[Kube, str, Operator]]:
    """The chart's objects, and the operator as a host process with the chart's
    ServiceAccount and RBAC; the pods it makes run on the real node."""
    install_chart(kube, namespace)
    operator = Operator(kube, namespace, tmp_path, image=image(real_node))
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


def test_one_operator_acts_and_deleting_the_cluster_deletes_what_it_owns(
        deployed: tuple[Kube, str, Operator], real_node: RealNode, tmp_path: Path) -> None:
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
    active = Operator(kube, namespace, tmp_path, priority=100, image=image(real_node))
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

        eventually(cleaned, 60, "owned objects and pods garbage-collected", interval=1.0)
    finally:
        active.stop()


def test_a_standalone_operator_acts_without_peering(
        kube: Kube, namespace: str, real_node: RealNode, tmp_path: Path) -> None:
    """--standalone: no peering object is needed and the watches are not paused for one."""
    install_chart(kube, namespace)
    kube.kubectl("delete", "kopfpeering", "--all", "-n", namespace)
    operator = Operator(kube, namespace, tmp_path, extra=("--standalone",),
                        image=image(real_node))
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


class Writer(threading.Thread):
    """A client writing and reading back in a loop."""

    def __init__(self, seeds: list[ClusterNode], password: str, **options: Any) -> None:
        super().__init__(daemon=True)
        self.seeds = seeds
        self.options = options
        self.password = password
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


def served_certificate(ip: str, port: int, ca: Path) -> bytes:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    with socket.create_connection((ip, port), timeout=5) as raw, \
            context.wrap_socket(raw) as wrapped:
        der = wrapped.getpeercert(binary_form=True)
    assert der is not None
    return der


def test_tls_cluster_serves_tls_only_and_reloads_a_renewed_certificate(
        deployed: tuple[Kube, str, Operator], tmp_path: Path) -> None:
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
    ips = pods(kube, namespace, "tls")
    master_ip, replica_ip = ips[shard["master"]], ips[shard["replicas"][0]]
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
        deployed: tuple[Kube, str, Operator], tmp_path: Path) -> None:
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
    assert not pods(kube, namespace, "cm")  # no pod before its certificate
    certs = tmp_path / "certs"
    certs.mkdir()
    make_certs(certs)
    kube.kubectl("create", "secret", "generic", "cm-tls", "-n", namespace,
                 f"--from-file=tls.crt={certs / 'server.crt'}",
                 f"--from-file=tls.key={certs / 'server.key'}",
                 f"--from-file=ca.crt={certs / 'ca.crt'}")
    obj = wait_phase(kube, namespace, "cm", "Ready", operator, shards=1)
    ip = pods(kube, namespace, "cm")[obj["status"]["shards"][0]["master"]]
    tls = redis.Redis(host=ip, port=port, password=password(kube, namespace, "cm"), ssl=True,
                      ssl_ca_certs=str(certs / "ca.crt"), ssl_check_hostname=False,
                      socket_timeout=5)
    assert tls.ping()
