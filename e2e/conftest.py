"""Fixtures for tests against a real Kubernetes control plane on loopback.

`kube` (one per session): etcd + kube-apiserver + kube-controller-manager built by
scripts/kube-binaries, with kubectl and helm from scripts/kube-tools (or PATH when that script
is absent). `namespace`: a fresh namespace per test. `kubelet`: a FakeKubelet running that
namespace's redslot pods as local processes (for the harness's own tests only: see
e2e/test_controlplane.py). `real_node` (one per session, for the tests
that ask for it, which run last): a real node joined to `kube` (e2e/realnode.py), with the
redslot image built from the checkout by scripts/build_image.py imported into its containerd.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

from e2e.controlplane import PHASES, KubeControlPlane, eventually, phase_timer  # noqa: E402
from e2e.kubelet import FakeKubelet  # noqa: E402
from e2e.realnode import RealNode, missing_tools  # noqa: E402

BUILD_TIMEOUT = 3600.0   # a cold build of the control plane takes minutes; cached runs are instant
KUBECTL_TIMEOUT = 60.0
HELM_TIMEOUT = 120.0
NAMESPACE_TIMEOUT = 30.0

def run_script(name: str) -> Path:
    """Run scripts/<name> (idempotent, cached) and return the bin dir it prints last."""
    result = subprocess.run([str(REPO / "scripts" / name)], capture_output=True, text=True,
                            timeout=BUILD_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/{name} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


class Kube:
    """The running control plane plus kubectl and helm pointed at it."""

    def __init__(self, plane: KubeControlPlane, kubectl: str, helm: str | None) -> None:
        self.plane = plane
        self.kubeconfig = str(plane.kubeconfig)
        self.kubectl_path = kubectl
        self.helm_path = helm
        self.env = dict(os.environ, KUBECONFIG=self.kubeconfig)

    def _run(self, argv: list[str], check: bool, input: str | None,
             timeout: float) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(argv, capture_output=True, text=True, input=input,
                                env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}:\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def kubectl(self, *args: str, check: bool = True, input: str | None = None,
                timeout: float = KUBECTL_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return self._run([self.kubectl_path, *args], check, input, timeout)

    def helm(self, *args: str, check: bool = True, input: str | None = None,
             timeout: float = HELM_TIMEOUT) -> subprocess.CompletedProcess[str]:
        if self.helm_path is None:
            pytest.skip("helm is not installed (scripts/kube-tools installs it)")
        return self._run([self.helm_path, *args], check, input, timeout)


def find_tools() -> tuple[str, str | None]:
    if (REPO / "scripts" / "kube-tools").exists():
        tools = run_script("kube-tools")
        return str(tools / "kubectl"), str(tools / "helm")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl not found: scripts/kube-tools installs it")
    return kubectl, shutil.which("helm")


@pytest.fixture(scope="session")
def kube() -> Iterator[Kube]:
    done = phase_timer("control plane")
    bin_dir = run_script("kube-binaries")
    kubectl, helm = find_tools()
    done("binaries and tools built or found in the cache")
    with KubeControlPlane(bin_dir) as plane:
        done("etcd, kube-apiserver, kube-controller-manager started")
        yield Kube(plane, kubectl, helm)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The e2e phase times again, where a CI log keeps them (pytest captures the prints
    of tests that passed)."""
    if PHASES:
        terminalreporter.section("e2e phase times")
        for line in PHASES:
            terminalreporter.write_line(line)


def build_image(*args: str) -> tuple[Path, str]:
    """scripts/build_image.py (cached): the docker-archive and the image name it holds."""
    result = subprocess.run([sys.executable, str(REPO / "scripts/build_image.py"), *args],
                            capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(f"build_image.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    archive, name = result.stdout.strip().splitlines()[-1].split()
    return Path(archive), name


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real node's tests run last: once it runs, its scheduler would bind the fake
    kubelet's pods too (a stable sort keeps every other order)."""
    items.sort(key=lambda item: "real_node" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def real_node(kube: Kube) -> Iterator[RealNode]:
    """One real node for every test that asks for it (test modules share it: starting one
    takes about 40 s), started at the first of them, which run after all others."""
    if os.environ.get("REDSLOT_E2E_REAL_NODE") != "1":
        pytest.skip("real-node tests run with REDSLOT_E2E_REAL_NODE=1 (root, containerd, "
                    "runc, CNI plugins: ./scripts/test installs them)")
    missing = missing_tools()
    if missing:
        pytest.skip(f"a real node needs {', '.join(missing)}")
    done = phase_timer("real node")
    image, pause = build_image(), build_image("--pause")
    done("images built or found in the cache")
    with RealNode(kube.plane, run_script("kube-binaries"), [image, pause], pause[1]) as node:
        node.image = image[1]
        yield node


_namespace_counter = itertools.count(1)


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    """A fresh namespace whose `default` ServiceAccount exists (pods are refused before)."""
    name = f"e2e-{next(_namespace_counter)}-{uuid.uuid4().hex[:6]}"
    kube.kubectl("create", "namespace", name)
    eventually(lambda: kube.kubectl("get", "serviceaccount", "default", "-n", name,
                                    check=False).returncode == 0,
               NAMESPACE_TIMEOUT, f"the default ServiceAccount in {name}")
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kubelet(kube: Kube, namespace: str) -> Iterator[FakeKubelet]:
    fake = FakeKubelet(kube.plane.api(), namespace).start()
    yield fake
    print(fake.report())  # pytest shows it when the test failed
    fake.stop()
