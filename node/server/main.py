"""``redslot node``: parse redis.conf-style configuration, run the server until a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping

from redslot.common.loop import run_loop

from .. import REDIS_VERSION
from ..acl.users import user_line_error
from ..base import errors
from ..base.allocator import keep_large_blocks_mapped
from ..base.compiled import build
from ..config.directives import Config, StartupError, argv_to_lines
from .server import Server
from .starting import StartingSignals

USAGE = """Usage: redslot node [CONFIG_FILE] [--directive value ...]

Every option is a redis.conf directive: --port 7000 --bind 127.0.0.1 --dir /data
--requirepass secret --maxmemory 100mb --maxmemory-policy allkeys-lru ...
A config file uses redis.conf syntax; options on the command line come after it.
REDSLOT_PASSWORD in the environment is requirepass and masterauth unless they are given.
REDSLOT_FAST_DISPATCH=0 in the environment sends every request through the full checks.
REDSLOT_PURE_PYTHON=1 runs the modules a compiled install has compiled from their source.
--version (-v) prints the Redis version served and the build: compiled or pure.
"""
PASSWORD_ENV = "REDSLOT_PASSWORD"
FAST_DISPATCH_ENV = "REDSLOT_FAST_DISPATCH"


def load_config(argv: list[str]) -> Config:
    config = Config()
    args = list(argv)
    if args and not args[0].startswith("--"):
        path = args.pop(0)
        try:
            config.load_file(path)
        except OSError as exc:
            raise StartupError(path, 0, "", errors.CONFIG_CANT_OPEN % (path, exc.strerror)) from None
    try:
        lines = argv_to_lines(args)
    except ValueError as exc:
        raise StartupError("command line", 0, " ".join(args), str(exc)) from None
    config.load_lines(lines, "command line")
    earlier: list[list[bytes]] = []
    for user_argv, source, number, line in config.user_lines:
        problem = user_line_error(user_argv, earlier)
        if problem is not None:
            raise StartupError(source, number, line, problem)
        earlier.append(user_argv)
    apply_password_env(config, os.environ)
    return config


def apply_password_env(config: Config, environ: Mapping[str, str]) -> None:
    """REDSLOT_PASSWORD, when set and not empty, is requirepass and masterauth unless the
    configuration gives them: in Kubernetes a secret reaches the node through its
    environment, never its command line (which ``ps`` and the pod spec show)."""
    password = environ.get(PASSWORD_ENV, "")
    if not password:
        return
    for name in ("requirepass", "masterauth"):
        if not config[name]:
            config.set(name, password)


def fast_dispatch_wanted(environ: Mapping[str, str]) -> bool:
    """REDSLOT_FAST_DISPATCH=0 turns the short dispatch loop off (dispatch.run_requests):
    the tests then run the same sequences through the full checks alone, which the short
    loop must match. Read once at start: a node keeps one dispatch for its lifetime."""
    return environ.get(FAST_DISPATCH_ENV, "1") != "0"


async def _serve(config: Config, starting: StartingSignals) -> None:
    server = Server(config, fast_dispatch=fast_dispatch_wanted(os.environ))
    problem = server.acl.load_at_startup([argv for argv, *_ in config.user_lines],
                                         config["aclfile"])
    if problem is not None:
        server.log("warning", problem)
        raise SystemExit(1)
    loop = asyncio.get_running_loop()

    def on_signal(name: str, directive: str) -> None:
        server.request_shutdown(name, config[directive])

    def shutdown_on_signals() -> None:
        for sig, name, directive in ((signal.SIGTERM, "Received SIGTERM", "shutdown-on-sigterm"),
                                     (signal.SIGINT, "Received SIGINT", "shutdown-on-sigint")):
            loop.add_signal_handler(sig, on_signal, name, directive)

    starting.during_loading = server.stop_loading
    await server.start(on_loaded=shutdown_on_signals)
    if server.loading_stopped:
        server.log_warning(f"Received {starting.received} during loading, exiting without saving")
        await server.stop()
        return
    await server.serve_until_shutdown()


def daemonize(config: Config) -> None:
    """daemonize(): detach from the terminal (the parent exits at once), standard streams
    to /dev/null; Redis then writes /var/run/redis.pid unless a pidfile is set."""
    if os.fork():
        os._exit(0)
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
    if not config["pidfile"]:
        config.set("pidfile", "/var/run/redis.pid")


def run(argv: list[str], starting: StartingSignals | None = None) -> int:
    """``starting``: the handler the command line installed before importing the node."""
    if starting is None:
        starting = StartingSignals()
        starting.install()
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv and argv[0] in ("-v", "--version"):
        print(f"redslot node v={REDIS_VERSION} build={build()}")
        return 0
    try:
        config = load_config(argv)
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return 1
    if config["daemonize"]:
        daemonize(config)
    keep_large_blocks_mapped()
    run_loop(_serve(config, starting))
    return 0
