"""RDB snapshot files (rdb.c): the whole keyspace written and read back.

The file is what Redis 7.0 writes: ``REDIS0010``, the aux fields (redis-ver, redis-bits,
ctime, used-mem, aof-base), the function libraries' code (FUNCTION2), per non-empty database SELECTDB + RESIZEDB then its keys
(EXPIRETIME_MS, IDLE or FREQ when the maxmemory policy is LRU or LFU, type, key, value in
the encodings of ``rdb.py``'s registry), EOF and the CRC64 of everything before it
(zero when rdbchecksum is off). Values are compressed with liblzf itself when it is
installed (Debian's redis-server links it); without it strings are written uncompressed,
which is valid RDB: the pure-Python compressor would cost ~50 us per value.

Loading goes in steps between which the caller may run the event loop (persistence.py
does at start); keys already expired are skipped, as a master does.
"""

from __future__ import annotations

import io
import os
import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from ..base.errors import CommandError
from ..base.keyindex import CLOCK_MASK, POS_MASK
from ..keyspace.database import Database, now_ms
from ..keyspace.lfu import LRU_CLOCK_MAX, is_lfu_policy, set_access_clock
from ..keyspace.memusage import used_memory
from ..types.rdb import (
    FILE_LOADERS,
    LOADERS,
    NATIVE_LZF,
    RDB_FILE_VERSION,
    SAVERS,
    RdbError,
    Reader,
    Writer,
    crc64,
    lzf_compress,
)
from .collector import collector_paused
from .crcchild import ChecksumChild
from .rdbscan import scan_plain

if TYPE_CHECKING:
    from .context import Server

OPCODE_FUNCTION2 = 245
OPCODE_FUNCTION_PRE_GA = 246
OPCODE_MODULE_AUX = 247
OPCODE_IDLE = 248
OPCODE_FREQ = 249
OPCODE_AUX = 250
OPCODE_RESIZEDB = 251
OPCODE_EXPIRETIME_MS = 252
OPCODE_EXPIRETIME = 253
OPCODE_SELECTDB = 254
OPCODE_EOF = 255

FLUSH_BYTES = 1 << 22
LOAD_STEP_KEYS = 2048  # keys loaded between two turns of the event loop


class SnapshotError(Exception):
    """A snapshot that cannot be loaded; the text is what the log says."""


def _policy_clock(server: Server) -> str:
    """Which access clock the file keeps: rdbSaveKeyValuePair's savelru / savelfu."""
    policy = server.config["maxmemory-policy"]
    if policy.endswith("-lru"):
        return "lru"
    return "lfu" if is_lfu_policy(policy) else ""


def write_snapshot(server: Server, path: str) -> int:
    """rdbSaveRio into ``path`` (fsynced); returns the number of keys written."""
    with open(path, "wb") as f:
        written = write_rdb(server, f, with_data=True)
        f.flush()
        os.fsync(f.fileno())
    return written


def snapshot_without_data(server: Server, with_functions: bool) -> bytes:
    """An RDB without the keys, with or without the function libraries (REPLCONF
    rdb-filter-only)."""
    out = io.BytesIO()
    write_rdb(server, out, with_data=False, with_functions=with_functions)
    return out.getvalue()


def write_rdb(server: Server, f: BinaryIO, with_data: bool, with_functions: bool = True) -> int:
    """rdbSaveRio: the RDB of every database (or none) into ``f``; the keys written."""
    config = server.config
    compress = config["rdbcompression"] and NATIVE_LZF is not None
    w = Writer(compress, NATIVE_LZF[0] if NATIVE_LZF is not None else lzf_compress)
    checksum = config["rdbchecksum"]
    delay = config["rdb-key-save-delay"] / 1e6
    clock_kind = _policy_clock(server)
    stats = server.keyspace_stats
    lfu = stats.lfu
    now_clock = int(server.now) & LRU_CLOCK_MAX
    buf = w.buf
    save_len = w.save_len
    save_string = w.save_string
    savers = SAVERS
    crc = 0
    written = 0
    def flush() -> None:
        nonlocal crc
        if checksum:
            crc = crc64(buf, crc)
        f.write(buf)
        buf.clear()

    buf += b"REDIS%04d" % RDB_FILE_VERSION
    aux = [("redis-ver", server.version), ("redis-bits", "64"),
           ("ctime", str(int(time.time()))), ("used-mem", str(used_memory(server)))]
    prop = server.propagation
    if prop.backlog is not None:  # rdbPopulateSaveInfo: a restart can PSYNC from here
        aux += [("repl-stream-db", str(max(prop.selected_db, 0))),
                ("repl-id", server.replication.replid), ("repl-offset", str(prop.offset))]
    aux.append(("aof-base", "0"))
    for name, value in aux:
        buf.append(OPCODE_AUX)
        save_string(name.encode())
        save_string(value.encode())
    for code in server.functions.codes() if with_functions else ():  # rdbSaveFunctions
        buf.append(OPCODE_FUNCTION2)
        save_string(code)
    for db in server.dbs if with_data else ():
        if not db.index:
            continue
        buf.append(OPCODE_SELECTDB)
        save_len(db.id)
        buf.append(OPCODE_RESIZEDB)
        save_len(len(db.index))
        save_len(len(db.expires))
        expires = db.expires
        kv, meta = db.kv, db.meta
        for key, entry in db.index.items():
            pos = entry & POS_MASK
            if entry > POS_MASK:
                buf.append(OPCODE_EXPIRETIME_MS)
                buf += expires.time_of(entry).to_bytes(8, "little", signed=True)
            if clock_kind == "lru":
                clock = meta[pos] & CLOCK_MASK
                buf.append(OPCODE_IDLE)
                save_len(now_clock - clock if now_clock >= clock
                         else now_clock + LRU_CLOCK_MAX - clock)
            elif clock_kind == "lfu" and lfu is not None:
                buf.append(OPCODE_FREQ)
                buf.append(lfu.decayed(meta[pos] & CLOCK_MASK))
            value = kv[2 * pos + 1]
            type_byte, saver = savers[value.__class__]
            buf.append(type_byte)
            save_string(key)
            saver(w, value)
            written += 1
            if delay > 0:
                time.sleep(delay)
            if len(buf) > FLUSH_BYTES:
                flush()
    buf.append(OPCODE_EOF)
    flush()
    f.write(crc.to_bytes(8, "little"))
    return written


class LoadProgress:
    """Counters of one load: what INFO shows while it runs and after."""

    __slots__ = ("total_bytes", "loaded_bytes", "keys_loaded", "keys_expired", "start",
                 "replication")

    def __init__(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes
        self.loaded_bytes = 0
        self.keys_loaded = 0
        self.keys_expired = 0
        self.start = time.time()
        self.replication: dict[str, str] = {}  # repl-id / repl-offset aux fields


def load_snapshot(server: Server, data: bytes, progress: LoadProgress,
                  merge: bool = False) -> Iterator[None]:
    """rdbLoadRio over ``data``, yielding every LOAD_STEP_KEYS keys (the caller may run the
    event loop then). Keys go through Database.load/set_expire; ``merge`` replaces keys that
    exist (DEBUG RELOAD MERGE) where a plain load fails on a duplicate.

    The cyclic garbage collector is off meanwhile (collector.py).
    """
    with collector_paused():
        yield from _load(server, data, progress, merge)


def debug_delay(usec: int) -> None:
    """debugDelay, for ``key-load-delay``: sleep ``usec`` microseconds, or, when negative,
    1 us once in ``-usec`` calls on average (short sleeps made rare rather than shorter)."""
    if usec < 0:
        usec = 1 if random.randrange(-usec) == 0 else 0
    if usec:
        time.sleep(usec / 1e6)


def _load_run(db: Database, run: list[Any], progress: LoadProgress) -> None:
    """Store keys read in a row (keys and values alternating) at once, and empty ``run``;
    one by one when one of them is already there, to fail on it as rdbLoad does."""
    if not db.load_run(run):
        for i in range(0, len(run), 2):
            key = run[i]
            if key in db.index:
                raise SnapshotError(f"RDB has duplicated key '{key.decode(errors='replace')}' "
                                    f"in DB {db.id}")
            db.load(key, run[i + 1])
    progress.keys_loaded += len(run) >> 1
    run.clear()


def _load(server: Server, data: bytes, progress: LoadProgress, merge: bool) -> Iterator[None]:
    if data[:5] != b"REDIS":
        raise SnapshotError("Wrong signature trying to load DB from file")
    try:
        version = int(data[5:9])
    except ValueError:
        raise SnapshotError("Wrong signature trying to load DB from file") from None
    if not 1 <= version <= RDB_FILE_VERSION + 1:
        raise SnapshotError(f"Can't handle RDB format version {version}")

    # The CRC64 trailer is normally the file's last 8 bytes: a child checks them meanwhile.
    crc = (ChecksumChild(data, len(data) - 8)
           if version >= 5 and server.config["rdbchecksum"] and any(data[-8:]) else None)
    try:
        yield from _load_keys(server, data, version, progress, merge, crc)
    finally:
        if crc is not None:
            crc.close()


def _load_keys(server: Server, data: bytes, version: int, progress: LoadProgress,
               merge: bool, crc: ChecksumChild | None) -> Iterator[None]:
    r = Reader(data, 9)
    read_byte = r.read_byte
    load_len = r.load_len
    load_string = r.load_string
    loaders = LOADERS
    file_loaders = FILE_LOADERS
    run: list[Any] = []  # keys and values read in a row, without TTL, not yet stored
    dbs = server.dbs
    db = dbs[0]
    now = now_ms()
    expire = -1
    idle = freq = -1
    since_yield = 0
    load_delay = server.config["key-load-delay"]
    plain = not merge and not load_delay  # keys without opcodes may go to scan_plain
    try:
        while True:
            if plain and expire == -1 and idle < 0 and freq < 0:
                before = len(run)
                r.pos = scan_plain(data, r.pos, LOAD_STEP_KEYS - since_yield, file_loaders, run)
                since_yield += (len(run) - before) >> 1
                if since_yield >= LOAD_STEP_KEYS:
                    since_yield = 0
                    _load_run(db, run, progress)
                    progress.loaded_bytes = r.pos
                    yield
                    continue
            pos = r.pos
            kind = data[pos]
            if kind < OPCODE_FUNCTION2:  # a key and its value
                one: list[Any] = []
                end = scan_plain(data, pos, 1, file_loaders, one)
                if one:
                    key, value = one
                    r.pos = end
                else:  # a long key or value, or a type scan_plain leaves to the reader
                    r.pos = pos + 1
                    key = load_string()
                    if kind in file_loaders:
                        value = file_loaders[kind](key, load_string())
                    else:
                        loader = loaders.get(kind)
                        if loader is None:
                            raise SnapshotError(f"Unknown RDB encoding type {kind}")
                        value = loader(r)
                if expire == -1 and idle < 0 and freq < 0 and not merge:
                    run.append(key)
                    run.append(value)
                elif expire != -1 and expire < now:
                    progress.keys_expired += 1
                else:
                    if run:
                        _load_run(db, run, progress)
                    if key in db.index:
                        if not merge:
                            raise SnapshotError(
                                f"RDB has duplicated key '{key.decode(errors='replace')}' "
                                f"in DB {db.id}")
                        db.delete_stored(key)
                    db.load(key, value)
                    if expire != -1:
                        db.set_expire(key, expire)
                    if idle >= 0 or freq >= 0:
                        set_access_clock(db, key, idle, freq)
                    progress.keys_loaded += 1
                expire = -1
                idle = freq = -1
                if load_delay:
                    debug_delay(load_delay)
                since_yield += 1
                if since_yield >= LOAD_STEP_KEYS:
                    since_yield = 0
                    if run:
                        _load_run(db, run, progress)
                    progress.loaded_bytes = r.pos
                    yield
                continue
            if run:
                _load_run(db, run, progress)
            r.pos = pos + 1
            if kind == OPCODE_EXPIRETIME_MS:
                expire = int.from_bytes(r.read(8), "little", signed=True)
                continue
            if kind == OPCODE_EXPIRETIME:
                expire = int.from_bytes(r.read(4), "little", signed=True) * 1000
                continue
            if kind == OPCODE_IDLE:
                idle = load_len()
                continue
            if kind == OPCODE_FREQ:
                freq = read_byte()
                continue
            if kind == OPCODE_EOF:
                break
            if kind == OPCODE_SELECTDB:
                db_id = load_len()
                if db_id >= len(dbs):
                    raise SnapshotError(
                        "FATAL: Data file was created with a Redis server configured to handle "
                        f"more than {len(dbs)} databases. Exiting")
                db = dbs[db_id]
                continue
            if kind == OPCODE_RESIZEDB:
                load_len()
                load_len()
                continue
            if kind == OPCODE_AUX:
                name = load_string()
                value = load_string()
                if name in (b"repl-id", b"repl-offset"):
                    progress.replication[name.decode()] = value.decode("ascii", "replace")
                continue
            if kind == OPCODE_FUNCTION2:  # rdbFunctionLoad
                code = load_string()
                try:
                    server.functions.load_code(code)
                except CommandError as exc:
                    raise SnapshotError(f"Failed loading library: {exc.message}") from None
                continue
            raise SnapshotError("The RDB file contains module or pre-GA function data "
                                "this server cannot load")
    except (RdbError, IndexError) as exc:
        raise SnapshotError(f"Short read or corrupt data loading DB: {exc}") from None
    progress.loaded_bytes = r.pos
    if version >= 5:
        expected = int.from_bytes(r.read(8), "little") if r.pos + 8 <= len(data) else None
        if expected is None:
            raise SnapshotError("Short read loading DB: the checksum is missing")
        if expected and server.config["rdbchecksum"]:
            actual = (crc.result(r.pos - 8) if crc is not None
                      else crc64(memoryview(data)[:r.pos - 8]))
            if actual != expected:
                raise SnapshotError(f"Wrong RDB checksum expected: ({expected:016x}) "
                                    f"got ({actual:016x}). Aborting now.")
