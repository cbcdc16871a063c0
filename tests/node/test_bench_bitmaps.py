"""bench/bitmaps.py keeps working (a tiny run: no figures are asserted, only that it runs)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bitmaps.py"


def test_bitmaps_bench_quick_run_prints_a_ratio_line_per_test_and_pipeline():
    result = subprocess.run([sys.executable, str(BENCH), "--quick"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    number = r"[\d,.]+"
    for test in ("bitcount", "bitcount_sparse", "bitpos", "setbit"):
        for pipeline in (16, 1):
            pattern = rf"{test}\s+{pipeline}\s+{number}\s+{number}\s+{number}$"
            assert any(re.match(pattern, line) for line in result.stdout.splitlines()), \
                (test, pipeline, result.stdout)
