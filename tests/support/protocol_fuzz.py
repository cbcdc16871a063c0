"""Random and malformed RESP frames for the protocol fuzzers (tests and bench).

A batch is what one connection sends before it hangs up: well-formed requests of harmless
commands (multibulk and inline, with quotes, escapes and odd blanks), the same with bytes
mutated, headers that announce more than ever comes (``*2147483647``, ``$536870912``), and
at most one malformed frame, since a protocol error closes the connection. Only harmless
command names are generated, so a mutation can at worst make an unknown command.
"""

from __future__ import annotations

import random

SAFE_COMMANDS = [
    [b"PING"], [b"ECHO", b"hi"], [b"SET", b"k", b"v"], [b"GET", b"k"], [b"INCR", b"n"],
    [b"DEL", b"k"], [b"RPUSH", b"l", b"a", b"b"], [b"LRANGE", b"l", b"0", b"-1"],
    [b"LTRIM", b"l", b"0", b"99"],  # the list stays short: a long run measures the parser
    [b"HSET", b"h", b"f", b"v"], [b"EXISTS", b"k", b"l"], [b"SADD", b"s", b"m"],
    [b"STRLEN", b"k"], [b"TYPE", b"h"], [b"ECHO", b""],
]
HUGE_HEADERS = [
    b"*2147483647\r\n", b"*4294967295\r\n", b"*2\r\n$4\r\nECHO\r\n$2147483647\r\n",
    b"*1\r\n$536870912\r\n", b"*99999999999999999999\r\n", b"*1\r\n*2147483647\r\n",
    b"*1\r\n$4\r\nPING\r\n>2147483647\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n",
]
MALFORMED = [
    b"*abc\r\n", b"*1\r\n+PING\r\n", b"*1\r\n$abc\r\n", b"*1\r\n$-5\r\n", b"*01\r\n",
    b"ECHO \"open\r\n", b"ECHO 'a'b\r\n", b"*3000000000\r\n", b"*1\r\n:1\r\n",
    b"*1\r\n$00\r\n\r\n", b"*-9223372036854775809\r\n", b"*1\r\n\r\n",
]
_INLINE_BYTES = b"ab  \t\v\f\"\"''\\\\xn4F0\xff\x01"
_MUTATION_BYTES = b"*$\r\n-+:0123456789 \"'\\\x00\v\f"


def encode(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


def inline_tail(rng: random.Random, size: int) -> bytes:
    """Random words for an inline line: blanks, quotes, escapes; no newline or '*'."""
    return bytes(rng.choice(_INLINE_BYTES) for _ in range(size))


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not buf:
            break
        i = rng.randrange(len(buf))
        op = rng.random()
        if op < 0.4:
            buf[i] = rng.choice(_MUTATION_BYTES)
        elif op < 0.7:
            buf.insert(i, rng.choice(_MUTATION_BYTES))
        else:
            del buf[i]
    return bytes(buf)


def frame(rng: random.Random) -> bytes:
    """One frame that keeps the connection usable, or does not (mutated)."""
    argv = rng.choice(SAFE_COMMANDS)
    roll = rng.random()
    if roll < 0.55:
        return encode(argv)
    if roll < 0.75:
        return b" ".join(argv) + b" " + inline_tail(rng, rng.randrange(8)) + b"\r\n"
    if roll < 0.95:
        return mutate(rng, encode(argv))
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 24)))


def batch(rng: random.Random) -> tuple[bytes, int]:
    """The bytes one connection sends, and how many frames they hold."""
    count = rng.randrange(1, 40)
    parts = [frame(rng) for _ in range(count)]
    roll = rng.random()
    if roll < 0.1:
        parts.append(rng.choice(HUGE_HEADERS))
        count += 1
    elif roll < 0.3:
        parts.append(rng.choice(MALFORMED))
        count += 1
    return b"".join(parts), count
