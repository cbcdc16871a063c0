"""scripts/gen_command_table.py --check: the checked-in table is what the reference data
generates, and a table that drifted from it is refused with the commands named.

Drifted tables are generated into a temporary file (``--target``), so the checked-in
node/table/specs.py is never written by a test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "scripts" / "gen_command_table.py"


def generator(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GENERATOR), *map(str, args)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_checked_in_table_is_in_sync_with_the_reference_data() -> None:
    result = generator("--check")
    assert result.returncode == 0, result.stderr


def test_check_fails_naming_a_command_whose_facts_changed(tmp_path: Path) -> None:
    target = tmp_path / "specs.py"
    assert generator("--target", target).returncode == 0
    text = target.read_text()
    target.write_text(text.replace("'sortROGetKeys'", "'sortGetKeys'"))
    result = generator("--check", "--target", target)
    assert result.returncode == 1
    assert "1 command(s) differ: sort_ro" in result.stderr
    assert f"regenerate it with: python3 scripts/gen_command_table.py --target {target}" in (
        result.stderr)


def test_check_fails_when_a_command_is_missing(tmp_path: Path) -> None:
    target = tmp_path / "specs.py"
    assert generator("--target", target).returncode == 0
    text = target.read_text()
    start = text.index(" 'sort_ro': {")
    end = text.index("\n 'spop': {")
    target.write_text(text[:start] + text[end + 1:])
    result = generator("--check", "--target", target)
    assert result.returncode == 1
    assert "1 command(s) are missing: sort_ro" in result.stderr

