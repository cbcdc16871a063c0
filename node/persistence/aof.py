"""The append-only file, in Redis 7's multi-part layout (aof.c).

``dir/appenddirname/`` holds a base file (an RDB snapshot, ``<name>.<seq>.base.rdb``),
increment files (``<name>.<seq>.incr.aof``: the replication stream's effects, RESP
commands with SELECTs, as the node applied them) and a manifest naming them in order
(``file <name> seq <n> type b|i``), replaced atomically. Debian's redis-server reads this
layout, and redis-check-aof checks it.

Writes are gathered over one turn of the event loop (the effects flushed by
propagation.py) and written to the current increment file in one write at the end of the
turn, before any reply of that turn is sent (replies wait, as Redis's beforeSleep orders
it): ``appendfsync always`` fsyncs that write (one fsync for every client's commands of
the turn), ``everysec`` fsyncs once a second off the event loop, ``no`` leaves it to the
kernel.
BGREWRITEAOF forks a child that writes a new base (the same snapshot writer as BGSAVE)
while the parent switches to a new increment file; when the child succeeds, the manifest
becomes the new base plus that increment and the old files go.

At start the base is loaded, then every increment is replayed. A last command cut short
by a crash is dropped (and the file truncated) when ``aof-load-truncated`` is yes, as is
a MULTI left without its EXEC; any other damage stops the node with the offset.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import hiredis

from ..base.errors import CommandError
from ..base.forks import finished, fork_child, stop
from ..protocol.command import encode_command
from .collector import collector_paused
from .rdbfile import debug_delay, write_snapshot

if TYPE_CHECKING:
    from ..table.command import Command
    from .context import Client, Server

BASE, INCR = "b", "i"


# What the replay feeds hiredis at a time. Its reader moves the unread rest of its buffer
# to the front after every kilobyte consumed, so the copying grows with the piece fed:
# a megabyte at a time spent 3.5 times as long parsing as 64 kB.
_CHUNK = 1 << 16
# Raises TypeError unless every argument is a string (bytes: hiredis gives nothing else
# that join takes): a quarter of the time of collecting the arguments' types in a set.
_CHECK_STRINGS = b"".join


class AofError(Exception):
    """An append-only file that cannot be loaded; the text says where and why."""


class Manifest:
    """The files of the AOF, base first, as ``(name, seq, type)``."""

    def __init__(self, entries: list[tuple[str, int, str]] | None = None) -> None:
        self.entries = entries or []

    @classmethod
    def parse(cls, text: str) -> Manifest:
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            fields = dict(zip(words[::2], words[1::2], strict=False))
            try:
                entries.append((fields["file"], int(fields["seq"]), fields["type"]))
            except (KeyError, ValueError):
                raise AofError(f"Invalid AOF manifest file format at line {number}") from None
        return cls(entries)

    def render(self) -> str:
        return "".join(f"file {name} seq {seq} type {kind}\n" for name, seq, kind in self.entries)

    @property
    def base(self) -> tuple[str, int, str] | None:
        return next((e for e in self.entries if e[2] == BASE), None)

    @property
    def incrs(self) -> list[tuple[str, int, str]]:
        return [e for e in self.entries if e[2] == INCR]

    def next_seq(self, kind: str) -> int:
        return max((seq for _, seq, k in self.entries if k == kind), default=0) + 1


class AppendOnly:
    """The AOF of a server: its files, the open increment, fsync and rewrite state."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.on = False
        self.manifest = Manifest()
        self.fd = -1
        self.buf = bytearray()  # effects of this loop turn, not yet written
        self.held: list[Client] = []  # clients whose replies wait for that write
        self.flush_scheduled = False
        self.incr_size = 0
        self.base_size = 0
        self.last_fsync = time.monotonic()
        self.fsync_pending: asyncio.Future[Any] | None = None
        self.delayed_fsyncs = 0
        self.write_ok = True
        self.child_pid = 0
        self.child_start = 0.0
        self.child_base = ""
        self.rewrite_scheduled = False
        self.rewrites = 0
        self.rewrite_failures = 0
        self.last_rewrite_ok = True
        self.last_rewrite_secs = -1
        self.size_at_rewrite = 0

    # --- files ---

    @property
    def folder(self) -> str:
        return str(self.server.config["appenddirname"])

    @property
    def name(self) -> str:
        return str(self.server.config["appendfilename"])

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def _write_manifest(self) -> None:
        temp = self._path(f"temp-{self.name}.manifest")
        with open(temp, "w") as f:
            f.write(self.manifest.render())
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, self._path(f"{self.name}.manifest"))
        _fsync_dir(self.folder)

    def read_manifest(self) -> Manifest | None:
        try:
            with open(self._path(f"{self.name}.manifest")) as f:
                return Manifest.parse(f.read())
        except FileNotFoundError:
            return None

    def _open_incr(self) -> None:
        """openNewIncrAofForAppend: a fresh increment file, listed in the manifest."""
        self.write_buffer()  # what came before belongs to the old file (and the new base)
        seq = self.manifest.next_seq(INCR)
        name = f"{self.name}.{seq}.incr.aof"
        fd = os.open(self._path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if self.fd >= 0:
            os.close(self.fd)
        self.fd = fd
        self.incr_size = 0
        self.manifest.entries.append((name, seq, INCR))
        self._write_manifest()
        self.server.propagation.selected_db = -1  # the new file starts with a SELECT

    # --- writing ---

    def start(self) -> None:
        """At start with appendonly yes (after loading): append to the last increment, or
        lay out a first base from the data loaded (an RDB, or nothing)."""
        os.makedirs(self.folder, exist_ok=True)
        manifest = self.read_manifest()
        if manifest is None or manifest.base is None and not manifest.incrs:
            self.manifest = Manifest()
            self._write_base_now()
            self._open_incr()
        else:
            self.manifest = manifest
            incrs = manifest.incrs
            if incrs:
                self.fd = os.open(self._path(incrs[-1][0]), os.O_WRONLY | os.O_APPEND)
                self.incr_size = os.fstat(self.fd).st_size
            else:
                self._open_incr()
            base = manifest.base
            self.base_size = _size(self._path(base[0])) if base else 0
        self._attach()

    def enable(self) -> bool:
        """CONFIG SET appendonly yes: a rewrite lays down a base of the current data."""
        os.makedirs(self.folder, exist_ok=True)
        self.manifest = self.read_manifest() or Manifest()
        self._attach()
        return self.rewrite()

    def disable(self) -> None:
        """stopAppendOnly: flush, fsync, close; the files stay for a later restart."""
        if not self.on:
            return
        self.on = False
        self.server.propagation.aof = None
        if self.child_pid:
            self._kill_child()
        if self.fd >= 0:
            self.write_buffer()
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = -1

    def _attach(self) -> None:
        self.on = True
        prop = self.server.propagation
        prop.aof = self.append
        prop.active = True
        prop.selected_db = -1

    def append(self, data: bytes) -> None:
        """The effects of one command, written at the end of this loop turn."""
        if self.fd < 0:
            return
        self.buf += data
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._end_of_turn)

    def hold(self, client: Client) -> bool:
        """Client.flush asks: True when its replies must wait for this turn's write."""
        if not self.buf:
            return False
        self.held.append(client)
        return True

    def _end_of_turn(self) -> None:
        self.flush_scheduled = False
        self.write_buffer()
        held, self.held = self.held, []
        for client in held:
            client.flush()

    def write_buffer(self) -> None:
        """flushAppendOnlyFile: one write of the gathered effects, fsynced under always."""
        if not self.buf or self.fd < 0:
            return
        data = bytes(self.buf)
        self.buf.clear()
        try:
            written = 0
            while written < len(data):
                written += os.write(self.fd, data[written:])
            if self.server.config["appendfsync"] == "always":
                os.fsync(self.fd)
        except OSError as exc:
            self.write_ok = False
            self.server.log_warning(f"Error writing to the AOF file: {exc.strerror}")
            return
        self.write_ok = True
        self.incr_size += len(data)

    def cron(self) -> None:
        """everysec fsync off the loop; rewrite completion, scheduling and auto-rewrite."""
        config = self.server.config
        if self.on and self.fd >= 0 and config["appendfsync"] == "everysec":
            now = time.monotonic()
            if now - self.last_fsync >= 1:
                if self.fsync_pending is not None and not self.fsync_pending.done():
                    self.delayed_fsyncs += 1
                else:
                    self.last_fsync = now
                    self.fsync_pending = asyncio.get_running_loop().run_in_executor(
                        None, _fsync_quietly, self.fd)
        self._reap()
        if self.rewrite_scheduled and not self._fork_busy():
            self.rewrite()
        percentage = config["auto-aof-rewrite-percentage"]
        size = self.base_size + self.incr_size
        if (self.on and percentage and not self.child_pid and not self.rewrite_scheduled
                and size >= config["auto-aof-rewrite-min-size"]):
            base = self.size_at_rewrite or 1
            if (size - base) * 100 // base >= percentage:
                self.server.log_notice(
                    f"Starting automatic rewriting of AOF on {(size - base) * 100 // base}% growth")
                self.rewrite()

    # --- rewriting ---

    def _fork_busy(self) -> bool:
        return bool(self.child_pid or self.server.snapshots.child_pid)

    def rewrite(self) -> bool:
        """rewriteAppendOnlyFileBackground: fork a base writer, switch to a new increment."""
        if self._fork_busy():
            self.rewrite_scheduled = True
            return True
        self.rewrite_scheduled = False
        self._open_incr()
        seq = self.manifest.next_seq(BASE)
        self.child_base = f"{self.name}.{seq}.base.rdb"
        try:
            pid = fork_child(self._write_base_in_child, lambda exc: None)
        except OSError as exc:
            self.server.log_warning(f"Can't rewrite append only file in background: fork: {exc.strerror}")
            self.last_rewrite_ok = False
            return False
        self.child_pid = pid
        self.child_start = time.time()
        self.server.log_notice(f"Background append only file rewriting started by pid {pid}")
        return True

    def _write_base_in_child(self) -> None:
        write_snapshot(self.server, self._path(f"temp-rewriteaof-bg-{os.getpid()}.aof"))

    def _reap(self) -> None:
        if not self.child_pid:
            return
        pid = self.child_pid
        code = finished(pid)
        if code is None:
            return
        temp = self._path(f"temp-rewriteaof-bg-{pid}.aof")
        self.child_pid = 0
        self.last_rewrite_secs = int(time.time() - self.child_start)
        if code != 0:
            self.rewrite_failures += 1
            self.last_rewrite_ok = False
            _unlink(temp)
            self.server.log_warning("Background AOF rewrite terminated with error")
            return
        self._install_base(temp)
        self.server.log_notice("Background AOF rewrite finished successfully")

    def _install_base(self, temp: str) -> None:
        """backgroundRewriteDoneHandler: the new base and the newest increment replace all."""
        os.replace(temp, self._path(self.child_base))
        old = [name for name, _, _ in self.manifest.entries]
        current = self.manifest.incrs[-1]
        seq = int(self.child_base.split(".")[-3])
        self.manifest = Manifest([(self.child_base, seq, BASE), current])
        self._write_manifest()
        for name in old:
            if name != current[0]:
                _unlink(self._path(name))
        self.base_size = _size(self._path(self.child_base))
        self.size_at_rewrite = self.base_size + self.incr_size
        self.rewrites += 1
        self.rewrite_failures = 0
        self.last_rewrite_ok = True

    def _write_base_now(self) -> None:
        """A base written in the foreground (first start with AOF on)."""
        seq = self.manifest.next_seq(BASE)
        name = f"{self.name}.{seq}.base.rdb"
        temp = self._path(f"temp-rewriteaof-{os.getpid()}.aof")
        write_snapshot(self.server, temp)
        os.replace(temp, self._path(name))
        self.manifest.entries.append((name, seq, BASE))
        self.base_size = _size(self._path(name))
        self.size_at_rewrite = self.base_size

    def _kill_child(self) -> None:
        pid = self.child_pid
        stop(pid)
        _unlink(self._path(f"temp-rewriteaof-bg-{pid}.aof"))
        self.child_pid = 0

    def prepare_shutdown(self) -> None:
        """The AOF part of a shutdown: stop a rewrite, fsync what was written."""
        if self.child_pid:
            self._kill_child()
        if self.fd >= 0:
            self.write_buffer()
            os.fsync(self.fd)

    # --- loading ---

    def load(self) -> bool:
        """loadAppendOnlyFiles: True when an AOF existed and was loaded.

        The cyclic garbage collector is off meanwhile, as for a snapshot (collector.py): a
        replay creates millions of tracked objects that all live on, and the collections
        they trigger cost an eighth of the time."""
        manifest = self.read_manifest()
        if manifest is None:
            return False
        with collector_paused():
            self._load(manifest)
        return True

    def _load(self, manifest: Manifest) -> None:
        server = self.server
        base = manifest.base
        if base is not None:
            with open(self._path(base[0]), "rb") as f:
                data = f.read()
            if data.startswith(b"REDIS"):
                server.snapshots.load(data)
            else:
                self._replay(base[0], data)
        for name, _, _ in manifest.incrs:
            if server.loading_stopped:
                break
            try:
                with open(self._path(name), "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                raise AofError(f"Appendonly file {name} doesn't exist") from None
            self._replay(name, data)

    def _replay(self, name: str, data: bytes) -> None:
        """Run the file's commands as a client nobody refuses; handle a cut-short tail.

        The file is cut into commands by hiredis, 64 kB at a time, counting them;
        byte offsets (for a truncation or an error message) are worked out afterwards,
        and only when needed (``_offset``): tracking them per command cost a re-encoding
        of each, and the client's own parser, fed slices that split commands, falls off
        its hiredis path."""
        server = self.server
        client = server.new_client()
        client.is_master = True  # never refused (OOM, read-only ...), never re-propagated
        client.authenticated = True
        done = before_multi = 0  # commands run; those before an open MULTI
        reader = hiredis.Reader()
        direct = _direct_commands(server.command_index)
        waiting = server.keyspace_stats.waiting_for
        check = _CHECK_STRINGS
        load_delay = server.config["key-load-delay"]
        try:
            for start in range(0, len(data), _CHUNK):
                if server.loading_stopped:
                    return
                reader.feed(data, start, min(_CHUNK, len(data) - start))
                argv = reader.gets()
                while argv is not False:
                    if type(argv) is not list or not argv:
                        raise hiredis.ProtocolError("not a command")
                    try:
                        check(argv)
                    except TypeError:
                        raise hiredis.ProtocolError("not a command") from None
                    entry = direct.get(argv[0])
                    if (entry is not None and entry[2] <= len(argv) <= entry[3]
                            and not client.multi and not waiting):
                        # loadSingleAppendOnlyFile's cmd->proc(fakeClient): the handler
                        # alone, its reply (an error included) dropped
                        client.cmd = entry[1]
                        try:
                            entry[0](client, argv)
                        except CommandError:
                            pass
                        client.propagate_as = None
                        client.propagate_forced = False
                        if client.out:
                            client.out.clear()
                    else:
                        if argv[0].lower() == b"multi":
                            before_multi = done
                        server.execute(client, argv)
                        client.out.clear()
                    done += 1
                    if load_delay:
                        debug_delay(load_delay)
                    argv = reader.gets()
            reader.feed(b"*0\r\n")  # parsed as an empty request only if no command was cut
            whole = reader.gets() == [] and not reader.has_data()
        except hiredis.ProtocolError:
            raise AofError(f"Bad file format reading the append only file {name}: "
                           f"make a backup of your AOF file, then use "
                           f"redis-check-aof --fix <filename.manifest> "
                           f"(offset {_offset(data, done)})") from None
        if client.multi:
            self._truncated(name, _offset(data, before_multi),
                            "Revert incomplete MULTI/EXEC transaction")
        elif not whole:
            self._truncated(name, _offset(data, done), "Unexpected end of file")

    def _truncated(self, name: str, keep: int, what: str) -> None:
        server = self.server
        if not server.config["aof-load-truncated"]:
            raise AofError(f"{what} in the AOF file {name} at offset {keep}: use "
                           "redis-check-aof --fix, or set aof-load-truncated yes")
        server.log_warning(f"!!! Warning: short read while loading the AOF file {name}!!!")
        server.log_warning(f"!!! Truncating the AOF {name} at offset {keep} !!!")
        os.truncate(self._path(name), keep)
        server.log_warning("AOF loaded anyway because aof-load-truncated is enabled")

    # --- INFO persistence ---

    def info(self) -> Iterator[str]:
        yield f"aof_enabled:{int(self.on)}"
        yield f"aof_rewrite_in_progress:{int(bool(self.child_pid))}"
        yield f"aof_rewrite_scheduled:{int(self.rewrite_scheduled)}"
        yield f"aof_last_rewrite_time_sec:{self.last_rewrite_secs}"
        current = int(time.time() - self.child_start) if self.child_pid else -1
        yield f"aof_current_rewrite_time_sec:{current}"
        yield f"aof_last_bgrewrite_status:{'ok' if self.last_rewrite_ok else 'err'}"
        yield f"aof_rewrites:{self.rewrites}"
        yield f"aof_rewrites_consecutive_failures:{self.rewrite_failures}"
        yield f"aof_last_write_status:{'ok' if self.write_ok else 'err'}"
        yield "aof_last_cow_size:0"

    def info_enabled(self) -> Iterator[str]:
        """The fields Redis adds while the AOF is on (after module_fork_*)."""
        if not self.on:
            return
        yield f"aof_current_size:{self.base_size + self.incr_size}"
        yield f"aof_base_size:{self.base_size}"
        yield f"aof_pending_rewrite:{int(self.rewrite_scheduled)}"
        yield "aof_buffer_length:0"
        pending = self.fsync_pending is not None and not self.fsync_pending.done()
        yield f"aof_pending_bio_fsync:{int(pending)}"
        yield f"aof_delayed_fsync:{self.delayed_fsyncs}"


def _direct_commands(index: dict[bytes, Command]
                     ) -> dict[bytes, tuple[Callable[..., Any], Command, int, int]]:
    """The commands an AOF replay runs by their handler alone (dispatch's checks are for
    clients, and the replay's client passes them all): writes and SELECT, neither
    blocking, nor transactions, nor containers of subcommands. The rest go through
    ``Server.execute``. Each comes with its handler and the fewest and most arguments
    its arity allows, read once here rather than per command."""
    return {name: (cmd.handler, cmd, abs(cmd.arity), cmd.arity if cmd.arity > 0 else 1 << 62)
            for name, cmd in index.items()
            if (cmd.write or cmd.name == "select") and cmd.handler is not None
            and cmd.subcommands is None and not cmd.blocking and cmd.name != "exec"
            and "protected" not in cmd.flags}


def _offset(data: bytes, count: int) -> int:
    """The byte offset after the first ``count`` commands of an append-only file (which
    the replay parsed: they are all there), fed to hiredis in pieces as the replay does."""
    reader = hiredis.Reader()
    offset = fed = 0
    while count:
        argv = reader.gets()
        if argv is False:
            reader.feed(data, fed, min(_CHUNK, len(data) - fed))
            fed += _CHUNK
            continue
        offset += len(encode_command(argv))
        count -= 1
    return offset


def _fsync_quietly(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError:
        pass


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
