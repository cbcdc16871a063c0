"""Reading a child process's output until it shows what a test waits for.

A test that sleeps "long enough" before killing a tool (redis-cli MONITOR, --replica,
--stat) and then searches its output fails when the tool, or the node feeding it, was
slower than the sleep on a loaded machine. Reading until the text is there waits for the
thing itself, bounded by a deadline that only a failing test reaches.
"""

from __future__ import annotations

import os
import select
import time


def read_until(fd: int, *wanted: bytes, timeout: float = 10.0) -> bytes:
    """What ``fd`` gave until every one of ``wanted`` appeared in it; fails after ``timeout`` s."""
    seen = b""
    deadline = time.monotonic() + timeout
    while not all(part in seen for part in wanted):
        left = deadline - time.monotonic()
        assert left > 0, f"not within {timeout}s: {[w for w in wanted if w not in seen]} in {seen[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the output ended without {[w for w in wanted if w not in seen]}: {seen[-500:]!r}"
            seen += chunk
    return seen
