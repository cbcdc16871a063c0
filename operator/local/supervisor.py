"""Node processes on loopback: started, restarted when they die, stopped for good.

Each node runs ``redslot node`` in a directory of its own (data, nodes.conf, node.log)
and in a session of its own, so that a Ctrl-C meant for ``redslot up`` reaches only the
control plane, which then stops the nodes in order. A node that dies is restarted at
once, then with a growing delay if it keeps dying. It comes back held: it serves nothing
until the control plane has confirmed its role. Nodes left running by a control plane
that was killed are adopted by the next one, not started twice. A password reaches a node
in a config file of its own (mode 0600, written before each start), not on its command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ..model.record import NodeRecord
from .security import OPEN, Security, write_private
from .store import ClusterDirectory

log = logging.getLogger("redslot.local")

FIRST_DELAY = 0.1
MAX_DELAY = 5.0
STABLE_SECONDS = 1.0  # a node that ran this long is not crash-looping: restart it at once
STOP_SECONDS = 10.0
METRICS_OFFSET = 20000  # with `up --metrics-port`, a node's /metrics is on its port + this
SECRETS_FILE = "secrets.conf"  # in the node's directory: its requirepass and masterauth


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited child not yet reaped is a zombie, not a node
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


class NodeProcess:
    """One node: its process (ours or adopted) and the task that keeps it running."""

    def __init__(self, node: NodeRecord, directory: Path, argv: list[str],
                 config_text: str = "", on_exit: Callable[[], None] = lambda: None) -> None:
        self.node = node
        self.directory = directory
        self.argv = argv
        self.config_text = config_text  # the secrets file's text, when the node has one
        self.on_exit = on_exit  # told at once when the process exits on its own
        self.pid: int | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False
        self.restarts = 0
        self.task: asyncio.Task[None] | None = None

    @property
    def pid_file(self) -> Path:
        return self.directory / "node.pid"

    def adoptable(self) -> int | None:
        """The pid of this node's process left by an earlier control plane, if alive."""
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if pid_alive(pid) and str(self.directory).encode() in cmdline else None

    async def spawn(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.config_text:
            write_private(self.directory / SECRETS_FILE, self.config_text.encode())
        with open(self.directory / "node.log", "ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
                start_new_session=True, cwd=self.directory)
        self.pid = self.process.pid
        self.pid_file.write_text(f"{self.pid}\n")

    async def wait_exit(self) -> int | None:
        if self.process is not None:
            return await self.process.wait()
        while self.pid is not None and pid_alive(self.pid):
            await asyncio.sleep(0.1)
        return None

    async def keep_running(self) -> None:
        delay = FIRST_DELAY
        adopted = self.adoptable()
        if adopted is not None:
            self.pid = adopted
            log.info("%s: adopted running process %d", self.node.name, adopted)
        else:
            await self.spawn()
        while True:
            started = time.monotonic()
            code = await self.wait_exit()
            if self.stopping:
                return
            self.on_exit()
            if time.monotonic() - started >= STABLE_SECONDS:
                delay = FIRST_DELAY
            log.warning("%s (pid %s) exited (%s); restarting in %.1fs", self.node.name,
                        self.pid, "killed" if code is None or code < 0 else f"code {code}", delay)
            await asyncio.sleep(delay)
            if self.stopping:
                return
            delay = min(delay * 2, MAX_DELAY)
            self.restarts += 1
            await self.spawn()

    async def stop(self) -> None:
        self.stopping = True
        pid = self.pid
        if pid is not None and pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.wait_exit(), STOP_SECONDS)
            except TimeoutError:
                log.warning("%s did not stop in %ss: killing it", self.node.name, STOP_SECONDS)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                await self.wait_exit()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.pid_file.unlink(missing_ok=True)


class Supervisor:
    """The fleet of local mode: what the reconciler asks to run, runs."""

    def __init__(self, directory: ClusterDirectory, host: str, base_port: int,
                 node_args: list[str], node_metrics: bool = False,
                 security: Security = OPEN) -> None:
        self.directory = directory
        self.host = host
        self.base_port = base_port
        self.node_args = node_args
        self.node_metrics = node_metrics  # each node serves /metrics on its port + 20000
        self.security = security
        self.processes: dict[str, NodeProcess] = {}
        # Called when a node process exits on its own: the control plane looks at once
        # (a killed master's replica is promoted without waiting for the next pass).
        self.on_exit: Callable[[], None] = lambda: None

    def argv(self, node: NodeRecord) -> list[str]:
        port = node.address.rsplit(":", 1)[1]
        metrics = ["--metrics-port", str(int(port) + METRICS_OFFSET)] \
            if self.node_metrics and int(port) + METRICS_OFFSET <= 65535 else []
        node_dir = self.directory.node_dir(node.name)
        secrets = [str(node_dir / SECRETS_FILE)] if self.security.password else []
        return [sys.executable, "-m", "redslot.cli", "node", *secrets,
                *self.security.port_args(port), "--bind", self.host,
                "--dir", str(node_dir),
                "--cluster-enabled", "yes", "--cluster-await-confirm", "yes",
                "--cluster-lease-fencing", "yes",
                "--repl-diskless-sync-delay", "0",
                *metrics, *self.node_args]

    def allocate(self, name: str, taken: set[str]) -> str:
        """The first port from the base that is free, with its metrics port when nodes
        serve metrics (a node whose metrics port is taken does not start)."""
        port = self.base_port
        while (f"{self.host}:{port}" in taken or port == 6379
               or not port_free(self.host, port)
               or (self.node_metrics and not port_free(self.host, port + METRICS_OFFSET))):
            port += 1
        return f"{self.host}:{port}"

    def pid(self, name: str) -> int | None:
        process = self.processes.get(name)
        return process.pid if process is not None else None

    async def ensure(self, nodes: Iterable[NodeRecord]) -> None:
        for node in nodes:
            if node.name not in self.processes:
                process = NodeProcess(node, self.directory.node_dir(node.name), self.argv(node),
                                      self.security.node_config(), lambda: self.on_exit())
                process.task = asyncio.create_task(process.keep_running())
                self.processes[node.name] = process

    def orphan(self, name: str) -> NodeProcess:
        """A handle on a node process this supervisor did not start (or none running)."""
        process = NodeProcess(NodeRecord(name, ""), self.directory.node_dir(name), [])
        process.pid = process.adoptable()
        return process

    def outdated(self) -> set[str]:
        """Local nodes always run the installed code: nothing to roll."""
        return set()

    async def restart(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None and process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)  # keep_running starts it again

    async def retire(self, names: Iterable[str]) -> None:
        for name in names:
            process = self.processes.pop(name, None) or self.orphan(name)
            await process.stop()
            shutil.rmtree(self.directory.node_dir(name), ignore_errors=True)
            log.info("%s stopped and removed", name)

    async def stop_orphans(self, names: Iterable[str]) -> None:
        await asyncio.gather(*(self.orphan(name).stop() for name in names))

    async def stop_all(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.processes.values()))
        self.processes.clear()
