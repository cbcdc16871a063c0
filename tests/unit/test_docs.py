"""The README's generated references match the directive registry and the command table."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from redslot.node.commands import build_table
from redslot.node.config.directives import DIRECTIVES

REPO = Path(__file__).resolve().parents[2]


def _load_gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module
    spec.loader.exec_module(module)
    return module


gen_docs = _load_gen_docs()


def test_readme_references_are_up_to_date() -> None:
    current = (REPO / "README.md").read_text(encoding="utf-8")
    assert gen_docs.render(current) == current, (
        "README.md is out of date: run python3 scripts/gen_docs.py")


def test_check_mode_passes_on_the_committed_readme() -> None:
    assert gen_docs.main(["--check"]) == 0


def test_check_mode_fails_when_a_section_is_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    text = (REPO / "README.md").read_text(encoding="utf-8")
    readme.write_text(text.replace("| `port` |", "| `port-renamed` |"), encoding="utf-8")
    assert gen_docs.main(["--check"], readme=readme) == 1
    assert "out of date" in capsys.readouterr().err
    assert "`port-renamed`" in readme.read_text(encoding="utf-8")


def test_generation_rewrites_a_stale_section_in_place(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- BEGIN CONFIG REFERENCE (generated) -->\nold\n"
                      "<!-- END CONFIG REFERENCE -->\nmiddle\n"
                      "<!-- BEGIN COMMAND REFERENCE (generated) -->\n"
                      "<!-- END COMMAND REFERENCE -->\noutro\n", encoding="utf-8")
    assert gen_docs.main([], readme=readme) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n<!-- BEGIN CONFIG REFERENCE (generated) -->\n| directive |")
    assert "\nold\n" not in text
    assert "-->\nmiddle\n<!--" in text and text.endswith("<!-- END COMMAND REFERENCE -->\noutro\n")
    assert gen_docs.main(["--check"], readme=readme) == 0


def test_missing_markers_are_reported(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n", encoding="utf-8")
    assert gen_docs.main(["--check"], readme=readme) == 1


def test_every_directive_has_a_description() -> None:
    missing = [d.name for d in DIRECTIVES if not d.doc.strip()]
    assert not missing, f"directives without a doc: {missing}"


def test_config_reference_lists_every_directive_once() -> None:
    reference = gen_docs.config_reference()
    for d in DIRECTIVES:
        row = re.compile(rf"^\| `{re.escape(d.name)}`( \(alias[^)]*\))? \|", re.M)
        assert len(row.findall(reference)) == 1, d.name


def test_config_reference_shows_defaults_as_config_get_does() -> None:
    reference = gen_docs.config_reference()
    assert "| `save` | `3600 1 300 100 60 10000` | yes |" in reference
    assert "| `requirepass` | `\"\"` | yes |" in reference
    assert "| `port` | `6379` | start only |" in reference
    assert "| `dir` | the working directory | yes (protected) |" in reference


def test_command_reference_names_every_command_and_subcommand() -> None:
    table = build_table()
    reference = gen_docs.command_reference(table)
    for cmd in table.values():
        assert f"`{cmd.name.upper()}`" in reference, cmd.name
    client_line = next(line for line in reference.splitlines() if "`CLIENT`" in line)
    assert "`CLIENT` (CACHING, GETNAME, GETREDIR, HELP, ID, INFO, KILL, LIST," in client_line
    assert client_line.startswith("- **connection** (")
    assert any(line.startswith("- **keys** (") and "`DEL`" in line
               for line in reference.splitlines())
