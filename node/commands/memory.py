"""MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP.

USAGE estimates what Redis would allocate for a key (node/typeinfo.py: per type, sampled
for aggregates), so capacity planning done against redslot carries over to Redis. STATS
and DOCTOR report this process's figures as INFO memory does (node/memusage.py); the
jemalloc-only fields (allocator.*, rss-overhead.*) are left out, as INFO leaves them.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.memusage import STARTUP_BYTES, MemoryFigures
from ..protocol.reply import OK, Verbatim
from ..table.command import command
from ..types.typeinfo import info_of, key_size
from .args import LLONG_MAX, help_reply, to_int

if TYPE_CHECKING:
    from .context import Client

DEFAULT_SAMPLES = 5
BIG_PEAK_RATIO = 1.5
BIG_CLIENT_BUFFER = 200 * 1024

HELP = (
    "DOCTOR",
    "    A report, in words, on memory problems this instance may have.",
    "MALLOC-STATS",
    "    The memory allocator's own statistics, where the allocator offers them.",
    "PURGE",
    "    Ask the runtime to release memory it no longer uses.",
    "STATS",
    "    Figures on how the server's memory is used.",
    "USAGE <key> [SAMPLES <count>]",
    "    Bytes Redis would need for <key> and its value. Large aggregates are",
    "    estimated from <count> sampled elements (5 by default, 0 samples all).",
)


def value_usage(key: bytes, value: Any, samples: int) -> int:
    """objectComputeSize plus the key's own allocations."""
    return info_of(value).size(value, samples) + key_size(key)


@command("memory|usage")
def memory_usage(c: Client, argv: list[bytes]) -> Any:
    samples = DEFAULT_SAMPLES
    i = 3
    while i < len(argv):
        if argv[i].lower() == b"samples" and i + 1 < len(argv):
            samples = to_int(argv[i + 1])
            if samples < 0:
                raise CommandError(errors.SYNTAX)
            if samples == 0:
                samples = LLONG_MAX
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    value = c.db.raw(argv[2])
    if value is None:
        return None
    return value_usage(argv[2], value, samples)


@command("memory|stats")
def memory_stats(c: Client, argv: list[bytes]) -> Any:
    m = MemoryFigures(c.server)
    net = m.used - STARTUP_BYTES if m.used > STARTUP_BYTES else 1
    out: dict[bytes, Any] = {
        b"peak.allocated": m.peak,
        b"total.allocated": m.used,
        b"startup.allocated": STARTUP_BYTES,
        b"replication.backlog": 0,
        b"clients.slaves": 0,
        b"clients.normal": m.clients,
        b"cluster.links": 0,
        b"aof.buffer": 0,
        b"lua.caches": 0,
        b"functions.caches": 0,
    }
    for db_id, main, expires in m.db_overheads:
        out[b"db.%d" % db_id] = {
            b"overhead.hashtable.main": main,
            b"overhead.hashtable.expires": expires,
        }
    out.update({
        b"overhead.total": m.overhead,
        b"keys.count": m.keys,
        b"keys.bytes-per-key": m.dataset // m.keys if m.keys else 0,
        b"dataset.bytes": m.dataset,
        b"dataset.percentage": m.dataset * 100 / net,
        b"peak.percentage": m.used * 100 / m.peak,
        b"fragmentation": m.rss / m.used,
        b"fragmentation.bytes": m.rss - m.used,
    })
    return out


@command("memory|doctor")
def memory_doctor(c: Client, argv: list[bytes]) -> Any:
    return Verbatim(doctor_report(MemoryFigures(c.server)))


def doctor_report(m: MemoryFigures) -> str:
    """getMemoryDoctorReport, in our words, on the problems a Python process can show."""
    if not m.keys:
        return (
            "Hi Sam, this instance holds no data at all, so my memory checks have nothing to "
            "work on. Put some keys in it and ask me again: I will be right here, rebooted and "
            "ready.\n")
    findings = []
    if m.peak / m.used > BIG_PEAK_RATIO:
        findings.append(
            f" * Peak memory: the process once used {m.peak} bytes, more than 150% of the "
            f"{m.used} bytes it uses now. A past burst (a large value, a big MULTI, slow "
            f"clients) has passed; the memory it took may not all go back to the system.")
    if m.clients_count and m.clients / m.clients_count > BIG_CLIENT_BUFFER:
        findings.append(
            f" * Client buffers: the {m.clients_count} clients hold {m.clients} bytes of "
            f"unread replies and unparsed requests, over 200 KB each on average. Slow readers "
            f"or huge pipelines are the usual cause; client-output-buffer-limit caps them.")
    if not findings:
        return (
            "Hi Sam, I looked at this instance's memory and found nothing worth a report. "
            "I only check what I can measure, so do keep an eye on it.\n")
    return ("Sam, a few things about this instance's memory deserve a look:\n\n"
            + "\n\n".join(findings) + "\n")


@command("memory|malloc-stats")
def memory_malloc_stats(c: Client, argv: list[bytes]) -> Any:
    return b"Stats not supported for the current allocator"


@command("memory|purge")
def memory_purge(c: Client, argv: list[bytes]) -> Any:
    gc.collect()
    return OK


@command("memory|help")
def memory_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("MEMORY", HELP)
