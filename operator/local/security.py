"""A local cluster's password and TLS: chosen once by ``redslot up``, kept in --dir.

The password lives in ``DIR/password`` (mode 0600) and reaches the nodes in a config file
of their own (``requirepass`` for clients, ``masterauth`` for replicas and peer links),
never on a command line where ``ps`` shows it. With TLS, ``DIR/tls`` holds a self-signed
CA and the certificates it signed: one for the nodes (server and client use: they show it
to each other) and one for clients and the control plane; the nodes listen on TLS only
(``port 0``), replicate and talk to each other over TLS (tls-replication, tls-cluster) and
ask clients for a certificate signed by the CA (tls-auth-clients yes, Redis's default).
A cluster keeps what it was started with: resuming it reads both back from --dir.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..actions.connection import ClientTls

CERT_DAYS = 825  # the longest validity clients commonly accept for a server certificate


@dataclass(frozen=True)
class Security:
    """What the nodes require and what clients must bring."""

    password: str | None
    tls_dir: Path | None

    @property
    def client_tls(self) -> ClientTls | None:
        if self.tls_dir is None:
            return None
        return ClientTls(str(self.tls_dir / "ca.crt"), str(self.tls_dir / "client.crt"),
                         str(self.tls_dir / "client.key"))

    def node_config(self) -> str:
        """The secret part of a node's configuration (a config file's text)."""
        if not self.password:
            return ""
        quoted = '"' + self.password.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"requirepass {quoted}\nmasterauth {quoted}\n"

    def port_args(self, port: str) -> list[str]:
        """How a node listens on ``port``: plain, or TLS only with TLS everywhere."""
        if self.tls_dir is None:
            return ["--port", port]
        tls = self.tls_dir
        return ["--port", "0", "--tls-port", port, "--tls-cert-file", str(tls / "node.crt"),
                "--tls-key-file", str(tls / "node.key"), "--tls-ca-cert-file", str(tls / "ca.crt"),
                "--tls-replication", "yes", "--tls-cluster", "yes"]


OPEN = Security(None, None)  # no password, no TLS


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (keys, passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 issuer_key: ec.EllipticCurvePrivateKey, ca: bool,
                 usages: list[x509.ObjectIdentifier],
                 names: list[x509.GeneralName]) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make_certificates(directory: Path, host: str) -> None:
    """ca.{crt,key}, node.{crt,key} (valid for ``host``, localhost and 127.0.0.1, for
    servers and clients) and client.{crt,key}, written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redslot local CA")])
    ca = _certificate("redslot local CA", ca_key, ca_name, ca_key, True, [], [])
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    if host and host not in ("localhost", "127.0.0.1"):
        names.append(_host_name(host))
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    made = {"ca": (ca_key, ca)}
    for name, subject, usages, alt in (("node", "redslot node", both, names),
                                       ("client", "redslot client", both[1:], [])):
        key = ec.generate_private_key(ec.SECP256R1())
        made[name] = (key, _certificate(subject, key, ca_name, ca_key, False, usages, alt))
    for name, (key, cert) in made.items():
        write_private(directory / f"{name}.key", _key_pem(key))
        (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def settle(path: Path, host: str, requirepass: str | None, tls: bool,
           existing: bool) -> tuple[Security, str | None]:
    """The cluster's security from ``up``'s options and what --dir already holds; a
    generated password is returned second, to be shown once.

    ``requirepass`` is None without the option, "" for a generated one. An existing
    cluster keeps its password and TLS: asking for different ones is refused."""
    password_file, tls_dir = path / "password", path / "tls"
    stored = password_file.read_text().rstrip("\n") if password_file.exists() else None
    has_tls = (tls_dir / "ca.crt").exists()
    if existing:
        if (requirepass and requirepass != stored) or (requirepass == "" and stored is None):
            raise ValueError(f"the cluster in {path} keeps the password it was started with "
                             "(start a new cluster in another --dir to change it)")
        if tls and not has_tls:
            raise ValueError(f"the cluster in {path} was started without TLS "
                             "(start a new cluster in another --dir for TLS)")
        return Security(stored, tls_dir if has_tls else None), None
    generated = None
    if requirepass == "":
        requirepass = generated = secrets.token_urlsafe(24)
    if requirepass:
        write_private(password_file, requirepass.encode() + b"\n")
    else:
        password_file.unlink(missing_ok=True)
    if tls:
        make_certificates(tls_dir, host)
    return Security(requirepass or None, tls_dir if tls else None), generated
