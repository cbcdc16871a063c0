#!/usr/bin/env python3
"""The chart's Grafana dashboard, drawn from real data: docs/dashboard.png.

Grafana cannot run here, so this runs what it would look at and draws the dashboard itself:

1. ``redslot up --shards 3 --replicas 1 --metrics-port P`` (the control plane's /metrics on
   P, every node's on its port + 20000);
2. Prometheus (``scripts/prometheus-binary``) on loopback, scraping the control plane and
   every node each second; the node targets carry the ``cluster`` and ``shard`` labels the
   operator's ServiceMonitor relabeling gives them, and ``instance`` = the node's address;
   the scrape config is rewritten and reloaded (SIGHUP) whenever nodes come or go;
3. a load through redis-py's RedisCluster: writer threads (SET, a tenth with a TTL so keys
   expire) and reader threads (GET, about a fifth of them misses), a ``redslot scale
   --shards 4`` in the middle (slots migrate) and then ``redslot failover 1``;
4. every target of every panel of charts/redslot/dashboards/redslot.json through
   /api/v1/query_range, with the template variables substituted as Grafana would
   ($cluster = this cluster's label, $instance = .*, $__rate_interval = 15s);
5. the drawing (bench/dashboard_render.py, matplotlib) and the list of panels with no data.

    python3 bench/dashboard.py                       # 3-4 minutes, writes docs/dashboard.png
    python3 bench/dashboard.py --seconds 60          # a quicker run
    python3 bench/dashboard.py --replot data.json    # redraw saved query results (--save)

Every process started here (the cluster, Prometheus) is stopped at the end, also on error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_common import (  # noqa: E402
    HOST,
    RedslotLocal,
    port_is_free,
    stop_process,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "charts" / "redslot" / "dashboards" / "redslot.json"
OUTPUT = ROOT / "docs" / "dashboard.png"
METRICS_OFFSET = 20000  # operator/local/supervisor.py: a node's /metrics is on its port + this
RATE_INTERVAL = "15s"
STEP = 2.0  # seconds between points of a range query (Grafana: range / max data points)
KEYSPACE = 60_000  # writers cycle over this many keys; readers also ask for missing ones


def ensure_matplotlib() -> None:
    if importlib.util.find_spec("matplotlib") is None:
        print("installing matplotlib (pip) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def node_base_port(count: int = 24) -> int:
    """A first node port P such that the nodes' ports, bus ports (+10000) and metrics ports
    (+20000) are free and all below Linux's ephemeral range (32768-60999): a metrics port in
    that range can be taken by any outgoing connection, and a node whose metrics port is
    busy stops."""
    for base in range(10_000, 12_768 - count, count):
        if all(port_is_free(base + offset + i) for offset in (0, 10_000, METRICS_OFFSET)
               for i in range(count)):
            return base
    raise RuntimeError("no free node ports below 12768")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


# --- Prometheus ---

class Prometheus:
    """A Prometheus server on loopback with a scrape config this object rewrites."""

    def __init__(self, binary: str, operator_port: int, cluster: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="redslot-prometheus-"))
        self.port = free_port()
        self.operator_port = operator_port
        self.cluster = cluster
        self.targets: list[tuple[str, str, str]] = []  # (metrics address, shard, instance)
        self.write_config()
        self.log = open(self.dir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address={HOST}:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until("Prometheus ready", self.ready, 30, interval=0.2)
        except BaseException:
            print(self.log_tail(), file=sys.stderr)
            self.close()
            raise

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited:\n" + self.log_tail())
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.port}/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def log_tail(self) -> str:
        return (self.dir / "prometheus.log").read_text(errors="replace")[-3000:]

    def write_config(self) -> None:
        """JSON is YAML: the config is written with json.dumps."""
        nodes = [{"targets": [address], "labels": {"cluster": self.cluster, "shard": shard,
                                                    "instance": instance}}
                 for address, shard, instance in self.targets]
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": "redslot-operator",
                 "static_configs": [{"targets": [f"{HOST}:{self.operator_port}"]}]},
                {"job_name": "redslot-nodes", "static_configs": nodes},
            ]}
        path = self.dir / "prometheus.yml"
        path.with_suffix(".tmp").write_text(json.dumps(config, indent=1))
        path.with_suffix(".tmp").replace(path)

    def follow(self, status: dict[str, Any]) -> None:
        """Scrape exactly the nodes of this status document; reload when that changes."""
        targets = []
        for shard in status["shards"]:
            for node in [shard["master"], *shard["replicas"]]:
                host, port = node["address"].rsplit(":", 1)
                targets.append((f"{host}:{int(port) + METRICS_OFFSET}", shard["name"],
                                node["address"]))
        if sorted(targets) != sorted(self.targets):
            self.targets = sorted(targets)
            self.write_config()
            self.proc.send_signal(signal.SIGHUP)
            log(f"prometheus: scraping {len(targets)} nodes")

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}",
                                        "end": f"{end:.3f}", "step": f"{step:g}"})
        url = f"http://{HOST}:{self.port}/api/v1/query_range?{query}"
        try:
            with urllib.request.urlopen(url, timeout=30) as reply:
                body = json.load(reply)
        except urllib.error.HTTPError as exc:
            body = json.load(exc)
        if body.get("status") != "success":
            raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def close(self) -> None:
        stop_process(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- load ---

class Load:
    """Writer and reader threads over RedisCluster clients, counting what they did."""

    def __init__(self, cluster: RedslotLocal, writers: int, readers: int) -> None:
        self.cluster = cluster
        self.stopping = threading.Event()
        self.counts = {"set": 0, "get": 0, "errors": 0}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(write, seed), daemon=True)
                        for seed, write in enumerate([True] * writers + [False] * readers)]
        for thread in self.threads:
            thread.start()

    def client(self) -> Any:
        from redis.cluster import RedisCluster

        port = self.cluster.master_ports()[0]
        return RedisCluster(host=HOST, port=port, socket_timeout=3, socket_connect_timeout=2)

    def run(self, write: bool, seed: int) -> None:
        rng = random.Random(seed)
        client = None
        done = 0
        while not self.stopping.is_set():
            try:
                if client is None:
                    client = self.client()
                if write:
                    n = rng.randrange(KEYSPACE)
                    value = b"v" * rng.randrange(50, 400)
                    if rng.random() < 0.1:
                        client.set(f"key:{n}", value, ex=rng.randrange(5, 30))
                    else:
                        client.set(f"key:{n}", value)
                else:
                    client.get(f"key:{rng.randrange(int(KEYSPACE * 1.2))}")
                done += 1
                if done == 200:
                    self.add("set" if write else "get", done)
                    done = 0
            except Exception:  # noqa: BLE001 - redis-py raises many kinds while topology moves
                self.add("errors", 1)
                client = None
                time.sleep(0.2)

    def add(self, what: str, n: int) -> None:
        with self.lock:
            self.counts[what] += n

    def stop(self) -> dict[str, int]:
        self.stopping.set()
        for thread in self.threads:
            thread.join(10)
        return self.counts


def preload(cluster: RedslotLocal, count: int) -> None:
    from redis.cluster import RedisCluster

    client = RedisCluster(host=HOST, port=cluster.master_ports()[0], socket_timeout=10)
    for start in range(0, count, 2000):
        pipe = client.pipeline()
        for n in range(start, min(start + 2000, count)):
            pipe.set(f"key:{n}", b"p" * 100)
        pipe.execute()
    client.close()


# --- the run ---

def build_prometheus() -> str:
    started = time.monotonic()
    result = subprocess.run([str(ROOT / "scripts" / "prometheus-binary")], stdout=subprocess.PIPE,
                            text=True, check=True)
    log(f"prometheus binary ready in {time.monotonic() - started:.0f}s")
    return result.stdout.strip().splitlines()[-1]


def operator_cluster_label(port: int) -> str:
    """The ``cluster`` label the control plane gives its own metrics (its directory)."""
    def label() -> str:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=2) as reply:
            text = reply.read().decode()
        found = re.search(r'^redslot_operator_reconcile_total\{cluster="([^"]*)"', text, re.M)
        return found.group(1) if found else ""
    return wait_until("the control plane's metrics", label, 30, interval=0.5)


def scenario(cluster: RedslotLocal, prometheus: Prometheus, seconds: float) -> None:
    """The load for ``seconds``; ``redslot scale --shards 4`` at 25% of it, then ``redslot
    failover 1`` 30 s after the scale returned. The CLI runs in a thread of its own so the
    scrape config keeps following the nodes (the new shard's) meanwhile."""
    load = Load(cluster, writers=3, readers=3)
    started = time.monotonic()
    failures: list[Exception] = []
    aborting = threading.Event()
    running: list[subprocess.Popen[str]] = []

    def changes() -> None:
        for delay, args in ((0.25 * seconds, ("scale", "--shards", "4")),
                            (30.0, ("failover", "1"))):
            if aborting.wait(delay):
                return
            log(f"redslot {' '.join(args)} ...")
            began = time.monotonic()
            proc = subprocess.Popen(cluster.argv_for(*args), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, cwd=cluster.dir.parent)
            running.append(proc)
            out = proc.communicate()[0].strip()
            if proc.returncode != 0:
                failures.append(RuntimeError(f"redslot {' '.join(args)} exited "
                                             f"{proc.returncode}:\n{out[-2000:]}"))
                return
            log(f"redslot {args[0]} returned after {time.monotonic() - began:.1f}s: "
                f"{out.splitlines()[-1] if out else ''}")

    changer = threading.Thread(target=changes, daemon=True)
    changer.start()
    try:
        while time.monotonic() - started < seconds and not failures:
            status = status_document(cluster)
            if status:
                prometheus.follow(status)
            time.sleep(1)
        changer.join(120)
        if changer.is_alive():
            raise RuntimeError("redslot scale/failover still running:\n" + cluster.log_tail())
    finally:
        aborting.set()
        for proc in running:
            if proc.poll() is None:
                proc.kill()
        counts = load.stop()
    log(f"load: {counts['set']} SET, {counts['get']} GET, {counts['errors']} errors")
    if failures:
        raise failures[0]


def status_document(cluster: RedslotLocal) -> dict[str, Any]:
    """The control plane's status.json (what ``redslot status --json`` prints), or {}."""
    try:
        status: dict[str, Any] = json.loads((cluster.dir / "status.json").read_text())
    except (OSError, ValueError):
        return {}
    return status


def substitute(expr: str, variables: dict[str, str]) -> str:
    for name in sorted(variables, key=len, reverse=True):  # $__rate_interval before $__range
        expr = expr.replace("${" + name + "}", variables[name]).replace("$" + name, variables[name])
    return expr


def query_panels(prometheus: Prometheus, dashboard: dict[str, Any], cluster: str,
                 start: float, end: float) -> dict[str, Any]:
    """Every panel target's series: {panel id: [{refId, expr, series | error}]}."""
    variables = {"cluster": cluster, "instance": ".*", "__rate_interval": RATE_INTERVAL,
                 "__interval": f"{STEP:g}s", "__interval_ms": str(int(STEP * 1000)),
                 "__range": f"{int(end - start)}s", "__range_s": str(int(end - start))}
    panels: dict[str, Any] = {}
    for panel in dashboard["panels"]:
        results = []
        for target in panel.get("targets", []):
            expr = substitute(target["expr"], variables)
            entry: dict[str, Any] = {"refId": target.get("refId", ""), "expr": expr}
            try:
                entry["series"] = prometheus.query_range(expr, start, end, STEP)
            except ValueError as exc:
                entry["error"] = str(exc)
            results.append(entry)
        panels[str(panel["id"])] = results
    return {"cluster": cluster, "start": start, "end": end, "step": STEP, "panels": panels}


def empty_panels(dashboard: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """Panels none of whose targets returned a number (NaN is no number)."""
    empty = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        found = False
        for entry in data["panels"][str(panel["id"])]:
            for series in entry.get("series", []):
                if any(value not in ("NaN", "+Inf", "-Inf") for _, value in series["values"]):
                    found = True
        if not found:
            errors = [e["error"] for e in data["panels"][str(panel["id"])] if "error" in e]
            empty.append(f"{panel['id']} {panel['title']!r}" + (f" ({errors[0]})" if errors else ""))
    return empty


def run(args: argparse.Namespace) -> dict[str, Any]:
    binary = build_prometheus()
    dashboard = json.loads(DASHBOARD.read_text())
    metrics_port = free_port()
    log(f"redslot up --shards 3 --replicas 1 --metrics-port {metrics_port}")
    # up's last --port wins over the one RedslotLocal picked (in the ephemeral range)
    extra = ("--port", str(node_base_port()), "--metrics-port", str(metrics_port))
    with RedslotLocal(3, 1, extra) as cluster:
        label = operator_cluster_label(metrics_port)
        prometheus = Prometheus(binary, metrics_port, label)
        try:
            prometheus.follow(cluster.status())
            start = time.time()
            log(f"preloading {args.preload} keys")
            preload(cluster, args.preload)
            scenario(cluster, prometheus, args.seconds)
            time.sleep(3)  # the last scrapes
            end = time.time()
            log("querying every panel")
            return query_panels(prometheus, dashboard, label, start - 5, end)
        except BaseException:
            print(prometheus.log_tail(), file=sys.stderr)
            raise
        finally:
            prometheus.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180, help="load duration (default 180)")
    parser.add_argument("--preload", type=int, default=KEYSPACE, help="keys written first")
    parser.add_argument("--out", type=Path, default=OUTPUT, help=f"default {OUTPUT}")
    parser.add_argument("--save", type=Path, help="also write the query results to this file")
    parser.add_argument("--replot", type=Path, help="draw saved query results; run nothing")
    args = parser.parse_args()
    # Stopped by SIGTERM or Ctrl-C (even when started in the background, where SIGINT is
    # ignored): unwind, so the cluster and Prometheus, in sessions of their own, are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ensure_matplotlib()
    dashboard = json.loads(DASHBOARD.read_text())
    data = json.loads(args.replot.read_text()) if args.replot else run(args)
    if args.save:
        args.save.write_text(json.dumps(data))
    from dashboard_render import render

    args.out.parent.mkdir(parents=True, exist_ok=True)
    render(dashboard, data, args.out)
    log(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    empty = empty_panels(dashboard, data)
    print("panels with no data: " + (", ".join(empty) if empty else "none"))
    return 1 if empty else 0


if __name__ == "__main__":
    sys.exit(main())
