"""The Lua interpreter and one script's run (script.c's run context, scriptCall).

One Lua 5.1 state (lupa's ``lua51`` build: Redis embeds Lua 5.1, and LuaJIT differs in
number formatting, table order and error texts) holds the sandbox of ``prelude``; EVAL
scripts and function libraries are compiled into it. A run has a ``RunContext``: the
caller, the flags from the shebang or the function, whether it wrote yet, its slot in
cluster mode, and its timing for the busy threshold. ``redis.call`` lands in
``Engine.call``, which applies scriptCall's checks in Redis's order and runs the command
on the engine's own client through ``Server.invoke`` (statistics, slowlog, MONITOR and
propagation included); the effects of a script are flushed together by dispatch after
the calling command, inside MULTI/EXEC when there are several.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lupa import lua51  # type: ignore[import-untyped]

from ..acl.check import DENIED_CMD, DENIED_KEY, check_command
from ..acl.check import OK as ACL_OK
from ..acl.log import LogEntry
from ..base import errors
from ..base.errors import CommandError
from ..keyspace.propagation import TARGET_ALL
from ..keyspace.slots import key_slot
from ..protocol.reply import Raw
from ..protocol.splitargs import split_args
from .bitop import lua_type_name
from .busy import BusyState
from .cjson import make_cjson
from .convert import error_table, error_text, to_lua
from .libraries import make_libraries
from .prelude import PRELUDE, PRELUDE_NAME
from .random import RedisRand48

if TYPE_CHECKING:
    from ..table.command import Command
    from .context import Client, Server

REDIS_VERSION = "7.0.15"
REDIS_VERSION_NUM = 0x0007000F
HOOK_INSTRUCTIONS = 100_000  # luaCallFunction's count hook period
INLINE_ARGS = 32  # up to this many keys and args go to Lua as call arguments, not tables

# Script flags (script.h)
FLAG_NO_WRITES = 1
FLAG_ALLOW_OOM = 2
FLAG_ALLOW_STALE = 4
FLAG_NO_CLUSTER = 8
FLAG_EVAL_COMPAT = 16
FLAG_ALLOW_CROSS_SLOT = 32

FLAG_NAMES = {
    "no-writes": FLAG_NO_WRITES,
    "allow-oom": FLAG_ALLOW_OOM,
    "allow-stale": FLAG_ALLOW_STALE,
    "no-cluster": FLAG_NO_CLUSTER,
    "allow-cross-slot-keys": FLAG_ALLOW_CROSS_SLOT,
}

LOG_LEVELS = ("debug", "verbose", "notice", "warning")

# Commands Redis 7.0 flags noscript that 7.2's table (ours) no longer does: the blocking
# pops and moves of the first generation, and WAIT.
NOSCRIPT_IN_7_0 = frozenset({"blpop", "brpop", "brpoplpush", "blmove", "bzpopmin", "bzpopmax",
                             "wait"})


def _deny_attributes(obj: Any, name: Any, setting: bool) -> Any:
    """lupa's attribute filter: a script never reaches into a Python object."""
    raise AttributeError("not accessible")


def lua_table(lua: Any, fields: dict[str, Any]) -> Any:
    """A Lua table with these fields (names as Lua strings: the runtime has no encoding)."""
    return lua.table_from({name.encode(): value for name, value in fields.items()})


def sha1hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class RunContext:
    """scriptRunCtx: one EVAL/FCALL in progress."""

    __slots__ = ("caller", "funcname", "eval_mode", "read_only", "allow_oom", "cross_slot",
                 "write_dirty", "killed", "timed_out", "start", "oom_at_start", "slot",
                 "repl", "propagating_from", "argv", "acl_user")

    def __init__(self, caller: Client, funcname: str, eval_mode: bool, flags: int,
                 read_only: bool, oom: bool, slot: int, argv: list[bytes]) -> None:
        compat = bool(flags & FLAG_EVAL_COMPAT)
        self.caller = caller
        self.funcname = funcname
        self.eval_mode = eval_mode
        self.read_only = read_only or (not compat and bool(flags & FLAG_NO_WRITES))
        self.allow_oom = not compat and bool(flags & FLAG_ALLOW_OOM)
        self.cross_slot = compat or bool(flags & FLAG_ALLOW_CROSS_SLOT)
        self.write_dirty = False
        self.killed = False
        self.timed_out = False
        self.start = time.monotonic()
        self.oom_at_start = oom
        self.slot = slot
        self.repl = TARGET_ALL  # redis.set_repl's targets
        self.propagating_from = 0
        self.argv = argv  # the caller's command (FUNCTION STATS)
        user = getattr(caller, "user", None)  # checked per call unless unrestricted
        self.acl_user = user if user is not None and not user.unrestricted else None

    def duration_ms(self) -> int:
        return int((time.monotonic() - self.start) * 1000)


class Engine:
    """The interpreter, the EVAL script cache and the run in progress."""

    def __init__(self, server: Server, functions: bool = False) -> None:
        self.server = server
        self.functions = functions  # the function libraries' interpreter (no EVAL-only API)
        self.client: Any = None  # the script client, made on first use
        self.run_ctx: RunContext | None = None
        self.busy = BusyState(server)
        self.rand = RedisRand48()
        self.scripts: dict[str, tuple[bytes, int, Any]] = {}  # sha -> body, flags, function
        self.scripts_memory = 0
        self.loader: Any = None  # the function libraries being loaded (functions.py)
        self.threshold = 0
        self._set_threshold(server.config["busy-reply-threshold"])
        server.config.on_change("busy-reply-threshold", self._set_threshold)
        self._start()

    def _set_threshold(self, ms: int) -> None:
        self.threshold = ms

    def _start(self) -> None:
        lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True,
                               register_eval=False, register_builtins=False,
                               attribute_filter=_deny_attributes)
        self.lua = lua
        self.table = lua.table_from
        self._cjson_null = lua.eval("newproxy()")
        py = lua_table(lua, {
            "call": self.call, "pcall": self.pcall, "hook": self.hook,
            "sha1hex": self._sha1hex, "error_text": self._error_text, "log": self._log,
            "setresp": self._setresp, "setrepl": self._setrepl, "acl_check": self._acl_check,
            "random": self._random, "next": self._next, "pairs": self._pairs,
            "rawget": self._rawget,
            "randomseed": self._randomseed, "unwrap": unwrap, "guarded": self._guarded,
            "register_function": self._register_function, "load_hook": self._load_hook,
            "version": REDIS_VERSION.encode(), "version_num": REDIS_VERSION_NUM,
            "functions": self.functions,
            "libs": lua_table(lua, {
                name: self._library_table(funcs)
                for name, funcs in self._libraries().items()}),
        })
        loader = lua.eval("loadstring")
        chunk = loader(PRELUDE.encode(), PRELUDE_NAME.encode())
        self.runner = chunk(py)
        self._run = self.runner.run
        self._run_inline = self.runner.run_inline
        self._compile = self.runner.compile
        self._invoke = self.server.invoke
        raw = self.runner.raw
        self._raw_next, self._raw_rawget, self._pairs_next = raw.next, raw.rawget, raw.pairs_next

    def _libraries(self) -> dict[str, dict[str, Any]]:
        libraries = make_libraries(self.lua, self._cjson_null)
        libraries["cjson"]["new"] = self._cjson_new
        return libraries

    def _library_table(self, funcs: dict[str, Any]) -> Any:
        """A library's Lua table: Python functions raising as C functions do."""
        return lua_table(self.lua, {
            name: self._raising(f) if callable(f) and lua51.lua_type(f) is None else f
            for name, f in funcs.items()})

    def _cjson_new(self, *args: Any) -> tuple[bool, Any]:
        """cjson.new (lua_cjson_new): a module table with settings of its own."""
        funcs = make_cjson(self.lua, self._cjson_null)
        funcs["new"] = self._cjson_new
        return True, self._library_table(funcs)

    def reset(self) -> None:
        """SCRIPT FLUSH (scriptingReset): a fresh interpreter and an empty cache."""
        self.scripts.clear()
        self.scripts_memory = 0
        self._start()

    def memory(self) -> int:
        """luaMemory: bytes the interpreter holds (collectgarbage("count") in KB)."""
        return int(self.lua.eval("collectgarbage('count')") * 1024)

    # --- compiling ---

    def compile(self, body: bytes, chunkname: bytes) -> tuple[Any, str | None]:
        result = self._compile(body, chunkname)
        fn, err = result if isinstance(result, tuple) else (result, None)
        if fn is None:
            return None, err.decode("utf-8", "surrogateescape")
        return fn, None

    def create_script(self, body: bytes) -> str:
        """luaCreateFunction: cache ``body`` under its SHA1; CommandError when it does not
        compile or its shebang is wrong."""
        sha = sha1hex(body)
        if sha in self.scripts:
            return sha
        flags, shebang_len = parse_shebang(body)
        fn, err = self.compile(body[shebang_len:], b"@user_script")
        if fn is None:
            raise CommandError(errors.SCRIPT_COMPILE % err)
        self.scripts[sha] = (body, flags, fn)
        self.scripts_memory += len(body) + 40 + 64
        return sha

    # --- running ---

    def oom_now(self) -> bool:
        server = self.server
        if not server.maxmemory:
            return False
        stats = server.keyspace_stats
        if stats.unsettled:
            stats.settle()
        return server.mem_overhead + stats.data_bytes > server.maxmemory

    def run(self, caller: Client, fn: Any, keys: list[bytes], args: list[bytes],
            eval_mode: bool, funcname: str, flags: int, read_only: bool,
            argv: list[bytes]) -> Any:
        """luaCallFunction: run ``fn`` for ``caller``; its reply (or CommandError)."""
        server = self.server
        slot = key_slot(keys[0]) if keys and server.cluster is not None else -1
        ctx = RunContext(caller, funcname, eval_mode, flags, read_only,
                         bool(server.maxmemory) and self.oom_now(), slot, argv)
        client = self.client
        if client is None:
            client = self.client = server.new_client()
            client.multi = True  # CLIENT_DENY_BLOCKING: blocking commands answer at once
        client.db = caller.db
        client.resp3 = False
        client.is_master = caller.is_master
        self.run_ctx = ctx
        ctx.propagating_from = len(server.propagation.pending)
        hook = HOOK_INSTRUCTIONS if self.threshold > 0 else 0
        try:
            if len(keys) + len(args) <= INLINE_ARGS:
                result = self._run_inline(
                    fn, eval_mode, funcname.encode(), caller.resp3, hook, len(keys), *keys, *args)
            else:
                result = self._run(
                    fn, eval_mode, funcname.encode(), caller.resp3, hook, self.table(keys),
                    self.table(args))
        finally:
            self.run_ctx = None
            if ctx.timed_out:
                self.busy.leave(ctx)
        if ctx.killed and self.busy.shutting_down():
            del server.propagation.pending[ctx.propagating_from:]
        if type(result) is bytes:
            return Raw(result)
        _, payload, quiet = result
        text = payload.decode("utf-8", "surrogateescape")
        if quiet:
            return Raw(b"-%s\r\n" % text.replace("\r", " ").replace("\n", " ").encode(
                "utf-8", "surrogateescape"))
        raise CommandError(text)

    def hook(self) -> bool:
        """scriptInterrupt, every HOOK_INSTRUCTIONS: past busy-reply-threshold, serve the
        other clients (BUSY, SCRIPT KILL, SHUTDOWN NOSAVE); True once killed."""
        ctx = self.run_ctx
        if ctx is None:
            return False
        if not ctx.timed_out:
            elapsed = (time.monotonic() - ctx.start) * 1000
            if elapsed < self.threshold:
                return False
            self.server.log_warning(
                "Slow script detected: still in execution after %d milliseconds. You can try "
                "killing the script using the %s command. Script name is: %s." % (
                    elapsed, "SCRIPT KILL" if ctx.eval_mode else "FUNCTION KILL", ctx.funcname))
            ctx.timed_out = True
            self.busy.enter(ctx)
        self.busy.process_events(ctx)
        if self.busy.shutting_down():
            ctx.killed = True
        if ctx.killed:
            self.server.log_warning("Lua script killed by user with SCRIPT KILL.")
        return ctx.killed

    def kill(self, eval_mode: bool) -> None:
        """scriptKill: SCRIPT KILL (``eval_mode``) or FUNCTION KILL."""
        ctx = self.run_ctx
        if ctx is None:
            raise CommandError(errors.NOTBUSY)
        if ctx.caller.is_master:
            raise CommandError(errors.UNKILLABLE_MASTER)
        if ctx.write_dirty:
            raise CommandError(errors.UNKILLABLE_WRITTEN)
        if eval_mode and not ctx.eval_mode:
            raise CommandError(errors.BUSY_FUNCTION)
        if not eval_mode and ctx.eval_mode:
            raise CommandError(errors.BUSY_EVAL)
        ctx.killed = True

    # --- redis.call ---

    def call(self, *args: Any) -> Any:
        """redis.call (luaRedisGenericCommand): the reply, or the error raised in the
        script as an ``{err=...}`` table."""
        ctx = self.run_ctx
        if ctx is None:
            raise ScriptError(self.table({b"err": b"ERR redis.call/pcall can only be called "
                                                  b"inside a script invocation"}))
        if not args:
            raise ScriptError(self.table({b"err": b"ERR Please specify at least one argument "
                                                  b"for this redis lib call"}))
        argv = list(args)
        for i, arg in enumerate(args):
            kind = type(arg)
            if kind is not bytes:
                if kind is int:
                    argv[i] = b"%.17g" % arg
                elif kind is float:
                    argv[i] = c_double(arg)
                else:
                    raise ScriptError(self.table({b"err": b"ERR Lua redis lib command "
                                                          b"arguments must be strings or "
                                                          b"integers"}))
        server = self.server
        cmd, refusal = self._check(ctx, argv)
        if refusal is not None:
            server.count_error(refusal)
            if cmd is not None:
                cmd.rejected_calls += 1
            raise ScriptError(error_table(self.table, refusal))
        assert cmd is not None
        client = self.client
        if ctx.repl == TARGET_ALL:
            result = self._invoke(client, cmd, argv)
        else:
            propagation = server.propagation
            before = len(propagation.pending)
            result = self._invoke(client, cmd, argv)
            if len(propagation.pending) > before:
                propagation.restrict(before, ctx.repl)
        kind = type(result)
        if kind is bytes or kind is int:
            return result
        if kind is CommandError:
            raise ScriptError(to_lua(self.table, result, client.resp3))
        return to_lua(self.table, result, client.resp3)

    def pcall(self, *args: Any) -> Any:
        """redis.pcall: the reply, an error as an ``{err=...}`` table."""
        try:
            return self.call(*args)
        except ScriptError as exc:
            return exc.value

    def _check(self, ctx: RunContext, argv: list[bytes]) -> tuple[Command | None, str | None]:
        """scriptCall's checks in order: the command or the refusal text."""
        server = self.server
        cmd = server.command_index.get(argv[0])
        if cmd is None:
            cmd = server.commands.get(argv[0].lower().decode("utf-8", "surrogateescape"))
        if cmd is not None and cmd.subcommands is not None:
            cmd = (cmd.subcommands.get(argv[1].lower().decode("utf-8", "surrogateescape"))
                   if len(argv) > 1 else cmd)
        if cmd is None:
            return None, errors.SCRIPT_UNKNOWN_COMMAND
        arity = cmd.arity
        if (arity > 0 and arity != len(argv)) or len(argv) < -arity:
            return cmd, errors.SCRIPT_WRONG_ARITY
        if cmd.noscript or cmd.name in NOSCRIPT_IN_7_0:
            return cmd, errors.SCRIPT_NOT_ALLOWED
        caller = ctx.caller
        if ctx.acl_user is not None:
            refusal = self._acl_refusal(ctx.acl_user, cmd, argv)
            if refusal is not None:
                return cmd, refusal
        if ctx.read_only and (cmd.write or cmd.may_replicate):
            return cmd, errors.SCRIPT_WRITE_IN_READ_ONLY
        if cmd.write and not ctx.write_dirty:
            if (server.replication.link is not None and server.config["replica-read-only"]
                    and not caller.is_master):
                return cmd, errors.READONLY_REPLICA
            check = server.persistence_check
            if check is not None:
                refusal = check.disk_error_refusal(caller, cmd)
                if refusal is not None:
                    return cmd, refusal
            if server.replication.refuses_writes():
                return cmd, errors.NOREPLICAS
        if (not ctx.allow_oom and server.maxmemory and not caller.is_master
                and not ctx.write_dirty and ctx.oom_at_start and cmd.denyoom):
            return cmd, errors.OOM
        if cmd.write:
            ctx.write_dirty = True
        if server.cluster is not None and not caller.is_master:
            refusal = self._cluster_refusal(ctx, cmd, argv)
            if refusal is not None:
                return cmd, refusal
        return cmd, None

    def _acl_refusal(self, user: Any, cmd: Command, argv: list[bytes]) -> str | None:
        """scriptVerifyACL: the script's user checked per call, logged in context "lua"."""
        reason, pos = check_command(user, cmd, argv)
        if reason == ACL_OK:
            return None
        server = self.server
        obj = cmd.fullname.encode() if reason == DENIED_CMD else argv[pos]
        info = f"id={self.run_ctx.caller.id} cmd={cmd.fullname} user={user.name.decode()}" \
            if self.run_ctx is not None else ""
        server.acl.log.add(LogEntry(reason, "lua", obj, user.name, info.encode()))
        if reason == DENIED_CMD:
            server.stat_acl_denied_cmd += 1
            return errors.SCRIPT_ACL_COMMAND
        if reason == DENIED_KEY:
            server.stat_acl_denied_key += 1
            return errors.SCRIPT_ACL_KEY
        server.stat_acl_denied_channel += 1
        return errors.SCRIPT_ACL_CHANNEL

    def _cluster_refusal(self, ctx: RunContext, cmd: Command, argv: list[bytes]) -> str | None:
        """scriptVerifyClusterState: keys served here, and one slot unless allowed."""
        client = self.client
        caller = ctx.caller
        client.readonly = caller.readonly
        client.asking = caller.asking
        refusal = self.server.cluster.route(client, cmd, argv)
        if refusal is not None:
            if refusal == errors.CLUSTERDOWN_READONLY:
                return errors.SCRIPT_CLUSTER_DOWN_RO
            if refusal == errors.CLUSTERDOWN_STATE:
                return errors.SCRIPT_CLUSTER_DOWN
            return errors.SCRIPT_NON_LOCAL_KEY
        positions = cmd.keys(argv)
        if positions and not ctx.cross_slot:
            slot = key_slot(argv[positions[0]])
            if ctx.slot == -1:
                ctx.slot = slot
            elif ctx.slot != slot:
                return errors.SCRIPT_CROSS_SLOT
        return None

    # --- the rest of the redis table ---

    def _fail(self, message: bytes) -> ScriptError:
        """An error as luaL_error raises it from C: the caller's position first."""
        return ScriptError(self.runner.where() + message)

    def _fail_table(self, message: bytes) -> ScriptError:
        """An error as luaPushError + luaError raise it: an ``{err=...}`` table."""
        return ScriptError(self.table({b"err": message}))

    def _raising(self, fn: Callable[..., tuple[Any, ...]]) -> Callable[..., Any]:
        """A library function reporting (ok, results...) as one that raises in Lua."""
        def run(*args: Any) -> Any:
            result = fn(*args)
            if not result[0]:
                raise self._fail(result[1])
            return result[1] if len(result) == 2 else result[1:] or None
        return run

    def _guarded(self, real: Any) -> Callable[..., Any]:
        """rawset / setmetatable refusing the read-only tables (lua_rawset's check)."""
        def run(*args: Any) -> Any:
            if args and self.runner.is_readonly(args[0]):
                raise ScriptError(b"Attempt to modify a readonly table")
            return real(*args)
        return run

    def _register_function(self, *args: Any) -> None:
        if self.loader is None:
            raise self._fail_table(b"ERR redis.register_function can only be called on "
                                   b"FUNCTION LOAD command")
        self.loader.register_function(*args)

    def _load_hook(self) -> bool:
        return self.loader is not None and bool(self.loader.load_hook())

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise self._fail_table(b"ERR wrong number of arguments")
        value = args[0]
        if isinstance(value, bytes):
            return sha1hex(value).encode()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return sha1hex(b"%.14g" % value).encode()
        return sha1hex(b"").encode()

    def _error_text(self, buffer: bytes) -> bytes:
        return error_text(buffer.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape")

    def _log(self, *args: Any) -> None:
        """luaLogCommand: a level, then the message parts joined by spaces."""
        if len(args) < 2:
            raise self._fail_table(b"ERR redis.log() requires two arguments or more.")
        level = _number(args[0])
        if level is None:
            raise self._fail_table(b"ERR First argument must be a number (log level).")
        if not 0 <= int(level) <= 3:
            raise self._fail_table(b"ERR Invalid debug level.")
        parts = [p if isinstance(p, bytes) else b"%.14g" % p for p in args[1:]
                 if isinstance(p, bytes | int | float) and not isinstance(p, bool)]
        self.server.log(LOG_LEVELS[int(level)], b" ".join(parts).decode("utf-8", "replace"))

    def _setresp(self, *args: Any) -> None:
        if self.run_ctx is None:
            raise self._fail_table(b"ERR redis.setresp can only be called inside a script "
                                   b"invocation")
        if len(args) != 1:
            raise self._fail_table(b"ERR redis.setresp() requires one argument.")
        version = int(_number(args[0]) or 0)
        if version not in (2, 3):
            raise self._fail_table(b"ERR RESP version must be 2 or 3.")
        self.client.resp3 = version == 3
        self.runner.set_script_resp3(version == 3)

    def _setrepl(self, *args: Any) -> None:
        ctx = self.run_ctx
        if ctx is None:
            raise self._fail_table(b"ERR redis.set_repl can only be called inside a script "
                                   b"invocation")
        if len(args) != 1:
            raise self._fail_table(b"ERR redis.set_repl() requires two arguments.")
        flags = int(_number(args[0]) or 0)
        if flags & ~3:
            raise self._fail_table(b"ERR Invalid replication flags. Use REPL_AOF, "
                                   b"REPL_REPLICA, REPL_ALL or REPL_NONE.")
        ctx.repl = flags

    def _acl_check(self, *args: Any) -> bool:
        """redis.acl_check_cmd: every user may run every command (there are no ACLs)."""
        if not args:
            raise self._fail_table(b"ERR Please specify at least one argument for this "
                                   b"redis lib call")
        name = args[0].lower().decode("utf-8", "surrogateescape") if isinstance(
            args[0], bytes) else ""
        if name not in self.server.commands:
            raise self._fail_table(b"ERR Invalid command passed to redis.acl_check_cmd()")
        return True

    def _table_argument(self, args: tuple[Any, ...]) -> Any:
        """luaL_checktype(1, LUA_TTABLE): the table, else the C function's error."""
        if args and lua51.lua_type(args[0]) == "table":
            return args[0]
        got = "no value" if not args else (
            "function" if callable(args[0]) and lua51.lua_type(args[0]) is None
            else lua_type_name(args[0]))
        raise self._fail(b"bad argument #1 to '%s' (table expected, got %s)" % (
            self.runner.called_as(), got.encode()))

    def _next(self, *args: Any) -> Any:
        """next, walking a read-only proxy's real table."""
        table = self._table_argument(args)
        try:
            return self._raw_next(table, args[1] if len(args) > 1 else None)
        except lua51.LuaError as exc:
            raise ScriptError(str(exc).encode("utf-8", "surrogateescape")) from None

    def _pairs(self, *args: Any) -> Any:
        """pairs: the iterator walks a read-only proxy's real table."""
        return self._pairs_next, self._table_argument(args), None

    def _rawget(self, *args: Any) -> Any:
        """rawget, reading a read-only proxy's real table."""
        table = self._table_argument(args)
        if len(args) < 2:
            raise self._fail(b"bad argument #2 to '%s' (value expected)" % self.runner.called_as())
        return self._raw_rawget(table, args[1])

    def _random(self, *args: Any) -> float:
        """redis_math_random: Redis's own rand48, the same draws as on every Redis."""
        r = self.rand.next_fraction()
        if not args:
            return r
        bounds = [_number(a) for a in args]
        if any(b is None for b in bounds):
            bad = bounds.index(None)
            raise self._fail(b"bad argument #%d to 'random' (number expected, got %s)" % (
                bad + 1, lua_type_name(args[bad]).encode()))
        if len(args) == 1:
            upper = int(bounds[0] or 0)
            if upper < 1:
                raise self._fail(b"bad argument #1 to 'random' (interval is empty)")
            return float(math.floor(r * upper) + 1)
        if len(args) == 2:
            low, high = int(bounds[0] or 0), int(bounds[1] or 0)
            if low > high:
                raise self._fail(b"bad argument #2 to 'random' (interval is empty)")
            return float(math.floor(r * (high - low + 1)) + low)
        raise self._fail(b"wrong number of arguments")

    def _randomseed(self, *args: Any) -> None:
        seed = _number(args[0]) if args else None
        if seed is None:
            raise self._fail(b"bad argument #1 to 'randomseed' (number expected, got no value)")
        self.rand.seed(int(seed))


class ScriptError(Exception):
    """Raised by a Python function a script called: ``value`` is the Lua error value."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


def unwrap(error: Any) -> Any:
    """The Lua value of an error raised from Python (lupa hands Lua the exception)."""
    if isinstance(error, ScriptError):
        return error.value
    if isinstance(error, BaseException):
        return ("Python error: %s" % error).encode()
    return error


def c_double(value: float) -> bytes:
    """printf's ``%.17g``, which spells a NaN with its sign bit ("-nan" for 0/0)."""
    if value != value:
        return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
    return b"%.17g" % value


def _number(value: Any) -> float | None:
    """lua_isnumber / lua_tonumber: numbers and numeric strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, bytes):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_shebang(body: bytes) -> tuple[int, int]:
    """evalExtractShebangFlags: (flags, length of the shebang line); CommandError on a bad
    one. No shebang is compatibility mode."""
    if not body.startswith(b"#!"):
        return FLAG_EVAL_COMPAT, 0
    end = body.find(b"\n")
    if end < 0:
        raise CommandError(errors.SHEBANG_INVALID)
    parts = split_args(body[:end])
    if not parts:
        raise CommandError(errors.SHEBANG_INVALID_ENGINE)
    if parts[0] != b"#!lua":
        raise CommandError(errors.SHEBANG_ENGINE % parts[0].decode("utf-8", "surrogateescape"))
    flags = 0
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise CommandError(errors.SHEBANG_OPTION % part.decode("utf-8", "surrogateescape"))
        for name in part[6:].split(b","):
            flag = FLAG_NAMES.get(name.decode("utf-8", "surrogateescape"))
            if flag is None:
                raise CommandError(errors.SHEBANG_FLAG % name.decode("utf-8", "surrogateescape"))
            flags |= flag
    return flags, end
