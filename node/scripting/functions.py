"""Function libraries (functions.c, function_lua.c): FUNCTION LOAD's parsing and
registration, the library and function indexes, DUMP/RESTORE payloads.

A library is its code (the ``#!lua name=<lib>`` line included, as Redis keeps it) and the
functions its code registered with ``redis.register_function`` while loading. Libraries
persist as their code alone: RDB's FUNCTION2 opcode (245) holds it as an RDB string, and
a FUNCTION DUMP payload is those records, the RDB version and a CRC64, as in Redis 7.0,
so payloads and snapshots cross between redslot and Redis both ways.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from lupa import lua51  # type: ignore[import-untyped]

from ..base import errors
from ..base.errors import CommandError
from ..protocol.splitargs import split_args
from ..types.rdb import RDB_FILE_VERSION, RdbError, Reader, Writer, crc64, verify_payload
from .engine import FLAG_NAMES, Engine, ScriptError
from .random import RedisRand48

if TYPE_CHECKING:
    from .context import Server

OPCODE_FUNCTION_PRE_GA = 246
OPCODE_FUNCTION2 = 245
LOAD_TIMEOUT_MS = 500
FLAG_ORDER = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")


class Function:
    __slots__ = ("name", "fn", "description", "flags", "library")

    def __init__(self, name: str, fn: Any, description: bytes | None, flags: int,
                 library: Library) -> None:
        self.name = name
        self.fn = fn
        self.description = description
        self.flags = flags
        self.library = library

    def flag_names(self) -> list[str]:
        return [name for name in FLAG_ORDER if self.flags & FLAG_NAMES[name]]


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: str, code: bytes) -> None:
        self.name = name
        self.code = code
        self.functions: dict[str, Function] = {}


def valid_name(name: str) -> bool:
    """functionsVerifyName: letters, digits and underscores, at least one."""
    return bool(name) and all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in name)


def library_metadata(code: bytes) -> tuple[str, str]:
    """functionExtractLibMetaData: (engine, library name) from the ``#!`` line."""
    if not code.startswith(b"#!"):
        raise CommandError(errors.FUNCTION_MISSING_METADATA)
    end = code.find(b"\n")
    if end < 0:
        raise CommandError(errors.FUNCTION_INVALID_METADATA)
    parts = split_args(code[:end])
    if not parts:
        raise CommandError(errors.FUNCTION_INVALID_METADATA)
    engine = parts[0][2:].decode("utf-8", "surrogateescape")
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise CommandError(errors.FUNCTION_NAME_TWICE)
            name = part[5:].decode("utf-8", "surrogateescape")
            continue
        raise CommandError(errors.FUNCTION_METADATA_VALUE % part.decode("utf-8", "surrogateescape"))
    if name is None:
        raise CommandError(errors.FUNCTION_NO_NAME)
    return engine, name


class Functions:
    """The loaded libraries and their functions (curr_functions_lib_ctx)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # an interpreter of their own, as Redis's function engine has
        self.libraries: dict[str, Library] = {}
        # every library's functions by lowercased name: FCALL's lookup ignores case, a
        # library's own names do not (functionDictType, libraryFunctionDictType)
        self.functions: dict[str, Function] = {}
        self.loading: Library | None = None
        self.load_started = 0.0
        self.load_timeout = 0
        engine.loader = self

    @classmethod
    def for_server(cls, server: Server, rand: RedisRand48) -> Functions:
        """The libraries on an interpreter of their own, drawing math.random from ``rand``
        (Redis has one generator for EVAL and functions)."""
        engine = Engine(server, functions=True)
        engine.rand = rand
        return cls(engine)

    # --- FUNCTION LOAD ---

    def create(self, code: bytes, replace: bool, timeout_ms: int = LOAD_TIMEOUT_MS) -> str:
        """functionsCreateWithLibraryCtx: load ``code`` as a library; its name."""
        engine_name, name = library_metadata(code)
        if not valid_name(name):
            raise CommandError(errors.FUNCTION_BAD_NAME)
        if engine_name.upper() != "LUA":
            raise CommandError(errors.FUNCTION_NO_ENGINE % engine_name)
        old = self.libraries.get(name)
        if old is not None and not replace:
            raise CommandError(errors.FUNCTION_LIBRARY_EXISTS % name)
        library = Library(name, code)
        self._compile(library, code[code.index(b"\n"):], timeout_ms)
        if not library.functions:
            raise CommandError(errors.FUNCTION_NONE_REGISTERED)
        for fname in library.functions:
            owner = self.functions.get(fname.lower())
            if owner is not None and owner.library is not old:
                raise CommandError(errors.FUNCTION_EXISTS % fname)
        if old is not None:
            self._unlink(old)
        self._link(library)
        return name

    def _compile(self, library: Library, body: bytes, timeout_ms: int) -> None:
        self.loading = library
        self.load_started = time.monotonic()
        self.load_timeout = timeout_ms
        try:
            result = self.engine.runner.load_library(body)
        finally:
            self.loading = None
        ok, err = result if isinstance(result, tuple) else (result, None)
        if not ok:
            raise CommandError("ERR " + err.decode("utf-8", "surrogateescape"))

    def load_hook(self) -> bool:
        """luaEngineLoadHook: True once a load ran past its timeout."""
        return bool(self.load_timeout) and (
            time.monotonic() - self.load_started) * 1000 > self.load_timeout

    def register_function(self, *args: Any) -> None:
        """redis.register_function(name, callback) or redis.register_function{...}."""
        library = self.loading
        if library is None:
            raise self._error("redis.register_function can only be called on FUNCTION LOAD "
                              "command")
        if len(args) == 1:
            name, fn, description, flags = self._named_args(args[0])
        elif len(args) == 2:
            if not isinstance(args[0], bytes | int | float) or isinstance(args[0], bool):
                raise self._error("first argument to redis.register_function must be a string")
            name = args[0] if isinstance(args[0], bytes) else b"%.14g" % args[0]
            fn = args[1]
            if not self.engine.runner.is_function(fn):
                raise self._error("second argument to redis.register_function must be a "
                                  "function")
            description, flags = None, 0
        else:
            raise self._error("wrong number of arguments to redis.register_function")
        text = name.decode("utf-8", "surrogateescape")
        if not valid_name(text):
            raise self._error(errors.FUNCTION_BAD_NAME.removeprefix("ERR "))
        if text in library.functions:
            raise self._error("Function already exists in the library")
        library.functions[text] = Function(text, fn, description, flags, library)

    def _named_args(self, spec: Any) -> tuple[bytes, Any, bytes | None, int]:
        if lua51.lua_type(spec) != "table":
            raise self._error("calling redis.register_function with a single argument is only "
                              "applicable to Lua table (representing named arguments).")
        name = fn = description = None
        flags = 0
        for key, value in spec.items():
            if not isinstance(key, bytes | int | float) or isinstance(key, bool):
                raise self._error("named argument key given to redis.register_function is not "
                                  "a string")
            word = key.lower() if isinstance(key, bytes) else b""
            if word == b"function_name":
                if not isinstance(value, bytes | int | float) or isinstance(value, bool):
                    raise self._error("function_name argument given to redis.register_function "
                                      "must be a string")
                name = value if isinstance(value, bytes) else b"%.14g" % value
            elif word == b"description":
                if not isinstance(value, bytes | int | float) or isinstance(value, bool):
                    raise self._error("description argument given to redis.register_function "
                                      "must be a string")
                description = value if isinstance(value, bytes) else b"%.14g" % value
            elif word == b"callback":
                if not self.engine.runner.is_function(value):
                    raise self._error("callback argument given to redis.register_function must "
                                      "be a function")
                fn = value
            elif word == b"flags":
                if lua51.lua_type(value) != "table":
                    raise self._error("flags argument to redis.register_function must be a "
                                      "table representing function flags")
                for _, flag in value.items():
                    bit = FLAG_NAMES.get(flag.lower().decode("utf-8", "surrogateescape")) \
                        if isinstance(flag, bytes) else None
                    if bit is None:
                        raise self._error("unknown flag given")
                    flags |= bit
            else:
                raise self._error("unknown argument given to redis.register_function")
        if name is None:
            raise self._error("redis.register_function must get a function name argument")
        if fn is None:
            raise self._error("redis.register_function must get a callback argument")
        return name, fn, description, flags

    def _error(self, message: str) -> ScriptError:
        return ScriptError(self.engine.table({b"err": b"ERR " + message.encode()}))

    # --- the indexes ---

    def _link(self, library: Library) -> None:
        self.libraries[library.name] = library
        for fname, function in library.functions.items():
            self.functions[fname.lower()] = function

    def _unlink(self, library: Library) -> None:
        del self.libraries[library.name]
        for fname in library.functions:
            self.functions.pop(fname.lower(), None)

    def delete(self, name: str) -> None:
        library = self.libraries.get(name)
        if library is None:
            raise CommandError(errors.FUNCTION_LIBRARY_NOT_FOUND)
        self._unlink(library)

    def flush(self) -> None:
        self.libraries.clear()
        self.functions.clear()

    def memory(self) -> int:
        return sum(len(lib.code) + 64 * (1 + len(lib.functions))
                   for lib in self.libraries.values())

    # --- DUMP / RESTORE and RDB ---

    def codes(self) -> list[bytes]:
        return [library.code for library in self.libraries.values()]

    def dump(self) -> bytes:
        """functionDumpCommand: FUNCTION2 records, the RDB version, the CRC64."""
        w = Writer(True)
        for code in self.codes():
            w.buf.append(OPCODE_FUNCTION2)
            w.save_string(code)
        w.buf += RDB_FILE_VERSION.to_bytes(2, "little")
        w.buf += crc64(w.buf).to_bytes(8, "little")
        return bytes(w.buf)

    def restore(self, payload: bytes, policy: bytes) -> None:
        """functionRestoreCommand: load the payload's libraries aside, then join them."""
        if not verify_payload(payload):
            raise CommandError(errors.FUNCTION_BAD_PAYLOAD)
        r = Reader(payload)
        codes = []
        try:
            while len(payload) - r.pos > 10:
                kind = r.read_byte()
                if kind not in (OPCODE_FUNCTION2, OPCODE_FUNCTION_PRE_GA):
                    raise CommandError(errors.FUNCTION_NOT_A_FUNCTION)
                if kind == OPCODE_FUNCTION_PRE_GA:
                    raise CommandError(errors.FUNCTION_PRE_GA)
                codes.append(r.load_string())
        except (RdbError, IndexError):
            raise CommandError(errors.FUNCTION_RESTORE_FAILED) from None
        staged = Functions(self.engine)
        try:
            for code in codes:
                staged.create(code, False, 0)
        finally:
            self.engine.loader = self
        if policy == b"flush":
            self.libraries, self.functions = staged.libraries, staged.functions
            return
        self.join(staged, policy == b"replace")

    def join(self, other: Functions, replace: bool) -> None:
        """libraryJoin: all of ``other``'s libraries, or none on a collision."""
        replaced = []
        for name in other.libraries:
            if name in self.libraries:
                if not replace:
                    raise CommandError(errors.FUNCTION_LIBRARY_EXISTS_JOIN % name)
                replaced.append(self.libraries[name])
        for library in replaced:
            self._unlink(library)
        for fname, function in other.functions.items():
            if fname in self.functions:
                for library in replaced:
                    self._link(library)
                raise CommandError(errors.FUNCTION_EXISTS % function.name)
        for library in other.libraries.values():
            self._link(library)

    def load_code(self, code: bytes) -> None:
        """A library from an RDB file or a master's snapshot (rdbFunctionLoad)."""
        self.create(code, True, 0)
