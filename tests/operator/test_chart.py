"""The Helm chart, manifests/ and the Grafana dashboard, checked offline.

helm and kubectl come from scripts/kube-tools; rendered objects are validated against the
Kubernetes schemas of every supported version (kubernetes-validate, strict), custom resources
against the chart's own CRDs (test_crd.py checks the CRD itself). The e2e tests apply the
chart to a real kube-apiserver.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from redis_cluster_crd import validate_custom_resource

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "redslot"
KUBERNETES_VERSIONS = ("1.30.0", "1.31.0", "1.32.0")
VALUE_SETS = {
    "defaults": (),
    "watch-all-namespaces": ("watchAllNamespaces=true",),
    "example": ("example.enabled=true",),
    "service-monitor": ("operator.serviceMonitor.enabled=true",),
    "network-policy-restricted": (
        "networkPolicy.namespaces[0]=apps",
        "networkPolicy.clients.from[0].namespaceSelector.matchLabels.team=apps",
        "networkPolicy.metrics.from[0].namespaceSelector.matchLabels.team=monitoring"),
    "no-network-policy": ("networkPolicy.enabled=false",),
}
# Kinds kubernetes-validate has no schema for: checked against the chart's CRDs, or (the
# ServiceMonitor, whose CRD belongs to the Prometheus Operator) by test_service_monitor_*.
CUSTOM_KINDS = {"RedisCluster", "KopfPeering", "ClusterKopfPeering", "ServiceMonitor"}

# What the operator's ServiceAccount must be able to do (the contract's RBAC list).
NEEDED_GRANTS = {
    ("redslot.dev", "redisclusters"): {"get", "list", "watch", "patch", "update"},
    ("redslot.dev", "redisclusters/status"): {"get", "list", "watch", "patch", "update"},
    ("redslot.dev", "redisclusters/finalizers"): {"get", "list", "watch", "patch", "update"},
    ("apps", "statefulsets"): {"get", "list", "watch", "create", "patch", "delete"},
    ("", "services"): {"get", "list", "watch", "create", "patch", "delete"},
    ("", "configmaps"): {"get", "list", "watch", "create", "patch", "delete"},
    ("", "secrets"): {"get", "list", "watch", "create", "patch", "delete"},
    ("", "pods"): {"get", "list", "watch", "delete"},
    ("", "persistentvolumeclaims"): {"get", "list", "delete"},
    ("", "events"): {"create", "patch"},
    ("events.k8s.io", "events"): {"create", "patch"},
    ("policy", "poddisruptionbudgets"): {"get", "list", "watch", "create", "patch", "delete"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"},
    ("monitoring.coreos.com", "servicemonitors"): {"get", "create", "patch", "delete"},
    ("cert-manager.io", "certificates"): {"get", "create", "patch", "delete"},
}
# Metric names the dashboard may use: redis_exporter's, the nodes' own and the operator's.
DASHBOARD_METRICS = {
    "redis_up", "redis_commands_processed_total", "redis_memory_used_bytes",
    "redis_memory_max_bytes", "redis_keyspace_hits_total", "redis_keyspace_misses_total",
    "redis_connected_clients", "redis_evicted_keys_total", "redis_expired_keys_total",
    "redis_db_keys", "redis_connected_slaves", "redis_master_repl_offset",
    "redis_slave_repl_offset", "redis_master_link_up", "redis_cluster_state",
    "redis_cluster_slots_assigned", "redis_cluster_slots_ok", "redis_cluster_slots_fail",
    "redis_commands_duration_seconds_total", "redis_commands_total",
    "redslot_slot_keys", "redslot_slots_migrating", "redslot_slots_importing",
    "redslot_migration_keys_total", "redslot_zero_loss_acks_pending",
    "redslot_operator_reconcile_total", "redslot_operator_reconcile_errors_total",
    "redslot_operator_failovers_total", "redslot_operator_reshard_slots_done",
    "redslot_operator_reshard_slots_total", "redslot_operator_slots_moved_total",
    "redslot_operator_nodes",
}
DASHBOARD_HISTOGRAMS = {"redslot_operator_failover_duration_seconds"}


@pytest.fixture(scope="session")
def kube_bin() -> Path:
    out = subprocess.run([str(ROOT / "scripts" / "kube-tools")], capture_output=True,
                         text=True, timeout=600, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def helm(kube_bin: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(kube_bin / "helm"), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


@functools.cache
def _render(bin_dir: str, sets: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    args = ["template", "redslot", str(CHART), "--namespace", "redslot", "--include-crds"]
    for value in sets:
        args += ["--set", value]
    out = helm(Path(bin_dir), *args)
    assert out.returncode == 0, out.stderr
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def render(kube_bin: Path, *sets: str) -> tuple[dict[str, Any], ...]:
    return _render(str(kube_bin), sets)


def only(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


# --- helm ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sets", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_helm_lint_strict_is_clean(kube_bin, sets):
    args = ["lint", "--strict", str(CHART)]
    for value in sets:
        args += ["--set", value]
    out = helm(kube_bin, *args)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[WARNING]" not in out.stdout and "[ERROR]" not in out.stdout, out.stdout
    assert "0 chart(s) failed" in out.stdout


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("sets", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_rendered_objects_are_valid_kubernetes_objects(kube_bin, sets, version):
    docs = render(kube_bin, *sets)
    crds = only(docs, "CustomResourceDefinition")
    assert {c["metadata"]["name"] for c in crds} == {
        "redisclusters.redslot.dev", "kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev"}
    for doc in docs:
        if doc["kind"] == "ServiceMonitor":
            continue
        if doc["kind"] in CUSTOM_KINDS:
            validate_custom_resource(doc, crds)
        else:
            kubernetes_validate.validate(doc, version, strict=True)


def test_strict_validation_refuses_an_unknown_field(kube_bin):
    deployment = json.loads(json.dumps(only(render(kube_bin), "Deployment")[0]))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.32.0", strict=True)


def test_manifests_are_in_sync_with_the_chart():
    out = subprocess.run([str(ROOT / "scripts" / "render-manifests"), "--check"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_manifests_example_is_a_valid_cluster_of_three_shards_with_one_replica():
    crds = list(yaml.safe_load_all((ROOT / "manifests" / "crds.yaml").read_text()))
    example = yaml.safe_load((ROOT / "manifests" / "example-rediscluster.yaml").read_text())
    validate_custom_resource(example, [c for c in crds if c])
    assert example["spec"]["shards"] == 3 and example["spec"]["replicasPerShard"] == 1


# --- RBAC, operator, metrics ---------------------------------------------------------------

@pytest.mark.parametrize("sets", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_rbac_has_no_wildcards(kube_bin, sets):
    for role in only(render(kube_bin, *sets), "Role") + only(render(kube_bin, *sets),
                                                                    "ClusterRole"):
        for rule in role["rules"]:
            for key in ("apiGroups", "resources", "verbs"):
                assert not any("*" in item for item in rule[key]), (role["metadata"], rule)
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])


def grants(roles: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for role in roles:
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def test_rbac_is_namespaced_by_default(kube_bin):
    docs = render(kube_bin)
    (role,) = only(docs, "Role")
    (binding,) = only(docs, "RoleBinding")
    (cluster_role,) = only(docs, "ClusterRole")
    assert role["metadata"]["namespace"] == "redslot"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "redslot-operator",
                                    "namespace": "redslot"}]
    assert grants([cluster_role]) == {
        ("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"}}
    allowed = grants([role, cluster_role])
    for key, verbs in NEEDED_GRANTS.items():
        assert verbs <= allowed.get(key, set()), key
    assert allowed[("kopf.dev", "kopfpeerings")] == {"get", "list", "watch", "patch"}
    assert ("", "namespaces") not in allowed and ("", "pods/exec") not in allowed


def test_rbac_is_cluster_wide_when_watching_all_namespaces(kube_bin):
    docs = render(kube_bin, "watchAllNamespaces=true")
    assert not only(docs, "Role") and not only(docs, "RoleBinding")
    (cluster_role,) = only(docs, "ClusterRole")
    (binding,) = only(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    allowed = grants([cluster_role])
    for key, verbs in NEEDED_GRANTS.items():
        assert verbs <= allowed.get(key, set()), key
    assert allowed[("kopf.dev", "clusterkopfpeerings")] == {"get", "list", "watch", "patch"}
    assert allowed[("", "namespaces")] == {"get", "list", "watch"}


def operator_container(docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    (deployment,) = only(docs, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_operator_runs_in_the_release_namespace_by_default(kube_bin):
    docs = render(kube_bin)
    (deployment,) = only(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "redslot-operator"
    container = operator_container(docs)
    assert container["command"] == ["redslot"]
    assert container["args"][:3] == ["operator", "--namespace", "redslot"]
    assert shlex.join(container["args"][3:]) == (
        "--peering redslot --liveness-port 8080 --metrics-port 9090")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["REDSLOT_IMAGE"] == "redslot:0.1.0"
    (peering,) = only(docs, "KopfPeering")
    assert peering["metadata"] == {**peering["metadata"], "name": "redslot",
                                   "namespace": "redslot"}


def test_operator_watches_all_namespaces_when_asked(kube_bin):
    docs = render(kube_bin, "watchAllNamespaces=true")
    assert operator_container(docs)["args"][:2] == ["operator", "--all-namespaces"]
    (peering,) = only(docs, "ClusterKopfPeering")
    assert "namespace" not in peering["metadata"]


@pytest.mark.parametrize("sets", [(), ("watchAllNamespaces=true",)], ids=["namespaced", "all"])
def test_operator_command_line_parses(kube_bin, sets):
    operator_main = pytest.importorskip("redslot.operator.k8s.main")
    container = operator_container(render(kube_bin, *sets))
    args = operator_main.parse(container["args"][1:])
    assert args.all_namespaces == bool(sets)
    assert args.namespace == ([] if sets else ["redslot"])
    assert (args.peering, args.liveness_port, args.metrics_port) == ("redslot", 8080, 9090)


def test_operator_pod_is_locked_down(kube_bin):
    docs = render(kube_bin)
    (deployment,) = only(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = operator_container(docs)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    resources = operator_container(docs)["resources"]
    assert resources["requests"]["cpu"] and resources["limits"]["memory"]


def node_resources_env(docs: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """The node resources the operator gets, parsed as the operator parses them."""
    operator_main = pytest.importorskip("redslot.operator.k8s.main")
    env = {e["name"]: e.get("value") for e in operator_container(docs)["env"]}
    return operator_main.node_resources(env["REDSLOT_NODE_RESOURCES"])


def test_node_pods_get_cpu_and_memory_requests_by_default(kube_bin):
    assert node_resources_env(render(kube_bin)) == {
        "requests": {"cpu": "100m", "memory": "128Mi"}}


def test_node_resources_are_a_chart_value(kube_bin):
    docs = render(kube_bin, "nodeResources.requests.cpu=2", "nodeResources.limits.memory=4Gi")
    assert node_resources_env(docs) == {"requests": {"cpu": 2, "memory": "128Mi"},
                                        "limits": {"memory": "4Gi"}}


def test_operator_liveness_probe_is_kopfs_endpoint(kube_bin):
    container = operator_container(render(kube_bin))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probe = container["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz" and ports[probe["port"]] == 8080


def test_metrics_service_exposes_the_operator_metrics_port(kube_bin):
    docs = render(kube_bin)
    (service,) = only(docs, "Service")
    (deployment,) = only(docs, "Deployment")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9090,
                                         "targetPort": "metrics", "protocol": "TCP"}]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert not only(docs, "ServiceMonitor")


def test_service_monitor_selects_the_operator_metrics_service(kube_bin):
    docs = render(kube_bin, "operator.serviceMonitor.enabled=true")
    (monitor,) = only(docs, "ServiceMonitor")
    (service,) = only(docs, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"][
        "labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["redslot"]}
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics",
                                             "interval": "30s"}]


def test_example_cluster_only_when_enabled(kube_bin):
    assert not only(render(kube_bin), "RedisCluster")
    (example,) = only(render(kube_bin, "example.enabled=true"), "RedisCluster")
    assert example["metadata"] == {"name": "example", "namespace": "redslot"}


# --- Grafana dashboard -----------------------------------------------------------------------

def dashboard() -> dict[str, Any]:
    return json.loads((CHART / "dashboards" / "redslot.json").read_text())


def expressions(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in board["templating"]["list"] if "definition" in v]
    return exprs


def test_dashboard_uses_only_known_metric_names():
    used = set()
    for expr in expressions(dashboard()):
        used.update(re.findall(r"\b(?:redis|redslot)_[a-z0-9_]+\b", expr))
    known = DASHBOARD_METRICS | {f"{h}_{suffix}" for h in DASHBOARD_HISTOGRAMS
                                 for suffix in ("bucket", "sum", "count")}
    assert used and used <= known, used - known
    assert DASHBOARD_METRICS <= used, DASHBOARD_METRICS - used


def test_dashboard_is_templated_by_datasource_cluster_and_instance():
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"cluster", "instance"} <= set(variables)
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert 'cluster=~"$cluster"' in target["expr"], panel["title"]


def test_dashboard_panels_do_not_overlap():
    cells: set[tuple[int, int]] = set()
    for panel in dashboard()["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & area, panel["title"]
        cells |= area
    assert len({p["id"] for p in dashboard()["panels"]}) == len(dashboard()["panels"])


def test_dashboard_ships_in_a_configmap_grafana_loads(kube_bin):
    (configmap,) = only(render(kube_bin), "ConfigMap")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["redslot.json"]) == dashboard()
    assert not only(render(kube_bin, "example.enabled=true", "dashboards.enabled=false"),
                    "ConfigMap")


# --- the NetworkPolicy ---------------------------------------------------------------------

def ingress_by_port(policy: dict[str, Any]) -> dict[str, list[list[dict[str, Any]] | None]]:
    """Port name -> the ``from`` of each rule admitting it (None: every source)."""
    found: dict[str, list[list[dict[str, Any]] | None]] = {}
    for rule in policy["spec"]["ingress"]:
        for port in rule["ports"]:
            found.setdefault(port["port"], []).append(rule.get("from"))
    return found


def test_network_policy_admits_clients_and_keeps_node_paths_to_operator_and_peers(kube_bin):
    (policy,) = only(render(kube_bin), "NetworkPolicy")
    assert policy["metadata"]["namespace"] == "redslot"
    assert policy["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "redslot", "app.kubernetes.io/managed-by": "redslot-operator",
        "app.kubernetes.io/component": "node"}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    ports = ingress_by_port(policy)
    assert set(ports) == {"redis", "bus", "metrics"}
    assert None in ports["redis"]  # clients from anywhere by default
    nodes = {"podSelector": {"matchLabels": policy["spec"]["podSelector"]["matchLabels"]}}
    assert ports["bus"] == [[nodes]]  # the bus: peers only
    (operator,) = [f for f in ports["redis"] if f and "namespaceSelector" in f[0]]
    assert operator[0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "redslot"}
    assert operator[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "operator"
    assert ports["metrics"] == [None]


def test_network_policy_values_restrict_clients_and_metrics_or_switch_it_off(kube_bin):
    policies = only(render(kube_bin, *VALUE_SETS["network-policy-restricted"]), "NetworkPolicy")
    assert [p["metadata"]["namespace"] for p in policies] == ["redslot", "apps"]
    ports = ingress_by_port(policies[1])
    assert None not in ports["redis"] and None not in ports["metrics"]
    assert [{"namespaceSelector": {"matchLabels": {"team": "apps"}}}] in ports["redis"]
    assert ports["metrics"] == [[{"namespaceSelector": {"matchLabels": {"team": "monitoring"}}}]]
    assert not only(render(kube_bin, "networkPolicy.enabled=false"), "NetworkPolicy")
    ports = ingress_by_port(only(render(kube_bin, "networkPolicy.metrics.enabled=false"),
                                 "NetworkPolicy")[0])
    assert "metrics" not in ports
