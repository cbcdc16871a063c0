"""The benchmark script keeps working (a tiny run: no figures are asserted, only that it runs)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def test_bench_runs_against_both_servers_and_prints_ratios(tmp_path):
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, str(BENCH), "--requests", "2000", "--repeat", "1", "--clients", "5",
         "--pipelines", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "ratio" in result.stdout
    assert out.exists()
    figures = out.read_text()
    for test in ("set -P 1", "get -P 1", "incr -P 1", "mset -P 1"):
        assert test in figures


def test_bench_measures_a_node_from_another_tree_in_the_same_run(tmp_path):
    out = tmp_path / "figures.json"
    tree = str(BENCH.parents[1])  # this checkout, as the before tree of a change would be
    result = subprocess.run(
        [sys.executable, str(BENCH), "--requests", "2000", "--repeat", "1", "--clients", "5",
         "--pipelines", "1", "--tests", "get", "--tree", tree, "--json", str(out)],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert f"tree1: {tree}" in result.stdout
    header, row = result.stdout.splitlines()[-2:]
    assert header.split()[-3:] == ["tree1", "ratio", "gain"]
    assert row.split()[0] == "get" and float(row.split()[-1]) > 0
    assert json.loads(out.read_text())["ratios"]["get -P 1 tree1"] > 0


TYPES_BENCH = BENCH.parent / "datatypes.py"


def test_types_bench_quick_run_prints_throughput_and_memory_ratio_lines():
    result = subprocess.run([sys.executable, str(TYPES_BENCH), "--quick"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    number = r"[\d,.]+"
    for test in ("lpush", "lpop", "sadd", "hset", "zadd", "zrange100", "zrank"):
        for pipeline in (16, 1):
            pattern = rf"{test}\s+{pipeline}\s+{number}\s+{number}\s+{number}$"
            assert any(re.match(pattern, line) for line in lines), (test, pipeline, result.stdout)
    for dataset in ("hash, bytes/key", "zset, bytes/member"):
        pattern = rf"{re.escape(dataset)} \(.*\)\s+{number}\s+{number}\s+{number}\s"
        assert any(re.match(pattern, line) for line in lines), (dataset, result.stdout)
    assert "used_memory_rss delta" in result.stdout


STREAMS_BENCH = BENCH.parent / "streams.py"


def test_streams_bench_quick_run_prints_throughput_and_memory_ratio_lines():
    result = subprocess.run([sys.executable, str(STREAMS_BENCH), "--quick"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    number = r"[\d,.]+"
    for test in ("xadd", "xrange10", "xreadgroup"):
        for pipeline in (16, 1):
            pattern = rf"{test}\s+{pipeline}\s+{number}\s+{number}\s+{number}$"
            assert any(re.match(pattern, line) for line in result.stdout.splitlines()), (
                test, pipeline, result.stdout)
    assert re.search(rf"memory, bytes/entry .*\(ratio {number}\)", result.stdout), result.stdout


HLL_BENCH = BENCH.parent / "hyperloglog.py"


def test_hyperloglog_bench_quick_run_prints_a_ratio_per_test():
    result = subprocess.run([sys.executable, str(HLL_BENCH), "--quick"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    number = r"[\d,.]+"
    for test in ("pfadd", "pfadd-sparse", "pfcount", "pfcount3", "pfmerge3"):
        for pipeline in (16, 1):
            pattern = rf"{test}\s+{pipeline}\s+{number}\s+{number}\s+{number}$"
            assert any(re.match(pattern, line) for line in result.stdout.splitlines()), (
                test, pipeline, result.stdout)

SCRIPTING_BENCH = BENCH.parent / "scripting.py"


def test_scripting_bench_quick_run_prints_evalsha_and_fcall_ratios():
    result = subprocess.run([sys.executable, str(SCRIPTING_BENCH), "--quick"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    number = r"[\d,.]+"
    lines = result.stdout.splitlines()
    for test in ("evalsha", "fcall", "eval"):
        for pipeline in (1, 16):
            pattern = rf"{test}\s+{pipeline}\s+{number}\s+{number}\s+{number}$"
            assert any(re.match(pattern, line) for line in lines), (test, pipeline, result.stdout)


RESHARD_BENCH = BENCH.parent / "reshard.py"
FAILOVER_BENCH = BENCH.parent / "failover.py"


@pytest.mark.timeout(300)
def test_reshard_bench_moves_keys_on_both_systems_and_prints_the_ratio(tmp_path):
    out = tmp_path / "reshard.json"
    result = subprocess.run([sys.executable, str(RESHARD_BENCH), "--keys", "3000", "--json", str(out)],
                            capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio redslot/redis (keys/s), per round:" in result.stdout
    figures = json.loads(out.read_text())
    assert figures["errors"] == []
    (moved_by,) = figures["rounds"]
    for system in ("redis", "redslot"):
        moved = moved_by[system]
        assert moved["keys_after"] == 3000
        assert 0 < moved["keys_moved"] < 3000
        assert moved["keys_per_second"] > 0
    ratio = figures["ratios"]["redslot"]
    assert ratio["median"] == ratio["per_round"][0] > 0


@pytest.mark.timeout(300)
def test_failover_bench_measures_both_scenarios_on_both_systems(tmp_path):
    out = tmp_path / "failover.json"
    result = subprocess.run([sys.executable, str(FAILOVER_BENCH), "--rounds", "1", "--json", str(out)],
                            capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(out.read_text())["figures"]
    for scenario in ("kill", "stop"):
        for system in ("redis", "redslot"):
            assert 0 < figures[scenario][system]["median"] < 60, (scenario, system)


SCRAPE_BENCH = BENCH.parent / "scrape_latency.py"


def test_scrape_latency_bench_runs_with_and_without_a_scraper(tmp_path):
    out = tmp_path / "scrape.json"
    result = subprocess.run(
        [sys.executable, str(SCRAPE_BENCH), "--requests", "3000", "--repeat", "1", "--clients", "5",
         "--json", str(out)],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "p99 ratio scraped/unscraped:" in result.stdout
    figures = json.loads(out.read_text())
    for kind in ("redis", "redslot", "redslot scraped"):
        assert figures["medians"][kind]["p99_latency_ms"] > 0
    assert figures["scrape_failures"] == 0
    assert figures["p99_ratio"] > 0


def test_fullsync_bench_times_every_pair(tmp_path):
    out = tmp_path / "fullsync.json"
    result = subprocess.run([sys.executable, str(BENCH.parent / "fullsync.py"), "--keys", "2000",
                             "--json", str(out)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert set(figures["seconds"]) == {"redis-server <- redis-server", "redslot <- redslot",
                                       "redslot <- redis-server", "redis-server <- redslot"}
    assert all(seconds > 0 for seconds in figures["seconds"].values())


PUBSUB_BENCH = BENCH.parent / "pubsub.py"


def test_pubsub_bench_quick_run_prints_throughput_and_latency_ratios(tmp_path):
    out = tmp_path / "pubsub.json"
    result = subprocess.run([sys.executable, str(PUBSUB_BENCH), "--quick", "--json", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "summary: redslot/redis-server PUBLISH throughput" in result.stdout
    figures = json.loads(out.read_text())
    for subscribers in (1, 10, 100):
        for name in ("throughput", "p50 latency", "p99 latency"):
            assert figures["ratios"][f"{name} {subscribers} subscribers"] > 0
        for kind in ("redis", "redslot"):
            assert figures["results"][kind]["publishes_per_s"][str(subscribers)] > 0


GEO_BENCH = BENCH.parent / "geo.py"


def test_geo_bench_quick_run_prints_a_ratio_per_geo_test():
    result = subprocess.run([sys.executable, str(GEO_BENCH), "--quick"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    number = r"[\d,.]+"
    for test in ("geoadd", "geosearch_all", "geosearch_count10", "geosearch_box"):
        for pipeline in (16, 1):
            pattern = rf"{test}\s+{pipeline}\s+{number}\s+{number}\s+{number}$"
            assert any(re.match(pattern, line) for line in lines), (test, pipeline, result.stdout)


CPU_BENCH = BENCH.parent / "cpu_per_request.py"


def test_cpu_per_request_bench_runs_the_three_servers():
    result = subprocess.run([sys.executable, str(CPU_BENCH), "--tests", "get", "--requests",
                             "20000", "--repeat", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[1:3]
    assert header.split()[1:4] == ["redis-server", "redslot", "uvloop"]
    figures = row.split()
    assert figures[0] == "get" and all(float(x) > 0 for x in figures[1:])


OWN_WORK_BENCH = BENCH.parent / "own_work.py"


def test_own_work_bench_answers_every_request_and_prints_a_figure_per_test():
    result = subprocess.run([sys.executable, str(OWN_WORK_BENCH), "--tests", "get,lpush",
                             "--requests", "2000", "--repeat", "2"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr  # it asserts every request was answered
    lines = result.stdout.splitlines()
    assert "build: " in lines[0]
    for test, line in zip(("get", "lpush"), lines[1:], strict=True):
        name, _, fastest, _, median = line.split()
        assert name == test and 0 < float(fastest) <= float(median)
