"""Randomized differential test of streams: seeded command sequences on a few streams with
consumer groups, redslot against redis-server, byte for byte in RESP2 and RESP3.

The generator draws XADD (explicit IDs, mostly increasing, sometimes stale or ``ms-*``,
with MAXLEN/MINID trims, = or ~, LIMIT), XDEL, XTRIM, XRANGE/XREVRANGE (exclusive bounds,
COUNT), XLEN, XREAD, XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER),
XREADGROUP (new entries, history, NOACK), XACK, XPENDING, XCLAIM, XAUTOCLAIM, XSETID and
XINFO and MEMORY USAGE over two streams, a missing key and a string. Both servers run with small stream
nodes (7 entries, 300 bytes) so that approximate trims cross many node boundaries.

Only times are masked: the elapsed time in extended XPENDING replies, consumers' idle
times, and the absolute times (13 digits) XINFO STREAM FULL shows.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence

import pytest
from nodes import ServerProcess, start_node, start_redis_server
from resp import RawClient, encode_command

Request = tuple[bytes, ...]
SEEDS = range(150)
COMMANDS_PER_SEQUENCE = 120
LIMITS = ("--stream-node-max-entries", "7", "--stream-node-max-bytes", "300")
KEYS = [b"s", b"{t}s2", b"nokey", b"str"]
GROUPS = [b"g1", b"g2", b"nog"]
CONSUMERS = [b"alice", b"bob", b"carol"]
FIELDS = [b"f", b"f", b"f", b"g", b"123", b"", b"long" * 20]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    ours, theirs = start_node(*LIMITS), start_redis_server(*LIMITS)
    yield ours, theirs
    ours.stop()
    theirs.stop()


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ms = 1

    def pick(self, items: Sequence[bytes]) -> bytes:
        return self.rng.choice(items)

    def key(self) -> bytes:
        return self.pick(KEYS[:2]) if self.rng.random() < 0.85 else self.pick(KEYS)

    def some_id(self) -> bytes:
        r = self.rng.random()
        if r < 0.1:
            return self.pick([b"0", b"0-0", b"x", b"18446744073709551615-18446744073709551615"])
        ms = self.rng.randint(max(self.ms - 20, 0), self.ms + 1)
        return b"%d-%d" % (ms, self.rng.randint(0, 2)) if r < 0.7 else b"%d" % ms

    def bound(self, low: bool) -> bytes:
        r = self.rng.random()
        if r < 0.15:
            return b"-" if low else b"+"
        exclusive = b"(" if r < 0.35 else b""
        return exclusive + self.some_id()

    def sequence(self, length: int) -> list[Request]:
        script: list[Request] = [(b"SET", b"str", b"v")]
        for key in KEYS[:2]:
            script += [(b"XGROUP", b"CREATE", key, b"g1", b"0", b"MKSTREAM"),
                       (b"XGROUP", b"CREATE", key, b"g2", b"$")]
        makers = [self.xadd] * 8 + [
            self.xdel, self.xtrim, self.xrange, self.xrange, self.xlen, self.xread,
            self.xgroup, self.xgroup, self.xreadgroup, self.xreadgroup, self.xreadgroup,
            self.xack, self.xpending, self.xclaim, self.xautoclaim, self.xsetid, self.xinfo,
            self.delete]
        while len(script) < length:
            script.append(self.rng.choice(makers)())
        return script

    def xadd(self) -> Request:
        r = self.rng.random()
        if r < 0.8:
            self.ms += self.rng.randint(0, 2)
            stream_id = b"%d-%d" % (self.ms, self.rng.randint(0, 3))
        elif r < 0.9:
            stream_id = b"%d-*" % self.ms
        else:
            stream_id = self.some_id()
        trim: list[bytes] = []
        if self.rng.random() < 0.15:
            strategy = self.pick([b"MAXLEN", b"MINID"])
            trim = [strategy]
            if self.rng.random() < 0.6:
                trim.append(self.pick([b"~", b"="]))
            trim.append(b"%d" % self.rng.randint(0, 60) if strategy == b"MAXLEN"
                        else b"%d" % self.rng.randint(max(self.ms - 40, 0), self.ms))
            if self.rng.random() < 0.2:
                trim += [b"LIMIT", b"%d" % self.rng.randint(0, 12)]
        if self.rng.random() < 0.05:
            trim.insert(0, b"NOMKSTREAM")
        pairs: list[bytes] = []
        for _ in range(self.rng.choice([1, 1, 1, 2])):
            pairs += [self.pick(FIELDS), b"%d" % self.rng.randint(0, 5000)]
        return (b"XADD", self.key(), *trim, stream_id, *pairs)

    def xdel(self) -> Request:
        return (b"XDEL", self.key(), *[self.some_id() for _ in range(self.rng.randint(1, 4))])

    def xtrim(self) -> Request:
        strategy = self.pick([b"MAXLEN", b"MINID"])
        args = [strategy]
        if self.rng.random() < 0.6:
            args.append(self.pick([b"~", b"="]))
        args.append(b"%d" % self.rng.randint(0, 30) if strategy == b"MAXLEN"
                    else b"%d" % self.rng.randint(0, self.ms))
        if self.rng.random() < 0.2:
            args += [b"LIMIT", b"%d" % self.rng.randint(0, 12)]
        return (b"XTRIM", self.key(), *args)

    def count(self) -> list[bytes]:
        return [b"COUNT", b"%d" % self.rng.randint(-1, 6)] if self.rng.random() < 0.5 else []

    def xrange(self) -> Request:
        if self.rng.random() < 0.5:
            return (b"XRANGE", self.key(), self.bound(True), self.bound(False), *self.count())
        return (b"XREVRANGE", self.key(), self.bound(False), self.bound(True), *self.count())

    def xlen(self) -> Request:
        return (b"XLEN", self.key())

    def xread(self) -> Request:
        keys = [self.key() for _ in range(self.rng.randint(1, 2))]
        ids = [self.pick([b"$", b"0"]) if self.rng.random() < 0.3 else self.some_id()
               for _ in keys]
        return (b"XREAD", *self.count(), b"STREAMS", *keys, *ids)

    def xgroup(self) -> Request:
        sub = self.pick([b"CREATE", b"CREATE", b"SETID", b"SETID", b"DESTROY",
                         b"CREATECONSUMER", b"DELCONSUMER"])
        key, group = self.key(), self.pick(GROUPS)
        if sub in (b"CREATE", b"SETID"):
            extra: list[bytes] = []
            if sub == b"CREATE" and self.rng.random() < 0.3:
                extra.append(b"MKSTREAM")
            if self.rng.random() < 0.2:
                extra += [b"ENTRIESREAD", b"%d" % self.rng.randint(-1, 10)]
            start = self.pick([b"$", b"0"]) if self.rng.random() < 0.6 else self.some_id()
            return (b"XGROUP", sub, key, group, start, *extra)
        if sub == b"DESTROY":
            return (b"XGROUP", sub, key, group)
        return (b"XGROUP", sub, key, group, self.pick(CONSUMERS))

    def xreadgroup(self) -> Request:
        noack = [b"NOACK"] if self.rng.random() < 0.15 else []
        start = b">" if self.rng.random() < 0.7 else self.pick([b"0", b"0-0"])
        return (b"XREADGROUP", b"GROUP", self.pick(GROUPS[:2]), self.pick(CONSUMERS),
                *self.count(), *noack, b"STREAMS", self.key(), start)

    def xack(self) -> Request:
        return (b"XACK", self.key(), self.pick(GROUPS),
                *[self.some_id() for _ in range(self.rng.randint(1, 3))])

    def xpending(self) -> Request:
        key, group = self.key(), self.pick(GROUPS)
        if self.rng.random() < 0.4:
            return (b"XPENDING", key, group)
        consumer = [self.pick(CONSUMERS)] if self.rng.random() < 0.4 else []
        return (b"XPENDING", key, group, self.bound(True), self.bound(False),
                b"%d" % self.rng.randint(-1, 8), *consumer)

    def xclaim(self) -> Request:
        options: list[bytes] = []
        for option in (b"FORCE", b"JUSTID"):
            if self.rng.random() < 0.3:
                options.append(option)
        if self.rng.random() < 0.2:
            options += [b"RETRYCOUNT", b"%d" % self.rng.randint(0, 5)]
        if self.rng.random() < 0.2:
            options += [b"TIME", b"1000"]
        if self.rng.random() < 0.1:
            options += [b"LASTID", self.some_id()]
        min_idle = self.pick([b"0", b"0", b"3600000"])
        ids = [self.some_id() for _ in range(self.rng.randint(1, 3))]
        return (b"XCLAIM", self.key(), self.pick(GROUPS), self.pick(CONSUMERS), min_idle, *ids,
                *options)

    def xautoclaim(self) -> Request:
        options = [b"COUNT", b"%d" % self.rng.randint(1, 5)] if self.rng.random() < 0.6 else []
        if self.rng.random() < 0.3:
            options.append(b"JUSTID")
        return (b"XAUTOCLAIM", self.key(), self.pick(GROUPS), self.pick(CONSUMERS),
                self.pick([b"0", b"3600000"]), self.bound(True), *options)

    def xsetid(self) -> Request:
        self.ms += 1
        return (b"XSETID", self.key(), b"%d-9" % self.ms)

    def xinfo(self) -> Request:
        sub = self.pick([b"STREAM", b"STREAM", b"GROUPS", b"CONSUMERS", b"FULL"])
        if sub == b"FULL":
            return (b"XINFO", b"STREAM", self.key(), b"FULL", b"COUNT", b"%d" % self.rng.randint(0, 4))
        if sub == b"CONSUMERS":
            return (b"XINFO", sub, self.key(), self.pick(GROUPS))
        return (b"XINFO", sub, self.key())

    def delete(self) -> Request:
        if self.rng.random() < 0.4:
            return (b"MEMORY", b"USAGE", self.key(), b"SAMPLES", self.pick([b"0", b"2"]))
        return (self.pick([b"DEL", b"TYPE", b"EXISTS"]), self.key())


_ELAPSED = re.compile(rb"(\*4\r\n\$\d+\r\n[0-9-]+\r\n\$\d+\r\n[a-z]+\r\n):\d+\r\n")
_IDLE = re.compile(rb"(idle\r\n):\d+\r\n")
_TIME = re.compile(rb":\d{13}\r\n")


def normalised(request: Request, reply: bytes) -> bytes:
    name = request[0].upper()
    if name == b"XPENDING":
        return _ELAPSED.sub(rb"\1:E\r\n", reply)
    if name == b"XINFO":
        return _TIME.sub(b":T\r\n", _IDLE.sub(rb"\1:I\r\n", reply))
    return reply


def run(port: int, script: Sequence[Request], resp3: bool) -> list[bytes]:
    with RawClient(port, timeout=20) as c:
        c.call("FLUSHALL")
        if resp3:
            c.call("HELLO", "3")
        c.send_raw(b"".join(encode_command(*req) for req in script))
        return [normalised(req, c.read_reply()) for req in script]


def first_mismatch(servers: tuple[ServerProcess, ServerProcess], script: Sequence[Request],
                   resp3: bool) -> tuple[int, bytes, bytes] | None:
    ours, theirs = (run(server.port, script, resp3) for server in servers)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if a != b:
            return i, a, b
    return None


def shrink(servers: tuple[ServerProcess, ServerProcess], script: list[Request],
           resp3: bool) -> list[Request]:
    found = first_mismatch(servers, script, resp3)
    if found is None:
        return script
    script = script[:found[0] + 1]
    i = len(script) - 2
    while i >= 0:
        candidate = script[:i] + script[i + 1:]
        if first_mismatch(servers, candidate, resp3) is not None:
            script = candidate
        i -= 1
    return script


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_random_stream_sequences_reply_like_redis_server(servers, resp3):
    for seed in SEEDS:
        script = Generator(seed).sequence(COMMANDS_PER_SEQUENCE)
        found = first_mismatch(servers, script, resp3)
        if found is None:
            continue
        small = shrink(servers, script, resp3)
        i, mine, theirs = first_mismatch(servers, small, resp3) or found
        steps = "\n".join(f"  {req!r}" for req in small[:i + 1])
        pytest.fail(f"seed {seed} ({'RESP3' if resp3 else 'RESP2'}):\n{steps}\n"
                    f"redslot:      {mine!r}\nredis-server: {theirs!r}")


def test_generator_is_deterministic_per_seed():
    assert Generator(3).sequence(50) == Generator(3).sequence(50)
    assert Generator(3).sequence(50) != Generator(4).sequence(50)
