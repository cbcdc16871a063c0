"""A real Kubernetes node on this machine, joined to the e2e control plane.

Why: simulated pods never exercise the image, probes, volume mounts, security contexts, DNS,
Services or in-cluster API credentials, which is where operators fail in users' clusters.
This starts containerd (its own config, root, state and socket under WORKDIR), the bridge CNI
on POD_CIDR, the kubelet, kube-scheduler, kube-proxy (iptables; ClusterIP Services) and
CoreDNS (and the EndpointSlice controller they read Services from), and imports the images with `ctr images import`. Pod traffic never leaves the
machine: the bridge has no uplink, ipMasq is off and the host's ip_forward stays 0 (so a pod
reaches a ClusterIP only when its endpoint is on the host, as the API server is; pods reach
each other by pod IP). The host reaches pods by pod IP through the bridge.

Everything the node leaves on the host is found by name, so `cleanup()` also removes what a
killed earlier run left: processes in the node's cgroups or speaking to its containerd
socket, mounts under WORKDIR (container root filesystems, network namespaces), the cgroups,
the KUBE-* iptables chains, the bridge, runc's state, sysctls the kubelet changed. One node runs per
machine at a time (a lock file), since iptables chains and the bridge are machine-wide.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from e2e.controlplane import (
    KubeAPI,
    KubeControlPlane,
    die_with_parent,
    eventually,
    free_port,
    log_tail,
    phase_timer,
    stop_process,
    write_kubeconfig,
)

NODE_NAME = "e2e-node"
BRIDGE = "redslot-e2e0"
POD_CIDR = "10.213.0.0/24"
NODE_IP = "10.213.0.1"            # the bridge's address: gateway, node IP, DNS server
CGROUP_ROOT = "redslot-e2e"
WORKDIR = Path("/var/tmp/redslot-e2e-node")
LOGS = Path("/var/tmp/redslot-e2e-node-logs")   # the last node's logs, kept after it stopped
LOCK = Path("/run/lock/redslot-e2e-node.lock")
LOCK_TIMEOUT = 1800.0
# The pods share one cgroup, which weighs as much as one busy process of the host (1024):
# on a host running other work (a CI machine's other jobs), probes and the operator's
# one-second timeouts failed for CPU starvation alone. This weighs it as four.
POD_CPU_SHARES = 4096
READY_TIMEOUT = 120.0
# What the kubelet writes at start unless protectKernelDefaults, and forwarding, which no
# part of the node may turn on: saved to SYSCTLS before the node starts (once, so a killed
# run's values are not taken for the host's), restored and forgotten on cleanup.
HOST_SYSCTLS = ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic",
                "kernel/panic_on_oops", "kernel/keys/root_maxkeys",
                "kernel/keys/root_maxbytes", "net/ipv4/ip_forward")
SYSCTLS = Path("/var/tmp/redslot-e2e-node-sysctls.json")
NODE_CERT_SECTION = f"""
[node]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:{NODE_IP},IP:127.0.0.1,DNS:{NODE_NAME}
authorityKeyIdentifier = keyid
"""


def sh(*argv: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr}")
    return result


def missing_tools() -> list[str]:
    need = ["containerd", "runc", "ctr", "iptables", "iptables-save", "ip"]
    out = [t for t in need if shutil.which(t) is None]
    if not Path("/usr/lib/cni/bridge").exists():
        out.append("/usr/lib/cni/bridge")
    if os.geteuid() != 0:
        out.append("root")
    return out


# --- cleanup, by name ------------------------------------------------------------------------

def _pids_in_node_cgroups() -> set[int]:
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"/{CGROUP_ROOT}/" in (proc / "cgroup").read_text():
                pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def _pids_of_node_shims() -> set[int]:
    marker = str(WORKDIR).encode()
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "cmdline").read_bytes():
                pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def _kill(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _unmount_under(root: Path) -> None:
    """Every mount under root, deepest first (container root filesystems, netns, volumes)."""
    for _ in range(3):
        points = []
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point == str(root) or point.startswith(f"{root}/"):
                points.append(point)
        if not points:
            return
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)


def _remove_cgroups() -> None:
    for controller in Path("/sys/fs/cgroup").iterdir():
        top = controller / CGROUP_ROOT
        if not top.is_dir():
            continue
        for directory in sorted((p for p in top.rglob("*") if p.is_dir()),
                                key=lambda p: len(p.parts), reverse=True) + [top]:
            try:
                directory.rmdir()
            except OSError:
                pass


def _remove_kube_iptables_chains() -> None:
    """Jumps from built-in chains into KUBE-* chains, then the chains (kubelet, kube-proxy)."""
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool) is None:
            continue
        for table in ("filter", "nat", "mangle"):
            dump = sh(f"{tool}-save", "-t", table, check=False).stdout
            for line in dump.splitlines():
                if line.startswith("-A ") and " -j KUBE-" in line and \
                        not line.split()[1].startswith("KUBE-"):
                    sh(tool, "-t", table, "-D", *line.split()[1:], check=False)
            chains = [line[1:].split()[0] for line in dump.splitlines()
                      if line.startswith(":KUBE-")]
            for chain in chains:
                sh(tool, "-t", table, "-F", chain, check=False)
            for chain in chains:
                sh(tool, "-t", table, "-X", chain, check=False)


def _remove_empty_dirs(root: Path) -> None:
    """The runc state and shim socket dirs under /run/containerd, if nothing else uses them."""
    if not root.is_dir():
        return
    for directory in sorted((p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()),
                            key=lambda p: len(p.parts), reverse=True) + [root]:
        try:
            directory.rmdir()
        except OSError:
            pass


def _remove_runc_state() -> None:
    """runc's state of the node's containers (their root filesystem is under WORKDIR), which
    a container killed without `runc delete` leaves in /run/containerd/runc."""
    for state in Path("/run/containerd/runc").glob("*/*/state.json"):
        try:
            rootfs = json.loads(state.read_text()).get("config", {}).get("rootfs", "")
        except (OSError, ValueError):
            continue
        if rootfs.startswith(f"{WORKDIR}/"):
            shutil.rmtree(state.parent, ignore_errors=True)
    # Shim sockets nobody listens on any more (a live socket is in /proc/net/unix).
    live = Path("/proc/net/unix").read_text()
    for sock in Path("/run/containerd/s").glob("*"):
        if sock.is_socket() and str(sock) not in live:
            sock.unlink(missing_ok=True)
    # A container whose creation was cut short leaves only its exec.fifo.
    for fifo in Path("/run/containerd/runc").glob("*/*/exec.fifo"):
        if [p.name for p in fifo.parent.iterdir()] == ["exec.fifo"]:
            shutil.rmtree(fifo.parent, ignore_errors=True)


def save_sysctls() -> None:
    if not SYSCTLS.exists():
        values = {p: Path("/proc/sys", p).read_text().strip() for p in HOST_SYSCTLS
                  if Path("/proc/sys", p).exists()}
        SYSCTLS.write_text(json.dumps(values))


def restore_sysctls() -> None:
    if not SYSCTLS.exists():
        return
    for path, value in json.loads(SYSCTLS.read_text()).items():
        try:
            Path("/proc/sys", path).write_text(value)
        except OSError:
            pass
    SYSCTLS.unlink()


def cleanup() -> None:
    """Remove everything a node (this run's or a killed earlier one's) left on the host."""
    for _ in range(3):
        pids = _pids_in_node_cgroups() | _pids_of_node_shims()
        if not pids:
            break
        _kill(pids)
        time.sleep(0.3)
    _unmount_under(WORKDIR)
    _remove_cgroups()
    _remove_kube_iptables_chains()
    sh("ip", "link", "del", BRIDGE, check=False)
    _remove_runc_state()
    _remove_empty_dirs(Path("/run/containerd"))
    restore_sysctls()
    shutil.rmtree(WORKDIR, ignore_errors=True)


# --- the API server, reachable from pods -----------------------------------------------------

class Forwarder:
    """NODE_IP:port -> the API server on loopback, so pods reach it through the `kubernetes`
    Service (kube-proxy DNATs its ClusterIP here). The API server itself stays on loopback."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server((NODE_IP, 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True, name="api-forwarder").start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                downstream.close()
                continue
            upstream.settimeout(None)
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


# --- the node --------------------------------------------------------------------------------

class RealNode:
    """containerd + CNI bridge + kubelet + kube-scheduler + kube-proxy + CoreDNS."""

    def __init__(self, plane: KubeControlPlane, bin_dir: Path,
                 images: list[tuple[Path, str]], pause_image: str) -> None:
        self.plane = plane
        self.bin_dir = bin_dir
        self.images = images
        self.pause_image = pause_image
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.forwarder: Forwarder | None = None
        self.provisioner: Provisioner | None = None
        self.lock: IO[str] | None = None
        self.socket = WORKDIR / "containerd/containerd.sock"
        self.image = ""   # the redslot image's name, set by the fixture

    def __enter__(self) -> RealNode:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self, name: str, lines: int = 40) -> str:
        return log_tail(WORKDIR / f"{name}.log", lines)

    def ctr(self, *args: str, timeout: float = 300.0) -> str:
        return sh("ctr", "--address", str(self.socket), "--namespace", "k8s.io", *args,
                  timeout=timeout).stdout

    def start(self) -> None:
        done = phase_timer("real node")
        LOCK.parent.mkdir(parents=True, exist_ok=True)
        self.lock = open(LOCK, "w")
        eventually(lambda: self._try_lock(), LOCK_TIMEOUT, "the machine's e2e node lock", 1.0)
        done("lock")
        cleanup()
        save_sysctls()
        for sub in ("containerd", "cni/net.d", "kubelet", "pods-logs", "pv"):
            (WORKDIR / sub).mkdir(parents=True, exist_ok=True)
        for controller in Path("/sys/fs/cgroup").iterdir():
            if (controller / "cgroup.procs").exists():
                (controller / CGROUP_ROOT).mkdir(exist_ok=True)
        shares = Path("/sys/fs/cgroup/cpu", CGROUP_ROOT, "cpu.shares")
        if shares.exists():
            shares.write_text(str(POD_CPU_SHARES))
        self._bridge()
        self._certificates()
        done("cleanup, bridge, certificates")
        self._containerd()
        done("containerd")
        for archive, name in self.images:
            self.ctr("images", "import", str(archive))
            assert name in self.ctr("images", "ls", "-q"), name
        done("images imported")
        self.forwarder = Forwarder(self.plane.api_port)
        self._kubernetes_endpoints()
        self._endpoint_slices()
        self._coredns()
        self._scheduler()
        self._proxy()
        self._kubelet()
        self.provisioner = Provisioner(self.plane.api(), WORKDIR / "pv")
        done("node Ready (kubelet, scheduler, kube-proxy, CoreDNS)")

    def _try_lock(self) -> bool:
        assert self.lock is not None
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _bridge(self) -> None:
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{NODE_IP}/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        conf = {"cniVersion": "1.0.0", "name": "redslot-e2e", "plugins": [
            # Not isGateway: the bridge plugin would turn the host's ip_forward on. The
            # bridge's address is set above; IPAM gives pods their route through it.
            {"type": "bridge", "bridge": BRIDGE, "isGateway": False, "ipMasq": False,
             "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": str(WORKDIR / "cni/ipam"),
                      "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                      "routes": [{"dst": "0.0.0.0/0", "gw": NODE_IP}]}}]}
        (WORKDIR / "cni/net.d/10-redslot-e2e.conflist").write_text(json.dumps(conf))

    def _certificates(self) -> None:
        certs = self.plane.certs
        assert certs is not None
        certs.config.write_text(certs.config.read_text() + NODE_CERT_SECTION)
        server = self.plane.server
        for name, subject in (("kubelet", f"/O=system:nodes/CN=system:node:{NODE_NAME}"),
                              ("kube-scheduler", "/CN=system:kube-scheduler"),
                              ("kube-proxy", "/CN=system:kube-proxy"),
                              ("coredns", "/O=system:masters/CN=coredns")):
            cert, key = certs.issue(f"node-{name}", subject, "node")
            write_kubeconfig(WORKDIR / f"{name}.kubeconfig", server, certs.ca_cert, cert, key,
                             name)
        self.kubelet_cert, self.kubelet_key = certs.dir / "node-kubelet.crt", \
            certs.dir / "node-kubelet.key"

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(WORKDIR / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=WORKDIR,
                                    start_new_session=True, preexec_fn=die_with_parent)
        self.processes[name] = proc
        return proc

    def _wait(self, name: str, ready: Callable[[], object], what: str) -> None:
        proc = self.processes[name]

        def probe() -> object:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited {proc.returncode}:\n{self.log(name)}")
            return ready()
        try:
            eventually(probe, READY_TIMEOUT, what, 0.3)
        except TimeoutError:
            raise TimeoutError(f"{what}:\n{self.log(name)}") from None

    def _containerd(self) -> None:
        base = WORKDIR / "containerd"
        config = f"""version = 2
root = "{base}/root"
state = "{base}/state"
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{base}/ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{self.pause_image}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{WORKDIR}/cni/net.d"
"""
        (base / "config.toml").write_text(config)
        self._spawn("containerd", ["containerd", "--config", str(base / "config.toml")])
        self._wait("containerd", lambda: sh("ctr", "--address", str(self.socket), "version",
                                             check=False).returncode == 0,
                   "containerd answering")

    def _kubernetes_endpoints(self) -> None:
        """The `kubernetes` Service's endpoint: the forwarder on the node's address (the API
        server runs with --endpoint-reconciler-type none, since it listens on loopback)."""
        assert self.forwarder is not None
        api = self.plane.api()
        slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"name": "kubernetes", "namespace": "default",
                               "labels": {"kubernetes.io/service-name": "kubernetes",
                                          "endpointslice.kubernetes.io/managed-by": "e2e"}},
                  "addressType": "IPv4",
                  "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
                  "ports": [{"name": "https", "port": self.forwarder.port, "protocol": "TCP"}]}
        path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
        api.request("DELETE", f"{path}/kubernetes")
        status, body = api.request("POST", path, slice_)
        if status != 201:
            raise RuntimeError(f"kubernetes EndpointSlice: {status} {body}")
        api.close()

    def _endpoint_slices(self) -> None:
        """The EndpointSlice controller, which kube-proxy and CoreDNS read Services from. Its
        own kube-controller-manager, started with the node: in the shared one it would fight
        the fake kubelet's loopback pod IPs, which endpoint validation refuses."""
        port = free_port()
        kubeconfig = str(self.plane.workdir / "controller-manager.kubeconfig")
        self._spawn("endpointslice-controller", [
            str(self.bin_dir / "kube-controller-manager"), "--kubeconfig", kubeconfig,
            "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1", "--secure-port", str(port),
            "--cert-dir", str(WORKDIR / "endpointslice-controller"), "--leader-elect=false",
            "--controllers", "endpointslice-controller", "--profiling=false"])
        self._wait("endpointslice-controller",
                   lambda: http_ok(f"https://127.0.0.1:{port}/healthz"),
                   "the EndpointSlice controller healthy")

    def _coredns(self) -> None:
        health, ready = free_port(), free_port()
        corefile = WORKDIR / "Corefile"
        corefile.write_text(f""".:53 {{
    bind {NODE_IP}
    errors
    health 127.0.0.1:{health}
    ready 127.0.0.1:{ready}
    kubernetes cluster.local in-addr.arpa {{
        kubeconfig {WORKDIR}/coredns.kubeconfig e2e
        pods insecure
    }}
    cache 5
}}
""")
        (binary,) = self.bin_dir.glob("coredns-*")
        self._spawn("coredns", [str(binary), "-conf", str(corefile)])
        self._wait("coredns", lambda: http_ok(f"http://127.0.0.1:{ready}/ready"),
                   "CoreDNS ready")

    def _scheduler(self) -> None:
        kubeconfig = str(WORKDIR / "kube-scheduler.kubeconfig")
        port = free_port()
        self._spawn("kube-scheduler", [
            str(self.bin_dir / "kube-scheduler"), "--kubeconfig", kubeconfig,
            "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1", "--secure-port", str(port),
            "--leader-elect=false", "--profiling=false"])
        self._wait("kube-scheduler", lambda: http_ok(f"https://127.0.0.1:{port}/healthz"),
                   "kube-scheduler healthy")

    def _proxy(self) -> None:
        health = free_port()
        config = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(WORKDIR / "kube-proxy.kubeconfig")},
            "mode": "iptables", "clusterCIDR": POD_CIDR, "hostnameOverride": NODE_NAME,
            "healthzBindAddress": f"127.0.0.1:{health}",
            "metricsBindAddress": f"127.0.0.1:{free_port()}",
            # No host sysctl changes: no conntrack tuning, no route_localnet.
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s",
                          "tcpCloseWaitTimeout": "0s"},
            "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
        }
        path = WORKDIR / "kube-proxy.yaml"
        path.write_text(json.dumps(config))
        self._spawn("kube-proxy", [str(self.bin_dir / "kube-proxy"), "--config", str(path)])
        self._wait("kube-proxy", lambda: http_ok(f"http://127.0.0.1:{health}/healthz"),
                   "kube-proxy healthy")

    def _kubelet(self) -> None:
        certs = self.plane.certs
        assert certs is not None
        healthz = free_port()
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "cgroupDriver": "cgroupfs", "cgroupRoot": f"/{CGROUP_ROOT}",
            "failSwapOn": False, "failCgroupV1": False, "resolvConf": "",
            "clusterDNS": [NODE_IP], "clusterDomain": "cluster.local",
            "address": NODE_IP, "port": free_port(), "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1", "healthzPort": healthz,
            "tlsCertFile": str(self.kubelet_cert), "tlsPrivateKeyFile": str(self.kubelet_key),
            "authentication": {"anonymous": {"enabled": False},
                               "webhook": {"enabled": True},
                               "x509": {"clientCAFile": str(certs.ca_cert)}},
            "authorization": {"mode": "Webhook"},
            "makeIPTablesUtilChains": False,
            "podLogsDir": str(WORKDIR / "pods-logs"),
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                             "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
            # The imported images are in no registry: never garbage-collect them.
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False,
            "nodeStatusUpdateFrequency": "4s", "syncFrequency": "5s",
            "fileCheckFrequency": "5s", "staticPodPath": "",
        }
        path = WORKDIR / "kubelet.yaml"
        path.write_text(json.dumps(config))
        self._spawn("kubelet", [
            str(self.bin_dir / "kubelet"), "--config", str(path),
            "--kubeconfig", str(WORKDIR / "kubelet.kubeconfig"),
            "--root-dir", str(WORKDIR / "kubelet"), "--hostname-override", NODE_NAME,
            "--node-ip", NODE_IP, "--v", "1"])
        api = self.plane.api()

        def node_ready() -> bool:
            node = api.get(f"/api/v1/nodes/{NODE_NAME}")
            conditions = (node or {}).get("status", {}).get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        self._wait("kubelet", node_ready, f"Node {NODE_NAME} Ready")
        # The kubelet registers with the not-ready taint, which the node lifecycle controller
        # lifts; that controller is off in the e2e control plane (it would evict the fake
        # kubelet's pods, which send no heartbeats), so the taint is lifted here.
        status, body = api.request("PATCH", f"/api/v1/nodes/{NODE_NAME}",
                                   {"spec": {"taints": None}}, "application/merge-patch+json")
        if status != 200:
            raise RuntimeError(f"untainting {NODE_NAME}: {status} {body}")
        api.close()

    def stop(self) -> None:
        """Stop the node's processes, then remove everything it left (see cleanup)."""
        done = phase_timer("real node")
        if self.provisioner is not None:
            self.provisioner.stop()
        for name in ("kubelet", "kube-proxy", "kube-scheduler", "coredns",
                     "endpointslice-controller"):
            if name in self.processes:
                stop_process(self.processes.pop(name))
        _kill(_pids_in_node_cgroups())
        if "containerd" in self.processes:
            stop_process(self.processes.pop("containerd"))
        if self.forwarder is not None:
            self.forwarder.close()
        proxy = self.bin_dir / "kube-proxy"
        if proxy.exists():
            sh(str(proxy), "--cleanup", check=False)
        api = self.plane.api()
        try:
            api.request("DELETE", f"/api/v1/nodes/{NODE_NAME}")
        except OSError:
            pass
        api.close()
        # The node's logs outlive it, for a failure's post-mortem.
        shutil.rmtree(LOGS, ignore_errors=True)
        LOGS.mkdir(parents=True)
        for log in WORKDIR.glob("*.log"):
            shutil.copy(log, LOGS / log.name)
        shutil.copytree(WORKDIR / "pods-logs", LOGS / "pods", dirs_exist_ok=True,
                        ignore_dangling_symlinks=True)
        cleanup()
        if self.lock is not None:
            self.lock.close()
            self.lock = None
        done("node stopped and cleaned up")


def http_ok(url: str) -> bool:
    import ssl
    import urllib.request
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return int(response.status) == 200
    except OSError:
        return False


class Provisioner:
    """A hostPath PersistentVolume for each pending claim, bound to it; deleted (with its
    directory) once the claim is gone: the part of a storage provisioner and the volume
    binder (not run by the e2e controller manager) these tests need."""

    def __init__(self, api: KubeAPI, root: Path) -> None:
        self.api = api
        self.root = root
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="provisioner")
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.api.close()

    def _run(self) -> None:
        while not self.stopping.wait(0.5):
            try:
                self._sync()
            except (OSError, RuntimeError):
                continue

    def _sync(self) -> None:
        claims = (self.api.get("/api/v1/persistentvolumeclaims") or {}).get("items", [])
        volumes = (self.api.get("/api/v1/persistentvolumes") or {}).get("items", [])
        live = {c["metadata"]["uid"] for c in claims}
        for volume in volumes:
            ref = volume["spec"].get("claimRef") or {}
            if volume["metadata"]["name"].startswith("e2e-pv-") and ref.get("uid") not in live:
                self.api.request("DELETE", f"/api/v1/persistentvolumes/{volume['metadata']['name']}")
                shutil.rmtree(self.root / volume["metadata"]["name"], ignore_errors=True)
        for claim in claims:
            if claim["metadata"].get("deletionTimestamp"):
                continue
            if claim.get("status", {}).get("phase") != "Bound":
                self._bind(claim)

    def _bind(self, claim: dict[str, Any]) -> None:
        meta, spec = claim["metadata"], claim["spec"]
        name = f"e2e-pv-{meta['uid']}"
        directory = self.root / name
        directory.mkdir(exist_ok=True)
        directory.chmod(0o777)   # as local-path provisioners do: any pod uid may write
        size = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
        volume = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                  "spec": {"capacity": {"storage": size},
                           "accessModes": spec.get("accessModes", ["ReadWriteOnce"]),
                           "persistentVolumeReclaimPolicy": "Delete",
                           "storageClassName": spec.get("storageClassName") or "",
                           "hostPath": {"path": str(directory), "type": "Directory"},
                           "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                        "namespace": meta["namespace"], "name": meta["name"],
                                        "uid": meta["uid"]}}}
        self.api.request("POST", "/api/v1/persistentvolumes", volume)
        self.api.request("PATCH", f"/api/v1/persistentvolumes/{name}/status",
                         {"status": {"phase": "Bound"}}, "application/merge-patch+json")
        base = f"/api/v1/namespaces/{meta['namespace']}/persistentvolumeclaims/{meta['name']}"
        # The annotation is what makes the scheduler count the claim as bound.
        patch: dict[str, Any] = {"metadata": {"annotations": {
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes"}}}
        if not spec.get("volumeName"):
            patch["spec"] = {"volumeName": name}
        self.api.request("PATCH", base, patch, "application/merge-patch+json")
        self.api.request("PATCH", f"{base}/status",
                         {"status": {"phase": "Bound", "capacity": {"storage": size},
                                     "accessModes": spec.get("accessModes", ["ReadWriteOnce"])}},
                         "application/merge-patch+json")
