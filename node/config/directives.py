"""The node's configuration: one registry of redis.conf directives.

The same registry serves the command line (``--port 7000``), config files in redis.conf
syntax, CONFIG GET/SET/REWRITE and INFO. A directive has a kind that parses and formats its
value (and writes its config-file lines), a default, and whether it may change at run time.
The parsing rules and reasons are Redis's (config.c): strict integers, ``memtoull`` memory
values, case-insensitive yes/no and enums.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..base import errors
from ..protocol.request import strict_int
from ..protocol.splitargs import split_args
from .keyspace_events import flags_from_string, flags_to_string


class ConfigError(ValueError):
    """A directive's value is invalid; the text is Redis's reason (``argument must be ...``)."""


# --- kinds: parse(text or words) -> value, format(value) -> text, lines for REWRITE ---

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_ULLONG = 2**64


def parse_memory(text: str) -> int:
    """Redis's ``memtoull``: 100mb, 1gb, 1k (1000), 1kb (1024), case-insensitive, unsigned."""
    if text.startswith("-"):
        raise ConfigError(errors.CONFIG_MEMORY)
    end = 0
    while end < len(text) and text[end].isascii() and text[end].isdigit():
        end += 1
    unit = text[end:].lower()
    if unit not in _UNITS:
        raise ConfigError(errors.CONFIG_MEMORY)
    digits = min(int(text[:end] or "0"), _ULLONG - 1)
    return digits * _UNITS[unit] % _ULLONG


def format_memory(value: int) -> str:
    return str(value)


def rewrite_memory(value: int) -> str:
    """rewriteConfigFormatMemory: the largest of gb/mb/kb that divides the value exactly."""
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def parse_bool(text: str) -> bool:
    t = text.lower()
    if t == "yes":
        return True
    if t == "no":
        return False
    raise ConfigError(errors.CONFIG_BOOL)


def format_bool(value: bool) -> str:
    return "yes" if value else "no"


def quote(text: str) -> str:
    """sdscatrepr: the double-quoted form config files and CONFIG REWRITE use for strings."""
    out = ['"']
    for byte in text.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch in "\n\r\t\a\b":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}[ch])
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)


@dataclass(frozen=True)
class Kind:
    """How a directive's value reads and writes.

    ``multi`` kinds (save, bind, percentiles) take a list of words: from a config line
    its arguments (none at all for those with ``min_words`` 0), from CONFIG SET the value
    split on single spaces, as Redis does.
    ``rewrite`` gives the config-file arguments, one entry per line; ``always_rewrite``
    kinds are written by CONFIG REWRITE even at their default value (as Redis does).
    """

    parse: Callable[[Any], Any]
    format: Callable[[Any], str]
    rewrite: Callable[[Any], list[str]] | None = None
    multi: bool = False
    always_rewrite: bool = False
    min_words: int = 1  # on a config-file line; save, bind and percentiles may stand bare
    # A value that names only part of the setting: stored merged into the current one.
    merge: Callable[[Any, Any], Any] | None = None

    def rewrite_args(self, value: Any) -> list[str]:
        if self.rewrite is not None:
            return self.rewrite(value)
        return [self.format(value)]


def _parse_integer(text: str, lo: int, hi: int) -> int:
    value = strict_int(text.encode("utf-8", "surrogateescape"))
    if value is None or not -(2**63) <= value < 2**63:
        raise ConfigError(errors.CONFIG_INTEGER)
    if not lo <= value <= hi:
        raise ConfigError(errors.CONFIG_INTEGER_RANGE % (lo, hi))
    return value


def int_kind(lo: int, hi: int) -> Kind:
    return Kind(lambda text: _parse_integer(text, lo, hi), str)


def clamped_int_kind(lo: int, hi: int, floor: int, ceiling: int) -> Kind:
    """An integer accepted in [lo, hi] and stored clamped to [floor, ceiling] (``hz``)."""
    return Kind(lambda text: min(max(_parse_integer(text, lo, hi), floor), ceiling), str)


def memory_kind(lo: int = 0, hi: int = 2**63 - 1) -> Kind:
    signed = hi < 2**63

    def parse(text: str) -> int:
        value = parse_memory(text)
        if signed and value >= 2**63:
            value -= _ULLONG
        if not lo <= value <= hi:
            raise ConfigError(errors.CONFIG_INTEGER_RANGE % (lo, hi))
        return value

    return Kind(parse, format_memory, lambda v: [rewrite_memory(v)])


def enum_kind(*choices: str) -> Kind:
    def parse(text: str) -> str:
        t = text.lower()
        if t not in choices:
            raise ConfigError(errors.CONFIG_ENUM % ", ".join(choices))
        return t

    return Kind(parse, str)


_SAVE_NUMBER = re.compile(r"[ \t\n\v\f\r]*[+-]?\d+")


def _parse_save(words: list[str]) -> list[tuple[int, int]]:
    if words == [""]:
        return []
    if len(words) % 2:
        raise ConfigError(errors.CONFIG_SAVE)
    rules = []
    for i in range(0, len(words), 2):
        if not _SAVE_NUMBER.fullmatch(words[i]) or not _SAVE_NUMBER.fullmatch(words[i + 1]):
            raise ConfigError(errors.CONFIG_SAVE)
        seconds, changes = int(words[i]), int(words[i + 1])
        if seconds < 1 or changes < 0:
            raise ConfigError(errors.CONFIG_SAVE)
        rules.append((seconds, changes))
    return rules


def _format_save(rules: list[tuple[int, int]]) -> str:
    return " ".join(f"{s} {c}" for s, c in rules)


def _rewrite_save(rules: list[tuple[int, int]]) -> list[str]:
    return [f"{s} {c}" for s, c in rules] or ['""']


_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _parse_percentiles(words: list[str]) -> list[float]:
    if words == [""]:
        return []
    values = []
    for word in words:
        if not _FLOAT.fullmatch(word):
            raise ConfigError(errors.CONFIG_PERCENTILES)
        v = float(word)
        if not 0.0 <= v <= 100.0 or math.isnan(v):
            raise ConfigError(errors.CONFIG_PERCENTILES_RANGE)
        values.append(v)
    return values


def _format_percentiles(values: list[float]) -> str:
    return " ".join(f"{v:f}".rstrip("0").rstrip(".") for v in values)


def _rewrite_percentiles(values: list[float]) -> list[str]:
    return [_format_percentiles(values)] if values else ['""']


def _parse_bind(words: list[str]) -> str:
    if len(words) > 16:
        raise ConfigError(errors.CONFIG_BIND_TOO_MANY)
    return " ".join(words)


def _parse_replicaof(words: list[str]) -> str:
    """setConfigReplicaOfOption: ``replicaof <host> <port>`` or ``replicaof no one``; no
    words is the default (no master). ``replicaof ""`` is one word: refused as Redis does."""
    if not words:
        return ""
    if len(words) != 2:
        raise ConfigError(errors.CONFIG_ARGUMENTS)
    if words[0].lower() == "no" and words[1].lower() == "one":
        return ""
    # strtol: leading blanks, a sign, digits, nothing after; "" is 0 (no digits, no rest)
    digits = words[1].lstrip(" \t\n\v\f\r")
    body = digits[1:] if digits[:1] in ("+", "-") else digits
    port = int(digits) if body.isascii() and body.isdigit() else None
    if words[1] == "":
        port = 0
    if port is None or not 0 <= port <= 65535:
        raise ConfigError(errors.CONFIG_MASTER_PORT)
    return f"{words[0]} {port}"


def _parse_hostname(text: str) -> str:
    """isValidAuxString: cluster-announce-hostname goes on CLUSTER NODES lines unquoted."""
    if not all(ch.isascii() and (ch.isalnum() or ch in "-.") for ch in text):
        raise ConfigError(errors.CONFIG_HOSTNAME)
    return text


def _parse_dir(text: str) -> str:
    """CONFIG SET dir / ``dir``: the directory must exist; stored absolute, as getcwd() shows."""
    path = os.path.abspath(text)
    if not os.path.isdir(path):
        raise ConfigError(os.strerror(2 if not os.path.exists(path) else 20))
    if not os.access(path, os.X_OK):
        raise ConfigError(os.strerror(13))
    return path


def _parse_dbfilename(text: str) -> str:
    """isValidDBfilename: a file name in ``dir``, not a path."""
    if os.path.basename(text) != text:
        raise ConfigError(errors.CONFIG_DBFILENAME)
    return text


def _parse_notify_events(text: str) -> int:
    flags = flags_from_string(text)
    if flags < 0:
        raise ConfigError(errors.CONFIG_NOTIFY_EVENTS)
    return flags


def _parse_memory_or_percent(text: str) -> int:
    """numericParseString for a MEMORY | PERCENT config: bytes, or a percentage stored as
    a negative number ("10%" -> -10)."""
    try:
        return parse_memory(text)
    except ConfigError:
        pass
    digits = text[:-1]
    if len(text) > 1 and text.endswith("%") and re.fullmatch(r"[+-]?\d+", digits):
        value = int(digits)
        if value >= 0:
            if value > 100:
                raise ConfigError(errors.CONFIG_PERCENT_RANGE % 100)
            return -value
    raise ConfigError(errors.CONFIG_MEMORY_OR_PERCENT)


def _format_memory_or_percent(value: int) -> str:
    return f"{-value}%" if value < 0 else str(value)


MEMORY_OR_PERCENT = Kind(_parse_memory_or_percent, _format_memory_or_percent,
                         lambda v: [f"{-v}%" if v < 0 else rewrite_memory(v)])


# client-output-buffer-limit: a class's (hard bytes, soft bytes, soft seconds); a value
# names some classes (a line or CONFIG SET changes only those: ``merge``).
OBUF_CLASSES = ("normal", "slave", "pubsub")
_OBUF_CLASS_NAMES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}
_STRTOLL = re.compile(r"[ \t\n\v\f\r]*([+-]?\d+)?")


def _parse_obuf_limits(words: list[str]) -> dict[str, tuple[int, int, int]]:
    """updateClientOutputBufferLimit: all of it is valid, or nothing changes."""
    if words == [""]:
        words = []
    if len(words) % 4:
        raise ConfigError(errors.CONFIG_OBUF_ARGUMENTS)
    limits = {}
    for i in range(0, len(words), 4):
        name = _OBUF_CLASS_NAMES.get(words[i].lower())
        if name is None:
            raise ConfigError(errors.CONFIG_OBUF_CLASS)
        match = _STRTOLL.fullmatch(words[i + 3])
        try:
            hard, soft = parse_memory(words[i + 1]), parse_memory(words[i + 2])
        except ConfigError:
            raise ConfigError(errors.CONFIG_OBUF_VALUE) from None
        seconds = int(match.group(1) or 0) if match else -1
        if (match is None or (not match.group(1) and words[i + 3].strip())) or seconds < 0:
            raise ConfigError(errors.CONFIG_OBUF_VALUE)
        limits[name] = (hard, soft, seconds)
    return limits


def _format_obuf_limits(limits: dict[str, tuple[int, int, int]]) -> str:
    return " ".join(f"{name} {h} {s} {sec}" for name in OBUF_CLASSES
                    for h, s, sec in [limits[name]])


def _rewrite_obuf_limits(limits: dict[str, tuple[int, int, int]]) -> list[str]:
    return [f"{'replica' if name == 'slave' else name} {rewrite_memory(h)} {rewrite_memory(s)} {sec}"
            for name in OBUF_CLASSES for h, s, sec in [limits[name]]]


def _merge_obuf_limits(old: dict[str, tuple[int, int, int]],
                       new: dict[str, tuple[int, int, int]]) -> dict[str, tuple[int, int, int]]:
    return {**old, **new}


def flags_kind(*choices: str) -> Kind:
    """A MULTI_ARG enum (shutdown-on-sigterm save now ...): words OR-ed together, shown
    in the enum's order, or "default" for none (configEnumGetName)."""
    def parse(words: list[str]) -> tuple[str, ...]:
        chosen = set()
        for word in words or [""]:
            if word.lower() not in choices:
                raise ConfigError(errors.CONFIG_ENUM % ", ".join(choices))
            chosen.add(word.lower())
        chosen.discard("default")
        if {"save", "nosave"} <= chosen:
            raise ConfigError(errors.CONFIG_SHUTDOWN_SAVE_NOSAVE)
        return tuple(c for c in choices if c in chosen)

    def show(value: tuple[str, ...]) -> str:
        return " ".join(value) or "default"

    return Kind(parse, show, lambda v: [show(v)], multi=True)


def _parse_octal(text: str) -> int:
    if not re.fullmatch(r"[ \t\n\v\f\r]*[+-]?[0-7]+", text):
        raise ConfigError(errors.CONFIG_OCTAL)
    value = int(text.strip(), 8)
    if not 0 <= value <= 0o777:
        raise ConfigError(errors.CONFIG_OCTAL_RANGE % (0, 0o777))
    return value


OCTAL_PERM = Kind(_parse_octal, lambda v: f"{v:o}", lambda v: [f"{v:o}"])


def _parse_oom_values(words: list[str]) -> tuple[int, int, int]:
    """setConfigOOMScoreAdjValuesOption: three values, -2000 to 2000."""
    if len(words) != 3:
        raise ConfigError(errors.CONFIG_ARGUMENTS)
    values = []
    for word in words:
        value = strict_int(word.encode())
        if value is None or not -2000 <= value <= 2000:
            raise ConfigError(errors.CONFIG_OOM_VALUES)
        values.append(value)
    return (values[0], values[1], values[2])


OOM_VALUES = Kind(_parse_oom_values, lambda v: " ".join(map(str, v)),
                  lambda v: [" ".join(map(str, v))], multi=True)

_TITLE_VARIABLES = {"title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket",
                    "config-file"}


def _parse_proc_title(text: str) -> str:
    """isValidProcTitleTemplate: known {variables} only, balanced braces, not empty."""
    expanded = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            expanded.append("{")
            i += 2
        elif ch == "}" and text.startswith("}}", i):
            expanded.append("}")
            i += 2
        elif ch == "{":
            end = text.find("}", i)
            if end < 0 or text[i + 1:end] not in _TITLE_VARIABLES:
                raise ConfigError(errors.CONFIG_PROC_TITLE)
            expanded.append("x" if text[i + 1:end] != "title" else "")
            i = end + 1
        elif ch == "}":
            raise ConfigError(errors.CONFIG_PROC_TITLE)
        else:
            expanded.append(ch)
            i += 1
    if not "".join(expanded).strip(" "):
        raise ConfigError(errors.CONFIG_PROC_TITLE)
    return text


BOOL = Kind(parse_bool, format_bool)
NOTIFY_EVENTS = Kind(_parse_notify_events, flags_to_string, lambda v: [quote(flags_to_string(v))])
OBUF_LIMITS = Kind(_parse_obuf_limits, _format_obuf_limits, _rewrite_obuf_limits, multi=True,
                   merge=_merge_obuf_limits)
STRING = Kind(str, str, lambda v: [quote(v)])
DBFILENAME = Kind(_parse_dbfilename, str, lambda v: [quote(v)])
HOSTNAME = Kind(_parse_hostname, str, lambda v: [quote(v)])
DIR = Kind(_parse_dir, str, lambda v: [quote(v)], always_rewrite=True)
SAVE = Kind(_parse_save, _format_save, _rewrite_save, multi=True, always_rewrite=True,
            min_words=0)
BIND = Kind(_parse_bind, str, lambda v: [v], multi=True, min_words=0)
REPLICAOF = Kind(_parse_replicaof, str, lambda v: [v] if v else [], multi=True)
PERCENTILES = Kind(_parse_percentiles, _format_percentiles, _rewrite_percentiles,
                   multi=True, always_rewrite=True, min_words=0)
EVICTION_POLICIES = (
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction",
)
INT_MAX = 2**31 - 1
LLONG_MAX = 2**63 - 1


@dataclass(frozen=True)
class Directive:
    name: str
    kind: Kind
    default: str
    mutable: bool = True
    aliases: tuple[str, ...] = field(default=())
    sensitive: bool = False
    # CONFIG SET only when enable-protected-configs allows it (PROTECTED_CONFIG in Redis).
    protected: bool = False
    # A directive of redslot's own, which Redis does not have.
    own: bool = False
    # Accepted with Redis's default and checks so redis.conf files load, but without an
    # effect here (the node logs it at start when one is set to another value).
    inert: bool = False
    # Given by CONFIG GET only when asked for by its exact name, never matched by a pattern
    # (HIDDEN_CONFIG in Redis: knobs for tests and debugging, not settings).
    hidden: bool = False
    # One line on what the directive does in redslot, for the README's reference table.
    doc: str = field(kw_only=True)


DIRECTIVES: tuple[Directive, ...] = (
    # network and connections
    Directive("port", int_kind(0, 65535), "6379", mutable=False,
              doc="TCP port to listen on; 0 lets the OS pick a free port (the log line `Ready to accept connections` names it)."),
    Directive("bind", BIND, "* -::*", mutable=False,
              doc="Addresses to listen on, up to 16: `*` is every IPv4 address, `::*` every IPv6 address, a leading `-` skips an address that is not available."),
    Directive("protected-mode", BOOL, "yes",
              doc="With no `requirepass`, refuse clients that are not on the loopback interface with Redis's `-DENIED` message (set `no`, or a password, to serve other hosts)."),
    Directive("tcp-backlog", int_kind(0, INT_MAX), "511", mutable=False,
              doc="Backlog of the listening sockets (pending connections not yet accepted)."),
    Directive("timeout", int_kind(0, INT_MAX), "0",
              doc="Close a client idle for this many seconds (0: never); MONITOR clients and clients whose requests CLIENT PAUSE holds are kept."),
    Directive("tcp-keepalive", int_kind(0, INT_MAX), "300",
              doc="Seconds of client silence before TCP keepalive probes start (then every third of it, 3 probes); 0 turns keepalive off."),
    Directive("maxmemory-clients", MEMORY_OR_PERCENT, "0",
              doc="Client eviction: when the normal and pub/sub clients' buffers together use this much memory (bytes, or a percentage of maxmemory; at least 128 KB), the clients using the most are disconnected, largest first (CLIENT NO-EVICT exempts one). 0: off."),
    Directive("client-output-buffer-limit", OBUF_LIMITS,
              "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
              doc="Per client class (normal, replica, pubsub): a hard limit and a soft limit (bytes held for a client over so many seconds) on unsent output; past either the client is disconnected, so a stalled subscriber or replica cannot grow the node's memory without bound. 0 disables a limit."),
    Directive("tracking-table-max-keys", int_kind(0, 2**63 - 1), "1000000",
              doc="Client-side caching: at most this many keys remembered for CLIENT TRACKING readers (past it, keys are forgotten and their readers sent an invalidation); 0: no limit."),
    Directive("notify-keyspace-events", NOTIFY_EVENTS, "",
              doc="Keyspace notification classes (letters K E g $ l s h z x e t m d n A, as Redis): events are published on `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`."),
    Directive("maxclients", int_kind(1, 2**32 - 1), "10000",
              doc="Most clients connected at once; a connection beyond it gets `-ERR max number of clients reached` and is closed."),
    Directive("requirepass", STRING, "", sensitive=True,
              doc="Password of the default user: when set, a client must AUTH (or HELLO ... AUTH) before other commands; empty means none."),
    Directive("proto-max-bulk-len", memory_kind(1024 * 1024, LLONG_MAX), "536870912",
              doc="Longest bulk string a request may carry; also the longest string APPEND and SETRANGE may build, and the bound on LCS's working memory."),
    Directive("client-query-buffer-limit", memory_kind(1024 * 1024, LLONG_MAX), "1073741824",
              doc="Most request bytes a client may have buffered unparsed; a client past it is closed (counted in INFO stats)."),
    # general
    Directive("databases", int_kind(1, INT_MAX), "16", mutable=False,
              doc="Number of databases (SELECT 0 to N-1)."),
    Directive("loglevel", enum_kind("debug", "verbose", "notice", "warning", "nothing"), "notice",
              doc="Least important log messages written: debug, verbose, notice, warning or nothing."),
    Directive("logfile", STRING, "", mutable=False,
              doc="File the log is appended to; empty logs to standard output."),
    Directive("hz", clamped_int_kind(0, INT_MAX, 1, 500), "10",
              doc="Times a second the background cycle runs (active expiry, idle-client timeouts, clocks, pause expiry); values outside 1-500 are clamped. A node with nothing timed under way and fewer requests than ticks in the last second runs it about once a second instead (a request brings it back at once)."),
    Directive("dynamic-hz", BOOL, "yes",
              doc="Accepted and reported; `hz` is not scaled with the number of clients yet."),
    Directive("enable-debug-command", enum_kind("no", "yes", "local"), "no", mutable=False,
              doc="Whether DEBUG may run: no, yes, or local (only from loopback connections)."),
    Directive("enable-module-command", enum_kind("no", "yes", "local"), "no", mutable=False,
              doc="Whether MODULE may run: no, yes, or local. redslot loads no modules: MODULE LIST is empty and LOAD fails as for a library Redis cannot open."),
    Directive("enable-protected-configs", enum_kind("no", "yes", "local"), "no", mutable=False,
              doc="Whether CONFIG SET may change protected directives (`dir`, `dbfilename`): no, yes, or local (only from loopback connections)."),
    Directive("cluster-enabled", BOOL, "no", mutable=False,
              doc="Cluster mode: the node keeps the cluster's topology table (CLUSTER commands), serves only the hash slots it owns and redirects the rest (MOVED, ASK); SELECT, SWAPDB, MOVE and COPY ... DB refuse databases other than 0."),
    Directive("cluster-config-file", STRING, "nodes.conf", mutable=False,
              doc="File in `dir` holding this node's id and the topology table (Redis's nodes.conf format), rewritten atomically on every change; the id and table survive restarts, even on a new address."),
    Directive("cluster-node-timeout", int_kind(0, LLONG_MAX), "15000",
              doc="Milliseconds without an answer to the node's once-a-second heartbeat after which a peer counts as unreachable (its slots no longer count as served for `cluster_state`); also the timeout of table pushes to peers."),
    Directive("cluster-port", int_kind(0, 65535), "0", mutable=False,
              doc="The cluster bus port announced in CLUSTER NODES (`@cport`); 0 means port + 10000. redslot has no gossip bus: peers talk over the client port."),
    Directive("cluster-announce-ip", STRING, "",
              doc="Address this node announces to peers and clients (MOVED, CLUSTER SLOTS); empty: the bind address, or the local address of the first peer connection."),
    Directive("cluster-announce-port", int_kind(0, 65535), "0",
              doc="Client port this node announces; 0: the port it listens on."),
    Directive("cluster-announce-bus-port", int_kind(0, 65535), "0",
              doc="Bus port this node announces (`@cport`); 0: `cluster-port`, or port + 10000."),
    Directive("cluster-announce-hostname", HOSTNAME, "",
              doc="Hostname this node announces (CLUSTER NODES, SLOTS, SHARDS); letters, digits, hyphens and dots only."),
    Directive("cluster-require-full-coverage", BOOL, "yes",
              doc="`cluster_state` is ok only when all 16384 slots are assigned and their owners reachable; with `no` the cluster stays ok while some slots are not served."),
    Directive("cluster-allow-pubsubshard-when-down", BOOL, "yes",
              doc="While the cluster is down, still serve SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH for the slots this node serves."),
    Directive("cluster-allow-reads-when-down", BOOL, "no",
              doc="Serve reads while `cluster_state` is fail (writes are still refused with CLUSTERDOWN)."),
    Directive("cluster-replica-no-failover", BOOL, "no", aliases=("cluster-slave-no-failover",),
              doc="Marks the node `nofailover` in CLUSTER NODES, for the operator's failover planning."),
    Directive("cluster-allow-replica-migration", BOOL, "yes",
              doc="A master that loses its last slot to another master becomes that master's replica, as in Redis."),
    Directive("cluster-await-confirm", BOOL, "no", mutable=False, own=True,
              doc="Start held, for nodes the control plane supervises: until a CLUSTER SETTOPOLOGY is accepted the node serves no slot (`cluster_state:fail`, keyed commands get CLUSTERDOWN even with cluster-allow-reads-when-down), replicates from no master, refuses PSYNC, and neither pushes its table to peers nor takes theirs. CLUSTER INFO shows `redslot_held`. Every start holds again."),
    Directive("cluster-lease-fencing", BOOL, "no", mutable=False, own=True,
              doc="Serve keyed commands only while holding a lease from the control plane (CLUSTER LEASE, renewed a few times per lease): once it runs out, keyed commands get `CLUSTERDOWN The cluster is down` (also READONLY reads on a replica) and INFO's cluster section says why, so that a node cut off from the control plane never serves while a replica takes its place. Starts without a lease. Set by `redslot up` and the operator."),
    # memory
    Directive("maxmemory", memory_kind(0, _ULLONG - 1), "0",
              doc="Limit on used_memory (0: none). Over it, keys are evicted by maxmemory-policy before each command; when nothing can be evicted, commands that may add data get -OOM."),
    Directive("maxmemory-policy", enum_kind(*EVICTION_POLICIES), "noeviction",
              doc="Which keys eviction frees: noeviction (none: -OOM instead), allkeys-/volatile- (keys with a TTL only) lru, lfu or random, volatile-ttl (nearest expiry). An LFU policy makes keys' access clocks count frequency (OBJECT FREQ) instead of idle time (OBJECT IDLETIME)."),
    Directive("maxmemory-samples", int_kind(1, INT_MAX), "5",
              doc="Keys sampled per database per eviction round (more: closer to true LRU/LFU/TTL, slower)."),
    Directive("maxmemory-eviction-tenacity", int_kind(0, 100), "10",
              doc="How long one eviction run may take before the command proceeds and eviction continues between commands: 0 to 10 is 0 to 500 us, then +15% a step; 100 is unbounded."),
    Directive("lfu-log-factor", int_kind(0, INT_MAX), "10",
              doc="How slowly a key's LFU counter grows with accesses (OBJECT FREQ under an LFU policy)."),
    Directive("lfu-decay-time", int_kind(0, INT_MAX), "1",
              doc="Minutes of idleness that take one off a key's LFU counter (0: never decays)."),
    Directive("active-expire-effort", int_kind(1, 10), "1",
              doc="1 to 10: how hard the background expiry cycle works (keys sampled per round, CPU time per cycle, share of expired keys it tolerates)."),
    # replication
    Directive("replicaof", REPLICAOF, "", mutable=False, aliases=("slaveof",),
              doc="`<host> <port>`: start as a replica of that master (REPLICAOF at run time); a replica restarted on its snapshot continues with a partial resync."),
    Directive("masterauth", STRING, "", sensitive=True,
              doc="Password a replica gives its master (AUTH) before syncing."),
    Directive("masteruser", STRING, "",
              doc="User a replica authenticates as with masterauth (AUTH user password)."),
    Directive("replica-read-only", BOOL, "yes", aliases=("slave-read-only",),
              doc="A replica refuses writes from its clients with -READONLY (its master's stream still applies)."),
    Directive("replica-serve-stale-data", BOOL, "yes", aliases=("slave-serve-stale-data",),
              doc="Accepted for compatibility, not enforced yet: a replica whose link is down always answers reads (Redis with `no` answers -MASTERDOWN)."),
    Directive("repl-diskless-sync", BOOL, "yes",
              doc="Full syncs stream the snapshot to replicas over their sockets (a forked child writes it into a pipe, Redis's EOF-marked format) instead of writing a file first; replicas that cannot read that format get a file."),
    Directive("repl-diskless-sync-delay", int_kind(0, INT_MAX), "5",
              doc="Seconds a diskless full sync waits for more replicas to share one snapshot (the control plane's nodes use 0)."),
    Directive("repl-diskless-sync-max-replicas", int_kind(0, INT_MAX), "0",
              doc="Start a diskless full sync before the delay once this many replicas wait; 0: always wait the delay."),
    Directive("repl-diskless-load", enum_kind("disabled", "on-empty-db", "swapdb"), "disabled",
              doc="Accepted as in Redis; a redslot replica always receives the snapshot into memory and loads it from there (no temporary file)."),
    Directive("repl-backlog-size", memory_kind(1), "1mb",
              doc="Bytes of the replication stream kept for replicas that reconnect (partial resync instead of a full one)."),
    Directive("repl-backlog-ttl", int_kind(0, INT_MAX), "3600",
              doc="Seconds without replicas after which a master frees its backlog (0: never)."),
    Directive("repl-timeout", int_kind(1, INT_MAX), "60",
              doc="Seconds of silence after which a replica drops its master link, or a master a replica."),
    Directive("repl-ping-replica-period", int_kind(1, INT_MAX), "10", aliases=("repl-ping-slave-period",),
              doc="Seconds between the PINGs a master sends down the stream, so replicas can time out a dead link."),
    Directive("min-replicas-to-write", int_kind(0, INT_MAX), "0", aliases=("min-slaves-to-write",),
              doc="Refuse writes with -NOREPLICAS unless at least this many replicas acknowledged within min-replicas-max-lag (0: off)."),
    Directive("min-replicas-max-lag", int_kind(0, INT_MAX), "10", aliases=("min-slaves-max-lag",),
              doc="Seconds since its last acknowledgement under which a replica counts for min-replicas-to-write."),
    Directive("min-replicas-ack", int_kind(0, INT_MAX), "0", own=True,
              doc="Zero-loss mode: a master's reply to a write or a read waits until this many replicas have acknowledged every write it may show (0: Redis's asynchronous replication). Unacknowledged in time, the client gets -NOACK instead: a write's outcome is then unknown, a read is not answered."),
    Directive("min-replicas-ack-timeout", int_kind(1, INT_MAX), "1000", own=True,
              doc="Milliseconds a reply waits for min-replicas-ack acknowledgements before -NOACK."),
    Directive("replica-priority", int_kind(0, INT_MAX), "100", aliases=("slave-priority",),
              doc="Reported in INFO replication (slave_priority) for failover planning; 0: never promote."),
    Directive("replica-announce-ip", STRING, "", aliases=("slave-announce-ip",),
              doc="The address a replica gives its master (INFO replication, ROLE on the master)."),
    Directive("replica-announce-port", int_kind(0, 65535), "0", aliases=("slave-announce-port",),
              doc="The port a replica gives its master (0: its own port)."),
    Directive("replica-ignore-maxmemory", BOOL, "yes", aliases=("slave-ignore-maxmemory",),
              doc="A replica does not evict on its own (its master's DELs keep it in step)."),
    # persistence
    Directive("dir", DIR, ".", protected=True,
              doc="Working directory: the node changes into it at start and on CONFIG SET (it must exist); the RDB snapshot is written and loaded there."),
    Directive("dbfilename", DBFILENAME, "dump.rdb", protected=True,
              doc="Name of the RDB snapshot file in `dir` (SAVE, BGSAVE, save points, shutdown; loaded at start)."),
    Directive("rdbcompression", BOOL, "yes",
              doc="LZF-compress strings in snapshots (done with liblzf when installed; without it snapshots are written uncompressed)."),
    Directive("rdbchecksum", BOOL, "yes", mutable=False,
              doc="End snapshots with a CRC64 and check it on load (no: a zero checksum, not checked)."),
    Directive("rdb-del-sync-files", BOOL, "no",
              doc="Accepted and reported; it concerns replication's sync files (replication is not implemented)."),
    Directive("stop-writes-on-bgsave-error", BOOL, "yes",
              doc="After a failed BGSAVE, refuse writes (and PING) with -MISCONF while save points are set, until a save succeeds."),
    Directive("rdb-key-save-delay", int_kind(-INT_MAX - 1, INT_MAX), "0", hidden=True,
              doc="Microseconds to sleep after each key written to a snapshot (for tests: makes a BGSAVE last)."),
    Directive("key-load-delay", int_kind(-INT_MAX - 1, INT_MAX), "0", hidden=True,
              doc="Microseconds to sleep after each key loaded from a snapshot or command replayed from the AOF (for tests: makes a load last; negative N: 1 us once in N keys on average, as Redis's debugDelay)."),
    Directive("appendonly", BOOL, "no",
              doc="Log every write to the append-only file (Redis 7's multi-part layout in `appenddirname`); at start the AOF, when there is one, is loaded instead of the RDB snapshot. CONFIG SET yes writes a first base in the background."),
    Directive("appendfilename", STRING, "appendonly.aof", mutable=False,
              doc="Base name of the AOF files (`<name>.<n>.base.rdb`, `<name>.<n>.incr.aof`, `<name>.manifest`)."),
    Directive("appenddirname", STRING, "appendonlydir", mutable=False,
              doc="Folder, in `dir`, holding the AOF files."),
    Directive("appendfsync", enum_kind("everysec", "always", "no"), "everysec",
              doc="When the AOF is fsynced: always (before each reply: no acknowledged write lost), everysec (once a second, off the event loop), no (by the kernel)."),
    Directive("aof-load-truncated", BOOL, "yes",
              doc="At start, an AOF whose last command was cut short by a crash is truncated to its last whole command (and a MULTI without EXEC dropped) instead of stopping the node."),
    Directive("aof-use-rdb-preamble", BOOL, "yes",
              doc="Accepted and reported: the AOF base is always an RDB snapshot."),
    Directive("auto-aof-rewrite-percentage", int_kind(0, INT_MAX), "100",
              doc="Rewrite the AOF in the background when it grew by this much since the last rewrite (0: never)."),
    Directive("auto-aof-rewrite-min-size", memory_kind(0), "64mb",
              doc="No automatic AOF rewrite below this size."),
    Directive("save", SAVE, "3600 1 300 100 60 10000",
              doc="Save points (`seconds changes` pairs, empty for none): a BGSAVE starts when that many changes are that many seconds old; with points set, SHUTDOWN and FLUSHALL save too."),
    # introspection
    Directive("slowlog-log-slower-than", int_kind(-1, LLONG_MAX), "10000",
              doc="Commands taking at least this many microseconds are recorded in SLOWLOG (0: every command, negative: none)."),
    Directive("aclfile", STRING, "", mutable=False,
              doc="File ACL LOAD reads and ACL SAVE writes (`user` lines, as Redis writes them); read at start when set."),
    Directive("acllog-max-len", int_kind(0, LLONG_MAX), "128",
              doc="Entries ACL LOG keeps; older ones are dropped."),
    Directive("acl-pubsub-default", enum_kind("allchannels", "resetchannels"), "resetchannels",
              doc="Channel permission of new users and selectors: `resetchannels` (none, Redis 7.0's default) or `allchannels`."),
    Directive("slowlog-max-len", int_kind(0, LLONG_MAX), "128",
              doc="Entries SLOWLOG keeps; older ones are dropped."),
    Directive("latency-monitor-threshold", int_kind(0, LLONG_MAX), "0",
              doc="Commands taking at least this many milliseconds are recorded as latency events (LATENCY LATEST, HISTORY, DOCTOR); 0 turns the monitor off."),
    Directive("latency-tracking", BOOL, "yes",
              doc="Per-command latency histograms, reported as percentiles by INFO latencystats."),
    Directive("latency-tracking-info-percentiles", PERCENTILES, "50 99 99.9",
              doc="Percentiles INFO latencystats reports for each command."),
    # metrics and probes (metrics.py)
    Directive("metrics-port", int_kind(0, 65535), "0", mutable=False, own=True,
              doc="Port of the HTTP server giving Prometheus metrics (`/metrics`, redis_exporter's names) and the Kubernetes probes `/healthz` and `/readyz`; a child process serves it, off the command path. 0: no server."),
    Directive("metrics-bind", STRING, "", mutable=False, own=True,
              doc="Address the metrics server listens on; empty: the first `bind` address (`*` means every IPv4 address)."),
    # --- hashes ---
    Directive("hash-max-listpack-entries", int_kind(0, LLONG_MAX), "512",
              aliases=("hash-max-ziplist-entries",),
              doc="A hash with at most this many fields is kept compact (OBJECT ENCODING listpack; HSCAN returns it whole); a bigger one becomes a hashtable for good."),
    Directive("hash-max-listpack-value", memory_kind(0, LLONG_MAX), "64",
              aliases=("hash-max-ziplist-value",),
              doc="A hash gaining a field or value longer than this many bytes becomes a hashtable (OBJECT ENCODING) for good."),
    # --- lists ---
    Directive("list-max-listpack-size", int_kind(-INT_MAX - 1, INT_MAX), "-2",
              aliases=("list-max-ziplist-size",),
              doc="Size of a list's quicklist nodes as Redis would build them (-1 to -5: 4 to 64 KB per node, positive: entries per node); a list keeps the value it was created with. Lists are stored as one structure; this shapes MEMORY USAGE and DUMP."),
    Directive("list-compress-depth", int_kind(0, INT_MAX), "0",
              doc="Accepted and reported; redslot does not compress list nodes (as with the default 0)."),
    # --- sets ---
    Directive("set-max-intset-entries", int_kind(0, LLONG_MAX), "512",
              doc="A set of at most this many integer members is kept compact (OBJECT ENCODING intset); a bigger one, or one gaining a non-integer member, becomes a hashtable for good, as OBJECT ENCODING says in Redis 7.0. A small set of strings (at most 128 members of at most 64 bytes) is still kept packed inside, as Redis 7.2's listpack, and grows into a table past either limit."),
    # --- sorted sets ---
    Directive("zset-max-listpack-entries", int_kind(0, LLONG_MAX), "128",
              aliases=("zset-max-ziplist-entries",),
              doc="A sorted set with at most this many members is kept compact (OBJECT ENCODING listpack); a bigger one becomes a skiplist for good."),
    Directive("zset-max-listpack-value", memory_kind(0, LLONG_MAX), "64",
              aliases=("zset-max-ziplist-value",),
              doc="A sorted set with a member longer than this many bytes becomes a skiplist (OBJECT ENCODING) for good."),
    # --- HyperLogLog ---
    Directive("hll-sparse-max-bytes", memory_kind(0, LLONG_MAX), "3000",
              doc="A sparse HyperLogLog that would grow past this many bytes (its 16-byte header included) turns dense (12304 bytes) for good."),
    # --- streams ---
    Directive("stream-node-max-entries", int_kind(0, LLONG_MAX), "100",
              doc="A stream node (Redis's listpack in the radix tree) holds at most this many entries, deleted ones included; 0: no limit. Approximate trimming (~) removes whole nodes only, so this shapes what XADD/XTRIM with ~ trim."),
    Directive("stream-node-max-bytes", memory_kind(0, LLONG_MAX), "4096",
              doc="A stream node is closed once its listpack (in Redis's bytes) would reach this size; 0: no limit (1 GB, as Redis)."),
    # --- process ---
    Directive("daemonize", BOOL, "no", mutable=False,
              doc="Run in the background (detached from the terminal, standard streams to /dev/null; with no `pidfile`, /var/run/redis.pid is written, as Redis does)."),
    Directive("pidfile", STRING, "", mutable=False,
              doc="Write the process id to this file once listening; removed at a clean shutdown."),
    Directive("unixsocket", STRING, "", mutable=False,
              doc="Also listen on this Unix socket path (clients there count as local)."),
    Directive("unixsocketperm", OCTAL_PERM, "0", mutable=False,
              doc="Permissions (octal) of the Unix socket file; 0 leaves the umask's."),
    Directive("shutdown-on-sigint", flags_kind("default", "save", "nosave", "now", "force"), "default",
              doc="What SIGINT's shutdown does: default (save if save points are set), save, nosave, now, force, as SHUTDOWN's options."),
    Directive("shutdown-on-sigterm", flags_kind("default", "save", "nosave", "now", "force"), "default",
              doc="What SIGTERM's shutdown does, as for shutdown-on-sigint."),
    Directive("shutdown-timeout", int_kind(0, INT_MAX), "10", inert=True,
              doc="Accepted; no effect (a redslot shutdown does not wait for replicas to catch up: the control plane fails over)."),
    Directive("supervised", enum_kind("upstart", "systemd", "auto", "no"), "no", mutable=False, inert=True,
              doc="Accepted; no effect (no systemd/upstart readiness notification)."),
    Directive("always-show-logo", BOOL, "no", mutable=False, inert=True, doc="Accepted; no effect (no ASCII logo)."),
    Directive("set-proc-title", BOOL, "yes", mutable=False, inert=True, doc="Accepted; no effect (the process title is Python's)."),
    Directive("proc-title-template", Kind(_parse_proc_title, str, lambda v: [quote(v)]),
              "{title} {listen-addr} {server-mode}", inert=True,
              doc="Checked as Redis checks it; no effect (the process title is Python's)."),
    Directive("syslog-enabled", BOOL, "no", mutable=False, inert=True, doc="Accepted; no effect (logs go to `logfile` or standard output)."),
    Directive("syslog-ident", STRING, "redis", mutable=False, inert=True, doc="Accepted; no effect."),
    Directive("syslog-facility", enum_kind("user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"), "local0",
              mutable=False, inert=True, doc="Accepted; no effect."),
    Directive("crash-log-enabled", BOOL, "yes", inert=True, doc="Accepted; no effect (Python reports its own tracebacks)."),
    Directive("crash-memcheck-enabled", BOOL, "yes", inert=True, doc="Accepted; no effect."),
    Directive("disable-thp", BOOL, "yes", mutable=False, inert=True, doc="Accepted; no effect."),
    Directive("oom-score-adj", enum_kind("no", "yes", "relative", "absolute"), "no", inert=True, doc="Accepted; no effect (set the pod's or unit's OOM score instead)."),
    Directive("oom-score-adj-values", OOM_VALUES, "0 200 800", inert=True, doc="Checked as Redis checks it; no effect."),
    Directive("ignore-warnings", STRING, "", inert=True, doc="Accepted; no effect."),
    Directive("socket-mark-id", int_kind(0, 2**32 - 1), "0", mutable=False, inert=True, doc="Accepted; no effect."),
    Directive("bind-source-addr", STRING, "", doc="Source address of the node's outgoing links (replication, cluster bus), bound best effort as Redis does; empty: the system's choice."),
    Directive("server_cpulist", STRING, "", mutable=False, inert=True, doc="Accepted; no effect (pin the process with taskset or the pod's CPU manager)."),
    Directive("bio_cpulist", STRING, "", mutable=False, inert=True, doc="Accepted; no effect."),
    Directive("aof_rewrite_cpulist", STRING, "", mutable=False, inert=True, doc="Accepted; no effect."),
    Directive("bgsave_cpulist", STRING, "", mutable=False, inert=True, doc="Accepted; no effect."),
    # --- threads, memory and allocator ---
    Directive("io-threads", int_kind(1, 128), "1", mutable=False, inert=True, doc="Accepted; no effect (one thread does all I/O and commands)."),
    Directive("io-threads-do-reads", BOOL, "no", mutable=False, inert=True, doc="Accepted; no effect."),
    Directive("jemalloc-bg-thread", BOOL, "yes", inert=True, doc="Accepted; no effect (CPython's allocator)."),
    Directive("activerehashing", BOOL, "yes",
              doc="The cron moves about 1 ms of a large keyspace index's incremental rebuild a tick (as Redis's), so it ends when no command comes; hashes', sets' and sorted sets' tables are Python dicts and rebuilt at once."),
    Directive("activedefrag", BOOL, "no", inert=True, doc="Accepted; no effect (no active defragmentation)."),
    Directive("active-defrag-ignore-bytes", memory_kind(1, 2**63 - 1), "104857600", inert=True, doc="Accepted; no effect."),
    Directive("active-defrag-threshold-lower", int_kind(0, 1000), "10", inert=True, doc="Accepted; no effect."),
    Directive("active-defrag-threshold-upper", int_kind(0, 1000), "100", inert=True, doc="Accepted; no effect."),
    Directive("active-defrag-cycle-min", int_kind(1, 99), "1", inert=True, doc="Accepted; no effect."),
    Directive("active-defrag-cycle-max", int_kind(1, 99), "25", inert=True, doc="Accepted; no effect."),
    Directive("active-defrag-max-scan-fields", int_kind(1, 2**63 - 1), "1000", inert=True, doc="Accepted; no effect."),
    Directive("lazyfree-lazy-eviction", BOOL, "no", inert=True, doc="Accepted; no effect (values are freed at once)."),
    Directive("lazyfree-lazy-expire", BOOL, "no", inert=True, doc="Accepted; no effect."),
    Directive("lazyfree-lazy-server-del", BOOL, "no", inert=True, doc="Accepted; no effect."),
    Directive("lazyfree-lazy-user-del", BOOL, "no", inert=True, doc="Accepted; no effect (UNLINK frees like DEL)."),
    Directive("lazyfree-lazy-user-flush", BOOL, "no", inert=True, doc="Accepted; no effect."),
    Directive("replica-lazy-flush", BOOL, "no", aliases=("slave-lazy-flush",), inert=True, doc="Accepted; no effect."),
    # --- persistence and replication ---
    Directive("aof-disable-auto-gc", BOOL, "no", inert=True, doc="Accepted; no effect."),
    Directive("aof-rewrite-incremental-fsync", BOOL, "yes", inert=True, doc="Accepted; no effect."),
    Directive("aof-timestamp-enabled", BOOL, "no", inert=True, doc="Accepted; no effect (no timestamp annotations in the AOF)."),
    Directive("rdb-save-incremental-fsync", BOOL, "yes", inert=True, doc="Accepted; no effect (snapshots are fsynced once, whole)."),
    Directive("no-appendfsync-on-rewrite", BOOL, "no", inert=True, doc="Accepted; no effect."),
    Directive("repl-disable-tcp-nodelay", BOOL, "no", inert=True, doc="Accepted; no effect."),
    Directive("replica-announced", BOOL, "yes", inert=True, doc="Accepted; no effect (no Sentinel)."),
    Directive("replica-ignore-disk-write-errors", BOOL, "no", inert=True, doc="Accepted; no effect."),
    Directive("propagation-error-behavior", enum_kind("ignore", "panic", "panic-on-replicas"), "ignore", inert=True,
              doc="Accepted; no effect (errors in the replication stream are ignored, Redis's default)."),
    Directive("sanitize-dump-payload", enum_kind("no", "yes", "clients"), "no", inert=True,
              doc="Accepted; no effect (RESTORE payloads are always fully checked while decoding)."),
    # --- cluster ---
    Directive("cluster-migration-barrier", int_kind(0, INT_MAX), "1", inert=True, doc="Accepted; no effect (the control plane places replicas)."),
    Directive("cluster-replica-validity-factor", int_kind(0, INT_MAX), "10", aliases=("cluster-slave-validity-factor",), inert=True,
              doc="Accepted; no effect (the control plane decides failovers)."),
    Directive("cluster-link-sendbuf-limit", memory_kind(0, 2**64 - 1), "0", inert=True,
              doc="Accepted; no effect (forwarded publishes waiting for one peer are capped at 32 MB)."),
    Directive("cluster-preferred-endpoint-type", enum_kind("ip", "hostname", "unknown-endpoint"), "ip", inert=True,
              doc="Accepted; no effect (redirects and CLUSTER SLOTS name nodes by IP)."),
    # --- TLS (config/tls.py) ---
    Directive("tls-port", int_kind(0, 65535), "0",
              doc="Also accept TLS connections on this port (`port 0` for TLS only); needs tls-cert-file and tls-key-file."),
    Directive("tls-cert-file", STRING, "", doc="The server's certificate chain (PEM); setting it again reloads it."),
    Directive("tls-key-file", STRING, "", doc="The server's private key (PEM)."),
    Directive("tls-key-file-pass", STRING, "", sensitive=True, doc="Passphrase of tls-key-file."),
    Directive("tls-client-cert-file", STRING, "", doc="Certificate this node shows as a client (to its master); tls-cert-file when empty."),
    Directive("tls-client-key-file", STRING, "", doc="Private key of tls-client-cert-file."),
    Directive("tls-client-key-file-pass", STRING, "", sensitive=True, doc="Passphrase of tls-client-key-file."),
    Directive("tls-dh-params-file", STRING, "", doc="DH parameters (PEM) for DHE ciphers."),
    Directive("tls-ca-cert-file", STRING, "", doc="CA certificates (PEM) that client and peer certificates must chain to."),
    Directive("tls-ca-cert-dir", STRING, "", doc="A directory of CA certificates, as tls-ca-cert-file."),
    Directive("tls-auth-clients", enum_kind("no", "yes", "optional"), "yes",
              doc="Whether TLS clients must present a certificate signed by the CA (yes), may (optional) or need not (no)."),
    Directive("tls-protocols", STRING, "", doc="TLS versions accepted, from TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; empty: TLSv1.2 and TLSv1.3."),
    Directive("tls-ciphers", STRING, "", doc="OpenSSL cipher list for TLSv1.2 and below."),
    Directive("tls-ciphersuites", STRING, "", doc="TLSv1.3 ciphersuites: must stay empty (Python's ssl module cannot choose them)."),
    Directive("tls-prefer-server-ciphers", BOOL, "no", doc="Prefer the server's cipher order."),
    Directive("tls-session-caching", BOOL, "yes", inert=True, doc="Accepted; no effect (Python's ssl keeps its default session cache)."),
    Directive("tls-session-cache-size", int_kind(0, INT_MAX), "20480", inert=True, doc="Accepted; no effect."),
    Directive("tls-session-cache-timeout", int_kind(0, INT_MAX), "300", inert=True, doc="Accepted; no effect."),
    Directive("tls-replication", BOOL, "no", doc="This node connects to its master over TLS (the master's port is then its tls-port)."),
    Directive("tls-cluster", BOOL, "no",
              doc="Links to the other cluster nodes, MIGRATE, manual failovers and a cluster replica's link to its master use TLS; the node announces its tls-port (its `port` to plaintext clients)."),
    Directive("cluster-announce-tls-port", int_kind(0, 65535), "0",
              doc="With tls-cluster, the TLS port this node announces (then cluster-announce-port is its plaintext port); 0: tls-port."),
    # --- scripting ---
    Directive("busy-reply-threshold", int_kind(0, LLONG_MAX), "5000", aliases=("lua-time-limit",),
              doc="Milliseconds a script or function runs before other clients get -BUSY and SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE are served (0: never)."),
)

# Config-file lines that are not directives but that REWRITE must keep as they are.
FILE_ONLY_DIRECTIVES = frozenset({"include", "rename-command", "user", "loadmodule", "sentinel"})
REWRITE_SIGNATURE = "# Generated by CONFIG REWRITE"

PROCESS_WATCHERS: dict[str, list[Callable[[Any], None]]] = {}
"""Listeners told of every stored value of a directive, whichever Config stores it: for
code with no server at hand, such as RDB loaders choosing an encoding."""
_LAST_STORED: dict[str, Any] = {}


def watch_process(name: str, listener: Callable[[Any], None]) -> None:
    """Add a PROCESS_WATCHERS listener and tell it the value already stored, if any: command
    modules are imported after the startup configuration has been loaded."""
    PROCESS_WATCHERS.setdefault(name, []).append(listener)
    if name in _LAST_STORED:
        listener(_LAST_STORED[name])


class Config:
    """Current directive values, with change listeners."""

    def __init__(self, directives: Iterable[Directive] = DIRECTIVES) -> None:
        self.directives: dict[str, Directive] = {}
        for d in directives:
            self.directives[d.name] = d
            for alias in d.aliases:
                self.directives[alias] = d
        self.values: dict[str, Any] = {}
        for d in self.directives.values():
            self.values[d.name] = self.parse(d, d.default)
        self.file: str | None = None
        self._listeners: dict[str, list[Callable[[Any], None]]] = {}
        self._save_loaded = False
        # ``user`` lines of the config file: (arguments, source, line number, line), read
        # by the ACL at start (ACLAppendUserForLoading, ACLLoadConfiguredUsers).
        self.user_lines: list[tuple[list[bytes], str, int, str]] = []
        # The ``user`` lines CONFIG REWRITE writes (rewriteConfigUserOption), given by the
        # ACL layer above: the current users, none when they live in an aclfile.
        self.users_for_rewrite: Callable[[], list[str]] | None = None

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def lookup(self, name: str) -> Directive | None:
        return self.directives.get(name.lower())

    def format(self, name: str) -> str:
        d = self.directives[name]
        return d.kind.format(self.values[d.name])

    def is_default(self, d: Directive) -> bool:
        return bool(self.values[d.name] == self.parse(d, d.default))

    def on_change(self, name: str, listener: Callable[[Any], None]) -> None:
        self._listeners.setdefault(name, []).append(listener)

    @staticmethod
    def parse(d: Directive, text: str) -> Any:
        """A CONFIG SET value: multi-word kinds split it on single spaces (sdssplitlen)."""
        if d.kind.multi:
            return d.kind.parse(text.split(" ") if text else [])
        return d.kind.parse(text)

    def set(self, name: str, text: str) -> None:
        """Parse and store one value; raise ConfigError with Redis's reason on bad input."""
        d = self.directives[name.lower()]
        self.store(d, self.parse(d, text))

    def store(self, d: Directive, value: Any) -> None:
        """Store an already parsed value and tell the listeners."""
        self.store_all([(d, value)])

    def store_all(self, changes: list[tuple[Directive, Any]]) -> None:
        """Store several values (one CONFIG SET), then tell each listener once: as Redis
        applies a CONFIG SET's values before their apply functions, so that a listener of
        several names (TLS: certificate, key, CA) never sees half of the change."""
        told: list[Callable[[Any], None]] = []
        calls: list[tuple[Callable[[Any], None], Any]] = []
        for d, value in changes:
            if d.kind.merge is not None:
                value = d.kind.merge(self.values[d.name], value)
            self.values[d.name] = value
            _LAST_STORED[d.name] = value
            for listener in (*self._listeners.get(d.name, ()), *PROCESS_WATCHERS.get(d.name, ())):
                if listener not in told:
                    told.append(listener)
                    calls.append((listener, value))
        for listener, value in calls:
            listener(value)

    def load_file(self, path: str) -> None:
        self.file = os.path.abspath(path)
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            self.load_lines(f.read().splitlines(), path)

    def load_lines(self, lines: list[str], source: str) -> None:
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            argv = split_args(stripped.encode("utf-8", "surrogateescape"))
            if argv is None:
                raise StartupError(source, number, line, errors.CONFIG_UNBALANCED)
            words = [a.decode("utf-8", "surrogateescape") for a in argv]
            if words:
                self.apply_directive(words, source, number, line)

    def apply_directive(self, words: list[str], source: str, number: int, line: str) -> None:
        name = words[0].lower()
        if name == "include":
            if len(words) != 2:
                raise StartupError(source, number, line, errors.CONFIG_BAD_DIRECTIVE)
            try:
                with open(words[1], encoding="utf-8", errors="surrogateescape") as f:
                    included = f.read().splitlines()
            except OSError as exc:
                raise StartupError(source, number, line,
                                   errors.CONFIG_CANT_OPEN % (words[1], exc.strerror)) from None
            self.load_lines(included, words[1])
            return
        if name == "user" and len(words) >= 2:
            self.user_lines.append((
                [w.encode("utf-8", "surrogateescape") for w in words[1:]], source, number, line))
            return
        d = self.lookup(name)
        if d is None:
            raise StartupError(source, number, line, errors.CONFIG_BAD_DIRECTIVE)
        if len(words) < d.kind.min_words + 1 or (not d.kind.multi and len(words) != 2):
            raise StartupError(source, number, line, errors.CONFIG_ARGUMENTS)
        args = words[1:]
        if d.kind.multi and len(args) == 1 and args[0]:
            args = [a.decode("utf-8", "surrogateescape")
                    for a in split_args(args[0].encode("utf-8", "surrogateescape")) or []]
        try:
            value = d.kind.parse(args) if d.kind.multi else d.kind.parse(args[0])
        except ConfigError as exc:
            raise StartupError(source, number, line, str(exc)) from None
        if d.name == "save":
            # The first save line replaces the defaults (a bare ``save`` too), the next ones
            # add rules; save "" clears whatever came before (setConfigSaveOption).
            if self._save_loaded and args != [""]:
                value = self.values["save"] + value
            self._save_loaded = True
        self.store(d, value)

    # --- CONFIG REWRITE ---

    def rewrite(self) -> None:
        """Rewrite the config file as Redis does (rewriteConfig in config.c).

        Comments, blank lines and lines this registry does not own stay where they are;
        each directive's first line is replaced by its current value, its other lines are
        blanked; directives not yet in the file are appended after a signature line, but
        only when they differ from their default. Runs of blank lines become one.
        """
        assert self.file is not None
        try:
            with open(self.file, encoding="utf-8", errors="surrogateescape") as f:
                old = f.read()
        except FileNotFoundError:
            old = ""
        lines, positions, signed = _read_old_config(old, self)
        rewritten: set[str] = set()
        for d in dict.fromkeys(self.directives.values()):
            value = self.values[d.name]
            rewritten.add(d.name)
            force = d.kind.always_rewrite or not self.is_default(d)
            for args in d.kind.rewrite_args(value):
                slots = positions.get(d.name)
                new_line = f"{d.name} {args}"
                if slots:
                    lines[slots.pop(0)] = new_line
                elif force:
                    if not signed:
                        lines.append(REWRITE_SIGNATURE)
                        signed = True
                    lines.append(new_line)
        if self.users_for_rewrite is not None:
            rewritten.add("user")
            for new_line in self.users_for_rewrite():
                slots = positions.get("user")
                if slots:
                    lines[slots.pop(0)] = new_line
                else:
                    if not signed:
                        lines.append(REWRITE_SIGNATURE)
                        signed = True
                    lines.append(new_line)
        for name, slots in positions.items():
            if name in rewritten:
                for i in slots:
                    lines[i] = ""
        out: list[str] = []
        for line in lines:
            if line == "" and out and out[-1] == "":
                continue
            out.append(line)
        content = "".join(line + "\n" for line in out)
        tmp = f"{self.file}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = os.stat(self.file).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, self.file)


def _read_old_config(text: str, config: Config) -> tuple[list[str], dict[str, list[int]], bool]:
    """rewriteConfigReadOldFile: the kept lines, where each directive appears, signature seen."""
    lines: list[str] = []
    positions: dict[str, list[int]] = {}
    signed = False
    for raw in text.split("\n") if text else []:
        line = raw.strip("\r\n\t ")
        if not line or line.startswith("#"):
            signed = signed or line == REWRITE_SIGNATURE
            lines.append(line)
            continue
        argv = split_args(line.encode("utf-8", "surrogateescape"))
        name = argv[0].decode("utf-8", "surrogateescape").lower() if argv else ""
        directive = config.lookup(name) if name else None
        if argv is None or (directive is None and name not in FILE_ONLY_DIRECTIVES):
            lines.append("# ??? " + line)
            continue
        positions.setdefault(directive.name if directive else name, []).append(len(lines))
        lines.append(line)
    return lines, positions, signed


class StartupError(Exception):
    """A bad directive at start: printed like Redis's ``FATAL CONFIG FILE ERROR``."""

    def __init__(self, source: str, number: int, line: str, reason: str) -> None:
        super().__init__(
            f"\n*** FATAL CONFIG FILE ERROR (redslot) ***\n"
            f"Reading the configuration {source}, at line {number}\n"
            f">>> '{line}'\n{reason}"
        )


def argv_to_lines(argv: list[str]) -> list[str]:
    """Turn ``--port 7000 --save "" --bind 127.0.0.1 ::1`` into redis.conf lines.

    As redis-server does: a word starting with ``--`` opens a directive, the words up to
    the next ``--word`` are its arguments, each quoted so that it stays one argument.
    """
    lines: list[str] = []
    for word in argv:
        if word.startswith("--") and len(word) > 2:
            lines.append(word[2:])
        elif not lines:
            raise ValueError(f"unexpected argument {word!r}: options are --directive value")
        else:
            lines[-1] += " " + quote(word)
    return lines
