"""Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, and
CLIENT UNBLOCK.

Each command is its non-blocking form tried on its keys: when one can serve, the reply is
immediate; otherwise the client blocks (node/blocking.py) with a ``serve`` function that
tries again on the one key that became ready. Inside MULTI/EXEC a blocking command never
blocks: it answers as if it timed out, as Redis does for CLIENT_DENY_BLOCKING clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.blocking import block, unblock
from ..keyspace.database import Database
from ..protocol.reply import NULL_ARRAY
from ..table.command import command
from ..types.lists import ListValue
from ..types.registry import TYPE_NAMES
from ..types.zset import PackedZSet
from .args import parse_double, to_int
from .lists import _changed, _list_for_write, _move, _position, parse_lmpop, pop_event, pop_many
from .zsets import pairs_reply, parse_mpop, pop_items, write_zset

if TYPE_CHECKING:
    from .context import Client

Attempt = Callable[[bytes], Any]  # try one key: the reply, or None when it cannot serve
Effect = Callable[[bytes], list[bytes]]  # the non-blocking command a served key replicates as


def parse_timeout(arg: bytes) -> float:
    """getTimeoutFromObjectOrReply in seconds: a float, not negative, not overflowing."""
    value = parse_double(arg)
    if value is None or value != value or value in (float("inf"), float("-inf")):
        raise CommandError(errors.BLOCK_TIMEOUT_NOT_FLOAT)
    millis = int(value * 1000)
    if millis < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    if millis > 2**63 - 1 - int(time.time() * 1000):
        raise CommandError(errors.TIMEOUT_OUT_OF_RANGE)
    return millis / 1000


def _block_or_answer(c: Client, keys: list[bytes], timeout: float, attempt: Attempt,
                     kind: type, effect: Effect, multi_reply: Any = NULL_ARRAY) -> Any:
    """Answer now if a key can serve; else block. A timeout always answers a null array
    (replyToBlockedClientTimedOut); inside MULTI the command's own empty reply is used.
    Either way a pop replicates as its non-blocking form (``effect``): a replica must
    never block on it."""
    for key in keys:
        reply = attempt(key)
        if reply is not None:
            c.rewrite(effect(key))
            return reply
    if c.multi:
        return multi_reply

    name = TYPE_NAMES[kind]

    def serve(db: Database, key: bytes) -> Any:
        # A key of another type serves other clients (Redis dispatches ready keys by type);
        # any encoding of the type serves.
        if TYPE_NAMES.get(type(db.raw(key))) != name:
            return None
        reply = attempt(key)
        propagation = c.server.propagation
        if reply is not None and propagation.active:
            propagation.add(db.id, effect(key))
        return reply

    return block(c, keys, name, timeout, serve, _null_array)


def _null_array() -> Any:
    return NULL_ARRAY


def _side(left: bool) -> bytes:
    return b"LEFT" if left else b"RIGHT"


# --- lists ---

def _pop_attempt(c: Client, left: bool) -> Attempt:
    def attempt(key: bytes) -> Any:
        value = _list_for_write(c.db, key)
        if value is None:
            return None
        element = value.pop_left() if left else value.pop_right()
        _changed(c.db, key, value, 1, pop_event(left))
        return [key, element]

    return attempt


@command("blpop")
def blpop(c: Client, argv: list[bytes]) -> Any:
    timeout = parse_timeout(argv[-1])
    return _block_or_answer(c, argv[1:-1], timeout, _pop_attempt(c, True),
                            ListValue, lambda key: [b"LPOP", key])


@command("brpop")
def brpop(c: Client, argv: list[bytes]) -> Any:
    timeout = parse_timeout(argv[-1])
    return _block_or_answer(c, argv[1:-1], timeout, _pop_attempt(c, False),
                            ListValue, lambda key: [b"RPOP", key])


def _blocking_move(c: Client, source: bytes, destination: bytes, from_left: bool,
                   to_left: bool, timeout: float) -> Any:
    def attempt(key: bytes) -> Any:
        return _move(c, key, destination, from_left, to_left)

    def effect(key: bytes) -> list[bytes]:
        return [b"LMOVE", key, destination, _side(from_left), _side(to_left)]

    return _block_or_answer(c, [source], timeout, attempt, ListValue, effect, multi_reply=None)


@command("blmove")
def blmove(c: Client, argv: list[bytes]) -> Any:
    from_left, to_left = _position(argv[3]), _position(argv[4])
    timeout = parse_timeout(argv[5])
    return _blocking_move(c, argv[1], argv[2], from_left, to_left, timeout)


@command("brpoplpush")
def brpoplpush(c: Client, argv: list[bytes]) -> Any:
    timeout = parse_timeout(argv[3])
    return _blocking_move(c, argv[1], argv[2], False, True, timeout)


@command("blmpop")
def blmpop(c: Client, argv: list[bytes]) -> Any:
    timeout = parse_timeout(argv[1])
    keys, left, count = parse_lmpop(argv, 2)

    def attempt(key: bytes) -> Any:
        return pop_many(c, key, left, count)

    def effect(key: bytes) -> list[bytes]:
        return [b"LMPOP", b"1", key, _side(left), b"COUNT", b"%d" % count]

    return _block_or_answer(c, keys, timeout, attempt, ListValue, effect)


# --- sorted sets ---

def _zpop_attempt(c: Client, maximum: bool, count: int, mpop: bool) -> Attempt:
    def attempt(key: bytes) -> Any:
        z = write_zset(c, key)
        if z is None:
            return None
        items = pop_items(c, key, z, count, maximum)
        if mpop:
            return [key, pairs_reply(items, True, True)]
        score, member = items[0]
        return [key, member, score]

    return attempt


@command("bzpopmin")
def bzpopmin(c: Client, argv: list[bytes]) -> Any:
    timeout = parse_timeout(argv[-1])
    return _block_or_answer(c, argv[1:-1], timeout, _zpop_attempt(c, False, 1, False),
                            PackedZSet, lambda key: [b"ZPOPMIN", key])


@command("bzpopmax")
def bzpopmax(c: Client, argv: list[bytes]) -> Any:
    timeout = parse_timeout(argv[-1])
    return _block_or_answer(c, argv[1:-1], timeout, _zpop_attempt(c, True, 1, False),
                            PackedZSet, lambda key: [b"ZPOPMAX", key])


@command("bzmpop")
def bzmpop(c: Client, argv: list[bytes]) -> Any:
    timeout = parse_timeout(argv[1])
    keys, maximum, count = parse_mpop(argv, 2)
    def effect(key: bytes) -> list[bytes]:
        return [b"ZMPOP", b"1", key, b"MAX" if maximum else b"MIN", b"COUNT", b"%d" % count]

    return _block_or_answer(c, keys, timeout, _zpop_attempt(c, maximum, count, True),
                            PackedZSet, effect)


# --- CLIENT UNBLOCK ---

@command("client|unblock")
def client_unblock(c: Client, argv: list[bytes]) -> Any:
    as_error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason == b"error":
            as_error = True
        elif reason != b"timeout":
            raise CommandError(errors.UNBLOCK_REASON)
    target = c.server.clients.get(to_int(argv[2]))
    if target is None or target.blocked is None:
        return 0
    entry = target.blocked
    unblock(entry, CommandError(errors.UNBLOCKED) if as_error else entry.timed_out())
    return 1


