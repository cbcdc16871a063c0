"""CLIENT: connection introspection and control (networking.c clientCommand, Redis 7.2).

CLIENT LIST / INFO print Redis 7.2's fields in its order. Where Python keeps no equivalent
of a Redis buffer, the value is the nearest thing we have:

* ``qbuf``: bytes received and not yet parsed into a request; ``qbuf-free``: 0 (no
  preallocated query buffer);
* ``argv-mem``: the argument bytes of the command running now (only the caller has one);
* ``multi-mem``: 0; ``multi``: -1 outside MULTI, 0 inside (the queue is not counted);
* ``rbs``: Redis's initial reply buffer size (16384); ``rbp``: the largest reply batch so
  far, capped at ``rbs``; ``obl``: reply bytes built in this batch and not yet written;
* ``oll``: 1 when the transport holds unsent bytes; ``omem``: those bytes;
* ``tot-mem``: qbuf + argv-mem + rbs + obl + omem;
* ``sub``/``psub``/``ssub``: 0 (pub/sub is not implemented yet).

``user`` is the ACL user the client authenticated as (``default`` until AUTH or HELLO).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..cluster.internal_clients import INTERNAL_NAMES
from ..protocol.reply import OK, Raw, Verbatim
from ..protocol.request import strict_int
from ..table.command import command
from .args import arg_text

if TYPE_CHECKING:
    from .context import Client, Server

NOTHING = Raw(b"")
REPLY_BUFFER_SIZE = 16384
CLIENT_TYPES = {b"normal": "normal", b"slave": "replica", b"replica": "replica",
                b"pubsub": "pubsub", b"master": "master"}

HELP = (
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "HELP",
    "    Prints this help.",
)


def set_client_name(c: Client, name: bytes) -> None:
    """clientSetNameOrReply: no spaces, newlines or other special characters."""
    if any(ch < 33 or ch > 126 for ch in name):
        raise CommandError(errors.CLIENT_NAME_CHARS)
    c.name = name.decode()
    c.internal = c.name in INTERNAL_NAMES


# --- the CLIENT LIST line ---

def client_type(c: Client) -> str:
    """getClientType: our master's link, a replica of ours (not a MONITOR), a subscriber."""
    if c.is_master:
        return "master"
    if c.replica is not None and not c.monitor:
        return "replica"
    return "pubsub" if c.pubsub else "normal"


def _flags(c: Client) -> str:
    """catClientInfoString's flags, in its order."""
    flags = ""
    if c.monitor:
        flags += "O"
    elif c.replica is not None:
        flags += "S"
    if c.is_master:
        flags += "M"
    if c.pubsub:
        flags += "P"
    if c.multi:
        flags += "x"
    if c.waiting:
        flags += "b"
    if c.tracking is not None:
        flags += "t" + ("R" if c.tracking.broken else "") + ("B" if c.tracking.bcast else "")
    if c.dirty_cas:
        flags += "d"
    if c.closing:
        flags += "c"
    if c.readonly:
        flags += "r"
    if c.no_evict:
        flags += "e"
    if c.no_touch:
        flags += "T"
    return flags or "N"


def client_info(c: Client, now: float, argv: list[bytes] | None = None) -> str:
    """catClientInfoString: one CLIENT LIST line (without the newline)."""
    transport = c.transport
    omem = transport.get_write_buffer_size() if transport is not None else 0
    reading = transport is not None and transport.is_reading()
    qbuf = c.parser.buffered + c.queued_bytes  # with what arrived while it waited
    argv_mem = sum(len(a) for a in argv) if argv else 0
    obl = sum(len(chunk) for chunk in c.out)
    multi_mem = sum(len(a) for _, queued in c.mstate.commands for a in queued) if c.multi else 0
    cmd = c.cmd.fullname if c.cmd is not None else "NULL"
    subs = c.subscriptions
    return (
        f"id={c.id} addr={c.addr} laddr={c.laddr} fd={c.fd} name={c.name}"
        f" age={int(now - c.created)} idle={int(now - c.last_interaction)}"
        f" flags={_flags(c)} db={c.db.id} sub={len(subs.channels) if subs else 0}"
        f" psub={len(subs.patterns) if subs else 0} ssub={len(subs.shard) if subs else 0}"
        f" multi={len(c.mstate.commands) if c.multi else -1}"
        f" qbuf={qbuf} qbuf-free={c.parser.free} argv-mem={argv_mem} multi-mem={multi_mem}"
        f" rbs={REPLY_BUFFER_SIZE} rbp={min(c.reply_peak, REPLY_BUFFER_SIZE)}"
        f" obl={obl} oll={1 if omem else 0} omem={omem}"
        f" tot-mem={qbuf + argv_mem + multi_mem + REPLY_BUFFER_SIZE + obl + omem}"
        f" events={'r' if reading else ''}{'w' if omem else ''} cmd={cmd} user={c.user.name.decode('utf-8', 'surrogateescape')}"
        f" redir={c.tracking.redirect if c.tracking is not None else -1} resp={3 if c.resp3 else 2} lib-name={c.lib_name} lib-ver={c.lib_ver}"
    )


def _lines(caller: Client, argv: list[bytes], clients: list[Client]) -> Verbatim:
    now = time.time()
    return Verbatim("".join(
        client_info(c, now, argv if c is caller else None) + "\n" for c in clients))


# --- subcommands ---

@command("client|help")
def client_help(c: Client, argv: list[bytes]) -> Any:
    return list(HELP)


@command("client|id")
def client_id(c: Client, argv: list[bytes]) -> Any:
    return c.id


@command("client|setname")
def client_setname(c: Client, argv: list[bytes]) -> Any:
    set_client_name(c, argv[2])
    return OK


@command("client|getname")
def client_getname(c: Client, argv: list[bytes]) -> Any:
    return c.name.encode("utf-8", "surrogateescape") if c.name else None


@command("client|info")
def client_info_command(c: Client, argv: list[bytes]) -> Any:
    return _lines(c, argv, [c])


@command("client|list")
def client_list(c: Client, argv: list[bytes]) -> Any:
    server = c.server
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = CLIENT_TYPES.get(argv[3].lower())
        if kind is None:
            raise CommandError(errors.CLIENT_UNKNOWN_TYPE % arg_text(argv[3]))
        return _lines(c, argv, [cl for cl in server.clients.values() if client_type(cl) == kind])
    if len(argv) > 3 and argv[2].lower() == b"id":
        chosen = []
        for arg in argv[3:]:
            cid = strict_int(arg)
            if cid is None or not -(2**63) <= cid < 2**63:
                raise CommandError(errors.CLIENT_INVALID_ID)
            found = server.clients.get(cid)
            if found is not None:
                chosen.append(found)
        return _lines(c, argv, chosen)
    if len(argv) != 2:
        raise CommandError(errors.SYNTAX)
    return _lines(c, argv, list(server.clients.values()))


@command("client|kill")
def client_kill(c: Client, argv: list[bytes]) -> Any:
    """Old form ``CLIENT KILL addr`` (may kill the caller) or filters ANDed together."""
    addr = laddr = None
    kind = None
    client_id = 0
    user: bytes | None = None
    skipme = True
    if len(argv) == 3:
        addr = arg_text(argv[2])
        skipme = False
    elif len(argv) > 3:
        i = 2
        while i < len(argv):
            opt = argv[i].lower()
            if i + 1 >= len(argv):
                raise CommandError(errors.SYNTAX)
            value = argv[i + 1]
            if opt == b"id":
                parsed = strict_int(value)
                if parsed is None or not 1 <= parsed < 2**63:
                    raise CommandError(errors.CLIENT_ID_POSITIVE)
                client_id = parsed
            elif opt == b"type":
                kind = CLIENT_TYPES.get(value.lower())
                if kind is None:
                    raise CommandError(errors.CLIENT_UNKNOWN_TYPE % arg_text(value))
            elif opt == b"addr":
                addr = arg_text(value)
            elif opt == b"laddr":
                laddr = arg_text(value)
            elif opt == b"user":
                if c.server.acl.get(value) is None:
                    raise CommandError(errors.NO_SUCH_USER % arg_text(value))
                user = value
            elif opt == b"skipme":
                if value.lower() == b"yes":
                    skipme = True
                elif value.lower() == b"no":
                    skipme = False
                else:
                    raise CommandError(errors.SYNTAX)
            else:
                raise CommandError(errors.SYNTAX)
            i += 2
    killed = 0
    for target in list(c.server.clients.values()):
        if addr is not None and target.addr != addr:
            continue
        if laddr is not None and target.laddr != laddr:
            continue
        if kind is not None and client_type(target) != kind:
            continue
        if client_id and target.id != client_id:
            continue
        if user is not None and target.user.name != user:
            continue
        if target is c and skipme:
            continue
        if target is c:
            c.close_after_reply()
        else:
            target.close()
        killed += 1
    if len(argv) == 3:
        if not killed:
            raise CommandError(errors.NO_SUCH_CLIENT)
        return OK
    return killed


@command("client|setinfo")
def client_setinfo(c: Client, argv: list[bytes]) -> Any:
    attr, value = argv[2], argv[3]
    if attr.lower() not in (b"lib-name", b"lib-ver"):
        raise CommandError(errors.CLIENT_UNRECOGNIZED_OPTION % arg_text(attr))
    if any(ch < 33 or ch > 126 for ch in value):
        raise CommandError(errors.CLIENT_ATTR_CHARS % arg_text(attr))
    if attr.lower() == b"lib-name":
        c.lib_name = value.decode()
    else:
        c.lib_ver = value.decode()
    return OK


def _pause_timeout(server: Server, arg: bytes) -> float:
    """getTimeoutFromObjectOrReply in milliseconds: the pause length in seconds."""
    ms = strict_int(arg)
    if ms is None or not -(2**63) <= ms < 2**63:
        raise CommandError(errors.TIMEOUT_NOT_INTEGER)
    if ms < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    if ms > 2**63 - 1 - int(time.time() * 1000):
        raise CommandError(errors.TIMEOUT_OUT_OF_RANGE)
    return ms / 1000


@command("client|pause")
def client_pause(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 4:
        raise CommandError(errors.SUBCOMMAND_SYNTAX % (arg_text(argv[1]), arg_text(argv[0]).upper()))
    mode = "all"
    if len(argv) == 4:
        if argv[3].lower() == b"write":
            mode = "write"
        elif argv[3].lower() != b"all":
            raise CommandError(errors.PAUSE_MODE)
    c.server.pause.pause(mode, _pause_timeout(c.server, argv[2]))
    return OK


@command("client|unpause")
def client_unpause(c: Client, argv: list[bytes]) -> Any:
    c.server.pause.unpause()
    return OK


@command("client|reply")
def client_reply(c: Client, argv: list[bytes]) -> Any:
    """ON replies OK; OFF and SKIP reply nothing (SKIP silences only the next command)."""
    mode = argv[2].lower()
    if mode == b"on":
        c.reply_off = c.reply_skip = c.reply_skip_next = c.silent = False
        return OK
    if mode == b"off":
        c.reply_off = c.silent = True
        return NOTHING
    if mode == b"skip":
        if not c.reply_off:
            c.reply_skip_next = True
        return NOTHING
    raise CommandError(errors.SYNTAX)


def _on_off(arg: bytes) -> bool:
    mode = arg.lower()
    if mode == b"on":
        return True
    if mode == b"off":
        return False
    raise CommandError(errors.SYNTAX)


@command("client|no-evict")
def client_no_evict(c: Client, argv: list[bytes]) -> Any:
    c.no_evict = _on_off(argv[2])
    return OK


@command("client|no-touch")
def client_no_touch(c: Client, argv: list[bytes]) -> Any:
    c.no_touch = _on_off(argv[2])
    return OK
