"""DUMP and RESTORE (cluster.c): values as RDB payloads, portable to and from real Redis.

The payload format and its version policy live in ``rdb.py``. RESTORE follows Redis's
order of checks: options, BUSYKEY, the TTL, the payload's version and checksum, then the
payload itself. IDLETIME and FREQ set the key's access clock as Redis's
``objectSetLRUOrLFU`` does: FREQ only under an LFU policy, IDLETIME only otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.database import now_ms
from ..keyspace.lfu import set_access_clock
from ..keyspace.notify import NOTIFY_GENERIC
from ..protocol.reply import OK
from ..table.command import command
from ..types.rdb import RdbError, dump_payload, load_payload, verify_payload
from .args import LLONG_MAX, to_int

if TYPE_CHECKING:
    from .context import Client


@command("dump")
def dump(c: Client, argv: list[bytes]) -> Any:
    value = c.db.lookup_read(argv[1])
    if value is None:
        return None
    return dump_payload(value)


@command("restore")
def restore(c: Client, argv: list[bytes]) -> Any:
    replace = absttl = False
    idle = freq = -1
    i = 4
    argc = len(argv)
    while i < argc:
        opt = argv[i].lower()
        more = argc - i - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = to_int(argv[i + 1])
            if idle < 0:
                raise CommandError(errors.INVALID_IDLETIME)
            i += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = to_int(argv[i + 1])
            if not 0 <= freq <= 255:
                raise CommandError(errors.INVALID_FREQ)
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    db = c.db
    key = argv[1]
    if not replace and db.lookup_write(key) is not None:
        raise CommandError(errors.BUSYKEY)
    ttl = to_int(argv[2])
    if ttl < 0:
        raise CommandError(errors.INVALID_TTL)
    payload = argv[3]
    if not verify_payload(payload):
        raise CommandError(errors.DUMP_PAYLOAD)
    try:
        value = load_payload(payload)
    except RdbError:
        raise CommandError(errors.BAD_DATA_FORMAT) from None
    deleted = replace and db.delete_stored(key)
    if ttl and not absttl:
        ttl += now_ms()
        if ttl > LLONG_MAX:
            ttl -= 2**64  # Redis's signed overflow: the key is born expired
    if ttl and ttl <= now_ms():
        c.rewrite([b"DEL", key])  # only propagated when a replaced key was deleted
        if deleted:
            db.notify(NOTIFY_GENERIC, "del", key)
        return OK
    db.add(key, value)
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:  # replicas get the absolute deadline
            c.rewrite([b"RESTORE", key, b"%d" % ttl, payload, *argv[4:], b"ABSTTL"])
    set_access_clock(db, key, idle, freq)
    db.notify(NOTIFY_GENERIC, "restore", key)
    return OK
