"""The two builds of the hot path: compiled with mypyc, or the same modules as plain Python.

setup.py compiles node/base/compiled.py's list when it can and installs plain Python when
it cannot; REDSLOT_PURE_PYTHON=1 runs the source of a compiled install; INFO and
``redslot node --version`` say which build runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from nodes import start_node
from redslot.node.base.compiled import COMPILED, PACKAGE

REPO = Path(__file__).resolve().parents[2]
PURE = {**os.environ, "REDSLOT_PURE_PYTHON": "1"}


def run_python(code: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout.strip()


def test_pure_python_runs_every_listed_module_from_its_source():
    files = run_python(
        "import importlib\n"
        f"for name in {list(COMPILED)!r}:\n"
        f"    print(importlib.import_module('{PACKAGE}.' + name).__file__)\n", PURE).split()
    assert len(files) == len(COMPILED)
    assert all(f.endswith(".py") for f in files), files


def test_pure_python_build_is_reported_by_version_and_info():
    version = subprocess.run([sys.executable, "-m", "redslot.cli", "node", "--version"],
                             env=PURE, capture_output=True, text=True, timeout=60)
    assert version.stdout.strip().endswith("build=pure")
    node = start_node(env={"REDSLOT_PURE_PYTHON": "1"})
    try:
        assert redis.Redis(port=node.port).info("server")["redslot_build"] == "pure"
    finally:
        node.stop()


def test_default_build_is_reported_by_version_and_info():
    """Whatever this checkout has (compiled in place, or not), both say the same, and a
    partial build (some modules compiled, some not) is never what runs."""
    env = {**os.environ, "REDSLOT_PURE_PYTHON": ""}  # unset, also in the pure test phase
    expected = run_python("from redslot.node.base.compiled import build; print(build())", env)
    assert expected in ("compiled", "pure")
    version = subprocess.run([sys.executable, "-m", "redslot.cli", "node", "--version"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert version.stdout.strip().endswith(f"build={expected}")
    node = start_node(env={"REDSLOT_PURE_PYTHON": ""})
    try:
        assert redis.Redis(port=node.port).info("server")["redslot_build"] == expected
    finally:
        node.stop()


# What each C extension replaces, asked of a fresh process: (code printing what is in use,
# what the pure build prints, what a compiled one prints).
EXTENSION_USES = {
    "the key index": ("from redslot.node.base.keyindex import new_index\n"
                      "print(new_index.__name__)", "dict", "KeyIndex"),
    "the request parser": ("from redslot.node.protocol.request import _canonical\n"
                           "print(getattr(_canonical, '__module__', None))",
                           "None", f"{PACKAGE}.protocol._resp"),
    "the array encoder": ("from redslot.node.protocol.reply import _encode_array\n"
                          "print(getattr(_encode_array, '__module__', None))",
                          "None", f"{PACKAGE}.protocol._encode"),
    "the socket writer": ("from redslot.node.server.connection import SEND\n"
                          "print(getattr(SEND, '__module__', None))",
                          "None", f"{PACKAGE}.server._sockio"),
    "the packed small values": ("from redslot.node.types.packed import splice\n"
                                "print(splice.__module__ or splice.__name__)",
                                f"{PACKAGE}.types.packed", f"{PACKAGE}.types._packed"),
    "the RDB checksum": ("from redslot.node.types.rdb import crc64\n"
                         "print(crc64.__module__ or crc64.__name__)",
                         f"{PACKAGE}.types.rdb", f"{PACKAGE}.types._crc64"),
    "the sorted-set block search": ("from redslot.node.types.zorder import _find\n"
                                    "print(_find.__module__ or _find.__name__)",
                                    f"{PACKAGE}.types.zorder", f"{PACKAGE}.types._zsearch"),
}


@pytest.mark.parametrize("use", EXTENSION_USES)
def test_pure_python_runs_without_the_c_extensions(use):
    code, pure, _ = EXTENSION_USES[use]
    assert run_python(code, PURE) == pure


@pytest.mark.parametrize("use", EXTENSION_USES)
def test_a_compiled_build_uses_the_c_extensions(use):
    env = {**os.environ, "REDSLOT_PURE_PYTHON": ""}
    if run_python("from redslot.node.base.compiled import build; print(build())", env) != "compiled":
        pytest.skip("this checkout is not compiled")
    code, _, compiled = EXTENSION_USES[use]
    assert run_python(code, env) == compiled


def setup_py_says(env: dict[str, str]) -> str:
    """What setup.py decides, without building anything (``--name`` only reads metadata)."""
    out = subprocess.run([sys.executable, "setup.py", "--name"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stderr


def test_setup_installs_plain_python_when_asked():
    assert "plain Python" in setup_py_says({**os.environ, "REDSLOT_PURE_BUILD": "1"})


def test_setup_installs_plain_python_without_a_working_c_compiler():
    assert "no working C compiler: plain Python" in setup_py_says({**os.environ, "CC": "false"})
