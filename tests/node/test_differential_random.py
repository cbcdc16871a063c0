"""Randomized differential test: seeded command sequences, redslot against redis-server.

A seeded generator draws deterministic string and keyspace commands over a few keys (two
sharing a hash tag, one empty, one binary) and awkward values (integer edges, floats,
binary with CR LF and NUL, long strings), with random option mixes, wrong arity and unknown
subcommands. Each sequence runs on a fresh pair of connections, once over RESP2 and once
over RESP3, and every reply must match byte for byte after normalising only what is not
deterministic:

- KEYS: reply order is undefined, elements are sorted.
- DUMP: the 10-byte trailer (RDB version + CRC64) differs, redslot writing version 11
  (Redis 7.2) where 7.0 writes 10; the payload bodies must be equal.
- TTL, PTTL, EXPIRETIME, PEXPIRETIME: relative expiries are set a few ms apart on the two
  servers, so non-negative answers may differ by a small tolerance.
- HELLO 3: its reply names the server version, so it is not compared.

Positive relative expiries are drawn 1000 s apart within a sequence (``relative``): equal
durations set a millisecond apart would make EXPIRE GT/LT answers race between servers.
No 7.0-vs-7.2 difference showed up in these commands, so none is normalised.

The sequences run on a node with its short dispatch loop for data commands on (all seeds)
and on one with it off (REDSLOT_FAST_DISPATCH=0, the first 300): both paths must answer
as redis-server does.

On a mismatch the failing sequence is shrunk (commands dropped while a mismatch remains)
and reported with the seed, so it replays with ``generate(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest
from resp import RawClient, encode_command

Request = tuple[bytes, ...]

SEEDS = range(1000)
FULL_DISPATCH_SEEDS = range(300)  # the node with its short dispatch loop off: a subset, for time
COMMANDS_PER_SEQUENCE = 150
MAX_SHRINK_REPLAYS = 300
TIME_TOLERANCE_MS = 1500

KEYS = [b"k", b"{t}a", b"{t}b", b"n", b"", b"\x00b\r\nk"]
VALUES = [
    b"0", b"1", b"-1", b"42", b"-42", b"007", b"+5", b" 1", b"1.5", b"-0.25", b"1e3", b"10.0",
    b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808",
    b"123456789012345678901234567890", b"", b"abc", b"hello world", b"a\r\nb\x00c",
    b"\x00\xff\x00", b"x" * 44, b"y" * 45, b"ab" * 40, b"inf", b"nan", b"12345678901",
    b"9999", b"10000", b"-0", b"0.0", b"00", b"-", b"1e-5", b"z" * 300,
]
# RDB version 10 payloads (redis-server 7.0's DUMP): redslot takes versions up to 11.
PAYLOADS = [
    b"\x00\x03abc\n\x00\xd9\xac0=Ar\xa2\xe2",
    b"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9",
    b"\x00\x10a\r\n\x00a\r\n\x00a\r\n\x00a\r\n\x00\n\x00s'\xe6\x00\xb0[\xed\x06",
    b"\x00\xc3\t<\x01zz\xe0/\x00\x01zz\n\x00\xd8*a2Y@y\x15",
    b"\x00\xc0\xff\n\x00\x0c\x93~$\x85\x08\x9d\xc5",
    b"\x00\x00\n\x00]\x9b\\@\x0f\x7f\xa2\xda",
    b"\x00\x03abc\x0b\x00garbage!", b"",
]
INTS = [
    b"0", b"1", b"-1", b"2", b"5", b"-3", b"100", b"-100", b"9223372036854775807",
    b"-9223372036854775808", b"9223372036854775808", b"1.5", b"abc", b"", b" 3", b"3 ",
]
FLOATS = [
    b"1.5", b"-1.5", b"1e3", b"0.1", b"-0.1", b"3", b"5.0e3", b"1e308", b"-1e308", b"inf",
    b"-inf", b"nan", b"abc", b"", b"0x10", b" 1", b"1.7976931348623157e308", b"1e-20",
]
# Far enough from now to never expire during a run; absolute times are exact on both servers.
# RELATIVE stands for a positive relative expiry, drawn distinct each time (see relative()).
RELATIVE = b"relative"
EXPIRE_SECONDS = [RELATIVE, RELATIVE, b"0", b"-1", b"-100", b"9223372036854775807",
                  b"9223372036854775", b"9223372036854776", b"abc", b"1.5"]
EXPIRE_AT = [b"4102444800", b"4102444801", b"1", b"0", b"-5", b"9223372036854775807",
             b"9223372036854775", b"99999999999999", b"x"]
PEXPIRE_AT = [b"4102444800000", b"4102444800001", b"1000", b"0", b"-5",
              b"9223372036854775807", b"99999999999999999", b"y"]
PATTERNS = [b"*", b"k", b"{t}*", b"*a", b"?", b"[kn]", b"[^k]*", b"\\{t\\}b", b"", b"*\x00*",
            b"[a-z]", b"*[", b"n*"]
DBS = [b"0", b"1", b"2", b"16", b"-1", b"abc"]
TIME_COMMANDS = {b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME"}


class Generator:
    """One seeded stream of requests; equal seeds give equal streams."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        self.makers: list[Callable[[], Request]] = [
            self.get, self.set, self.set, self.setnx, self.setex, self.getex, self.getdel,
            self.getset, self.mget, self.mset, self.msetnx, self.append, self.strlen,
            self.getrange, self.setrange, self.incr, self.incrby, self.incrbyfloat, self.lcs,
            self.delete, self.exists, self.type, self.rename, self.copy, self.move,
            self.touch, self.expire, self.expireat, self.persist, self.time_query,
            self.dbsize, self.select, self.swapdb, self.flushdb, self.keys, self.dump,
            self.object, self.memory, self.debug, self.restore,
        ]
        self.makers.append(self.wrong_arity)

    def relative(self) -> int:
        """A relative expiry in seconds, far off and 1000 s from any other in the sequence:
        the two servers run a request a few ms apart, so equal durations would race in
        GT/LT comparisons and expire-time replies."""
        self.serial += 1
        return 100000 + 1000 * self.serial

    def amount(self, millis: bool) -> bytes:
        amount = self.pick(EXPIRE_SECONDS)
        if amount is RELATIVE:
            return b"%d" % (self.relative() * (1000 if millis else 1))
        return amount

    def pick(self, items: Sequence[bytes]) -> bytes:
        return self.rng.choice(items)

    def key(self) -> bytes:
        return self.pick(KEYS)

    def keys_(self, low: int = 1, high: int = 3) -> list[bytes]:
        return [self.key() for _ in range(self.rng.randint(low, high))]

    def value(self) -> bytes:
        return self.pick(VALUES)

    def sequence(self, length: int) -> list[Request]:
        return [self.command() for _ in range(length)]

    def command(self) -> Request:
        return self.rng.choice(self.makers)()

    def get(self) -> Request:
        return (self.pick([b"GET", b"get"]), self.key())

    def expiry_option(self) -> list[bytes]:
        unit = self.pick([b"EX", b"PX", b"EXAT", b"PXAT", b"ex"])
        if unit.upper() == b"EXAT":
            return [unit, self.pick(EXPIRE_AT)]
        if unit.upper() == b"PXAT":
            return [unit, self.pick(PEXPIRE_AT)]
        amount = self.amount(unit.upper() == b"PX")
        return [unit, amount]

    def set(self) -> Request:
        args = [b"SET", self.key(), self.value()]
        for _ in range(self.rng.choice([0, 0, 1, 1, 2, 3])):
            choice = self.rng.randrange(8)
            if choice < 3:
                args += self.expiry_option()
            elif choice == 7:
                args.append(self.pick([b"EX", b"FOO", b"PERSIST", b"NXX"]))
            else:
                args.append(self.pick([b"NX", b"XX", b"GET", b"KEEPTTL", b"nx", b"get"]))
        return tuple(args)

    def setnx(self) -> Request:
        return (b"SETNX", self.key(), self.value())

    def setex(self) -> Request:
        name = self.pick([b"SETEX", b"PSETEX"])
        amount = self.amount(name == b"PSETEX")
        return (name, self.key(), amount, self.value())

    def getex(self) -> Request:
        args = [b"GETEX", self.key()]
        for _ in range(self.rng.choice([0, 1, 1, 2])):
            if self.rng.random() < 0.7:
                args += self.expiry_option()
            else:
                args.append(self.pick([b"PERSIST", b"persist", b"KEEPTTL", b"NX"]))
        return tuple(args)

    def getdel(self) -> Request:
        return (b"GETDEL", self.key())

    def getset(self) -> Request:
        return (b"GETSET", self.key(), self.value())

    def mget(self) -> Request:
        return (b"MGET", *self.keys_(1, 4))

    def mset(self) -> Request:
        pairs = [part for _ in range(self.rng.randint(1, 3)) for part in (self.key(), self.value())]
        if self.rng.random() < 0.1:
            pairs.append(self.key())
        return (b"MSET", *pairs)

    def msetnx(self) -> Request:
        return (b"MSETNX", *self.mset()[1:])

    def append(self) -> Request:
        return (b"APPEND", self.key(), self.value())

    def strlen(self) -> Request:
        return (b"STRLEN", self.key())

    def getrange(self) -> Request:
        return (self.pick([b"GETRANGE", b"SUBSTR"]), self.key(), self.pick(INTS), self.pick(INTS))

    def setrange(self) -> Request:
        offset = self.pick([b"0", b"1", b"3", b"10", b"50", b"-1", b"536870911", b"536870912",
                            b"9223372036854775807", b"abc"])
        value = self.value()
        if offset == b"536870911" and value:
            value = b"zz"
        return (b"SETRANGE", self.key(), offset, value)

    def incr(self) -> Request:
        return (self.pick([b"INCR", b"DECR"]), self.key())

    def incrby(self) -> Request:
        return (self.pick([b"INCRBY", b"DECRBY"]), self.key(), self.pick(INTS))

    def incrbyfloat(self) -> Request:
        return (b"INCRBYFLOAT", self.key(), self.pick(FLOATS))

    def lcs(self) -> Request:
        args = [b"LCS", self.key(), self.key()]
        for _ in range(self.rng.choice([0, 1, 2, 3])):
            option = self.pick([b"LEN", b"IDX", b"WITHMATCHLEN", b"MINMATCHLEN", b"FOO"])
            args.append(option)
            if option == b"MINMATCHLEN":
                args.append(self.pick([b"0", b"1", b"2", b"-1", b"x"]))
        return tuple(args)

    def delete(self) -> Request:
        return (self.pick([b"DEL", b"UNLINK"]), *self.keys_())

    def exists(self) -> Request:
        return (b"EXISTS", *self.keys_())

    def type(self) -> Request:
        return (b"TYPE", self.key())

    def rename(self) -> Request:
        return (self.pick([b"RENAME", b"RENAMENX"]), self.key(), self.key())

    def copy(self) -> Request:
        args = [b"COPY", self.key(), self.key()]
        for _ in range(self.rng.choice([0, 1, 1, 2])):
            if self.rng.random() < 0.5:
                args += [b"DB", self.pick(DBS)]
            else:
                args.append(self.pick([b"REPLACE", b"FOO", b"DB"]))
        return tuple(args)

    def move(self) -> Request:
        return (b"MOVE", self.key(), self.pick(DBS))

    def touch(self) -> Request:
        return (b"TOUCH", *self.keys_())

    def expire_flags(self) -> list[bytes]:
        return [self.pick([b"NX", b"XX", b"GT", b"LT", b"gt", b"FOO"])
                for _ in range(self.rng.choice([0, 0, 1, 1, 2]))]

    def expire(self) -> Request:
        name = self.pick([b"EXPIRE", b"PEXPIRE"])
        amount = self.amount(name == b"PEXPIRE")
        return (name, self.key(), amount, *self.expire_flags())

    def expireat(self) -> Request:
        name = self.pick([b"EXPIREAT", b"PEXPIREAT"])
        when = self.pick(EXPIRE_AT if name == b"EXPIREAT" else PEXPIRE_AT)
        return (name, self.key(), when, *self.expire_flags())

    def persist(self) -> Request:
        return (b"PERSIST", self.key())

    def time_query(self) -> Request:
        return (self.pick(sorted(TIME_COMMANDS)), self.key())

    def dbsize(self) -> Request:
        return (b"DBSIZE",)

    def select(self) -> Request:
        return (b"SELECT", self.pick([b"0", b"0", b"1", b"2", b"16", b"-1", b"x"]))

    def swapdb(self) -> Request:
        return (b"SWAPDB", self.pick(DBS[:4]), self.pick(DBS))

    def flushdb(self) -> Request:
        if self.rng.random() < 0.7:
            return (b"DBSIZE",)
        return (b"FLUSHDB", *self.rng.choice([[], [b"ASYNC"], [b"SYNC"], [b"FOO"]]))

    def keys(self) -> Request:
        return (b"KEYS", self.pick(PATTERNS))

    def dump(self) -> Request:
        return (b"DUMP", self.key())

    def restore(self) -> Request:
        ttl = self.pick([b"0", b"0", b"-1", b"x", RELATIVE, b"4102444800000"])
        if ttl is RELATIVE:
            ttl = b"%d" % (self.relative() * 1000)
        options = [self.pick([b"REPLACE", b"ABSTTL", b"IDLETIME", b"FREQ", b"FOO"])
                   for _ in range(self.rng.choice([0, 0, 1, 2]))]
        for i in reversed(range(len(options))):
            if options[i] in (b"IDLETIME", b"FREQ") and self.rng.random() < 0.8:
                options.insert(i + 1, self.pick([b"1", b"5", b"-1", b"x"]))
        return (b"RESTORE", self.key(), ttl, self.pick(PAYLOADS), *options)

    def object(self) -> Request:
        sub = self.pick([b"ENCODING", b"encoding", b"REFCOUNT", b"FREQ", b"FOO"])
        return (b"OBJECT", sub, self.key())

    def memory(self) -> Request:
        args = [b"MEMORY", self.pick([b"USAGE", b"USAGE", b"usage", b"NOPE"]), self.key()]
        if self.rng.random() < 0.2:
            args += [b"SAMPLES", self.pick([b"0", b"5", b"-1", b"x"])]
        return tuple(args)

    def debug(self) -> Request:
        if self.rng.random() < 0.3:
            return (b"DEBUG", b"DIGEST")
        return (b"DEBUG", b"DIGEST-VALUE", *self.keys_(0, 3))

    def wrong_arity(self) -> Request:
        full = self.rng.choice(self.makers[:-1])()
        return full[:self.rng.randrange(1, max(2, len(full)))]


def parse(data: bytes, pos: int = 0) -> tuple[object, int]:
    """A RESP value as nested lists of raw leaves, for the normalisations that need structure."""
    nl = data.index(b"\r\n", pos)
    kind, head, end = data[pos:pos + 1], data[pos + 1:nl], nl + 2
    if kind in b"$=!" and head != b"-1":
        stop = end + int(head)
        return data[pos:stop + 2], stop + 2
    if kind in b"*~>%|" and head != b"-1":
        count = int(head) * (2 if kind in b"%|" else 1)
        items = []
        for _ in range(count):
            item, end = parse(data, end)
            items.append(item)
        return (kind, items), end
    return data[pos:end], end


def time_value(reply: bytes) -> int | None:
    if reply[:1] == b":":
        return int(reply[1:-2])
    return None


def same_reply(request: Request, mine: bytes, theirs: bytes) -> bool:
    name = request[0].upper()
    if mine == theirs:
        return True
    if name == b"KEYS" and mine[:1] in b"*~" and theirs[:1] in b"*~":
        (kind_a, a), _ = parse(mine)
        (kind_b, b), _ = parse(theirs)
        return kind_a == kind_b and sorted(a) == sorted(b)  # type: ignore[type-var]
    if name == b"DUMP" and mine[:1] == theirs[:1] == b"$" and len(mine) == len(theirs):
        body = mine.index(b"\r\n") + 2
        return mine[:body] == theirs[:body] and mine[body:-12] == theirs[body:-12]
    if name in TIME_COMMANDS:
        a, b = time_value(mine), time_value(theirs)
        if a is not None and b is not None and a >= 0 and b >= 0:
            tolerance = TIME_TOLERANCE_MS if name.startswith(b"P") else 2
            return abs(a - b) <= tolerance
    return False


def run(port: int, script: Sequence[Request], resp3: bool) -> list[bytes]:
    """Replies to ``script`` on a fresh connection to an emptied server, pipelined."""
    with RawClient(port, timeout=20) as c:
        c.call("FLUSHALL")
        if resp3:
            c.call("HELLO", "3")
        out = []
        for start in range(0, len(script), 50):
            batch = script[start:start + 50]
            c.send_raw(b"".join(encode_command(*req) for req in batch))
            out += [c.read_reply() for _ in batch]
        return out


def first_mismatch(node_port: int, ref_port: int, script: Sequence[Request],
                   resp3: bool) -> tuple[int, bytes, bytes] | None:
    mine = run(node_port, script, resp3)
    theirs = run(ref_port, script, resp3)
    for i, (req, a, b) in enumerate(zip(script, mine, theirs, strict=True)):
        if not same_reply(req, a, b):
            return i, a, b
    return None


def shrink(node_port: int, ref_port: int, script: list[Request], resp3: bool) -> list[Request]:
    """Drop requests one by one (last first) while some mismatch remains."""
    found = first_mismatch(node_port, ref_port, script, resp3)
    if found is None:
        return script
    script = script[:found[0] + 1]
    replays = 0
    i = len(script) - 2
    while i >= 0 and replays < MAX_SHRINK_REPLAYS:
        candidate = script[:i] + script[i + 1:]
        replays += 1
        if first_mismatch(node_port, ref_port, candidate, resp3) is not None:
            script = candidate
        i -= 1
    return script


def generate(seed: int) -> list[Request]:
    return Generator(seed).sequence(COMMANDS_PER_SEQUENCE)


@pytest.fixture
def lazy_expiry_only(node, reference):
    """Keys set already expired (PXAT 1000) must not vanish between two commands on one
    server and not the other: the background expiry cycle samples at random, so it is off
    on both while sequences run (expiry on access stays, and is deterministic)."""
    for proc in (node, reference):
        with RawClient(proc.port) as client:
            client.call(b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0")
    yield
    for proc in (node, reference):
        with RawClient(proc.port) as client:
            client.call(b"DEBUG", b"SET-ACTIVE-EXPIRE", b"1")


@pytest.mark.parametrize(("node", "seeds"), [("fast", SEEDS), ("full", FULL_DISPATCH_SEEDS)],
                         indirect=["node"], ids=["fast-dispatch", "full-dispatch"])
@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_random_sequences_reply_like_redis_server(node, seeds, reference, resp3,
                                                  lazy_expiry_only):
    for seed in seeds:
        script = generate(seed)
        found = first_mismatch(node.port, reference.port, script, resp3)
        if found is None:
            continue
        small = shrink(node.port, reference.port, script, resp3)
        i, mine, theirs = first_mismatch(node.port, reference.port, small, resp3) or found
        steps = "\n".join(f"  {req!r}" for req in small[:i + 1])
        pytest.fail(f"seed {seed} ({'RESP3' if resp3 else 'RESP2'}), shrunk to (or, when it did "
                    f"not replay, as first seen):\n{steps}\n"
                    f"redslot:      {mine!r}\nredis-server: {theirs!r}")


def test_generator_is_deterministic_per_seed():
    assert generate(7) == generate(7)
    assert generate(7) != generate(8)
