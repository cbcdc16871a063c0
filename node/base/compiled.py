"""Which modules of the node are compiled with mypyc, and which build is running.

``pip install .`` (setup.py) compiles the modules in ``COMPILED`` when a C compiler and
mypyc are present; otherwise the same modules run as plain Python. The list is the hot
path a profile at pipeline 16 shows (a client's read loop, parse, dispatch, reply, the
command records, keyspace access, memory cost, the common types and their commands):
compiling more costs install time for no measured gain.

A module in the list must keep to what mypyc compiles with Python's semantics (each rule
below was a test failure of the compiled build that plain Python never shows):

- a class that subclasses ``list``, ``set`` or ``dict``, whose instances change
  ``__class__`` (an encoding conversion), or that has subclasses, is declared
  ``@mypyc_attr(native_class=False, allow_interpreted_subclasses=True)``;
- a native class subclasses only native classes: its base's module is in the list too
  (``server.connection`` is, for ``Client(Connection)``, and ``keyspace.session``, for
  ``Connection(Session)``; ``base.sampling``, for ``FieldTable(KeySample)``);
- no ``object.__new__(Cls)`` on a native class (construct it);
- annotations say exactly what flows in: a ``bytes`` parameter raises TypeError on a
  ``bytearray`` (an edited string value, ``SdsString``);
- no ``is`` against a tuple constant (compiled code rebuilds it): compare with ``==``;
- no narrowing that a call in between invalidates: of ``self`` by ``self.__class__ is C``
  across a call that changes its class, of an attribute (``self.error is not None`` ->
  return) across a method that sets it; compiled code checks the narrowed type at the
  next read and raises TypeError.

``EXTENSIONS`` are hand-written C extensions built beside them (setup.py), each used by a
Python module that falls back to a plain-Python equivalent when the extension is missing
or ``REDSLOT_PURE_PYTHON=1`` (``extension``): ``base._keyindex``, the index of the keyspace
and of large sorted sets (base/keyindex.py; a dict otherwise); ``types._zsearch``, the
search in a sorted set's block (types/zorder.py; bisect otherwise); ``types._packed``, the
packed form of small hashes and sets read and edited in place (types/packed.py; its
plain-Python twins otherwise); ``types._crc64``, Redis's CRC64 of RDB files and DUMP
payloads (types/rdb.py; big-int folds otherwise, with a file's checksum worked out by a
forked child while it loads); ``protocol._resp``,
the parser of canonical multibulk requests (protocol/request.py; hiredis's fast path and
the exact parser otherwise); ``protocol._encode``, array replies of bytes, None, int and
float elements (protocol/reply.py; its element-by-element encoder otherwise);
``server._sockio``, a reply written straight to a client's socket (server/connection.py;
uvloop's transport.write otherwise).

``commands.args`` stays out (its annotations say ``bytes`` where callers pass bytearrays
too); its integer parsers are compiled in ``commands.integers``. (mypyc 2.4 crashed on it
only for a folded ``2**16384`` constant, now written ``Fraction(2) ** 16384``.) The whole
suite runs against
the compiled build, and a representative part against the pure one
(``REDSLOT_PURE_PYTHON=1``); tests/node/test_build.py checks both builds are reported.

This module imports only the standard library: setup.py reads it before anything is
installed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType

PACKAGE = "redslot.node"

# Relative to redslot.node; setup.py maps "protocol.reply" to node/protocol/reply.py.
COMPILED = (
    "base.sampling",
    "table.command",
    "protocol.request",
    "protocol.reply",
    "server.hot",
    "server.connection",
    "server.client",
    "server.dispatch",
    "keyspace.session",
    "keyspace.database",
    "keyspace.stats",
    "keyspace.ttls",
    "keyspace.pause",
    "keyspace.propagation",
    "server.cronpace",
    "keyspace.notify",
    "types.footprint",
    "types.packed",
    "types.strings",
    "types.hashes",
    "types.lists",
    "types.sets",
    "types.zset",
    "types.zpacked",
    "types.zset_record",
    "types.zorder",
    "commands.integers",
    "commands.strings",
    "commands.hashes",
    "commands.lists",
    "commands.sets",
    "commands.zsets",
    "commands.zset_ranges",
    "persistence.rdbscan",
)

# Relative to redslot.node; setup.py builds "base._keyindex" from node/base/_keyindex.c.
EXTENSIONS = ("base._keyindex", "protocol._resp", "protocol._encode", "types._zsearch",
              "types._packed", "types._crc64", "server._sockio")

PURE_ENV = "REDSLOT_PURE_PYTHON"


def pure() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def extension(name: str) -> ModuleType | None:
    """The C extension ``name`` of ``EXTENSIONS``, or None for the plain-Python path: under
    ``REDSLOT_PURE_PYTHON=1`` or when it was not built."""
    if pure():
        return None
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    except ImportError:
        return None


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the compiled modules' ``.py`` files even when their extension sits beside them."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names or not path:
            return None
        leaf = fullname.rpartition(".")[2]
        for entry in path:
            source = os.path.join(entry, leaf + ".py")
            if os.path.exists(source):
                return importlib.util.spec_from_file_location(fullname, source)
        return None


def prefer_source() -> None:
    """Under ``REDSLOT_PURE_PYTHON=1`` the compiled modules load from their ``.py`` files,
    so one checkout runs both builds; called before any of them is imported."""
    if pure():
        if not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
            names = frozenset(f"{PACKAGE}.{name}" for name in COMPILED)
            sys.meta_path.insert(0, _SourceFirst(names))


def build() -> str:
    """``compiled`` when every module of the list runs compiled and every C extension is
    used, ``pure`` when none is, ``mixed`` otherwise (a stale in-place build, say)."""
    compiled = sum(extension(name) is not None for name in EXTENSIONS)
    for name in COMPILED:
        module = importlib.import_module(f"{PACKAGE}.{name}")
        origin = getattr(module, "__file__", None) or ""
        if origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            compiled += 1
    if compiled == len(COMPILED) + len(EXTENSIONS):
        return "compiled"
    return "pure" if compiled == 0 else "mixed"
