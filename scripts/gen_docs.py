#!/usr/bin/env python3
"""Generate README.md's configuration and command references from the registries.

The directive registry (node/config.py) and the command table (node/commandtable.py) are
the truth; the README only mirrors them, so CI (tests/unit/test_docs.py) fails when a directive
or command is added without regenerating the README.

    python3 scripts/gen_docs.py           rewrite the marked sections of README.md
    python3 scripts/gen_docs.py --check   exit 1 when README.md is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from redslot.node import config as config_module
from redslot.node.commands import build_table
from redslot.node.config.directives import DIR, DIRECTIVES, Config, Directive
from redslot.node.table.command import Command

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# Redis's command groups in reading order, with the names the README gives them.
GROUP_TITLES = {
    "string": "string", "generic": "keys", "hash": "hash", "list": "list", "set": "set",
    "sorted-set": "sorted set", "bitmap": "bitmap", "hyperloglog": "hyperloglog",
    "geo": "geo", "stream": "stream", "pubsub": "pub/sub", "transactions": "transactions",
    "scripting": "scripting", "connection": "connection", "server": "server",
    "cluster": "cluster",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def shown_default(d: Directive) -> str:
    """The default as CONFIG GET shows it (``dir`` is the absolute working directory)."""
    if d.kind is DIR:
        return "the working directory"
    shown = d.kind.format(Config.parse(d, d.default))
    return f"`{shown}`" if shown else '`""`'


def config_reference(directives: Iterable[Directive] = DIRECTIVES) -> str:
    rows = [
        "| directive | default | runtime-changeable | description |",
        "|---|---|---|---|",
    ]
    for d in directives:
        name = f"`{d.name}`" + "".join(f" (alias `{a}`)" for a in d.aliases)
        changeable = "start only" if not d.mutable else "yes (protected)" if d.protected else "yes"
        doc = ("*redslot's own:* " if d.own else "") + d.doc
        rows.append(f"| {name} | {_cell(shown_default(d))} | {changeable} | {_cell(doc)} |")
    return "\n".join(rows) + (
        "\n\n*start only*: CONFIG SET refuses it; set it on the command line or in the config"
        " file. *protected*: CONFIG SET changes it only when `enable-protected-configs` allows.")


def _group_order(group: str) -> tuple[int, str]:
    order = list(GROUP_TITLES)
    return (order.index(group) if group in order else len(order), group)


def command_reference(table: Mapping[str, Command]) -> str:
    groups: dict[str, list[Command]] = {}
    for cmd in table.values():
        groups.setdefault(cmd.spec["group"], []).append(cmd)
    subcommands = sum(len(cmd.subcommands or ()) for cmd in table.values())
    lines = [f"{len(table)} commands ({subcommands} subcommands of container commands):", ""]
    for group in sorted(groups, key=_group_order):
        entries = []
        for cmd in sorted(groups[group], key=lambda c: c.name):
            entry = f"`{cmd.name.upper()}`"
            if cmd.subcommands:
                entry += " (" + ", ".join(s.upper() for s in sorted(cmd.subcommands)) + ")"
            entries.append(entry)
        title = GROUP_TITLES.get(group, group)
        lines.append(f"- **{title}** ({len(entries)}): " + ", ".join(entries))
    return "\n".join(lines)


def replace_section(text: str, marker: str, body: str) -> str:
    """Replace what lies between ``<!-- BEGIN marker ... -->`` and ``<!-- END marker -->``."""
    pattern = re.compile(
        rf"(<!-- BEGIN {re.escape(marker)}\b[^\n]*-->\n)(.*?)(<!-- END {re.escape(marker)} -->)",
        re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise ValueError(f"README needs exactly one pair of {marker} markers")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(3), text)


def check_checkout() -> None:
    """Refuse to document another checkout's registries (``pip install -e`` elsewhere)."""
    source = Path(config_module.__file__).resolve().parents[2]
    if source != ROOT:
        raise RuntimeError(f"redslot is imported from {source}, not {ROOT}: "
                           f"run python3 -m pip install -e {ROOT}")


def render(text: str, table: Mapping[str, Command] | None = None) -> str:
    """The README text with both generated sections brought up to date."""
    check_checkout()
    text = replace_section(text, "CONFIG REFERENCE", config_reference())
    return replace_section(text, "COMMAND REFERENCE",
                           command_reference(build_table() if table is None else table))


def main(argv: list[str] | None = None, readme: Path = README) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when README.md is out of date instead of rewriting it")
    args = parser.parse_args(argv)
    current = readme.read_text(encoding="utf-8")
    try:
        wanted = render(current)
    except (RuntimeError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.check:
        if wanted != current:
            print(f"{readme.name} is out of date: run python3 scripts/gen_docs.py", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        readme.write_text(wanted, encoding="utf-8")
        print(f"rewrote the generated sections of {readme.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
