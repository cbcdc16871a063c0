"""DEBUG: the subcommands that mean something for this node (see HELP).

Refused unless enable-debug-command allows it (dispatch checks the ``protected`` flag
before authentication, as processCommand does). DEBUG is one command, not a container:
its subcommands are parsed here, with debug.c's lenient number parsing (strtod, atoi).
ASSERT fails as a bug in a handler does here (an error reply, handler_faults.py) where
Redis crashes; ASSERT-AFTER-WRITE (ours) fails after writing a key, for the tests of a
half-written dataset. Left out: the crash and restart helpers (SEGFAULT, PANIC, OOM,
RESTART ...), LOADAOF
(no AOF yet), the C-structure dumps (SDSLEN,
LISTPACK, QUICKLIST, HTSTATS, STRUCTSIZE, MALLCTL) and CHANGE-REPL-ID.
"""

from __future__ import annotations

import errno
import math
import random
import re
import struct
import time
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..base.glob import stringmatchlen
from ..config.directives import ConfigError, parse_memory
from ..keyspace.lfu import LRU_CLOCK_MAX
from ..keyspace.memusage import dataset_bytes
from ..persistence.rdbfile import SnapshotError
from ..protocol.reply import OK, Raw, SetReply, Verbatim
from ..table.command import command
from ..types.rdb import SAVERS, Writer
from ..types.typeinfo import ZERO_DIGEST, Digest, info_of, mix_digest, object_digest, xor_digest
from .args import LLONG_MAX, help_reply, subcommand_syntax_error, to_int_range
from .object import idle_seconds, refcount

if TYPE_CHECKING:
    from ..keyspace.database import Database
    from .context import Client, Server

HELP = (
    "ASSERT",
    "    Fail as a bug in a command does: an internal error reply and a logged traceback.",
    "ASSERT-AFTER-WRITE <key>",
    "    Set <key>, then fail as ASSERT: the replicas and the AOF are remade from the data.",
    "CHANGE-REPL-ID",
    "    Start a new replication history (new replication id, no secondary id).",
    "DIGEST",
    "    A hex signature of the whole dataset: equal datasets give equal signatures.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    A hex signature of the value of each <key>.",
    "ERROR <string>",
    "    Reply with <string> as an error, to test how clients handle errors.",
    "FOOTPRINT",
    "    The dataset's cost as tracked write by write (used_memory_dataset), and",
    "    recomputed now from every key: the two are equal unless accounting drifted.",
    "LISTPACK <key>",
    "    Succeeds when the value at <key> is listpack-encoded (Redis prints its structure).",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Low level facts about the value at <key>.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys <prefix>:<n> (prefix \"key\" by default) holding",
    "    \"value:<n>\", padded or cut to <size> bytes when given. Existing keys are kept.",
    "RELOAD [MERGE] [NOFLUSH] [NOSAVE]",
    "    Save the RDB on disk and reload it back to memory. By default it will save",
    "    the RDB file and load it back. NOFLUSH keeps the current dataset (MERGE then",
    "    replaces keys the file also has; without it they are an error), NOSAVE loads",
    "    the file as it is on disk.",
    "PAUSE-CRON <0|1>",
    "    1 stops the periodic background work (expiry, timeouts, persistence); 0 resumes it.",
    "PROTOCOL <type>",
    "    Reply with a sample value of <type>: string, integer, double, bignum, null,",
    "    array, set, map, attrib, push, verbatim, true or false.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Accepted for Redis's test suites (a size between 1 byte and 4gb); no effect here.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    0 stops deleting expired keys in the background (they still expire when",
    "    accessed); 1 starts it again.",
    "SLEEP <seconds>",
    "    Stop the whole server for <seconds>; decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run random glob patterns against random strings (a crash test).",
)

_STRTOD = re.compile(
    rb"\s*[+-]?(?:0x(?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(?:p[+-]?\d+)?"
    rb"|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE)
_ATOI = re.compile(rb"\s*[+-]?\d+")


def strtod_prefix(arg: bytes) -> float:
    """strtod(arg, NULL): the longest number at the start of ``arg``, else 0."""
    m = _STRTOD.match(arg)
    if m is None:
        return 0.0
    text = m.group().strip().decode()
    return float.fromhex(text) if "x" in text.lower() else float(text)


def atoi(arg: bytes) -> int:
    m = _ATOI.match(arg)
    return int(m.group()) if m is not None else 0


def dataset_digest(server: Server) -> Digest:
    """computeDatasetDigest: per database its id, mixed in order; keys xor-ed in any order."""
    final = ZERO_DIGEST
    for db in server.dbs:
        if not len(db):
            continue
        final = mix_digest(final, struct.pack(">I", db.id))
        expires = db.expires
        for key, value in db.items():
            digest = object_digest(mix_digest(ZERO_DIGEST, key), value, key in expires)
            final = xor_digest(final, digest)
    return final


def serialized_length(value: Any) -> int:
    """rdbSavedObjectLen: the value's RDB form, compressed as snapshots would be."""
    writer = Writer(compress=True)
    SAVERS[type(value)][1](writer, value)
    return len(writer.buf)


def object_line(server: Server, db: Database, key: bytes, value: Any) -> str:
    """The DEBUG OBJECT line; the address is the Python object's identity."""
    clock = db.get_clock(key)
    idle = idle_seconds(clock, int(server.now) & LRU_CLOCK_MAX)
    return (f"Value at:{id(value):#x} refcount:{refcount(server, value)} "
            f"encoding:{info_of(value).encoding(value)} "
            f"serializedlength:{serialized_length(value)} "
            f"lru:{clock} lru_seconds_idle:{idle}")


def populate(c: Client, argv: list[bytes]) -> Any:
    count = to_int_range(argv[2], 0, LLONG_MAX, errors.POSITIVE_VALUE)
    prefix = argv[3] if len(argv) > 3 else b"key"
    size = to_int_range(argv[4], 0, LLONG_MAX, errors.POSITIVE_VALUE) if len(argv) > 4 else 0
    db = c.db
    for n in range(count):
        key = b"%s:%d" % (prefix, n)
        if db.lookup_write(key) is not None:
            continue
        value = b"value:%d" % n
        if size:
            value = value[:size].ljust(size, b"\0")
        db.add(key, value)
    return OK


def reload(c: Client, argv: list[bytes]) -> Any:
    """DEBUG RELOAD: SAVE, empty the dataset, load the file back (debug.c)."""
    merge = False
    flush = save = True
    for opt in argv[2:]:
        word = opt.lower()
        if word == b"merge":
            merge = True
        elif word == b"noflush":
            flush = False
        elif word == b"nosave":
            save = False
        else:
            raise CommandError(errors.DEBUG_RELOAD_OPTIONS)
    server = c.server
    snapshots = server.snapshots
    if save and not snapshots.save():
        raise CommandError(errors.GENERIC_ERR)
    if flush:
        dirty = server.keyspace_stats.dirty
        for db in server.dbs:
            db.flush()
        server.keyspace_stats.signal_flushed()
        server.keyspace_stats.dirty = dirty
    data = snapshots.read_file()
    try:
        if data is None:
            raise SnapshotError(f"Fatal error loading the DB: {errno.errorcode[errno.ENOENT]}")
        snapshots.load(data, merge)
    except SnapshotError as exc:
        server.log_warning(str(exc))
        raise CommandError(errors.DEBUG_RELOAD_FAILED) from None
    server.log_warning("DB reloaded by DEBUG RELOAD")
    return OK


def protocol_sample(c: Client, kind: bytes) -> Any:
    """DEBUG PROTOCOL: one value of each RESP type, for client tests."""
    if kind == b"string":
        return b"Hello World"
    if kind == b"integer":
        return 12345
    if kind == b"double":
        return 3.141
    if kind == b"bignum":
        digits = b"1234567999999999999999999999999999999"
        return Raw(b"(%s\r\n" % digits if c.resp3 else b"$%d\r\n%s\r\n" % (len(digits), digits))
    if kind == b"null":
        return None
    if kind == b"array":
        return [0, 1, 2]
    if kind == b"set":
        return SetReply([0, 1, 2])
    if kind == b"map":
        return {0: False, 1: True, 2: False}
    if kind == b"attrib":
        attribute = b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n" if c.resp3 else b""
        return Raw(attribute + b"$39\r\nSome real reply following the attribute\r\n")
    if kind == b"push":
        if not c.resp3:
            raise CommandError(errors.RESP2_NOT_SUPPORTED)
        return Raw(b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
                   b"$40\r\nSome real reply following the push reply\r\n")
    if kind == b"verbatim":
        return Verbatim("This is a verbatim\nstring")
    if kind == b"true":
        return True
    if kind == b"false":
        return False
    raise CommandError(errors.DEBUG_PROTOCOL_TYPE)


@command("debug")
def debug(c: Client, argv: list[bytes]) -> Any:
    sub = argv[1].lower()
    argc = len(argv)
    server = c.server
    if sub == b"help" and argc == 2:
        return help_reply("DEBUG", HELP)
    if sub == b"sleep" and argc == 3:
        seconds = strtod_prefix(argv[2])
        if math.isfinite(seconds) and seconds > 0:
            time.sleep(seconds)
        return OK
    if sub == b"set-active-expire" and argc == 3:
        server.active_expire_enabled = atoi(argv[2]) != 0
        return OK
    if sub == b"digest" and argc == 2:
        return dataset_digest(server).hex()
    if sub == b"digest-value":
        expires = c.db.expires
        out = []
        for key in argv[2:]:
            value = c.db.raw(key)
            digest = ZERO_DIGEST if value is None else object_digest(ZERO_DIGEST, value, key in expires)
            out.append(digest.hex())
        return out
    if sub == b"object" and argc == 3:
        value = c.db.raw(argv[2])
        if value is None:
            raise CommandError(errors.NO_SUCH_KEY)
        return object_line(server, c.db, argv[2], value)
    if sub == b"footprint" and argc == 2:
        server.keyspace_stats.settle()
        return [server.keyspace_stats.data_bytes, dataset_bytes(server)]
    if sub == b"populate" and 3 <= argc <= 5:
        return populate(c, argv)
    if sub == b"log" and argc == 3:
        server.log_warning("DEBUG LOG: " + argv[2].decode("utf-8", "surrogateescape"))
        return OK
    if sub == b"error" and argc == 3:
        text = argv[2].replace(b"\r", b" ").replace(b"\n", b" ")
        return Raw(b"-%s\r\n" % text)
    if sub == b"reload":
        return reload(c, argv)
    if sub == b"protocol" and argc == 3:
        return protocol_sample(c, argv[2].lower())
    return _testing_subcommand(c, argv)


def _testing_subcommand(c: Client, argv: list[bytes]) -> Any:
    """The DEBUG subcommands Redis's own test suites and tools use to steer the server."""
    sub = argv[1].lower()
    argc = len(argv)
    server = c.server
    if sub == b"change-repl-id" and argc == 2:
        server.log_warning("Changing replication IDs after receiving DEBUG change-repl-id")
        server.replication.new_history()
        return OK
    if sub == b"assert" and argc == 2:
        raise AssertionError("DEBUG ASSERT")
    if sub == b"assert-after-write" and argc == 3:
        c.db.set(argv[2], b"written")
        raise AssertionError("DEBUG ASSERT-AFTER-WRITE")
    if sub == b"pause-cron" and argc == 3:
        server.cron_paused = atoi(argv[2]) != 0
        return OK
    if sub == b"stringmatch-test" and argc == 2:
        stringmatch_fuzz()
        return "Apparently Redis did not crash: test passed"
    if sub == b"quicklist-packed-threshold" and argc == 3:
        try:
            size = parse_memory(argv[2].decode("utf-8", "surrogateescape"))
        except ConfigError:
            raise CommandError(errors.DEBUG_PACKED_THRESHOLD) from None
        if size > 2**32 - 2**20:  # quicklistisSetPackedThreshold (0: its default)
            raise CommandError(errors.DEBUG_PACKED_THRESHOLD)
        return OK
    if sub == b"listpack" and argc == 3:
        value = c.db.raw(argv[2])
        if value is None:
            raise CommandError(errors.NO_SUCH_KEY)
        if info_of(value).encoding(value) != "listpack":
            raise CommandError(errors.DEBUG_NOT_LISTPACK)
        return "Listpack structure printed on stdout"
    raise subcommand_syntax_error(argv)


def stringmatch_fuzz() -> None:
    """stringmatchlen_fuzz_test: random patterns against random strings, for crashes."""
    rng = random.Random()
    alphabet = b"*?[]^-\\abc"
    for _ in range(1000):
        pattern = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 32)))
        string = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 32)))
        stringmatchlen(pattern, string)
