"""OBJECT ENCODING, FREQ, IDLETIME, REFCOUNT, HELP: what Redis would tell of a key's object.

The answers come from node/typeinfo.py (encodings) and the key's access clock in
``Database.clocks`` (LRU time, or the LFU counter under an LFU policy). The key is looked
up without touching its clock but, as in Redis, counts as a keyspace hit or miss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.lfu import LRU_CLOCK_MAX
from ..table.command import command
from ..types.typeinfo import SHARED_INTEGERS, SHARED_REFCOUNT, info_of, string_integer
from .args import help_reply

if TYPE_CHECKING:
    from .context import Client, Server

HELP = (
    "ENCODING <key>",
    "    The internal representation Redis would use for the value at <key>.",
    "FREQ <key>",
    "    The logarithmic access counter of <key> (needs an LFU maxmemory-policy).",
    "IDLETIME <key>",
    "    Seconds since <key> was last read or written (not with an LFU policy).",
    "REFCOUNT <key>",
    "    How many references the value at <key> has.",
)


def lookup_object(c: Client, key: bytes) -> Any:
    """objectCommandLookup: expires the key if due, counts a hit or miss, no touch."""
    value = c.db.peek(key)
    if value is None:
        c.db.stats.misses += 1
    else:
        c.db.stats.hits += 1
    return value


def shares_integers(server: Server) -> bool:
    """Small integers are shared objects unless an LRU/LFU policy needs per-key clocks."""
    return not server.config["maxmemory"] or not server.config["maxmemory-policy"].endswith(
        ("-lru", "-lfu"))


def refcount(server: Server, value: Any) -> int:
    if value.__class__ is bytes and shares_integers(server):
        number = string_integer(value)
        if number is not None and 0 <= number < SHARED_INTEGERS:
            return SHARED_REFCOUNT
    return 1


def idle_seconds(clock: int, now: int) -> int:
    """estimateObjectIdleTime in seconds, the 24-bit LRU clock wrapping once."""
    return now - clock if now >= clock else now + (LRU_CLOCK_MAX - clock)


@command("object|encoding")
def object_encoding(c: Client, argv: list[bytes]) -> Any:
    value = lookup_object(c, argv[2])
    if value is None:
        return None
    return info_of(value).encoding(value).encode()


@command("object|refcount")
def object_refcount(c: Client, argv: list[bytes]) -> Any:
    value = lookup_object(c, argv[2])
    if value is None:
        return None
    return refcount(c.server, value)


@command("object|idletime")
def object_idletime(c: Client, argv: list[bytes]) -> Any:
    if lookup_object(c, argv[2]) is None:
        return None
    stats = c.db.stats
    if stats.lfu is not None:
        raise CommandError(errors.LFU_SELECTED)
    return idle_seconds(c.db.get_clock(argv[2]), stats.lru_clock)


@command("object|freq")
def object_freq(c: Client, argv: list[bytes]) -> Any:
    if lookup_object(c, argv[2]) is None:
        return None
    lfu = c.db.stats.lfu
    if lfu is None:
        raise CommandError(errors.LFU_NOT_SELECTED)
    return lfu.decayed(c.db.get_clock(argv[2]))


@command("object|help")
def object_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("OBJECT", HELP)
