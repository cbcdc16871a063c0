"""``redslot node``: parse redis.conf-style configuration, run the server until a signal."""

from __future__ import annotations

import asyncio
import signal
import sys

from .config import Config, StartupError, argv_to_lines
from .server import Server

USAGE = """Usage: redslot node [CONFIG_FILE] [--directive value ...]

Every option is a redis.conf directive: --port 7000 --bind 127.0.0.1 --dir /data
--requirepass secret --maxmemory 100mb --maxmemory-policy allkeys-lru ...
A config file uses redis.conf syntax; options on the command line come after it.
"""


def load_config(argv: list[str]) -> Config:
    config = Config()
    args = list(argv)
    if args and not args[0].startswith("--"):
        path = args.pop(0)
        try:
            config.load_file(path)
        except OSError as exc:
            raise StartupError(path, 0, "", f"Fatal error, can't open config file '{path}': {exc.strerror}") from None
    try:
        lines = argv_to_lines(args)
    except ValueError as exc:
        raise StartupError("command line", 0, " ".join(args), str(exc)) from None
    config.load_lines(lines, "command line")
    return config


async def _serve(config: Config) -> None:
    server = Server(config)
    loop = asyncio.get_running_loop()
    for sig, name in ((signal.SIGTERM, "Received SIGTERM"), (signal.SIGINT, "Received SIGINT")):
        loop.add_signal_handler(sig, server.request_shutdown, name)
    await server.start()
    await server.serve_until_shutdown()


def run(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    try:
        config = load_config(argv)
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(config))
    else:
        uvloop.run(_serve(config))
    return 0
