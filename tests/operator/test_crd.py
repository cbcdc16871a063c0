"""The RedisCluster CRD against K8S_CONTRACT.md: every field, default, range and enum, the
printer columns, and the CEL rules (evaluated offline with cel-python when it is installed;
the e2e tests run them in a real kube-apiserver)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from redis_cluster_crd import crd, crd_schema, field, rules, validate_custom_resource

# Every field of K8S_CONTRACT.md, with its default where the contract gives one.
SPEC_DEFAULTS: dict[str, Any] = {
    "shards": None, "replicasPerShard": 1, "port": 6379, "image": "",
    "imagePullPolicy": "IfNotPresent", "imagePullSecrets": None, "resources": None,
    "storage.size": "1Gi", "storage.className": "", "storage.retention": "Retain",
    "storage.ephemeral": False, "persistence.appendonly": True,
    "persistence.appendfsync": "everysec", "persistence.save": "3600 1 300 100 60 10000",
    "durability": "async", "downAfterMilliseconds": 3000, "maxmemory": "",
    "auth.secretName": "", "auth.secretKey": "password", "config": None, "affinity": None,
    "antiAffinity": "soft", "topologySpreadConstraints": None, "tolerations": None,
    "nodeSelector": None, "podDisruptionBudget.enabled": True,
    "podDisruptionBudget.maxUnavailable": 1, "metrics.enabled": True, "metrics.port": 9121,
    "metrics.serviceMonitor.enabled": False, "metrics.serviceMonitor.interval": "15s",
    "metrics.serviceMonitor.labels": None, "announce": "PodIP", "failover": None,
    "failover.shard": None, "failover.id": None, "auth.rotationGraceSeconds": 60,
    "users": None, "tls.enabled": False, "tls.secretName": "", "tls.authClients": "no",
    "tls.certManager": None, "tls.certManager.issuerRef": None,
    "tls.certManager.duration": "2160h", "tls.certManager.renewBefore": "360h",
}
STATUS_FIELDS = (
    "phase", "observedGeneration", "ready", "epoch", "conditions", "shards", "reshard",
    "reshard.total", "reshard.done", "reshard.keysMoved", "reshard.keysPerSecond",
    "reshard.moves", "lastFailover.shard", "lastFailover.from", "lastFailover.to",
    "lastFailover.reason", "lastFailover.at", "lastFailover.seconds", "failovers", "message",
    "record", "credentials",
)
ENUMS = {
    "spec.imagePullPolicy": ["Always", "IfNotPresent", "Never"],
    "spec.storage.retention": ["Retain", "Delete"],
    "spec.persistence.appendfsync": ["always", "everysec", "no"],
    "spec.durability": ["async", "zero-loss"],
    "spec.antiAffinity": ["soft", "hard", "none"],
    "spec.announce": ["PodIP", "Hostname"],
    "status.phase": ["Forming", "Resharding", "Scaling", "Degraded", "Ready", "Failed"],
}
RESERVED_DIRECTIVES = (
    "port", "bind", "dir", "cluster-enabled", "cluster-config-file", "cluster-port",
    "cluster-announce-ip", "cluster-announce-port", "cluster-announce-bus-port",
    "cluster-announce-hostname", "requirepass", "masterauth", "masteruser", "replicaof",
    "slaveof", "metrics-port", "include", "appendonly", "appendfsync", "save", "maxmemory",
    "min-replicas-ack",
)


def test_crd_names_avoid_the_replicationcontroller_short_name():
    names = crd()["spec"]["names"]
    assert (crd()["spec"]["group"], names["kind"], names["plural"], names["singular"]) == (
        "redslot.dev", "RedisCluster", "redisclusters", "rediscluster")
    assert names["shortNames"] == ["rdc"] and names["categories"] == ["redslot"]


def test_crd_serves_v1alpha1_with_a_status_subresource():
    (version,) = crd()["spec"]["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}


def test_crd_schema_has_every_contract_field_with_its_default():
    spec = crd_schema()["properties"]["spec"]
    assert spec["required"] == ["shards"]
    for path, default in SPEC_DEFAULTS.items():
        schema = field(spec, path)
        assert schema.get("description"), path
        if default is not None:
            assert schema.get("default") == default, path
    for parent in ("storage", "persistence", "auth", "podDisruptionBudget", "metrics",
                   "metrics.serviceMonitor", "tls"):
        assert field(spec, parent)["default"] == {}, f"{parent} needs a default for its fields"


def test_crd_schema_has_every_status_field():
    status = crd_schema()["properties"]["status"]
    for path in STATUS_FIELDS:
        assert field(status, path).get("description"), path
    shard = field(status, "shards")["items"]["properties"]
    assert set(shard) >= {"name", "master", "replicas", "slots", "slotCount"}
    assert set(field(status, "reshard.moves")["items"]["properties"]) == {"from", "to", "slots"}
    condition = field(status, "conditions")["items"]["properties"]
    assert set(condition) == {"type", "status", "reason", "message", "lastTransitionTime",
                              "observedGeneration"}
    assert field(status, "record")["type"] == "string", "a merge patch must replace it whole"


def test_crd_schema_ranges_and_enums():
    spec = crd_schema()["properties"]["spec"]
    assert (field(spec, "shards")["minimum"], field(spec, "shards")["maximum"]) == (1, 1000)
    replicas = field(spec, "replicasPerShard")
    assert (replicas["minimum"], replicas["maximum"]) == (0, 5)
    assert (field(spec, "port")["minimum"], field(spec, "port")["maximum"]) == (1024, 55535)
    assert field(spec, "downAfterMilliseconds")["minimum"] == 100
    for path, values in ENUMS.items():
        assert field(crd_schema(), path)["enum"] == values, path


def test_crd_quantities_are_int_or_string_with_a_pattern():
    spec = crd_schema()["properties"]["spec"]
    for schema in (field(spec, "storage.size"),
                   field(spec, "resources.requests")["additionalProperties"],
                   field(spec, "resources.limits")["additionalProperties"]):
        assert schema["x-kubernetes-int-or-string"] is True
        pattern = re.compile(schema["pattern"])
        assert all(pattern.match(q) for q in ("1Gi", "500m", "2", "1.5G", "1e3"))
        assert not any(pattern.match(q) for q in ("1 Gi", "lots", "1GiB"))


def test_crd_schema_is_structural():
    def walk(schema: dict[str, Any], path: str) -> None:
        assert "type" in schema or schema.get("x-kubernetes-int-or-string"), path
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{path}.{name}")
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{path}[]")
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"], f"{path}{{}}")
    walk(crd_schema(), "")


def test_crd_printer_columns():
    columns = {c["name"]: c for c in crd()["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert list(columns) == ["Shards", "Replicas", "Ready", "Phase", "Epoch", "Age"]
    assert columns["Shards"] == {**columns["Shards"], "jsonPath": ".spec.shards",
                                 "type": "integer"}
    assert columns["Replicas"]["jsonPath"] == ".spec.replicasPerShard"
    assert columns["Ready"]["jsonPath"] == ".status.ready"
    assert columns["Phase"]["jsonPath"] == ".status.phase"
    assert columns["Epoch"]["jsonPath"] == ".status.epoch" and columns["Epoch"]["priority"] == 1
    assert columns["Age"] == {"name": "Age", "type": "date",
                              "jsonPath": ".metadata.creationTimestamp"}


def test_crd_cel_rules_of_the_contract():
    root = crd_schema()
    spec = root["properties"]["spec"]
    assert "self.durability != 'zero-loss' || self.replicasPerShard >= 1" in rules(spec)
    assert rules(field(spec, "port")) == ["self == oldSelf"]
    class_rule, size_rule, ephemeral_rule = rules(field(spec, "storage"))
    assert "self.size == oldSelf.size" in size_rule
    assert "self.ephemeral == oldSelf.ephemeral" in ephemeral_rule
    assert "oldSelf.className" in class_rule and "self.className == oldSelf.className" in class_rule
    shards_rule, replicas_rule = rules(root)
    for rule in (shards_rule, replicas_rule):
        assert "oldSelf.status.phase != 'Resharding'" in rule
    assert "self.spec.shards >= oldSelf.spec.shards" in shards_rule
    assert "self.spec.replicasPerShard > 0" in replicas_rule
    config_rule, config_names_rule = rules(field(spec, "config"))
    assert config_names_rule == "self.all(k, k.matches('^[a-z][a-z0-9-]*$'))"
    reserved = re.search(r"\[(.*)\]\.all\(k, !\(k in self\)\)", config_rule)
    assert reserved is not None
    refused = {name.strip(" '") for name in reserved.group(1).split(",")}
    assert refused >= set(RESERVED_DIRECTIVES)


def test_crd_refuses_every_directive_the_operator_reserves():
    settings = pytest.importorskip("redslot.operator.k8s.settings")
    config_rule, _ = rules(field(crd_schema()["properties"]["spec"], "config"))
    for directive in settings.RESERVED_DIRECTIVES:
        assert f"'{directive}'" in config_rule, directive


def cel(rule: str, self_value: Any, old_value: Any = None) -> bool:
    celpy = pytest.importorskip("celpy", reason="cel-python evaluates the CEL rules offline")
    env = celpy.Environment()
    activation = {"self": celpy.json_to_cel(self_value)}
    if old_value is not None:
        activation["oldSelf"] = celpy.json_to_cel(old_value)
    return bool(env.program(env.compile(rule)).evaluate(activation))


def test_cel_rules_refuse_unsafe_specs():
    root = crd_schema()
    spec = root["properties"]["spec"]
    zero_loss, metrics_port = rules(spec)
    assert not cel(zero_loss, {"durability": "zero-loss", "replicasPerShard": 0})
    assert cel(zero_loss, {"durability": "zero-loss", "replicasPerShard": 1})
    assert cel(zero_loss, {"durability": "async", "replicasPerShard": 0})
    assert not cel(metrics_port, {"port": 6379, "metrics": {"enabled": True, "port": 16379}})
    assert not cel(metrics_port, {"port": 9121, "metrics": {"enabled": True, "port": 9121}})
    assert cel(metrics_port, {"port": 6379, "metrics": {"enabled": True, "port": 9121}})
    assert cel(metrics_port, {"port": 6379, "metrics": {"enabled": False, "port": 6379}})
    config_rule, config_names_rule = rules(field(spec, "config"))
    assert cel(config_rule, {"maxmemory-policy": "allkeys-lru", "hz": "20"})
    for directive in RESERVED_DIRECTIVES:
        assert not cel(config_rule, {"hz": "20", directive: "x"}), directive
    assert cel(config_names_rule, {"maxmemory-policy": "allkeys-lru", "hz": "20"})
    for name in ("PORT", "Port", "port ", "-port", ""):
        assert not cel(config_names_rule, {name: "7000"}), name
    source_rule, immutable_rule = rules(field(spec, "tls"))
    assert not cel(source_rule, {"enabled": True, "secretName": ""})
    assert cel(source_rule, {"enabled": True, "secretName": "certs"})
    assert cel(source_rule, {"enabled": True, "certManager": {"issuerRef": {"name": "ca"}}})
    assert cel(source_rule, {}) and cel(source_rule, {"enabled": False})
    assert not cel(immutable_rule, {"enabled": True}, {"enabled": False})
    assert not cel(immutable_rule, {}, {"enabled": True})
    assert cel(immutable_rule, {"enabled": False}, {})
    (default_rule,) = rules(field(spec, "users")["items"]["properties"]["name"])
    assert not cel(default_rule, "default") and cel(default_rule, "app")
    (owned_rule,) = rules(field(spec, "users")["items"]["properties"]["rules"]["items"])
    for rule in ("nopass", "RESET", "on", "off", "resetpass"):
        assert not cel(owned_rule, rule), rule
    assert cel(owned_rule, "+@read") and cel(owned_rule, "~app:*")


def test_cel_rules_refuse_unsafe_changes():
    root = crd_schema()
    spec = root["properties"]["spec"]
    (port_rule,) = rules(field(spec, "port"))
    assert not cel(port_rule, 6380, 6379) and cel(port_rule, 6379, 6379)
    class_rule, size_rule, ephemeral_rule = rules(field(spec, "storage"))
    assert "self.size == oldSelf.size" in size_rule
    assert "self.ephemeral == oldSelf.ephemeral" in ephemeral_rule
    assert cel(class_rule, {"className": "fast"}, {"className": ""})
    assert cel(class_rule, {"className": "fast"}, {})
    assert cel(class_rule, {"className": "fast"}, {"className": "fast"})
    assert not cel(class_rule, {"className": "slow"}, {"className": "fast"})
    assert not cel(class_rule, {}, {"className": "fast"})
    shards_rule, replicas_rule = rules(root)
    resharding = {"spec": {"shards": 4, "replicasPerShard": 1}, "status": {"phase": "Resharding"}}
    ready = {**resharding, "status": {"phase": "Ready"}}
    fewer = {"spec": {"shards": 3, "replicasPerShard": 1}}
    no_replicas = {"spec": {"shards": 4, "replicasPerShard": 0}}
    assert not cel(shards_rule, fewer, resharding)
    assert cel(shards_rule, fewer, ready) and cel(shards_rule, fewer, {"spec": resharding["spec"]})
    assert cel(shards_rule, {"spec": {"shards": 5, "replicasPerShard": 1}}, resharding)
    assert not cel(replicas_rule, no_replicas, resharding)
    assert cel(replicas_rule, no_replicas, ready)
    assert cel(replicas_rule, no_replicas, {**no_replicas, "status": {"phase": "Resharding"}})


def test_crd_schema_refuses_bad_specs():
    crds = [crd()]
    good = {"apiVersion": "redslot.dev/v1alpha1", "kind": "RedisCluster",
            "metadata": {"name": "foo"}, "spec": {"shards": 3}}
    validate_custom_resource(good, crds)
    validate_custom_resource({**good, "spec": {"shards": 3, "users": [
        {"name": "app", "rules": ["~app:*", "+@read", "(~cache:* +get)"],
         "passwordSecret": {"name": "s"}}],
        "tls": {"enabled": True, "certManager": {"issuerRef": {"name": "ca"}}}}}, crds)
    for bad in ({"shards": 0}, {"shards": 1001}, {"shards": 3, "replicasPerShard": 6},
                {"shards": 3, "port": 80}, {"shards": 3, "durability": "sync"},
                {"shards": 3, "storage": {"size": "big"}}, {"shards": 3, "maxmemory": "1 gb"},
                {"shards": 3, "persistence": {"save": "60"}}, {"shards": 3, "failover": {"shard": "x", "id": "1"}},
                {"shards": 3, "failover": {"shard": "shard-1"}},
                {"shards": 3, "shard": 4}, {"replicasPerShard": 1},
                {"shards": 3, "users": [{"name": "app"}]},
                {"shards": 3, "users": [{"name": "a b", "passwordSecret": {"name": "s"}}]},
                {"shards": 3, "users": [{"name": "app", "rules": [">pw"],
                                         "passwordSecret": {"name": "s"}}]},
                {"shards": 3, "users": [{"name": "app", "rules": ["~a b"],
                                         "passwordSecret": {"name": "s"}}]},
                {"shards": 3, "tls": {"authClients": "maybe"}},
                {"shards": 3, "tls": {"certManager": {"issuerRef": {"kind": "Issuer"}}}}):
        with pytest.raises(jsonschema.ValidationError):
            validate_custom_resource({**good, "spec": bad}, crds)
