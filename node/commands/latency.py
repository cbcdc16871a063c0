"""LATENCY LATEST, HISTORY, GRAPH, RESET, DOCTOR, HELP over the latency monitor
(observability/latency.py), and HISTOGRAM over the per-command latency histograms."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..observability.sparkline import render
from ..protocol.reply import Verbatim
from ..table.command import command
from .args import help_reply
from .command import lookup_by_fullname

if TYPE_CHECKING:
    from .context import Client, Server

HELP = (
    "GRAPH <event>",
    "    An ASCII chart of the latency samples of <event>, labelled with their age.",
    "HISTOGRAM [<command> ...]",
    "    For each command (or the given ones) with calls: the calls, and the cumulative",
    "    count of calls at each power-of-two latency bucket in microseconds.",
    "DOCTOR",
    "    A report, in words, on the latency spikes seen and what may cause them.",
    "HISTORY <event>",
    "    The recorded samples of <event> as pairs of Unix time and milliseconds.",
    "LATEST",
    "    For each event: its name, the time and latency of its latest spike, and",
    "    its worst latency ever.",
    "RESET [<event> ...]",
    "    Forget the samples of the given events (of all events when none is given).",
)

DISABLED = (
    "I'm afraid I can't do that, Dave: the latency monitor is switched off in this "
    "instance. Switch it on with \"CONFIG SET latency-monitor-threshold <milliseconds>\" "
    "and ask me again once the server has been working for a while.\n"
)
QUIET = (
    "Dave, I have been watching, and not a single latency spike has been recorded since "
    "this instance started. Whatever is troubling you, it is not latency.\n"
)

ADVICE = {
    "command": (
        "- Look at SLOWLOG GET to find the slow commands. Commands that walk large values "
        "(KEYS, SMEMBERS, HGETALL, LRANGE over long lists, SORT ...) hold the whole server "
        "while they run: prefer SCAN-style iteration and smaller values."
    ),
    "fast-command": (
        "- Commands that should take microseconds were slow: the host may be overloaded, "
        "short of memory and swapping, or the process may have been paused. Check the "
        "machine, not the commands."
    ),
    "expire-cycle": (
        "- The active expiry cycle ran long: many keys expire at the same moment. Adding a "
        "random jitter to the TTLs spreads the work."
    ),
}
GENERIC_ADVICE = (
    "- Deleting, expiring or evicting a very large value happens in one go and blocks the "
    "server meanwhile. Splitting such values over several smaller keys keeps every step short."
)


@command("latency|latest")
def latency_latest(c: Client, argv: list[bytes]) -> Any:
    return [[name.encode(), ev.samples[-1][0], ev.samples[-1][1], ev.max]
            for name, ev in c.server.latency.events.items() if ev.samples]


@command("latency|history")
def latency_history(c: Client, argv: list[bytes]) -> Any:
    ev = c.server.latency.events.get(argv[2].decode("utf-8", "surrogateescape"))
    if ev is None:
        return []
    return [[when, ms] for when, ms in ev.samples]


@command("latency|reset")
def latency_reset(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        return c.server.latency.reset()
    return c.server.latency.reset([a.decode("utf-8", "surrogateescape") for a in argv[2:]])


@command("latency|doctor")
def latency_doctor(c: Client, argv: list[bytes]) -> Any:
    return Verbatim(doctor_report(c.server))


def doctor_report(server: Server) -> str:
    """createLatencyReport, in our words: the spikes per event, then what to look at."""
    analysis = server.latency.analyse()
    if not analysis:
        return QUIET if server.latency_threshold else DISABLED
    lines = ["Dave, the latency monitor caught some spikes in this instance. Here is what I saw:", ""]
    for number, (name, a) in enumerate(sorted(analysis.items()), 1):
        lines.append(
            f"{number}. {name}: {a.samples} latency spikes (average {a.avg}ms, mean deviation "
            f"{a.mad}ms, one every {a.period:.2f} sec). Worst spike ever: {a.worst}ms.")
    lines += ["", "What I would look at:", ""]
    advice = [ADVICE[name] for name in sorted(analysis) if name in ADVICE]
    lines += advice + [GENERIC_ADVICE]
    return "\n".join(lines) + "\n"


GRAPH_COLUMNS = 80


@command("latency|graph")
def latency_graph(c: Client, argv: list[bytes]) -> Any:
    """latencyCommandGenSparkeline: a header line, a rule, the filled sparkline."""
    name = argv[2].decode("utf-8", "surrogateescape")
    event = c.server.latency.events.get(name)
    if event is None:
        raise CommandError(errors.LATENCY_NO_SAMPLES % name)
    now = int(time.time())
    latencies = [ms for _, ms in event.samples]
    samples = [(float(ms), _age(now - when)) for when, ms in event.samples]
    text = (f"{name} - high {max(latencies)} ms, low {min(latencies)} ms "
            f"(all time high {event.max} ms)\n" + "-" * GRAPH_COLUMNS + "\n"
            + render(samples, GRAPH_COLUMNS, 4))
    return Verbatim(text)


def _age(elapsed: int) -> str:
    if elapsed < 60:
        return f"{elapsed}s"
    if elapsed < 3600:
        return f"{elapsed // 60}m"
    if elapsed < 86400:
        return f"{elapsed // 3600}h"
    return f"{elapsed // 86400}d"


@command("latency|histogram")
def latency_histogram(c: Client, argv: list[bytes]) -> Any:
    """LATENCY HISTOGRAM: as Redis's fillCommandCDF walks its HDR histogram (buckets of
    1024 ns doubling, each reported at its highest equivalent value, in microseconds)."""
    server = c.server
    if len(argv) == 2:
        chosen = server.all_commands()
    else:
        chosen = []
        for name in argv[2:]:
            cmd = lookup_by_fullname(server, name)
            if cmd is not None:
                chosen.append(cmd)
                chosen.extend((cmd.subcommands or {}).values())
    counts = {cmd.fullname.encode(): cmd.latency_counts() for cmd in chosen}
    return {name: _cdf(latency) for name, latency in counts.items() if latency}


def _highest_equivalent_ns(value: int) -> int:
    """hdr_histogram (1 ns .. 1 s, 2 significant figures): the top of ``value``'s bucket."""
    shift = max(value.bit_length() - 8, 0)
    return ((value >> shift) << shift) + (1 << shift) - 1


def _cdf(latency: dict[int, int]) -> dict[bytes, Any]:
    calls = sum(latency.values())
    durations = sorted(latency.items())
    cumulative: dict[int, int] = {}
    seen = 0
    i = 0
    bucket = 1024
    previous = 0
    while seen < calls:
        top = _highest_equivalent_ns(bucket)
        while i < len(durations) and durations[i][0] * 1000 <= top:
            seen += durations[i][1]
            i += 1
        if seen > previous:
            cumulative[top // 1000] = seen
        previous = seen
        bucket *= 2
    return {b"calls": calls, b"histogram_usec": cumulative}


@command("latency|help")
def latency_help(c: Client, argv: list[bytes]) -> Any:
    return help_reply("LATENCY", HELP)
