"""String commands (t_string.c): GET/SET and their variants, counters, ranges, APPEND.

GET and plain ``SET key value`` are the benchmark's hot path: they take the shortest route
and leave option parsing to ``set_with_options``. Strings are stored as ``bytes``; APPEND and
SETRANGE turn a value into an ``SdsString`` (a bytearray) once so that repeated in-place edits
are amortised; it also tracks the encoding and sds allocation Redis would have for it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import WRONGTYPE, CommandError
from ..keyspace.database import now_ms
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_STRING
from ..keyspace.session import db_of
from ..protocol.reply import OK, register_encoder
from ..table.command import command
from ..types.footprint import integer_bytes
from ..types.registry import STRING_TYPES
from ..types.typeinfo import EMBSTR, EMBSTR_SIZE_LIMIT, SdsString, string_integer
from .args import add_long_double, format_long_double, parse_long_double
from .integers import LLONG_MAX, LLONG_MIN, SHORT_INT, to_int

if TYPE_CHECKING:
    from .context import Client

# parseExtendedStringArgumentsOrReply flags
_NX = 1
_XX = 2
_GET = 4
_KEEPTTL = 8
_PERSIST = 16
_EX = 32
_PX = 64
_EXAT = 128
_PXAT = 256
_EXPIRES = _EX | _PX | _EXAT | _PXAT
_EXPIRE_OPTIONS = {b"ex": _EX, b"px": _PX, b"exat": _EXAT, b"pxat": _PXAT}


# --- GET and SET: the hot path ---

@command("get")
def get(c: Client, argv: list[bytes]) -> Any:
    value = db_of(c).lookup_read(argv[1])
    if value is None or type(value) is bytes or type(value) is SdsString:  # type(): no getattr
        return value
    raise CommandError(WRONGTYPE)


@command("set")
def set_(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 3:
        db = db_of(c)
        key = argv[1]
        if (db.expires and key in db.expires) or db.stats.lfu is not None:
            db.lookup_write(key)
        db.set(key, argv[2])
        if db.stats.notifier.flags & NOTIFY_STRING:
            db.notify(NOTIFY_STRING, "set", key)
        return OK
    flags, expire = parse_options(argv, 3, True)
    return set_generic(c, argv[1], argv[2], flags, expire, "set", OK, None)


# --- SET options and the generic setter ---

def parse_options(argv: list[bytes], start: int, for_set: bool) -> tuple[int, bytes | None]:
    """The extended arguments of SET (from 3) or GETEX (from 2): flags and the expire argument.

    Options are compared as C strings (up to a NUL byte), as Redis does.
    """
    flags = 0
    expire = None
    i = start
    argc = len(argv)
    while i < argc:
        opt = argv[i].lower()
        if b"\0" in opt:
            opt = opt[:opt.index(b"\0")]
        has_next = i + 1 < argc
        bit = _EXPIRE_OPTIONS.get(opt, 0)
        if bit and has_next and not flags & (_KEEPTTL | _PERSIST | (_EXPIRES & ~bit)):
            flags |= bit
            expire = argv[i + 1]
            i += 1
        elif for_set and opt == b"nx" and not flags & _XX:
            flags |= _NX
        elif for_set and opt == b"xx" and not flags & _NX:
            flags |= _XX
        elif for_set and opt == b"get":
            flags |= _GET
        elif for_set and opt == b"keepttl" and not flags & (_PERSIST | _EXPIRES):
            flags |= _KEEPTTL
        elif not for_set and opt == b"persist" and not flags & (_KEEPTTL | _EXPIRES):
            flags |= _PERSIST
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    return flags, expire


def expire_at_ms(arg: bytes, flags: int, name: str) -> int:
    """getExpireMillisecondsOrReply: the absolute expiry in ms, with Redis's overflow checks."""
    value = to_int(arg)
    seconds = flags & (_EX | _EXAT)
    if value <= 0 or (seconds and value > LLONG_MAX // 1000):
        raise CommandError(errors.INVALID_EXPIRE % name)
    if seconds:
        value *= 1000
    if flags & (_EX | _PX):
        value += now_ms()
    if value > LLONG_MAX:
        raise CommandError(errors.INVALID_EXPIRE % name)
    return value


def read_string(c: Client, key: bytes) -> Any:
    """getGenericCommand's lookup: the string value or None, WRONGTYPE for other types."""
    value = c.db.lookup_read(key)
    if value is not None and value.__class__ not in STRING_TYPES:
        raise CommandError(WRONGTYPE)
    return value


def set_generic(c: Client, key: bytes, value: bytes, flags: int, expire: bytes | None,
                name: str, ok_reply: Any, abort_reply: Any) -> Any:
    """setGenericCommand: SET with options, SETNX, SETEX, PSETEX."""
    when = expire_at_ms(expire, flags, name) if expire is not None else 0
    old = read_string(c, key) if flags & _GET else None
    db = c.db
    found = db.lookup_write(key) is not None
    if (flags & _NX and found) or (flags & _XX and not found):
        return old if flags & _GET else abort_reply
    db.set(key, value, keep_ttl=bool(flags & _KEEPTTL))
    db.notify(NOTIFY_STRING, "set", key)
    if expire is not None:
        db.set_expire(key, when)
        if not flags & _PXAT:  # replicas get the absolute time, not a relative one
            c.rewrite([b"SET", key, value, b"PXAT", b"%d" % when])
        db.notify(NOTIFY_GENERIC, "expire", key)
    return old if flags & _GET else ok_reply


@command("setnx")
def setnx(c: Client, argv: list[bytes]) -> Any:
    return set_generic(c, argv[1], argv[2], _NX, None, "setnx", 1, 0)


@command("setex")
def setex(c: Client, argv: list[bytes]) -> Any:
    return set_generic(c, argv[1], argv[3], _EX, argv[2], "setex", OK, None)


@command("psetex")
def psetex(c: Client, argv: list[bytes]) -> Any:
    return set_generic(c, argv[1], argv[3], _PX, argv[2], "psetex", OK, None)


# --- GET variants ---

@command("getex")
def getex(c: Client, argv: list[bytes]) -> Any:
    flags, expire = parse_options(argv, 2, False)
    key = argv[1]
    value = read_string(c, key)
    if value is None:
        return None
    db = c.db
    if expire is not None:
        when = expire_at_ms(expire, flags, "getex")
        if flags & (_EXAT | _PXAT) and when <= now_ms():
            db.delete(key)
            c.rewrite([b"DEL", key])
            db.notify(NOTIFY_GENERIC, "del", key)
        else:
            db.set_expire(key, when)
            db.modified(key)
            if not flags & _PXAT:
                c.rewrite([b"PEXPIREAT", key, b"%d" % when])
            db.notify(NOTIFY_GENERIC, "expire", key)
    elif flags & _PERSIST:
        if db.persist(key):
            c.rewrite([b"PERSIST", key])
            db.notify(NOTIFY_GENERIC, "persist", key)
    return value


@command("getdel")
def getdel(c: Client, argv: list[bytes]) -> Any:
    value = read_string(c, argv[1])
    if value is not None and c.db.delete(argv[1]):
        c.db.notify(NOTIFY_GENERIC, "del", argv[1])
    return value


@command("getset")
def getset(c: Client, argv: list[bytes]) -> Any:
    value = read_string(c, argv[1])
    c.db.set(argv[1], argv[2])
    c.db.notify(NOTIFY_STRING, "set", argv[1])
    return value


@command("mget")
def mget(c: Client, argv: list[bytes]) -> Any:
    lookup = db_of(c).lookup_read
    out = []
    for key in argv[1:]:
        value = lookup(key)
        out.append(value if value is None or value.__class__ in STRING_TYPES else None)
    return out


@command("mset")
def mset(c: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:
        raise CommandError(errors.WRONG_ARITY % "mset")
    db = c.db
    for i in range(1, len(argv), 2):
        key = argv[i]
        if (db.expires and key in db.expires) or db.stats.lfu is not None:
            db.lookup_write(key)
        db.set(key, argv[i + 1])
        if db.stats.notifier.flags & NOTIFY_STRING:
            db.notify(NOTIFY_STRING, "set", key)
    return OK


@command("msetnx")
def msetnx(c: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:
        raise CommandError(errors.WRONG_ARITY % "msetnx")
    db = c.db
    for i in range(1, len(argv), 2):
        if db.lookup_write(argv[i]) is not None:
            return 0
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
        db.notify(NOTIFY_STRING, "set", argv[i])
    return 1


# --- lengths, ranges and in-place edits ---

def write_string(c: Client, key: bytes) -> Any:
    value = c.db.lookup_write(key)
    if value is not None and value.__class__ not in STRING_TYPES:
        raise CommandError(WRONGTYPE)
    return value


def check_length(c: Client, size: int) -> None:
    """checkStringLength: a string may not outgrow proto-max-bulk-len."""
    if size > c.server.config["proto-max-bulk-len"]:
        raise CommandError(errors.STRING_TOO_LONG)


@command("strlen")
def strlen(c: Client, argv: list[bytes]) -> Any:
    value = read_string(c, argv[1])
    return 0 if value is None else len(value)


@command("append")
def append(c: Client, argv: list[bytes]) -> Any:
    key, tail = argv[1], argv[2]
    value = write_string(c, key)
    db = c.db
    if value is None:
        db.add(key, tail)
        db.notify(NOTIFY_STRING, "append", key)
        return len(tail)
    check_length(c, len(value) + len(tail))
    if value.__class__ is bytes:
        value = SdsString.unshared(value)
        db.set(key, value, keep_ttl=True)
    else:
        db.modified(key)
    value.make_room(len(value) + len(tail))
    value += tail
    db.notify(NOTIFY_STRING, "append", key)
    return len(value)


@command("setrange")
def setrange(c: Client, argv: list[bytes]) -> Any:
    key, chunk = argv[1], argv[3]
    offset = to_int(argv[2])
    if offset < 0:
        raise CommandError(errors.OFFSET_OUT_OF_RANGE)
    value = write_string(c, key)
    db = c.db
    if value is None:
        if not chunk:
            return 0
        check_length(c, offset + len(chunk))
        fresh = SdsString(bytes(offset) + chunk)
        db.add(key, fresh)
        db.notify(NOTIFY_STRING, "setrange", key)
        return len(fresh)
    if not chunk:
        return len(value)
    check_length(c, offset + len(chunk))
    if value.__class__ is bytes:
        value = SdsString.unshared(value)
        db.set(key, value, keep_ttl=True)
    else:
        db.modified(key)
    end = offset + len(chunk)
    value.make_room(end)
    if end > len(value):
        value.extend(bytes(end - len(value)))
    value[offset:end] = chunk
    db.notify(NOTIFY_STRING, "setrange", key)
    return len(value)


@command("getrange")
@command("substr")
def getrange(c: Client, argv: list[bytes]) -> Any:
    start = to_int(argv[2])
    end = to_int(argv[3])
    value = read_string(c, argv[1])
    if value is None:
        return b""
    if start < 0 and end < 0 and start > end:
        return b""
    size = len(value)
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end = max(size + end, 0)
    end = min(end, size - 1)
    if start > end or size == 0:
        return b""
    return bytes(value[start:end + 1])


# --- counters ---

def incr_by(c: Client, key: bytes, delta: int) -> int:
    """incrDecrCommand: 64-bit arithmetic with Redis's overflow check; keeps the TTL.

    The new value is stored as its digits (``bytes``, OBJECT ENCODING "int"), shared
    below 10000 as Redis shares small integers (footprint.integer_bytes)."""
    db = db_of(c)
    old = db.lookup_write(key)
    if old is None:
        current = delta
        db.add(key, integer_bytes(current))
    else:
        if old.__class__ is not bytes and old.__class__ not in STRING_TYPES:
            raise CommandError(WRONGTYPE)
        current = to_int(old) + delta
        if not -SHORT_INT <= current <= SHORT_INT and not LLONG_MIN <= current <= LLONG_MAX:
            raise CommandError(errors.OVERFLOW)  # the sum is exact: as Redis's check
        db.set(key, integer_bytes(current), keep_ttl=True)
    if db.stats.notifier.flags & NOTIFY_STRING:
        db.notify(NOTIFY_STRING, "incrby", key)
    return current


@command("incr")
def incr(c: Client, argv: list[bytes]) -> Any:
    return incr_by(c, argv[1], 1)


@command("decr")
def decr(c: Client, argv: list[bytes]) -> Any:
    return incr_by(c, argv[1], -1)


@command("incrby")
def incrby(c: Client, argv: list[bytes]) -> Any:
    return incr_by(c, argv[1], to_int(argv[2]))


@command("decrby")
def decrby(c: Client, argv: list[bytes]) -> Any:
    delta = to_int(argv[2])
    if delta == LLONG_MIN:
        raise CommandError(errors.DECREMENT_OVERFLOW)
    return incr_by(c, argv[1], -delta)


@command("incrbyfloat")
def incrbyfloat(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    old = write_string(c, key)
    current = Fraction(0) if old is None else parse_long_double(old)
    delta = parse_long_double(argv[2])
    if current is None or delta is None:
        raise CommandError(errors.NOT_FLOAT)
    total = add_long_double(current, delta)
    if isinstance(total, float):
        raise CommandError(errors.INCR_NAN_INF)
    text = format_long_double(total)
    # createStringObject, not tryObjectEncoding: an integer-looking result stays an embstr,
    # a long one gets an exact raw sds.
    stored: bytes | SdsString = text
    if string_integer(text) is not None:
        stored = SdsString(text, EMBSTR)
    elif len(text) > EMBSTR_SIZE_LIMIT:
        stored = SdsString(text)
    if old is None:
        c.db.add(key, stored)
    else:
        c.db.set(key, stored, keep_ttl=True)
    c.db.notify(NOTIFY_STRING, "incrbyfloat", key)
    c.rewrite([b"SET", key, bytes(text), b"KEEPTTL"])  # the float math is not replayed
    return text


# --- SdsString as a stored value: type name, reply, RDB form ---

def _encode_bulk(out: list[bytes], value: SdsString, resp3: bool) -> None:
    out.append(b"$%d\r\n%s\r\n" % (len(value), value))


register_encoder(SdsString, _encode_bulk)
