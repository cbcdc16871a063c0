"""The benchmark script keeps working (a tiny run: no figures are asserted, only that it runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


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
