"""The ACL security log (ACL LOG): denied commands, keys, channels and logins.

Like entries (same reason, context, object and user within 60 seconds) among the ten
newest are merged: the count grows and the entry moves to the front (addACLLogEntry).
"""

from __future__ import annotations

from time import time
from typing import Any

from .check import REASON_NAMES

GROUPING_MAX_MS = 60000
class LogEntry:
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "cinfo")

    def __init__(self, reason: int, context: str, obj: bytes, username: bytes,
                 cinfo: bytes) -> None:
        self.count = 1
        self.reason = reason
        self.context = context
        self.object = obj
        self.username = username
        self.ctime = int(time() * 1000)
        self.cinfo = cinfo

    def matches(self, other: LogEntry) -> bool:
        return (self.reason == other.reason and self.context == other.context
                and abs(self.ctime - other.ctime) <= GROUPING_MAX_MS
                and self.object == other.object and self.username == other.username)

    def fields(self, now_ms: int) -> dict[bytes, Any]:
        return {
            b"count": self.count,
            b"reason": REASON_NAMES[self.reason].encode(),
            b"context": self.context.encode(),
            b"object": self.object,
            b"username": self.username,
            b"age-seconds": (now_ms - self.ctime) / 1000,
            b"client-info": self.cinfo,
        }


class AclLog:
    """The newest entries first, at most ``max_len`` of them."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []
        self.max_len = 128

    def add(self, entry: LogEntry) -> None:
        for i, current in enumerate(self.entries[:10]):
            if current.matches(entry):
                del self.entries[i]
                current.cinfo, current.ctime = entry.cinfo, entry.ctime
                current.count += 1
                self.entries.insert(0, current)
                return
        self.entries.insert(0, entry)
        del self.entries[self.max_len:]

    def reset(self) -> None:
        self.entries = []

    def show(self, count: int) -> list[dict[bytes, Any]]:
        now = int(time() * 1000)
        return [entry.fields(now) for entry in self.entries[:max(count, 0)]]
