"""Redis's glob patterns (util.c ``stringmatchlen``), compiled once per pattern.

KEYS and SCAN apply one pattern to every key, so the pattern is parsed once into
elements (``*`` or the exact set of bytes one position accepts) and the matcher then
runs over whole segments with ``bytes.find``/``re`` instead of re-reading the pattern
for each byte. The result equals Redis's byte for byte, quirks included:

- C compares ``char``, which is signed on the platforms Redis ships for: inside a
  ``[x-y]`` range, bytes 0x80-0xff sort *below* ASCII. Reversed ranges are swapped;
  with ``nocase`` the bounds are lowercased after the swap.
- ``nocase`` folds ASCII only (C-locale ``tolower``); an escaped byte inside ``[...]``
  still compares case-sensitively.
- An unterminated ``[`` class runs to the end of the pattern; a trailing backslash
  matches a backslash.
- The empty string matches only the empty pattern (``*`` does not match it: KEYS and
  SCAN short-circuit a bare ``*`` themselves).
- Redis 7 recurses at each ``*`` and, with ``skipLongerMatches``, never retries a star
  once the rest of the pattern failed everywhere after it: the search is exactly a
  greedy leftmost match of each segment between stars. Its nesting guard
  (``nesting > 1000``) makes a pattern whose 1001st star group is followed by more
  pattern never match, whatever the string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

MAX_NESTING = 1000
ALL_BYTES = frozenset(range(256))

Element = frozenset[int] | None  # None is a star


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _lower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def _literal(byte: int, nocase: bool) -> frozenset[int]:
    if not nocase:
        return frozenset((byte,))
    folded = _lower(_signed(byte))
    return frozenset(c for c in range(256) if _lower(_signed(c)) == folded)


def _range(first: int, last: int, nocase: bool) -> set[int]:
    start, end = _signed(first), _signed(last)
    if start > end:
        start, end = end, start
    if nocase:
        start, end = _lower(start), _lower(end)
        return {c for c in range(256) if start <= _lower(_signed(c)) <= end}
    return {c for c in range(256) if start <= _signed(c) <= end}


def parse(pattern: bytes, nocase: bool = False) -> list[Element]:
    """The pattern's elements, read exactly as stringmatchlen walks it."""
    out: list[Element] = []
    n = len(pattern)
    i = 0
    while i < n:
        ch = pattern[i]
        if ch == 0x2A:  # *
            while i + 1 < n and pattern[i + 1] == 0x2A:
                i += 1
            out.append(None)
        elif ch == 0x3F:  # ?
            out.append(ALL_BYTES)
        elif ch == 0x5B:  # [
            i += 1
            negate = i < n and pattern[i] == 0x5E
            if negate:
                i += 1
            members: set[int] = set()
            while True:
                if i < n and pattern[i] == 0x5C and n - i >= 2:
                    i += 1
                    members.add(pattern[i])
                elif i < n and pattern[i] == 0x5D:
                    break
                elif i >= n:
                    i -= 1
                    break
                elif n - i >= 3 and pattern[i + 1] == 0x2D:
                    members |= _range(pattern[i], pattern[i + 2], nocase)
                    i += 2
                else:
                    members |= _literal(pattern[i], nocase)
                i += 1
            out.append(ALL_BYTES - members if negate else frozenset(members))
        else:
            if ch == 0x5C and n - i >= 2:
                i += 1
            out.append(_literal(pattern[i], nocase))
        i += 1
    return out


def _class(members: frozenset[int]) -> bytes:
    if not members:
        return rb"(?!)"
    runs: list[list[int]] = []
    for c in sorted(members):
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    parts = [b"\\x%02x" % a if a == b else b"\\x%02x-\\x%02x" % (a, b) for a, b in runs]
    return b"[" + b"".join(parts) + b"]"


class Segment:
    """A run of single-byte elements between stars: a literal or a compiled regex."""

    __slots__ = ("length", "literal", "regex")

    def __init__(self, elements: list[frozenset[int]]) -> None:
        self.length = len(elements)
        self.literal: bytes | None = None
        self.regex: re.Pattern[bytes] | None = None
        if all(len(e) == 1 for e in elements):
            self.literal = bytes(next(iter(e)) for e in elements)
        else:
            self.regex = re.compile(b"".join(_class(e) for e in elements))

    def match_at(self, s: bytes, pos: int) -> bool:
        if self.literal is not None:
            return s.startswith(self.literal, pos)
        assert self.regex is not None
        return self.regex.match(s, pos) is not None

    def find(self, s: bytes, pos: int) -> int:
        """Leftmost start >= pos where the segment matches, or -1."""
        if self.literal is not None:
            return s.find(self.literal, pos)
        assert self.regex is not None
        m = self.regex.search(s, pos)
        return -1 if m is None else m.start()


class Glob:
    """A compiled pattern; ``glob.match(s)`` equals ``stringmatchlen(pattern, s)``."""

    __slots__ = ("pattern", "segments", "stars", "never")

    def __init__(self, pattern: bytes, nocase: bool = False) -> None:
        self.pattern = pattern
        runs: list[list[frozenset[int]]] = [[]]
        for element in parse(pattern, nocase):
            if element is None:
                runs.append([])
            else:
                runs[-1].append(element)
        self.stars = len(runs) - 1
        self.never = self.stars > MAX_NESTING and any(runs[MAX_NESTING + 1:])
        self.segments = [] if self.never else [Segment(run) for run in runs]

    def match(self, s: bytes) -> bool:
        if not s:
            return not self.pattern
        if self.never:
            return False
        segments = self.segments
        first = segments[0]
        if not self.stars:
            return len(s) == first.length and first.match_at(s, 0)
        if first.length and not first.match_at(s, 0):
            return False
        pos = first.length
        for segment in segments[1:-1]:
            found = segment.find(s, pos)
            if found < 0:
                return False
            pos = found + segment.length
        last = segments[-1]
        if not last.length:
            return True
        start = len(s) - last.length
        return start >= pos and last.match_at(s, start)


@lru_cache(maxsize=256)
def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """The matcher for ``pattern`` (cached: clients repeat their SCAN/PSUBSCRIBE patterns)."""
    return Glob(pattern, nocase).match


def stringmatchlen(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """One-off match (CONFIG GET, ACL ...): Redis's function of the same name."""
    return compile_glob(pattern, nocase)(string)
