"""What the per-family benchmarks (datatypes, bitmaps, geo, hyperloglog, scripting,
streams) share: their common options, the interleaved runs with each run's figures
printed, the medians, the ratio table against redis-server and the JSON file.

A script brings its data and a ``run(port, pipeline)`` giving one run's requests/s per
test; ``measure`` alternates the two servers run by run (``interleaved``) so that drift
on the machine falls on both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

from run import CpuQuota, server

KINDS = ("redis", "redslot")
Figures = dict[str, float]
Results = dict[str, dict[int, Figures]]  # kind -> pipeline -> test -> median requests/s


def servers(stack: ExitStack, quota: CpuQuota) -> dict[str, int]:
    return {kind: stack.enter_context(server(kind, quota)) for kind in KINDS}


def interleaved(pipelines: list[int], repeat: int) -> Iterator[tuple[int, int, str]]:
    for pipeline in pipelines:
        for i in range(repeat):
            for kind in (KINDS if i % 2 == 0 else KINDS[::-1]):
                yield pipeline, i, kind


def add_options(ap: argparse.ArgumentParser, requests: int, pipelines: str = "16,1",
                json_file: bool = True) -> None:
    ap.add_argument("--requests", type=int, default=requests, help="requests per test (-n)")
    ap.add_argument("--clients", type=int, default=50, help="connections (-c)")
    ap.add_argument("--pipelines", default=pipelines, help="pipeline depths (-P), comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is kept")
    ap.add_argument("--cpu-share", type=float, default=0.5,
                    help="CPU quota for each server, as a fraction of one core")
    ap.add_argument("--quick", action="store_true", help="a tiny smoke run")
    if json_file:
        ap.add_argument("--json", type=Path, help="also write the figures to this file")


def pipelines_of(args: argparse.Namespace) -> list[int]:
    return [int(p) for p in args.pipelines.split(",")]


def measure(ports: dict[str, int], pipelines: list[int], repeat: int,
            run: Callable[[int, int], Figures]) -> Results:
    """Each server ``repeat`` times at each depth, alternating; the medians."""
    runs: dict[str, dict[int, list[Figures]]] = {k: {p: [] for p in pipelines} for k in KINDS}
    for pipeline, i, kind in interleaved(pipelines, repeat):
        figures = run(ports[kind], pipeline)
        runs[kind][pipeline].append(figures)
        print(f"  {kind:8} -P {pipeline:<3} run {i + 1}: "
              + " ".join(f"{t}={v:,.0f}" for t, v in figures.items()), flush=True)
    return {kind: {p: {t: statistics.median(r[t] for r in kind_runs) for t in kind_runs[0]}
                   for p, kind_runs in by_pipeline.items()} for kind, by_pipeline in runs.items()}


def ratio_table(results: Results, pipelines: list[int], width: int) -> dict[str, float]:
    """Print redis-server's and redslot's medians and their ratio; the ratios by name."""
    print(f"{'test':{width}} {'-P':>3} {'redis-server':>13} {'redslot':>10} {'ratio':>6}")
    ratios: dict[str, float] = {}
    for pipeline in pipelines:
        for test, ref in results["redis"][pipeline].items():
            ours = results["redslot"][pipeline][test]
            ratio = ours / ref if ref else 0.0
            ratios[f"{test} -P {pipeline}"] = ratio
            print(f"{test:{width}} {pipeline:>3} {ref:>13,.0f} {ours:>10,.0f} {ratio:>6.2f}")
    return ratios


def write_json(args: argparse.Namespace, results: Results, ratios: dict[str, float]) -> None:
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"time": time.time(),
                                         "args": vars(args) | {"json": str(args.json)},
                                         "results": results, "ratios": ratios}, indent=2))
