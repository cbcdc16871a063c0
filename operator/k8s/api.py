"""The operator's calls to the Kubernetes API, on kubernetes_asyncio.

kopf watches the RedisCluster resources; everything else (the objects the operator owns,
pods, status, events) goes through this client. It is kubernetes_asyncio's ``ApiClient``
(the official client's asyncio twin, generated from the same OpenAPI spec): its transport
runs on the operator's event loop with aiohttp, as kopf does, where the synchronous
``kubernetes`` package would need a thread per call and per watch. The configuration comes
from its loaders (the pod's ServiceAccount token, re-read as the kubelet rotates it, and
CA; else the kubeconfig), and kopf logs in with the same credentials (``connection_info``).
Objects stay plain dicts, addressed by apiVersion and kind, so one code path serves the
built-in kinds and the custom resources alike.

Writes are JSON merge patches or creates; ``apply`` skips the call when the object on the
server was last written from the same desired content (an annotation holds its digest).
Pods are watched (``watch_pods``), not listed at every pass.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

from kubernetes_asyncio import client as kube_client
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.watch import Watch

Obj = dict[str, Any]

APPLIED = "redslot.dev/applied"
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
REQUEST_TIMEOUT = 10.0
# A watch that has said nothing for this long (the API server sends a bookmark about every
# minute) is taken as dead: a connection lost without a reset is noticed this soon.
WATCH_SILENCE = 150.0

PLURALS = {
    "ConfigMap": "configmaps", "Secret": "secrets", "Service": "services",
    "Pod": "pods", "PersistentVolumeClaim": "persistentvolumeclaims", "Event": "events",
    "StatefulSet": "statefulsets", "PodDisruptionBudget": "poddisruptionbudgets",
    "ServiceMonitor": "servicemonitors", "RedisCluster": "redisclusters",
    "CustomResourceDefinition": "customresourcedefinitions", "Certificate": "certificates",
}


class KubeError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message

    @classmethod
    def of(cls, error: ApiException) -> KubeError:
        """The API server's own message (its Status object), else the HTTP reason."""
        message = str(error.reason)
        try:
            message = json.loads(error.body or "{}").get("message") or message
        except (ValueError, AttributeError):
            pass
        return cls(int(error.status or 0), message)


def resource_path(api_version: str, kind: str, namespace: str | None,
                  name: str | None = None, subresource: str | None = None) -> str:
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    path = base + (f"/namespaces/{namespace}" if namespace else "") + "/" + PLURALS[kind]
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


def digest(obj: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:20]


async def load_configuration() -> kube_client.Configuration:
    """In a pod: its ServiceAccount (the token is re-read when the kubelet rotates it);
    elsewhere: the kubeconfig ($KUBECONFIG or ~/.kube/config)."""
    configuration = kube_client.Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(SERVICE_ACCOUNT_TOKEN):
        kube_config.load_incluster_config(client_configuration=configuration)
    else:
        await kube_config.load_kube_config(client_configuration=configuration)
    return configuration


async def connection_info(configuration: kube_client.Configuration) -> Any:
    """The same credentials as a ``kopf.ConnectionInfo``, for kopf's login handler: what
    ``kopf.login_via_async_client`` does, from this configuration rather than the library's
    global default."""
    import kopf

    header = await configuration.get_api_key_with_prefix("BearerToken") or ""
    scheme, _, token = header.partition(" ") if " " in header else ("", "", header)
    return kopf.ConnectionInfo(
        server=str(configuration.host), ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl, username=configuration.username or None,
        password=configuration.password or None, scheme=scheme or None, token=token or None,
        certificate_path=configuration.cert_file, private_key_path=configuration.key_file,
        proxy_url=configuration.proxy)


class KubeApi:
    def __init__(self, configuration: kube_client.Configuration,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        self.configuration = configuration
        self.timeout = timeout
        self.client = kube_client.ApiClient(configuration)

    @classmethod
    def at(cls, server: str) -> KubeApi:
        """A client of an API server that needs no credentials (tests)."""
        return cls(kube_client.Configuration(host=server))

    async def close(self) -> None:
        await self.client.close()

    async def request(self, method: str, path: str, body: Any = None,
                      content_type: str = "application/json",
                      params: Mapping[str, str] | None = None) -> Any:
        try:
            return await self.client.call_api(
                path, method, query_params=list((params or {}).items()),
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                body=body, response_types_map={200: "object", 201: "object", 202: "object"},
                auth_settings=["BearerToken"], _return_http_data_only=True,
                _request_timeout=self.timeout)
        except ApiException as error:
            raise KubeError.of(error) from error

    async def watch_pods(self, namespace: str, selector: str, resource_version: str,
                         seconds: int) -> AsyncIterator[tuple[str, Obj, str]]:
        """The pod events after ``resource_version``: (type, pod, resource version to go on
        from), BOOKMARKs included; ends when the server closes the watch after ``seconds``,
        raises TimeoutError after ``WATCH_SILENCE`` without a line.
        Raises KubeError(410) once that version is too old (list again)."""
        core = kube_client.CoreV1Api(self.client)

        async def list_pods(namespace: str, **options: Any) -> Any:
            """The generated call, with its flags in the API's lower case: the client
            writes True, which kube-apiserver takes but stricter servers do not."""
            for flag in ("watch", "allow_watch_bookmarks"):
                options[flag] = "true" if options.get(flag) else "false"
            return await core.list_namespaced_pod(namespace, **options)

        watch = Watch(return_type="object")  # events as dicts, not V1Pod
        try:
            async for event in watch.stream(
                    list_pods, namespace, label_selector=selector,
                    resource_version=resource_version, allow_watch_bookmarks=True,
                    timeout_seconds=seconds, _request_timeout=(self.timeout, WATCH_SILENCE)):
                yield event["type"], event["raw_object"], str(watch.resource_version or "")
        except ApiException as error:
            raise KubeError.of(error) from error
        finally:
            await watch.close()

    async def list_with_version(self, api_version: str, kind: str, namespace: str | None,
                                selector: str = "") -> tuple[list[Obj], str]:
        """The objects and the resource version of the list (where a watch starts)."""
        params = {"labelSelector": selector} if selector else None
        found = await self.request("GET", resource_path(api_version, kind, namespace),
                                   params=params)
        return found.get("items") or [], str(found["metadata"].get("resourceVersion", ""))

    # --- objects ---

    async def get(self, api_version: str, kind: str, namespace: str | None,
                  name: str) -> Obj | None:
        try:
            found: Obj = await self.request(
                "GET", resource_path(api_version, kind, namespace, name))
        except KubeError as error:
            if error.status == 404:
                return None
            raise
        return found

    async def list(self, api_version: str, kind: str, namespace: str | None,
                   selector: str = "") -> list[Obj]:
        items, _ = await self.list_with_version(api_version, kind, namespace, selector)
        return items

    async def create(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        created: Obj = await self.request(
            "POST", resource_path(obj["apiVersion"], obj["kind"], meta.get("namespace")), obj)
        return created

    async def patch(self, api_version: str, kind: str, namespace: str | None, name: str,
                    body: Obj, subresource: str | None = None) -> Obj:
        patched: Obj = await self.request(
            "PATCH", resource_path(api_version, kind, namespace, name, subresource), body,
            content_type="application/merge-patch+json")
        return patched

    async def delete(self, api_version: str, kind: str, namespace: str | None,
                     name: str) -> bool:
        try:
            await self.request("DELETE", resource_path(api_version, kind, namespace, name),
                               {"kind": "DeleteOptions", "apiVersion": "v1",
                                "propagationPolicy": "Background"})
        except KubeError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def apply(self, obj: Obj) -> str:
        """Create the object, or bring it to ``obj`` by a merge patch if it was last
        written from other content. Returns "created", "updated" or "unchanged"."""
        meta = obj["metadata"]
        wanted = digest(obj)
        current = await self.get(obj["apiVersion"], obj["kind"], meta.get("namespace"),
                                 meta["name"])
        stamped = {**obj, "metadata": {**meta, "annotations": {
            **(meta.get("annotations") or {}), APPLIED: wanted}}}
        if current is None:
            await self.create(stamped)
            return "created"
        if (current["metadata"].get("annotations") or {}).get(APPLIED) == wanted:
            return "unchanged"
        await self.patch(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"],
                         stamped)
        return "updated"
