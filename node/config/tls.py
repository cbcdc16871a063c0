"""TLS contexts from the tls-* directives (tls.c tlsConfigure, createSSLContext).

One server context for client connections on tls-port (and the peers and replicas that
connect there), one client context for the connections this node opens: to its master
with tls-replication, to its peers and MIGRATE targets with tls-cluster. Both are built
whole or not at all, so a bad CONFIG SET leaves the running contexts as they were;
certificates are reloaded by setting a tls-* directive again, as in Redis.
"""

from __future__ import annotations

import ssl
from typing import Any, Protocol


class Settings(Protocol):
    """The configuration, or the configuration with a CONFIG SET's values laid over it."""

    def __getitem__(self, name: str) -> Any: ...

_PROTOCOLS = {"tlsv1": ssl.TLSVersion.TLSv1, "tlsv1.1": ssl.TLSVersion.TLSv1_1,
              "tlsv1.2": ssl.TLSVersion.TLSv1_2, "tlsv1.3": ssl.TLSVersion.TLSv1_3}
_AUTH_MODES = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "no": ssl.CERT_NONE}


class TlsConfigError(Exception):
    """Why the contexts cannot be built (the log line Redis writes)."""


def wanted(config: Settings) -> bool:
    return bool(config["tls-port"] or config["tls-replication"] or config["tls-cluster"])


def _versions(text: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    """parseProtocolsConfig: the lowest and highest of the versions named (default 1.2, 1.3)."""
    if not text:
        return ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
    chosen = []
    for word in text.split(" "):
        version = _PROTOCOLS.get(word.lower())
        if version is None:
            raise TlsConfigError("Invalid tls-protocols specified. Use a combination of "
                                 "'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
        chosen.append(version)
    return min(chosen), max(chosen)


def _context(config: Settings, purpose: int, client: bool) -> ssl.SSLContext:
    cert = config["tls-client-cert-file"] if client and config["tls-client-cert-file"] else config["tls-cert-file"]
    key = config["tls-client-key-file"] if client and config["tls-client-cert-file"] else config["tls-key-file"]
    password = (config["tls-client-key-file-pass"] if client and config["tls-client-cert-file"]
                else config["tls-key-file-pass"])
    ctx = ssl.SSLContext(purpose)
    ctx.minimum_version, ctx.maximum_version = _versions(config["tls-protocols"])
    ctx.options |= ssl.OP_NO_COMPRESSION
    try:
        ctx.load_cert_chain(cert, key, password or None)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(f"Failed to load certificate: {cert}: {exc}") from None
    cafile, capath = config["tls-ca-cert-file"] or None, config["tls-ca-cert-dir"] or None
    if cafile or capath:
        try:
            ctx.load_verify_locations(cafile, capath)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(f"Failed to configure CA certificate(s) file/directory: {exc}") from None
    if config["tls-ciphers"]:
        try:
            ctx.set_ciphers(config["tls-ciphers"])
        except ssl.SSLError:
            raise TlsConfigError(f"Failed to configure ciphers: {config['tls-ciphers']}") from None
    if config["tls-ciphersuites"]:
        raise TlsConfigError("Failed to configure ciphersuites: Python's ssl module cannot "
                             "choose TLSv1.3 ciphersuites (leave tls-ciphersuites empty)")
    return ctx


def build(config: Settings) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """tlsConfigure: the server and client contexts, or TlsConfigError."""
    if not config["tls-cert-file"]:
        raise TlsConfigError("No tls-cert-file configured!")
    if not config["tls-key-file"]:
        raise TlsConfigError("No tls-key-file configured!")
    if ((config["tls-auth-clients"] != "no" or config["tls-replication"] or config["tls-cluster"])
            and not config["tls-ca-cert-file"] and not config["tls-ca-cert-dir"]):
        raise TlsConfigError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified "
                             "when tls-cluster, tls-replication or tls-auth-clients are enabled!")
    server = _context(config, ssl.PROTOCOL_TLS_SERVER, client=False)
    server.verify_mode = _AUTH_MODES[config["tls-auth-clients"]]
    if config["tls-prefer-server-ciphers"]:
        server.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if config["tls-dh-params-file"]:
        try:
            server.load_dh_params(config["tls-dh-params-file"])
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(f"Failed to load DH params file: {exc}") from None
    client = _context(config, ssl.PROTOCOL_TLS_CLIENT, client=True)
    client.check_hostname = False  # Redis verifies the chain, not the peer's name
    client.verify_mode = ssl.CERT_REQUIRED
    return server, client
