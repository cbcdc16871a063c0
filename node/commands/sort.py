"""SORT and SORT_RO (sort.c): sorting lists, sets and sorted sets, with BY/GET patterns.

The rules follow Redis 7.0's sortCommandGeneric closely, including its C-string habits:
option names, the ``*`` of a pattern and the ``->`` of a hash-field pattern are found in
the argument up to its first NUL byte; ALPHA without STORE compares with strcoll, which
under the C and C.UTF-8 locales is strcmp (unsigned bytes up to the first NUL), while ALPHA
with STORE compares whole strings binary-safely; numeric weights are parsed by the C
library's own strtod (leading blanks, hex floats, "" as 0, ERANGE on overflow and
underflow all as Redis sees them).

Redis sorts with glibc's qsort, a stable merge sort, and Python's sort is stable too, so
elements whose ALPHA BY weights tie keep their load order, as in Redis. Two orders cannot
match Redis's: a hashtable set or a sorted set is loaded in dict order (so ALPHA BY ties
among its members, and an unsorted set, come out in our dict's order), and ALPHA BY with
a LIMIT that narrows the range uses Redis's partial quicksort (pqsort), which is not
stable: ties within such a window may be ordered differently.
"""

from __future__ import annotations

import ctypes
import re
from typing import TYPE_CHECKING, Any

from ..acl.check import may_read_any_key
from ..base import errors
from ..base.errors import CommandError
from ..keyspace.database import Database
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_LIST
from ..table.command import command
from ..types.hashes import field_value
from ..types.lists import ListValue
from ..types.registry import STRING_TYPES
from ..types.sets import SET_CLASSES
from ..types.zset import ZSET_KINDS, PackedZSet, ZSet, open_zset
from .args import to_int

if TYPE_CHECKING:
    from .context import Client

_libc = ctypes.CDLL(None, use_errno=True)
_strtod = _libc.strtod
_strtod.restype = ctypes.c_double
_strtod.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
ERANGE = 34

# Plain decimals that strtod and float() read identically and that cannot overflow.
_PLAIN_NUMBER = re.compile(rb"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")

SORTABLE = (ListValue, *SET_CLASSES, *ZSET_KINDS)


def c_string(arg: bytes) -> bytes:
    """The argument as C code sees it through its ``char *``: up to the first NUL."""
    nul = arg.find(b"\0")
    return arg if nul < 0 else arg[:nul]


def weight(text: bytes) -> float | None:
    """strtod over the whole C string, or None where sort.c reports a conversion error."""
    if _PLAIN_NUMBER.fullmatch(text):
        return float(text)
    end = ctypes.c_char_p()
    ctypes.set_errno(0)
    value = _strtod(text, ctypes.byref(end))
    if end.value or ctypes.get_errno() == ERANGE or value != value:
        return None
    return value


def lookup_by_pattern(db: Database, pattern: bytes, subst: bytes) -> bytes | None:
    """lookupKeyByPattern: ``#`` is the element itself; the first ``*`` becomes the element;
    ``key->field`` (the arrow after the star, something after the arrow) reads a hash field.
    Anything else (no star, a missing key, a wrong type, a missing field) is None."""
    spat = c_string(pattern)
    if spat == b"#":
        return subst
    star = spat.find(b"*")
    if star < 0:
        return None
    arrow = spat.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(pattern) and pattern[arrow + 2]:
        field = pattern[arrow + 2:]
        key = pattern[:star] + subst + pattern[star + 1:arrow]
    else:
        key = pattern[:star] + subst + pattern[star + 1:]
    value = db.lookup_read(key)
    if value is None:
        return None
    if field is not None:
        return field_value(value, field)
    if value.__class__ not in STRING_TYPES:
        return None
    return bytes(value)


@command("sort")
def sort(c: Client, argv: list[bytes]) -> Any:
    return sort_generic(c, argv, readonly=False)


@command("sort_ro")
def sort_ro(c: Client, argv: list[bytes]) -> Any:
    return sort_generic(c, argv, readonly=True)


def _full_key_access(c: Client, argv: list[bytes]) -> bool:
    """BY and GET patterns read keys no key spec names: the user must read every key."""
    user = c.user
    if user.unrestricted or c.is_master:
        return True
    cmd = c.server.commands[argv[0].decode("utf-8", "surrogateescape").lower()]
    return may_read_any_key(user, cmd, argv)  # (``c.cmd`` lags on the fast path)


def sort_generic(c: Client, argv: list[bytes], readonly: bool) -> Any:
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    store: bytes | None = None
    by: bytes | None = None
    gets: list[bytes] = []
    cluster = c.server.cluster_enabled
    argc = len(argv)
    j = 2
    while j < argc:
        opt = c_string(argv[j]).lower()
        left = argc - j - 1
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            limit_start = to_int(argv[j + 1])
            limit_count = to_int(argv[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            store = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            by = argv[j + 1]
            if b"*" not in c_string(by):
                dontsort = True
            elif cluster:
                raise CommandError(errors.SORT_BY_CLUSTER)
            elif not _full_key_access(c, argv):
                raise CommandError(errors.SORT_BY_ACL)
            j += 1
        elif opt == b"get" and left >= 1:
            if cluster:
                raise CommandError(errors.SORT_GET_CLUSTER)
            if not _full_key_access(c, argv):
                raise CommandError(errors.SORT_GET_ACL)
            gets.append(argv[j + 1])
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1

    db = c.db
    value = db.lookup_read(argv[1])
    if value is None:
        value = ListValue()
    elif not isinstance(value, SORTABLE):
        raise CommandError(errors.WRONGTYPE)
    is_set = isinstance(value, SET_CLASSES)
    if dontsort and is_set and store is not None:
        # An unsorted set would store in hash order: Redis sorts it ALPHA instead.
        dontsort, alpha, by = False, True, None
    if type(value) is PackedZSet:
        # SORT converts a listpack zset for good, as zsetConvert does
        value = open_zset(value)
        value.to_skiplist()
        db.replace(argv[1], value)
        db.resized(argv[1])

    n = len(value)
    start = min(max(limit_start, 0), n)
    limit_count = min(max(limit_count, -1), n)
    end = n - 1 if limit_count < 0 else start + limit_count - 1
    if start >= n:
        start, end = n - 1, n - 2
    end = min(end, n - 1)

    items = _load(value, dontsort, desc, start, end)
    if dontsort:
        if not is_set:
            end -= start
            start = 0
    else:
        error = _sort(db, items, by, alpha, desc, store is not None)
        if error:
            raise CommandError(errors.SORT_NOT_DOUBLE)

    chosen = items[start:end + 1] if end >= start else []
    if store is None:
        if not gets:
            return chosen
        return [lookup_by_pattern(db, pattern, item) for item in chosen for pattern in gets]
    if gets:
        chosen = [lookup_by_pattern(db, pattern, item) or b"" for item in chosen
                  for pattern in gets]
    count = len(chosen)
    if count:
        db.lookup_write(store)
        db.set(store, ListValue(chosen, c.server.config["list-max-listpack-size"]))
        db.notify(NOTIFY_LIST, "sortstore", store)
        db.stats.dirty += count - 1
    elif db.delete_stored(store):
        db.notify(NOTIFY_GENERIC, "del", store)
    return count


def _load(value: Any, dontsort: bool, desc: bool, start: int, end: int) -> list[bytes]:
    """The elements to sort; for an unsorted list or sorted set, only the LIMIT window, in
    the requested direction (Redis walks it from the matching end)."""
    if isinstance(value, ListValue):
        if not dontsort:
            return value.to_list()
        if end < start:
            return []
        if not desc:
            return value.range(start, end)
        n = len(value)
        return value.range(n - 1 - end, n - 1 - start)[::-1]
    if isinstance(value, ZSet):
        if not dontsort:
            return list(value.scores)
        if end < start:
            return []
        order = value.order
        if not desc:
            return [member for _, member in order[start:end + 1]]
        n = len(order)
        return [member for _, member in order[n - 1 - end:n - start]][::-1]
    ordered: list[bytes] = value.ordered()
    return ordered


def _sort(db: Database, items: list[bytes], by: bytes | None, alpha: bool, desc: bool,
          store: bool) -> bool:
    """Sort ``items`` in place as sortCompare orders them; True on a weight that is not a
    number (Redis still loads every weight, so every BY lookup happens)."""
    if by is not None:
        weights = [lookup_by_pattern(db, by, item) for item in items]
    if alpha:
        if by is None:
            if store:
                items.sort(reverse=desc)
            else:
                items.sort(key=c_string, reverse=desc)
            return False
        # A missing weight sorts first; ties keep their order (stable, like glibc's qsort).
        if store:
            keys = [(0, b"") if w is None else (1, w) for w in weights]
        else:
            keys = [(0, b"") if w is None else (1, c_string(w)) for w in weights]
        order = sorted(range(len(items)), key=keys.__getitem__, reverse=desc)
        items[:] = [items[i] for i in order]
        return False
    scores: list[float] = []
    error = False
    for i, item in enumerate(items):
        text = item if by is None else weights[i]
        if text is None:
            scores.append(0.0)
            continue
        score = weight(text)
        if score is None:
            error = True
            score = 0.0
        scores.append(score)
    if error:
        return True
    # Equal scores fall back to comparing the elements themselves, binary-safe.
    decorated = sorted(zip(scores, items, strict=True), reverse=desc)
    items[:] = [item for _, item in decorated]
    return False
