"""The Dockerfile, checked without docker (none runs here). scripts/build_image.py builds the
e2e image by carrying out this very Dockerfile (debootstrap, chroot, umoci, skopeo), so the
checks here are that every instruction is one that script carries out the way Docker does
(same base release, same install steps, same user, same entrypoint) and that what it copies
exists, reaches the build context and holds every package; the user is not root; the
entrypoint is our console script and the default command runs."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def build_image() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_image", ROOT / "scripts/build_image.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_image"] = module
    spec.loader.exec_module(module)
    return module


IMAGE = build_image()


def instructions(name: str) -> list[str]:
    return [ins.args for ins in IMAGE.dockerfile() if ins.name == name]


def test_every_instruction_is_one_the_image_script_carries_out():
    parsed = IMAGE.dockerfile()
    assert {ins.name for ins in parsed} <= set(IMAGE.SUPPORTED)
    assert parsed[0].name == "FROM"
    names = [name for name, _ in IMAGE.stages(parsed)]
    for ins in parsed:  # COPY --from names an earlier stage
        if ins.name == "COPY" and IMAGE.copy_stage(ins) is not None:
            assert IMAGE.copy_stage(ins) in names[:-1], ins
    # ENV values are literal: the script does not expand $VARS as Docker would.
    assert not [args for args in instructions("ENV") if "$" in args]
    for args in instructions("ENTRYPOINT") + instructions("CMD"):
        assert isinstance(json.loads(args), list), args
    for _, stage in IMAGE.stages(parsed):
        copies = [i for i, ins in enumerate(stage) if ins.name == "COPY"]
        assert copies and not [ins for ins in stage[copies[0]:] if ins.name == "FROM"]


def test_the_image_ships_the_compiled_build_without_a_compiler():
    """The build stage compiles the hot modules (and fails unless it did); the image takes
    only its venv, and installs no compiler or headers of its own."""
    (build, build_steps), (_, image) = IMAGE.stages(IMAGE.dockerfile())
    build_runs = " ".join(ins.args for ins in build_steps if ins.name == "RUN")
    assert "gcc" in build_runs and "python3-dev" in build_runs
    assert 'redslot node --version | grep -q "build=compiled"' in build_runs
    assert [ins.args for ins in image if ins.name == "COPY"] == [
        f"--from={build} /opt/redslot /opt/redslot"]
    image_runs = " ".join(ins.args for ins in image if ins.name == "RUN")
    assert "gcc" not in image_runs and "-dev" not in image_runs


def test_the_compile_step_keeps_mypyc_output_in_a_cache_mount():
    """setup.py's cache (~/.cache/redslot/mypyc in the build stage) survives between image
    builds only through a cache mount; the script binds it from its own cache."""
    (_, build_steps), _ = IMAGE.stages(IMAGE.dockerfile())
    (compile_step,) = [ins.args for ins in build_steps if "pip install" in ins.args]
    targets, command = IMAGE.run_mounts(compile_step)
    assert targets == ["/root/.cache/redslot"]
    assert command.startswith("pip install --no-cache-dir . ")
    assert IMAGE.run_mounts("apt-get update") == ([], "apt-get update")


def test_base_is_debian_slim_whose_python_the_package_accepts():
    """The script debootstraps each FROM line's release; bookworm's python3 is 3.11."""
    for base in IMAGE.dockerfile():
        if base.name == "FROM":
            assert IMAGE.base_release(base) == "bookworm", base
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    runs = " ".join(instructions("RUN"))
    assert "apt-get install -y --no-install-recommends python3 python3-venv" in runs
    assert "python3 -m venv /opt/redslot" in runs and "rm -rf /var/lib/apt/lists/*" in runs


def test_dockerfile_copies_exist_and_reach_the_build_context():
    copied = []
    for ins in IMAGE.dockerfile():
        if ins.name != "COPY" or IMAGE.copy_stage(ins) is not None:
            continue
        sources, _ = IMAGE.copy_sources(ins)
        for source in sources:
            assert (ROOT / source).exists(), source
            files = IMAGE.context_files(source)
            assert [f for f in files if f.suffix == ".py" or (ROOT / source).is_file()], source
            assert not [f for f in files if "__pycache__" in f.parts], source
            copied.append(source.rstrip("/"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert {"pyproject.toml", "setup.py", project["project"]["readme"]} <= set(copied)
    for package_dir in project["tool"]["setuptools"]["package-dir"].values():
        assert package_dir.split("/")[0] in copied, package_dir
    assert any("pip install --no-cache-dir ." in run for run in instructions("RUN"))


def image_config() -> object:
    """The config of the image: its last stage's instructions."""
    return IMAGE.config(IMAGE.stages(IMAGE.dockerfile())[-1][1])


def test_image_config_runs_as_a_non_root_user_owning_data():
    config = image_config()
    assert config.user == "10001:10001"
    runs = " ".join(instructions("RUN"))
    assert "--uid 10001" in runs and "chown 10001:10001 /data" in runs
    assert config.workdir == "/data"
    assert set(config.exposed) == {"6379/tcp", "16379/tcp", "9121/tcp"}
    assert config.env["PATH"].split(":")[0] == "/opt/redslot/bin"


def test_image_entrypoint_is_the_redslot_command():
    config = image_config()
    assert config.entrypoint == ["redslot"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["redslot"] == "redslot.cli:main"
    from redslot.cli import main
    assert main(config.cmd) == 0


def test_image_tag_is_stable_and_changes_with_the_instructions():
    parsed = IMAGE.dockerfile()
    assert IMAGE.digest(parsed) == IMAGE.digest(IMAGE.dockerfile())
    changed = [IMAGE.Instruction(ins.name, ins.args.replace("--no-install-recommends",
                                                           "--no-install-suggests"))
               for ins in parsed]
    assert IMAGE.digest(changed) != IMAGE.digest(parsed)
    assert re.fullmatch(r"[0-9a-f]{64}", IMAGE.digest(parsed))
