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
from typing import TYPE_CHECKING, Any, NamedTuple

from ..acl.check import check_command
from ..base import errors
from ..base.errors import CommandError
from ..cluster.migrate_sockets import MAX_TIMEOUT_MS, MigrateSocket, MigrateSockets, MigrateTimeout
from ..keyspace.database import now_ms
from ..keyspace.notify import NOTIFY_GENERIC
from ..protocol.command import encode_command
from ..protocol.reply import OK
from ..table.command import command
from ..types.rdb import RDB_FILE_VERSION, dump_payload
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
    return dump_payload(value, version=RDB_FILE_VERSION)



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


class _Request(NamedTuple):
    """A MIGRATE's arguments; MIGRATEs that agree on all but ``keys`` can share a batch."""

    host: bytes
    port: bytes
    dbid: int
    timeout: int
    copy: bool
    replace: bool
    auth: tuple[bytes, ...]
    keys: list[bytes]


def _parse(argv: list[bytes]) -> _Request:
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
    return _Request(argv[1], argv[2], dbid, timeout, copy, replace, auth,
                    argv[first_key:first_key + num_keys])


def _lookup(db: Database, keys: list[bytes]) -> list[tuple[bytes, Any]]:
    found = []
    for key in keys:
        value = db.lookup_read(key)
        if value is not None:
            found.append((key, value))
    return found


@command("migrate")
def migrate(c: Client, argv: list[bytes]) -> Any:
    ahead = c.migrated_ahead
    if ahead and ahead[0][0] is argv:
        # Done already, in the batch of an earlier MIGRATE of this pipeline (_followers).
        result = ahead.pop(0)[1]
        c.rewrite()  # its DELs went out with that MIGRATE's
        if isinstance(result, CommandError):
            raise result
        return result
    request = _parse(argv)
    db = c.db
    found = _lookup(db, request.keys)
    if not found:
        c.rewrite()  # keys expired by the lookups went to replicas as DELs already
        return "NOKEY"
    server = c.server
    members = [(argv, found), *_followers(c, argv, request)]
    restore_name = b"RESTORE-ASKING" if server.cluster_enabled else b"RESTORE"
    deleted: list[list[bytes]] = [[] for _ in members]
    results: list[Any] = []
    try:
        tls = server.tls_client if server.config["tls-cluster"] else None
        results = _migrate(server.migrate_sockets, tls, request, db,
                           [found for _, found in members], restore_name, deleted)
    finally:
        # Replicas and the AOF see a DEL of the keys the target acknowledged, nothing else.
        effects = [[b"DEL", *keys] for keys in deleted if keys]
        server.stat_migrated_keys += sum(len(keys) for keys in deleted)
        c.rewrite(*effects)
        done = [(member[0], result) for member, result
                in zip(members[1:], results[1:], strict=False) if result is not None]
        if done:
            c.migrated_ahead = done
    if isinstance(results[0], CommandError):
        raise results[0]
    return results[0]


def _followers(c: Client, argv: list[bytes], request: _Request) -> list[tuple[list[bytes], Any]]:
    """The MIGRATEs right behind this one in the client's pipeline that can go in the same
    batch, with the keys each found (migrateCommand pipelines one call's RESTOREs; this
    pipelines a run of calls, so a source does not wait on its target once per call).

    Each is run now exactly as it would run next: same target, database, timeout and
    options, keys none of the earlier ones hold, and nothing between them (ASKING, MULTI,
    a refusal: routing and ACL are checked here as dispatch would) that could change how it
    runs. Only with REPLACE: a batch cut short by a broken connection may have restored
    keys the source still holds, and a follower left to run on its own must overwrite them.
    """
    running = c.running
    if not request.replace or running is None:
        return []
    at = next((i for i, queued in enumerate(running) if queued is argv), -1)
    if at < 0:
        return []
    server = c.server
    cmd = server.commands["migrate"]
    restricted = not c.user.unrestricted and not c.is_master
    seen = set(request.keys)
    members: list[tuple[list[bytes], Any]] = []
    for queued in running[at + 1:]:
        if len(queued) < 6 or queued[0].lower() != b"migrate":
            break
        try:
            other = _parse(queued)
        except CommandError:
            break
        if other[:7] != request[:7] or not seen.isdisjoint(other.keys):
            break
        if server.cluster is not None and server.cluster.route(c, cmd, queued) is not None:
            break
        if restricted and check_command(c.user, cmd, queued)[0]:
            break
        found = _lookup(c.db, other.keys)
        if not found:
            break  # it answers NOKEY on its own
        seen.update(other.keys)
        members.append((queued, found))
    return members


def _migrate(sockets: MigrateSockets, tls: ssl.SSLContext | None, request: _Request,
             db: Database, batches: list[list[tuple[bytes, Any]]], restore_name: bytes,
             deleted: list[list[bytes]]) -> list[Any]:
    """The transfer of one MIGRATE's keys and its followers', retried once on a fresh
    connection when Redis would retry (the first MIGRATE alone then).

    Each MIGRATE's result: OK, or the CommandError it raises; None for a follower left to
    run on its own (the connection broke before any of its replies).
    """
    may_retry = True
    host, port, dbid, timeout = request.host, request.port, request.dbid, request.timeout
    while True:
        try:
            cs = sockets.get(host, port, timeout, tls)
        except _IO_FAILURES:
            return [CommandError(errors.MIGRATE_CONNECT)]
        select = dbid if cs.last_dbid != dbid else None
        # Each batch as it would go alone (the target runs them all, whatever one
        # answers), written as soon as built: the target restores one while the next is
        # built, rather than waiting for them all.
        written: list[list[bytes]] = []
        write_error, write_retry = "", False
        for found in batches:
            batch, sent = _batch(db, found, restore_name, request.replace, request.auth, select)
            write_error, write_retry = _send(cs, batch, timeout)
            if write_error:
                break
            written.append(sent)
        results: list[Any] = []
        io_error, retry = "", False
        for index, sent in enumerate(written):
            target_error, io_error, retry = _replies(
                cs, db, sent, bool(request.auth), select is not None, request.copy, timeout,
                deleted[index])
            if target_error is not None:
                results.append(CommandError(errors.MIGRATE_TARGET_ERROR % target_error))
            elif not io_error:
                cs.last_dbid = dbid
                results.append(OK)
            elif index:
                results.append(_cut_short(io_error, retry))
            if io_error:
                break
        if not io_error and write_error:
            io_error, retry = write_error, write_retry
            if results:
                results.append(_cut_short(io_error, retry))
        if not io_error:
            return results
        sockets.close(host, port)
        if results:
            return results
        if retry and may_retry:
            may_retry = False
            batches = batches[:1]
            continue
        return [CommandError(errors.MIGRATE_IO % io_error)]


def _cut_short(io_error: str, retry: bool) -> CommandError | None:
    """A follower the connection failed under: run again on its own when Redis would retry
    it (None), else the IOERR it would have answered."""
    return None if retry else CommandError(errors.MIGRATE_IO % io_error)


def _send(cs: MigrateSocket, data: bytes, timeout: int) -> tuple[str, bool]:
    """The write of a batch: the failure (``writing`` or empty), and whether to retry."""
    try:
        cs.write(data, timeout)
    except _IO_FAILURES as exc:
        return "writing", not isinstance(exc, MigrateTimeout)
    return "", False


def _replies(cs: MigrateSocket, db: Database, sent: list[bytes], auth: bool,
             select: bool, copy: bool, timeout: int,
             deleted: list[bytes]) -> tuple[str | None, str, bool]:
    """Read one batch's replies, deleting each acknowledged key unless COPY.

    Returns the target's first error (its text after the ``-``), the socket failure
    (``reading`` or empty) and whether that failure may be retried on a fresh connection:
    not after a timeout, nor once a RESTORE reply was read.
    """
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
