"""``redslot operator``: run the Kubernetes operator (kopf) for RedisCluster resources."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from typing import Any


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="redslot operator", description="Run the RedisCluster operator (kopf).")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--namespace", "-n", action="append", default=[],
                       help="watch this namespace (repeatable; default: $WATCH_NAMESPACE, "
                            "else the pod's own namespace)")
    scope.add_argument("--all-namespaces", "-A", action="store_true",
                       help="watch every namespace (needs the cluster-wide RBAC)")
    parser.add_argument("--standalone", action="store_true",
                        help="no peering: act even if another operator runs (tests, one replica)")
    parser.add_argument("--peering", default="redslot",
                        help="peering object name (one active operator per name)")
    parser.add_argument("--priority", type=int, default=0,
                        help="peering priority; the highest live one acts")
    parser.add_argument("--liveness-port", type=int, default=8080,
                        help="serve kopf's /healthz here (0: off)")
    parser.add_argument("--metrics-port", type=int, default=9090,
                        help="serve Prometheus /metrics here (0: off)")
    parser.add_argument("--image", default=None,
                        help="node image for clusters that name none (default: $REDSLOT_IMAGE)")
    parser.add_argument("--node-resources", type=node_resources, default=None,
                        help="node containers' resources (JSON of core/v1 ResourceRequirements) "
                             "for clusters whose spec gives none (default: "
                             "$REDSLOT_NODE_RESOURCES, else requests cpu 100m, memory 128Mi)")
    parser.add_argument("--verbose", "-v", action="store_true")
    return parser.parse_args(argv)


def node_resources(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("not a JSON object")
    return value


def namespaces(args: argparse.Namespace) -> list[str]:
    if args.namespace:
        return list(args.namespace)
    if os.environ.get("WATCH_NAMESPACE"):
        return [ns for ns in os.environ["WATCH_NAMESPACE"].split(",") if ns]
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as handle:
            return [handle.read().strip()]
    except OSError:
        return ["default"]


def main(argv: list[str]) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import kopf

    from ..control.metrics import serve_metrics
    from . import handlers  # registers the handlers

    resources = args.node_resources
    if resources is None and os.environ.get("REDSLOT_NODE_RESOURCES"):
        resources = node_resources(os.environ["REDSLOT_NODE_RESOURCES"])
    memo = handlers.operator_memo(
        namespaced=not args.all_namespaces,
        default_image=args.image or os.environ.get("REDSLOT_IMAGE", ""),
        default_resources=resources)
    liveness = (f"http://0.0.0.0:{args.liveness_port}/healthz"
                if args.liveness_port else None)

    async def run() -> None:
        # Until kopf installs its own handlers (after its start-up), a SIGTERM ends the run:
        # the command line's handler (node/server/starting.py) cannot unwind a running loop.
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        if args.metrics_port:
            await serve_metrics(args.metrics_port)
        # kopf makes a named peering mandatory, and a mandatory peering without peering
        # selectors (standalone has none) keeps every watch paused ("peering CRD is
        # missing"): standalone names no peering.
        await kopf.operator(
            standalone=args.standalone,
            peering_name=None if args.standalone else args.peering, priority=args.priority,
            liveness_endpoint=liveness, clusterwide=args.all_namespaces, memo=memo,
            namespaces=() if args.all_namespaces else namespaces(args))

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 130
    except asyncio.CancelledError:
        logging.getLogger("redslot.k8s").info("stopped by a signal during start-up")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
