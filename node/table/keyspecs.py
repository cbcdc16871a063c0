"""Key specs compiled once, when the table is built.

Cluster routing asks every keyed command for its key positions, so the spec dicts of
specs.py are read here once, into plain fields, and each command gets a finder that only
does getKeysUsingKeySpecs' index arithmetic per call. A command whose keys sit at fixed
positions gets them precomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ..protocol.request import strict_int

KeyRef = tuple[int, tuple[str, ...]]
"""A key argument: its position in argv and its key-spec flags (``RW``, ``ACCESS`` ...)."""

KeyFinder = Callable[[list[bytes]], list[KeyRef] | None]
"""The keys of a request and their flags, or None when the key specs cannot say."""


class KeySpec:
    """One followable key spec: where the search begins, then a range or a key count."""

    __slots__ = ("flags", "keyword", "begin", "keynumidx", "firstkey", "lastkey", "limit",
                 "step", "incomplete")

    def __init__(self, spec: dict[str, Any]) -> None:
        self.flags: tuple[str, ...] = tuple(spec["flags"])
        self.incomplete = "INCOMPLETE" in self.flags
        bs, fk = spec["begin_search"], spec["find_keys"]
        self.keyword: bytes | None = None
        if "index" in bs:
            self.begin: int = bs["index"]["pos"]
        else:
            self.keyword = bs["keyword"]["keyword"].lower().encode()
            self.begin = bs["keyword"]["startfrom"]
        # keynumidx < 0 marks a range: lastkey and limit apply; else firstkey does.
        self.keynumidx, self.firstkey, self.lastkey, self.limit = -1, 0, 0, 0
        if "range" in fk:
            rng = fk["range"]
            self.lastkey, self.limit, self.step = rng["lastkey"], rng["limit"], rng["step"]
        else:
            num = fk["keynum"]
            self.keynumidx, self.firstkey, self.step = (
                num["keynumidx"], num["firstkey"], num["step"])

    def runs_to_the_end(self) -> bool:
        """Its keys start at a fixed position and end a fixed distance before argv's end."""
        return (self.keyword is None and self.keynumidx < 0 and self.lastkey < 0
                and not self.limit and not self.incomplete)

    def is_fixed(self) -> bool:
        """Its keys do not depend on the arguments, only on there being enough of them."""
        return (self.keyword is None and self.keynumidx < 0 and self.lastkey >= 0
                and not self.incomplete)


def _followable(spec: dict[str, Any]) -> bool:
    bs, fk = spec["begin_search"], spec["find_keys"]
    return ("index" in bs or "keyword" in bs) and ("range" in fk or "keynum" in fk)


def _cannot_say(argv: list[bytes]) -> None:
    return None


def compile_key_specs(specs: list[dict[str, Any]]) -> KeyFinder:
    """The finder of a command's key specs, NOT_KEY ones left out (getKeysUsingKeySpecs)."""
    keyed = [s for s in specs if "NOT_KEY" not in s["flags"]]
    if not all(_followable(s) for s in keyed):
        return _cannot_say
    compiled = tuple(KeySpec(s) for s in keyed)
    if all(s.is_fixed() for s in compiled):
        return _fixed_finder(compiled)
    if len(compiled) == 1 and compiled[0].runs_to_the_end():
        return _tail_finder(compiled[0])
    return partial(_find_keys, compiled)


def _fixed_finder(specs: tuple[KeySpec, ...]) -> KeyFinder:
    keys = [(pos, s.flags) for s in specs
            for pos in range(s.begin, s.begin + s.lastkey + 1, s.step)]
    needed = max((s.begin + s.lastkey + 1 for s in specs), default=0)

    def fixed(argv: list[bytes]) -> list[KeyRef] | None:
        return keys.copy() if len(argv) >= needed else None

    return fixed


def _tail_finder(spec: KeySpec) -> KeyFinder:
    begin, end, step, flags = spec.begin, spec.lastkey + 1, spec.step, spec.flags

    def tail(argv: list[bytes]) -> list[KeyRef] | None:
        stop = len(argv) + end
        return [(i, flags) for i in range(begin, stop, step)] if stop > begin else None

    return tail


def _find_keys(specs: tuple[KeySpec, ...], argv: list[bytes]) -> list[KeyRef] | None:
    """getKeysUsingKeySpecs: the keys and their flags, or None when a spec cannot say."""
    argc = len(argv)
    found: list[KeyRef] = []
    for spec in specs:
        if spec.keyword is None:
            first = spec.begin
        else:
            first = _keyword_position(spec.keyword, spec.begin, argv)
            if not first:
                continue
        if spec.keynumidx < 0:
            lastkey = spec.lastkey
            if lastkey >= 0:
                last = first + lastkey
            elif not spec.limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // spec.limit + lastkey)
        else:
            idx = first + spec.keynumidx
            if idx >= argc:
                return None
            numkeys = strict_int(argv[idx])
            if numkeys is None or numkeys < 0:
                return None
            first += spec.firstkey
            last = first + numkeys - 1
        if last >= argc or last < first or first >= argc:
            return None
        flags = spec.flags
        found += [(i, flags) for i in range(first, last + 1, spec.step)]
        if spec.incomplete:
            return None
    return found


def _keyword_position(keyword: bytes, start: int, argv: list[bytes]) -> int:
    """The argument after ``keyword``, or 0; the search stops short of its end."""
    argc = len(argv)
    i = start if start > 0 else argc + start
    end = argc - 1 if start > 0 else 1
    step = 1 if i <= end else -1
    while i != end:
        if i >= argc or i < 1:
            break
        if argv[i].lower() == keyword:
            return i + 1
        i += step
    return 0
