"""The node's configuration: one registry of redis.conf directives.

The same registry serves the command line (``--port 7000``), config files in redis.conf
syntax, CONFIG GET/SET/REWRITE and INFO. A directive has a kind that parses and formats its
value, a default, and whether it may change at run time.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .protocol import split_args


class ConfigError(ValueError):
    """A directive's value is invalid; the text is Redis's reason (``argument must be ...``)."""


# --- kinds: parse(text) -> value, format(value) -> text ---

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def parse_memory(text: str) -> int:
    """Redis's ``memtoull``: 100mb, 1gb, 1k (1000), 1kb (1024), case-insensitive."""
    t = text.strip().lower()
    digits = t.rstrip("kmgb")
    unit = t[len(digits):]
    if unit not in _UNITS or not digits or not (digits.isdigit() or (digits[0] == "-" and digits[1:].isdigit())):
        raise ConfigError("argument must be a memory value")
    return int(digits) * _UNITS[unit]


def format_memory(value: int) -> str:
    return str(value)


def parse_bool(text: str) -> bool:
    t = text.lower()
    if t == "yes":
        return True
    if t == "no":
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


def format_bool(value: bool) -> str:
    return "yes" if value else "no"


@dataclass(frozen=True)
class Kind:
    parse: Callable[[str], Any]
    format: Callable[[Any], str]


def int_kind(lo: int, hi: int) -> Kind:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError("argument couldn't be parsed into an integer") from None
        if not lo <= value <= hi:
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        return value

    return Kind(parse, str)


def memory_kind(lo: int = 0, hi: int = 2**63 - 1) -> Kind:
    def parse(text: str) -> int:
        value = parse_memory(text)
        if not lo <= value <= hi:
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        return value

    return Kind(parse, format_memory)


def enum_kind(*choices: str) -> Kind:
    def parse(text: str) -> str:
        t = text.lower()
        if t not in choices:
            raise ConfigError("argument(s) must be one of the following: " + ", ".join(choices))
        return t

    return Kind(parse, str)


def _parse_save(text: str) -> list[tuple[int, int]]:
    parts = text.split()
    if len(parts) % 2:
        raise ConfigError("Invalid save parameters")
    rules = []
    for i in range(0, len(parts), 2):
        try:
            seconds, changes = int(parts[i]), int(parts[i + 1])
        except ValueError:
            raise ConfigError("Invalid save parameters") from None
        if seconds < 1 or changes < 0:
            raise ConfigError("Invalid save parameters")
        rules.append((seconds, changes))
    return rules


def _format_save(rules: list[tuple[int, int]]) -> str:
    return " ".join(f"{s} {c}" for s, c in rules)


def _parse_percentiles(text: str) -> list[float]:
    values = []
    for part in text.split():
        try:
            v = float(part)
        except ValueError:
            raise ConfigError("latency-tracking-info-percentiles parameters should be a float") from None
        if not 0.0 <= v <= 100.0 or math.isnan(v):
            raise ConfigError("latency-tracking-info-percentiles parameters should be a float between 0.0 and 100.0")
        values.append(v)
    return values


def _format_percentiles(values: list[float]) -> str:
    return " ".join(("%f" % v).rstrip("0").rstrip(".") for v in values)


BOOL = Kind(parse_bool, format_bool)
STRING = Kind(str, str)
SAVE = Kind(_parse_save, _format_save)
PERCENTILES = Kind(_parse_percentiles, _format_percentiles)
EVICTION_POLICIES = (
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction",
)


@dataclass(frozen=True)
class Directive:
    name: str
    kind: Kind
    default: str
    mutable: bool = True
    aliases: tuple[str, ...] = field(default=())
    sensitive: bool = False


DIRECTIVES: tuple[Directive, ...] = (
    # network and connections
    Directive("port", int_kind(0, 65535), "6379", mutable=False),
    Directive("bind", STRING, "* -::*", mutable=False),
    Directive("protected-mode", BOOL, "yes"),
    Directive("tcp-backlog", int_kind(0, 2**31 - 1), "511", mutable=False),
    Directive("timeout", int_kind(0, 2**31 - 1), "0"),
    Directive("tcp-keepalive", int_kind(0, 2**31 - 1), "300"),
    Directive("maxclients", int_kind(1, 2**31 - 1), "10000"),
    Directive("requirepass", STRING, "", sensitive=True),
    Directive("proto-max-bulk-len", memory_kind(1024 * 1024), "536870912"),
    Directive("client-query-buffer-limit", memory_kind(1024 * 1024), "1073741824"),
    # general
    Directive("databases", int_kind(1, 2**31 - 1), "16", mutable=False),
    Directive("loglevel", enum_kind("debug", "verbose", "notice", "warning", "nothing"), "notice"),
    Directive("logfile", STRING, "", mutable=False),
    Directive("hz", int_kind(0, 2**31 - 1), "10"),
    Directive("dynamic-hz", BOOL, "yes"),
    Directive("enable-debug-command", enum_kind("no", "yes", "local"), "no", mutable=False),
    Directive("cluster-enabled", BOOL, "no", mutable=False),
    # memory (eviction itself arrives with the data-structure work)
    Directive("maxmemory", memory_kind(), "0"),
    Directive("maxmemory-policy", enum_kind(*EVICTION_POLICIES), "noeviction"),
    Directive("maxmemory-samples", int_kind(1, 64), "5"),
    Directive("lfu-log-factor", int_kind(0, 2**31 - 1), "10"),
    Directive("lfu-decay-time", int_kind(0, 2**31 - 1), "1"),
    Directive("active-expire-effort", int_kind(1, 10), "1"),
    # persistence: where files live (the writers arrive with the persistence work)
    Directive("dir", STRING, "."),
    Directive("dbfilename", STRING, "dump.rdb"),
    Directive("appendonly", BOOL, "no"),
    Directive("appendfilename", STRING, "appendonly.aof", mutable=False),
    Directive("appendfsync", enum_kind("always", "everysec", "no"), "everysec"),
    Directive("save", SAVE, "3600 1 300 100 60 10000"),
    # introspection
    Directive("slowlog-log-slower-than", int_kind(-1, 2**63 - 1), "10000"),
    Directive("slowlog-max-len", int_kind(0, 2**63 - 1), "128"),
    Directive("latency-monitor-threshold", int_kind(0, 2**63 - 1), "0"),
    Directive("latency-tracking", BOOL, "yes"),
    Directive("latency-tracking-info-percentiles", PERCENTILES, "50 99 99.9"),
)


class Config:
    """Current directive values, with change listeners."""

    def __init__(self, directives: Iterable[Directive] = DIRECTIVES) -> None:
        self.directives: dict[str, Directive] = {}
        for d in directives:
            self.directives[d.name] = d
            for alias in d.aliases:
                self.directives[alias] = d
        self.values: dict[str, Any] = {
            d.name: d.kind.parse(d.default) for d in self.directives.values()
        }
        self.file: str | None = None
        self._listeners: dict[str, list[Callable[[Any], None]]] = {}

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def lookup(self, name: str) -> Directive | None:
        return self.directives.get(name.lower())

    def format(self, name: str) -> str:
        d = self.directives[name]
        return d.kind.format(self.values[d.name])

    def on_change(self, name: str, listener: Callable[[Any], None]) -> None:
        self._listeners.setdefault(name, []).append(listener)

    def set(self, name: str, text: str) -> None:
        """Parse and store one value; raise ConfigError with Redis's reason on bad input."""
        d = self.directives[name.lower()]
        value = d.kind.parse(text)
        self.values[d.name] = value
        for listener in self._listeners.get(d.name, ()):
            listener(value)

    def load_file(self, path: str) -> None:
        self.file = path
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            self.load_lines(f.read().splitlines(), path)

    def load_lines(self, lines: list[str], source: str) -> None:
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            argv = split_args(stripped.encode("utf-8", "surrogateescape"))
            if argv is None:
                raise StartupError(source, number, line, "Unbalanced quotes in configuration line")
            words = [a.decode("utf-8", "surrogateescape") for a in argv]
            self.apply_directive(words, source, number, line)

    def apply_directive(self, words: list[str], source: str, number: int, line: str) -> None:
        name = words[0].lower()
        if name == "include":
            if len(words) != 2:
                raise StartupError(source, number, line, "Bad directive or wrong number of arguments")
            self.load_lines(open(words[1]).read().splitlines(), words[1])
            return
        d = self.lookup(name)
        if d is None:
            raise StartupError(source, number, line, "Bad directive or wrong number of arguments")
        try:
            self.set(d.name, " ".join(words[1:]))
        except ConfigError as exc:
            raise StartupError(source, number, line, str(exc)) from None


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
    the next ``--word`` are its arguments.
    """
    lines: list[str] = []
    for word in argv:
        if word.startswith("--") and len(word) > 2:
            lines.append(word[2:])
        elif not lines:
            raise ValueError(f"unexpected argument {word!r}: options are --directive value")
        else:
            lines[-1] += " " + shlex.quote(word) if word == "" or " " in word else " " + word
    return lines
