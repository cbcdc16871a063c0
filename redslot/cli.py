"""The ``redslot`` command: one entry point, one subcommand per job."""

from __future__ import annotations

import sys

from . import __version__

USAGE = """Usage: redslot <command> [options]

Commands:
  node [CONFIG_FILE] [--directive value ...]   run one node (a Redis-compatible server)
  up [--shards N] [--replicas M] [--port P] [--dir D]
                                               start a local cluster and supervise it
  status [--json] [--watch]                    the local cluster's live topology
  scale [--shards N] [--replicas M]            reshard online to N shards / M replicas
  failover SHARD                               hand a shard to its replica, losing no write
  down                                         stop the local cluster
  operator [--namespace NS | --all-namespaces] run the Kubernetes operator (kopf)
  version                                      print the version

Run 'redslot <command> --help' for a command's options.
"""


LOCAL_COMMANDS = ("up", "status", "scale", "failover", "down")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command in ("node", "operator"):
        # Before the imports, which take seconds on a loaded machine: see starting.py.
        from redslot.node.server.starting import StartingSignals

        starting = StartingSignals()
        starting.install()
    if command == "node":
        from redslot.node.server.main import run

        return run(rest, starting)
    if command == "operator":
        from redslot.operator.k8s.main import main as operator_main

        return operator_main(rest)
    if command in LOCAL_COMMANDS:
        from redslot.operator.local.commands import main as local_main

        return local_main([command, *rest])
    if command in ("version", "--version"):
        from redslot.node.base.compiled import build

        print(f"redslot {__version__} ({build()} build)")
        return 0
    print(f"redslot: unknown command '{command}'\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
