#!/usr/bin/env python3
"""Build the redslot image from the checkout without Docker, by running the Dockerfile itself.

No Docker engine or registry runs here, so this script is the Docker build: it reads the
Dockerfile and carries out each instruction (FROM debian:<release>-slim is a debootstrap
minbase of that release slimmed the way Debian's slim images are; RUN runs in a chroot with
the ENV so far; COPY honours .dockerignore; WORKDIR, USER, EXPOSE, ENTRYPOINT and CMD go to the
image config). Each FROM starts a stage in a root filesystem of its own, and COPY
--from=<stage> copies a path out of an earlier one, as a multi-stage Docker build does; RUN
--mount=type=cache,target=<dir> lends the step a directory kept between builds and left out
of the image, as BuildKit's cache mounts do. The last stage is the image: its root
filesystem is packed as one layer with umoci and written as a docker-archive with skopeo,
which `ctr images import` loads. Running the Dockerfile's own instructions is what
keeps the two from drifting; tests/operator/test_dockerfile.py checks that every instruction is
one this script carries out. The pause image a pod sandbox needs is packed the same way.

    python3 scripts/build_image.py            build if needed; prints "<archive> <image name>"
    python3 scripts/build_image.py --pause    the pause image (its program: scripts/kube-binaries)

Cache: ${REDSLOT_IMAGE_CACHE:-$HOME/.cache/redslot/image}: the debootstrap base per release,
the root filesystem after the instructions before the first COPY (keyed by their text),
each archive keyed by a hash of everything it is built from, and the RUN cache mounts'
directories (mounts/<target>: the build stage's mypyc extensions, keyed by setup.py).
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("REDSLOT_IMAGE_CACHE", Path.home() / ".cache/redslot/image"))
MIRROR = "http://deb.debian.org/debian"
REPOSITORY = "docker.io/library/redslot"
PAUSE_REPOSITORY = "localhost/redslot-pause"
SUPPORTED = ("FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "ENTRYPOINT", "CMD")
# What Debian's -slim images leave out (debuerreotype's slimify), so the base matches theirs.
SLIM_DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
"""
# What Debian's images tell apt (docker-clean): no .deb or package cache left after a step.
APT_CLEAN = """\
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
SOURCES = """\
Types: deb
URIs: http://deb.debian.org/debian
Suites: {release} {release}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {release}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


@dataclass
class Instruction:
    name: str
    args: str


@dataclass
class Config:
    """The OCI image config the Dockerfile's instructions add up to."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "0:0"
    exposed: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def parse(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile: comments dropped, backslash continuations joined."""
    out = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, args = line.partition(" ")
            out.append(Instruction(name.upper(), " ".join(args.split())))
    return out


def dockerfile() -> list[Instruction]:
    return parse((ROOT / "Dockerfile").read_text())


def base_release(instruction: Instruction) -> str:
    """FROM debian:<release>-slim [AS name] -> the release debootstrap installs."""
    match = re.fullmatch(r"debian:([a-z]+)-slim(?: AS [a-z][a-z0-9_-]*)?", instruction.args)
    if instruction.name != "FROM" or not match:
        raise SystemExit(f"build_image: the base must be FROM debian:<release>-slim, not {instruction}")
    return match.group(1)


def env_pairs(args: str) -> dict[str, str]:
    """ENV k=v ...; values are literal (no $ expansion), which the Dockerfile test checks."""
    pairs = {}
    for word in shlex.split(args):
        key, sep, value = word.partition("=")
        if not sep:
            raise SystemExit(f"build_image: ENV needs key=value pairs: {args}")
        pairs[key] = value
    return pairs


def config(instructions: list[Instruction]) -> Config:
    """What ENV, WORKDIR, USER, EXPOSE, ENTRYPOINT and CMD leave in the image config."""
    out = Config()
    for ins in instructions:
        if ins.name not in SUPPORTED:
            raise SystemExit(f"build_image: unsupported Dockerfile instruction {ins.name}")
        if ins.name == "ENV":
            out.env.update(env_pairs(ins.args))
        elif ins.name == "WORKDIR":
            out.workdir = os.path.join(out.workdir, ins.args)
        elif ins.name == "USER":
            out.user = ins.args
        elif ins.name == "EXPOSE":
            out.exposed += [p if "/" in p else f"{p}/tcp" for p in ins.args.split()]
        elif ins.name == "ENTRYPOINT":
            out.entrypoint = json.loads(ins.args)
        elif ins.name == "CMD":
            out.cmd = json.loads(ins.args)
    return out


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


def context_files(source: str) -> list[Path]:
    """The files a COPY source brings from the build context, relative to the checkout."""
    path = ROOT / source
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [f.relative_to(ROOT) for f in files if not dockerignored(str(f.relative_to(ROOT)))]


def stages(instructions: list[Instruction]) -> list[tuple[str, list[Instruction]]]:
    """The build stages: (name, instructions from its FROM on); the last one is the image."""
    starts = [i for i, ins in enumerate(instructions) if ins.name == "FROM"]
    out = []
    for start, end in zip(starts, starts[1:] + [len(instructions)], strict=True):
        words = instructions[start].args.split()
        out.append((words[2] if len(words) == 3 else str(len(out)), instructions[start:end]))
    return out


def copy_stage(ins: Instruction) -> str | None:
    """COPY --from=<stage>: the stage it copies out of; None for the build context."""
    first = ins.args.split()[0]
    return first.removeprefix("--from=") if first.startswith("--from=") else None


def run_mounts(args: str) -> tuple[list[str], str]:
    """RUN [--mount=type=cache,target=<dir>]... <command>: the cache mounts' targets and
    the command. Only cache mounts are carried out; any other kind stops the build."""
    targets = []
    while args.startswith("--mount="):
        option, _, args = args.partition(" ")
        fields = dict(f.partition("=")[::2] for f in option.removeprefix("--mount=").split(","))
        if fields.get("type") != "cache" or not fields.get("target", "").startswith("/"):
            raise SystemExit(f"build_image: only --mount=type=cache,target=/<dir>: {option}")
        targets.append(fields["target"])
    return targets, args


def copy_sources(ins: Instruction) -> tuple[list[str], str]:
    *sources, dest = shlex.split(ins.args)
    return [s for s in sources if not s.startswith("--from=")], dest


def digest(instructions: list[Instruction]) -> str:
    """Everything the image is made of: this script, the instructions and every copied file."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for ins in instructions:
        h.update(f"{ins.name} {ins.args}\n".encode())
        if ins.name == "COPY" and copy_stage(ins) is None:
            for source in copy_sources(ins)[0]:
                for f in context_files(source):
                    h.update(f"{f}\n".encode() + (ROOT / f).read_bytes())
    return h.hexdigest()


def run(*argv: str, **kw: object) -> None:
    subprocess.run(argv, check=True, **kw)  # type: ignore[call-overload]


def log(text: str) -> None:
    print(f"== build_image: {text}", file=sys.stderr, flush=True)


def debootstrap_base(release: str) -> Path:
    """A minbase root filesystem of the release, slimmed like debian:<release>-slim; cached."""
    slim = hashlib.sha256((SLIM_DPKG_EXCLUDES + APT_CLEAN + SOURCES).encode()).hexdigest()[:8]
    tar = CACHE / f"base-{release}-{slim}.tar"
    if tar.exists():
        return tar
    log(f"debootstrap --variant=minbase {release} (first time: about a minute)")
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        rootfs = Path(work) / "rootfs"
        run("debootstrap", "--variant=minbase", release, str(rootfs), MIRROR,
            stdout=subprocess.DEVNULL)
        (rootfs / "etc/dpkg/dpkg.cfg.d/docker").write_text(SLIM_DPKG_EXCLUDES)
        (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(APT_CLEAN)
        for gone in ("usr/share/groff", "usr/share/info", "usr/share/linda", "usr/share/man",
                     "usr/share/lintian/overrides", "var/cache/apt/archives",
                     "var/lib/apt/lists"):
            shutil.rmtree(rootfs / gone, ignore_errors=True)
        for doc in (rootfs / "usr/share/doc").glob("*/*"):
            if doc.name != "copyright":
                shutil.rmtree(doc) if doc.is_dir() and not doc.is_symlink() else doc.unlink()
        for locale in (rootfs / "usr/share/locale").glob("*"):
            if locale.name != "locale.alias":
                shutil.rmtree(locale) if locale.is_dir() else locale.unlink()
        (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True)
        (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True)
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES.format(release=release))
        pack_rootfs(rootfs, tar)
    return tar


def pack_rootfs(rootfs: Path, tar: Path) -> None:
    partial = tar.with_suffix(".partial")
    run("tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(partial), ".")
    partial.rename(tar)


def unpack_rootfs(tar: Path, rootfs: Path) -> None:
    rootfs.mkdir()
    run("tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-xf", str(tar))


def chroot_run(rootfs: Path, command: str, cfg: Config) -> None:
    """RUN: /bin/sh -c in the root filesystem, in a private mount namespace (its /proc and /dev
    mounts vanish with it, even if this script is killed), with the host's resolv.conf as
    Docker gives a build. The host's CA bundle is lent to the step the way a build secret
    is (mounted, named by PIP_CERT and SSL_CERT_FILE, never left in the image): where egress
    goes through a TLS-inspecting proxy, pip trusts nothing else. Cache mounts are bound
    over their target the same way, from a directory of the cache."""
    targets, command = run_mounts(command)
    mounts = ""
    for target in targets:
        kept = CACHE / "mounts" / target.strip("/").replace("/", "_")
        kept.mkdir(parents=True, exist_ok=True)
        (rootfs / target.lstrip("/")).mkdir(parents=True, exist_ok=True)
        mounts += f"mount --bind {shlex.quote(str(kept))} {shlex.quote(f'{rootfs}{target}')} && "
    resolv, ca = rootfs / "etc/resolv.conf", rootfs / "run/build-ca.crt"
    resolv.unlink(missing_ok=True)
    shutil.copy("/etc/resolv.conf", resolv)
    ca.touch()
    env = [f"{k}={v}" for k, v in cfg.env.items()]
    if "PATH" not in cfg.env:
        env.append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env += ["PIP_CERT=/run/build-ca.crt", "SSL_CERT_FILE=/run/build-ca.crt"]
    host_ca = os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    inner = (f"mount -t proc proc {rootfs}/proc && mount --rbind /dev {rootfs}/dev && "
             f"mount --bind -o ro {shlex.quote(host_ca)} {ca} && {mounts}"
             f"exec chroot --userspec={cfg.user} {rootfs} /usr/bin/env -i HOME=/root "
             f"DEBIAN_FRONTEND=noninteractive {shlex.join(env)} "
             f"/bin/sh -c {shlex.quote(f'cd {cfg.workdir} && {command}')}")
    try:
        # Its output is a build log: stderr, so stdout stays this script's answer.
        run("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", inner,
            stdout=sys.stderr)
    finally:
        resolv.unlink(missing_ok=True)
        ca.unlink(missing_ok=True)


def copy_into(rootfs: Path, ins: Instruction, cfg: Config, built: dict[str, Path]) -> None:
    """COPY src... dest: a directory's contents land in dest, as Docker copies them; with
    --from=<stage>, src is a path in that stage's root filesystem (owners, modes and
    symlinks kept)."""
    sources, dest = copy_sources(ins)
    target = rootfs / os.path.join(cfg.workdir, dest).lstrip("/")
    stage = copy_stage(ins)
    if stage is not None:
        for source in sources:
            run("cp", "-a", "-T", str(built[stage] / source.lstrip("/")), str(target))
        return
    for source in sources:
        for f in context_files(source):
            inside = f.relative_to(source) if (ROOT / source).is_dir() else Path(f.name)
            out = target / inside
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, out)


def execute(instructions: list[Instruction], rootfs: Path, built: dict[str, Path]) -> None:
    """Every instruction of a stage after its FROM, on an unpacked root filesystem; ``built``
    holds the earlier stages' root filesystems. The state before the first COPY (the apt
    and venv steps) is cached by the text of the instructions that made it."""
    first_copy = next(i for i, ins in enumerate(instructions) if ins.name == "COPY")
    prefix = instructions[:first_copy]
    key = hashlib.sha256(repr([(i.name, i.args) for i in prefix]).encode() +
                         debootstrap_base(base_release(instructions[0])).name.encode()
                         ).hexdigest()[:16]
    snapshot = CACHE / f"prefix-{key}.tar"
    cfg = Config()
    if snapshot.exists():
        unpack_rootfs(snapshot, rootfs)
        start = first_copy
        cfg = config(prefix)
    else:
        unpack_rootfs(debootstrap_base(base_release(instructions[0])), rootfs)
        start = 1
    for index in range(start, len(instructions)):
        if index == first_copy and not snapshot.exists():
            pack_rootfs(rootfs, snapshot)
        ins = instructions[index]
        log(f"{ins.name} {ins.args}")
        if ins.name == "RUN":
            # As runc does for a container's cwd: a RUN recreates a WORKDIR an earlier one removed.
            (rootfs / cfg.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
            chroot_run(rootfs, ins.args, cfg)
        elif ins.name == "COPY":
            copy_into(rootfs, ins, cfg, built)
        elif ins.name == "WORKDIR":
            (rootfs / os.path.join(cfg.workdir, ins.args).lstrip("/")).mkdir(parents=True, exist_ok=True)
        cfg = config(instructions[: index + 1])


def oci_archive(rootfs: Path, cfg: Config, name: str, archive: Path) -> None:
    """One-layer OCI image with umoci, then a docker-archive named `name` with skopeo."""
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        layout, layer = Path(work) / "oci", Path(work) / "layer.tar"
        run("tar", "--numeric-owner", "--xattrs", "--sort=name", "--mtime=@0", "-C", str(rootfs),
            "-cf", str(layer), ".")
        run("umoci", "init", "--layout", str(layout))
        run("umoci", "new", "--image", f"{layout}:image")
        run("umoci", "raw", "add-layer", "--image", f"{layout}:image", str(layer))
        argv = ["umoci", "config", "--image", f"{layout}:image", "--config.user", cfg.user,
                "--config.workingdir", cfg.workdir, "--os", "linux", "--architecture", "amd64"]
        for key, value in cfg.env.items():
            argv += ["--config.env", f"{key}={value}"]
        for port in cfg.exposed:
            argv += ["--config.exposedports", port]
        for word in cfg.entrypoint:
            argv += ["--config.entrypoint", word]
        for word in cfg.cmd:
            argv += ["--config.cmd", word]
        run(*argv)
        partial = archive.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        run("skopeo", "copy", "--quiet", f"oci:{layout}:image", f"docker-archive:{partial}:{name}")
        partial.rename(archive)


def build_redslot() -> tuple[Path, str]:
    instructions = dockerfile()
    image = stages(instructions)[-1][1]
    config(instructions)
    tag = digest(instructions)[:16]
    name = f"{REPOSITORY}:{tag}"
    archive = CACHE / f"redslot-{tag}.tar"
    if archive.exists():
        return archive, name
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        built: dict[str, Path] = {}
        for stage, stage_instructions in stages(instructions):
            log(f"stage {stage}")
            built[stage] = Path(work) / f"rootfs-{stage}"
            execute(stage_instructions, built[stage], built)
        log("packing with umoci and skopeo")
        oci_archive(built[stages(instructions)[-1][0]], config(image), name, archive)
    prune("redslot-*.tar", keep=3)
    return archive, name


def prune(pattern: str, keep: int) -> None:
    """Only the newest archives stay in the cache: each checkout change makes a new one."""
    archives = sorted(CACHE.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in archives[keep:]:
        old.unlink(missing_ok=True)


def build_pause() -> tuple[Path, str]:
    lines = subprocess.run([str(ROOT / "scripts/kube-binaries")], check=True,
                           stdout=subprocess.PIPE, text=True).stdout.splitlines()
    (program,) = Path(lines[-1]).glob("pause-*")
    tag = hashlib.sha256(program.read_bytes() + Path(__file__).read_bytes()).hexdigest()[:16]
    name = f"{PAUSE_REPOSITORY}:{tag}"
    archive = CACHE / f"pause-{tag}.tar"
    if not archive.exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as work:
            rootfs = Path(work) / "rootfs"
            rootfs.mkdir()
            shutil.copy(program, rootfs / "pause")
            cfg = Config(user="65535:65535", entrypoint=["/pause"])
            oci_archive(rootfs, cfg, name, archive)
    return archive, name


def main(argv: list[str]) -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    # One build at a time; a second caller waits, then finds the archive.
    lock = open(CACHE / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    archive, name = build_pause() if argv == ["--pause"] else build_redslot()
    log(f"{name}: {archive.stat().st_size / 2**20:.0f} MiB archive")
    print(archive, name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
