"""Nodes as pods: a StatefulSet per shard, its size from the record's members.

The record names nodes ``shard-N-i``; node ``shard-N-i`` runs in pod ``<cluster>-shard-N-i``,
ordinal ``i`` of StatefulSet ``<cluster>-shard-N``. A node's address is its pod's IP
(``announce: PodIP``) or its stable DNS name (``announce: Hostname``); when a pod comes back
with a new IP the record follows it, and the node, found again by its node id kept on its
volume, gets the new table.

The pods are watched, not listed at every pass: one list when the fleet starts (and again
only when the API server says the watch's version is too old, 410 Gone), then one watch at
a time that the API server closes every ``WATCH_SECONDS`` and that is resumed from its last
resource version (bookmarks keep that version fresh while nothing changes). A watch that
breaks (the API server away) is retried with a growing delay and resumed where it was; the
passes meanwhile work with the last pods seen. A change to a pod starts a pass at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..model.record import NodeRecord
from .api import KubeApi, KubeError, digest
from .objects import (
    TEMPLATE_HASH,
    Cluster,
    disruption_budget,
    password_secret,
    service_monitor,
    statefulset,
    static_objects,
    template_hash,
)

log = logging.getLogger("redslot.k8s")

# Objects are re-applied this often even unchanged, to undo drift (an owned object deleted
# or its applied annotation edited): one GET each, so an idle cluster's check stays cheap.
REAPPLY_SECONDS = 300.0
SERVICE_MONITOR_CRD = "servicemonitors.monitoring.coreos.com"
WATCH_SECONDS = 300  # the API server ends each pod watch after this; it is resumed
RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)  # between failed watches, then the last again
SYNC_TIMEOUT = 15.0  # a pass waits this long for the first list of pods


def split_node(name: str) -> tuple[str, int]:
    """``shard-1-0`` -> (``shard-1``, 0)."""
    shard, ordinal = name.rsplit("-", 1)
    return shard, int(ordinal)


class Pod:
    def __init__(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.name: str = meta["name"]
        self.deleting = bool(meta.get("deletionTimestamp"))
        status = obj.get("status") or {}
        self.ip: str = status.get("podIP") or ""
        self.phase: str = status.get("phase") or "Pending"
        self.template_hash: str = (meta.get("annotations") or {}).get(TEMPLATE_HASH, "")
        self.ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                         for c in status.get("conditions") or [])


class KubeFleet:
    def __init__(self, api: KubeApi, cluster: Cluster,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.api = api
        self.cluster = cluster
        self.on_change = on_change  # a pod changed (the reconciler's nudge)
        self.pods: dict[str, Pod] = {}  # by node name
        self.seen: dict[str, Pod] = {}  # by pod name, as the watch tells
        self.synced = asyncio.Event()
        self.watcher: asyncio.Task[None] | None = None
        self.applied: dict[str, tuple[str, float]] = {}  # object key -> (digest, when)
        self.sizes: dict[str, int] = {}
        self.known: set[str] = set()  # node names the record had at the last ensure
        self.monitoring: bool | None = None

    # --- the Fleet protocol ---

    async def ensure(self, nodes: Iterable[NodeRecord]) -> None:
        nodes = list(nodes)
        cluster = self.cluster
        for obj in static_objects(cluster):
            await self.apply(obj)
        self.sizes = self.shard_sizes(node.name for node in nodes)
        wanted_hash = template_hash(cluster)
        for shard, size in sorted(self.sizes.items()):
            await self.apply(statefulset(cluster, shard, size, wanted_hash))
            if cluster.spec.pdb_enabled:
                await self.apply(disruption_budget(cluster, shard))
        if cluster.spec.metrics.service_monitor and await self.has_service_monitors():
            await self.apply(service_monitor(cluster))
        await self.refresh(nodes)

    async def retire(self, names: Iterable[str]) -> None:
        """Scale each shard's StatefulSet to the members left (deleted when none are),
        restart retired pods that the StatefulSet still counts (they come back held and
        serve nothing), and drop the volumes of nodes that are gone for good."""
        names = list(names)
        cluster = self.cluster
        left = {shard: size for shard, size in self.sizes.items()}
        touched = {split_node(name)[0] for name in names}
        for shard in touched:
            members = [n for n in self.known if split_node(n)[0] == shard and n not in names]
            size = max((split_node(n)[1] for n in members), default=-1) + 1
            left[shard] = size
            sts = cluster.statefulset(shard)
            if size == 0:
                await self.api.delete("apps/v1", "StatefulSet", cluster.namespace, sts)
                await self.api.delete("policy/v1", "PodDisruptionBudget", cluster.namespace, sts)
                self.forget(sts)
            else:
                await self.api.patch("apps/v1", "StatefulSet", cluster.namespace, sts,
                                     {"spec": {"replicas": size}})
                self.forget(sts)
        for name in names:
            shard, ordinal = split_node(name)
            if ordinal < left.get(shard, 0):
                await self.api.delete("v1", "Pod", cluster.namespace, cluster.pod(name))
            else:
                await self.api.delete("v1", "PersistentVolumeClaim", cluster.namespace,
                                      cluster.pvc(name))
        self.sizes = {shard: size for shard, size in left.items() if size}

    def allocate(self, name: str, taken: set[str]) -> str:
        """Until its pod has an IP, a node is known by its DNS name."""
        return f"{self.cluster.dns_name(name)}:{self.cluster.spec.port}"

    def pid(self, name: str) -> int | None:
        return None

    # --- rolling restarts ---

    def outdated(self) -> set[str]:
        """Nodes whose pod runs an older template than the StatefulSet's."""
        wanted = template_hash(self.cluster)
        return {name for name, pod in self.pods.items()
                if not pod.deleting and pod.template_hash and pod.template_hash != wanted}

    async def restart(self, name: str) -> None:
        await self.api.delete("v1", "Pod", self.cluster.namespace, self.cluster.pod(name))

    # --- helpers ---

    def shard_sizes(self, names: Iterable[str]) -> dict[str, int]:
        self.known = set(names)
        sizes: dict[str, int] = {}
        for name in self.known:
            shard, ordinal = split_node(name)
            sizes[shard] = max(sizes.get(shard, 0), ordinal + 1)
        return sizes

    # --- the pod watch ---

    async def close(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher
            self.watcher = None

    async def follow_pods(self) -> None:
        """Keep ``seen`` as the API server has the cluster's pods, until cancelled."""
        cluster = self.cluster
        version = ""
        failures = 0
        while True:
            try:
                if not version:
                    items, version = await self.api.list_with_version(
                        "v1", "Pod", cluster.namespace, cluster.label_selector())
                    self.seen = {pod.name: pod for pod in map(Pod, items)}
                    self.synced.set()
                    self.on_change()
                async for kind, obj, reached in self.api.watch_pods(
                        cluster.namespace, cluster.label_selector(), version, WATCH_SECONDS):
                    version = reached or version
                    failures = 0
                    if kind == "BOOKMARK":
                        continue
                    pod = Pod(obj)
                    if kind == "DELETED":
                        self.seen.pop(pod.name, None)
                    else:
                        self.seen[pod.name] = pod
                    self.on_change()
                failures = 0
            except KubeError as error:
                if error.status == 410:
                    log.info("%s: pod watch expired: listing again", cluster.name)
                    version = ""
                    continue
                failures += 1
                log.warning("%s: pod watch failed: %s", cluster.name, error)
            except Exception as error:  # the watch must outlive anything the network does
                failures += 1
                log.warning("%s: pod watch broke (%s: %s): resumed soon", cluster.name,
                            type(error).__name__, error)
            if failures:
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])

    async def refresh(self, nodes: list[NodeRecord]) -> None:
        """Pods as the watch has them (the first pass waits for the first list); each
        node's address follows its pod."""
        cluster = self.cluster
        if self.watcher is None:
            self.watcher = asyncio.get_running_loop().create_task(self.follow_pods())
        await asyncio.wait_for(self.synced.wait(), SYNC_TIMEOUT)
        self.pods = {}
        for pod in self.seen.values():
            owner = cluster.node_of_pod(pod.name)
            if owner is not None:
                self.pods[owner] = pod
        port = cluster.spec.port
        for node in nodes:
            if cluster.spec.announce == "Hostname":
                address = f"{cluster.dns_name(node.name)}:{port}"
            else:
                current = self.pods.get(node.name)
                if current is None or not current.ip or current.deleting:
                    continue  # keep the last address: the node is away, not moved
                address = f"{current.ip}:{port}"
            if node.address != address:
                log.info("%s: address %s -> %s", node.name, node.address, address)
                node.address = address

    async def apply(self, obj: dict[str, Any]) -> None:
        key = f"{obj['kind']}/{obj['metadata']['name']}"
        wanted = digest(obj)
        last = self.applied.get(key)
        now = time.monotonic()
        if last is not None and last[0] == wanted and now - last[1] < REAPPLY_SECONDS:
            return
        result = await self.api.apply(obj)
        if result != "unchanged":
            log.info("%s %s", key, result)
        self.applied[key] = (wanted, now)

    def forget(self, name: str) -> None:
        for key in [k for k in self.applied if k.split("/", 1)[1] == name]:
            del self.applied[key]

    async def has_service_monitors(self) -> bool:
        if self.monitoring is None:
            try:
                crd = await self.api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                                         None, SERVICE_MONITOR_CRD)
            except KubeError as error:
                log.warning("cannot tell whether ServiceMonitors exist: %s", error)
                return False
            self.monitoring = crd is not None
            if not self.monitoring:
                log.warning("spec.metrics.serviceMonitor.enabled, but the cluster has no "
                            "ServiceMonitor CRD (Prometheus Operator): not created")
        return self.monitoring


async def ensure_password(api: KubeApi, cluster: Cluster) -> str:
    """The cluster's password: from the Secret the spec names, else from the one the
    operator generated (made on first use, never regenerated)."""
    spec = cluster.spec
    secret = await api.get("v1", "Secret", cluster.namespace, cluster.secret)
    if secret is None:
        if spec.auth_secret:
            raise KubeError(404, f"spec.auth.secretName: Secret {spec.auth_secret} not found")
        password = secrets.token_urlsafe(32)
        await api.create(password_secret(cluster, password))
        return password
    import base64

    data = secret.get("data") or {}
    if spec.auth_key in data:
        return base64.b64decode(data[spec.auth_key]).decode()
    string_data = secret.get("stringData") or {}
    if spec.auth_key in string_data:
        return str(string_data[spec.auth_key])
    raise KubeError(422, f"Secret {cluster.secret} has no key {spec.auth_key}")
