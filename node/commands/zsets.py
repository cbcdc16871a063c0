"""Sorted set commands (t_zset.c): ZADD and friends, point lookups, pops, random picks, ZSCAN.

Range queries live in zset_ranges.py and the set algebra in zset_algebra.py. Scores are
parsed as Redis does (strtod, whole argument, no NaN, no overflow for ZADD) and replied as
doubles: RESP3 ``,`` doubles, RESP2 ``%.17g`` bulk strings (reply.py's float encoding).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..config.directives import watch_process
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_ZSET
from ..protocol.reply import NULL_ARRAY, format_double
from ..table.command import command
from ..types import zpacked
from ..types.zset import ZSET_KINDS, Draft, PackedZSet, SkipIndex, ZSet, open_zset
from ..types.zset_record import LOAD_LIMITS, score_text
from .args import LLONG_MAX, parse_double, to_int
from .keys import parse_cursor, parse_scan_options

if TYPE_CHECKING:
    from .context import Client

_SPACES = b" \t\n\v\f\r"


def parse_score(arg: bytes) -> float | None:
    """getDoubleFromObject: strtod over the whole argument, refusing NaN and over/underflow.

    Plain decimal integers of up to 15 digits (what clients mostly send), optionally after
    a "-", are exact doubles: ``int`` reads them without the general parse (-0 keeps its
    sign, as strtod's does)."""
    size = len(arg)
    if 0 < size <= 15 and arg.isdigit():
        return float(int(arg))
    if 1 < size <= 16 and arg[0] == 45 and arg[1:].isdigit():  # "-"
        return -float(int(arg[1:]))
    if 2 < size <= 24:  # a plain decimal ("1.5", "-0.25"): float() rounds as strtod does,
        dot = arg.find(b".")  # and so few digits can neither overflow nor underflow
        start = 1 if arg[0] == 45 else 0
        if (dot > start and dot < size - 1 and arg[start:dot].isdigit()
                and arg[dot + 1:].isdigit()):
            return float(arg)
    if not arg or arg[0] in _SPACES:
        return None
    value = parse_double(arg)
    if value is None:
        return None
    if math.isinf(value):
        if b"n" not in arg.lower():
            return None
    elif value == 0.0:
        text = arg.lower().lstrip(b"+-")
        hexa = text[:2] == b"0x"
        digits = text[2:].split(b"p")[0] if hexa else text.split(b"e")[0]
        if digits.strip(b"0."):
            return None
    return value


def to_score(arg: bytes, message: str = errors.NOT_FLOAT) -> float:
    value = parse_score(arg)
    if value is None:
        raise CommandError(message)
    return value


def limits(c: Client) -> tuple[int, int]:
    """(zset-max-listpack-entries, zset-max-listpack-value)."""
    config = c.server.config
    return config["zset-max-listpack-entries"], config["zset-max-listpack-value"]


def new_zset(skiplist: bool) -> ZSet:
    z = ZSet()
    if skiplist:
        z.to_skiplist()
    return z


def read_zset(c: Client, key: bytes) -> ZSet | None:
    value = c.db.read_typed(key, ZSET_KINDS)
    return None if value is None else open_zset(value)


def write_zset(c: Client, key: bytes) -> ZSet | None:
    """The set to change: ``store_changed`` puts it back once changed."""
    value = c.db.write_typed(key, ZSET_KINDS)
    return None if value is None else open_zset(value)


def store_changed(c: Client, key: bytes, z: ZSet) -> None:
    """A changed set in its key's place (the next packed form, or the set just converted
    to a skiplist; a skiplist changed in place is there already), signalled."""
    db = c.db
    db.replace(key, z.stored())
    db.modified(key)


def after_removal(c: Client, key: bytes, z: ZSet, event: str) -> None:
    """A key whose set lost members: ``event`` is reported, then the key is deleted when
    empty (and "del" reported), as Redis does, else signalled."""
    db = c.db
    if db.stats.notifier.flags & NOTIFY_ZSET:
        db.notify(NOTIFY_ZSET, event, key)
    if len(z):
        store_changed(c, key, z)
    else:
        db.delete(key)
        db.notify(NOTIFY_GENERIC, "del", key)


def pairs_reply(items: list[tuple[float, bytes]], withscores: bool, resp3: bool) -> list[Any]:
    """Members, or member/score pairs: flat in RESP2, nested in RESP3."""
    if not withscores:
        return [m for _, m in items]
    if resp3:
        return [[m, s] for s, m in items]
    out: list[Any] = []
    for s, m in items:
        out.append(m)
        out.append(s)
    return out


# --- ZADD / ZINCRBY ---

_ZADD_FLAGS = {b"nx": 1, b"xx": 2, b"ch": 4, b"incr": 8, b"gt": 16, b"lt": 32}


def zadd_generic(c: Client, argv: list[bytes], incr_only: bool,
                 parsed: list[float] | None = None) -> Any:
    """ZADD's body; ``parsed``: the scores already parsed (GEOADD computed them)."""
    flags = 8 if incr_only else 0
    i = 2
    argc = len(argv)
    while i < argc:
        flag = _ZADD_FLAGS.get(argv[i].lower())
        if flag is None:
            break
        flags |= flag
        i += 1
    nx, xx, ch, incr = flags & 1, flags & 2, flags & 4, flags & 8
    gt, lt = flags & 16, flags & 32
    elements = argc - i
    if elements % 2 or not elements:
        raise CommandError(errors.SYNTAX)
    if nx and xx:
        raise CommandError(errors.ZADD_XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError(errors.GT_LT_NX)
    if incr and elements > 2:
        raise CommandError(errors.ZADD_INCR_PAIR)
    scores = parsed if parsed is not None else [to_score(argv[j]) for j in range(i, argc, 2)]
    key = argv[1]
    db = c.db
    z = write_zset(c, key)
    created = False
    if z is None:
        if xx:
            return None if incr else 0
        max_entries, max_value = limits(c)
        member = argv[i + 1]
        if elements == 2 and max_entries > 0 and len(member) <= max_value:
            # One pair on a missing key (what NX/GT/LT/CH/INCR do to a new member alone):
            # its listpack built at once, with no view, and costed now.
            score = scores[0]
            db.add(key, PackedZSet(zpacked.build([member], [zpacked.listpack_score(score)])),
                   True)
            if db.stats.notifier.flags & NOTIFY_ZSET:
                db.notify(NOTIFY_ZSET, "zincr" if incr else "zadd", key)
            return score if incr else 1
        z = new_zset(max_entries == 0 or max_value < len(member))
        created = True
    elif z.big is None:
        max_entries, max_value = limits(c)
    else:
        max_entries = max_value = 0  # a skiplist set never converts back: no config read
    target: SkipIndex | ZSet | Draft = z
    if z.big is not None:
        target = z.big  # its methods are direct calls (ZSet's are looked up)
    elif len(scores) > 1:
        target = Draft(z)  # many pairs into a listpack: unpacked and packed once
    while True:
        added = updated = processed = 0
        new_score = 0.0
        failure = None
        for n, score in enumerate(scores):
            member = argv[i + 2 * n + 1]
            old = target.score_of(member)  # compiled: a direct call (no bound method)
            if old is not None:
                if nx:
                    continue
                if incr:
                    score += old
                    if math.isnan(score):
                        failure = errors.ZSCORE_NAN
                        break
                if (lt and score >= old) or (gt and score <= old):
                    continue
                new_score = score
                if score != old:
                    target.rescore(member, old, score)
                    updated += 1
                processed += 1
            elif not xx:
                target.insert(member, score, max_entries, max_value)
                new_score = score
                added += 1
                processed += 1
        if not isinstance(target, Draft) or target.commit(max_entries, max_value):
            break
        target = z  # the result outgrows the listpack: convert where Redis does
    if created:
        if len(z):
            db.add(key, z.stored())
    elif added or updated:
        store_changed(c, key, z)
    if added or updated:
        db.stats.dirty += added + updated - 1  # server.dirty += added + updated
        if db.stats.notifier.flags & NOTIFY_ZSET:
            db.notify(NOTIFY_ZSET, "zincr" if incr else "zadd", key)
    if failure is not None:
        raise CommandError(failure)
    if incr:
        return new_score if processed else None
    return added + updated if ch else added


@command("zadd")
def zadd(c: Client, argv: list[bytes]) -> Any:
    return zadd_generic(c, argv, False)


@command("zincrby")
def zincrby(c: Client, argv: list[bytes]) -> Any:
    return zadd_generic(c, [argv[0], argv[1], argv[2], argv[3]], True)


# --- removal and point lookups ---

@command("zrem")
def zrem(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    z = write_zset(c, key)
    if z is None:
        return 0
    deleted = 0
    for member in argv[2:]:
        if z.remove(member):
            deleted += 1
            if not len(z):
                break
    if deleted:
        after_removal(c, key, z, "zrem")
    return deleted


# Point lookups read a PackedZSet directly, without a ZSet view of it.

@command("zcard")
def zcard(c: Client, argv: list[bytes]) -> Any:
    value = c.db.read_typed(argv[1], ZSET_KINDS)
    if value is None:
        return 0
    return zpacked.size(value) if type(value) is PackedZSet else len(value)


@command("zscore")
def zscore(c: Client, argv: list[bytes]) -> Any:
    value = c.db.read_typed(argv[1], ZSET_KINDS)
    if value is None:
        return None
    if type(value) is PackedZSet:
        return zpacked.score_of(value, argv[2])
    return value.score_of(argv[2])


@command("zmscore")
def zmscore(c: Client, argv: list[bytes]) -> Any:
    value = c.db.read_typed(argv[1], ZSET_KINDS)
    if value is None:
        return [None] * (len(argv) - 2)
    if type(value) is PackedZSet:
        return [zpacked.score_of(value, member) for member in argv[2:]]
    get = value.score_of
    return [get(member) for member in argv[2:]]


def zrank_generic(c: Client, argv: list[bytes], reverse: bool) -> Any:
    """ZRANK/ZREVRANK, with 7.2's WITHSCORE."""
    if len(argv) > 4:
        raise CommandError(errors.WRONG_ARITY % argv[0].decode(errors="replace").lower())
    withscore = False
    if len(argv) == 4:
        if argv[3].lower() != b"withscore":
            raise CommandError(errors.SYNTAX)
        withscore = True
    missing = NULL_ARRAY if withscore else None
    value = c.db.read_typed(argv[1], ZSET_KINDS)
    if value is None:
        return missing
    member = argv[2]
    if type(value) is PackedZSet:
        rank = zpacked.index_of(value, member)
        if rank < 0:
            return missing
        n = zpacked.size(value)
        score = zpacked.score_at(value, rank) if withscore else 0.0
    else:
        found = value.rank(member)
        if found is None:
            return missing
        rank, n = found, len(value)
        score = value.score_of(member) if withscore else 0.0
    if reverse:
        rank = n - 1 - rank
    return [rank, score] if withscore else rank


@command("zrank")
def zrank(c: Client, argv: list[bytes]) -> Any:
    return zrank_generic(c, argv, False)


@command("zrevrank")
def zrevrank(c: Client, argv: list[bytes]) -> Any:
    return zrank_generic(c, argv, True)


# --- pops ---

def pop_items(c: Client, key: bytes, z: ZSet, count: int, maximum: bool) -> list[tuple[float, bytes]]:
    """Remove and return up to ``count`` members from one end, in pop order."""
    n = len(z.order)
    if maximum:
        items = z.remove_slice(max(n - count, 0), n)
        items.reverse()
    else:
        items = z.remove_slice(0, min(count, n))
    after_removal(c, key, z, "zpopmax" if maximum else "zpopmin")
    return items


def first_nonempty(c: Client, keys: list[bytes]) -> tuple[bytes, ZSet] | None:
    """The first existing key of a ZMPOP list (a wrong type among those seen is an error)."""
    for key in keys:
        z = write_zset(c, key)
        if z is not None:
            return key, z
    return None


def zpop_generic(c: Client, argv: list[bytes], maximum: bool) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    count = 1
    if len(argv) == 3:
        count = to_int(argv[2], errors.POSITIVE_VALUE)
        if count < 0:
            raise CommandError(errors.POSITIVE_VALUE)
    nested = len(argv) == 3 and c.resp3
    key = argv[1]
    z = write_zset(c, key)
    if z is None or count == 0:
        return []
    items = pop_items(c, key, z, count, maximum)
    return pairs_reply(items, True, nested)


@command("zpopmin")
def zpopmin(c: Client, argv: list[bytes]) -> Any:
    return zpop_generic(c, argv, False)


@command("zpopmax")
def zpopmax(c: Client, argv: list[bytes]) -> Any:
    return zpop_generic(c, argv, True)


def parse_mpop(argv: list[bytes], first: int) -> tuple[list[bytes], bool, int]:
    """numkeys key... MIN|MAX [COUNT count], from ``argv[first]``; (keys, maximum, count)."""
    numkeys = to_int(argv[first], errors.NUMKEYS_POSITIVE)
    if numkeys < 1:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    where = first + numkeys + 1
    if where >= len(argv):
        raise CommandError(errors.SYNTAX)
    side = argv[where].lower()
    if side not in (b"min", b"max"):
        raise CommandError(errors.SYNTAX)
    count = -1
    j = where + 1
    while j < len(argv):
        if argv[j].lower() == b"count" and j + 1 < len(argv) and count == -1:
            count = to_int(argv[j + 1], errors.COUNT_POSITIVE)
            if count < 1:
                raise CommandError(errors.COUNT_POSITIVE)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[first + 1:where], side == b"max", max(count, 1)


@command("zmpop")
def zmpop(c: Client, argv: list[bytes]) -> Any:
    keys, maximum, count = parse_mpop(argv, 1)
    found = first_nonempty(c, keys)
    if found is None:
        return NULL_ARRAY
    key, z = found
    return [key, pairs_reply(pop_items(c, key, z, count, maximum), True, True)]


# --- random members ---

@command("zrandmember")
def zrandmember(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        z = read_zset(c, argv[1])
        if z is None:
            return None
        return z.order[random.randrange(len(z.order))][1]
    count = to_int(argv[2])
    if count < -LLONG_MAX:
        raise CommandError(errors.VALUE_OUT_OF_RANGE % (-LLONG_MAX, LLONG_MAX))
    withscores = False
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
        raise CommandError(errors.SYNTAX)
    if len(argv) == 4:
        withscores = True
        if count < -LLONG_MAX // 2 or count > LLONG_MAX // 2:
            raise CommandError(errors.VALUE_OUT_OF_RANGE_PLAIN)
    z = read_zset(c, argv[1])
    if z is None or count == 0:
        return []
    order = z.order
    size = len(order)
    if count < 0 or count == 1:
        picks = [order[random.randrange(size)] for _ in range(abs(count))]
    elif count >= size:
        picks = order[::-1]
    else:
        picks = [order[i] for i in random.sample(range(size), count)]
    return pairs_reply(picks, withscores, c.resp3)


# --- ZSCAN ---

@command("zscan")
def zscan(c: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[2])
    z = read_zset(c, argv[1])
    if z is None:
        return [b"0", []]
    opts = parse_scan_options(argv, 3, False)
    text: Callable[[float], bytes]
    if z.slots is None:
        pairs = [(m, s) for s, m in z.order]
        cursor = 0
        text = score_text
    else:
        slots = z.slots
        top = len(slots) - 1 if cursor == 0 else min(cursor - 1, len(slots) - 1)
        cursor = max(top - opts.count + 1, 0)
        pairs = z.slot_items(cursor, top + 1)
        text = format_double
    match = opts.match
    out = []
    for member, score in pairs:
        if match is None or match(member):
            out.append(member)
            out.append(text(score))
    return [b"%d" % cursor, out]


def _watch_limit(index: int) -> Any:
    def watch(value: int) -> None:
        LOAD_LIMITS[index] = value
    return watch


watch_process("zset-max-listpack-entries", _watch_limit(0))
watch_process("zset-max-listpack-value", _watch_limit(1))
