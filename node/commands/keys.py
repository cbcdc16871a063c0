"""Type-agnostic keyspace commands (db.c): DEL, EXISTS, TYPE, RENAME, COPY, MOVE, KEYS, SCAN ...

SCAN without a resumable dict iterator
--------------------------------------
Redis's SCAN walks hash-table buckets in reverse-binary order so that a cursor stays
valid across inserts, deletes and rehashing. A Python dict cannot resume an iteration
after it was mutated, so SCAN walks the keyspace's key positions instead
(keyspace/database.py): every key has one, an insert takes the next one and a delete
moves the *last* key into the hole (swap-remove).

SCAN visits list positions from high to low. The cursor is the next position to visit
plus one; 0 starts a scan and 0 returned means it is over. The argument for Redis's
guarantee (a key present from start to end of a scan is returned at least once;
duplicates allowed):

- Call the positions at or below the next one to visit the *unvisited region*.
- A key changes position only when it is the last element and a delete elsewhere
  moves it into the hole, which is below its old position. So a key never moves
  upward: a key in the unvisited region stays there until it is visited. A visited key
  may move down and be returned again, which SCAN allows.
- Inserts append at the top, inside the visited region; a new key may or may not be
  returned, which SCAN also allows.
- When the list shrank below the cursor, the cursor is clamped to the new top: only
  positions that no longer exist are dropped, never a key.

COUNT is the number of positions examined per call (each position holds one key, so
there are no empty buckets to bound as Redis's ``maxiterations`` does). MATCH and TYPE
filter after the positions are read; expired keys met on the way are deleted, as Redis 7
does. ``parse_cursor`` and ``parse_scan_options`` are shared with HSCAN/SSCAN/ZSCAN.

RENAME and MOVE carry the key's access clock (LRU time or LFU counter) along, as Redis
moves the object itself; COPY makes a new object with a fresh clock, duplicating the
value as its type's record says (types/registry.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..base.glob import compile_glob
from ..keyspace.database import Database
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_KEY_MISS
from ..protocol.reply import OK
from ..table.command import command
from ..types.registry import TYPE_NAMES, copy_value
from .args import to_int, to_int32

if TYPE_CHECKING:
    from .context import Client

ULONG_MAX = 2**64 - 1
DEFAULT_SCAN_COUNT = 10
_CURSOR = re.compile(rb"([+-]?)(\d+)")
_SPACE = b" \t\n\v\f\r"


def lookup_notouch(db: Database, key: bytes) -> Any:
    """lookupKeyReadWithFlags(LOOKUP_NOTOUCH): counts a hit or miss (and reports a miss as
    "keymiss"), leaves the access clock."""
    value = db.peek(key)
    if value is None:
        db.stats.misses += 1
        db.notify(NOTIFY_KEY_MISS, "keymiss", key)
    else:
        db.stats.hits += 1
    return value


def db_by_index(c: Client, arg: bytes) -> Database:
    """getIntFromObjectOrReply + selectDb for MOVE and COPY ... DB."""
    index = to_int32(arg)
    dbs = c.server.dbs
    if not 0 <= index < len(dbs):
        raise CommandError(errors.DB_INDEX_OUT_OF_RANGE)
    return dbs[index]


# --- deleting and probing ---

@command("del")
def del_(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    deleted = 0
    for key in argv[1:]:
        if db.delete(key):
            db.notify(NOTIFY_GENERIC, "del", key)
            deleted += 1
    return deleted


@command("unlink")
def unlink(c: Client, argv: list[bytes]) -> Any:
    return del_(c, argv)


@command("exists")
def exists(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    return sum(1 for key in argv[1:] if lookup_notouch(db, key) is not None)


@command("touch")
def touch(c: Client, argv: list[bytes]) -> Any:
    lookup = c.db.lookup_read
    return sum(1 for key in argv[1:] if lookup(key) is not None)


@command("type")
def type_(c: Client, argv: list[bytes]) -> Any:
    value = lookup_notouch(c.db, argv[1])
    return "none" if value is None else TYPE_NAMES[value.__class__]


@command("randomkey")
def randomkey(c: Client, argv: list[bytes]) -> Any:
    return c.db.random_key()


# --- renaming, copying, moving ---

def rename_generic(c: Client, argv: list[bytes], nx: bool) -> Any:
    db = c.db
    src, dst = argv[1], argv[2]
    value = db.lookup_write(src)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    expire = db.get_expire(src)
    if db.lookup_write(dst) is not None:
        if nx:
            return 0
        db.delete(dst)
    clock = db.get_clock(src)
    db.add(dst, value)
    db.set_clock(dst, clock)
    if expire != -1:
        db.set_expire(dst, expire)
    db.delete(src)
    db.notify(NOTIFY_GENERIC, "rename_from", src)
    db.notify(NOTIFY_GENERIC, "rename_to", dst)
    return 1 if nx else OK


@command("rename")
def rename(c: Client, argv: list[bytes]) -> Any:
    return rename_generic(c, argv, False)


@command("renamenx")
def renamenx(c: Client, argv: list[bytes]) -> Any:
    return rename_generic(c, argv, True)


@command("copy")
def copy(c: Client, argv: list[bytes]) -> Any:
    src_db = dst_db = c.db
    replace = False
    i = 3
    argc = len(argv)
    while i < argc:
        opt = argv[i].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and i + 1 < argc:
            dst_db = db_by_index(c, argv[i + 1])
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if c.server.cluster_enabled and (src_db.id != 0 or dst_db.id != 0):
        raise CommandError(errors.COPY_CLUSTER)
    key, newkey = argv[1], argv[2]
    if src_db is dst_db and key == newkey:
        raise CommandError(errors.SAME_OBJECT)
    value = src_db.lookup_read(key)
    if value is None:
        return 0
    expire = src_db.get_expire(key)
    if dst_db.lookup_write(newkey) is not None:
        if not replace:
            return 0
        dst_db.delete(newkey)
    dst_db.add(newkey, copy_value(value))
    if expire != -1:
        dst_db.set_expire(newkey, expire)
    dst_db.notify(NOTIFY_GENERIC, "copy_to", newkey)
    return 1


@command("move")
def move(c: Client, argv: list[bytes]) -> Any:
    if c.server.cluster_enabled:
        raise CommandError(errors.MOVE_CLUSTER)
    src = c.db
    dst = db_by_index(c, argv[2])
    if src is dst:
        raise CommandError(errors.SAME_OBJECT)
    key = argv[1]
    value = src.lookup_write(key)
    if value is None:
        return 0
    expire = src.get_expire(key)
    if dst.lookup_write(key) is not None:
        return 0
    dst.add(key, value)
    dst.set_clock(key, src.get_clock(key))
    if expire != -1:
        dst.set_expire(key, expire)
    src.delete(key)
    src.notify(NOTIFY_GENERIC, "move_from", key)
    dst.notify(NOTIFY_GENERIC, "move_to", key)
    return 1


# --- KEYS and SCAN ---

@command("keys")
def keys(c: Client, argv: list[bytes]) -> Any:
    pattern = argv[1]
    live = c.db.live_keys()
    if pattern == b"*":
        return list(live)
    match = compile_glob(pattern)
    return [key for key in live if match(key)]


class ScanOptions:
    """The parsed options of a *SCAN command."""

    __slots__ = ("count", "match", "type_name")

    def __init__(self, count: int, match: Callable[[bytes], bool] | None,
                 type_name: bytes | None) -> None:
        self.count = count
        self.match = match
        self.type_name = type_name


def parse_cursor(arg: bytes) -> int:
    """parseScanCursorOrReply: strtoul base 10 on the C string; no leading space, no overflow."""
    text = arg.split(b"\0", 1)[0]
    if not text:
        return 0
    m = _CURSOR.fullmatch(text)
    if m is None or text[0] in _SPACE:
        raise CommandError(errors.NOT_VALID_CURSOR)
    value = int(m[2])
    if value > ULONG_MAX:
        raise CommandError(errors.NOT_VALID_CURSOR)
    return (-value) & ULONG_MAX if m[1] == b"-" else value


def parse_scan_options(argv: list[bytes], start: int, allow_type: bool) -> ScanOptions:
    """COUNT, MATCH and (SCAN only) TYPE, in any order, the last of each winning."""
    count = DEFAULT_SCAN_COUNT
    match = None
    type_name = None
    i = start
    argc = len(argv)
    while i < argc:
        opt = argv[i].lower()
        if i + 1 >= argc:
            raise CommandError(errors.SYNTAX)
        if opt == b"count":
            count = to_int(argv[i + 1])
            if count < 1:
                raise CommandError(errors.SYNTAX)
        elif opt == b"match":
            pattern = argv[i + 1]
            match = None if pattern == b"*" else compile_glob(pattern)
        elif opt == b"type" and allow_type:
            type_name = argv[i + 1].lower()
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    return ScanOptions(count, match, type_name)


def scan_positions(db: Database, cursor: int, count: int) -> tuple[int, list[bytes]]:
    """Up to ``count`` keys from the cursor's position downward, and the next cursor."""
    n = len(db)
    top = n - 1 if cursor == 0 else min(cursor - 1, n - 1)
    low = max(top - count + 1, 0)
    return low, db.keys_between(low, top)


@command("scan")
def scan(c: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[1])
    opts = parse_scan_options(argv, 2, True)
    db = c.db
    cursor, batch = scan_positions(db, cursor, opts.count)
    match, type_name = opts.match, opts.type_name
    found = []
    for key in batch:
        if match is not None and not match(key):
            continue
        if type_name is not None:
            value = lookup_notouch(db, key)
            name = b"none" if value is None else TYPE_NAMES[value.__class__].encode()
            if name != type_name:
                continue
        if db.expires and key in db.expires and db.peek(key) is None:
            continue
        found.append(key)
    return [b"%d" % cursor, found]
