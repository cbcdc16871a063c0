"""Test hosts in network namespaces, one LAN between them, partitions with iptables, and a
``redslot up``-style cluster whose nodes and control plane each run on a host of their own.

The LAN is a bridge in a namespace of its own (a fresh namespace has no firewall rules
that could drop bridged traffic); the test's own namespace joins it too, at ``.254``, so
the test process is a client that reaches every host. A partition is a pair of DROP rules
(in and out) in a host's namespace per address cut off: packets vanish, no RST, no FIN.
Needs root (ip netns, iptables).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from redslot.operator.local.store import ClusterDirectory
from redslot.operator.model.record import Spec

CONTROL = Path(__file__).resolve().parent / "fault_control.py"
PORT = 7101  # fault_control.PORT


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


class Lab:
    """Namespaced hosts ``name -> address`` on one bridge; ``OUTSIDE`` is this process."""

    OUTSIDE = "outside"

    def __init__(self, tag: int = 0) -> None:
        """``tag`` (0-9) tells apart the labs of one test process."""
        self.prefix = f"rsl{os.getpid() % 10000}{tag}"
        self.subnet = f"10.{233 + tag}.{os.getpid() % 250 + 1}"
        self.hub = f"{self.prefix}hub"
        self.hosts: dict[str, str] = {}  # name -> address
        self.addresses: dict[str, str] = {self.OUTSIDE: f"{self.subnet}.254"}
        self.root_link = f"{self.prefix}r"
        run("ip", "netns", "add", self.hub)
        try:
            run("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
            run("ip", "-n", self.hub, "link", "set", "br0", "up")
            run("ip", "link", "add", self.root_link, "type", "veth", "peer", "name", "up0",
                "netns", self.hub)
            run("ip", "-n", self.hub, "link", "set", "up0", "master", "br0", "up")
            run("ip", "addr", "add", f"{self.subnet}.254/24", "dev", self.root_link)
            run("ip", "link", "set", self.root_link, "up")
        except BaseException:
            self.close()
            raise

    def ns(self, host: str) -> str:
        return f"{self.prefix}{host}"

    def add(self, host: str) -> str:
        index = len(self.hosts) + 1
        address = f"{self.subnet}.{index}"
        ns = self.ns(host)
        run("ip", "netns", "add", ns)
        self.hosts[host] = address
        self.addresses[host] = address
        run("ip", "-n", self.hub, "link", "add", f"h{index}", "type", "veth", "peer", "name",
            "eth0", "netns", ns)
        run("ip", "-n", self.hub, "link", "set", f"h{index}", "master", "br0", "up")
        run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        return address

    def exec(self, host: str, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns(host), *argv]

    def host_of(self, address: str) -> str:
        ip = address.rsplit(":", 1)[0]
        return next(h for h, a in self.hosts.items() if a == ip)

    def cut(self, host: str, others: Iterable[str]) -> None:
        """Drop everything between ``host`` and each of ``others`` (host names or
        OUTSIDE), with rules in ``host``'s namespace only, all at once (one
        iptables-restore)."""
        rules = ["*filter"]
        for other in others:
            address = self.addresses[other]
            rules += [f"-I INPUT -s {address} -j DROP", f"-I OUTPUT -d {address} -j DROP"]
        subprocess.run(self.exec(host, "iptables-restore", "--noflush"), check=True,
                       capture_output=True, timeout=30, input="\n".join([*rules, "COMMIT", ""]),
                       text=True)

    def heal(self) -> None:
        for host in self.hosts:
            run(*self.exec(host, "iptables", "-F"))

    def close(self) -> None:
        for host in self.hosts:
            subprocess.run(["ip", "netns", "del", self.ns(host)], capture_output=True,
                           timeout=30)
        subprocess.run(["ip", "link", "del", self.root_link], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.hub], capture_output=True, timeout=30)


class FaultCluster:
    """3 masters x 1 replica on hosts n0..n5, the control plane on host ``cp``, a client
    host ``cb`` that partitions leave alone (clients on the other side)."""

    def __init__(self, lab: Lab, path: Path, durability: str, down_after_ms: int) -> None:
        self.lab = lab
        self.directory = ClusterDirectory(path)
        self.directory.create()
        self.spec = Spec(shards=3, replicas=1, durability=durability,
                         down_after_ms=down_after_ms)
        self.directory.save_spec(self.spec)
        self.node_hosts = {lab.add(f"n{i}"): lab.ns(f"n{i}") for i in range(6)}
        lab.add("cp")
        lab.add("cb")
        self.control: subprocess.Popen[bytes] | None = None

    @property
    def lease(self) -> float:
        return self.spec.lease_ms / 1000

    def seeds(self) -> list[str]:
        return [f"{ip}:{PORT}" for ip in self.node_hosts]

    def start_control(self) -> None:
        self.control = subprocess.Popen(
            self.lab.exec("cp", sys.executable, str(CONTROL), str(self.directory.path),
                          json.dumps(self.node_hosts)),
            stdout=subprocess.DEVNULL, stderr=open(self.directory.path / "control.err", "ab"))

    def kill_control(self) -> None:
        assert self.control is not None
        self.control.kill()
        self.control.wait(10)

    def freeze_control(self) -> None:
        assert self.control is not None
        self.control.send_signal(signal.SIGSTOP)

    def thaw_control(self) -> None:
        assert self.control is not None
        self.control.send_signal(signal.SIGCONT)

    def jump_control_clock(self) -> None:
        assert self.control is not None
        self.control.send_signal(signal.SIGUSR1)

    def status(self) -> dict[str, Any]:
        return self.directory.load_status() or {}

    def shards(self) -> list[dict[str, Any]]:
        return list(self.status().get("shards", []))

    def node_pid(self, name: str) -> int:
        return int((self.directory.node_dir(name) / "node.pid").read_text())

    async def ready(self, timeout: float = 90.0) -> None:
        """The control plane reports Ready (every master serving, every replica in sync)
        in a status written after this call."""
        since = time.time()
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            with contextlib.suppress(OSError):  # the file's time: the control plane's
                written = self.directory.status_path.stat().st_mtime  # clock may jump
                if status.get("ready") and written > since + 0.3:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"cluster not ready within {timeout}s: "
                                     f"{json.dumps(status)[:3000]}")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.control is not None and self.control.poll() is None:
            self.control.send_signal(signal.SIGTERM)
            try:
                self.control.wait(40)
            except subprocess.TimeoutExpired:
                self.control.kill()
        for node in self.directory.path.glob("nodes/*/node.pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(node.read_text()), signal.SIGKILL)
