"""The fault suite's control plane: ``redslot up``'s supervisor and reconciler in a process of
its own (so that it can be killed with -9 and restarted), with every node on a test host of
its own: ``ip netns exec <host> redslot node --bind <host's address> ...``.

``fault_control.py DIR HOSTS_JSON`` where HOSTS_JSON maps each host's address to its
namespace; a node takes the first host no other node has. Nodes left running by a killed
control plane are adopted by the next one, as with ``redslot up``.

SIGUSR1 jumps this process's clocks (``time.monotonic`` and ``time.time``, which asyncio's
loop and the lease keeper read) forward by CLOCK_JUMP seconds: a test hook standing for a
clock that jumps (a VM resumed, a bad clock source), since only this process must see it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

from redslot.operator.local.commands import supervise
from redslot.operator.local.store import ClusterDirectory
from redslot.operator.local.supervisor import Supervisor
from redslot.operator.model.record import NodeRecord

PORT = 7101  # every node on its own host: one port for all
CLOCK_JUMP = 60.0

offset = 0.0
real_monotonic, real_time = time.monotonic, time.time


def jump(*_: object) -> None:
    global offset
    offset += CLOCK_JUMP
    logging.getLogger("redslot.local").warning("clock jumped forward by %ss", CLOCK_JUMP)


time.monotonic = lambda: real_monotonic() + offset
time.time = lambda: real_time() + offset


class HostFleet(Supervisor):
    def __init__(self, directory: ClusterDirectory, hosts: dict[str, str],
                 node_args: list[str]) -> None:
        super().__init__(directory, "", PORT, node_args)
        self.hosts = hosts

    def allocate(self, name: str, taken: set[str]) -> str:
        used = {address.rsplit(":", 1)[0] for address in taken}
        return f"{next(ip for ip in self.hosts if ip not in used)}:{PORT}"

    def argv(self, node: NodeRecord) -> list[str]:
        host = node.address.rsplit(":", 1)[0]
        argv = super().argv(node)
        argv[argv.index("--bind") + 1] = f"{host} 127.0.0.1"
        return ["ip", "netns", "exec", self.hosts[host], *argv,
                "--cluster-announce-ip", host, "--protected-mode", "no"]


def main() -> None:
    directory = ClusterDirectory(sys.argv[1])
    hosts = json.loads(sys.argv[2])
    spec = directory.load_spec()
    node_args = ["--min-replicas-ack", str(spec.acks_required)] if spec.acks_required else []
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.FileHandler(Path(sys.argv[1]) / "redslot.log")])
    signal.signal(signal.SIGUSR1, jump)
    asyncio.run(supervise(directory, HostFleet(directory, hosts, node_args)))


if __name__ == "__main__":
    main()
