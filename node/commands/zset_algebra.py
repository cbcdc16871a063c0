"""Sorted set algebra (t_zset.c zunionInterDiffGenericCommand): ZUNION, ZINTER, ZDIFF, their
STORE forms and ZINTERCARD.

Inputs may be sorted sets or plain sets (every member scoring 1.0), as in Redis. Inputs are
visited in Redis's order (by cardinality) so that weighted sums round the same way; a
product or sum that is NaN (inf * 0, inf + -inf) counts as 0, as Redis does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..table.command import command
from ..types.registry import TYPE_NAMES
from ..types.zset import ZSET_KINDS, Scores, open_zset
from .args import to_int
from .zset_ranges import store_result
from .zsets import pairs_reply, parse_score

if TYPE_CHECKING:
    from .context import Client

UNION, INTER, DIFF = "union", "inter", "diff"


class Source:
    """One input: its members with scores (None for a missing key) and its weight."""

    __slots__ = ("scores", "weight", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.weight = 1.0
        if value is None:
            self.scores: Scores = {}
        elif isinstance(value, ZSET_KINDS):
            self.scores = open_zset(value).scores
        else:
            self.scores = dict.fromkeys(_set_members(value), 1.0)


def _set_members(value: Any) -> Iterable[bytes]:
    return (m if isinstance(m, bytes) else b"%d" % m for m in value)


def _aggregate(mode: bytes, old: float, new: float) -> float:
    if mode == b"sum":
        total = old + new
        return 0.0 if math.isnan(total) else total
    if mode == b"min":
        return new if new < old else old
    return new if new > old else old


def _weighted(score: float, weight: float) -> float:
    value = score * weight
    return 0.0 if math.isnan(value) else value


def algebra(c: Client, argv: list[bytes], numkeys_at: int, op: str, dst: bytes | None,
            card_only: bool) -> Any:
    setnum = to_int(argv[numkeys_at])
    if setnum < 1:
        raise CommandError(errors.ZSET_NEEDS_KEYS % argv[0].decode(errors="replace").lower())
    argc = len(argv)
    if setnum > argc - numkeys_at - 1:
        raise CommandError(errors.SYNTAX)
    db = c.db
    sources = []
    for key in argv[numkeys_at + 1:numkeys_at + 1 + setnum]:
        value = db.lookup_read(key)  # lookupKeyRead, STORE forms too (hits, misses, keymiss)
        if value is not None and TYPE_NAMES.get(type(value)) not in ("zset", "set"):
            raise CommandError(errors.WRONGTYPE)
        sources.append(Source(value))
    j = numkeys_at + 1 + setnum
    mode = b"sum"
    withscores = False
    limit = 0
    while j < argc:
        remaining = argc - j
        opt = argv[j].lower()
        if op != DIFF and not card_only and remaining >= setnum + 1 and opt == b"weights":
            for i in range(setnum):
                weight = parse_score(argv[j + 1 + i])
                if weight is None:
                    raise CommandError(errors.WEIGHT_NOT_FLOAT)
                sources[i].weight = weight
            j += setnum + 1
        elif op != DIFF and not card_only and remaining >= 2 and opt == b"aggregate":
            mode = argv[j + 1].lower()
            if mode not in (b"sum", b"min", b"max"):
                raise CommandError(errors.SYNTAX)
            j += 2
        elif remaining >= 1 and dst is None and not card_only and opt == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and opt == b"limit":
            limit = to_int(argv[j + 1], errors.LIMIT_NEGATIVE)
            if limit < 0:
                raise CommandError(errors.LIMIT_NEGATIVE)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    if op == DIFF:
        result = _diff(sources)
    else:
        order = sorted(sources, key=lambda s: len(s.scores))
        if op == INTER:
            result = _inter(order, mode, limit if card_only else 0)
        else:
            result = _union(order, mode)
    if card_only:
        return len(result)
    if dst is not None:
        return store_result(c, dst, [(s, m) for m, s in result.items()], "z%sstore" % op)
    items = sorted([(s, m) for m, s in result.items()])
    return pairs_reply(items, withscores, c.resp3)


def _inter(order: list[Source], mode: bytes, limit: int) -> dict[bytes, float]:
    result: dict[bytes, float] = {}
    first, rest = order[0], order[1:]
    for member, score in first.scores.items():
        total = _weighted(score, first.weight)
        for src in rest:
            other = src.scores.get(member)
            if other is None:
                break
            total = _aggregate(mode, total, _weighted(other, src.weight))
        else:
            result[member] = total
            if limit and len(result) >= limit:
                break
    return result


def _union(order: list[Source], mode: bytes) -> dict[bytes, float]:
    result: dict[bytes, float] = {}
    for src in order:
        weight = src.weight
        for member, score in src.scores.items():
            value = _weighted(score, weight)
            old = result.get(member)
            result[member] = value if old is None else _aggregate(mode, old, value)
    return result


def _diff(sources: list[Source]) -> dict[bytes, float]:
    others = [s.scores for s in sources[1:] if s.scores]
    return {m: s for m, s in sources[0].scores.items()
            if not any(m in other for other in others)}


@command("zunion")
def zunion(c: Client, argv: list[bytes]) -> Any:
    return algebra(c, argv, 1, UNION, None, False)


@command("zinter")
def zinter(c: Client, argv: list[bytes]) -> Any:
    return algebra(c, argv, 1, INTER, None, False)


@command("zdiff")
def zdiff(c: Client, argv: list[bytes]) -> Any:
    return algebra(c, argv, 1, DIFF, None, False)


@command("zunionstore")
def zunionstore(c: Client, argv: list[bytes]) -> Any:
    return algebra(c, argv, 2, UNION, argv[1], False)


@command("zinterstore")
def zinterstore(c: Client, argv: list[bytes]) -> Any:
    return algebra(c, argv, 2, INTER, argv[1], False)


@command("zdiffstore")
def zdiffstore(c: Client, argv: list[bytes]) -> Any:
    return algebra(c, argv, 2, DIFF, argv[1], False)


@command("zintercard")
def zintercard(c: Client, argv: list[bytes]) -> Any:
    return algebra(c, argv, 1, INTER, None, True)
