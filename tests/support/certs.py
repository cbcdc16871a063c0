"""Test certificates made with the openssl command: a CA, a server and a client
certificate it signed, and one from another CA (which the server must refuse)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _run(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _signed(directory: Path, name: str, ca: str) -> None:
    key, csr, crt = (str(directory / f"{name}.{ext}") for ext in ("key", "csr", "crt"))
    _run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-subj", f"/CN={name}",
         "-out", csr)
    _run("x509", "-req", "-in", csr, "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
         "-CAcreateserial", "-days", "2", "-out", crt)


def sign(directory: Path, name: str) -> Path:
    """Another certificate ``name.{crt,key}`` signed by ``directory``'s ca (a renewal)."""
    _signed(directory, name, str(directory / "ca"))
    return directory / f"{name}.crt"


def make_certs(directory: Path) -> Path:
    """ca.crt, server.{crt,key}, client.{crt,key} (signed by ca) and stranger.{crt,key}
    (signed by another CA) in ``directory``."""
    for ca in ("ca", "otherca"):
        _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN={ca}", "-keyout", str(directory / f"{ca}.key"), "-out", str(directory / f"{ca}.crt"))
    _signed(directory, "server", str(directory / "ca"))
    _signed(directory, "client", str(directory / "ca"))
    _signed(directory, "stranger", str(directory / "otherca"))
    return directory
