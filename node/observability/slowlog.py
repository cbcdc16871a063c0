"""The slow log: commands that ran longer than slowlog-log-slower-than microseconds.

Secrets never reach it, nor MONITOR: ``redacted`` replaces passwords (AUTH, HELLO AUTH,
MIGRATE AUTH/AUTH2, and whatever a module adds to ``REDACTORS``) with ``(redacted)``, as
Redis's redactClientCommandArgument does. It runs only when an entry is recorded or a
monitor is fed, never on the plain command path.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..protocol.request import strict_int

if TYPE_CHECKING:
    from ..table.command import Command
    from .context import Client

MAX_ARGC = 32
MAX_ARG_LEN = 128
REDACTED = b"(redacted)"


class SlowlogEntry:
    __slots__ = ("id", "time", "duration", "argv", "addr", "name")

    def __init__(self, entry_id: int, argv: list[bytes], duration: int, client: Client) -> None:
        self.id = entry_id
        self.time = int(time.time())
        self.duration = duration
        self.argv = _trim(argv)
        self.addr = client.addr
        self.name = client.name

    def reply(self) -> list[object]:
        """One SLOWLOG GET entry: id, time, microseconds, arguments, peer, client name."""
        return [self.id, self.time, self.duration, self.argv, self.addr.encode(),
                self.name.encode()]


def _trim(argv: list[bytes]) -> list[bytes]:
    """Like slowlogCreateEntry: at most 32 arguments, each at most 128 bytes."""
    argc = min(len(argv), MAX_ARGC)
    out = []
    for i in range(argc):
        if argc != len(argv) and i == argc - 1:
            out.append(b"... (%d more arguments)" % (len(argv) - argc + 1))
        elif len(argv[i]) > MAX_ARG_LEN:
            out.append(argv[i][:MAX_ARG_LEN] + b"... (%d more bytes)" % (len(argv[i]) - MAX_ARG_LEN))
        else:
            out.append(bytes(argv[i]))
    return out


class Slowlog:
    def __init__(self, max_len: int) -> None:
        self.entries: deque[SlowlogEntry] = deque()
        self.max_len = max_len
        self.next_id = 0

    def add(self, client: Client, cmd: Command, argv: list[bytes], duration: int) -> None:
        self.entries.appendleft(SlowlogEntry(self.next_id, redacted(cmd, argv), duration, client))
        self.next_id += 1
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def resize(self, max_len: int) -> None:
        self.max_len = max_len
        while len(self.entries) > max_len:
            self.entries.pop()

    def reset(self) -> None:
        """SLOWLOG RESET: the entries go, the ids keep counting."""
        self.entries.clear()


# --- redaction of secrets ---

Redactor = Callable[[list[bytes]], list[int]]
"""Given a command's arguments, the positions holding secrets."""


def _auth_secrets(argv: list[bytes]) -> list[int]:
    return [] if len(argv) > 3 else list(range(1, len(argv)))


def _hello_secrets(argv: list[bytes]) -> list[int]:
    if len(argv) < 2:
        return []
    version = strict_int(argv[1])
    if version is None or not 2 <= version <= 3:
        return []
    found: list[int] = []
    i = 2
    while i < len(argv):
        more = len(argv) - 1 - i
        opt = argv[i].lower()
        if opt == b"auth" and more >= 2:
            found += [i + 1, i + 2]
            i += 3
        elif opt == b"setname" and more >= 1:
            i += 2
        else:
            break
    return found


def _migrate_secrets(argv: list[bytes]) -> list[int]:
    found: list[int] = []
    i = 6
    while i < len(argv):
        more = len(argv) - 1 - i
        opt = argv[i].lower()
        if opt == b"auth" and more >= 1:
            found.append(i + 1)
            i += 2
        elif opt == b"auth2" and more >= 2:
            found += [i + 1, i + 2]
            i += 3
        elif opt in (b"copy", b"replace"):
            i += 1
        else:
            break
    return found


REDACTORS: dict[str, Redactor] = {
    "auth": _auth_secrets,
    "hello": _hello_secrets,
    "migrate": _migrate_secrets,
}


def redacted(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """``argv`` as the slow log and MONITOR may show it."""
    redactor = REDACTORS.get(cmd.fullname)
    if redactor is None:
        return argv
    secrets = redactor(argv)
    if not secrets:
        return argv
    shown = list(argv)
    for i in secrets:
        shown[i] = REDACTED
    return shown
