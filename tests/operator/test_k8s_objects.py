"""The Kubernetes objects a RedisCluster spec becomes (pure builders, no API)."""

from __future__ import annotations

import pytest
from redslot.operator.k8s.objects import (
    Cluster,
    certificate,
    client_service,
    disruption_budget,
    headless_service,
    node_config,
    service_monitor,
    statefulset,
    template_hash,
)
from redslot.operator.k8s.settings import SpecError, parse_spec


def cluster(**spec: object) -> Cluster:
    return Cluster("cache", "prod", "uid-1", parse_spec(dict(spec), "redslot:1"))


def test_defaults_follow_the_crd() -> None:
    spec = parse_spec({"shards": 3}, "redslot:1")
    assert (spec.replicas, spec.port, spec.durability, spec.down_after_ms) == (1, 6379, "async",
                                                                               3000)
    assert spec.storage.size == "1Gi" and spec.storage.retention == "Retain"
    assert spec.metrics.enabled and spec.metrics.port == 9121
    assert spec.image == "redslot:1" and spec.announce == "PodIP"
    control = spec.control()
    assert (control.shards, control.replicas, control.failover_requests) == (3, 1, {})


@pytest.mark.parametrize("raw, message", [
    ({"shards": 0}, "spec.shards: must be an integer within 1-1000"),
    ({"shards": "3"}, "spec.shards: must be an integer"),
    ({"shards": 3, "replicasPerShard": 6}, "spec.replicasPerShard"),
    ({"shards": 3, "durability": "sync"}, "spec.durability: must be one of async, zero-loss"),
    ({"shards": 3, "replicasPerShard": 0, "durability": "zero-loss"},
     "zero-loss needs replicasPerShard >= 1"),
    ({"shards": 3, "config": {"requirepass": "x"}}, "spec.config: requirepass set by the operator"),
    ({"shards": 3, "metrics": {"port": 6379}}, "spec.metrics.port: clashes"),
    ({"shards": 3, "announce": "NodeIP"}, "spec.announce"),
    ({"shards": 3, "config": {"tls-port": "1"}}, "spec.config: tls-port set by the operator"),
    ({"shards": 3, "users": [{"name": "default", "passwordSecret": {"name": "s"}}]},
     r"spec.users\[0\].name"),
    ({"shards": 3, "users": [{"name": "app", "rules": [">secret"],
                              "passwordSecret": {"name": "s"}}]}, r"spec.users\[0\].rules"),
    ({"shards": 3, "users": [{"name": "app", "rules": ["nopass"],
                              "passwordSecret": {"name": "s"}}]}, r"spec.users\[0\].rules"),
    ({"shards": 3, "users": [{"name": "app", "rules": ["~a b"],
                              "passwordSecret": {"name": "s"}}]}, r"spec.users\[0\].rules"),
    ({"shards": 3, "users": [{"name": "app"}]}, r"spec.users\[0\].passwordSecret.name"),
    ({"shards": 3, "tls": {"enabled": True}}, "spec.tls: enabled needs secretName"),
    ({"shards": 3, "tls": {"authClients": "maybe"}}, "spec.tls.authClients"),
])
def test_bad_specs_are_refused_with_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        parse_spec(raw, "redslot:1")


def test_a_spec_without_image_needs_the_operator_default() -> None:
    with pytest.raises(SpecError, match="spec.image"):
        parse_spec({"shards": 1}, "")


def test_failover_request_becomes_a_control_request() -> None:
    spec = parse_spec({"shards": 2, "failover": {"shard": "shard-1", "id": "a1"}}, "img")
    assert spec.control().failover_requests == {"a1": "shard-1"}


def test_statefulset_runs_the_node_with_cluster_settings() -> None:
    c = cluster(shards=3, replicasPerShard=2, port=7000)
    sts = statefulset(c, "shard-1", 3, "abc")
    meta, spec = sts["metadata"], sts["spec"]
    assert meta["name"] == "cache-shard-1" and meta["namespace"] == "prod"
    assert meta["ownerReferences"][0] == {
        "apiVersion": "redslot.dev/v1alpha1", "kind": "RedisCluster", "name": "cache",
        "uid": "uid-1", "controller": True, "blockOwnerDeletion": True}
    assert spec["replicas"] == 3 and spec["serviceName"] == "cache-nodes"
    assert spec["updateStrategy"] == {"type": "OnDelete"}  # the operator rolls pods itself
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["selector"]["matchLabels"] == {"redslot.dev/cluster": "cache",
                                               "redslot.dev/shard": "shard-1"}
    template = spec["template"]
    assert template["metadata"]["labels"]["redslot.dev/shard"] == "shard-1"
    assert template["metadata"]["annotations"]["redslot.dev/template-hash"] == "abc"
    container = template["spec"]["containers"][0]
    assert container["image"] == "redslot:1"
    assert container["command"][:6] == ["redslot", "node", "/etc/redslot/redslot.conf",
                                        "--port", "7000", "--dir"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "redis": 7000, "bus": 17000, "metrics": 9121}
    password = next(e for e in container["env"] if e["name"] == "REDSLOT_PASSWORD")
    # The operator's own Secret: the password every node accepts now (rotation).
    assert password["valueFrom"]["secretKeyRef"] == {"name": "cache-credentials",
                                                     "key": "masterauth"}
    assert container["command"][7:9] == ["--aclfile", "/etc/redslot-acl/users.acl"]
    acl = next(v for v in template["spec"]["volumes"] if v["name"] == "acl")
    assert acl["secret"]["secretName"] == "cache-credentials"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    # A slow start is the startup probe's to judge (up to 3 minutes), not liveness's.
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["startupProbe"]["periodSeconds"] * \
        container["startupProbe"]["failureThreshold"] >= 180
    assert "initialDelaySeconds" not in container["livenessProbe"]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert template["spec"]["securityContext"]["runAsUser"] == 10001
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                            "whenScaled": "Retain"}


def test_soft_anti_affinity_spreads_a_shard_across_hosts() -> None:
    affinity = statefulset(cluster(shards=1), "shard-0", 2, "h")["spec"]["template"]["spec"][
        "affinity"]["podAntiAffinity"]
    term = affinity["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"]["redslot.dev/shard"] == "shard-0"
    hard = statefulset(cluster(shards=1, antiAffinity="hard"), "shard-0", 2, "h")
    assert "requiredDuringSchedulingIgnoredDuringExecution" in \
        hard["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]


def node_resources(**spec: object) -> object:
    pod = statefulset(cluster(shards=1, **spec), "shard-0", 1, "h")["spec"]["template"]["spec"]
    return pod["containers"][0].get("resources")


def test_node_containers_request_cpu_and_memory_by_default() -> None:
    assert node_resources() == {"requests": {"cpu": "100m", "memory": "128Mi"}}


def test_spec_resources_replace_the_default_whole() -> None:
    assert node_resources(resources={"limits": {"cpu": "2"}}) == {"limits": {"cpu": "2"}}
    assert node_resources(resources={}) is None  # {}: no requests, asked for


def test_the_operators_default_resources_apply_to_specs_without_any() -> None:
    own = {"requests": {"cpu": "250m"}}
    assert parse_spec({"shards": 1}, "redslot:1", own).resources == own
    assert parse_spec({"shards": 1, "resources": {"requests": {"cpu": "1"}}}, "redslot:1",
                      own).resources == {"requests": {"cpu": "1"}}


def test_scheduling_fields_pass_through() -> None:
    c = cluster(shards=1, tolerations=[{"key": "redis", "operator": "Exists"}],
                nodeSelector={"disk": "ssd"},
                topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": "zone",
                                            "whenUnsatisfiable": "ScheduleAnyway"}],
                resources={"limits": {"memory": "1Gi"}})
    pod = statefulset(c, "shard-0", 1, "h")["spec"]["template"]["spec"]
    assert pod["tolerations"] == [{"key": "redis", "operator": "Exists"}]
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "zone"
    assert pod["containers"][0]["resources"] == {"limits": {"memory": "1Gi"}}


def test_ephemeral_storage_uses_empty_dir() -> None:
    sts = statefulset(cluster(shards=1, storage={"ephemeral": True}), "shard-0", 1, "h")
    assert "volumeClaimTemplates" not in sts["spec"]
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}


def test_node_config_carries_persistence_durability_and_passthrough() -> None:
    text = node_config(parse_spec({
        "shards": 1, "durability": "zero-loss",
        "persistence": {"appendonly": True, "appendfsync": "always", "save": ""},
        "maxmemory": "100mb", "config": {"maxmemory-policy": "allkeys-lru"}}, "img"))
    lines = text.splitlines()
    for line in ("cluster-enabled yes", "cluster-await-confirm yes", "appendonly yes",
                 "appendfsync always", 'save ""', "min-replicas-ack 1", "maxmemory 100mb",
                 "maxmemory-policy allkeys-lru"):
        assert line in lines


def test_services_and_budget() -> None:
    c = cluster(shards=2)
    headless = headless_service(c)
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True  # held nodes are reachable
    client = client_service(c)
    assert client["metadata"]["name"] == "cache"
    assert client["spec"]["ports"] == [{"name": "redis", "port": 6379, "targetPort": "redis",
                                        "protocol": "TCP"}]
    pdb = disruption_budget(c, "shard-0")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["redslot.dev/shard"] == "shard-0"


def test_service_monitor_selects_the_headless_service() -> None:
    c = cluster(shards=1, metrics={"serviceMonitor": {"enabled": True, "interval": "30s",
                                                      "labels": {"release": "prom"}}})
    monitor = service_monitor(c)
    assert monitor["metadata"]["labels"]["release"] == "prom"
    endpoint = monitor["spec"]["endpoints"][0]
    assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == ("metrics", "/metrics",
                                                                          "30s")
    # The dashboard filters by cluster and shard: the pods' labels become series labels.
    assert {r["targetLabel"] for r in endpoint["relabelings"]} == {"cluster", "shard"}


def test_template_hash_changes_with_what_pods_run_only() -> None:
    base = template_hash(cluster(shards=3))
    assert template_hash(cluster(shards=5, replicasPerShard=2)) == base  # sizes: no restart
    assert template_hash(cluster(shards=3, image="redslot:2")) != base
    assert template_hash(cluster(shards=3, persistence={"appendfsync": "always"})) != base


def test_users_parse_with_their_rules_and_secrets() -> None:
    spec = parse_spec({"shards": 1, "users": [
        {"name": "app", "rules": ["~app:*", "+@read", "(~cache:* +get)"],
         "passwordSecret": {"name": "app-secret"}},
        {"name": "metrics", "enabled": False, "rules": ["+info"],
         "passwordSecret": {"name": "m", "key": "pw"}}]}, "img")
    app, metrics = spec.users
    assert (app.name, app.rules, app.secret, app.key, app.enabled) == (
        "app", ["~app:*", "+@read", "(~cache:* +get)"], "app-secret", "password", True)
    assert (metrics.key, metrics.enabled) == ("pw", False)
    assert spec.rotation_grace_seconds == 60


def test_tls_serves_only_tls_from_the_mounted_secret() -> None:
    c = cluster(shards=1, port=7000, tls={"enabled": True, "secretName": "certs",
                                          "authClients": "optional"})
    pod = statefulset(c, "shard-0", 2, "h")["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    flags = dict(zip(command[3::2], command[4::2], strict=False))
    assert flags["--port"] == "0" and flags["--tls-port"] == "7000"
    assert flags["--tls-cert-file"] == "/etc/redslot-tls/tls.crt"
    assert flags["--tls-key-file"] == "/etc/redslot-tls/tls.key"
    assert flags["--tls-ca-cert-file"] == "/etc/redslot-tls/ca.crt"
    assert flags["--tls-auth-clients"] == "optional"
    assert flags["--tls-replication"] == flags["--tls-cluster"] == "yes"
    tls = next(v for v in pod["volumes"] if v["name"] == "tls")
    assert tls["secret"]["secretName"] == "certs"
    assert {"name": "tls", "mountPath": "/etc/redslot-tls", "readOnly": True} in \
        pod["containers"][0]["volumeMounts"]
    plain = statefulset(cluster(shards=1), "shard-0", 2, "h")["spec"]["template"]["spec"]
    assert all(v["name"] != "tls" for v in plain["volumes"])


def test_cert_manager_certificate_names_every_node_and_the_service() -> None:
    c = cluster(shards=1, tls={"enabled": True, "certManager": {
        "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}})
    cert = certificate(c)
    assert cert["apiVersion"] == "cert-manager.io/v1" and cert["kind"] == "Certificate"
    assert cert["metadata"]["name"] == cert["spec"]["secretName"] == "cache-tls"
    assert "*.cache-nodes.prod.svc" in cert["spec"]["dnsNames"]
    assert "cache.prod.svc" in cert["spec"]["dnsNames"]
    assert cert["spec"]["issuerRef"] == {"name": "ca", "kind": "ClusterIssuer",
                                         "group": "cert-manager.io"}
    assert {"server auth", "client auth"} <= set(cert["spec"]["usages"])
