"""Hash commands (t_hash.c): HSET ... HSCAN, with Redis 7.0's encodings and replies.

A hash is created by the first write and deleted when its last field goes, as in Redis.
The encoding rules are hashTypeTryConversion's and hashTypeSet's: a listpack hash becomes
a hashtable when a command brings a field or value longer than hash-max-listpack-value
or when it ends up with more than hash-max-listpack-entries fields (node/hashes.py).
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..config.directives import watch_process
from ..keyspace.database import Database
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_HASH
from ..keyspace.session import db_of
from ..protocol.reply import OK
from ..protocol.request import strict_int
from ..table.command import command
from ..types.hashes import (
    HASH_LIMITS,
    LISTPACK_MAX_SAFETY_SIZE,
    FieldTable,
    Hash,
    LoadedHash,
    PackedHash,
    TableHash,
    decode_loaded,
    open_hash,
    put_at,
)
from ..types.listpack import listpack_size
from ..types.packed import count, field_index, pack, value_of
from .args import (
    LLONG_MAX,
    LLONG_MIN,
    add_long_double,
    format_long_double,
    parse_long_double,
    to_int,
)
from .keys import parse_cursor, parse_scan_options

if TYPE_CHECKING:
    from .context import Client

LONG_MAX = LLONG_MAX
_LARGE_ARGS = 1 << 20
EMPTY_SCAN = [b"0", []]


HASH_KINDS = (PackedHash, TableHash, LoadedHash)  # what the keyspace holds for a hash


def _open(db: Database, key: bytes, value: Any) -> Hash:
    """The Hash a command works on for a stored value. A LoadedHash is decoded for good
    first: the packed form takes its place, and is re-costed."""
    if type(value) is LoadedHash:
        value = decode_loaded(value)
        db.replace(key, value)
        db.resized(key)
    return open_hash(value)


def _typed(value: Any) -> Any:
    """``value`` if it is a hash or None, else WRONGTYPE. A TableHash, what a busy hash
    is, is tested first: one type compare, not an isinstance over three classes."""
    if value is not None and type(value) is not TableHash and not isinstance(value, HASH_KINDS):
        raise CommandError(errors.WRONGTYPE)
    return value


def _table(value: TableHash) -> FieldTable:
    """A hashtable-encoded hash's fields: commands change them in place, with no view."""
    table = value.table
    assert table is not None
    return table


def _read_hash(c: Client, key: bytes) -> Hash | None:
    value = _typed(c.db.lookup_read(key))
    return None if value is None else _open(c.db, key, value)


def _write_hash(db: Database, key: bytes) -> tuple[Hash, Any]:
    """hashTypeLookupWriteOrCreate: the hash to change and what the key holds (None:
    nothing, the hash is new)."""
    return _write_view(db, key, _typed(db.lookup_write(key)))


def _write_view(db: Database, key: bytes, value: Any) -> tuple[Hash, Any]:
    """``_write_hash`` for the value a write lookup of ``key`` found."""
    if value is None:
        return Hash(), None
    h = _open(db, key, value)
    return h, h.stored()


def _sizes(args: list[bytes], start: int) -> tuple[int, int]:
    """The longest and the total length of the strings ``args[start:]`` (one loop, compiled
    natively: ``max`` and ``sum`` over ``map(len, ...)`` took about 6,700 instructions an
    HSET)."""
    longest = total = 0
    for i in range(start, len(args)):
        size = len(args[i])
        total += size
        if size > longest:
            longest = size
    return longest, total


def _fit(c: Client, h: Hash, args: list[bytes], start: int) -> None:
    """hashTypeTryConversion for the strings ``args[start:]`` a command is about to store."""
    if h.table is not None:
        return
    longest, total = _sizes(args, start)
    if longest > c.server.config.values["hash-max-listpack-value"]:
        h.convert()
    elif total > _LARGE_ARGS and listpack_size(h.elements()) + total > LISTPACK_MAX_SAFETY_SIZE:
        h.convert()


def _store(c: Client, key: bytes, h: Hash, stored: Any, event: str) -> None:
    """Convert an overgrown listpack, then store the hash in the key's place (a new hash,
    the next packed form or a just converted one) or signal the change of the TableHash
    it holds; report ``event``."""
    if h.table is None and len(h) > c.server.config.values["hash-max-listpack-entries"]:
        h.convert()
    value = h.stored()
    db = c.db
    if stored is None:
        db.add(key, value)
        if db.stats.notifier.flags & NOTIFY_HASH:
            db.notify(NOTIFY_HASH, event, key)
    else:
        if value is not stored:
            db.replace(key, value)
        _changed(db, key, event)


def _changed(db: Database, key: bytes, event: str) -> None:
    """A stored hash was changed in place or replaced: signal it, report ``event``."""
    db.modified(key)
    if db.stats.notifier.flags & NOTIFY_HASH:
        db.notify(NOTIFY_HASH, event, key)


# --- setting and reading fields ---

@command("hset")
def hset(c: Client, argv: list[bytes]) -> Any:
    if len(argv) & 1:
        raise CommandError(errors.WRONG_ARITY % argv[0].decode(errors='replace').lower())
    key = argv[1]
    db = db_of(c)
    value = _typed(db.lookup_write(key))
    if type(value) is TableHash:  # no view, no conversion to weigh, nothing to store
        created = _table(value).put_pairs(argv, 2)
        _changed(db, key, "hset")
        return created
    if type(value) is PackedHash and len(argv) == 4:
        created = _put_packed(c, db, key, value, argv[2], argv[3])
        if created >= 0:
            return created
    elif value is None:
        created = _create_packed(c, db, key, argv)
        if created >= 0:
            return created
    h, stored = _write_view(db, key, value)
    _fit(c, h, argv, 2)
    created = h.put_pairs(argv, 2)
    _store(c, key, h, stored, "hset")
    return created


def _put_packed(c: Client, db: Database, key: bytes, packed: PackedHash, field: bytes,
                value: bytes) -> int:
    """HSET of one pair on a listpack hash that stays one: the next packed pairs made
    from the stored ones (one copy, ``splice``) with no Hash view; whether the field was
    new, or -1 (nothing done) when the pair converts the hash, for the general path."""
    limits = c.server.config.values
    longest = limits["hash-max-listpack-value"]
    if len(field) > longest or len(value) > longest or len(field) + len(value) > _LARGE_ARGS:
        return -1  # converts, or _fit weighs the listpack's safety size
    at = field_index(packed, field)
    if at < 0 and count(packed) >> 1 >= limits["hash-max-listpack-entries"]:
        return -1
    db.replace(key, PackedHash(put_at(packed, at, field, value)))
    _changed(db, key, "hset")
    return int(at < 0)


def _create_packed(c: Client, db: Database, key: bytes, argv: list[bytes]) -> int:
    """HSET on a missing key whose pairs make a listpack hash: its packed pairs stored at
    once (in argument order, as ``put_pairs`` adds them to an empty hash) with no Hash
    view; the number of pairs, or -1 (nothing done) for the general path when they would
    not: a string over hash-max-listpack-value, more pairs than hash-max-listpack-entries,
    a field given twice, or a large total that ``_fit`` weighs."""
    limits = c.server.config.values
    pairs = (len(argv) - 2) >> 1
    if pairs > limits["hash-max-listpack-entries"]:
        return -1
    longest, total = _sizes(argv, 2)
    if longest > limits["hash-max-listpack-value"] or total > _LARGE_ARGS:
        return -1
    if pairs > 8:
        if len(set(argv[2::2])) != pairs:
            return -1
    else:  # a few fields: compared pairwise, cheaper than a set
        for i in range(2, len(argv) - 2, 2):
            field = argv[i]
            for j in range(i + 2, len(argv), 2):
                if argv[j] == field:
                    return -1
    db.add(key, PackedHash(pack(argv[2:])), True)
    if db.stats.notifier.flags & NOTIFY_HASH:
        db.notify(NOTIFY_HASH, "hset", key)
    return pairs


@command("hmset")
def hmset(c: Client, argv: list[bytes]) -> Any:
    hset(c, argv)
    return OK


@command("hsetnx")
def hsetnx(c: Client, argv: list[bytes]) -> Any:
    key, field = argv[1], argv[2]
    h, stored = _write_hash(c.db, key)
    if field in h:
        return 0
    _fit(c, h, argv, 2)
    h.put(field, argv[3])
    _store(c, key, h, stored, "hset")
    return 1


@command("hget")
def hget(c: Client, argv: list[bytes]) -> Any:
    value = _typed(db_of(c).lookup_read(argv[1]))
    if value is None:
        return None
    kind = type(value)
    if kind is TableHash:
        return _table(value).values.get(argv[2])
    if kind is PackedHash:
        return value_of(value, argv[2])
    return _open(c.db, argv[1], value).get(argv[2])


@command("hmget")
def hmget(c: Client, argv: list[bytes]) -> Any:
    h = _read_hash(c, argv[1])
    if h is None:
        return [None] * (len(argv) - 2)
    get = h.get
    return [get(field) for field in argv[2:]]


@command("hdel")
def hdel(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    db = c.db
    h, stored = _write_hash(db, key)
    if stored is None:
        return 0
    deleted = 0
    for field in argv[2:]:
        if h.remove(field):
            deleted += 1
            if not h:
                db.delete(key)
                db.notify(NOTIFY_HASH, "hdel", key)
                db.notify(NOTIFY_GENERIC, "del", key)
                return deleted
    if deleted:
        value = h.stored()
        if value is not stored:
            db.replace(key, value)
        db.modified(key)
        db.notify(NOTIFY_HASH, "hdel", key)
    return deleted


@command("hlen")
def hlen(c: Client, argv: list[bytes]) -> Any:
    h = _read_hash(c, argv[1])
    return 0 if h is None else len(h)


@command("hstrlen")
def hstrlen(c: Client, argv: list[bytes]) -> Any:
    h = _read_hash(c, argv[1])
    if h is None:
        return 0
    value = h.get(argv[2])
    return 0 if value is None else len(value)


@command("hexists")
def hexists(c: Client, argv: list[bytes]) -> Any:
    h = _read_hash(c, argv[1])
    return int(h is not None and argv[2] in h)


@command("hgetall")
def hgetall(c: Client, argv: list[bytes]) -> Any:
    h = _read_hash(c, argv[1])
    return {} if h is None else h.as_dict()


@command("hkeys")
def hkeys(c: Client, argv: list[bytes]) -> Any:
    h = _read_hash(c, argv[1])
    return [] if h is None else h.keys()


@command("hvals")
def hvals(c: Client, argv: list[bytes]) -> Any:
    h = _read_hash(c, argv[1])
    return [] if h is None else h.values()


# --- counters ---

def _incremented(old: bytes | None, incr: int) -> int:
    """HINCRBY's new value of a field holding ``old`` (None: absent, counted from 0)."""
    value = 0
    if old is not None:
        parsed = strict_int(old) if len(old) <= 20 else None
        if parsed is None or not LLONG_MIN <= parsed <= LLONG_MAX:
            raise CommandError(errors.HASH_NOT_INTEGER)
        value = parsed
    total = value + incr
    if not LLONG_MIN <= total <= LLONG_MAX:
        raise CommandError(errors.OVERFLOW)
    return total


@command("hincrby")
def hincrby(c: Client, argv: list[bytes]) -> Any:
    incr = to_int(argv[3])
    key, field = argv[1], argv[2]
    db = c.db
    value = _typed(db.lookup_write(key))
    if type(value) is TableHash:  # as HSET's: the table changed in place
        table = _table(value)
        total = _incremented(table.values.get(field), incr)
        table.put(field, b"%d" % total)
        _changed(db, key, "hincrby")
        return total
    h, stored = _write_view(db, key, value)
    total = _incremented(h.get(field), incr)
    text = b"%d" % total
    _fit(c, h, [field, text], 0)
    h.put(field, text)
    _store(c, key, h, stored, "hincrby")
    return total


@command("hincrbyfloat")
def hincrbyfloat(c: Client, argv: list[bytes]) -> Any:
    incr = parse_long_double(argv[3])
    if incr is None:
        raise CommandError(errors.NOT_FLOAT)
    if isinstance(incr, float):
        raise CommandError(errors.NAN_OR_INFINITY)
    key, field = argv[1], argv[2]
    h, stored = _write_hash(c.db, key)
    old = h.get(field)
    value: Fraction | float = Fraction(0)
    if old is not None:
        parsed = parse_long_double(old)
        if parsed is None:
            raise CommandError(errors.HASH_NOT_FLOAT)
        value = parsed
    total = add_long_double(value, incr)
    if isinstance(total, float):
        raise CommandError(errors.INCR_NAN_INF)
    text = format_long_double(total)
    _fit(c, h, [field, text], 0)
    h.put(field, text)
    _store(c, key, h, stored, "hincrbyfloat")
    c.rewrite([b"HSET", key, field, bytes(text)])  # the float math is not replayed
    return text


# --- HRANDFIELD ---

def _pairs_reply(c: Client, h: Hash, fields: list[bytes], withvalues: bool) -> list[Any]:
    """Fields, or field-value pairs: flat in RESP2, nested two-element arrays in RESP3."""
    if not withvalues:
        return fields
    # A hashtable's own dict, not a copy of it: HRANDFIELD k 5 WITHVALUES on a million
    # fields must not copy them all; a packed hash is unpacked once for all the fields.
    values = h.table.values if h.table is not None else h.as_dict()
    if c.resp3:
        return [[f, values[f]] for f in fields]
    return [x for f in fields for x in (f, values[f])]


def _random_fields(h: Hash, count: int, unique: bool) -> list[bytes]:
    table = h.table
    fields = table.keys if table is not None else h.keys()
    if not unique:
        n = len(fields)
        rand = random.randrange
        return [fields[rand(n)] for _ in range(count)]
    if count >= len(fields):
        return h.keys()
    if table is None:
        # lpRandomPairsUnique: a unique sample in the listpack's own order.
        return [fields[i] for i in sorted(random.sample(range(len(fields)), count))]
    return random.sample(fields, count)


@command("hrandfield")
def hrandfield(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        h = _read_hash(c, argv[1])
        if h is None:
            return None
        table = h.table
        return random.choice(table.keys if table is not None else h.keys())
    count = to_int(argv[2])
    if count < -LONG_MAX:
        raise CommandError(errors.VALUE_OUT_OF_RANGE % (-LONG_MAX, LONG_MAX))
    withvalues = False
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withvalues"):
        raise CommandError(errors.SYNTAX)
    if len(argv) == 4:
        withvalues = True
        if not -(LONG_MAX // 2) <= count <= LONG_MAX // 2:
            raise CommandError(errors.VALUE_OUT_OF_RANGE_PLAIN)
    h = _read_hash(c, argv[1])
    if h is None or count == 0:
        return []
    fields = _random_fields(h, abs(count), count > 0)
    return _pairs_reply(c, h, fields, withvalues)


# --- HSCAN ---

@command("hscan")
def hscan(c: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[2])
    h = _read_hash(c, argv[1])
    if h is None:
        return EMPTY_SCAN
    opts = parse_scan_options(argv, 3, False)
    table = h.table
    pairs: list[tuple[bytes, bytes]]
    if table is None:
        pairs = h.items()
        cursor = 0
    else:
        keys = table.keys
        top = len(keys) - 1 if cursor == 0 else min(cursor - 1, len(keys) - 1)
        cursor = max(top - opts.count + 1, 0)
        values = table.values
        pairs = [(field, values[field]) for field in keys[cursor:top + 1]]
    match = opts.match
    out: list[bytes] = []
    for field, value in pairs:
        if match is None or match(field):
            out += (field, value)
    return [b"%d" % cursor, out]


def _limit_watcher(name: str) -> Any:
    def watch(value: int) -> None:
        HASH_LIMITS[name] = value
    return watch


watch_process("hash-max-listpack-entries", _limit_watcher("entries"))
watch_process("hash-max-listpack-value", _limit_watcher("value"))
