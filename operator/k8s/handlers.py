"""kopf handlers for the RedisCluster resource.

Each RedisCluster gets a daemon that runs the reconciler (the same one ``redslot up`` runs)
with a fleet of StatefulSets and the resource itself as its store, for as long as the
resource exists and this operator is the active one (kopf peering pauses it when another
operator with a higher priority runs). The create, update and resume handlers check the
spec and say what changes in Events; deletion leaves the owned objects to Kubernetes'
garbage collector, and the PVCs to the retention policy.

What every handler needs to know of the operator (its scope, the default node image, the
credentials kopf logged in with) travels in kopf's ``memo``, as kopf recommends: the
operator's memo is made by ``operator_memo`` and handed to ``kopf.operator``, the login
handler adds the client configuration to it, and kopf copies it into each RedisCluster's own
memo.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from ..control.reconciler import Reconciler
from .api import KubeApi, connection_info, load_configuration
from .certificates import Certificates, TlsNotReady
from .credentials import Credentials
from .fleet import KubeFleet, ensure_password
from .objects import GROUP, PLURAL, VERSION, Cluster
from .settings import SpecError, parse_spec
from .store import KubeStore

log = logging.getLogger("redslot.k8s")

PEERING_LIFETIME = 20  # seconds a peer counts as alive after its last keep-alive
API_BACKOFFS = (1, 1, 2, 3, 5, 8, 13, 21) + (30,) * 20  # seconds between API retries


def operator_memo(*, namespaced: bool, default_image: str,
                  default_resources: dict[str, Any] | None = None) -> kopf.Memo:
    """``namespaced``: watching named namespaces with a namespaced Role; ``default_image``:
    the node image of clusters that name none; ``default_resources``: their node
    containers' resources when they give none (None: settings.DEFAULT_NODE_RESOURCES).
    The login handler adds ``configuration``.
    ``secret_watchers`` (shared by every resource's copy of the memo) maps a Secret's
    (namespace, name) to the clusters to wake when it changes."""
    return kopf.Memo(namespaced=namespaced, default_image=default_image,
                     default_resources=default_resources, secret_watchers={})


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = "redslot.dev/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="redslot.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="redslot.dev", key="last-handled-configuration")
    settings.posting.level = logging.WARNING  # our own Events say what happens
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 30
    # kopf retries a failed API request for 54 s (1, 1, 2 ... 21) and then escalates; a
    # failed peering keep-alive then stops the whole operator. An API server away for a
    # minute (an upgrade, an etcd hiccup) must not: retry for about 11 minutes, then fail.
    settings.networking.error_backoffs = API_BACKOFFS
    # A killed operator stays a live peer for the lifetime of its last keep-alive, and its
    # successor (same priority) pauses until then: with kopf's 60 s, up to a minute with no
    # failover and no reshard after an operator pod was killed (seen on real pods). Peers
    # renew every 10-15 s instead of 50-55 s: a few more PATCH requests a minute.
    settings.peering.lifetime = PEERING_LIFETIME
    # A namespaced Role may not list namespaces: kopf's scan of them would be refused and
    # retried for about 50 s before it falls back to the named namespaces (the CRDs are
    # installed before the operator, so nothing is lost by not watching for new ones).
    settings.scanning.disabled = memo.namespaced


@kopf.on.login()
async def login(memo: kopf.Memo, **_: Any) -> Any:
    """kubernetes_asyncio's loaders find the credentials (the pod's ServiceAccount, else
    the kubeconfig); kopf gets the same ones, and the configuration goes in the operator's
    memo for the operator's own client: kopf logs in before it watches, so every
    RedisCluster's memo gets it. kopf logs in again when the API server refuses its token,
    which re-reads a rotated ServiceAccount token."""
    configuration = await load_configuration()
    memo.configuration = configuration
    return await connection_info(configuration)


def checked(spec: Any, memo: kopf.Memo) -> None:
    try:
        parse_spec(dict(spec or {}), memo.default_image, memo.default_resources)
    except SpecError as error:
        raise kopf.PermanentError(str(error)) from error


@kopf.on.create(GROUP, VERSION, PLURAL)
def created(spec: Any, name: str, logger: Any, memo: kopf.Memo, **_: Any) -> None:
    checked(spec, memo)
    logger.info("RedisCluster %s: %s shard(s), %s replica(s) each", name,
                spec.get("shards"), spec.get("replicasPerShard", 1))


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
def updated(spec: Any, diff: Any, name: str, body: Any, memo: kopf.Memo, **_: Any) -> None:
    checked(spec, memo)
    for _op, path, old, new in diff:
        field = ".".join(str(p) for p in path)
        if field in ("spec.shards", "spec.replicasPerShard"):
            kopf.info(body, reason="Scale", message=f"{field}: {old} -> {new}")
        elif field == "spec.image":
            kopf.info(body, reason="RollingRestart",
                      message=f"image {old} -> {new}: replicas first, masters after a failover")


@kopf.on.resume(GROUP, VERSION, PLURAL)
def resumed(spec: Any, name: str, logger: Any, memo: kopf.Memo, **_: Any) -> None:
    checked(spec, memo)
    logger.info("RedisCluster %s: resuming", name)


@kopf.on.delete(GROUP, VERSION, PLURAL, optional=True)
def deleted(name: str, logger: Any, **_: Any) -> None:
    logger.info("RedisCluster %s deleted: owned objects go with it; volumes follow "
                "spec.storage.retention", name)


@kopf.on.event("", "v1", "secrets")
def secret_changed(name: str, namespace: str | None, memo: Any, **_: Any) -> None:
    """A password or certificate Secret changed: the clusters that use it read it now
    (each cluster tells which Secrets it uses; others are ignored)."""
    for wake in list(memo.secret_watchers.get((namespace, name), ())):
        wake()


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=15.0, initial_delay=0.0)
async def reconcile(stopped: kopf.DaemonStopped, name: str, namespace: Any, uid: str,
                    body: Any, logger: Any, memo: kopf.Memo, **_: Any) -> None:
    """Run the control loop for one RedisCluster until it is deleted or the operator stops."""
    api = KubeApi(memo.configuration)
    fleet: KubeFleet | None = None
    try:
        try:
            spec = parse_spec(dict(body.get("spec") or {}), memo.default_image,
                              memo.default_resources)
        except SpecError as error:
            raise kopf.TemporaryError(f"spec refused: {error}", delay=30) from error
        cluster = Cluster(name, namespace, uid, spec)
        credentials = Credentials(api, cluster, memo.secret_watchers)
        certificates = Certificates(api, cluster, memo.secret_watchers)
        try:
            tls = await certificates.start()
        except TlsNotReady as error:
            certificates.forget()
            raise kopf.TemporaryError(str(error), delay=5) from error
        password = await credentials.start(await ensure_password(api, cluster))
        store = KubeStore(api, cluster, body, memo.default_image, credentials,
                          memo.default_resources)
        fleet = KubeFleet(api, cluster)
        reconciler = Reconciler(fleet, store, password=password, tls=tls,
                                access=[credentials, certificates])
        fleet.on_change = reconciler.nudge
        stop = asyncio.Event()

        async def follow_stopped() -> None:
            await stopped.wait()
            stop.set()

        watcher = asyncio.create_task(follow_stopped())
        logger.info("control loop for %s/%s started", namespace, name)
        try:
            await reconciler.run(stop)
            await store.flush()
        finally:
            watcher.cancel()
            credentials.forget()
            certificates.forget()
            store.metrics.forget()
        logger.info("control loop for %s/%s stopped (%s)", namespace, name, stopped.reason)
    finally:
        if fleet is not None:
            await fleet.close()
        await api.close()
