"""Randomized differential test of the bitmap and BITFIELD commands against redis-server.

A seeded generator draws SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO
requests (ranges with negative and out-of-range ends, BIT and BYTE units, several fields
per BITFIELD call under changing OVERFLOW behaviours, bad arguments now and then) mixed
with string writes (SET, APPEND, SETRANGE) and with OBJECT ENCODING and MEMORY USAGE, over
a few small keys and one key grown past the 64 KB step of the bit search. Every sequence
runs on fresh connections over RESP2 and over RESP3, every reply must be byte-equal, and
the node's dataset accounting must still match its keys afterwards.
Equal seeds give equal sequences, so a failure replays with ``Generator(seed)``.
"""

from __future__ import annotations

import random

import pytest
from nodes import ServerProcess, check_footprint
from resp import RawClient

SEEDS = range(40)
COMMANDS_PER_SEQUENCE = 120
SMALL_KEYS = [b"a", b"b", b"{t}c", b"n"]
BIG_KEY = b"big"
BIG_BITS = 8 * 200_000
WIDTHS = [b"i1", b"u1", b"i3", b"u5", b"i8", b"u8", b"i16", b"u15", b"i31", b"u32", b"i63",
          b"u63", b"i64", b"u64", b"x8", b"i0"]
VALUES = [b"0", b"1", b"-1", b"127", b"128", b"-129", b"255", b"65535", b"9223372036854775807",
          b"-9223372036854775808", b"2147483648", b"x", b"1.5"]
STRINGS = [b"", b"foobar", b"12345", b"-7", b"\x00\xff", b"\xff" * 9, b"x" * 44, b"y" * 45,
           bytes(range(40))]


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.makers = [self.setbit, self.setbit, self.getbit, self.bitcount, self.bitcount,
                       self.bitpos, self.bitpos, self.bitop, self.bitfield, self.bitfield,
                       self.bitfield_ro, self.write_string, self.inspect, self.inspect,
                       self.big]

    def key(self) -> bytes:
        return self.rng.choice(SMALL_KEYS)

    def offset(self) -> bytes:
        roll = self.rng.random()
        if roll < 0.8:
            return b"%d" % self.rng.randrange(200)
        if roll < 0.95:
            return b"%d" % self.rng.randrange(5000)
        return self.rng.choice([b"-1", b"x", b"4294967296", b"#3"])

    def index(self, span: int) -> bytes:
        if self.rng.random() < 0.05:
            return self.rng.choice([b"x", b"9223372036854775807", b"-9223372036854775808"])
        return b"%d" % self.rng.randint(-span, span)

    def unit(self) -> tuple[bytes, ...]:
        roll = self.rng.random()
        if roll < 0.4:
            return ()
        if roll < 0.97:
            return (self.rng.choice([b"BIT", b"byte", b"Bit"]),)
        return (b"WORD",)

    def setbit(self) -> tuple[bytes, ...]:
        bit = b"1" if self.rng.random() < 0.6 else self.rng.choice([b"0", b"0", b"2", b"x"])
        return b"SETBIT", self.key(), self.offset(), bit

    def getbit(self) -> tuple[bytes, ...]:
        return b"GETBIT", self.key(), self.offset()

    def bitcount(self) -> tuple[bytes, ...]:
        key = self.key()
        if self.rng.random() < 0.2:
            return b"BITCOUNT", key
        return (b"BITCOUNT", key, self.index(40), self.index(40), *self.unit())

    def bitpos(self) -> tuple[bytes, ...]:
        bit = self.rng.choice([b"0", b"1", b"1", b"0", b"2"])
        roll = self.rng.random()
        key = self.key()
        if roll < 0.2:
            return b"BITPOS", key, bit
        if roll < 0.4:
            return b"BITPOS", key, bit, self.index(40)
        return (b"BITPOS", key, bit, self.index(40), self.index(40), *self.unit())

    def bitop(self) -> tuple[bytes, ...]:
        op = self.rng.choice([b"AND", b"OR", b"XOR", b"NOT", b"and", b"NAND"])
        count = 1 if op == b"NOT" and self.rng.random() < 0.9 else self.rng.randint(1, 4)
        sources = [self.rng.choice(SMALL_KEYS + [b"missing"]) for _ in range(count)]
        return (b"BITOP", op, self.key(), *sources)

    def field(self) -> tuple[bytes, ...]:
        width = self.rng.choice(WIDTHS) if self.rng.random() < 0.1 else self.rng.choice(WIDTHS[:13])
        offset = self.offset() if self.rng.random() < 0.7 else b"#%d" % self.rng.randrange(20)
        op = self.rng.choice([b"GET", b"SET", b"INCRBY", b"INCRBY"])
        if op == b"GET":
            return op, width, offset
        return op, width, offset, self.rng.choice(VALUES) if self.rng.random() < 0.5 else \
            b"%d" % self.rng.randint(-300, 300)

    def bitfield(self) -> tuple[bytes, ...]:
        args: list[bytes] = [b"BITFIELD", self.key()]
        for _ in range(self.rng.randint(0, 4)):
            if self.rng.random() < 0.3:
                args += [b"OVERFLOW", self.rng.choice([b"WRAP", b"SAT", b"FAIL", b"fail", b"BAD"])]
            args += self.field()
        return tuple(args)

    def bitfield_ro(self) -> tuple[bytes, ...]:
        args: list[bytes] = [b"BITFIELD_RO", self.key()]
        for _ in range(self.rng.randint(0, 3)):
            field = self.field()
            args += field if self.rng.random() < 0.1 else (b"GET", *field[1:3])
        return tuple(args)

    def write_string(self) -> tuple[bytes, ...]:
        key = self.key()
        choice = self.rng.randrange(4)
        if choice == 0:
            return b"SET", key, self.rng.choice(STRINGS)
        if choice == 1:
            return b"APPEND", key, self.rng.choice(STRINGS)
        if choice == 2:
            return b"SETRANGE", key, b"%d" % self.rng.randrange(60), self.rng.choice(STRINGS)
        return b"DEL", key

    def inspect(self) -> tuple[bytes, ...]:
        key = self.key()
        return self.rng.choice([(b"GET", key), (b"STRLEN", key), (b"OBJECT", b"ENCODING", key),
                                (b"MEMORY", b"USAGE", key), (b"EXISTS", key)])

    def big(self) -> tuple[bytes, ...]:
        choice = self.rng.randrange(5)
        if choice == 0:
            bit = self.rng.choice([b"0", b"1"])
            return b"SETBIT", BIG_KEY, b"%d" % self.rng.randrange(BIG_BITS), bit
        if choice == 1:
            return (b"BITCOUNT", BIG_KEY, self.index(BIG_BITS // 8), self.index(BIG_BITS // 8),
                    *self.unit())
        if choice == 2:
            return (b"BITPOS", BIG_KEY, self.rng.choice([b"0", b"1"]), self.index(BIG_BITS // 8),
                    self.index(BIG_BITS), *self.unit())
        if choice == 3:
            return b"BITOP", b"NOT", BIG_KEY, BIG_KEY
        return self.rng.choice([(b"MEMORY", b"USAGE", BIG_KEY), (b"STRLEN", BIG_KEY),
                                (b"BITPOS", BIG_KEY, b"1"), (b"BITPOS", BIG_KEY, b"0")])

    def sequence(self) -> list[tuple[bytes, ...]]:
        return [self.rng.choice(self.makers)() for _ in range(COMMANDS_PER_SEQUENCE)]


def run(port: int, script: list[tuple[bytes, ...]], resp3: bool) -> list[bytes]:
    with RawClient(port) as c:
        c.call("FLUSHALL")
        if resp3:
            c.call("HELLO", "3")
        return [c.call(*request) for request in script]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_bit_sequences_match_redis(node: ServerProcess, reference: ServerProcess,
                                          seed: int) -> None:
    script = Generator(seed).sequence()
    for resp3 in (False, True):
        ours = run(node.port, script, resp3)
        theirs = run(reference.port, script, resp3)
        for i, (request, mine, ref) in enumerate(zip(script, ours, theirs, strict=True)):
            assert mine == ref, (f"seed {seed} step {i} resp3={resp3} {request!r}: "
                                 f"redslot {mine[:200]!r} != redis-server {ref[:200]!r}")
    check_footprint(node)
