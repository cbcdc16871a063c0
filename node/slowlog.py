"""The slow log: commands that ran longer than slowlog-log-slower-than microseconds."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Client

MAX_ARGC = 32
MAX_ARG_LEN = 128


class SlowlogEntry:
    __slots__ = ("id", "time", "duration", "argv", "addr", "name")

    def __init__(self, entry_id: int, argv: list[bytes], duration: int, client: Client) -> None:
        self.id = entry_id
        self.time = int(time.time())
        self.duration = duration
        self.argv = _trim(argv)
        self.addr = client.addr
        self.name = client.name


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

    def add(self, client: Client, argv: list[bytes], duration: int) -> None:
        self.entries.appendleft(SlowlogEntry(self.next_id, argv, duration, client))
        self.next_id += 1
        while len(self.entries) > self.max_len:
            self.entries.pop()

    def resize(self, max_len: int) -> None:
        self.max_len = max_len
        while len(self.entries) > max_len:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()
