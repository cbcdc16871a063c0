"""HyperLogLog commands (hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

An HLL is a string (types/hyperloglog.py), edited in place as an ``SdsString`` once a
command unshares it, as Redis's dbUnshareStringValue does. PFCOUNT of one key stores the
estimate in the header: that is a change of the value, signalled and counted as dirty,
so the dispatcher propagates the PFCOUNT itself to replicas and the AOF, as Redis does.
"""

from __future__ import annotations

from itertools import compress
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import WRONGTYPE, CommandError
from ..keyspace.notify import NOTIFY_STRING
from ..protocol.reply import OK
from ..table.command import command
from ..types.hll_selftest import selftest
from ..types.hll_sparse import Cursor, sparse_set, to_dense
from ..types.hll_value import add, count, decode, registers
from ..types.hyperloglog import (
    DENSE,
    HEADER_SIZE,
    cached_card,
    estimate,
    histogram,
    invalidate,
    is_hll,
    new_hll,
    pack,
    raw_bytes,
    raw_max,
    store_card,
    unpack,
)
from ..types.registry import STRING_TYPES
from ..types.typeinfo import SdsString

if TYPE_CHECKING:
    from .context import Client


def _check(value: Any) -> None:
    """isHLLObjectOrReply."""
    if value.__class__ not in STRING_TYPES:
        raise CommandError(WRONGTYPE)
    if not is_hll(value):
        raise CommandError(errors.HLL_WRONGTYPE)


def _writable(c: Client, key: bytes, value: Any) -> SdsString:
    """isHLLObjectOrReply, then dbUnshareStringValue."""
    _check(value)
    if value.__class__ is SdsString:
        if value.alloc < 0:  # embstr: a raw sds of its own
            value.made_raw()
            c.db.resized(key)
        return value
    fresh = SdsString.unshared(value if value.__class__ is bytes else bytes(value))
    c.db.overwrite(key, fresh)
    return fresh


def _max_bytes(c: Client) -> int:
    return int(c.server.config["hll-sparse-max-bytes"])


def _union(c: Client, keys: list[bytes]) -> tuple[int, bool]:
    """The registers' maxima over the keys (missing keys are empty HLLs) as one integer,
    and whether any of them is dense (hllMerge over each key in turn)."""
    lookup = c.db.lookup_read
    merged = 0
    dense = False
    for key in keys:
        value = lookup(key)
        if value is None:
            continue
        _check(value)
        dense = dense or value[4] == DENSE
        raw = registers(value)
        if raw is None:
            raise CommandError(errors.HLL_INVALID)
        merged = raw_max(merged, raw) if merged else raw
    return merged, dense


@command("pfadd")
def pfadd(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    key = argv[1]
    value = db.lookup_write(key)
    signals = updated = 0
    if value is None:
        value = new_hll()
        db.add(key, value)
        signals = updated = 1
    else:
        value = _writable(c, key, value)
    max_bytes = _max_bytes(c)
    for element in argv[2:]:
        result = add(value, element, max_bytes)
        if result == 1:
            updated += 1
        elif result < 0:
            db.resized(key)  # what changed before the bad opcode stays, unsignalled
            raise CommandError(errors.HLL_INVALID)
    if not updated:
        if value[4] != DENSE:  # the sparse string may have grown its allocation
            db.resized(key)
        return 0
    db.modified(key)
    db.stats.dirty += updated - signals - 1
    db.notify(NOTIFY_STRING, "pfadd", key)
    invalidate(value)
    return 1


@command("pfcount")
def pfcount(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        merged, _ = _union(c, argv[1:])
        return estimate(histogram(merged))
    db = c.db
    key = argv[1]
    value = db.lookup_read(key)
    if value is None:
        return 0
    value = _writable(c, key, value)
    card = cached_card(value)
    if card is None:
        card = count(value)
        if card is None:
            raise CommandError(errors.HLL_INVALID)
        store_card(value, card)
        db.modified(key)
    return card


@command("pfmerge")
def pfmerge(c: Client, argv: list[bytes]) -> Any:
    merged, use_dense = _union(c, argv[1:])
    db = c.db
    key = argv[1]
    value = db.lookup_write(key)
    signals = 0
    if value is None:
        value = new_hll()
        db.add(key, value)
        signals = 1
    else:
        value = _writable(c, key, value)
    if use_dense and not to_dense(value):
        raise CommandError(errors.HLL_INVALID)
    if merged:
        if value[4] != DENSE:
            raw = raw_bytes(merged)
            max_bytes = _max_bytes(c)
            cursor = Cursor()
            for index in compress(range(len(raw)), raw):
                sparse_set(value, index, raw[index], max_bytes, cursor)
                if value[4] == DENSE:
                    break
        if value[4] == DENSE:  # the destination was merged in: its registers are the max
            value[HEADER_SIZE:] = pack(merged)
    invalidate(value)
    db.modified(key)
    db.stats.dirty -= signals
    db.notify(NOTIFY_STRING, "pfadd", key)
    return OK


@command("pfdebug")
def pfdebug(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    key = argv[2]
    value = db.lookup_write(key)
    if value is None:
        raise CommandError(errors.HLL_NO_KEY)
    value = _writable(c, key, value)
    sub = argv[1].split(b"\0", 1)[0].lower()
    if sub == b"getreg":
        if value[4] != DENSE:
            _todense(c, key, value)
        return list(raw_bytes(unpack(value)))
    if sub == b"decode":
        if value[4] == DENSE:
            raise CommandError(errors.HLL_NOT_SPARSE)
        return decode(value)
    if sub == b"encoding":
        return "dense" if value[4] == DENSE else "sparse"
    if sub == b"todense":
        if value[4] == DENSE:
            return 0
        _todense(c, key, value)
        return 1
    name = argv[1].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    raise CommandError(errors.HLL_UNKNOWN_DEBUG % name)


def _todense(c: Client, key: bytes, value: SdsString) -> None:
    """A sparse value turns dense: counted dirty (so propagated) but not signalled."""
    if not to_dense(value):
        raise CommandError(errors.HLL_INVALID)
    c.db.resized(key)
    c.db.stats.dirty += 1


@command("pfselftest")
def pfselftest(c: Client, argv: list[bytes]) -> Any:
    failure = selftest(_max_bytes(c))
    if failure is not None:
        raise CommandError(errors.HLL_SELFTEST_FAILED % failure)
    return OK
