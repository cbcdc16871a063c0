"""A fake kubelet: runs the pods of one namespace as local processes on loopback IPs.

Why: there is no container runtime here, yet the operator must see pods that get IPs, turn
Ready, restart, get recreated with new IPs and keep their PVC data. This thread plays the
kubelet's part against the real API server: it binds pods to the Node `fake-node`, starts each
pod's first container as a process bound to its own 127.x.y.z address, maps volume mounts to
local directories, reports status through pods/status, restarts exited processes (and those
whose liveness probe fails) and finalizes deletions. What it does not do: images, resource
limits, exec probes (they count as passing), init or sidecar containers, other containers than
the first, file contents (mount paths are rewritten in the command line only), DNS, Services.
Like the kubelet, it updates the files of a running pod's ConfigMap and Secret volumes when
the objects change (every VOLUME_REFRESH seconds, each file replaced atomically).
"""

from __future__ import annotations

import base64
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.controlplane import KubeAPI, stop_with_parent

NODE_NAME = "fake-node"
HOST_IP = "127.0.0.1"
SYNC_INTERVAL = 0.5
KILL_GRACE = 5.0
RESTART_DELAY = 1.0
PROBE_TIMEOUT = 1.0
VOLUME_REFRESH = 2.0
DEFAULT_SELECTOR = "app.kubernetes.io/name=redslot"

# Pod IPs 127.S.x.y: S from the pid keeps concurrent test sessions apart, the counter gives
# every pod incarnation in this process an address of its own.
_ip_counter = itertools.count(1)
_ip_octet = 16 + os.getpid() % 200


def next_pod_ip() -> str:
    n = next(_ip_counter)
    return f"127.{_ip_octet}.{(n // 250) % 256}.{n % 250 + 1}"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Incarnation:
    """One pod object (one uid) and the process that plays its first container."""

    name: str
    uid: str
    ip: str
    dir: Path
    proc: subprocess.Popen[bytes] | None = None
    restart_count: int = 0
    start_time: str = field(default_factory=now)
    started_at: str = ""
    started: float = 0.0             # monotonic clock at the last start
    last_exit: dict[str, Any] | None = None
    exited_at: float = 0.0
    finished: bool = False           # exited for good (restartPolicy Never/OnFailure)
    ready: bool = False
    probe_failures: int = 0
    live_failures: int = 0
    live_checked: float = 0.0
    kill_deadline: float | None = None
    sent_status: Any = None
    volumes_at: float = 0.0          # monotonic clock at the last ConfigMap/Secret refresh

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class FakeKubelet:
    """Runs the pods matching ``selector`` in ``namespace``; ``stop()`` kills every process."""

    def __init__(self, api: KubeAPI, namespace: str, selector: str = DEFAULT_SELECTOR,
                 root: str | Path | None = None) -> None:
        self.api = api
        self.namespace = namespace
        self.selector = selector
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="redslot-kubelet-"))
        self.incarnations: dict[str, Incarnation] = {}   # by pod uid
        self.claims: dict[str, Path] = {}                 # PVC uid -> its directory
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.log = open(self.root / "kubelet.log", "a")
        self.thread = threading.Thread(target=self._run, name=f"kubelet-{namespace}", daemon=True)

    def start(self) -> FakeKubelet:
        self._register_node()
        self.thread.start()
        return self

    def pods(self) -> dict[str, tuple[str, int]]:
        """Pod name -> (pod IP, pid) for every pod whose process runs now."""
        with self.lock:
            return {inc.name: (inc.ip, inc.proc.pid) for inc in self.incarnations.values()
                    if inc.alive and inc.kill_deadline is None and inc.proc is not None}

    def kill(self, pod: str, sig: int = signal.SIGKILL) -> None:
        """Signal a pod's process group: SIGKILL plays a crash, SIGSTOP a hang."""
        with self.lock:
            for inc in self.incarnations.values():
                if inc.name == pod and inc.alive and inc.proc is not None:
                    os.killpg(inc.proc.pid, sig)
                    return
        raise KeyError(f"no running process for pod {pod}")

    def report(self, lines: int = 30) -> str:
        """The kubelet's log and the tail of every pod's output: what a failed test needs."""
        parts = [f"== kubelet ({self.namespace})", (self.root / "kubelet.log").read_text()]
        for log in sorted(self.root.glob("pods/*/*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts += [f"== {log.parent.name}/{log.name}", "\n".join(tail)]
        return "\n".join(parts)

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(30)
        with self.lock:
            procs = [inc.proc for inc in self.incarnations.values() if inc.proc is not None]
        for proc in procs:
            self._signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait(5)
        self.api.close()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the sync loop -------------------------------------------------------------------

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._sync()
            except Exception:
                message = traceback.format_exc()
                self.errors.append(message)
                self._note(message)
            self.stopping.wait(SYNC_INTERVAL)

    def _note(self, message: str) -> None:
        self.log.write(f"{now()} {message}\n")
        self.log.flush()

    def _sync(self) -> None:
        ns = self.namespace
        selector = urllib.parse.quote(self.selector)
        pods = self.api.get(f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}")["items"]
        claims = self.api.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims")["items"]
        claim_uids = {c["metadata"]["name"]: c["metadata"]["uid"] for c in claims}
        for claim in claims:
            self._bind_claim(claim)
        seen = set()
        for pod in pods:
            uid = pod["metadata"]["uid"]
            seen.add(uid)
            if pod["metadata"].get("deletionTimestamp"):
                self._terminate(pod)
            elif not pod["spec"].get("nodeName"):
                self._bind(pod)
            else:
                self._run_pod(pod, claim_uids)
        for uid, inc in list(self.incarnations.items()):
            if uid not in seen:
                self._forget(inc)
        self._collect_claims(set(claim_uids.values()))

    def _bind(self, pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME}}
        status, body = self.api.request(
            "POST", f"/api/v1/namespaces/{self.namespace}/pods/{name}/binding", binding)
        if status not in (201, 409):
            self._note(f"binding {name}: {status} {body}")

    def _register_node(self) -> None:
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": NODE_NAME,
                             "labels": {"kubernetes.io/hostname": NODE_NAME,
                                        "kubernetes.io/os": "linux",
                                        "kubernetes.io/arch": "amd64"}}}
        status, body = self.api.request("POST", "/api/v1/nodes", node)
        if status not in (201, 409):
            raise RuntimeError(f"creating Node {NODE_NAME}: {status} {body}")
        stamp = now()
        resources = {"cpu": "64", "memory": "256Gi", "pods": "1000"}
        node_status = {"status": {
            "capacity": resources, "allocatable": resources,
            "addresses": [{"type": "InternalIP", "address": HOST_IP},
                          {"type": "Hostname", "address": NODE_NAME}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "fake kubelet", "lastHeartbeatTime": stamp,
                            "lastTransitionTime": stamp}],
            "nodeInfo": {"kubeletVersion": "fake", "operatingSystem": "linux",
                         "architecture": "amd64", "containerRuntimeVersion": "fake://0",
                         "kernelVersion": "", "osImage": "", "kubeProxyVersion": "",
                         "machineID": "", "systemUUID": "", "bootID": ""}}}
        status, body = self.api.request("PATCH", f"/api/v1/nodes/{NODE_NAME}/status",
                                        node_status, "application/merge-patch+json")
        if status != 200:
            raise RuntimeError(f"reporting Node {NODE_NAME} status: {status} {body}")

    # --- volumes -------------------------------------------------------------------------

    def _bind_claim(self, claim: dict[str, Any]) -> None:
        """Mark a PVC Bound (no provisioner runs here; the kubelet's directory is its volume)."""
        if claim.get("status", {}).get("phase") == "Bound":
            return
        spec = claim.get("spec", {})
        requested = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
        patch = {"status": {"phase": "Bound", "capacity": {"storage": requested},
                            "accessModes": spec.get("accessModes", ["ReadWriteOnce"])}}
        name = claim["metadata"]["name"]
        status, body = self.api.request(
            "PATCH", f"/api/v1/namespaces/{self.namespace}/persistentvolumeclaims/{name}/status",
            patch, "application/merge-patch+json")
        if status != 200:
            self._note(f"binding claim {name}: {status} {body}")

    def _collect_claims(self, live_uids: set[str]) -> None:
        """Remove the directories of deleted PVCs once no process uses them."""
        with self.lock:
            in_use = {path for inc in self.incarnations.values() if inc.alive
                      for path in inc.dir.glob("claims/*")}
        for uid, path in list(self.claims.items()):
            if uid not in live_uids and not any(p.resolve() == path for p in in_use):
                shutil.rmtree(path, ignore_errors=True)
                del self.claims[uid]

    def _volumes(self, pod: dict[str, Any], inc: Incarnation,
                 claim_uids: dict[str, str]) -> dict[str, Path] | None:
        """Volume name -> local directory; None while a claimed PVC does not exist yet."""
        paths: dict[str, Path] = {}
        for volume in pod["spec"].get("volumes", []):
            name, local = volume["name"], inc.dir / "volumes" / volume["name"]
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                if claim not in claim_uids:
                    return None
                uid = claim_uids[claim]
                path = self.claims.setdefault(uid, self.root / "claims" / f"{claim}-{uid}")
                path.mkdir(parents=True, exist_ok=True)
                (inc.dir / "claims").mkdir(parents=True, exist_ok=True)
                link = inc.dir / "claims" / claim
                if not link.exists():
                    link.symlink_to(path)
                paths[name] = path
            elif "emptyDir" in volume:
                local.mkdir(parents=True, exist_ok=True)
                paths[name] = local
            elif "configMap" in volume or "secret" in volume:
                files = self._volume_files(volume)
                if files is None:
                    return None
                self._write_files(local, files)
                paths[name] = local
        inc.volumes_at = time.monotonic()
        return paths

    @staticmethod
    def _write_files(local: Path, files: dict[str, bytes]) -> None:
        """Each file replaced whole (a reader never sees half of one), only if changed."""
        local.mkdir(parents=True, exist_ok=True)
        for relative, content in files.items():
            target = local / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() and target.read_bytes() == content:
                continue
            temporary = target.with_name(f".{target.name}.tmp")
            temporary.write_bytes(content)
            os.replace(temporary, target)

    def _refresh_volumes(self, pod: dict[str, Any], inc: Incarnation) -> None:
        """A running pod's ConfigMap and Secret files follow their objects."""
        if not inc.alive or time.monotonic() < inc.volumes_at + VOLUME_REFRESH:
            return
        inc.volumes_at = time.monotonic()
        for volume in pod["spec"].get("volumes", []):
            if "configMap" in volume or "secret" in volume:
                files = self._volume_files(volume)
                if files is not None:
                    self._write_files(inc.dir / "volumes" / volume["name"], files)

    def _volume_files(self, volume: dict[str, Any]) -> dict[str, bytes] | None:
        if "configMap" in volume:
            source = volume["configMap"]
            obj = self.api.get(f"/api/v1/namespaces/{self.namespace}/configmaps/{source['name']}")
            data = {} if obj is None else {k: v.encode() for k, v in obj.get("data", {}).items()}
            if obj is not None:
                data.update({k: base64.b64decode(v) for k, v in obj.get("binaryData", {}).items()})
        else:
            source = volume["secret"]
            obj = self.api.get(
                f"/api/v1/namespaces/{self.namespace}/secrets/{source['secretName']}")
            data = {} if obj is None else {k: base64.b64decode(v)
                                           for k, v in obj.get("data", {}).items()}
        if obj is None:
            return None if not source.get("optional") else {}
        items = source.get("items")
        if not items:
            return data
        return {item["path"]: data[item["key"]] for item in items if item["key"] in data}

    # --- processes -----------------------------------------------------------------------

    def _run_pod(self, pod: dict[str, Any], claim_uids: dict[str, str]) -> None:
        meta = pod["metadata"]
        with self.lock:
            inc = self.incarnations.get(meta["uid"])
            if inc is None:
                inc = Incarnation(meta["name"], meta["uid"], next_pod_ip(),
                                  self.root / "pods" / f"{meta['name']}-{meta['uid']}")
                inc.dir.mkdir(parents=True)
                self.incarnations[inc.uid] = inc
        container = pod["spec"]["containers"][0]
        if inc.proc is not None and not inc.alive and not inc.finished:
            self._container_exited(pod, inc)
        if inc.proc is None and not inc.finished and time.monotonic() >= inc.exited_at + (
                RESTART_DELAY if inc.restart_count else 0):
            volumes = self._volumes(pod, inc, claim_uids)
            if volumes is not None:
                self._start(pod, container, inc, volumes)
        self._refresh_volumes(pod, inc)
        self._probe(container, inc)
        self._check_liveness(container, inc)
        self._report(pod, container, inc)

    def _container_exited(self, pod: dict[str, Any], inc: Incarnation) -> None:
        assert inc.proc is not None
        code = inc.proc.returncode
        inc.last_exit = {"terminated": {
            "exitCode": code if code >= 0 else 128 - code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": inc.started_at, "finishedAt": now()}}
        self._note(f"pod {inc.name} ({inc.ip}) exited with {code}")
        policy = pod["spec"].get("restartPolicy", "Always")
        if policy == "Never" or (policy == "OnFailure" and code == 0):
            inc.finished = True
            return
        inc.proc = None
        inc.exited_at = time.monotonic()
        inc.restart_count += 1

    def _start(self, pod: dict[str, Any], container: dict[str, Any], inc: Incarnation,
               volumes: dict[str, Path]) -> None:
        mounts: dict[str, Path] = {}
        for mount in container.get("volumeMounts", []):
            if mount["name"] in volumes:
                local = volumes[mount["name"]]
                mounts[mount["mountPath"].rstrip("/")] = local / mount.get("subPath", "")

        def local_path(arg: str) -> str:
            for mount_path in sorted(mounts, key=len, reverse=True):
                if arg == mount_path or arg.startswith(mount_path + "/"):
                    return str(mounts[mount_path]) + arg[len(mount_path):]
            return arg

        argv = [local_path(a) for a in container.get("command", []) + container.get("args", [])]
        if argv[:1] == ["redslot"]:
            argv = [sys.executable, "-m", "redslot.cli", *argv[1:]]
            if argv[3:4] == ["node"]:
                # A pod has an address of its own, for what it connects to as well.
                argv += ["--bind", inc.ip, "--bind-source-addr", inc.ip]
        env = dict(os.environ, HOSTNAME=inc.name, **self._env(pod, container, inc))
        cwd = local_path(container.get("workingDir", "")) or str(inc.dir)
        log = open(inc.dir / f"{container['name']}.log", "ab")
        try:
            inc.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                        start_new_session=True, preexec_fn=stop_with_parent)
        finally:
            log.close()
        inc.started_at, inc.started = now(), time.monotonic()
        inc.ready = False
        inc.probe_failures = inc.live_failures = 0
        inc.live_checked = 0.0
        self._note(f"pod {inc.name} ({inc.ip}) started pid {inc.proc.pid}: {argv}")

    def _env(self, pod: dict[str, Any], container: dict[str, Any],
             inc: Incarnation) -> dict[str, str]:
        fields = {"metadata.name": inc.name, "metadata.namespace": self.namespace,
                  "metadata.uid": inc.uid, "status.podIP": inc.ip, "status.hostIP": HOST_IP,
                  "spec.nodeName": NODE_NAME,
                  "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default")}
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            prefix = source.get("prefix", "")
            for kind, ref in (("configmaps", "configMapRef"), ("secrets", "secretRef")):
                if ref in source:
                    obj = self.api.get(
                        f"/api/v1/namespaces/{self.namespace}/{kind}/{source[ref]['name']}")
                    for key, value in (obj or {}).get("data", {}).items():
                        env[prefix + key] = (base64.b64decode(value).decode()
                                             if kind == "secrets" else value)
        for var in container.get("env", []):
            value = var["value"] if "value" in var else self._env_value(var, fields)
            if value is not None:
                env[var["name"]] = value
        return env

    def _env_value(self, var: dict[str, Any], fields: dict[str, str]) -> str | None:
        source = var.get("valueFrom", {})
        if "fieldRef" in source:
            return fields.get(source["fieldRef"]["fieldPath"])
        if "secretKeyRef" in source or "configMapKeyRef" in source:
            kind, ref = (("secrets", source["secretKeyRef"]) if "secretKeyRef" in source
                         else ("configmaps", source["configMapKeyRef"]))
            obj = self.api.get(f"/api/v1/namespaces/{self.namespace}/{kind}/{ref['name']}")
            raw = (obj or {}).get("data", {}).get(ref["key"])
            if raw is not None:
                return base64.b64decode(raw).decode() if kind == "secrets" else str(raw)
        return None

    def _probe(self, container: dict[str, Any], inc: Incarnation) -> None:
        """Readiness as the kubelet computes it: thresholds of consecutive probe results."""
        if not inc.alive:
            inc.ready = False
            return
        probe = container.get("readinessProbe")
        ok = self._check(probe, container, inc.ip)
        if ok:
            inc.probe_failures = 0
            inc.ready = True
        else:
            inc.probe_failures += 1
            threshold = (probe or {}).get("failureThreshold", 3)
            if inc.probe_failures >= threshold:
                inc.ready = False

    def _check_liveness(self, container: dict[str, Any], inc: Incarnation) -> None:
        """Kill a process whose liveness probe failed failureThreshold times in a row, at the
        probe's own period (a restart follows, as after a crash)."""
        probe = container.get("livenessProbe")
        if probe is None or not inc.alive or inc.proc is None:
            return
        clock = time.monotonic()
        if (clock < inc.started + probe.get("initialDelaySeconds", 0)
                or clock < inc.live_checked + probe.get("periodSeconds", 10)):
            return
        inc.live_checked = clock
        if self._check(probe, container, inc.ip):
            inc.live_failures = 0
            return
        inc.live_failures += 1
        if inc.live_failures >= probe.get("failureThreshold", 3):
            self._note(f"pod {inc.name} ({inc.ip}) failed its liveness probe: killing it")
            self._signal(inc.proc, signal.SIGKILL)

    @staticmethod
    def _check(probe: dict[str, Any] | None, container: dict[str, Any], ip: str) -> bool:
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}

        def port_of(value: Any) -> int:
            return int(ports[value]) if isinstance(value, str) and value in ports else int(value)

        timeout = min(float((probe or {}).get("timeoutSeconds", 1)), PROBE_TIMEOUT)
        try:
            if probe and "httpGet" in probe:
                get = probe["httpGet"]
                url = f"http://{ip}:{port_of(get['port'])}{get.get('path', '/')}"
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    return 200 <= response.status < 400
            if probe and "tcpSocket" in probe:
                port = port_of(probe["tcpSocket"]["port"])
            elif probe or not container.get("ports"):
                return True
            else:
                port = int(container["ports"][0]["containerPort"])
            with socket.create_connection((ip, port), timeout=timeout):
                return True
        except (OSError, ValueError, KeyError):
            return False

    def _report(self, pod: dict[str, Any], container: dict[str, Any], inc: Incarnation) -> None:
        running = inc.alive
        if running:
            state: dict[str, Any] = {"running": {"startedAt": inc.started_at}}
        elif inc.finished and inc.last_exit is not None:
            state = inc.last_exit
        else:
            reason = "CrashLoopBackOff" if inc.restart_count else "ContainerCreating"
            state = {"waiting": {"reason": reason}}
        if inc.finished:
            phase = "Succeeded" if state["terminated"]["exitCode"] == 0 else "Failed"
        else:
            phase = "Running" if running or inc.restart_count else "Pending"
        previous = {c["type"]: c for c in pod.get("status", {}).get("conditions", [])}

        def condition(kind: str, true: bool) -> dict[str, Any]:
            status = "True" if true else "False"
            old = previous.get(kind, {})
            stamp = old.get("lastTransitionTime") if old.get("status") == status else now()
            return {"type": kind, "status": status, "lastProbeTime": None,
                    "lastTransitionTime": stamp or now()}

        container_status = {
            "name": container["name"], "image": container.get("image", ""), "imageID": "",
            "containerID": f"fake://{inc.uid}/{inc.restart_count}", "ready": inc.ready,
            "started": running, "restartCount": inc.restart_count, "state": state,
            "lastState": inc.last_exit or {}}
        status = {
            "phase": phase, "hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}],
            "podIP": inc.ip, "podIPs": [{"ip": inc.ip}], "startTime": inc.start_time,
            "qosClass": pod.get("status", {}).get("qosClass", "BestEffort"),
            "conditions": [condition("PodReadyToStartContainers", True),
                           condition("Initialized", True),
                           condition("ContainersReady", inc.ready),
                           condition("Ready", inc.ready),
                           condition("PodScheduled", True)],
            "containerStatuses": [container_status]}
        if status == inc.sent_status:
            return
        code, body = self.api.request(
            "PATCH", f"/api/v1/namespaces/{self.namespace}/pods/{inc.name}/status",
            {"status": status}, "application/merge-patch+json")
        if code == 200:
            inc.sent_status = status
        elif code != 404:
            self._note(f"status of {inc.name}: {code} {body}")

    # --- deletion ------------------------------------------------------------------------

    def _terminate(self, pod: dict[str, Any]) -> None:
        """A pod being deleted: stop its process, then finalize the deletion (grace 0)."""
        meta = pod["metadata"]
        inc = self.incarnations.get(meta["uid"])
        if inc is not None and not self._kill(inc):
            return
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                "preconditions": {"uid": meta["uid"]}}
        code, answer = self.api.request(
            "DELETE", f"/api/v1/namespaces/{self.namespace}/pods/{meta['name']}", body)
        if code not in (200, 404, 409):
            self._note(f"deleting {meta['name']}: {code} {answer}")

    def _forget(self, inc: Incarnation) -> None:
        """A pod gone from the API (force-deleted or finalized): kill it, drop its dirs."""
        if self._kill(inc):
            with self.lock:
                del self.incarnations[inc.uid]
            shutil.rmtree(inc.dir, ignore_errors=True)

    def _kill(self, inc: Incarnation) -> bool:
        """SIGTERM, then SIGKILL after KILL_GRACE; True once the process is gone."""
        if inc.proc is None or inc.proc.poll() is not None:
            return True
        if inc.kill_deadline is None:
            inc.kill_deadline = time.monotonic() + KILL_GRACE
            self._signal(inc.proc, signal.SIGTERM)
            self._note(f"pod {inc.name} ({inc.ip}) terminating")
        elif time.monotonic() >= inc.kill_deadline:
            self._signal(inc.proc, signal.SIGKILL)
        return inc.proc.poll() is not None

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
