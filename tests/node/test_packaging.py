"""The README's first command works: a clean `pip install .` gives a node that serves.

A clean virtual environment (no site packages) catches a runtime import that the
distribution does not declare, which an editable test install with extras would hide.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nodes import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtual environment with `pip install .` of the repository."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(REPO)],
        capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr
    return venv


def test_clean_install_runs_a_node_that_answers(venv, tmp_path):
    port = free_port()
    workdir = tmp_path / "data"
    workdir.mkdir()
    node = ServerProcess([str(venv / "bin" / "redslot"), "node", "--port", str(port),
                          "--bind", "127.0.0.1", "--save", ""], port, str(workdir))
    try:
        out = subprocess.run(["redis-cli", "-p", str(port), "SET", "k", "v"],
                             capture_output=True, text=True, timeout=10)
        assert out.stdout.strip() == "OK"
    finally:
        assert node.stop() == 0


def test_clean_install_compiles_the_hot_path_when_a_compiler_is_there(venv):
    """setup.py compiles node/base/compiled.py's modules with mypyc (a build requirement)
    when a C compiler is present: this machine's tests run on the compiled build."""
    out = subprocess.run([str(venv / "bin" / "redslot"), "node", "--version"],
                         capture_output=True, text=True, timeout=60)
    expected = "compiled" if shutil.which("cc") else "pure"
    assert out.stdout.strip().endswith(f"build={expected}"), out


def test_clean_install_runs_a_local_cluster(venv, tmp_path):
    """`redslot up` from the same clean install: the control plane's own imports (redis-py,
    rich) must be declared too."""
    port = free_port()
    data = tmp_path / "cluster"
    up = subprocess.Popen([str(venv / "bin" / "redslot"), "up", "--shards", "1", "--replicas", "0",
                           "--port", str(port), "--dir", str(data)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = subprocess.run(["redis-cli", "-c", "-p", str(port), "SET", "k", "v"],
                                 capture_output=True, text=True, timeout=10)
            if out.stdout.strip() == "OK":
                break
            time.sleep(0.2)
        assert out.stdout.strip() == "OK", out.stdout + out.stderr
        while time.monotonic() < deadline:
            status = subprocess.run([str(venv / "bin" / "redslot"), "status", "--json",
                                     "--dir", str(data)], capture_output=True, text=True, timeout=30)
            if status.returncode == 0 and json.loads(status.stdout)["ready"]:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # the Connect: hint is printed within 0.2 s of ready
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output
    assert "Connect: redis-cli -c" in output


def test_the_operator_folder_never_shadows_the_standard_library_from_the_repo_root() -> None:
    """A virtualenv's interpreter imports nothing before `-m`: from the repository's root,
    `import operator` reaches the operator/ folder first, and must still give the standard
    library's module (else `python -m pip install .` dies at start-up). -S reproduces it."""
    probe = ("import collections, operator; "
             "print(operator.__file__ == operator.eq.__module__ or operator.__file__)")
    result = subprocess.run([sys.executable, "-S", "-c", probe], cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("operator.py")
    assert not result.stdout.strip().startswith(str(REPO))
