"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager.

Why: the operator's integration tests must run against the real API server (admission, CEL,
RBAC, status subresources, garbage collection), not a mock. There is no kubelet here; pods are
run by e2e/kubelet.py. Binaries come from scripts/kube-binaries; certificates are made with the
openssl CLI so the tests need no extra Python dependency.
"""

from __future__ import annotations

import ctypes
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

START_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
SERVICE_CIDR = "10.96.0.0/12"
PR_SET_PDEATHSIG = 1
# Controllers that make StatefulSets, PDBs, namespaces, service accounts and owner references
# real. Left out: node lifecycle (no kubelet heartbeats: it would evict every pod), endpoints
# (loopback pod IPs are invalid endpoint addresses), volume binding (no provisioner).
CONTROLLERS = (
    "serviceaccount-token-controller", "serviceaccount-controller",
    "root-ca-certificate-publisher-controller", "namespace-controller",
    "garbage-collector-controller", "statefulset-controller", "deployment-controller",
    "replicaset-controller", "job-controller", "disruption-controller",
    "clusterrole-aggregation-controller", "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller", "resourcequota-controller",
)

OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
"""

# Every request made with a ServiceAccount's credentials (the operator's, never the
# controllers', the fake kubelet's or kubectl's, which use certificates), at Metadata level:
# who, which verb, which resource. What the API costs an operator is read from it
# (``requests_by``).
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata", "userGroups": ["system:serviceaccounts"]},
              {"level": "None"}],
}


T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float, what: str,
               interval: float = 0.2) -> T:
    """Poll until ``probe`` returns something truthy; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


_prctl = ctypes.CDLL(None, use_errno=True).prctl


# Every phase time the e2e tests measured, in order: printed where it happens (pytest -s or
# a failure shows it) and again at the end of the run by e2e/conftest.py, so that a CI log
# always has them.
PHASES: list[str] = []


def phase_timer(label: str) -> Callable[[str], None]:
    """``done(name)`` reports the time since the previous call (or since this one)."""
    last = [time.monotonic()]

    def done(name: str) -> None:
        now = time.monotonic()
        line = f"   [{label}] {name}: {now - last[0]:.1f} s"
        PHASES.append(line)
        print(line, flush=True)
        last[0] = now
    return done


def die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the test process dies, even by SIGKILL."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def stop_with_parent() -> None:
    """In the child before exec: SIGTERM it when the thread that started it ends."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def stop_process(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group, then SIGKILL it if it outlives ``timeout``."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def requests_by(audit_log: Path, user: str, start: float, end: float) -> dict[str, int]:
    """Count an audit log's requests (see ``KubeControlPlane.requests_by``)."""
    counts: dict[str, int] = {}
    seen: set[str] = set()
    with open(audit_log) as handle:
        for line in handle:
            event = json.loads(line)
            if event["user"].get("username") != user or event["auditID"] in seen:
                continue
            seen.add(event["auditID"])
            received = datetime.datetime.fromisoformat(
                event["requestReceivedTimestamp"].replace("Z", "+00:00")).timestamp()
            if not start <= received < end:
                continue
            ref = event.get("objectRef") or {}
            resource = ref.get("resource") or event.get("requestURI", "?").split("?")[0]
            if ref.get("subresource"):
                resource += "/" + ref["subresource"]
            key = f"{event['verb']} {resource}"
            counts[key] = counts.get(key, 0) + 1
    return counts


class KubeAPI:
    """A small JSON client on one keep-alive HTTPS connection (one thread uses it)."""

    def __init__(self, server: str, context: ssl.SSLContext, timeout: float = 10.0) -> None:
        url = urllib.parse.urlsplit(server)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 443
        self.context = context
        self.timeout = timeout
        self.conn: http.client.HTTPSConnection | None = None

    def request(self, method: str, path: str, body: Any = None,
                content_type: str = "application/json") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            return self._send(method, path, data, headers)
        except (OSError, http.client.HTTPException):
            self.close()  # the server may close an idle keep-alive connection: one retry
            return self._send(method, path, data, headers)

    def _send(self, method: str, path: str, data: bytes | None,
              headers: dict[str, str]) -> tuple[int, Any]:
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                    context=self.context)
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        status, body = self.request("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body}")
        return body

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Certificates:
    """A throwaway CA, the API server's serving cert, client certs and a service-account key."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "openssl.cnf"
        self.config.write_text(OPENSSL_CONFIG)
        self.serial = 1
        self.ca_cert, self.ca_key = self.dir / "ca.crt", self.dir / "ca.key"
        self._openssl("req", "-x509", "-new", "-config", self.config, "-extensions", "ca",
                      *self._new_key(self.ca_key), "-out", self.ca_cert, "-days", "3650",
                      "-subj", "/CN=redslot-e2e-ca")
        self.server_cert, self.server_key = self.issue("kube-apiserver", "/CN=kube-apiserver",
                                                       "server")
        self.admin_cert, self.admin_key = self.issue("admin", "/O=system:masters/CN=admin",
                                                     "client")
        self.controller_manager_cert, self.controller_manager_key = self.issue(
            "kube-controller-manager",
            "/O=system:masters/CN=system:kube-controller-manager", "client")
        # The API server's client certificate toward kubelets (exec, logs, port-forward).
        self.kubelet_client_cert, self.kubelet_client_key = self.issue(
            "kube-apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client",
            "client")
        self.service_account_key = self.dir / "sa.key"
        self.service_account_pub = self.dir / "sa.pub"
        self._openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout",
                      "-out", self.service_account_key)
        self._openssl("ec", "-in", self.service_account_key, "-pubout",
                      "-out", self.service_account_pub)

    @staticmethod
    def _new_key(path: Path) -> list[str | Path]:
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", path]

    def issue(self, name: str, subject: str, profile: str) -> tuple[Path, Path]:
        cert, key, csr = (self.dir / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
        self._openssl("req", "-new", "-config", self.config, *self._new_key(key),
                      "-out", csr, "-subj", subject)
        self.serial += 1
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                      "-set_serial", str(self.serial), "-days", "3650",
                      "-extfile", self.config, "-extensions", profile, "-out", cert)
        return cert, key

    def _openssl(self, *args: str | Path) -> None:
        result = subprocess.run(["openssl", *map(str, args)], capture_output=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.decode(errors='replace')}")


def write_kubeconfig(path: Path, server: str, ca: Path, cert: Path, key: Path, user: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {"server": server,
                                                 "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"client-certificate": str(cert),
                                          "client-key": str(key)}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user}}],
        "current-context": "e2e",
        "preferences": {},
    }
    path.write_text(json.dumps(config, indent=2))


class KubeControlPlane:
    """etcd + kube-apiserver + kube-controller-manager in a temp dir; stopped and removed on exit.

    ``kubeconfig`` is an admin kubeconfig (system:masters: RBAC never refuses it); ``server``,
    ``ca_file``, ``client_cert`` and ``client_key`` are what an HTTPS client needs.
    """

    def __init__(self, bin_dir: str | Path, start_timeout: float = START_TIMEOUT) -> None:
        self.bin_dir = Path(bin_dir)
        self.start_timeout = start_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="redslot-kube-"))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.argv: dict[str, list[str]] = {}  # how each process was started, to start it again
        self.api_port = free_port()
        self.server = f"https://127.0.0.1:{self.api_port}"
        self.kubeconfig = self.workdir / "admin.kubeconfig"
        self.certs: Certificates | None = None

    def __enter__(self) -> KubeControlPlane:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def ca_file(self) -> Path:
        assert self.certs is not None
        return self.certs.ca_cert

    @property
    def client_cert(self) -> Path:
        assert self.certs is not None
        return self.certs.admin_cert

    @property
    def client_key(self) -> Path:
        assert self.certs is not None
        return self.certs.admin_key

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context

    def api(self) -> KubeAPI:
        """An admin client of the API server (one per thread: it keeps one connection)."""
        return KubeAPI(self.server, self.ssl_context())

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    def requests_by(self, user: str, start: float, end: float) -> dict[str, int]:
        """Requests ``user`` sent between the wall-clock times ``start`` and ``end``,
        counted by "verb resource[/subresource]" (a watch counts once, when it starts)."""
        return requests_by(self.audit_log, user, start, end)

    def start(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        certs = self.certs = Certificates(self.workdir / "pki")
        write_kubeconfig(self.kubeconfig, self.server, certs.ca_cert, certs.admin_cert,
                         certs.admin_key, "admin")
        controller_manager_kubeconfig = self.workdir / "controller-manager.kubeconfig"
        write_kubeconfig(controller_manager_kubeconfig, self.server, certs.ca_cert,
                         certs.controller_manager_cert, certs.controller_manager_key,
                         "system:kube-controller-manager")

        audit_policy = self.workdir / "audit-policy.json"
        audit_policy.write_text(json.dumps(AUDIT_POLICY))
        etcd_port, peer_port = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._spawn("etcd", [
            "--name", "e2e", "--data-dir", str(self.workdir / "etcd"),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"e2e={peer_url}", "--unsafe-no-fsync",
            "--log-level", "warn",
        ])
        self._wait("etcd", deadline, lambda: self._get(f"{etcd_url}/health", None) == 200)

        self._spawn("kube-apiserver", [
            "--etcd-servers", etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.api_port), "--cert-dir", str(self.workdir / "apiserver"),
            "--tls-cert-file", str(certs.server_cert),
            "--tls-private-key-file", str(certs.server_key),
            "--client-ca-file", str(certs.ca_cert),
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(certs.service_account_pub),
            "--service-account-signing-key-file", str(certs.service_account_key),
            "--authorization-mode", "Node,RBAC",
            "--kubelet-client-certificate", str(certs.kubelet_client_cert),
            "--kubelet-client-key", str(certs.kubelet_client_key),
            "--kubelet-certificate-authority", str(certs.ca_cert),
            "--kubelet-preferred-address-types", "InternalIP",
            "--allow-privileged=true",
            # The default reconciler would publish 127.0.0.1 as the `kubernetes` Service's
            # endpoint, which validation refuses (loopback): it would retry forever.
            "--endpoint-reconciler-type", "none",
            "--profiling=false",
            "--audit-policy-file", str(audit_policy),
            "--audit-log-path", str(self.audit_log), "--audit-log-format", "json",
        ])
        apiserver_context = self.ssl_context()
        self._wait("kube-apiserver", deadline,
                   lambda: self._get(f"{self.server}/readyz", apiserver_context) == 200)

        controller_manager_port = free_port()
        self._spawn("kube-controller-manager", [
            "--kubeconfig", str(controller_manager_kubeconfig),
            "--authentication-kubeconfig", str(controller_manager_kubeconfig),
            "--authorization-kubeconfig", str(controller_manager_kubeconfig),
            "--bind-address", "127.0.0.1", "--secure-port", str(controller_manager_port),
            "--cert-dir", str(self.workdir / "controller-manager"),
            "--leader-elect=false",
            "--controllers", ",".join(CONTROLLERS),
            "--service-account-private-key-file", str(certs.service_account_key),
            "--root-ca-file", str(certs.ca_cert),
            "--cluster-name", "e2e",
            "--concurrent-statefulset-syncs", "5",
            "--profiling=false",
        ])
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        self._wait("kube-controller-manager", deadline,
                   lambda: self._get(f"https://127.0.0.1:{controller_manager_port}/healthz",
                                     insecure) == 200)
        # Pods need their namespace's `default` ServiceAccount (admission refuses them until
        # the controller made it): its presence in `default` proves the controllers run.
        self._wait("kube-controller-manager", deadline, lambda: self._get(
            f"{self.server}/api/v1/namespaces/default/serviceaccounts/default",
            apiserver_context) == 200)

    def stop_apiserver(self) -> None:
        """The API going away (etcd and the data in it stay): every client's calls fail
        with connection refused until ``start_apiserver``."""
        stop_process(self.processes["kube-apiserver"])

    def start_apiserver(self) -> None:
        """The same kube-apiserver again (same port, certificates and etcd), once ready."""
        self._spawn("kube-apiserver", self.argv["kube-apiserver"])
        context = self.ssl_context()
        self._wait("kube-apiserver", time.monotonic() + self.start_timeout,
                   lambda: self._get(f"{self.server}/readyz", context) == 200)
        self._wait_controllers_resumed()

    def _wait_controllers_resumed(self) -> None:
        """After an outage client-go's informers retry with a backoff of up to 30 s: wait
        until the controller manager acts again (a probe namespace gets its `default`
        ServiceAccount), so the next test does not meet a half-asleep control plane."""
        api = self.api()
        name = f"resume-probe-{int(time.monotonic() * 1000)}"
        try:
            api.request("POST", "/api/v1/namespaces",
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

            def resumed() -> bool:
                try:
                    found = api.get(f"/api/v1/namespaces/{name}/serviceaccounts/default")
                except (OSError, RuntimeError, ValueError):
                    return False
                return found is not None
            self._wait("kube-controller-manager", time.monotonic() + 120, resumed)
            api.request("DELETE", f"/api/v1/namespaces/{name}")
        finally:
            api.close()

    def _spawn(self, name: str, args: list[str]) -> None:
        self.argv[name] = args
        with open(self.log_path(name), "ab") as log:
            self.processes[name] = subprocess.Popen(
                [str(self.bin_dir / name), *args], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True,
                preexec_fn=die_with_parent)

    @staticmethod
    def _get(url: str, context: ssl.SSLContext | None) -> int:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return int(response.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except (OSError, ssl.SSLError):
            return 0

    def _wait(self, name: str, deadline: float, ready: Callable[[], bool]) -> None:
        proc = self.processes[name]
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n"
                                   f"{log_tail(self.log_path(name))}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready within {self.start_timeout:.0f}s:\n"
                                   f"{log_tail(self.log_path(name))}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop every process (newest first) and remove the temp dir."""
        for proc in reversed(list(self.processes.values())):
            stop_process(proc)
        self.processes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
