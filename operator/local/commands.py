"""``redslot up | status | scale | failover | down``: a local cluster from one command.

``up`` runs the control plane in the foreground (supervisor + reconciler); the other
commands change ``spec.json`` or signal ``up``, and follow the result in ``status.json``,
showing progress while they wait.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from redslot.common.loop import run_loop

from ..control.metrics import ClusterMetrics, serve_metrics
from ..control.reconciler import Reconciler
from ..model.record import DURABILITY_MODES, Spec
from .render import connect_hint, status_view
from .security import OPEN, Security, settle
from .store import ClusterDirectory
from .supervisor import Supervisor

DEFAULT_DIR = "./redslot-data"
console = Console(width=None if sys.stdout.isatty() else 150)


def add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default=DEFAULT_DIR,
                        help=f"the cluster's directory (default {DEFAULT_DIR})")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="redslot", description="A local redslot cluster.")
    sub = top.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start (or resume) a local cluster and supervise it")
    up.add_argument("--shards", type=int, help="number of masters (default 3)")
    up.add_argument("--replicas", type=int, help="replicas per master (default 1)")
    up.add_argument("--port", type=int, default=7000, help="first node's port (default 7000)")
    up.add_argument("--host", default="127.0.0.1", help="address the nodes listen on")
    up.add_argument("--durability", choices=DURABILITY_MODES,
                    help="async (Redis-like, default) or zero-loss")
    up.add_argument("--down-after-ms", type=int,
                    help="how long a master may not answer before a failover (default 3000)")
    up.add_argument("--appendonly", action="store_true", help="nodes keep an AOF")
    up.add_argument("--metrics-port", type=int, default=0,
                    help="serve the control plane's Prometheus /metrics on --host:PORT; "
                         "each node serves its own on its port + 20000")
    up.add_argument("--node-arg", action="append", default=[], metavar="DIRECTIVE=VALUE",
                    help="a directive for every node, e.g. maxmemory=1gb (repeatable)")
    up.add_argument("--requirepass", nargs="?", const="", metavar="PASSWORD",
                    help="nodes require this password (AUTH); with no value one is generated "
                         "and printed; kept in DIR/password")
    up.add_argument("--tls", action="store_true",
                    help="TLS only, everywhere: a CA and certificates are generated into "
                         "DIR/tls; clients need ca.crt and client.crt/client.key")
    add_dir(up)
    status = sub.add_parser("status", help="show the live topology")
    status.add_argument("--json", action="store_true", help="the status document as JSON")
    status.add_argument("--watch", action="store_true", help="refresh every second")
    add_dir(status)
    scale = sub.add_parser("scale", help="change the number of shards or replicas")
    scale.add_argument("--shards", type=int)
    scale.add_argument("--replicas", type=int)
    scale.add_argument("--no-wait", action="store_true", help="return once asked")
    scale.add_argument("--timeout", type=float, default=3600.0)
    add_dir(scale)
    failover = sub.add_parser("failover", help="hand a shard to its best replica, losing no write")
    failover.add_argument("shard", help="shard name (shard-0) or number (0)")
    failover.add_argument("--timeout", type=float, default=60.0)
    add_dir(failover)
    down = sub.add_parser("down", help="stop the cluster (its data stays in --dir)")
    down.add_argument("--timeout", type=float, default=60.0)
    add_dir(down)
    return top


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    directory = ClusterDirectory(args.dir)
    handlers: dict[str, Callable[[argparse.Namespace, ClusterDirectory], int]] = {
        "up": up, "status": status, "scale": scale, "failover": failover, "down": down}
    try:
        return handlers[args.command](args, directory)
    except (ValueError, OSError) as exc:
        console.print(f"[red]redslot {args.command}: {exc}[/red]")
        return 1


# --- up ---

def up(args: argparse.Namespace, directory: ClusterDirectory) -> int:
    running = directory.running_pid()
    if running is not None:
        raise ValueError(f"a cluster is already running from {directory.path} (pid {running})")
    directory.create()
    security, generated = settle(directory.path, args.host, args.requirepass, args.tls,
                                 existing=directory.exists())
    if generated is not None:
        console.print(f"generated password: {generated}  (saved in {directory.path / 'password'})")
    previous = directory.load_spec() if directory.exists() else None
    spec = Spec(
        shards=args.shards if args.shards is not None else previous.shards if previous else 3,
        replicas=(args.replicas if args.replicas is not None
                  else previous.replicas if previous else 1),
        durability=args.durability or (previous.durability if previous else "async"),
        down_after_ms=args.down_after_ms or (previous.down_after_ms if previous else 3000),
        failover_requests=previous.failover_requests if previous else {})
    directory.save_spec(spec)
    node_args = ["--appendonly", "yes"] if args.appendonly else []
    if spec.acks_required:
        node_args += ["--min-replicas-ack", str(spec.acks_required)]
    for item in args.node_arg:
        name, _, value = item.partition("=")
        node_args += [f"--{name}", value]
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # a nudge before the loop listens
    directory.pid_path.write_text(f"{os.getpid()}\n")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        datefmt="%H:%M:%S", handlers=[
                            logging.StreamHandler(sys.stderr),
                            logging.FileHandler(directory.path / "redslot.log")])
    try:
        run_loop(supervise(directory, Supervisor(directory, args.host, args.port, node_args,
                                                  node_metrics=bool(args.metrics_port),
                                                  security=security),
                           args.host, args.metrics_port, security))
    finally:
        with contextlib.suppress(OSError, ValueError):
            if int(directory.pid_path.read_text()) == os.getpid():
                directory.pid_path.unlink()
    return 0


async def supervise(directory: ClusterDirectory, supervisor: Supervisor, host: str = "",
                    metrics_port: int = 0, security: Security = OPEN) -> None:
    stop = asyncio.Event()
    if metrics_port:
        directory.metrics = ClusterMetrics(str(directory.path))
        await serve_metrics(metrics_port, host)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    reconciler = Reconciler(supervisor, directory, password=security.password,
                            tls=security.client_tls, spec_signalled=True)
    supervisor.on_exit = reconciler.nudge
    loop.add_signal_handler(signal.SIGUSR1, reconciler.nudge)  # scale, failover: spec.json
    announce = asyncio.create_task(announce_ready(directory, stop, security))
    try:
        await reconciler.run(stop)
    finally:
        announce.cancel()
        logging.getLogger("redslot.local").info("stopping the nodes")
        await supervisor.stop_all()
        logging.getLogger("redslot.local").info("stopped")


async def announce_ready(directory: ClusterDirectory, stop: asyncio.Event,
                         security: Security = OPEN) -> None:
    """Print the table and how to connect, the first time the cluster is ready."""
    started = time.time()
    while not stop.is_set():
        current = directory.load_status()
        if current and current.get("ready") and current.get("updated", 0) > started:
            console.print(status_view(current, events=0))
            console.print(connect_hint(current, security, directory.path))
            return
        await asyncio.sleep(0.2)


# --- status ---

def status(args: argparse.Namespace, directory: ClusterDirectory) -> int:
    current = directory.load_status()
    if current is None:
        raise ValueError(f"no cluster in {directory.path} (run redslot up)")
    running = directory.running_pid() is not None
    if args.json:
        current["running"] = running
        print(json.dumps(current, indent=1))
        return 0
    if not args.watch:
        console.print(status_view(current))
        if not running:
            console.print("[yellow]redslot up is not running: this is the last status seen[/]")
        return 0
    with Live(status_view(current), console=console, refresh_per_second=2) as live, \
            contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(1.0)
            live.update(status_view(directory.load_status() or current))
    return 0


# --- scale, failover ---

def require_running(directory: ClusterDirectory) -> None:
    if directory.running_pid() is None:
        raise ValueError(f"no running cluster in {directory.path} (run redslot up first)")


def scale(args: argparse.Namespace, directory: ClusterDirectory) -> int:
    require_running(directory)
    spec = directory.load_spec()
    if args.shards is None and args.replicas is None:
        raise ValueError("nothing to do: give --shards and/or --replicas")
    wanted = Spec(args.shards if args.shards is not None else spec.shards,
                  args.replicas if args.replicas is not None else spec.replicas,
                  spec.durability, spec.down_after_ms, spec.failover_requests)
    directory.save_spec(wanted)
    directory.nudge_running()
    console.print(f"scaling to {wanted.shards} shard(s), {wanted.replicas} replica(s) each")
    if args.no_wait:
        return 0

    def converged(current: dict[str, Any]) -> bool:
        return bool(current.get("ready") and current.get("spec", {}).get("shards") == wanted.shards
                and current["spec"].get("replicas") == wanted.replicas
                and current["updated"] > started)

    started = time.time()
    return follow(directory, converged, args.timeout)


def follow(directory: ClusterDirectory, done: Callable[[dict[str, Any]], bool],
           timeout: float) -> int:
    """A progress bar over the reshard's slots until ``done`` holds."""
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[keys]} keys, {task.fields[rate]} keys/s"),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("waiting", total=None, keys=0, rate=0)
        while time.monotonic() < deadline:
            current = directory.load_status() or {}
            reshard = current.get("reshard")
            if reshard:
                progress.update(task, description="resharding", total=reshard["slots_total"],
                                completed=reshard["slots_done"], keys=reshard["keys_moved"],
                                rate=reshard["keys_per_second"])
            else:
                progress.update(task, description=current.get("phase", "waiting").lower())
            if done(current):
                last = current.get("last_reshard")
                if last:
                    progress.update(task, total=last["slots"], completed=last["slots"],
                                    keys=last["keys"], rate=last["keys_per_second"])
                break
            time.sleep(0.25)
        else:
            console.print("[red]timed out; the control plane goes on (see redslot status)[/]")
            return 1
    console.print(status_view(directory.load_status() or {}, events=3))
    return 0


def failover(args: argparse.Namespace, directory: ClusterDirectory) -> int:
    require_running(directory)
    shard = args.shard if args.shard.startswith("shard-") else f"shard-{args.shard}"
    spec = directory.load_spec()
    request = uuid.uuid4().hex[:12]
    spec.failover_requests = {**dict(list(spec.failover_requests.items())[-99:]), request: shard}
    directory.save_spec(spec)
    directory.nudge_running()
    deadline = time.monotonic() + args.timeout
    with console.status(f"failing over {shard}"):
        while time.monotonic() < deadline:
            current = directory.load_status() or {}
            if request in current.get("handled_requests", []) and current.get("updated", 0):
                break
            time.sleep(0.2)
        else:
            console.print("[red]timed out waiting for the control plane[/]")
            return 1
    events = [e for e in current.get("events", []) if shard in e][-1:]
    console.print("\n".join(events))
    return 0 if events and ("manual failover done" in events[0]) else 1


# --- down ---

def down(args: argparse.Namespace, directory: ClusterDirectory) -> int:
    pid = directory.running_pid()
    if pid is None:
        return stop_orphans(directory)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    with console.status("stopping the cluster"):
        while directory.running_pid() is not None:
            if time.monotonic() > deadline:
                console.print(f"[red]redslot up (pid {pid}) did not stop in time[/]")
                return 1
            time.sleep(0.1)
    console.print(f"stopped; the data stays in {directory.path}")
    return 0


def stop_orphans(directory: ClusterDirectory) -> int:
    """Nodes left by a control plane that was killed: stop those still running."""
    nodes = sorted(path.name for path in (directory.path / "nodes").glob("*/node.pid"))
    supervisor = Supervisor(directory, "", 0, [])
    asyncio.run(supervisor.stop_orphans(nodes))
    console.print(f"redslot up was not running; stopped the nodes it left ({len(nodes)})")
    return 0
