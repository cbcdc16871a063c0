"""The fault suite's workload: concurrent clients on registers and sets, every operation
recorded with its invocation and completion times (one monotonic clock: every network
namespace of the machine shares it) and its result, for tests/support/linearizability.py.

The cluster client is our own and thin on purpose: it follows MOVED and ASK (the command
had not run) but never retries anything else, since a retried write whose first attempt
may have run would be two operations recorded as one (redis-py's RedisCluster retries
on connection errors). A timeout, a lost connection and NOACK make the outcome unknown;
CLUSTERDOWN, TRYAGAIN, LOADING and READONLY are refusals (the command did not run).

Run as a script (inside a network namespace, for clients on the other side of a partition)
it prints the history as JSON: ``fault_workload.py SEED_ADDRESS SEED CLIENT_BASE CLIENTS
SECONDS KEYS_JSON``.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from linearizability import REFUSED, UNKNOWN, Op
from redis.crc import key_slot

REFUSALS = (b"CLUSTERDOWN", b"TRYAGAIN", b"LOADING", b"READONLY", b"MASTERDOWN")
OP_TIMEOUT = 2.0
BACKOFF = 0.1  # after a refusal or an unknown outcome: keeps unknown operations few


class ReplyError(Exception):
    pass


class Unknown(Exception):
    """The outcome of the command is unknown."""


def encode(args: tuple[Any, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def read_reply(reader: asyncio.StreamReader) -> Any:
    line = await reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return ReplyError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else (await reader.readexactly(n + 2))[:-2].decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [await read_reply(reader) for _ in range(n)]
    raise ConnectionError(f"unexpected reply {line!r}")


class ClusterClient:
    """One connection per node, a slot table refreshed from CLUSTER SLOTS and MOVED."""

    def __init__(self, seeds: list[str], timeout: float = OP_TIMEOUT) -> None:
        self.seeds = seeds
        self.timeout = timeout
        self.slots: list[str | None] = [None] * 16384
        self.conns: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
        self.last = ""  # the node the last command went to

    async def connection(self, address: str) -> tuple[asyncio.StreamReader,
                                                       asyncio.StreamWriter]:
        if address not in self.conns:
            host, port = address.rsplit(":", 1)
            self.conns[address] = await asyncio.wait_for(
                asyncio.open_connection(host, int(port)), self.timeout)
        return self.conns[address]

    def drop(self, address: str) -> None:
        conn = self.conns.pop(address, None)
        if conn is not None:
            conn[1].close()

    async def raw(self, address: str, *args: Any, asking: bool = False) -> Any:
        """One command to one node; raises Unknown when its outcome is unknown."""
        try:
            reader, writer = await self.connection(address)
            writer.write((encode((b"ASKING",)) if asking else b"") + encode(args))
            if asking:
                await asyncio.wait_for(read_reply(reader), self.timeout)
            return await asyncio.wait_for(read_reply(reader), self.timeout)
        except (OSError, TimeoutError, ConnectionError, asyncio.IncompleteReadError) as exc:
            self.drop(address)
            raise Unknown(repr(exc)) from exc

    async def refresh(self) -> None:
        for address in [*{a for a in self.slots if a}, *self.seeds]:
            try:
                reply = await self.raw(address, "CLUSTER", "SLOTS")
            except Unknown:
                continue
            if isinstance(reply, list) and reply:
                for start, end, master, *_ in reply:
                    owner = f"{master[0]}:{master[1]}"
                    for slot in range(start, end + 1):
                        self.slots[slot] = owner
                return
        raise Unknown("no node answered CLUSTER SLOTS")

    async def call(self, key: str, *args: Any) -> Any:
        slot = key_slot(key.encode())
        if self.slots[slot] is None:
            await self.refresh()
        address = self.slots[slot]
        assert address is not None
        asking = False
        for _ in range(5):
            self.last = address
            reply = await self.raw(address, *args, asking=asking)
            asking = False
            if isinstance(reply, ReplyError):
                text = str(reply)
                if text.startswith(("MOVED ", "ASK ")):
                    kind, _, target = text.split()
                    address = target
                    if kind == "MOVED":
                        self.slots[slot] = target
                    else:
                        asking = True
                    continue
            return reply
        raise Unknown("too many redirections")

    def close(self) -> None:
        for address in list(self.conns):
            self.drop(address)


@dataclass
class Keys:
    registers: list[str]
    sets: list[str]

    @classmethod
    def spread(cls, prefix: str, registers: int, sets: int, groups: int = 3) -> Keys:
        """Key names spread evenly over ``groups`` equal slot ranges (the shards of a new
        cluster), so that every shard carries its share of the history."""
        def pick(kind: str, count: int) -> list[str]:
            chosen: list[str] = []
            per_group = [0] * groups
            i = 0
            while len(chosen) < count:
                name = f"{prefix}{kind}{i}"
                group = key_slot(name.encode()) * groups // 16384
                if per_group[group] < math.ceil(count / groups):
                    per_group[group] += 1
                    chosen.append(name)
                i += 1
            return chosen
        return cls(pick("r", registers), pick("s", sets))


@dataclass
class Worker:
    client: int
    rng: random.Random
    keys: Keys
    cluster: ClusterClient
    ops: list[Op] = field(default_factory=list)
    seq: int = 0

    async def one(self) -> None:
        self.seq += 1
        if self.rng.random() < len(self.keys.registers) / (
                len(self.keys.registers) + len(self.keys.sets)):
            key = self.rng.choice(self.keys.registers)
            kind = self.rng.choice(["get", "get", "set", "incr"])
            arg: Any = (self.client * 1_000_000 + self.seq) * 1000 if kind == "set" else None
            args: tuple[Any, ...] = {"get": ("GET", key), "set": ("SET", key, arg),
                                     "incr": ("INCR", key)}[kind]
        else:
            key = self.rng.choice(self.keys.sets)
            kind = "sadd" if self.rng.random() < 0.7 else "smembers"
            arg = f"{self.client}-{self.seq}" if kind == "sadd" else None
            args = ("SADD", key, arg) if kind == "sadd" else ("SMEMBERS", key)
        invoke = time.monotonic()
        try:
            reply = await self.cluster.call(key, *args)
        except Unknown:
            self.ops.append(Op(self.client, key, kind, arg, UNKNOWN, invoke, math.inf,
                               self.cluster.last))
            await asyncio.sleep(BACKOFF)
            return
        complete = time.monotonic()
        if isinstance(reply, ReplyError):
            refused = str(reply).encode().startswith(REFUSALS)
            if refused:
                self.ops.append(Op(self.client, key, kind, arg, REFUSED, invoke, complete,
                                   self.cluster.last))
            else:
                self.ops.append(Op(self.client, key, kind, arg, UNKNOWN, invoke, math.inf,
                                   self.cluster.last))
            await asyncio.sleep(BACKOFF)
            return
        output: Any = reply
        if kind == "get" and reply is not None:
            output = int(reply)
        elif kind == "smembers":
            output = frozenset(reply)
        self.ops.append(Op(self.client, key, kind, arg, output, invoke, complete,
                           self.cluster.last))


async def run_workload(seeds: list[str], seed: int, client_base: int, clients: int,
                       seconds: float, keys: Keys, max_ops: int = 100_000) -> list[Op]:
    """``clients`` clients (numbered from ``client_base``), each doing one operation at a
    time for ``seconds`` or ``max_ops`` operations; every operation recorded."""
    deadline = time.monotonic() + seconds
    workers = [Worker(client_base + i, random.Random(seed * 1000 + client_base + i), keys,
                      ClusterClient(seeds)) for i in range(clients)]

    async def drive(worker: Worker) -> None:
        try:
            while time.monotonic() < deadline and len(worker.ops) < max_ops:
                await worker.one()
        finally:
            worker.cluster.close()

    await asyncio.gather(*(drive(w) for w in workers))
    return [op for w in workers for op in w.ops]


async def final_reads(seeds: list[str], keys: Keys, timeout: float = 60.0) -> list[Op]:
    """One last read of every key, retried until it succeeds (the checker sees it as any
    other read; a member acknowledged and absent from it was lost)."""
    cluster = ClusterClient(seeds)
    ops = []
    deadline = time.monotonic() + timeout
    try:
        for key in [*keys.registers, *keys.sets]:
            kind = "smembers" if key in keys.sets else "get"
            while True:
                invoke = time.monotonic()
                try:
                    reply = await cluster.call(key, kind.upper(), key)
                except Unknown as exc:
                    assert time.monotonic() < deadline, f"{kind} {key}: {exc}"
                    await asyncio.sleep(0.2)
                    continue
                if not isinstance(reply, ReplyError):
                    break
                assert time.monotonic() < deadline, f"{kind} {key} kept failing: {reply}"
                await asyncio.sleep(0.2)
            output: Any = frozenset(reply) if kind == "smembers" else (
                None if reply is None else int(reply))
            ops.append(Op(-1, key, kind, None, output, invoke, time.monotonic()))
    finally:
        cluster.close()
    return ops


def main() -> None:
    seed_address, seed, base, clients, seconds, keys_json = sys.argv[1:7]
    keys = Keys(**json.loads(keys_json))
    ops = asyncio.run(run_workload([seed_address], int(seed), int(base), int(clients),
                                   float(seconds), keys))
    print(json.dumps([op.to_json() for op in ops]))


if __name__ == "__main__":
    main()
