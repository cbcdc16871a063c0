"""Fencing under a partition: a master cut off from the control plane and from its replica,
while a client on its side still reaches it, refuses with CLUSTERDOWN before its replica is
promoted, and rejoins as a replica of the new master when the partition heals.

The master runs in a network namespace of its own, joined to the test's by a veth pair; the
control plane (a Reconciler in this process), the replica and the checks stay outside, and
the client that keeps writing runs inside (tests/support/fence_client.py). The cut is two
iptables rules in the master's namespace dropping everything over the veth: no RST, no FIN,
as a real partition. Needs root (ip netns, iptables); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nodes import free_port
from redis.asyncio import Redis
from redslot.operator.control.reconciler import Reconciler
from redslot.operator.local.store import ClusterDirectory
from redslot.operator.local.supervisor import Supervisor
from redslot.operator.model.record import NodeRecord, Spec

CLIENT = Path(__file__).resolve().parents[1] / "support" / "fence_client.py"
DOWN_AFTER_MS = 1500  # also the lease (Spec.lease_ms)
KEY = "fenced-set"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0,
    reason="network namespaces and iptables need root on Linux")


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=20)


class Net:
    """Namespace ``ns`` holding the master's end ``inner`` of a veth pair; ``outer`` here."""

    def __init__(self) -> None:
        tag = os.getpid() % 250 + 1
        self.ns = f"rsfence{os.getpid()}"
        self.veth = f"rsf{os.getpid() % 100000}"
        self.inner = f"10.231.{tag}.1"
        self.outer = f"10.231.{tag}.2"

    def exec(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]

    def cut(self) -> None:
        run(*self.exec("iptables", "-I", "INPUT", "-i", "p0", "-j", "DROP"))
        run(*self.exec("iptables", "-I", "OUTPUT", "-o", "p0", "-j", "DROP"))

    def heal(self) -> None:
        run(*self.exec("iptables", "-F"))


@pytest.fixture
def net() -> Iterator[Net]:
    n = Net()
    try:
        run("ip", "netns", "add", n.ns)
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"cannot create a network namespace: {exc}")
    try:
        run("ip", "link", "add", n.veth, "type", "veth", "peer", "name", "p0", "netns", n.ns)
        run("ip", "addr", "add", f"{n.outer}/30", "dev", n.veth)
        run("ip", "link", "set", n.veth, "up")
        run(*n.exec("ip", "addr", "add", f"{n.inner}/30", "dev", "p0"))
        run(*n.exec("ip", "link", "set", "p0", "up"))
        run(*n.exec("ip", "link", "set", "lo", "up"))
        yield n
    finally:
        subprocess.run(["ip", "netns", "del", n.ns], capture_output=True, timeout=20)
        subprocess.run(["ip", "link", "del", n.veth], capture_output=True, timeout=20)


class SplitFleet(Supervisor):
    """shard-0-0 (the first master) inside the namespace, everything else here."""

    def __init__(self, directory: ClusterDirectory, net: Net, node_args: list[str]) -> None:
        super().__init__(directory, "", 0, node_args)
        self.net = net
        self.addresses = {"shard-0-0": f"{net.inner}:{free_port()}",
                          "shard-0-1": f"{net.outer}:{free_port()}"}

    def allocate(self, name: str, taken: set[str]) -> str:
        return self.addresses[name]

    def argv(self, node: NodeRecord) -> list[str]:
        host = node.address.rsplit(":", 1)[0]
        argv = super().argv(node)
        inside = host == self.net.inner
        argv[argv.index("--bind") + 1] = f"{host} 127.0.0.1" if inside else host
        argv += ["--cluster-announce-ip", host]
        return self.net.exec(*argv) if inside else argv


async def until(check: Any, what: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            if await check():
                return time.monotonic()
        except Exception as exc:  # noqa: BLE001 (a node down, fenced or resyncing)
            last = repr(exc)
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s ({last})"
        await asyncio.sleep(0.05)


def client_for(address: str, single: bool = False) -> Redis:
    host, port = address.rsplit(":", 1)
    return Redis(host=host, port=int(port), socket_timeout=2, socket_connect_timeout=1,
                 single_connection_client=single)


async def role(conn: Redis) -> dict[str, Any]:
    return await conn.info("replication")  # type: ignore[no-any-return]


async def scenario(net: Net, tmp: Path, durability: str) -> dict[str, Any]:
    directory = ClusterDirectory(tmp / "cluster")
    directory.create()
    spec = Spec(shards=1, replicas=1, durability=durability, down_after_ms=DOWN_AFTER_MS)
    directory.save_spec(spec)
    node_args = ["--protected-mode", "no"]  # clients come from another address
    if spec.acks_required:
        node_args += ["--min-replicas-ack", "1"]
    fleet = SplitFleet(directory, net, node_args)
    reconciler = Reconciler(fleet, directory)
    stop = asyncio.Event()
    loop = asyncio.create_task(reconciler.run(stop))
    master = client_for(fleet.addresses["shard-0-0"])
    replica = client_for(fleet.addresses["shard-0-1"])
    out: dict[str, Any] = {}
    try:
        async def serving() -> bool:
            await master.sadd(KEY, "probe")
            return (await role(replica)).get("master_link_status") == "up"

        await until(serving, "the cluster serving with its replica in sync", 30)
        port = fleet.addresses["shard-0-0"].rsplit(":", 1)[1]
        writer = await asyncio.create_subprocess_exec(
            *net.exec(sys.executable, str(CLIENT), "127.0.0.1", port, KEY, "20", "1.0"),
            stdout=asyncio.subprocess.PIPE)
        assert writer.stdout is not None
        assert await asyncio.wait_for(writer.stdout.readline(), 20) == b"writing\n"
        await asyncio.sleep(0.5)
        net.cut()
        out["cut"] = time.monotonic()  # the cut is in place by now: a bound from above

        async def promoted() -> bool:
            return (await role(replica))["role"] == "master"

        out["promoted"] = await until(promoted, "the replica promoted", 20)
        stdout, _ = await asyncio.wait_for(writer.communicate(), 30)
        out["client"] = json.loads(stdout)
        net.heal()
        out["healed"] = time.monotonic()
        # The old master is reached through the veth again: a new connection, reading as a
        # replica's READONLY client.
        await master.aclose()
        master = client_for(fleet.addresses["shard-0-0"], single=True)
        await master.execute_command("READONLY")

        async def rejoined() -> bool:
            info = await role(master)
            return (info["role"] == "slave" and info["master_link_status"] == "up"
                    and f"{info['master_host']}:{info['master_port']}"
                    == fleet.addresses["shard-0-1"]
                    and await master.smembers(KEY) == await replica.smembers(KEY))

        await until(rejoined, "the old master rejoined as a replica", 30)
        out["rejoined"] = time.monotonic()
        out["members"] = {int(m) for m in await replica.smembers(KEY) if m != b"probe"}
    finally:
        stop.set()
        await asyncio.wait_for(loop, 30)
        await fleet.stop_all()
        await master.aclose()
        await replica.aclose()
    return out


@pytest.mark.timeout(180)
@pytest.mark.parametrize("durability", ["async", "zero-loss"])
def test_a_cut_off_master_refuses_before_its_replica_is_promoted_and_rejoins_as_replica(
        net: Net, tmp_path: Path, durability: str) -> None:
    out = asyncio.run(scenario(net, tmp_path, durability))
    client = out["client"]
    acked = {int(element): when for element, when in client["acked"]}
    lost = set(acked) - out["members"]
    lease = DOWN_AFTER_MS / 1000
    print(f"{durability}: fenced {client['first_down'] - out['cut']:.2f}s after the cut, "
          f"promoted after {out['promoted'] - out['cut']:.2f}s, rejoined "
          f"{out['rejoined'] - out['healed']:.2f}s after the heal; {len(acked)} acknowledged, "
          f"{len(lost)} lost, other replies {client['others']}")
    assert client["first_down"], "the cut-off master never refused"
    # It took nothing sent once its lease could have run out, hence nothing sent after the
    # promotion; and it acknowledged nothing once it had refused.
    assert client["last_accepted_sent"] <= out["cut"] + lease * 1.01 + 0.1
    assert client["last_accepted_sent"] < out["promoted"]
    assert client["last_ack"] < client["first_down"]
    if durability == "zero-loss":
        assert not lost
    else:
        # Asynchronous replication: only writes acknowledged in the lease window (between
        # the cut and the fence) may be lost, never one after the fence.
        assert all(out["cut"] - 0.5 <= acked[e] < client["first_down"] for e in lost)
