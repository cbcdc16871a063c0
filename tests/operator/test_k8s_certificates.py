"""What the operator compares to decide a node must reload its certificate."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

from certs import make_certs
from redslot.operator.k8s.certificates import fingerprint


def test_fingerprint_is_the_first_certificate_of_a_chain(tmp_path: Path) -> None:
    make_certs(tmp_path)
    leaf = (tmp_path / "server.crt").read_bytes()
    der = ssl.PEM_cert_to_DER_cert(leaf.decode())
    wanted = hashlib.sha256(der).hexdigest()
    assert fingerprint(leaf) == wanted
    assert fingerprint(leaf + (tmp_path / "ca.crt").read_bytes()) == wanted
    assert fingerprint((tmp_path / "client.crt").read_bytes()) != wanted
