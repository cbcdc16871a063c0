"""A RedisCluster's spec, read from the resource into typed settings.

The CRD's schema sets the defaults and refuses bad values at the API server; the same
defaults are applied here, so an object written before a default existed (or served by a
server without defaulting) reads the same. A value the schema would refuse raises
``SpecError`` with the field's path.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from ..model.record import Spec

# Directives the operator sets itself: a spec may not override them through `config`.
RESERVED_DIRECTIVES = frozenset({
    "port", "bind", "dir", "cluster-enabled", "cluster-config-file", "cluster-await-confirm",
    "cluster-lease-fencing",
    "requirepass", "masterauth", "masteruser", "replicaof", "slaveof", "cluster-announce-ip",
    "cluster-announce-port", "cluster-announce-bus-port", "cluster-announce-hostname",
    "metrics-port", "daemonize", "pidfile", "logfile", "min-replicas-ack", "include",
    "appendonly", "appendfsync", "save", "maxmemory", "user", "aclfile",
    "tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-ca-cert-file",
    "tls-ca-cert-dir", "tls-auth-clients", "tls-replication", "tls-cluster",
    "tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass",
})
# Rules of spec.users that would touch what the operator owns: the passwords (from the
# Secrets, rotated by the operator) and the user's existence.
OWNED_RULES = frozenset({"nopass", "resetpass", "reset", "on", "off"})
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")
RULE = re.compile(r"^(\([^()]*\)|[^\s<>#!()]\S*)$")


class SpecError(ValueError):
    pass


@dataclass
class Storage:
    size: str = "1Gi"
    class_name: str = ""
    retention: str = "Retain"
    ephemeral: bool = False


@dataclass
class Persistence:
    appendonly: bool = True
    appendfsync: str = "everysec"
    save: str = "3600 1 300 100 60 10000"


@dataclass
class Metrics:
    enabled: bool = True
    port: int = 9121
    service_monitor: bool = False
    service_monitor_interval: str = "15s"
    service_monitor_labels: dict[str, str] = field(default_factory=dict)


@dataclass
class AclUser:
    """A user of the nodes: its ACL rules, its password from a Secret's key."""

    name: str
    rules: list[str]
    secret: str
    key: str = "password"
    enabled: bool = True


@dataclass
class CertManager:
    """A cert-manager Certificate the operator creates for the nodes."""

    issuer_name: str
    issuer_kind: str = "Issuer"
    issuer_group: str = "cert-manager.io"
    duration: str = "2160h"
    renew_before: str = "360h"


@dataclass
class Tls:
    enabled: bool = False
    secret_name: str = ""  # empty with cert-manager: the operator's <name>-tls
    cert_manager: CertManager | None = None
    auth_clients: str = "no"


@dataclass
class FailoverRequest:
    shard: str
    id: str


@dataclass
class ClusterSpec:
    shards: int = 3
    replicas: int = 1
    port: int = 6379
    image: str = ""
    image_pull_policy: str = "IfNotPresent"
    image_pull_secrets: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    storage: Storage = field(default_factory=Storage)
    persistence: Persistence = field(default_factory=Persistence)
    durability: str = "async"
    down_after_ms: int = 3000
    maxmemory: str = ""
    auth_secret: str = ""
    auth_key: str = "password"
    rotation_grace_seconds: int = 60
    users: list[AclUser] = field(default_factory=list)
    tls: Tls = field(default_factory=Tls)
    config: dict[str, str] = field(default_factory=dict)
    affinity: dict[str, Any] = field(default_factory=dict)
    anti_affinity: str = "soft"
    topology_spread: list[dict[str, Any]] = field(default_factory=list)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)
    pdb_enabled: bool = True
    pdb_max_unavailable: int = 1
    metrics: Metrics = field(default_factory=Metrics)
    announce: str = "PodIP"
    failover: FailoverRequest | None = None

    def control(self) -> Spec:
        """What the reconciler needs of it."""
        requests = {self.failover.id: self.failover.shard} if self.failover else {}
        return Spec(shards=self.shards, replicas=self.replicas, durability=self.durability,
                    down_after_ms=self.down_after_ms, failover_requests=requests)


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SpecError(f"{path}: must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def _int(value: Any, path: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SpecError(f"{path}: must be an integer within {low}-{high}, not {value!r}")
    return value


# Each node container's requests when neither the spec nor the operator gives any: a node
# runs one command thread plus its metrics exporter; with no request its pod is BestEffort,
# scheduled anywhere and the first evicted. Small enough for a laptop's cluster; production
# sizes them to the load (spec.resources, or the chart's nodeResources for every cluster).
DEFAULT_NODE_RESOURCES: dict[str, Any] = {"requests": {"cpu": "100m", "memory": "128Mi"}}


def parse_spec(raw: dict[str, Any], default_image: str = "",
               default_resources: dict[str, Any] | None = None) -> ClusterSpec:
    """``default_resources``: the operator's (REDSLOT_NODE_RESOURCES), else
    DEFAULT_NODE_RESOURCES, for a spec without ``resources``; a spec's own replaces it
    whole (``resources: {}`` asks for none)."""
    raw = raw or {}
    spec = ClusterSpec()
    spec.shards = _int(raw.get("shards", 3), "spec.shards", 1, 1000)
    spec.replicas = _int(raw.get("replicasPerShard", 1), "spec.replicasPerShard", 0, 5)
    spec.port = _int(raw.get("port", 6379), "spec.port", 1024, 55535)
    spec.image = raw.get("image") or default_image
    if not spec.image:
        raise SpecError("spec.image: empty, and the operator has no default image "
                        "(REDSLOT_IMAGE)")
    spec.image_pull_policy = _choice(raw.get("imagePullPolicy", "IfNotPresent"),
                                     "spec.imagePullPolicy", ("Always", "IfNotPresent", "Never"))
    spec.image_pull_secrets = list(raw.get("imagePullSecrets") or [])
    if raw.get("resources") is None:
        default = DEFAULT_NODE_RESOURCES if default_resources is None else default_resources
        spec.resources = copy.deepcopy(default)
    else:
        spec.resources = dict(raw["resources"])
    storage = raw.get("storage") or {}
    spec.storage = Storage(
        size=str(storage.get("size", "1Gi")), class_name=storage.get("className", "") or "",
        retention=_choice(storage.get("retention", "Retain"), "spec.storage.retention",
                          ("Retain", "Delete")),
        ephemeral=bool(storage.get("ephemeral", False)))
    persistence = raw.get("persistence") or {}
    spec.persistence = Persistence(
        appendonly=bool(persistence.get("appendonly", True)),
        appendfsync=_choice(persistence.get("appendfsync", "everysec"),
                            "spec.persistence.appendfsync", ("always", "everysec", "no")),
        save=str(persistence.get("save", Persistence.save)))
    spec.durability = _choice(raw.get("durability", "async"), "spec.durability",
                              ("async", "zero-loss"))
    if spec.durability == "zero-loss" and spec.replicas < 1:
        raise SpecError("spec.durability: zero-loss needs replicasPerShard >= 1")
    spec.down_after_ms = _int(raw.get("downAfterMilliseconds", 3000),
                              "spec.downAfterMilliseconds", 100, 600_000)
    spec.maxmemory = str(raw.get("maxmemory", "") or "")
    auth = raw.get("auth") or {}
    spec.auth_secret = auth.get("secretName", "") or ""
    spec.auth_key = auth.get("secretKey", "password") or "password"
    spec.rotation_grace_seconds = _int(auth.get("rotationGraceSeconds", 60),
                                       "spec.auth.rotationGraceSeconds", 0, 86_400)
    spec.users = parse_users(raw.get("users") or [])
    spec.tls = parse_tls(raw.get("tls") or {})
    config = {str(k): str(v) for k, v in (raw.get("config") or {}).items()}
    reserved = sorted(k for k in config if k.lower() in RESERVED_DIRECTIVES)
    if reserved:
        raise SpecError(f"spec.config: {', '.join(reserved)} set by the operator "
                        f"(use the spec's own fields)")
    spec.config = config
    spec.affinity = dict(raw.get("affinity") or {})
    spec.anti_affinity = _choice(raw.get("antiAffinity", "soft"), "spec.antiAffinity",
                                 ("soft", "hard", "none"))
    spec.topology_spread = list(raw.get("topologySpreadConstraints") or [])
    spec.tolerations = list(raw.get("tolerations") or [])
    spec.node_selector = {str(k): str(v) for k, v in (raw.get("nodeSelector") or {}).items()}
    pdb = raw.get("podDisruptionBudget") or {}
    spec.pdb_enabled = bool(pdb.get("enabled", True))
    spec.pdb_max_unavailable = _int(pdb.get("maxUnavailable", 1),
                                    "spec.podDisruptionBudget.maxUnavailable", 1, 6)
    metrics = raw.get("metrics") or {}
    monitor = metrics.get("serviceMonitor") or {}
    spec.metrics = Metrics(
        enabled=bool(metrics.get("enabled", True)),
        port=_int(metrics.get("port", 9121), "spec.metrics.port", 1024, 65535),
        service_monitor=bool(monitor.get("enabled", False)),
        service_monitor_interval=str(monitor.get("interval", "15s")),
        service_monitor_labels={str(k): str(v) for k, v in (monitor.get("labels") or {}).items()})
    if spec.metrics.enabled and spec.metrics.port in (spec.port, spec.port + 10000):
        raise SpecError("spec.metrics.port: clashes with the node's port or bus port")
    spec.announce = _choice(raw.get("announce", "PodIP"), "spec.announce",
                            ("PodIP", "Hostname"))
    failover = raw.get("failover") or {}
    if failover.get("shard") and failover.get("id"):
        spec.failover = FailoverRequest(str(failover["shard"]), str(failover["id"]))
    return spec


def parse_users(raw: list[Any]) -> list[AclUser]:
    users: list[AclUser] = []
    for index, item in enumerate(raw):
        path = f"spec.users[{index}]"
        name = str(item.get("name", ""))
        if not USER_NAME.match(name) or name == "default":
            raise SpecError(f"{path}.name: {name!r} is not a user name the operator may "
                            f"manage (letters, digits, _.:@-; not default)")
        if any(user.name == name for user in users):
            raise SpecError(f"{path}.name: {name} appears twice")
        rules = item.get("rules") or []
        for rule in rules:
            if not isinstance(rule, str) or not RULE.match(rule) \
                    or rule.lower() in OWNED_RULES:
                raise SpecError(f"{path}.rules: {rule!r} is not allowed (one ACL SETUSER "
                                f"rule per item; passwords and on/off belong to the operator)")
        secret = item.get("passwordSecret") or {}
        if not secret.get("name"):
            raise SpecError(f"{path}.passwordSecret.name: required")
        users.append(AclUser(name=name, rules=[str(r) for r in rules],
                             secret=str(secret["name"]),
                             key=str(secret.get("key", "password") or "password"),
                             enabled=bool(item.get("enabled", True))))
    return users


def parse_tls(raw: dict[str, Any]) -> Tls:
    tls = Tls(enabled=bool(raw.get("enabled", False)),
              secret_name=str(raw.get("secretName", "") or ""),
              auth_clients=_choice(raw.get("authClients", "no"), "spec.tls.authClients",
                                   ("no", "yes", "optional")))
    manager = raw.get("certManager") or {}
    issuer = manager.get("issuerRef") or {}
    if issuer.get("name"):
        tls.cert_manager = CertManager(
            issuer_name=str(issuer["name"]),
            issuer_kind=_choice(issuer.get("kind", "Issuer"),
                                "spec.tls.certManager.issuerRef.kind",
                                ("Issuer", "ClusterIssuer")),
            issuer_group=str(issuer.get("group", "cert-manager.io")),
            duration=str(manager.get("duration", "2160h")),
            renew_before=str(manager.get("renewBefore", "360h")))
    if tls.enabled and not tls.secret_name and tls.cert_manager is None:
        raise SpecError("spec.tls: enabled needs secretName or certManager.issuerRef")
    return tls
