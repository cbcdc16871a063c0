"""The nodes' TLS certificate: issued by cert-manager or given as a Secret, trusted by the
control plane, and reloaded by every node when the Secret is renewed.

Renewal reloads, it does not restart: the kubelet updates a mounted Secret in place (in a
minute or so), and ``CONFIG SET tls-cert-file ...`` makes a node load its files again
with its connections kept, where a rolling restart would cost a failover per master. The
operator cannot see a pod's files, so it compares what each node serves (the certificate
of a TLS handshake) with the Secret's, and asks for a reload until they agree. During the
change the control plane trusts the old CA and the new one, so a CA change does not cut
it off from nodes that still serve the old certificate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..actions.connection import ClientTls, NodeError
from ..model.context import Context
from .api import KubeApi, KubeError
from .credentials import RESYNC_SECONDS, Watchers, watch
from .objects import Cluster, certificate

log = logging.getLogger("redslot.k8s")

CERT_MANAGER_CRD = "certificates.cert-manager.io"
RELOAD_SECONDS = 5.0  # a node asked to reload is checked again (and asked again) this often
HANDSHAKE_TIMEOUT = 2.0
FILES = ("tls-cert-file", "tls-key-file", "tls-ca-cert-file")


class TlsNotReady(Exception):
    """The certificate Secret does not exist yet (cert-manager has not issued it)."""


def fingerprint(pem: bytes) -> str:
    """The SHA-256 of the first certificate of a PEM chain (the node's own: cert-manager
    puts the intermediates after it)."""
    footer = "-----END CERTIFICATE-----"
    first = pem.decode().split(footer, 1)[0].strip() + "\n" + footer + "\n"
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


async def served_fingerprint(address: str, tls: ClientTls) -> str:
    """The SHA-256 of the certificate a node presents now."""
    context = ssl.create_default_context(cafile=tls.ca_file)
    context.check_hostname = False
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, int(port), ssl=context), HANDSHAKE_TIMEOUT)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    return hashlib.sha256(der).hexdigest()


class Certificates:
    def __init__(self, api: KubeApi, cluster: Cluster, watchers: Watchers | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.cluster = cluster
        self.watchers = watchers if watchers is not None else {}
        self.changed = asyncio.Event()
        self.clock = clock
        self.directory = Path(tempfile.mkdtemp(prefix="redslot-tls-"))
        self.tls = ClientTls(str(self.directory / "ca.crt"), str(self.directory / "tls.crt"),
                             str(self.directory / "tls.key"))
        self.fingerprint = ""
        self.cas: list[bytes] = []  # trusted now: the Secret's CA, then older ones
        self.served: dict[str, tuple[str, str]] = {}  # node -> (run id, fingerprint)
        self.asked: dict[str, float] = {}  # node -> when it was last asked to reload
        self.read_at = 0.0
        self.cert_manager: bool | None = None

    async def start(self) -> ClientTls | None:
        """The files the control plane connects with (None without TLS); raises
        TlsNotReady while the Secret is not there yet."""
        if not self.cluster.spec.tls.enabled:
            return None
        watch(self.watchers, self.cluster.namespace, [self.cluster.tls_secret],
              self.changed.set)
        await self.ensure_certificate()
        if not await self.read():
            raise TlsNotReady(f"waiting for Secret {self.cluster.tls_secret} (tls.crt, "
                              f"tls.key, ca.crt)")
        return self.tls

    async def ensure_certificate(self) -> None:
        if self.cluster.spec.tls.cert_manager is None:
            return
        if self.cert_manager is None:
            try:
                crd = await self.api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                                         None, CERT_MANAGER_CRD)
            except KubeError as error:
                log.warning("cannot tell whether cert-manager is installed: %s", error)
                return
            self.cert_manager = crd is not None
            if not self.cert_manager:
                log.warning("spec.tls.certManager: cert-manager's CRDs are not installed; "
                            "the Secret %s must be made by other means",
                            self.cluster.tls_secret)
        if self.cert_manager:
            await self.api.apply(certificate(self.cluster))

    async def read(self) -> bool:
        """The Secret into the control plane's files; True if it exists and is complete."""
        secret = await self.api.get("v1", "Secret", self.cluster.namespace,
                                    self.cluster.tls_secret)
        data: dict[str, Any] = (secret or {}).get("data") or {}
        if not all(key in data for key in ("tls.crt", "tls.key", "ca.crt")):
            return False
        files = {key: base64.b64decode(data[key]) for key in ("tls.crt", "tls.key", "ca.crt")}
        wanted = fingerprint(files["tls.crt"])
        if wanted == self.fingerprint:
            return True
        self.cas = [files["ca.crt"], *[ca for ca in self.cas if ca != files["ca.crt"]]][:3]
        self.write("ca.crt", b"\n".join(self.cas))
        self.write("tls.crt", files["tls.crt"])
        self.write("tls.key", files["tls.key"])
        if self.fingerprint:
            log.info("%s/%s: the TLS Secret changed: the nodes reload their certificate",
                     self.cluster.namespace, self.cluster.name)
        self.fingerprint = wanted
        return True

    def write(self, name: str, content: bytes) -> None:
        """Atomically, readable by the operator only (the key is a secret)."""
        target = self.directory / name
        fd, temporary = tempfile.mkstemp(dir=self.directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, target)

    async def sync(self, ctx: Context) -> None:
        """Read the Secret when due; have every node that serves another certificate
        reload its files."""
        if not self.cluster.spec.tls.enabled:
            return
        now = self.clock()
        if self.changed.is_set() or now - self.read_at >= RESYNC_SECONDS:
            self.changed.clear()
            self.read_at = now
            before = self.fingerprint
            await self.ensure_certificate()
            if await self.read() and before and before != self.fingerprint:
                await ctx.conns.reset()
                await ctx.slow.reset()
        for name, view in ctx.views.items():
            if not view.reachable or self.served.get(name) == (view.run_id, self.fingerprint):
                continue
            if now - self.asked.get(name, -RELOAD_SECONDS) < RELOAD_SECONDS:
                continue
            await self.check(ctx, name, view.address, view.run_id)

    async def check(self, ctx: Context, name: str, address: str, run_id: str) -> None:
        try:
            served = await served_fingerprint(address, self.tls)
        except (OSError, ssl.SSLError, TimeoutError) as error:
            log.warning("%s: TLS handshake: %s", name, error)
            return
        if served == self.fingerprint:
            self.served[name] = (run_id, served)
            self.asked.pop(name, None)
            return
        self.asked[name] = self.clock()
        try:
            reply = await ctx.conns.call(address, "CONFIG", "GET", *FILES)
            paths = dict(zip(reply[::2], reply[1::2], strict=True))
            await ctx.conns.call(address, "CONFIG", "SET",
                                 *[item for key in FILES for item in (key, paths[key.encode()])])
        except (*NodeError, KeyError) as error:
            log.warning("%s: reloading the TLS certificate: %s", name, error)
            return
        log.info("%s: asked to reload its TLS certificate", name)


    def forget(self) -> None:
        watch(self.watchers, self.cluster.namespace, (), self.changed.set)
        shutil.rmtree(self.directory, ignore_errors=True)
