"""Glob patterns: Redis's stringmatchlen byte for byte, as a unit and through KEYS."""

from __future__ import annotations

import random
import sys
import time

import pytest
import redis
from redslot.node.base.glob import Glob, compile_glob, stringmatchlen


def reference_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """A line-by-line port of Redis 7's stringmatchlen_impl (util.c), the test oracle.

    Pointer arithmetic becomes indexes; the C strings' NUL terminators are appended so
    that the reads past the end that the C code makes see the same bytes.
    """
    p, s = pattern + b"\0", string + b"\0"
    skip_longer = [False]

    def lower(c: int) -> int:
        return c + 32 if 65 <= c <= 90 else c

    def signed(b: int) -> int:
        return b - 256 if b >= 128 else b

    def impl(pi: int, plen: int, si: int, slen: int, nesting: int) -> bool:
        if nesting > 1000:
            return False
        while plen and slen:
            ch = p[pi]
            if ch == ord("*"):
                while plen and p[pi + 1] == ord("*"):
                    pi += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if impl(pi + 1, plen - 1, si, slen, nesting + 1):
                        return True
                    if skip_longer[0]:
                        return False
                    si += 1
                    slen -= 1
                skip_longer[0] = True
                return False
            if ch == ord("?"):
                si += 1
                slen -= 1
            elif ch == ord("["):
                pi += 1
                plen -= 1
                negate = p[pi] == ord("^")
                if negate:
                    pi += 1
                    plen -= 1
                match = False
                while True:
                    if p[pi] == ord("\\") and plen >= 2:
                        pi += 1
                        plen -= 1
                        match |= p[pi] == s[si]
                    elif p[pi] == ord("]"):
                        break
                    elif plen == 0:
                        pi -= 1
                        plen += 1
                        break
                    elif plen >= 3 and p[pi + 1] == ord("-"):
                        start, end, c = signed(p[pi]), signed(p[pi + 2]), signed(s[si])
                        if start > end:
                            start, end = end, start
                        if nocase:
                            start, end, c = lower(start), lower(end), lower(c)
                        pi += 2
                        plen -= 2
                        match |= start <= c <= end
                    elif nocase:
                        match |= lower(signed(p[pi])) == lower(signed(s[si]))
                    else:
                        match |= p[pi] == s[si]
                    pi += 1
                    plen -= 1
                if negate:
                    match = not match
                if not match:
                    return False
                si += 1
                slen -= 1
            else:
                if ch == ord("\\") and plen >= 2:
                    pi += 1
                    plen -= 1
                if nocase:
                    if lower(signed(p[pi])) != lower(signed(s[si])):
                        return False
                elif p[pi] != s[si]:
                    return False
                si += 1
                slen -= 1
            pi += 1
            plen -= 1
            if slen == 0:
                while p[pi] == ord("*"):
                    pi += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return impl(0, len(pattern), 0, len(string), 0)


VECTORS = [
    # (pattern, string, nocase, expected)
    (b"foo*", b"foo_a", False, True),
    (b"foo*", b"key_x", False, False),
    (b"*", b"anything", False, True),
    (b"*", b"", False, False),
    (b"", b"", False, True),
    (b"a*", b"a", False, True),
    (b"a**", b"a", False, True),
    (b"a*?", b"a", False, False),
    (b"*b", b"ab", False, True),
    (b"h?llo", b"hello", False, True),
    (b"h?llo", b"hllo", False, False),
    (b"h*llo", b"heeeello", False, True),
    (b"h[ae]llo", b"hallo", False, True),
    (b"h[ae]llo", b"hillo", False, False),
    (b"h[^e]llo", b"hallo", False, True),
    (b"h[^e]llo", b"hello", False, False),
    (b"h[a-b]llo", b"hbllo", False, True),
    (b"h[b-a]llo", b"hbllo", False, True),
    (b"h[a-b]llo", b"hcllo", False, False),
    (b"[a-\xff]", b"b", False, False),
    (b"[a-\xff]", b"A", False, True),
    (b"[\x80-\xff]", b"\x90", False, True),
    (b"HELLO", b"hello", True, True),
    (b"H[A-Z]LLO", b"hello", True, True),
    (b"HELLO", b"hello", False, False),
    (b"[\\A]", b"a", True, False),
    (b"[Z-a]", b"_", True, False),
    (b"\\*", b"*", False, True),
    (b"\\*", b"x", False, False),
    (b"a\\", b"a\\", False, True),
    (b"[\\]]", b"]", False, True),
    (b"[]]", b"]", False, False),
    (b"[]", b"x", False, False),
    (b"[^]", b"x", False, True),
    (b"[", b"[", False, False),
    (b"[^", b"x", False, True),
    (b"[abc", b"c", False, True),
    (b"[a-", b"-", False, True),
    (b"[\\", b"\\", False, True),
    (b"key:1??", b"key:123", False, True),
    (b"key:1??", b"key:12", False, False),
    (b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", b"a" * 40, False, False),
]


@pytest.mark.parametrize("pattern,string,nocase,expected", VECTORS)
def test_vectors_match_redis_semantics(pattern, string, nocase, expected):
    assert stringmatchlen(pattern, string, nocase) is expected
    assert reference_match(pattern, string, nocase) is expected


def test_compiled_matcher_agrees_with_the_c_port_on_random_patterns():
    rng = random.Random(20240611)
    pattern_alphabet = b"ab*?[]^-\\A\xff\x80z"
    string_alphabet = b"abAB-]\\\xff\x80z^"
    for _ in range(20000):
        pattern = bytes(rng.choice(pattern_alphabet) for _ in range(rng.randint(0, 8)))
        string = bytes(rng.choice(string_alphabet) for _ in range(rng.randint(0, 7)))
        nocase = rng.random() < 0.3
        expected = reference_match(pattern, string, nocase)
        assert Glob(pattern, nocase).match(string) is expected, (pattern, string, nocase)


def test_nesting_limit_rejects_a_1001st_star_followed_by_more_pattern():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(5000)
    try:
        for stars in (999, 1000, 1001, 1002):
            string = b"a" * (stars + 5)
            for pattern in (b"*a" * stars, b"*a" * stars + b"*"):
                assert Glob(pattern).match(string) is reference_match(pattern, string)
    finally:
        sys.setrecursionlimit(limit)
    assert Glob(b"*a" * 1000 + b"*").match(b"a" * 1005)
    assert not Glob(b"*a" * 1001).match(b"a" * 1005)


def test_very_long_nested_pattern_is_rejected_quickly():
    start = time.monotonic()
    assert not Glob(b"*?" * 50000).match(b"a" * 50000)
    assert time.monotonic() - start < 2


def test_compile_glob_caches_matchers():
    assert compile_glob(b"user:*") is compile_glob(b"user:*")
    assert compile_glob(b"user:*", True) is not compile_glob(b"user:*")


KEYS = [
    b"foo_a", b"foo_b", b"foo_c", b"key_x", b"key_y", b"key_z", b"hello", b"hallo", b"hxllo",
    b"a*b", b"a?b", b"a\\b", b"[x]", b"]", b"-", b"^", b"\xff\x80", b"\x80", b"A", b"a",
    b"user:1000:name", b"user:1000:email", b"user:2:name", b"", b"aaaa", b"abab",
]
PATTERNS = [
    b"*", b"foo*", b"*_?", b"h?llo", b"h[ae]llo", b"h[^e]llo", b"h[a-b]llo", b"h[b-a]llo",
    b"a\\*b", b"a\\?b", b"a\\\\b", b"\\[x\\]", b"[[]x]", b"[]]", b"[\\]]", b"[", b"[^",
    b"[a-\xff]", b"[\x80-\xff]*", b"[-]", b"[\\^]", b"[^a-z]", b"user:*:name", b"user:?:*",
    b"*a*b*", b"a*", b"*\\", b"a\\", b"[abc", b"**", b"?", b"??", b"[\\", b"*:*:*", b"",
    b"a*a*a*a*a*a*b", b"[A-a]", b"[z-A]",
]


def test_keys_patterns_match_redis(node, reference):
    results = []
    for server in (node, reference):
        client = redis.Redis(port=server.port, socket_timeout=10)
        client.flushall()
        for key in KEYS:
            client.set(key, b"v")
        results.append([sorted(client.keys(pattern)) for pattern in PATTERNS])
        client.close()
    for pattern, ours, theirs in zip(PATTERNS, results[0], results[1], strict=True):
        assert ours == theirs, pattern


def test_keys_rejects_the_long_nested_loops_regression_like_redis(node, reference):
    for server in (node, reference):
        client = redis.Redis(port=server.port, socket_timeout=10)
        client.flushall()
        client.set(b"a" * 40, 1)
        assert client.keys("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b") == []
        client.set(b"a" * 50000, 1)
        assert client.keys(b"*?" * 50000) == []
        client.close()
