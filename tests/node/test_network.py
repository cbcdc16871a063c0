"""Connection-level behaviour that needs a non-loopback peer: protected mode.

Each test makes a network namespace of its own and gives its lo a second address from
TEST-NET-1 (192.0.2.1): a peer there is not "local" by Redis's test (127.* or ::1), while
no traffic ever leaves the sandbox. Needs root (ip netns); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PROBE = Path(__file__).resolve().parents[1] / "support" / "netns_probe.py"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"redslot-{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot create a network namespace: {exc.stderr.decode().strip()}")
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", "192.0.2.1/32", "dev", "lo")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def probe(namespace: str, *directives: str) -> dict[str, str]:
    out = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, str(PROBE), "7000", *directives],
        check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)


def test_protected_mode_refuses_a_non_loopback_client_without_password(namespace):
    result = probe(namespace)
    assert result["outside"].startswith("-DENIED Redis is running in protected mode")
    assert result["loopback"] == "+PONG\r\n"


def test_protected_mode_lets_anyone_in_once_a_password_is_set(namespace):
    result = probe(namespace, "--requirepass", "secret")
    assert result["outside"] == "-NOAUTH Authentication required.\r\n"


def test_protected_mode_off_accepts_non_loopback_clients(namespace):
    result = probe(namespace, "--protected-mode", "no")
    assert result["outside"] == "+PONG\r\n"
