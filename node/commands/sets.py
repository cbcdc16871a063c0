"""Set commands (t_set.c): SADD ... SSCAN, with Redis 7.0's lookups, encodings and reply order.

Which lookups count as keyspace hits, which errors win and in what order keys are checked
follow t_set.c: the set-algebra commands read every source key (stopping at the first
WRONGTYPE) before answering, and the STORE variants never look at the destination's type.
Result sets are built as Redis builds them, starting as an intset, so OBJECT ENCODING of a
stored result and the order of an all-integer reply (ascending) match; ``sets.py`` holds
the value class and its encodings. Random replies (SPOP, SRANDMEMBER) follow the same
strategies as Redis (which elements may repeat, which reply shape, when the whole set is
returned and in which order) though not its random choices.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..config.directives import watch_process
from ..keyspace.database import Database
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_SET
from ..keyspace.session import db_of
from ..protocol.reply import SetReply
from ..table.command import command
from ..types.sets import (
    LIMITS,
    SET_CLASSES,
    SMALL,
    HashSet,
    PackedSet,
    SetValue,
    add_members,
    new_set,
    remove_members,
    result_set,
)
from .args import to_int
from .keys import parse_cursor, parse_scan_options

if TYPE_CHECKING:
    from .context import Client

LONG_MAX = 2**63 - 1
SPOP_MOVE_STRATEGY_MUL = 5


def read_sets(db: Database, keys: list[bytes]) -> list[SetValue | None]:
    """Every source set in order (None for a missing key); WRONGTYPE at the first other type."""
    read = db.read_typed
    return [read(key, SET_CLASSES) for key in keys]


def store_result(db: Database, dst: bytes, result: SetValue, event: str) -> int:
    """setKey for a non-empty result (dropping any TTL) and ``event``, else delete the
    destination (dbDelete: live or not) and report "del" if there was one."""
    if result:
        db.lookup_write(dst)
        db.set(dst, result)
        db.notify(NOTIFY_SET, event, dst)
        return len(result)
    delete_destination(db, dst)
    return 0


def delete_destination(db: Database, dst: bytes) -> None:
    if db.delete_stored(dst):
        db.notify(NOTIFY_GENERIC, "del", dst)


def changed(db: Database, key: bytes, before: SetValue, after: SetValue) -> None:
    """Signal a change of the set under ``key``: a hashtable changed in place; an intset
    or a listpack (immutable) was replaced by ``after``, stored keeping the TTL."""
    if after is before:
        db.modified(key)
    else:
        db.set(key, after, keep_ttl=True)


# --- single-set commands ---

@command("sadd")
def sadd(c: Client, argv: list[bytes]) -> Any:
    db = db_of(c)
    key = argv[1]
    s = db.write_typed(key, SET_CLASSES)
    if s is None:
        s = new_set(argv[2:])
        db.add(key, s, True)  # whole: costed now
        db.notify(NOTIFY_SET, "sadd", key)
        return len(s)
    grown, added = add_members(s, argv[2:])
    if added:
        changed(db, key, s, grown)
        if db.stats.notifier.flags & NOTIFY_SET:
            db.notify(NOTIFY_SET, "sadd", key)
    return added


@command("srem")
def srem(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    key = argv[1]
    s = db.write_typed(key, SET_CLASSES)
    if s is None:
        return 0
    left, deleted = remove_members(s, argv[2:])
    if not deleted:
        return 0
    if left:
        changed(db, key, s, left)
        db.notify(NOTIFY_SET, "srem", key)
    else:
        db.delete(key)
        db.notify(NOTIFY_SET, "srem", key)
        db.notify(NOTIFY_GENERIC, "del", key)
    return deleted


@command("smove")
def smove(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    src_key, dst_key, member = argv[1], argv[2], argv[3]
    src = db.lookup_write(src_key)
    dst = db.lookup_write(dst_key)
    if src is None:
        return 0
    if not isinstance(src, SET_CLASSES) or (dst is not None and not isinstance(dst, SET_CLASSES)):
        raise CommandError(errors.WRONGTYPE)
    if src is dst:
        return int(member in src)
    left, removed = remove_members(src, [member])
    if not removed:
        return 0
    db.notify(NOTIFY_SET, "srem", src_key)
    if left:
        changed(db, src_key, src, left)
    else:
        db.delete(src_key)
        db.notify(NOTIFY_GENERIC, "del", src_key)
    if dst is None:
        dst = new_set([member])
        db.add(dst_key, dst)
    else:
        grown, added = add_members(dst, [member])
        if not added:
            return 1
        changed(db, dst_key, dst, grown)
    db.notify(NOTIFY_SET, "sadd", dst_key)
    return 1


@command("sismember")
def sismember(c: Client, argv: list[bytes]) -> Any:
    s = c.db.read_typed(argv[1], SET_CLASSES)
    return 0 if s is None else int(argv[2] in s)


@command("smismember")
def smismember(c: Client, argv: list[bytes]) -> Any:
    s = c.db.read_typed(argv[1], SET_CLASSES)
    if s is None:
        return [0] * (len(argv) - 2)
    return [int(member in s) for member in argv[2:]]


@command("scard")
def scard(c: Client, argv: list[bytes]) -> Any:
    s = c.db.read_typed(argv[1], SET_CLASSES)
    return 0 if s is None else len(s)


@command("smembers")
def smembers(c: Client, argv: list[bytes]) -> Any:
    s = c.db.read_typed(argv[1], SET_CLASSES)
    return SetReply() if s is None else SetReply(s.ordered())


# --- random picks ---

@command("spop")
def spop(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 3:
        return spop_count(c, argv)
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    db = c.db
    key = argv[1]
    s = db.write_typed(key, SET_CLASSES)
    if s is None:
        return None
    member = s.random_member()
    left, _ = remove_members(s, [member])
    db.notify(NOTIFY_SET, "spop", key)
    if left:
        changed(db, key, s, left)
    else:
        db.delete(key)
        db.notify(NOTIFY_GENERIC, "del", key)
    c.rewrite([b"SREM", key, member])  # the random draw is not replayed
    return member


def spop_count(c: Client, argv: list[bytes]) -> Any:
    """spopWithCountCommand: the whole set, ``count`` single pops, or (when few remain)
    a new set of the survivors, whose encoding is rebuilt from them."""
    count = to_int(argv[2], errors.POSITIVE_VALUE)
    if count < 0:
        raise CommandError(errors.POSITIVE_VALUE)
    db = c.db
    key = argv[1]
    s = db.write_typed(key, SET_CLASSES)
    if s is None or count == 0:
        return SetReply()
    size = len(s)
    db.notify(NOTIFY_SET, "spop", key)
    if count >= size:
        db.lookup_read(key)
        reply = result_set(s).ordered()
        db.delete(key)
        db.notify(NOTIFY_GENERIC, "del", key)
        c.rewrite([b"DEL", key])
        return SetReply(reply)
    remaining = size - count
    keys = s.ordered() if size <= SMALL else s.positions().keys
    if remaining * SPOP_MOVE_STRATEGY_MUL > count:
        popped = SetReply(random.sample(keys, count))
        left, _ = remove_members(s, popped)
        changed(db, key, s, left)
        c.rewrite(*srem_batches(key, popped))
        return popped
    kept = random.sample(keys, remaining)
    survivors = result_set(kept)
    kept_set = set(kept)
    popped = SetReply(m for m in s.ordered() if m not in kept_set)
    db.set(key, survivors, keep_ttl=True)
    c.rewrite(*srem_batches(key, popped))
    return popped


SREM_BATCH = 1024  # members per propagated SREM (spopWithCountCommand's batch)


def srem_batches(key: bytes, members: list[bytes]) -> list[list[bytes]]:
    return [[b"SREM", key, *members[i:i + SREM_BATCH]]
            for i in range(0, len(members), SREM_BATCH)]


@command("srandmember")
def srandmember(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 3:
        return srandmember_count(c, argv)
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    s = c.db.read_typed(argv[1], SET_CLASSES)
    if s is None:
        return None
    if isinstance(s, HashSet) and s.index is None and len(s) > SMALL:
        c.db.resized(argv[1])  # picks from a large set build its position index
    return s.random_member()


def srandmember_count(c: Client, argv: list[bytes]) -> Any:
    """srandmemberWithCountCommand: a negative count may repeat members; a positive one
    gives distinct members, the whole set (in its order) when it asks for as many."""
    count = to_int(argv[2])
    if count < -LONG_MAX:
        raise CommandError(errors.VALUE_OUT_OF_RANGE % (-LONG_MAX, LONG_MAX))
    s = c.db.read_typed(argv[1], SET_CLASSES)
    if s is None or count == 0:
        return []
    if isinstance(s, HashSet) and s.index is None and len(s) > SMALL:
        c.db.resized(argv[1])  # picks from a large set build its position index
    if count < 0 or count == 1:
        return s.random_members(abs(count))
    if count >= len(s):
        return s.ordered()
    keys = s.ordered() if len(s) <= SMALL else s.positions().keys
    return random.sample(keys, count)


# --- set algebra ---

def intersection(sets: list[SetValue]) -> list[bytes]:
    """sinterGenericCommand: the members of the smallest set (in its order) found in all
    (a listpack's members are searched once made a Python set)."""
    sets = sorted(sets, key=len)
    first = sets[0]
    others = [set(s) if isinstance(s, PackedSet) else s for s in sets[1:] if s is not first]
    if isinstance(first, HashSet):
        return list(first.intersection(*others))
    return [m for m in first if all(m in s for s in others)]


@command("sinter")
def sinter(c: Client, argv: list[bytes]) -> Any:
    sets = read_sets(c.db, argv[1:])
    if any(s is None for s in sets):
        return SetReply()
    return SetReply(intersection(sets))  # type: ignore[arg-type]


@command("sintercard")
def sintercard(c: Client, argv: list[bytes]) -> Any:
    numkeys = to_int(argv[1], errors.NUMKEYS_POSITIVE)
    if numkeys < 1:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    if numkeys > len(argv) - 2:
        raise CommandError(errors.NUMKEYS_TOO_MANY)
    limit = 0
    i = 2 + numkeys
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            i += 1
            limit = to_int(argv[i], errors.LIMIT_NEGATIVE)
            if limit < 0:
                raise CommandError(errors.LIMIT_NEGATIVE)
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    sets = read_sets(c.db, argv[2:2 + numkeys])
    if any(s is None for s in sets):
        return 0
    found = len(intersection(sets))  # type: ignore[arg-type]
    return min(found, limit) if limit else found


@command("sinterstore")
def sinterstore(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    sets = read_sets(db, argv[2:])
    if any(s is None for s in sets):
        delete_destination(db, argv[1])
        return 0
    result = result_set(intersection(sets))  # type: ignore[arg-type]
    return store_result(db, argv[1], result, "sinterstore")


def union(sets: list[SetValue | None]) -> SetValue:
    # (an intset or a listpack iterates its members, though typed as bytes)
    return result_set(set().union(*(s for s in sets if s is not None)))  # type: ignore[arg-type]


def difference(sets: list[SetValue | None]) -> SetValue:
    """sunionDiffGenericCommand's DIFF, including the choice between its two algorithms
    (which decides the result's encoding: the second starts from the whole first set)."""
    first = sets[0]
    if first is None or any(s is first for s in sets[1:]):
        return HashSet()
    others = [s for s in sets[1:] if s is not None]
    algo_one_work = len(first) * (len(others) + 1) // 2
    algo_two_work = len(first) + sum(len(s) for s in others)
    members = set(first).difference(*others)
    if algo_one_work <= algo_two_work:
        return result_set(members)
    return result_set(members, first)


@command("sunion")
def sunion(c: Client, argv: list[bytes]) -> Any:
    return SetReply(union(read_sets(c.db, argv[1:])).ordered())


@command("sunionstore")
def sunionstore(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    return store_result(db, argv[1], union(read_sets(db, argv[2:])), "sunionstore")


@command("sdiff")
def sdiff(c: Client, argv: list[bytes]) -> Any:
    return SetReply(difference(read_sets(c.db, argv[1:])).ordered())


@command("sdiffstore")
def sdiffstore(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    return store_result(db, argv[1], difference(read_sets(db, argv[2:])), "sdiffstore")


# --- SSCAN ---

@command("sscan")
def sscan(c: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[2])
    s = c.db.read_typed(argv[1], SET_CLASSES)
    if s is None:
        return [b"0", []]
    opts = parse_scan_options(argv, 3, False)
    if isinstance(s, HashSet) and s.index is None and len(s) > SMALL:
        c.db.resized(argv[1])  # a large set's first scan step builds its position index
    cursor, members = s.scan(cursor, opts.count)
    match = opts.match
    if match is not None:
        members = [m for m in members if match(m)]
    return [b"%d" % cursor, members]


def _watch_entries(value: int) -> None:
    LIMITS["entries"] = value


watch_process("set-max-intset-entries", _watch_entries)
