"""The node's snapshot state: save points, the BGSAVE child, loading at start, -MISCONF.

BGSAVE forks: the child writes ``temp-<pid>.rdb`` in ``dir`` and renames it to dbfilename,
the parent keeps serving and reaps the child in the cron. Loading at start reads the file
in steps between which the event loop runs, so clients get ``-LOADING`` (or INFO's
loading fields) meanwhile. The file format itself is snapshot.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..base import errors
from ..base.forks import finished, fork_child, stop
from .rdbfile import (
    LoadProgress,
    SnapshotError,
    load_snapshot,
    snapshot_without_data,
    write_rdb,
    write_snapshot,
)

if TYPE_CHECKING:
    from ..table.command import Command
    from .context import Client, Server

BGSAVE_RETRY_DELAY = 5  # seconds between save-point attempts after a failed BGSAVE


class Snapshots:
    """The node's snapshot state: save points, the BGSAVE child, loading, INFO's fields."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.child_pid = 0
        self.to_socket = False  # the child streams to replicas (diskless), no file
        self.child_start = 0.0
        self.child_keys = 0
        self.dirty_before_bgsave = 0
        self.last_try = 0.0
        self.status_ok = True
        self.last_bgsave_time_sec = -1
        self.saves = 0
        self.scheduled = False
        self.loading: LoadProgress | None = None
        self.last_load_loaded = 0
        self.last_load_expired = 0
        config = server.config
        for name in ("save", "stop-writes-on-bgsave-error"):
            config.on_change(name, lambda _value: self._update_gate())
        self._update_gate()

    # --- what dispatch checks ---

    def _update_gate(self) -> None:
        """Set server.persistence_check while a check stands: the hot path skips it otherwise."""
        self.server.persistence_check = (
            self if self.loading is not None or self._writes_denied() else None)

    def _writes_denied(self) -> bool:
        """writeCommandsDeniedByDiskError for RDB."""
        config = self.server.config
        return (not self.status_ok and bool(config["save"])
                and bool(config["stop-writes-on-bgsave-error"]))

    def disk_error_refusal(self, client: Client, cmd: Command) -> str | None:
        """-MISCONF for writes (and PING) while a failed BGSAVE stops them."""
        if self._writes_denied() and (
                cmd.write or cmd.name == "ping" or (
                    cmd.name == "exec"
                    and any(queued.write for queued, _ in client.mstate.commands))):
            return errors.MISCONF
        return None

    def loading_refusal(self, cmd: Command) -> str | None:
        """-LOADING for commands without the loading flag while the data loads."""
        if self.loading is not None and not cmd.loading:
            return errors.LOADING
        return None

    # --- saving ---

    @property
    def path(self) -> str:
        return str(self.server.config["dbfilename"])

    def save(self) -> bool:
        """rdbSave: write a temp file, rename it over dbfilename; False (logged) on failure."""
        server = self.server
        temp = f"temp-{os.getpid()}.rdb"
        self.saves += 1
        started = time.time()
        try:
            write_snapshot(server, temp)
        except OSError as exc:
            server.log_warning(f"Failed opening the temp RDB file {temp} (in server root dir "
                               f"{_cwd()}) for saving: {exc.strerror or exc}")
            _unlink(temp)
            return False
        try:
            os.replace(temp, self.path)
        except OSError as exc:
            server.log_warning(f"Error moving temp DB file {temp} on the final destination "
                               f"{self.path} (in server root dir {_cwd()}): {exc.strerror}")
            _unlink(temp)
            return False
        server.log_notice("DB saved on disk")
        server.keyspace_stats.dirty = 0
        server.lastsave = int(time.time())
        self.status_ok = True
        self._update_gate()
        server.log_verbose(f"Snapshot written in {time.time() - started:.3f} seconds")
        return True

    def background_save(self, pipe_fd: int = -1) -> bool:
        """rdbSaveBackground: fork a child that writes the snapshot (into ``pipe_fd`` for
        a diskless replica sync, rdbSaveToSlavesSockets); False if fork failed."""
        server = self.server
        self.dirty_before_bgsave = server.keyspace_stats.dirty
        self.last_try = time.time()
        self.scheduled = False
        self.to_socket = pipe_fd >= 0
        work = self._write_in_child if pipe_fd < 0 else lambda: self._write_to_pipe(pipe_fd)
        try:
            pid = fork_child(work, self._child_failed)
        except OSError as exc:
            self.status_ok = False
            self._update_gate()
            server.log_warning(f"Can't save in background: fork: {exc.strerror}")
            return False
        self.saves += 1
        self.child_pid = pid
        self.child_start = time.time()
        self.child_keys = sum(len(db) for db in server.dbs)
        server.log_notice(f"Background saving started by pid {pid}")
        return True

    def kill_child(self) -> None:
        """killRDBChild: stop a BGSAVE (its status stays as it was), remove its temp file."""
        if not self.child_pid:
            return
        pid = self.child_pid
        stop(pid)
        _unlink(f"temp-{pid}.rdb")
        self._child_done(pid, -signal.SIGUSR1)

    def reap(self) -> None:
        """checkChildrenDone: collect a finished BGSAVE child without waiting."""
        if not self.child_pid:
            return
        code = finished(self.child_pid)
        if code is not None:
            self._child_done(self.child_pid, code)

    def _write_in_child(self) -> None:
        """The BGSAVE child's work: write a temp file, rename it over dbfilename."""
        temp = f"temp-{os.getpid()}.rdb"
        write_snapshot(self.server, temp)
        os.replace(temp, self.path)
        self.server.log_notice("DB saved on disk")

    def _write_to_pipe(self, fd: int) -> None:
        with os.fdopen(fd, "wb", buffering=1 << 16) as pipe:
            write_rdb(self.server, pipe, with_data=True)

    def _child_failed(self, exc: BaseException) -> None:
        self.server.log_warning(f"Write error saving DB on disk: {exc}")

    def _child_done(self, pid: int, code: int) -> None:
        """backgroundSaveDoneHandlerDisk: a negative code is the signal that ended it."""
        server = self.server
        now = time.time()
        if self.to_socket:  # backgroundSaveDoneHandlerSocket: no file, no save time
            self.to_socket = False
            server.log_notice("Background RDB transfer terminated with success" if code == 0
                              else f"Background RDB transfer error (code {code})")
            self.child_pid = 0
            self.child_keys = 0
            return
        if code == 0:
            server.log_notice("Background saving terminated with success")
            server.keyspace_stats.dirty -= self.dirty_before_bgsave
            server.lastsave = int(now)
            self.status_ok = True
        elif code > 0:
            server.log_warning("Background saving error")
            self.status_ok = False
        else:
            server.log_warning(f"Background saving terminated by signal {-code}")
            _unlink(f"temp-{pid}.rdb")
            if -code != signal.SIGUSR1:
                self.status_ok = False
        self.last_bgsave_time_sec = int(now - self.child_start)
        self.child_pid = 0
        self.child_keys = 0
        self._update_gate()

    def cron(self) -> None:
        """serverCron's persistence part: reap, then save points or a scheduled BGSAVE."""
        self.reap()
        if self.child_pid or self.loading is not None:
            return
        server = self.server
        now = server.now
        retry_ok = now - self.last_try > BGSAVE_RETRY_DELAY or self.status_ok
        if self.scheduled and retry_ok:
            self.background_save()
            return
        dirty = server.keyspace_stats.dirty
        for seconds, changes in server.config["save"]:
            if dirty >= changes and now - server.lastsave > seconds and retry_ok:
                server.log_notice(f"{changes} changes in {seconds} seconds. Saving...")
                self.background_save()
                return

    def flushed_all(self) -> None:
        """FLUSHALL's part (flushAllDataAndResetRDB): stop a BGSAVE, save the empty dataset."""
        self.kill_child()
        if self.server.config["save"]:
            self.save()

    def prepare_shutdown(self, save: bool, force: bool) -> bool:
        """prepareForShutdown's snapshot part; False when the final save failed (not FORCE)."""
        server = self.server
        if self.child_pid:
            server.log_warning("There is a child saving an .rdb. Killing it!")
            self.kill_child()
        if self.loading is not None or not save:
            return True
        server.log_notice("Saving the final RDB snapshot before exiting.")
        if self.save() or force:
            return True
        server.log_warning("Error trying to save the DB, can't exit.")
        return False

    # --- loading ---

    def empty_payload(self, with_functions: bool = False) -> bytes:
        """An RDB without keys, for a replica that filtered them out."""
        return snapshot_without_data(self.server, with_functions)

    def read_file(self) -> bytes | None:
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _begin_loading(self, size: int) -> LoadProgress:
        self.loading = LoadProgress(size)
        self._update_gate()
        return self.loading

    def _end_loading(self, progress: LoadProgress, dirty: int) -> None:
        self.loading = None
        self.last_load_loaded = progress.keys_loaded
        self.last_load_expired = progress.keys_expired
        self.server.keyspace_stats.dirty = dirty
        self._update_gate()

    def load(self, data: bytes, merge: bool = False) -> LoadProgress:
        """rdbLoad at once (DEBUG RELOAD): the event loop does not run meanwhile."""
        progress = self._begin_loading(len(data))
        dirty = self.server.keyspace_stats.dirty
        try:
            for _ in load_snapshot(self.server, data, progress, merge):
                if self.server.loading_stopped:
                    break
        finally:
            self._end_loading(progress, dirty)
        return progress

    async def load_at_start(self) -> bool:
        """loadDataFromDisk: serve -LOADING while the file loads in steps; False on failure."""
        server = self.server
        data = self.read_file()
        if data is None:
            return True
        progress = self._begin_loading(len(data))
        stopping = server.shutdown_event
        try:
            for _ in load_snapshot(server, data, progress):
                await asyncio.sleep(0)
                if stopping is not None and stopping.is_set() or server.loading_stopped:
                    server.log_warning("Loading interrupted by a shutdown request")
                    return True
        except SnapshotError as exc:
            server.log_warning(str(exc))
            return False
        finally:
            self._end_loading(progress, 0)
        server.log_notice(f"Done loading RDB, keys loaded: {progress.keys_loaded}, "
                          f"keys expired: {progress.keys_expired}.")
        server.log_notice(f"DB loaded from disk: {time.time() - progress.start:.3f} seconds")
        repl = progress.replication
        if "repl-id" in repl and repl.get("repl-offset", "").isdigit():
            server.replication.restore(repl["repl-id"], int(repl["repl-offset"]),
                                       server.i_am_master())
        return True

    # --- INFO persistence ---

    def info(self) -> Iterator[str]:
        server = self.server
        now = time.time()
        loading = self.loading
        yield f"loading:{int(loading is not None)}"
        yield "async_loading:0"
        yield "current_cow_peak:0"
        yield "current_cow_size:0"
        yield "current_cow_size_age:0"
        yield "current_fork_perc:0.00"
        yield "current_save_keys_processed:0"
        yield f"current_save_keys_total:{self.child_keys}"
        yield f"rdb_changes_since_last_save:{server.keyspace_stats.dirty}"
        yield f"rdb_bgsave_in_progress:{int(bool(self.child_pid))}"
        yield f"rdb_last_save_time:{server.lastsave}"
        yield f"rdb_last_bgsave_status:{'ok' if self.status_ok else 'err'}"
        yield f"rdb_last_bgsave_time_sec:{self.last_bgsave_time_sec}"
        current = int(now - self.child_start) if self.child_pid else -1
        yield f"rdb_current_bgsave_time_sec:{current}"
        yield f"rdb_saves:{self.saves}"
        yield "rdb_last_cow_size:0"
        yield f"rdb_last_load_keys_expired:{self.last_load_expired}"
        yield f"rdb_last_load_keys_loaded:{self.last_load_loaded}"

    def loading_info(self) -> Iterator[str]:
        """The loading_* fields, shown at the end of the section while a load runs."""
        progress = self.loading
        if progress is None:
            return
        elapsed = time.time() - progress.start
        done = progress.loaded_bytes
        total = progress.total_bytes
        perc = done / total * 100 if total else 0.0
        eta = int((total - done) / (done / elapsed)) if done and elapsed > 0 else 1
        yield f"loading_start_time:{int(progress.start)}"
        yield f"loading_total_bytes:{total}"
        yield "loading_rdb_used_mem:0"
        yield f"loading_loaded_bytes:{done}"
        yield f"loading_loaded_perc:{perc:.2f}"
        yield f"loading_eta_seconds:{eta}"


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return "unknown"


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
