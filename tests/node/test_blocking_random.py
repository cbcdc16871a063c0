"""Randomized differential test of blocked clients: redslot against redis-server, in lockstep.

A seeded generator drives a handful of connections through random steps: blocking
commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, WAIT) on
one to three keys, with timeouts that never fire, that fire at once, or none; pushes and
every other write that creates a key (LMOVE, RENAME, COPY, RESTORE, SORT STORE,
ZUNIONSTORE and friends, ZRANGESTORE, MOVE + SWAPDB); type changes; MULTI blocks; encodings
switched by CONFIG SET; requests queued behind a blocked command; clients that hang up,
are killed or CLIENT UNBLOCKed while blocked.

Each step runs on both servers before the next is drawn, and its outcome must be equal:
the acting client's replies (or that it blocked), the replies of every client the step
woke, which clients are still blocked, and INFO's blocked_clients and
clients_in_timeout_table. The final keyspace (both databases) is compared too. Since
outcomes agree up to a step, so does the state the generator draws the next step from.

When do we know a step is over? A command that may block has ended when its reply is
readable or the server lists its client with the ``b`` flag (polled, bounded). Clients
woken by a write have been answered before the writer's reply (both servers serve ready
keys right after the command), so after the writer's reply CLIENT LIST tells exactly which
ones to read. A timeout that fires is only ever drawn as one the step waits for.

Every seed runs against a node with its short dispatch loop for data commands on, the
first half of them against one with it off (REDSLOT_FAST_DISPATCH=0, every request through
the full checks). A failure names its seed and step and shows the steps that led there;
replay a seed with ``pytest tests/test_blocking_random.py -k 'seed-N]'``. BLOCKING_SEEDS=N
runs N seeds (and N/2 with the loop off).
"""

from __future__ import annotations

import os
import random
import select
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from nodes import ServerProcess
from resp import RawClient, encode_command

SEEDS = range(int(os.environ.get("BLOCKING_SEEDS", "200")))
FULL_DISPATCH_SEEDS = SEEDS[:len(SEEDS) // 2]  # with the short dispatch loop off, for time
STEPS = 40
CLIENTS = 4  # connections that may block; an extra one acts for the test
SETTLE_TIMEOUT = 10.0

KEYS = [b"k1", b"k2", b"k3"]
ELEMENTS = [b"1", b"2", b"3", b"a", b"b"]
ENCODINGS = {
    b"zset-max-ziplist-entries": [b"0", b"1", b"128"],
    b"list-max-listpack-size": [b"-2", b"1", b"2"],
}
RESET_CONFIG = [b"zset-max-ziplist-entries", b"128", b"list-max-listpack-size", b"-2"]

Request = tuple[bytes, ...]


# --- steps, as drawn by the generator ---

@dataclass
class Step:
    kind: str  # block | write | multi | dump_restore | queue | hangup | kill | unblock | config
    slot: int = -1  # the acting client; -1: the test's own connection
    requests: list[Request] = field(default_factory=list)
    waits: bool = False  # a short timeout: the step waits for the reply

    def __str__(self) -> str:
        shown = " ; ".join(b" ".join(r).decode(errors="replace") for r in self.requests)
        who = "admin" if self.slot < 0 else f"client {self.slot}"
        return f"{self.kind:<12} {who:<9} {shown}"


def keys(rng: random.Random, low: int = 1, high: int = 3) -> list[bytes]:
    return rng.sample(KEYS, rng.randint(low, high))


def blocking_request(rng: random.Random) -> tuple[Request, bool]:
    """A blocking command and whether its timeout fires at once (the step waits for it)."""
    roll = rng.random()
    waits = roll < 0.1
    timeout = b"0.01" if waits else (b"0" if roll < 0.7 else b"100")
    side = rng.choice([b"LEFT", b"RIGHT"])
    count = [b"COUNT", str(rng.randint(1, 3)).encode()] if rng.random() < 0.5 else []
    if rng.random() < 0.06:
        return (b"WAIT", b"1", b"10" if waits else rng.choice([b"0", b"100000"])), waits
    form = rng.randrange(8)
    if form == 0:
        return (b"BLPOP", *keys(rng), timeout), waits
    if form == 1:
        return (b"BRPOP", *keys(rng), timeout), waits
    if form == 2:
        src, dst = rng.choice(KEYS), rng.choice(KEYS)
        return (b"BLMOVE", src, dst, side, rng.choice([b"LEFT", b"RIGHT"]), timeout), waits
    if form == 3:
        return (b"BRPOPLPUSH", rng.choice(KEYS), rng.choice(KEYS), timeout), waits
    if form == 4:
        ks = keys(rng)
        return (b"BLMPOP", timeout, str(len(ks)).encode(), *ks, side, *count), waits
    if form == 5:
        return (b"BZPOPMIN", *keys(rng), timeout), waits
    if form == 6:
        return (b"BZPOPMAX", *keys(rng), timeout), waits
    ks = keys(rng)
    return (b"BZMPOP", timeout, str(len(ks)).encode(), *ks,
            rng.choice([b"MIN", b"MAX"]), *count), waits


def waited_keys(request: Request) -> set[bytes]:
    """The keys a blocked command waits on."""
    name = request[0]
    if name in (b"BLMOVE", b"BRPOPLPUSH"):
        return {request[1]}
    if name in (b"BLMPOP", b"BZMPOP"):
        return set(request[3:3 + int(request[2])])
    if name == b"WAIT":
        return set()
    return set(request[1:-1])


def write_request(rng: random.Random, swapdb: bool) -> Request:
    k, other = rng.choice(KEYS), rng.choice(KEYS)
    elements = rng.sample(ELEMENTS, rng.randint(1, 3))
    form = rng.randrange(22)
    if form < 4:
        return (rng.choice([b"LPUSH", b"RPUSH"]), k, *elements)
    if form < 7:
        pairs = [part for e in elements for part in (str(rng.randint(0, 5)).encode(), e)]
        return (b"ZADD", k, *pairs)
    table: list[Request] = [
        (rng.choice([b"LPUSHX", b"RPUSHX"]), k, *elements),
        (b"ZINCRBY", k, b"1", rng.choice(ELEMENTS)),
        (rng.choice([b"DEL", b"UNLINK"]), *keys(rng, 1, 2)),
        (b"SET", k, rng.choice(ELEMENTS)),
        (b"SADD", k, *elements),
        (b"HSET", k, b"f", rng.choice(ELEMENTS)),
        (rng.choice([b"RENAME", b"RENAMENX"]), k, other),
        (b"LMOVE", k, other, rng.choice([b"LEFT", b"RIGHT"]), rng.choice([b"LEFT", b"RIGHT"])),
        (b"RPOPLPUSH", k, other),
        (b"SORT", k, *([b"ALPHA"] if rng.random() < 0.5 else []), b"STORE", other),
        (rng.choice([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"]), k, b"2", other,
         rng.choice(KEYS)),
        (b"ZRANGESTORE", k, other, b"0", b"-1"),
        (b"COPY", k, other, *([b"REPLACE"] if rng.random() < 0.5 else [])),
        (rng.choice([b"LPOP", b"RPOP", b"ZPOPMIN", b"ZPOPMAX"]), k),
        (b"MOVE", k, b"1"),
    ]
    if swapdb and rng.random() < 0.05:
        return (b"SWAPDB", b"0", b"1")
    return rng.choice(table)


def draw_step(rng: random.Random, blocked: dict[int, set[bytes]]) -> Step:
    """The next step, given what each blocked client waits on.

    SWAPDB only while at most one key is waited on: it readies keys in the order of
    Redis's blocking_keys dict, a hash order seeded at random per process, so which of
    two keys serves first is not defined (scanDatabaseForReadyKeys)."""
    idle = [slot for slot in range(CLIENTS) if slot not in blocked]
    swapdb = len(set().union(*blocked.values())) <= 1
    roll = rng.random()
    if blocked and roll < 0.06:
        return Step("hangup", rng.choice(sorted(blocked)))
    if blocked and roll < 0.09:
        return Step("kill", rng.choice(sorted(blocked)))
    if blocked and roll < 0.12:
        how = rng.choice([[], [b"TIMEOUT"], [b"ERROR"]])
        return Step("unblock", rng.choice(sorted(blocked)), [tuple(how)])
    if blocked and roll < 0.16:
        request = rng.choice([(b"ECHO", b"queued"), (b"LLEN", rng.choice(KEYS)),
                              (b"EXISTS", rng.choice(KEYS)), (b"PING",)])
        return Step("queue", rng.choice(sorted(blocked)), [request])
    if roll < 0.19:
        name = rng.choice(sorted(ENCODINGS))
        return Step("config", -1, [(b"CONFIG", b"SET", name, rng.choice(ENCODINGS[name]))])
    if idle and roll < 0.50:
        request, waits = blocking_request(rng)
        return Step("block", rng.choice(idle), [request], waits)
    actor = rng.choice(idle + [-1])
    if roll < 0.58:
        body = [write_request(rng, swapdb) if rng.random() < 0.8 else blocking_request(rng)[0]
                for _ in range(rng.randint(1, 4))]
        return Step("multi", actor, [(b"MULTI",), *body, (b"EXEC",)])
    if roll < 0.62:
        src, dst = rng.choice(KEYS), rng.choice(KEYS)
        replace = (b"REPLACE",) if rng.random() < 0.5 else ()
        return Step("dump_restore", actor, [(b"DUMP", src), (b"RESTORE", dst, b"0", *replace)])

    return Step("write", actor, [write_request(rng, swapdb)])


# --- one server's side ---

class Conn:
    def __init__(self, port: int, resp3: bool) -> None:
        self.raw = RawClient(port, timeout=SETTLE_TIMEOUT)
        if resp3:
            self.raw.call("HELLO", "3")
        self.id = int(self.raw.call("CLIENT", "ID")[1:-2])
        self.pending = 0  # replies owed to this client while it is blocked

    def readable(self) -> bool:
        return bool(self.raw.buf) or bool(select.select([self.raw.sock], [], [], 0)[0])

    def read(self, count: int) -> list[bytes]:
        return [self.raw.read_reply() for _ in range(count)]


class Side:
    """One server, its connections and how to read the outcome of a step on it."""

    def __init__(self, server: ServerProcess, rng: random.Random) -> None:
        self.port = server.port
        self.admin = RawClient(server.port, timeout=SETTLE_TIMEOUT)
        self.admin.call("FLUSHALL")
        self.admin.call("CONFIG", "SET", *RESET_CONFIG)
        self.protocols = [rng.random() < 0.3 for _ in range(CLIENTS)]
        self.conns = [Conn(server.port, resp3) for resp3 in self.protocols]
        self.blocked: dict[int, set[bytes]] = {}  # slot -> the keys it waits on

    def close(self) -> None:
        for conn in self.conns:
            conn.raw.close()
        self.admin.call("CONFIG", "SET", *RESET_CONFIG)
        self.admin.close()

    def client_flags(self) -> dict[int, str]:
        listing = self.admin.call("CLIENT", "LIST").split(b"\r\n", 1)[1].decode()
        flags = {}
        for line in listing.splitlines():
            fields = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
            if "id" in fields:
                flags[int(fields["id"])] = fields.get("flags", "")
        return flags

    def is_blocked(self, conn: Conn) -> bool:
        return "b" in self.client_flags().get(conn.id, "")

    def settle(self, conn: Conn) -> list[bytes] | str:
        """The reply to the one command ``conn`` sent, or "blocked" once the server says so."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            if conn.readable():
                return conn.read(1)
            if self.is_blocked(conn):
                return "blocked"
            if time.monotonic() > deadline:
                raise AssertionError("the command neither answered nor blocked")
            time.sleep(0.001)

    def gone(self, client_id: int) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while client_id in self.client_flags():
            if time.monotonic() > deadline:
                raise AssertionError(f"client {client_id} still listed after it hung up")
            time.sleep(0.002)

    def replace(self, slot: int) -> None:
        self.blocked.pop(slot, None)
        self.conns[slot] = Conn(self.port, self.protocols[slot])

    def run(self, step: Step) -> dict[str, object]:
        outcome: dict[str, object] = {}
        actor = self.admin if step.slot < 0 else self.conns[step.slot].raw
        if step.kind == "block":
            conn = self.conns[step.slot]
            conn.raw.send_raw(encode_command(*step.requests[0]))
            if step.waits:
                outcome["reply"] = conn.read(1)
            else:
                outcome["reply"] = self.settle(conn)
                if outcome["reply"] == "blocked":
                    conn.pending = 1
                    self.blocked[step.slot] = waited_keys(step.requests[0])
        elif step.kind == "queue":
            conn = self.conns[step.slot]
            conn.raw.send_raw(encode_command(*step.requests[0]))
            conn.pending += 1
        elif step.kind == "hangup":
            conn = self.conns[step.slot]
            conn.raw.close()
            self.gone(conn.id)
            self.replace(step.slot)
        elif step.kind == "kill":
            conn = self.conns[step.slot]
            outcome["reply"] = self.admin.call("CLIENT", "KILL", "ID", conn.id)
            outcome["killed"] = conn.raw.read_until_closed()
            self.replace(step.slot)
        elif step.kind == "unblock":
            conn = self.conns[step.slot]
            outcome["reply"] = self.admin.call("CLIENT", "UNBLOCK", conn.id, *step.requests[0])
        elif step.kind == "dump_restore":
            payload = actor.call(*step.requests[0])
            if payload.startswith(b"$-1"):
                outcome["reply"] = [payload]
            else:
                body = payload.split(b"\r\n", 1)[1][:-2]
                restore = step.requests[1]
                outcome["reply"] = [actor.call(*restore[:3], body, *restore[3:])]
        else:  # write, multi, config: requests that never block
            actor.send_raw(b"".join(encode_command(*r) for r in step.requests))
            outcome["reply"] = [actor.read_reply() for _ in step.requests]
        outcome["woken"] = self.read_woken()
        info = self.admin.call("INFO", "clients").decode()
        outcome["info"] = [line for line in info.split("\r\n")
                           if line.startswith(("blocked_clients:", "clients_in_timeout_table:"))]
        outcome["blocked"] = sorted(self.blocked)
        return outcome

    def read_woken(self) -> dict[int, list[bytes]]:
        """Replies of the clients this step unblocked, read in full (queued ones included)."""
        woken: dict[int, list[bytes]] = {}
        if not self.blocked:
            return woken
        flags = self.client_flags()
        for slot in sorted(self.blocked):
            conn = self.conns[slot]
            if "b" not in flags.get(conn.id, ""):
                woken[slot] = conn.read(conn.pending)
                conn.pending = 0
                del self.blocked[slot]
        return woken

    def keyspace(self) -> list[object]:
        """Every key of both databases with its type, value and whether it has a TTL."""
        dump: list[object] = []
        for db in (b"0", b"1"):
            self.admin.call("SELECT", db)
            names = sorted(RawClient_array(self.admin.call("KEYS", "*")))
            for key in names:
                kind = self.admin.call("TYPE", key)
                reader = {b"+list\r\n": (b"LRANGE", key, b"0", b"-1"),
                          b"+zset\r\n": (b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"),
                          b"+set\r\n": (b"SMEMBERS", key),
                          b"+hash\r\n": (b"HGETALL", key),
                          b"+string\r\n": (b"GET", key)}[kind]
                value = self.admin.call(*reader)
                if kind in (b"+set\r\n", b"+hash\r\n"):
                    value = b"|".join(sorted(RawClient_array(value)))
                dump.append((db, key, kind, value, self.admin.call("TTL", key)))
        self.admin.call("SELECT", "0")
        return dump


def RawClient_array(reply: bytes) -> list[bytes]:  # noqa: N802 - reads like the reply it parses
    """The bulk strings of a flat RESP2 array reply."""
    lines = reply.split(b"\r\n")
    return [lines[i + 1] for i in range(1, len(lines) - 1, 2) if lines[i].startswith(b"$")]


# --- the test ---

def run_seed(seed: int, node: ServerProcess, reference: ServerProcess) -> Iterator[str]:
    """Run one seeded sequence in lockstep; yield a line per step (for the failure report)."""
    rng = random.Random(seed)
    ours, theirs = Side(node, random.Random(seed)), Side(reference, random.Random(seed))
    try:
        for index in range(STEPS):
            step = draw_step(rng, theirs.blocked)
            got, want = ours.run(step), theirs.run(step)
            yield f"{index:>3} {step}"
            assert got == want, f"step {index}: {step}\n  redslot:      {got}\n  redis-server: {want}"
        assert ours.keyspace() == theirs.keyspace(), "final keyspace differs"
    finally:
        ours.close()
        theirs.close()


def check_seed(seed: int, node: ServerProcess, reference: ServerProcess) -> None:
    history: list[str] = []
    try:
        for line in run_seed(seed, node, reference):
            history.append(line)
    except AssertionError as exc:
        steps = "\n".join(history)
        pytest.fail(f"seed {seed}: {exc}\nsteps so far:\n{steps}", pytrace=False)


# One node per dispatch for all its seeds: a test per dispatch, as parametrizing the node
# and the seed together would restart the node for every seed.
@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed-{seed}")
@pytest.mark.parametrize("node", ["fast"], indirect=True)
def test_blocked_clients_behave_as_in_redis(node, reference, seed):
    check_seed(seed, node, reference)


@pytest.mark.parametrize("seed", FULL_DISPATCH_SEEDS, ids=lambda seed: f"seed-{seed}")
@pytest.mark.parametrize("node", ["full"], indirect=True)
def test_blocked_clients_behave_as_in_redis_with_full_dispatch(node, reference, seed):
    check_seed(seed, node, reference)
