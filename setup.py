"""The build: the hot modules (node/base/compiled.py) compiled with mypyc when possible.

``pip install .`` and ``pip install -e .`` compile them, and the C extensions of the same
list, when mypyc (a build requirement) and a C compiler are there; without a compiler, or with ``REDSLOT_PURE_BUILD=1``, the
package installs as plain Python, the same modules running from source. The compiled
extensions are cached outside git (``${REDSLOT_MYPYC_CACHE:-~/.cache/redslot/mypyc}``),
keyed by a hash of everything they are built from: a rebuild of the same sources copies
them instead of compiling (minutes on two cores).
"""

from __future__ import annotations

import hashlib
import os
import runpy
import shutil
import sys
import sysconfig
import tempfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
LIST = runpy.run_path(str(HERE / "node/base/compiled.py"))
PACKAGE: str = LIST["PACKAGE"]
MODULES = [f"{PACKAGE}.{name}" for name in LIST["COMPILED"]]
# Hand-written C: redslot.node.base._keyindex from node/base/_keyindex.c.
C_EXTENSIONS = {f"{PACKAGE}.{name}": f"node/{name.replace('.', '/')}.c"
                for name in LIST["EXTENSIONS"]}
GROUP = f"{PACKAGE}.hot"  # the shared library: redslot/node/hot__mypyc.*.so
# The setup.py commands that build the extensions (pip's PEP 517 hooks run these).
BUILDING = {"build", "build_ext", "bdist_wheel", "editable_wheel", "install", "develop"}
CACHE = Path(os.environ.get("REDSLOT_MYPYC_CACHE", Path.home() / ".cache/redslot/mypyc"))


def log(text: str) -> None:
    print(f"redslot build: {text}", file=sys.stderr, flush=True)


def source_key() -> str:
    """A hash of what the extensions are built from: mypy reads every node module the
    compiled ones import, so all of node/ (its C sources and the parts they include too),
    this file, mypy's and Python's versions."""
    import mypy.version

    h = hashlib.sha256()
    for part in (mypy.version.__version__, sys.version, sysconfig.get_platform(),
                 os.environ.get("CC", "")):
        h.update(part.encode() + b"\0")
    h.update(Path(__file__).read_bytes())
    for path in sorted([*(HERE / "node").rglob("*.py"), *(HERE / "node").rglob("*.c"),
                        *(HERE / "node").rglob("*.h")]):
        h.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:20]


def included(source: str) -> list[str]:
    """The parts a C extension's source includes (node/base/_keyindex_read.h for
    _keyindex.c: files beside it named after it), so a change to one rebuilds it."""
    path = Path(source)
    return sorted(str(p.relative_to(HERE)) for p in (HERE / path.parent).glob(f"{path.stem}_*.h"))


def compiler_works() -> bool:
    """A C compiler that builds an extension against this Python's headers."""
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp, "probe.c")
        probe.write_text("#include <Python.h>\nint probe(void) { return 0; }\n")
        try:
            compiler.compile([str(probe)], output_dir=tmp,
                             include_dirs=[sysconfig.get_paths()["include"]])
        except Exception:
            return False
    return True


def staged_paths(stage: Path) -> list[str]:
    """The compiled modules' files under a tree where their path is their module name
    (stage/redslot/node -> node/), since mypyc names modules after their paths."""
    root = stage / "redslot"
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "redslot/__init__.py", root / "__init__.py")
    link = root / "node"
    if not link.exists():
        link.symlink_to(HERE / "node", target_is_directory=True)
    return [str(stage / (m.replace(".", "/") + ".py")) for m in MODULES]


def cache_name(filename: str) -> str:
    """An extension's file in the cache: its whole path, flat (types/lists and
    commands/lists have the same file name)."""
    return filename.replace(os.sep, ".")


class CachedBuildExt(build_ext):
    """build_ext that takes the extensions from the cache when they are there, builds
    them in parallel otherwise, and stores what it built."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if getattr(self, "parallel", None) is None:
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        cached = CACHE / str(mypyc_key)
        if cached.is_dir():
            log(f"compiled modules from the cache {cached}")
        else:
            inplace, self.inplace = self.inplace, False  # into the build dir, then the cache
            super().run()
            self.inplace = inplace
            self._store(cached)
        for ext in self.extensions:
            target = Path(self.get_ext_fullpath(ext.name))
            target.parent.mkdir(parents=True, exist_ok=True)
            # A new file renamed over the old one: a running node that has the old one
            # mapped keeps it (rewriting it in place kills that node with SIGBUS).
            partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
            shutil.copyfile(cached / cache_name(self.get_ext_filename(ext.name)), partial)
            os.replace(partial, target)
        self._drop_stale()

    def _drop_stale(self) -> None:
        """Remove the extension of a module no longer compiled, in the source tree (an
        in-place build) and in the build directory (which a later ``pip install .`` of
        this checkout installs from): Python would import it instead of the module's .py
        and fail to find its code in the new shared library."""
        built = Path(self.build_lib, "redslot", "node")
        wanted = {Path(self.build_lib, self.get_ext_filename(ext.name)).resolve()
                  for ext in self.extensions}
        roots = [built]
        if self.inplace:
            roots.append(HERE / "node")
            wanted |= {Path(self.get_ext_fullpath(ext.name)).resolve() for ext in self.extensions}
        for root in roots:
            for suffix in EXTENSION_SUFFIXES:
                for path in root.rglob(f"*{suffix}"):
                    if path.resolve() not in wanted:
                        path.unlink()
                        log(f"removed {path}: no longer compiled")

    def _store(self, cached: Path) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as work:
            for ext in self.extensions:  # from the build dir: an in-place copy may be stale
                built = Path(self.build_lib, self.get_ext_filename(ext.name))
                shutil.copyfile(built, Path(work, cache_name(self.get_ext_filename(ext.name))))
            try:
                os.rename(work, cached)  # whole or not at all
            except OSError:
                return  # another build stored it first
            os.mkdir(work)  # for TemporaryDirectory's cleanup
        log(f"compiled modules stored in {cached}")


def extensions() -> tuple[list[Extension], str | None]:
    """The mypyc extensions and their cache key, or none for a plain-Python build."""
    if os.environ.get("REDSLOT_PURE_BUILD", "") not in ("", "0"):
        log("REDSLOT_PURE_BUILD is set: plain Python")
        return [], None
    try:
        from mypyc.build import mypycify
    except ImportError:
        log("mypyc is missing: plain Python")
        return [], None
    if not compiler_works():
        log("no working C compiler: plain Python")
        return [], None
    key = source_key()
    if (CACHE / key).is_dir() or not BUILDING & set(sys.argv[1:]):
        # Cached, or a metadata step (egg_info, dist_info) that builds nothing: the same
        # extension names, without running mypyc.
        names = MODULES + [f"{GROUP}__mypyc"] + list(C_EXTENSIONS)
        return [Extension(name, sources=[]) for name in names], key
    log(f"compiling {len(MODULES)} modules with mypyc (a few minutes; cached as {key})")
    stage = HERE / "build" / "mypyc-src"
    paths = staged_paths(stage)
    os.environ.setdefault("MYPY_FORCE_COLOR", "0")
    # One group, given as a "separate" list: that also turns off mypyc's whole-program
    # class-hierarchy assumptions, which make isinstance() against a Python-level class
    # (native_class=False) an exact type test that misses its subclasses.
    exts = mypycify(paths, opt_level="2", debug_level="0", separate=[(paths, GROUP)],
                    target_dir=str(HERE / "build" / "mypyc-c"))
    exts += [Extension(name, sources=[source], depends=included(source),
                       extra_compile_args=["-std=c99", "-Wall"])
             for name, source in C_EXTENSIONS.items()]
    return exts, key


ext_modules, mypyc_key = extensions()
cmdclass = {"build_ext": CachedBuildExt} if ext_modules else {}
setup(ext_modules=ext_modules, cmdclass=cmdclass)
