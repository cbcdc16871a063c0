"""Sorted set range commands (t_zset.c zrangeGenericCommand and zremrangeGenericCommand).

Every range command funnels into ``zrange_generic`` with its fixed range type and
direction, as Redis's handlers do, so option parsing, conflicts and error texts follow
one path: ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX. Seeks are
bisects on the ordered index; LIMIT offsets are rank arithmetic, not walks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_ZSET
from ..table.command import command
from ..types.zset import MINUS, PLUS, LexBound, ZSet
from .args import parse_double, to_int
from .zsets import after_removal, limits, pairs_reply, read_zset, write_zset

if TYPE_CHECKING:
    from .context import Client

RANK, SCORE, LEX = "rank", "score", "lex"
_SPACES = b" \t\n\v\f\r"


def parse_score_bound(arg: bytes) -> tuple[float, bool]:
    """One end of zslParseRange: "(" for exclusive, then strtod (leading blanks, "" is 0)."""
    exclusive = arg[:1] == b"("
    text = arg[1:] if exclusive else arg
    if not text:
        return 0.0, exclusive
    value = parse_double(text.lstrip(_SPACES)) if text[0] in _SPACES else parse_double(text)
    if value is None:
        raise CommandError(errors.ZRANGE_NOT_FLOAT)
    return value, exclusive


def parse_lex_bound(arg: bytes) -> LexBound:
    """zslParseLexRangeItem: "-", "+", "(member" or "[member"."""
    first = arg[:1]
    if first == b"+" and len(arg) == 1:
        return PLUS
    if first == b"-" and len(arg) == 1:
        return MINUS
    if first == b"(":
        return (arg[1:], True)
    if first == b"[":
        return (arg[1:], False)
    raise CommandError(errors.ZRANGE_NOT_LEX)


def parse_lex_range(low: bytes, high: bytes) -> tuple[LexBound, LexBound]:
    try:
        return parse_lex_bound(low), parse_lex_bound(high)
    except CommandError:
        raise CommandError(errors.ZRANGE_NOT_LEX) from None


Bounds = tuple[tuple[float, bool], tuple[float, bool]]


def parse_score_range(low: bytes, high: bytes) -> Bounds:
    return parse_score_bound(low), parse_score_bound(high)


def score_span(z: ZSet, bounds: Bounds) -> tuple[int, int]:
    return z.score_low(*bounds[0]), z.score_high(*bounds[1])


def rank_span(length: int, start: int, end: int) -> tuple[int, int]:
    """Redis's index sanitising: negatives from the end, clamped; empty when start > end."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if start > end or start >= length:
        return 0, 0
    return start, min(end, length - 1) + 1


def zrange_generic(c: Client, argv: list[bytes], first: int, store: bytes | None,
                   kind: str | None, reverse: bool | None) -> Any:
    withscores = False
    offset, limit = 0, -1
    argc = len(argv)
    j = first + 3
    while j < argc:
        opt = argv[j].lower()
        if store is None and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and argc - j - 1 >= 2:
            offset = to_int(argv[j + 1])
            limit = to_int(argv[j + 2])
            j += 2
        elif reverse is None and opt == b"rev":
            reverse = True
        elif kind is None and opt == b"bylex":
            kind = LEX
        elif kind is None and opt == b"byscore":
            kind = SCORE
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    reverse = bool(reverse)
    kind = kind or RANK
    if limit != -1 and kind == RANK:
        raise CommandError(errors.ZRANGE_LIMIT)
    if withscores and kind == LEX:
        raise CommandError(errors.ZRANGE_BYLEX_WITHSCORES)
    low, high = argv[first + 1], argv[first + 2]
    if reverse and kind != RANK:
        low, high = high, low
    if kind == RANK:
        start, end = to_int(low), to_int(high)
    elif kind == SCORE:
        bounds = parse_score_range(low, high)
    else:
        lex = parse_lex_range(low, high)
    z = read_zset(c, argv[first])
    items: list[tuple[float, bytes]] = []
    if z is not None and kind == RANK and not withscores and store is None:
        n = len(z)
        lo, hi = rank_span(n, start, end)
        return z.rank_members(n - hi, n - lo)[::-1] if reverse else z.rank_members(lo, hi)
    if z is not None:
        order = z.order
        if kind == RANK:
            n = len(order)
            lo, hi = rank_span(n, start, end)
            items = order[n - hi:n - lo][::-1] if reverse else order[lo:hi]
        else:
            if kind == SCORE:
                lo, hi = score_span(z, bounds)
            elif reverse:
                lo, hi = z.lex_bounds_reverse(*lex)
            else:
                lo, hi = z.lex_bounds(*lex)
            if offset < 0 or lo >= hi:
                items = []
            elif reverse:
                top = hi - offset
                bottom = lo if limit < 0 else max(lo, top - limit)
                items = order[bottom:top][::-1] if top > bottom else []
            else:
                begin = lo + offset
                stop = hi if limit < 0 else min(hi, begin + limit)
                items = order[begin:stop] if stop > begin else []
    if store is not None:
        return store_result(c, store, items, "zrangestore")
    return pairs_reply(items, withscores, c.resp3)


def store_result(c: Client, dst: bytes, items: list[tuple[float, bytes]], event: str) -> int:
    """setKey of the result (dropping any TTL) and ``event``, or delete ``dst`` (dbDelete:
    live or not) when the result is empty, reporting "del" if there was one."""
    db = c.db
    if not items:
        if db.delete_stored(dst):
            db.notify(NOTIFY_GENERIC, "del", dst)
        return 0
    db.lookup_write(dst)
    db.set(dst, ZSet.from_scores({m: s for s, m in items}, *limits(c)))
    db.notify(NOTIFY_ZSET, event, dst)
    return len(items)


@command("zrange")
def zrange(c: Client, argv: list[bytes]) -> Any:
    return zrange_generic(c, argv, 1, None, None, None)


@command("zrangestore")
def zrangestore(c: Client, argv: list[bytes]) -> Any:
    return zrange_generic(c, argv, 2, argv[1], None, None)


@command("zrevrange")
def zrevrange(c: Client, argv: list[bytes]) -> Any:
    return zrange_generic(c, argv, 1, None, RANK, True)


@command("zrangebyscore")
def zrangebyscore(c: Client, argv: list[bytes]) -> Any:
    return zrange_generic(c, argv, 1, None, SCORE, False)


@command("zrevrangebyscore")
def zrevrangebyscore(c: Client, argv: list[bytes]) -> Any:
    return zrange_generic(c, argv, 1, None, SCORE, True)


@command("zrangebylex")
def zrangebylex(c: Client, argv: list[bytes]) -> Any:
    return zrange_generic(c, argv, 1, None, LEX, False)


@command("zrevrangebylex")
def zrevrangebylex(c: Client, argv: list[bytes]) -> Any:
    return zrange_generic(c, argv, 1, None, LEX, True)


# --- counting ---

@command("zcount")
def zcount(c: Client, argv: list[bytes]) -> Any:
    bounds = parse_score_range(argv[2], argv[3])
    z = read_zset(c, argv[1])
    if z is None:
        return 0
    lo, hi = score_span(z, bounds)
    return max(hi - lo, 0)


@command("zlexcount")
def zlexcount(c: Client, argv: list[bytes]) -> Any:
    lex = parse_lex_range(argv[2], argv[3])
    z = read_zset(c, argv[1])
    if z is None:
        return 0
    lo, hi = z.lex_bounds(*lex)
    return hi - lo


# --- ZREMRANGEBY* ---

def zremrange_generic(c: Client, argv: list[bytes], kind: str) -> Any:
    if kind == RANK:
        start, end = to_int(argv[2]), to_int(argv[3])
    elif kind == SCORE:
        bounds = parse_score_range(argv[2], argv[3])
    else:
        lex = parse_lex_range(argv[2], argv[3])
    key = argv[1]
    z = write_zset(c, key)
    if z is None:
        return 0
    if kind == RANK:
        lo, hi = rank_span(len(z.order), start, end)
    elif kind == SCORE:
        lo, hi = score_span(z, bounds)
    else:
        lo, hi = z.lex_bounds(*lex)
    if hi <= lo:
        return 0
    removed = z.remove_slice(lo, hi)
    after_removal(c, key, z, "zremrangeby" + kind)
    return len(removed)


@command("zremrangebyrank")
def zremrangebyrank(c: Client, argv: list[bytes]) -> Any:
    return zremrange_generic(c, argv, RANK)


@command("zremrangebyscore")
def zremrangebyscore(c: Client, argv: list[bytes]) -> Any:
    return zremrange_generic(c, argv, SCORE)


@command("zremrangebylex")
def zremrangebylex(c: Client, argv: list[bytes]) -> Any:
    return zremrange_generic(c, argv, LEX)
