#!/usr/bin/env python3
"""GET latency of a node while Prometheus scrapes its /metrics every 100 ms, and without.

One redslot node with --metrics-port runs pinned to one core under a CPU quota, as in
bench/run.py (its exporter, a child process, inherits the pinning and the quota: a scrape's
cost is paid out of the node's own CPU, as under a Kubernetes CPU limit), and
redis-benchmark ``-t get`` on the other core gives p50/p99 per run. Runs with and without a scraper (a thread here getting
/metrics every --interval seconds) alternate on the same node, --repeat times each, so
the machine's noise falls on both alike; the figures are the ratio of the medians of p99
and the median of each alternation's own ratio.
Debian's redis-server, with no exporter at all, runs alternately too, for reference.
The resident memory of the node and of its exporter is read from /proc at the end.

    python3 bench/scrape_latency.py
    python3 bench/scrape_latency.py --requests 5000 --repeat 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from nodes import free_port  # noqa: E402
from run import CLIENT_CPU, CpuQuota, server, tools_present  # noqa: E402

KEYSPACE = 100_000


class Scraper:
    """GET /metrics every ``interval`` seconds while running; counts and times scrapes."""

    def __init__(self, port: int, interval: float) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.interval = interval
        self.durations: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    response.read()
                self.durations.append(time.monotonic() - started)
            except OSError:
                self.failures += 1
            next_at += self.interval
            self._stop.wait(max(next_at - time.monotonic(), 0))


def benchmark_get(port: int, requests: int, clients: int) -> dict[str, float]:
    """One redis-benchmark -t get run: its CSV row (rps and latencies in ms)."""
    out = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
         "-c", str(clients), "-n", str(requests), "-r", str(KEYSPACE), "-t", "get", "--csv"],
        check=True, capture_output=True, text=True, timeout=600).stdout
    row = next(csv.DictReader(io.StringIO(out)))
    return {k: float(v) for k, v in row.items() if k != "test"}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def node_and_exporter(metrics_port: int) -> tuple[int, int]:
    """The pids of the node started with this metrics port and of its exporter."""
    procs = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            procs[int(entry.name)] = (ppid, cmdline)
    node = next(pid for pid, (_, argv) in procs.items()
                if b"--metrics-port" in argv and str(metrics_port).encode() in argv
                and b"taskset" not in argv[0])
    exporter = next(pid for pid, (ppid, argv) in procs.items()
                    if ppid == node and b"redslot.node.observability.exporter" in argv)
    return node, exporter


def populate(port: int) -> None:
    subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "20",
                    "-n", str(KEYSPACE), "-r", str(KEYSPACE), "-t", "set", "-P", "16", "-q"],
                   check=True, capture_output=True, timeout=600)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=100_000, help="GETs per run (-n)")
    ap.add_argument("--clients", type=int, default=50, help="connections (-c)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per configuration; medians kept")
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between scrapes")
    ap.add_argument("--cpu-share", type=float, default=0.5,
                    help="CPU quota for each server, as a fraction of one core (0: none)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    if not tools_present():
        return 2
    quota = CpuQuota(args.cpu_share) if args.cpu_share > 0 else None
    runs: dict[str, list[dict[str, float]]] = {"redis": [], "redslot": [], "redslot scraped": []}
    scrapes: list[float] = []
    failures = 0
    metrics_port = free_port()
    try:
        with server("redis", quota) as redis_port, \
                server("redslot", quota, ("--metrics-port", str(metrics_port))) as our_port:
            populate(redis_port)
            populate(our_port)
            for i in range(args.repeat):
                order = ["redis", "redslot", "redslot scraped"]
                if i % 2:
                    order.reverse()
                for kind in order:
                    port = redis_port if kind == "redis" else our_port
                    if kind == "redslot scraped":
                        with Scraper(metrics_port, args.interval) as scraper:
                            figures = benchmark_get(port, args.requests, args.clients)
                        scrapes.extend(scraper.durations)
                        failures += scraper.failures
                        figures["scrapes"] = len(scraper.durations)
                    else:
                        figures = benchmark_get(port, args.requests, args.clients)
                    runs[kind].append(figures)
                    print(f"  run {i + 1} {kind:16} rps={figures['rps']:>9,.0f} "
                          f"p50={figures['p50_latency_ms']:.3f} ms p99={figures['p99_latency_ms']:.3f} ms"
                          + (f" scrapes={figures['scrapes']:.0f}" if "scrapes" in figures else ""),
                          flush=True)
            node_pid, exporter_pid = node_and_exporter(metrics_port)
            rss = {"node": rss_mib(node_pid), "exporter": rss_mib(exporter_pid)}
    finally:
        if quota is not None:
            quota.remove()
    medians = {kind: {f: statistics.median(r[f] for r in kind_runs)
                      for f in ("rps", "p50_latency_ms", "p99_latency_ms")}
               for kind, kind_runs in runs.items()}
    ratio = medians["redslot scraped"]["p99_latency_ms"] / medians["redslot"]["p99_latency_ms"]
    # Each alternation's own ratio too: its two runs ran back to back, so a noisy stretch
    # of the machine weighs on both.
    paired = statistics.median(s["p99_latency_ms"] / u["p99_latency_ms"]
                               for s, u in zip(runs["redslot scraped"], runs["redslot"], strict=True))
    scrape_ms = statistics.median(scrapes) * 1000 if scrapes else 0.0
    print(f"\nGET latency, median of {args.repeat} runs; -c {args.clients} -n {args.requests} "
          f"-r {KEYSPACE}; each server on one core"
          + (f" with a {args.cpu_share:.0%} CPU quota" if quota is not None else ", no CPU quota"))
    print(f"{'server':18} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, m in medians.items():
        print(f"{kind:18} {m['rps']:>11,.0f} {m['p50_latency_ms']:>8.3f} {m['p99_latency_ms']:>8.3f}")
    print(f"scrapes every {args.interval * 1000:.0f} ms: {len(scrapes)} answered, {failures} failed, "
          f"median {scrape_ms:.1f} ms each")
    print(f"p99 ratio scraped/unscraped: {ratio:.3f} (ratio of medians), "
          f"{paired:.3f} (median of the {args.repeat} paired ratios)")
    print(f"resident memory: node {rss['node']:.1f} MiB, exporter {rss['exporter']:.1f} MiB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "time": time.time(), "args": vars(args) | {"json": str(args.json)}, "runs": runs,
            "medians": medians, "p99_ratio": ratio, "p99_paired_ratio": paired, "scrapes": len(scrapes),
            "scrape_failures": failures, "scrape_median_ms": scrape_ms, "rss_mib": rss},
            indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
