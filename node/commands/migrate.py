"""MIGRATE and RESTORE-ASKING (cluster.c migrateCommand): moving keys to another node.

MIGRATE sends one pipelined batch: AUTH when asked, SELECT when the cached connection
last used another database, then one RESTORE per live key (RESTORE-ASKING in cluster
mode, so the importing side accepts it before it owns the slot), and reads the replies in
order. Each acknowledged key is deleted here unless COPY. A broken cached connection is
reopened and the batch sent once more, unless the failure was a timeout or replies were
already read, exactly when Redis retries. RESTORE-ASKING is RESTORE with the ``asking``
flag that routing.py honours on an importing slot.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..cluster.migrate_sockets import MAX_TIMEOUT_MS, MigrateSocket, MigrateSockets, MigrateTimeout
from ..keyspace.database import now_ms
from ..keyspace.notify import NOTIFY_GENERIC
from ..protocol.command import encode_command
from ..protocol.reply import OK
from ..table.command import command
from ..types.rdb import RDB_FILE_VERSION, crc64, dump_payload
from .args import to_int
from .dump import restore

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from .context import Client


@command("restore-asking")
def restore_asking(c: Client, argv: list[bytes]) -> Any:
    """RESTORE from a migrating node: each one done counts as a key imported (metrics)."""
    reply = restore(c, argv)
    c.server.stat_imported_keys += 1
    return reply


# What a failed connect, read or write can raise.
_IO_FAILURES = (OSError, MigrateTimeout, OverflowError, ValueError, UnicodeError)


def _payload(value: Any) -> bytes:
    """The DUMP payload stamped with RDB version 10 rather than DUMP's 11: no type we
    write needs 11, and a Redis 7.0 target refuses payloads newer than it knows."""
    body = dump_payload(value)[:-10] + RDB_FILE_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")



def _batch(db: Database, found: list[tuple[bytes, Any]], restore_name: bytes, replace: bool,
           auth: tuple[bytes, ...], select: int | None) -> tuple[bytes, list[bytes]]:
    """The pipelined requests, and the keys they restore (keys expired meanwhile dropped)."""
    out = []
    if auth:
        out.append(encode_command([b"AUTH", *auth]))
    if select is not None:
        out.append(encode_command([b"SELECT", b"%d" % select]))
    sent = []
    now = now_ms()
    for key, value in found:
        ttl = 0
        expire_at = db.get_expire(key)
        if expire_at != -1:
            ttl = expire_at - now
            if ttl < 0:
                continue
            ttl = max(ttl, 1)
        sent.append(key)
        parts = [restore_name, key, b"%d" % ttl, _payload(value)]
        if replace:
            parts.append(b"REPLACE")
        out.append(encode_command(parts))
    return b"".join(out), sent


@command("migrate")
def migrate(c: Client, argv: list[bytes]) -> Any:
    copy = replace = False
    auth: tuple[bytes, ...] = ()
    first_key, num_keys = 3, 1
    argc = len(argv)
    j = 6
    while j < argc:
        more = argc - 1 - j
        opt = argv[j].lower()
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise CommandError(errors.SYNTAX)
            j += 1
            auth = (argv[j],)
        elif opt == b"auth2":
            if more < 2:
                raise CommandError(errors.SYNTAX)
            auth = (argv[j + 1], argv[j + 2])
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise CommandError(errors.MIGRATE_KEYS_NOT_EMPTY)
            first_key, num_keys = j + 1, argc - j - 1
            break
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    timeout = to_int(argv[5])
    dbid = to_int(argv[4])
    if timeout <= 0:
        timeout = 1000
    timeout = min(timeout, MAX_TIMEOUT_MS)  # some 24 days: as good as forever
    db = c.db
    found = []
    for key in argv[first_key:first_key + num_keys]:
        value = db.lookup_read(key)
        if value is not None:
            found.append((key, value))
    if not found:
        c.rewrite()  # keys expired by the lookups went to replicas as DELs already
        return "NOKEY"
    server = c.server
    sockets = server.migrate_sockets
    host, port = argv[1], argv[2]
    restore_name = b"RESTORE-ASKING" if server.cluster_enabled else b"RESTORE"
    deleted: list[bytes] = []
    try:
        tls = server.tls_client if server.config["tls-cluster"] else None
        return _migrate(sockets, tls, host, port, timeout, dbid, db, found, restore_name,
                        replace, auth, copy, deleted)
    finally:
        # Replicas and the AOF see a DEL of the keys the target acknowledged, nothing else.
        if deleted:
            server.stat_migrated_keys += len(deleted)
            c.rewrite([b"DEL", *deleted])
        else:
            c.rewrite()


def _migrate(sockets: MigrateSockets, tls: ssl.SSLContext | None, host: bytes, port: bytes,
             timeout: int, dbid: int,
             db: Database, found: list[tuple[bytes, Any]], restore_name: bytes,
             replace: bool, auth: tuple[bytes, ...], copy: bool, deleted: list[bytes]) -> Any:
    """The transfer, retried once on a fresh connection when Redis would retry."""
    may_retry = True
    while True:
        try:
            cs = sockets.get(host, port, timeout, tls)
        except _IO_FAILURES:
            raise CommandError(errors.MIGRATE_CONNECT) from None
        select = dbid if cs.last_dbid != dbid else None
        batch, sent = _batch(db, found, restore_name, replace, auth, select)
        target_error, io_error, retry = _exchange(cs, db, batch, sent, bool(auth),
                                                  select is not None, copy, timeout, deleted)
        if io_error:
            sockets.close(host, port)
        if target_error is not None:
            raise CommandError(errors.MIGRATE_TARGET_ERROR % target_error)
        if io_error:
            if retry and may_retry:
                may_retry = False
                continue
            raise CommandError(errors.MIGRATE_IO % io_error)
        cs.last_dbid = dbid
        return OK


def _exchange(cs: MigrateSocket, db: Database, batch: bytes, sent: list[bytes], auth: bool,
              select: bool, copy: bool, timeout: int,
              deleted: list[bytes]) -> tuple[str | None, str, bool]:
    """Send the batch and read its replies, deleting each acknowledged key unless COPY.

    Returns the target's first error (its text after the ``-``), the socket failure
    (``writing``, ``reading`` or empty) and whether that failure may be retried on a
    fresh connection: not after a timeout, nor once a RESTORE reply was read.
    """
    try:
        cs.write(batch, timeout)
    except _IO_FAILURES as exc:
        return None, "writing", not isinstance(exc, MigrateTimeout)
    try:
        auth_reply = cs.read_line(timeout) if auth else b""
        select_reply = cs.read_line(timeout) if select else b""
    except _IO_FAILURES as exc:
        return None, "reading", not isinstance(exc, MigrateTimeout)
    target_error: str | None = None
    for done, key in enumerate(sent):
        try:
            line = cs.read_line(timeout)
        except _IO_FAILURES as exc:
            return target_error, "reading", done == 0 and not isinstance(exc, MigrateTimeout)
        if auth_reply[:1] == b"-" or select_reply[:1] == b"-" or line[:1] == b"-":
            if target_error is None:
                cs.last_dbid = -1  # the target's database is no longer known
                failed = (auth_reply if auth_reply[:1] == b"-"
                          else select_reply if select_reply[:1] == b"-" else line)
                target_error = failed[1:].decode("utf-8", "surrogateescape")
        elif not copy:
            db.delete_stored(key)
            db.notify(NOTIFY_GENERIC, "del", key)
            deleted.append(key)
    return target_error, "", False
