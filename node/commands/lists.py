"""List commands (t_list.c), non-blocking forms, on ``lists.ListValue``.

Argument checks come in Redis's order (some commands parse before the key lookup, some
after), so that an invalid argument on a missing key answers as Redis does. A list that
becomes empty is deleted (a push that creates a list wakes clients blocked on its key:
the keyspace signals it, see node/blocking.py). ``server.dirty`` grows by the number of
elements pushed or popped, as in Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import WRONGTYPE, CommandError
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_LIST
from ..keyspace.session import db_of
from ..protocol.reply import NULL_ARRAY, OK
from ..table.command import command
from ..types.lists import ListValue
from .args import LLONG_MIN, to_int

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from .context import Client


def _list_for_write(db: Database, key: bytes) -> ListValue | None:
    value = db.lookup_write(key)
    if value is not None and value.__class__ is not ListValue:
        raise CommandError(WRONGTYPE)
    return value


def _list_for_read(db: Database, key: bytes) -> ListValue | None:
    value = db.lookup_read(key)
    if value is not None and value.__class__ is not ListValue:
        raise CommandError(WRONGTYPE)
    return value


def _changed(db: Database, key: bytes, value: ListValue, count: int, event: str) -> None:
    """After ``count`` elements were pushed or removed: report ``event``, then delete an
    emptied list (and report "del"), count dirty (``server.dirty += count``; the signal
    itself counts one)."""
    if db.stats.notifier.flags & NOTIFY_LIST:
        db.notify(NOTIFY_LIST, event, key)
    if value.head or value.tail:
        db.modified(key)
    else:
        db.delete(key)
        db.notify(NOTIFY_GENERIC, "del", key)
    db.stats.dirty += count - 1


def pop_event(left: bool) -> str:
    return "lpop" if left else "rpop"


def push_event(left: bool) -> str:
    return "lpush" if left else "rpush"


def _new_list(c: Client, key: bytes) -> ListValue:
    value = ListValue(fill=c.server.config["list-max-listpack-size"])
    c.db.add(key, value)
    return value


def _word(arg: bytes) -> bytes:
    """An option as strcasecmp sees it: up to a NUL byte, lower-cased."""
    if b"\0" in arg:
        arg = arg[:arg.index(b"\0")]
    return arg.lower()


def _position(arg: bytes) -> bool:
    """getListPositionFromObjectOrReply: True for LEFT, False for RIGHT."""
    word = _word(arg)
    if word == b"left":
        return True
    if word == b"right":
        return False
    raise CommandError(errors.SYNTAX)


def _range_arg(arg: bytes, lo: int, message: str) -> int:
    """getRangeLongFromObjectOrReply with a message: one text for every failure."""
    value = to_int(arg, message)
    if value < lo:
        raise CommandError(message)
    return value


# --- pushes ---

def _push(c: Client, argv: list[bytes], left: bool) -> int:
    db = db_of(c)
    key = argv[1]
    value = _list_for_write(db, key)
    if value is None:
        value = _new_list(c, key)
    else:
        db.modified(key)
    if left:
        value.head.extend(argv[2:])
    else:
        value.tail.extend(argv[2:])
    db.stats.dirty += len(argv) - 3
    if db.stats.notifier.flags & NOTIFY_LIST:
        db.notify(NOTIFY_LIST, push_event(left), key)
    return len(value.head) + len(value.tail)


@command("lpush")
def lpush(c: Client, argv: list[bytes]) -> Any:
    return _push(c, argv, True)


@command("rpush")
def rpush(c: Client, argv: list[bytes]) -> Any:
    return _push(c, argv, False)


def _pushx(c: Client, argv: list[bytes], left: bool) -> int:
    value = _list_for_write(c.db, argv[1])
    if value is None:
        return 0
    if left:
        value.head.extend(argv[2:])
    else:
        value.tail.extend(argv[2:])
    _changed(c.db, argv[1], value, len(argv) - 2, push_event(left))
    return len(value)


@command("lpushx")
def lpushx(c: Client, argv: list[bytes]) -> Any:
    return _pushx(c, argv, True)


@command("rpushx")
def rpushx(c: Client, argv: list[bytes]) -> Any:
    return _pushx(c, argv, False)


@command("linsert")
def linsert(c: Client, argv: list[bytes]) -> Any:
    where = _word(argv[2])
    if where not in (b"before", b"after"):
        raise CommandError(errors.SYNTAX)
    value = _list_for_write(c.db, argv[1])
    if value is None:
        return 0
    pivot = argv[3]
    for i, element in enumerate(value):
        if element == pivot:
            value.insert(i if where == b"before" else i + 1, argv[4])
            _changed(c.db, argv[1], value, 1, "linsert")
            return len(value)
    return -1


# --- pops ---

def _pop(c: Client, argv: list[bytes], left: bool) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.WRONG_ARITY % ("lpop" if left else "rpop"))
    db = db_of(c)
    key = argv[1]
    if len(argv) == 2:
        value = _list_for_write(db, key)
        if value is None:
            return None
        element = value.pop_left() if left else value.pop_right()
        _changed(db, key, value, 1, pop_event(left))
        return element
    count = _range_arg(argv[2], 0, errors.POSITIVE_VALUE)
    value = _list_for_write(db, key)
    if value is None:
        return NULL_ARRAY
    if not count:
        return []
    count = min(count, len(value))
    items = value.pop_left_many(count) if left else value.pop_right_many(count)
    _changed(db, key, value, count, pop_event(left))
    return items


@command("lpop")
def lpop(c: Client, argv: list[bytes]) -> Any:
    return _pop(c, argv, True)


@command("rpop")
def rpop(c: Client, argv: list[bytes]) -> Any:
    return _pop(c, argv, False)


def _move(c: Client, source: bytes, destination: bytes, from_left: bool, to_left: bool) -> Any:
    """lmoveGenericCommand: pop from one list, push to another (possibly the same)."""
    db = c.db
    src = _list_for_write(db, source)
    if src is None:
        return None
    dst = _list_for_write(db, destination)
    element = src.pop_left() if from_left else src.pop_right()
    if dst is None:
        dst = _new_list(c, destination)
    else:
        db.modified(destination)
    if to_left:
        dst.head.append(element)
    else:
        dst.tail.append(element)
    db.notify(NOTIFY_LIST, push_event(to_left), destination)
    _changed(db, source, src, 0, pop_event(from_left))
    return element


@command("lmove")
def lmove(c: Client, argv: list[bytes]) -> Any:
    return _move(c, argv[1], argv[2], _position(argv[3]), _position(argv[4]))


@command("rpoplpush")
def rpoplpush(c: Client, argv: list[bytes]) -> Any:
    return _move(c, argv[1], argv[2], False, True)


def parse_lmpop(argv: list[bytes], first: int) -> tuple[list[bytes], bool, int]:
    """numkeys key... LEFT|RIGHT [COUNT count], from ``argv[first]``; (keys, left, count)."""
    numkeys = _range_arg(argv[first], 1, errors.NUMKEYS_POSITIVE)
    where = first + numkeys + 1
    if where >= len(argv):
        raise CommandError(errors.SYNTAX)
    left = _position(argv[where])
    count = -1
    i = where + 1
    while i < len(argv):
        if count == -1 and _word(argv[i]) == b"count" and i + 1 < len(argv):
            count = _range_arg(argv[i + 1], 1, errors.COUNT_POSITIVE)
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    return argv[first + 1:where], left, max(count, 1)


def pop_many(c: Client, key: bytes, left: bool, count: int) -> list[Any] | None:
    """LMPOP on one key: ``[key, elements]``, or None when the key holds no list."""
    db = c.db
    value = _list_for_write(db, key)
    if value is None:
        return None
    count = min(count, len(value))
    items = value.pop_left_many(count) if left else value.pop_right_many(count)
    _changed(db, key, value, count, pop_event(left))
    return [key, items]


@command("lmpop")
def lmpop(c: Client, argv: list[bytes]) -> Any:
    keys, left, count = parse_lmpop(argv, 1)
    for key in keys:
        reply = pop_many(c, key, left, count)
        if reply is not None:
            return reply
    return NULL_ARRAY


# --- reads ---

@command("llen")
def llen(c: Client, argv: list[bytes]) -> Any:
    value = _list_for_read(c.db, argv[1])
    return 0 if value is None else len(value)


def _clamp(start: int, end: int, length: int) -> tuple[int, int] | None:
    """The inclusive range LRANGE/LTRIM select, or None when it is empty."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if start > end or start >= length:
        return None
    return start, min(end, length - 1)


@command("lrange")
def lrange(c: Client, argv: list[bytes]) -> Any:
    start = to_int(argv[2])
    end = to_int(argv[3])
    value = _list_for_read(c.db, argv[1])
    if value is None:
        return []
    bounds = _clamp(start, end, len(value))
    if bounds is None:
        return []
    return value.range(*bounds)


@command("lindex")
def lindex(c: Client, argv: list[bytes]) -> Any:
    value = _list_for_read(c.db, argv[1])
    if value is None:
        return None
    index = to_int(argv[2])
    length = len(value)
    if index < 0:
        index += length
    if not 0 <= index < length:
        return None
    return value.get(index)


@command("lpos")
def lpos(c: Client, argv: list[bytes]) -> Any:
    rank, count, maxlen = 1, -1, 0
    i = 3
    while i < len(argv):
        option = _word(argv[i])
        more = i + 1 < len(argv)
        if option == b"rank" and more:
            rank = to_int(argv[i + 1])
            if rank == 0:
                raise CommandError(errors.LPOS_RANK_ZERO)
        elif option == b"count" and more:
            count = _range_arg(argv[i + 1], 0, errors.LPOS_COUNT_NEGATIVE)
        elif option == b"maxlen" and more:
            maxlen = _range_arg(argv[i + 1], 0, errors.LPOS_MAXLEN_NEGATIVE)
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    value = _list_for_read(c.db, argv[1])
    if value is None:
        return None if count == -1 else []
    return _find(value, argv[2], rank, count, maxlen)


def _find(value: ListValue, element: bytes, rank: int, count: int, maxlen: int) -> Any:
    """LPOS's scan. RANK LLONG_MIN negates to itself in C: every match then qualifies and
    COUNT never stops the scan; that is kept."""
    forward = rank > 0
    unlimited = rank == LLONG_MIN
    skip = 0 if unlimited else abs(rank) - 1
    length = len(value)
    scan = iter(value) if forward else value.reversed()
    found: list[int] = []
    for index, item in enumerate(scan):
        if maxlen and index >= maxlen:
            break
        if item != element:
            continue
        if skip:
            skip -= 1
            continue
        found.append(index if forward else length - index - 1)
        if count == -1 or (count and len(found) >= count and not unlimited):
            break
    if count == -1:
        return found[0] if found else None
    return found


# --- changes in place ---

@command("lset")
def lset(c: Client, argv: list[bytes]) -> Any:
    value = _list_for_write(c.db, argv[1])
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    index = to_int(argv[2])
    length = len(value)
    if index < 0:
        index += length
    if not 0 <= index < length:
        raise CommandError(errors.INDEX_OUT_OF_RANGE)
    value.set(index, argv[3])
    c.db.modified(argv[1])
    c.db.notify(NOTIFY_LIST, "lset", argv[1])
    return OK


@command("lrem")
def lrem(c: Client, argv: list[bytes]) -> Any:
    limit = to_int(argv[2])
    value = _list_for_write(c.db, argv[1])
    if value is None:
        return 0
    element = argv[3]
    items = value.to_list()
    if limit == 0:
        kept = [item for item in items if item != element]
        removed = len(items) - len(kept)
    else:
        if limit < 0:
            items.reverse()
        todo = abs(limit)
        kept = []
        for item in items:
            if todo and item == element:
                todo -= 1
            else:
                kept.append(item)
        removed = abs(limit) - todo
        if limit < 0:
            kept.reverse()
    if removed:
        value.replace_all(kept)
        _changed(c.db, argv[1], value, removed, "lrem")
    return removed


@command("ltrim")
def ltrim(c: Client, argv: list[bytes]) -> Any:
    start = to_int(argv[2])
    end = to_int(argv[3])
    db = c.db
    value = _list_for_write(db, argv[1])
    if value is None:
        return OK
    length = len(value)
    bounds = _clamp(start, end, length)
    if bounds is None:
        db.notify(NOTIFY_LIST, "ltrim", argv[1])
        db.delete(argv[1])
        db.notify(NOTIFY_GENERIC, "del", argv[1])
        db.stats.dirty += length - 1
        return OK
    value.drop_right(length - 1 - bounds[1])
    value.drop_left(bounds[0])
    removed = length - len(value)
    if removed:
        _changed(db, argv[1], value, removed, "ltrim")
    else:
        db.modified(argv[1])
        db.stats.dirty -= 1
        db.notify(NOTIFY_LIST, "ltrim", argv[1])
    return OK
