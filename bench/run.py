#!/usr/bin/env python3
"""Throughput of a redslot node against Debian's redis-server, measured in the same run.

Both servers run pinned to one core (taskset) inside the same CPU quota (a cgroup), and
redis-benchmark runs pinned to the other core, so the server is the bottleneck, not the
load generator. Both servers are up together and run each test back to back (which one
first alternates), so a noisy stretch of the machine falls on both alike. Each figure is
the median of --repeat runs; the output is the redslot/redis-server ratio of the medians
per test and pipeline depth, and ("runs") the lowest and highest ratio of one run's pair.

    python3 bench/run.py                       # the issue's figures (a few minutes)
    python3 bench/run.py --requests 5000 --repeat 1   # a quick smoke run
    python3 bench/run.py --acl-user            # as an ACL user limited to the test's keys
    python3 bench/run.py --tls                 # over TLS (both servers' tls-port, with
                                               # client certificates: tls-auth-clients yes)
    python3 bench/run.py --pure                # a third server: the node's pure-Python
                                               # build (REDSLOT_PURE_PYTHON=1), same run
    python3 bench/run.py --tree /work/wt/before  # and a node run from another source tree
                                               # (its PYTHONPATH; repeatable): a change's
                                               # before and after in one run
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from certs import make_certs  # noqa: E402
from nodes import free_port, wait_for_ping  # noqa: E402

DEFAULT_TESTS = "set,get,incr,mset"
# --acl-user: a user held to redis-benchmark's keys, so that every request is ACL-checked.
ACL_USER = ("--user", "bench", "on", ">bench", "~key:*", "~counter:*", "+@all")
SERVER_CPU = "0"
CLIENT_CPU = "1"


class CpuQuota:
    """A cgroup limiting its processes to ``share`` of one CPU (cgroup v2 or v1)."""

    def __init__(self, share: float) -> None:
        self.path: Path | None = None
        period = 100_000
        quota = int(share * period)
        name = f"redslot-bench-{os.getpid()}"
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        v1 = Path("/sys/fs/cgroup/cpu")
        try:
            if v2.exists() and "cpu" in v2.read_text().split():
                self.path = Path("/sys/fs/cgroup") / name
                self.path.mkdir()
                (self.path / "cpu.max").write_text(f"{quota} {period}")
            elif (v1 / "cpu.cfs_quota_us").exists():
                self.path = v1 / name
                self.path.mkdir()
                (self.path / "cpu.cfs_period_us").write_text(str(period))
                (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError as exc:
            print(f"warning: no CPU quota ({exc}); figures may be load-generator bound", file=sys.stderr)
            self.path = None

    def add(self, pid: int) -> None:
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass


def tools_present(*extra: str) -> bool:
    """The reference server, the load generator, taskset (CPU pinning) and ``extra``, or
    say what to install."""
    for tool in ("redis-server", "redis-benchmark", "taskset", *extra):
        if shutil.which(tool) is None:
            print(f"{tool} is missing (apt-get install redis-server redis-tools util-linux)",
                  file=sys.stderr)
            return False
    return True


@contextmanager
def server(kind: str, quota: CpuQuota | None, extra: tuple[str, ...] = (),
           cpu: str = SERVER_CPU, env: dict[str, str] | None = None) -> Iterator[int]:
    """A redis-server or redslot node pinned to ``cpu`` (and in ``quota``); its port."""
    with server_process(kind, quota, extra, cpu, env) as (_, port):
        yield port


@contextmanager
def server_process(kind: str, quota: CpuQuota | None, extra: tuple[str, ...] = (),
                   cpu: str = SERVER_CPU, env: dict[str, str] | None = None
                   ) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``server``'s process and port."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix=f"bench-{kind}-")
    common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--dir", workdir, *extra]
    if kind == "redis":
        argv = ["redis-server", *common]
    else:
        argv = [sys.executable, "-m", "redslot.cli", "node", *common]
    proc = subprocess.Popen(["taskset", "-c", cpu, *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    try:
        if quota is not None:
            quota.add(proc.pid)
        wait_for_ping(port, proc)
        yield proc, port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def tls_settings(certs: Path) -> tuple[tuple[str, ...], list[str]]:
    """A server's TLS directives (tls-port chosen by the caller) and redis-benchmark's
    options, for certificates made by make_certs."""
    server_side = ("--tls-cert-file", str(certs / "server.crt"), "--tls-key-file",
                   str(certs / "server.key"), "--tls-ca-cert-file", str(certs / "ca.crt"))
    client_side = ["--tls", "--cacert", str(certs / "ca.crt"), "--cert", str(certs / "client.crt"),
                   "--key", str(certs / "client.key")]
    return server_side, client_side


def benchmark_figures(port: int, pipeline: int, requests: int, clients: int,
                      options: list[str]) -> dict[str, float]:
    """redis-benchmark's requests/s per test, for ``options`` (-t or a command, -r, login).

    redis-benchmark times a run with a millisecond clock, so a run shorter than a
    millisecond (a quick smoke run at -P 16) reports ``inf``; such a run is made again with
    ten times the requests (the figure is a rate: the count does not change it), twice at
    most, and a run still unmeasurable is an error rather than an infinite ratio."""
    for _ in range(3):
        out = subprocess.run(
            ["taskset", "-c", CLIENT_CPU, "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
             "-c", str(clients), "-n", str(requests), "-P", str(pipeline), "--csv", *options],
            check=True, capture_output=True, text=True, timeout=600).stdout
        figures = {row["test"].split()[0].lower(): float(row["rps"])
                   for row in csv.DictReader(io.StringIO(out))}
        if all(math.isfinite(rate) for rate in figures.values()):
            return figures
        requests *= 10
    raise RuntimeError(f"redis-benchmark on port {port} finished {requests // 10:,} requests "
                       f"too fast to time: {figures}")


def run_benchmark(port: int, pipeline: int, requests: int, clients: int, tests: str,
                  acl_user: bool = False, tls: list[str] | None = None) -> dict[str, float]:
    login = (["--user", "bench", "-a", "bench"] if acl_user else []) + (tls or [])
    return benchmark_figures(port, pipeline, requests, clients,
                             ["-r", "100000", "-t", tests, *login])


def tls_extra(directives: tuple[str, ...], port: int | None) -> tuple[str, ...]:
    """A server's TLS directives on ``port`` (none without --tls)."""
    return ("--tls-port", str(port), *directives) if port else ()


def main() -> int:
    # SIGTERM (kill, pkill) unwinds like Ctrl-C, so the servers and the CPU quota are
    # removed by the finally blocks instead of outliving the run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=200_000, help="requests per test (-n)")
    ap.add_argument("--clients", type=int, default=50, help="connections (-c)")
    ap.add_argument("--pipelines", default="1,16", help="pipeline depths (-P), comma-separated")
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure; the median is kept")
    ap.add_argument("--cpu-share", type=float, default=0.5,
                    help="CPU quota for each server, as a fraction of one core")
    ap.add_argument("--tests", default=DEFAULT_TESTS, help="redis-benchmark tests (-t)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--acl-user", action="store_true",
                    help="run as an ACL user limited to the test keys (every request checked)")
    ap.add_argument("--tls", action="store_true",
                    help="benchmark over TLS (certificates made with openssl in a temporary folder)")
    ap.add_argument("--pure", action="store_true",
                    help="also run the node's pure-Python build (REDSLOT_PURE_PYTHON=1)")
    ap.add_argument("--tree", action="append", default=[],
                    help="also run a node from this source tree (a PYTHONPATH; repeatable)")
    args = ap.parse_args()
    if not tools_present(*(("openssl",) if args.tls else ())):
        return 2
    tls_server: tuple[str, ...] = ()
    tls_client: list[str] | None = None
    if args.tls:
        tls_server, tls_client = tls_settings(make_certs(Path(tempfile.mkdtemp(prefix="bench-certs-"))))
    quota = CpuQuota(args.cpu_share)
    # The other nodes measured beside redslot, and their environments.
    others: dict[str, dict[str, str]] = {"pure": {"REDSLOT_PURE_PYTHON": "1"}} if args.pure else {}
    for n, tree in enumerate(args.tree, 1):
        others[f"tree{n}"] = {"PYTHONPATH": tree}
        print(f"tree{n}: {tree}")
    kinds = ("redis", "redslot", *others)
    results: dict[str, dict[int, dict[str, float]]] = {kind: {} for kind in kinds}
    # (lowest, highest) ratio of the runs paired test by test, for each pipeline and test
    spreads: dict[int, dict[str, tuple[float, float]]] = {}
    try:
        for pipeline in (int(p) for p in args.pipelines.split(",")):
            runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
            # The servers up at once and their runs interleaved, so that a noisy stretch
            # of this shared machine hits them alike rather than one server's runs.
            extra = ACL_USER if args.acl_user else ()
            tls_ports = {kind: free_port() for kind in kinds} if args.tls else {}
            with ExitStack() as stack:
                ports = {kind: stack.enter_context(server(
                    "redis" if kind == "redis" else "redslot", quota,
                    extra + tls_extra(tls_server, tls_ports.get(kind)),
                    env=others.get(kind)))
                    for kind in kinds} | tls_ports
                for i in range(args.repeat):
                    # Test by test, the servers back to back (first one, then the other
                    # first), so that a noisy stretch of a few seconds falls on both
                    # servers' runs of the same test.
                    row: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
                    for j, test in enumerate(args.tests.split(",")):
                        order = kinds if (i + j) % 2 == 0 else kinds[::-1]
                        for kind in order:
                            row[kind].update(run_benchmark(
                                ports[kind], pipeline, args.requests, args.clients, test,
                                args.acl_user, tls_client))
                    for kind in kinds:
                        runs[kind].append(row[kind])
                        print(f"  {kind:8} -P {pipeline:<3} run {i + 1}: "
                              + " ".join(f"{t}={v:,.0f}" for t, v in row[kind].items()),
                              flush=True)
                pairs = list(zip(runs["redslot"], runs["redis"], strict=True))
                spreads[pipeline] = {
                    t: (min(ours[t] / ref[t] if ref[t] else 0.0 for ours, ref in pairs),
                        max(ours[t] / ref[t] if ref[t] else 0.0 for ours, ref in pairs))
                    for t in runs["redis"][0]}
            for kind, kind_runs in runs.items():
                results[kind][pipeline] = {
                    t: statistics.median(r[t] for r in kind_runs) for t in kind_runs[0]}
    finally:
        quota.remove()
    print(f"\nrequests/s, median of {args.repeat}; each server on one core with a "
          f"{args.cpu_share:.0%} CPU quota; -c {args.clients} -n {args.requests} -r 100000"
          + ("; over TLS" if args.tls else ""))
    # For each other node: its figure, its ratio to redis-server and ("gain") redslot's
    # figure over its.
    others_head = "".join(f" {name:>10} {'ratio':>6} {'gain':>5}" for name in others)
    print(f"{'test':6} {'-P':>3} {'redis-server':>13} {'redslot':>10} {'ratio':>6} "
          f"{'runs':>9}{others_head}")
    ratios = {}
    for pipeline, figures in results["redis"].items():
        for test, ref in figures.items():
            ours = results["redslot"][pipeline].get(test, 0.0)
            ratio = ours / ref if ref else 0.0
            ratios[f"{test} -P {pipeline}"] = ratio
            low, high = spreads[pipeline][test]
            line = (f"{test:6} {pipeline:>3} {ref:>13,.0f} {ours:>10,.0f} {ratio:>6.2f} "
                    f"{low:>4.2f}-{high:<4.2f}")
            for name in others:
                other = results[name][pipeline].get(test, 0.0)
                ratios[f"{test} -P {pipeline} {name}"] = other / ref if ref else 0.0
                line += (f" {other:>10,.0f} {other / ref if ref else 0.0:>6.2f}"
                         f" {ours / other if other else 0.0:>5.2f}")
            print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"time": time.time(), "args": vars(args) | {"json": str(args.json)},
                                         "results": results, "ratios": ratios,
                                         "spreads": {p: {t: list(v) for t, v in f.items()}
                                                     for p, f in spreads.items()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
