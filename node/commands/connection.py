"""Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK
from ..table.command import command
from .acl_access import authenticate
from .args import to_int, to_int32
from .client import set_client_name

if TYPE_CHECKING:
    from .context import Client

@command("ping")
def ping(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise CommandError(errors.WRONG_ARITY % "ping")
    if c.pubsub and not c.resp3:  # subscribed mode: a message-shaped reply
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return "PONG" if len(argv) == 1 else argv[1]


@command("echo")
def echo(c: Client, argv: list[bytes]) -> Any:
    return argv[1]


@command("quit")
def quit_(c: Client, argv: list[bytes]) -> Any:
    c.close_after_reply()
    return OK


@command("select")
def select(c: Client, argv: list[bytes]) -> Any:
    index = to_int32(argv[1])
    if c.server.cluster_enabled and index != 0:
        raise CommandError(errors.SELECT_CLUSTER)
    if not 0 <= index < len(c.server.dbs):
        raise CommandError(errors.DB_INDEX_OUT_OF_RANGE)
    c.select(index)
    return OK


@command("auth")
def auth(c: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2:
        if c.server.acl.default.nopass:
            raise CommandError(errors.AUTH_NOT_CONFIGURED)
        authenticate(c, b"default", argv[1], argv[0])
    else:
        authenticate(c, argv[1], argv[2], argv[0])
    return OK


@command("hello")
def hello(c: Client, argv: list[bytes]) -> Any:
    version = 0
    i = 1
    if len(argv) >= 2:
        version = to_int(argv[1], errors.HELLO_PROTOCOL_VERSION)
        i = 2
        if version < 2 or version > 3:
            raise CommandError(errors.NOPROTO)
    credentials = name = None
    while i < len(argv):
        more = len(argv) - 1 - i
        opt = argv[i].lower()
        if opt == b"auth" and more >= 2:
            credentials = (argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"setname" and more >= 1:
            name = argv[i + 1]
            i += 2
        else:
            raise CommandError(
                errors.HELLO_SYNTAX % argv[i].decode("utf-8", "surrogateescape"))
    if credentials is not None:
        authenticate(c, *credentials, argv[0])
    if not c.authenticated:
        raise CommandError(errors.HELLO_NOAUTH)
    if name is not None:
        set_client_name(c, name)
    if version:
        c.set_resp(version)
    server = c.server
    return {
        b"server": b"redis",
        b"version": server.version.encode(),
        b"proto": 3 if c.resp3 else 2,
        b"id": c.id,
        b"mode": b"cluster" if server.cluster_enabled else b"standalone",
        b"role": b"master",
        b"modules": [],
    }


@command("reset")
def reset(c: Client, argv: list[bytes]) -> Any:
    """clearClientConnectionState: back to a fresh connection's state."""
    server = c.server
    if c.monitor:
        c.monitor = False
        if c in server.monitors:
            server.monitors.remove(c)
    if c.subscriptions is not None:
        server.pubsub.drop(c)
    if c.tracking is not None:
        server.tracker.disable(c)
    c.select(0)
    c.set_resp(2)
    c.user = server.acl.default
    c.authenticated = c.user.nopass and c.user.enabled
    c.parser.auth_required = not c.authenticated
    c.discard_transaction()
    c.name = ""
    c.internal = False
    c.reply_off = c.reply_skip = c.reply_skip_next = c.silent = False
    c.no_touch = False
    c.asking = c.readonly = False
    return "RESET"
