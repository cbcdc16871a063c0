"""A small asyncio client for the Kubernetes API: the few calls the operator makes.

kopf watches the RedisCluster resources; everything else (the objects the operator owns,
pods, status, events) goes through this client, with the credentials kopf logged in with.
Writes are JSON merge patches or creates; ``apply`` skips the call when the object on the
server was last written from the same desired content (an annotation holds its digest), so a
reconcile pass four times a second costs one list of pods, not one write per object.
"""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp

Obj = dict[str, Any]

APPLIED = "redslot.dev/applied"

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


class KubeApi:
    def __init__(self, server: str, *, token: str | None = None,
                 ssl_context: ssl.SSLContext | bool | None = None,
                 timeout: float = 10.0) -> None:
        self.server = server.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.ssl = ssl_context
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_connection_info(cls, info: Any) -> KubeApi:
        """From a ``kopf.ConnectionInfo`` (what kopf's login handlers return)."""
        context = info.as_ssl_context() if info.server.startswith("https") else None
        return cls(info.server, token=info.token, ssl_context=context)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)
        return self._session

    async def request(self, method: str, path: str, body: Any = None,
                      content_type: str = "application/json",
                      params: Mapping[str, str] | None = None) -> Any:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        async with self.session().request(
                method, self.server + path, data=data, headers=headers, params=params,
                ssl=self.ssl if self.ssl is not None else True) as response:
            text = await response.text()
            if response.status >= 400:
                try:
                    message = json.loads(text).get("message", text)
                except (ValueError, AttributeError):
                    message = text
                raise KubeError(response.status, message)
            return json.loads(text) if text else None

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
        params = {"labelSelector": selector} if selector else None
        found = await self.request("GET", resource_path(api_version, kind, namespace),
                                   params=params)
        items: list[Obj] = found.get("items") or []
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
