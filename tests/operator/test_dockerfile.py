"""The Dockerfile, checked without docker (none runs here): it is parsed, and what it copies
must exist, reach the build context and hold every package; the user is not root; the
entrypoint is our console script and the default command runs."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dockerfile() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            out.append((instruction.upper(), rest.strip()))
    return out


def instructions(name: str) -> list[str]:
    return [rest for instruction, rest in dockerfile() if instruction == name]


def dockerignored(path: str) -> bool:
    """Docker's rule: the last .dockerignore pattern matching the path or a parent wins."""
    ignored = False
    candidates = [path] + [str(p) for p in Path(path).parents if str(p) != "."]
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").rstrip("/")
        regex = fnmatch.translate(pattern).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*")
        if any(re.match(regex, c) for c in candidates):
            ignored = not negate
    return ignored


def test_dockerfile_base_image_is_python_311_slim_pinned_by_tag():
    (base,) = instructions("FROM")
    image, _, tag = base.partition(":")
    assert image == "python" and re.match(r"3\.11(\.\d+)?-slim", tag), base


def test_dockerfile_copies_exist_and_reach_the_build_context():
    copied = []
    for rest in instructions("COPY"):
        *sources, _ = shlex.split(rest)
        for source in sources:
            assert (ROOT / source).exists(), source
            files = [source] if (ROOT / source).is_file() else [
                str(p.relative_to(ROOT)) for p in (ROOT / source).rglob("*.py")
                if "__pycache__" not in p.parts]
            assert files and not [f for f in files if dockerignored(f)], source
            copied.append(source.rstrip("/"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "pyproject.toml" in copied and project["project"]["readme"] in copied
    for package_dir in project["tool"]["setuptools"]["package-dir"].values():
        assert package_dir.split("/")[0] in copied, package_dir
    assert any("pip install --no-cache-dir ." in run for run in instructions("RUN"))


def test_dockerfile_runs_as_a_non_root_user_owning_data():
    (user,) = instructions("USER")
    assert user.split(":")[0] == "10001"
    runs = " ".join(instructions("RUN"))
    assert "--uid 10001" in runs and "chown 10001:10001 /data" in runs
    assert instructions("WORKDIR")[-1] == "/data"
    assert set(" ".join(instructions("EXPOSE")).split()) == {"6379", "16379", "9121"}


def test_dockerfile_entrypoint_is_the_redslot_command():
    (entrypoint,) = instructions("ENTRYPOINT")
    (cmd,) = instructions("CMD")
    assert json.loads(entrypoint) == ["redslot"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["redslot"] == "redslot.cli:main"
    from redslot.cli import main
    assert main(json.loads(cmd)) == 0
