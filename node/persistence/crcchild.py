"""A snapshot's CRC64 worked out by a forked child while the parent loads the keys.

Redis updates the checksum as it reads (rioGenericUpdateChecksum), in C; here the CRC64
of a big file costs as much CPU as loading its keys (types/rdb.py folds it with big-int
arithmetic), so a child computes it from its copy-on-write view of the file's bytes, on
another core when there is one, and hands the 8 bytes back through a pipe. The load
still fails on a wrong checksum: the parent reads the child's figure before it accepts
the file, and computes it itself if the child could not. The compiled build's CRC64 is C
(types/_crc64.c: tens of milliseconds for a 55 MB file): no child then, the parent
computes it when asked.
"""

from __future__ import annotations

import os

from ..base.forks import fork_child, stop
from ..types.rdb import FAST_CRC64, crc64

MIN_BYTES = 1 << 20  # below this, a fork costs more than the CRC


class ChecksumChild:
    """The CRC64 of ``data[:end]``, started at construction, read by ``result``."""

    __slots__ = ("data", "end", "pid", "fd")

    def __init__(self, data: bytes, end: int) -> None:
        self.data = data
        self.end = end
        self.pid = 0
        self.fd = -1
        if end < MIN_BYTES or FAST_CRC64:  # in C, the CRC costs less than the fork
            return
        read_fd, write_fd = os.pipe()

        def work() -> None:
            os.close(read_fd)
            value = crc64(memoryview(data)[:end]).to_bytes(8, "little")
            os.write(write_fd, value)

        try:
            self.pid = fork_child(work, lambda exc: None)
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            return
        os.close(write_fd)
        self.fd = read_fd

    def result(self, end: int) -> int:
        """The CRC64 of ``data[:end]``: the child's when it covered just that."""
        value = b""
        if self.fd >= 0:
            while len(value) < 8:
                chunk = os.read(self.fd, 8 - len(value))
                if not chunk:
                    break
                value += chunk
            self.close()
        if end == self.end and len(value) == 8:
            return int.from_bytes(value, "little")
        return crc64(memoryview(self.data)[:end])

    def close(self) -> None:
        """Stop the child if it still runs (a load given up), and reap it."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid:
            stop(self.pid)
            self.pid = 0
