"""Key expiry commands (expire.c): EXPIRE family with NX/XX/GT/LT, TTL family, PERSIST.

Times are absolute milliseconds since the epoch inside the keyspace. A key without a TTL
counts as an infinite one for GT/LT, as in Redis. A deadline already past deletes the key
at once (a delete, not an expiry: it replicates as DEL) and still replies 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.database import now_ms
from ..keyspace.notify import NOTIFY_GENERIC
from ..table.command import command
from .args import LLONG_MAX, to_int
from .keys import lookup_notouch

if TYPE_CHECKING:
    from .context import Client

_NX, _XX, _GT, _LT = 1, 2, 4, 8
_FLAGS = {b"nx": _NX, b"xx": _XX, b"gt": _GT, b"lt": _LT}
# C division truncates toward zero: LLONG_MIN / 1000 is -9223372036854775.
_SECONDS_MAX = LLONG_MAX // 1000


def parse_expire_flags(argv: list[bytes]) -> int:
    """parseExtendedExpireArgumentsOrReply: options from argv[3] on."""
    flags = 0
    for arg in argv[3:]:
        flag = _FLAGS.get(arg.lower())
        if flag is None:
            raise CommandError(errors.EXPIRE_UNSUPPORTED_OPTION
                               % arg.decode("utf-8", "surrogateescape"))
        flags |= flag
    if flags & _NX and flags & (_XX | _GT | _LT):
        raise CommandError(errors.NX_XX_GT_LT)
    if flags & _GT and flags & _LT:
        raise CommandError(errors.GT_AND_LT)
    return flags


def expire_generic(c: Client, argv: list[bytes], basetime: int, seconds: bool) -> Any:
    flags = parse_expire_flags(argv) if len(argv) > 3 else 0
    when = to_int(argv[2])
    if seconds:
        if not -_SECONDS_MAX <= when <= _SECONDS_MAX:
            raise CommandError(errors.INVALID_EXPIRE % argv[0].lower().decode())
        when *= 1000
    if when > LLONG_MAX - basetime:
        raise CommandError(errors.INVALID_EXPIRE % argv[0].lower().decode())
    when += basetime
    db = c.db
    key = argv[1]
    if db.lookup_write(key) is None:
        return 0
    if flags:
        current = db.get_expire(key)
        if flags & _NX and current != -1:
            return 0
        if flags & _XX and current == -1:
            return 0
        if flags & _GT and (current == -1 or when <= current):
            return 0
        if flags & _LT and current != -1 and when >= current:
            return 0
    if when <= now_ms():
        db.delete(key)
        c.rewrite([b"DEL", key])
        db.notify(NOTIFY_GENERIC, "del", key)
        return 1
    db.set_expire(key, when)
    db.modified(key)
    if basetime or seconds:  # replicas get the absolute deadline in ms
        c.rewrite([b"PEXPIREAT", key, b"%d" % when, *argv[3:]])
    db.notify(NOTIFY_GENERIC, "expire", key)
    return 1


@command("expire")
def expire(c: Client, argv: list[bytes]) -> Any:
    return expire_generic(c, argv, now_ms(), True)


@command("pexpire")
def pexpire(c: Client, argv: list[bytes]) -> Any:
    return expire_generic(c, argv, now_ms(), False)


@command("expireat")
def expireat(c: Client, argv: list[bytes]) -> Any:
    return expire_generic(c, argv, 0, True)


@command("pexpireat")
def pexpireat(c: Client, argv: list[bytes]) -> Any:
    return expire_generic(c, argv, 0, False)


def ttl_generic(c: Client, key: bytes, in_ms: bool, absolute: bool) -> int:
    db = c.db
    if lookup_notouch(db, key) is None:
        return -2
    when = db.get_expire(key)
    if when == -1:
        return -1
    ttl = max(when if absolute else when - now_ms(), 0)
    return ttl if in_ms else (ttl + 500) // 1000


@command("ttl")
def ttl(c: Client, argv: list[bytes]) -> Any:
    return ttl_generic(c, argv[1], False, False)


@command("pttl")
def pttl(c: Client, argv: list[bytes]) -> Any:
    return ttl_generic(c, argv[1], True, False)


@command("expiretime")
def expiretime(c: Client, argv: list[bytes]) -> Any:
    return ttl_generic(c, argv[1], False, True)


@command("pexpiretime")
def pexpiretime(c: Client, argv: list[bytes]) -> Any:
    return ttl_generic(c, argv[1], True, True)


@command("persist")
def persist(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    key = argv[1]
    if db.lookup_write(key) is None:
        return 0
    if not db.persist(key):
        return 0
    db.notify(NOTIFY_GENERIC, "persist", key)
    return 1
