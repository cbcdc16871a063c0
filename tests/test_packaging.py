"""The README's first command works: a clean `pip install .` gives a node that serves.

A clean virtual environment (no site packages) catches a runtime import that the
distribution does not declare, which an editable test install with extras would hide.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nodes import ServerProcess, free_port

REPO = Path(__file__).resolve().parent.parent


def test_clean_install_runs_a_node_that_answers(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(REPO)],
        capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr
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
