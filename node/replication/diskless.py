"""Diskless full syncs (repl-diskless-sync): the snapshot streamed to replicas over their
sockets, never written to disk (replication.c rdbSaveToSlavesSockets, rdbPipeReadHandler).

A forked child writes the RDB into a pipe; the parent reads it as it comes and writes each
chunk to every replica of the transfer, after ``$EOF:<40 random bytes>`` (the size is not
known in advance), and ends with the same 40 bytes. Reading the pipe pauses while a
replica's socket has a large backlog, so a slow replica holds the child back instead of
growing the master's memory. The stream produced meanwhile is held for each replica and
sent after its first REPLCONF ACK, as Redis does: a replica reading an EOF-marked payload
may read past the mark, so nothing may follow it until the replica has loaded.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import Server
    from .master import ReplicaState

CHUNK = 256 * 1024
BACKLOG_PAUSE = 8 * 1024 * 1024  # a replica socket holding this much pauses the pipe
RESUME_AFTER = 0.01


class DisklessTransfer:
    def __init__(self, server: Server, replicas: list[ReplicaState]) -> None:
        self.server = server
        self.replicas = replicas
        self.mark = secrets.token_hex(20).encode()
        self.fd = -1
        self.sent = 0
        self.done = False

    def start(self, fullresync_line: bytes) -> bool:
        """Fork the child writing into the pipe; False if the fork failed."""
        read_fd, write_fd = os.pipe()
        ok = self.server.snapshots.background_save(pipe_fd=write_fd)
        os.close(write_fd)
        if not ok:
            os.close(read_fd)
            return False
        os.set_blocking(read_fd, False)
        self.fd = read_fd
        for replica in self.replicas:
            client = replica.client
            client.flush()
            if client.transport is not None:
                head = b"" if replica.pre_psync else fullresync_line
                client.transport.write(head + b"$EOF:%s\r\n" % self.mark)
        asyncio.get_running_loop().add_reader(read_fd, self._readable)
        self.server.log_notice(
            f"Starting BGSAVE for SYNC with target: replicas sockets ({len(self.replicas)})")
        return True

    def _live(self) -> list[ReplicaState]:
        return [r for r in self.replicas if r.client.transport is not None
                and r.client.replica is r]

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        live = self._live()
        if not live:
            self.abort("all the replicas of the transfer are gone")
            return
        if not data:
            self._finish(live)
            return
        self.sent += len(data)
        for replica in live:
            replica.client.transport.write(data)  # type: ignore[union-attr]
        if any(r.client.transport.get_write_buffer_size() > BACKLOG_PAUSE  # type: ignore[union-attr]
               for r in live):
            loop = asyncio.get_running_loop()
            loop.remove_reader(self.fd)
            loop.call_later(RESUME_AFTER, self._resume)

    def _resume(self) -> None:
        if self.done:
            return
        live = self._live()
        if not live:
            self.abort("all the replicas of the transfer are gone")
        elif any(r.client.transport.get_write_buffer_size() > BACKLOG_PAUSE  # type: ignore[union-attr]
                 for r in live):
            asyncio.get_running_loop().call_later(RESUME_AFTER, self._resume)
        else:
            asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _close_pipe(self) -> None:
        if self.fd >= 0:
            asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1
        self.done = True

    def _finish(self, live: list[ReplicaState]) -> None:
        self._close_pipe()
        for replica in live:
            replica.finish_diskless(self.mark)
        self.server.log_notice(f"Diskless transfer of {self.sent} bytes to "
                               f"{len(live)} replica(s) done")

    def abort(self, why: str) -> None:
        """Stop the child and close the transfer's replicas still connected."""
        if self.done:
            return
        self._close_pipe()
        self.server.snapshots.kill_child()
        self.server.log_warning(f"Diskless transfer aborted: {why}")
        for replica in self._live():
            replica.client.close()
