"""The ``redslot`` command: one entry point, one subcommand per job."""

from __future__ import annotations

import sys

from . import __version__

USAGE = """Usage: redslot <command> [options]

Commands:
  node [CONFIG_FILE] [--directive value ...]   run one node (a Redis-compatible server)
  version                                      print the version

Run 'redslot <command> --help' for a command's options.
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "node":
        from redslot.node.main import run

        return run(rest)
    if command in ("version", "--version"):
        print(f"redslot {__version__}")
        return 0
    print(f"redslot: unknown command '{command}'\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
