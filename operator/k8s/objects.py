"""The Kubernetes objects of one RedisCluster, built as plain dicts from its spec.

Pure functions: no API calls. Every object carries the cluster's labels and an owner
reference to the RedisCluster, so deleting the resource deletes them (PVCs follow the
StatefulSets' retention policy). Roles are not tied to ordinals: a shard's StatefulSet
runs its master and replicas alike, and the control plane decides who is master.
"""

from __future__ import annotations

from typing import Any

from .settings import ClusterSpec

GROUP = "redslot.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "RedisCluster"
PLURAL = "redisclusters"

CONFIG_PATH = "/etc/redslot/redslot.conf"
DATA_PATH = "/data"
PASSWORD_ENV = "REDSLOT_PASSWORD"
ACL_DIR = "/etc/redslot-acl"
ACL_FILE = f"{ACL_DIR}/users.acl"
TLS_DIR = "/etc/redslot-tls"
TEMPLATE_HASH = "redslot.dev/template-hash"

Obj = dict[str, Any]


class Cluster:
    """Names and ownership of one RedisCluster's objects."""

    def __init__(self, name: str, namespace: str, uid: str, spec: ClusterSpec) -> None:
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.spec = spec

    # --- names ---

    @property
    def headless(self) -> str:
        return f"{self.name}-nodes"

    @property
    def config_map(self) -> str:
        return f"{self.name}-config"

    @property
    def secret(self) -> str:
        return self.spec.auth_secret or f"{self.name}-auth"

    @property
    def credentials(self) -> str:
        """The operator's own Secret: what the nodes have (ACL file, masterauth)."""
        return f"{self.name}-credentials"

    @property
    def tls_secret(self) -> str:
        return self.spec.tls.secret_name or f"{self.name}-tls"

    def statefulset(self, shard: str) -> str:
        return f"{self.name}-{shard}"

    def pod(self, node: str) -> str:
        """Node ``shard-1-0`` runs in pod ``<cluster>-shard-1-0``."""
        return f"{self.name}-{node}"

    def node_of_pod(self, pod: str) -> str | None:
        prefix = f"{self.name}-"
        return pod[len(prefix):] if pod.startswith(prefix) else None

    def pvc(self, node: str) -> str:
        return f"data-{self.pod(node)}"

    def dns_name(self, node: str) -> str:
        return f"{self.pod(node)}.{self.headless}.{self.namespace}.svc"

    # --- metadata ---

    def labels(self, shard: str | None = None) -> dict[str, str]:
        labels = {
            "app.kubernetes.io/name": "redslot",
            "app.kubernetes.io/instance": self.name,
            "app.kubernetes.io/managed-by": "redslot-operator",
            "app.kubernetes.io/component": "node",
            "redslot.dev/cluster": self.name,
        }
        if shard is not None:
            labels["redslot.dev/shard"] = shard
        return labels

    def selector(self, shard: str | None = None) -> dict[str, str]:
        keys = ["redslot.dev/cluster"] + (["redslot.dev/shard"] if shard else [])
        labels = self.labels(shard)
        return {key: labels[key] for key in keys}

    def label_selector(self, shard: str | None = None) -> str:
        return ",".join(f"{k}={v}" for k, v in self.selector(shard).items())

    def metadata(self, name: str, shard: str | None = None) -> Obj:
        return {
            "name": name, "namespace": self.namespace, "labels": self.labels(shard),
            "ownerReferences": [{
                "apiVersion": API_VERSION, "kind": KIND, "name": self.name, "uid": self.uid,
                "controller": True, "blockOwnerDeletion": True}],
        }


# --- the node's configuration ---

def node_config(spec: ClusterSpec) -> str:
    """redslot.conf: what every node of the cluster shares. Per-pod settings (port, data
    directory, password) come on the command line and from the environment."""
    persistence = spec.persistence
    lines = [
        "# Written by the redslot operator from the RedisCluster spec; edits are overwritten.",
        "cluster-enabled yes",
        "cluster-await-confirm yes",
        "cluster-lease-fencing yes",
        "repl-diskless-sync-delay 0",  # replicas are attached one by one: no herd to wait for
        f"appendonly {'yes' if persistence.appendonly else 'no'}",
        f"appendfsync {persistence.appendfsync}",
        f'save "{persistence.save}"',
        "protected-mode no",
    ]
    if spec.maxmemory:
        lines.append(f"maxmemory {spec.maxmemory}")
    if spec.durability == "zero-loss" and spec.replicas:
        lines.append("min-replicas-ack 1")  # a write is acknowledged once a replica has it
    for key, value in sorted(spec.config.items()):
        lines.append(f"{key} {value}")
    return "\n".join(lines) + "\n"


def config_map(cluster: Cluster) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": cluster.metadata(cluster.config_map),
            "data": {"redslot.conf": node_config(cluster.spec)}}


def credentials_secret(cluster: Cluster, data: dict[str, str]) -> Obj:
    """``users.acl`` (mounted, the nodes' aclfile), ``masterauth`` (the node's
    REDSLOT_PASSWORD: replication and peer links) and ``state.json`` (the rotation)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": cluster.metadata(cluster.credentials), "stringData": data}


def certificate(cluster: Cluster) -> Obj:
    """A cert-manager Certificate for every name a node is reached by: its pod's DNS name
    (wildcard of the headless Service), the client Service; server and client usage, since
    nodes are clients of each other on replication and cluster links."""
    manager = cluster.spec.tls.cert_manager
    assert manager is not None
    ns = cluster.namespace
    names = [f"*.{cluster.headless}.{ns}.svc", f"*.{cluster.headless}.{ns}.svc.cluster.local",
             cluster.name, f"{cluster.name}.{ns}.svc", f"{cluster.name}.{ns}.svc.cluster.local"]
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": cluster.metadata(cluster.tls_secret),
            "spec": {"secretName": cluster.tls_secret, "commonName": cluster.name,
                     "dnsNames": names, "duration": manager.duration,
                     "renewBefore": manager.renew_before,
                     "usages": ["server auth", "client auth", "digital signature",
                                "key encipherment"],
                     "privateKey": {"rotationPolicy": "Always"},
                     "issuerRef": {"name": manager.issuer_name, "kind": manager.issuer_kind,
                                   "group": manager.issuer_group}}}


def password_secret(cluster: Cluster, password: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": cluster.metadata(cluster.secret),
            "stringData": {cluster.spec.auth_key: password}}


# --- services ---

def ports(spec: ClusterSpec) -> list[Obj]:
    found = [{"name": "redis", "port": spec.port, "targetPort": "redis", "protocol": "TCP"}]
    if spec.metrics.enabled:
        found.append({"name": "metrics", "port": spec.metrics.port, "targetPort": "metrics",
                      "protocol": "TCP"})
    return found


def headless_service(cluster: Cluster) -> Obj:
    """Stable DNS for every pod, ready or not: held nodes must be reachable to be confirmed."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": cluster.metadata(cluster.headless),
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                     "selector": cluster.selector(), "ports": ports(cluster.spec)}}


def client_service(cluster: Cluster) -> Obj:
    """Where clients start: any node answers CLUSTER SLOTS and redirects."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": cluster.metadata(cluster.name),
            "spec": {"type": "ClusterIP", "selector": cluster.selector(),
                     "ports": ports(cluster.spec)[:1]}}


def disruption_budget(cluster: Cluster, shard: str) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": cluster.metadata(cluster.statefulset(shard), shard),
            "spec": {"maxUnavailable": cluster.spec.pdb_max_unavailable,
                     "selector": {"matchLabels": cluster.selector(shard)}}}


def service_monitor(cluster: Cluster) -> Obj:
    monitor = cluster.spec.metrics
    meta = cluster.metadata(cluster.name)
    meta["labels"] = {**meta["labels"], **monitor.service_monitor_labels}
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": meta,
            "spec": {"selector": {"matchLabels": {**cluster.selector(),
                                                  "redslot.dev/service": "nodes"}},
                     "namespaceSelector": {"matchNames": [cluster.namespace]},
                     "endpoints": [{"port": "metrics", "path": "/metrics",
                                    "interval": monitor.service_monitor_interval,
                                    "relabelings": [
                                        {"sourceLabels": [f"__meta_kubernetes_pod_label_{k}"],
                                         "targetLabel": target}
                                        for k, target in (("redslot_dev_cluster", "cluster"),
                                                          ("redslot_dev_shard", "shard"))]}]}}


# --- the StatefulSet of one shard ---

def tls_arguments(cluster: Cluster) -> list[str]:
    """TLS only: plaintext off, the certificate from the mounted Secret (reloaded by
    CONFIG SET when the Secret is renewed), replication and cluster links over TLS."""
    tls = cluster.spec.tls
    return ["--port", "0", "--tls-port", str(cluster.spec.port),
            "--tls-cert-file", f"{TLS_DIR}/tls.crt", "--tls-key-file", f"{TLS_DIR}/tls.key",
            "--tls-ca-cert-file", f"{TLS_DIR}/ca.crt", "--tls-auth-clients", tls.auth_clients,
            "--tls-replication", "yes", "--tls-cluster", "yes"]


def node_container(cluster: Cluster) -> Obj:
    spec = cluster.spec
    listen = tls_arguments(cluster) if spec.tls.enabled else ["--port", str(spec.port)]
    command = ["redslot", "node", CONFIG_PATH, *listen, "--dir", DATA_PATH,
               "--aclfile", ACL_FILE]
    container_ports = [{"name": "redis", "containerPort": spec.port, "protocol": "TCP"},
                       {"name": "bus", "containerPort": spec.port + 10000, "protocol": "TCP"}]
    if spec.metrics.enabled:
        command += ["--metrics-port", str(spec.metrics.port)]
        container_ports.append({"name": "metrics", "containerPort": spec.metrics.port,
                                "protocol": "TCP"})
    if spec.announce == "Hostname":
        command += ["--cluster-announce-hostname", "$(POD_NAME)." + cluster.headless
                    + "." + cluster.namespace + ".svc"]
    container: Obj = {
        "name": "node", "image": spec.image, "imagePullPolicy": spec.image_pull_policy,
        "command": command, "ports": container_ports,
        "env": [
            {"name": PASSWORD_ENV, "valueFrom": {"secretKeyRef": {
                "name": cluster.credentials, "key": "masterauth"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "volumeMounts": [{"name": "data", "mountPath": DATA_PATH},
                         {"name": "config", "mountPath": "/etc/redslot", "readOnly": True},
                         {"name": "acl", "mountPath": ACL_DIR, "readOnly": True}],
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    if spec.tls.enabled:
        container["volumeMounts"].append({"name": "tls", "mountPath": TLS_DIR,
                                          "readOnly": True})
    if spec.resources:
        container["resources"] = spec.resources
    # Liveness starts once the startup probe passed: on real pods of a loaded machine a
    # node took over 20 s to answer its first /healthz, and liveness with a 10 s initial
    # delay and 3 s timeout restarted nodes that were only slow (a restart of a master is a
    # failover). A restart is for a node that stopped answering for a minute, not a second.
    alive = ({"httpGet": {"path": "/healthz", "port": "metrics"}} if spec.metrics.enabled
             else {"tcpSocket": {"port": "redis"}})
    container["startupProbe"] = {**alive, "periodSeconds": 2, "timeoutSeconds": 5,
                                 "failureThreshold": 90}
    container["livenessProbe"] = {**alive, "periodSeconds": 10, "timeoutSeconds": 5,
                                  "failureThreshold": 6}
    if spec.metrics.enabled:
        container["readinessProbe"] = {
            "httpGet": {"path": "/readyz", "port": "metrics"},
            "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 1}
    return container


def anti_affinity(cluster: Cluster, shard: str) -> Obj | None:
    """A shard's master and replicas on different Kubernetes nodes, so one node lost
    never takes a shard's every copy."""
    mode = cluster.spec.anti_affinity
    if mode == "none":
        return None
    term = {"labelSelector": {"matchLabels": cluster.selector(shard)},
            "topologyKey": "kubernetes.io/hostname"}
    if mode == "hard":
        return {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
    return {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term}]}


def pod_spec(cluster: Cluster, shard: str) -> Obj:
    spec = cluster.spec
    pod: Obj = {
        "containers": [node_container(cluster)],
        "securityContext": {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                            "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": 30,
        "enableServiceLinks": False,
        "volumes": [{"name": "config", "configMap": {"name": cluster.config_map}},
                    {"name": "acl", "secret": {
                        "secretName": cluster.credentials, "defaultMode": 0o440,
                        "items": [{"key": "users.acl", "path": "users.acl"}]}}],
    }
    if spec.tls.enabled:
        pod["volumes"].append({"name": "tls", "secret": {"secretName": cluster.tls_secret,
                                                         "defaultMode": 0o440}})
    affinity = dict(spec.affinity)
    spread = anti_affinity(cluster, shard)
    if spread is not None and "podAntiAffinity" not in affinity:
        affinity["podAntiAffinity"] = spread
    if affinity:
        pod["affinity"] = affinity
    if spec.topology_spread:
        pod["topologySpreadConstraints"] = spec.topology_spread
    if spec.tolerations:
        pod["tolerations"] = spec.tolerations
    if spec.node_selector:
        pod["nodeSelector"] = spec.node_selector
    if spec.image_pull_secrets:
        pod["imagePullSecrets"] = spec.image_pull_secrets
    if spec.storage.ephemeral:
        pod["volumes"].append({"name": "data", "emptyDir": {}})
    return pod


def statefulset(cluster: Cluster, shard: str, replicas: int, template_hash: str) -> Obj:
    """``updateStrategy: OnDelete``: the operator restarts pods itself, replicas first and
    each master only after a failover, so an image change never refuses writes for longer
    than one failover."""
    spec = cluster.spec
    labels = cluster.labels(shard)
    sts: Obj = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": cluster.metadata(cluster.statefulset(shard), shard),
        "spec": {
            "replicas": replicas, "serviceName": cluster.headless,
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "OnDelete"},
            "selector": {"matchLabels": cluster.selector(shard)},
            "template": {
                "metadata": {"labels": labels,
                             "annotations": {TEMPLATE_HASH: template_hash}},
                "spec": pod_spec(cluster, shard)},
        },
    }
    if not spec.storage.ephemeral:
        claim: Obj = {
            "metadata": {"name": "data", "labels": labels},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": spec.storage.size}}}}
        if spec.storage.class_name:
            claim["spec"]["storageClassName"] = spec.storage.class_name
        sts["spec"]["volumeClaimTemplates"] = [claim]
        sts["spec"]["persistentVolumeClaimRetentionPolicy"] = {
            "whenDeleted": spec.storage.retention, "whenScaled": "Retain"}
    return sts


def template_hash(cluster: Cluster) -> str:
    """A digest of what a pod runs: a change means its pods must be restarted."""
    import hashlib
    import json

    content = json.dumps([pod_spec(cluster, "-"), node_config(cluster.spec)], sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def static_objects(cluster: Cluster) -> list[Obj]:
    """Everything but the StatefulSets, PDBs and the Secret, which need more than the spec."""
    headless = headless_service(cluster)
    headless["metadata"]["labels"]["redslot.dev/service"] = "nodes"
    return [config_map(cluster), headless, client_service(cluster)]
