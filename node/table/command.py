"""The command table: Redis 7.2's facts joined with our handlers.

Every other part reads it: dispatch (arity, flags), COMMAND and COMMAND GETKEYS, MULTI
queueing, cluster redirects and replication. Facts come from the generated
``specs.py``; handlers register with ``@command("name")`` in one module per
data type or concern.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .keyspecs import KeyFinder, KeyRef, compile_key_specs
from .specs import SPECS

# A handler takes the client (typed by the commands layer's context.Client) and argv.
Handler = Callable[[Any, list[bytes]], Any]
H = TypeVar("H", bound=Handler)
GetKeys = Callable[[list[bytes]], list[int]]

_HANDLERS: dict[str, tuple[Handler, GetKeys | None]] = {}

# Calls shorter than this many microseconds are counted in a list indexed by duration
# (``latency_short``), the rest in a dict: the client loop counts each call, and a list
# slot costs no hash lookups.
SHORT_CALL_USEC = 32

# Redis's ACL category order (ACLCommandCategories in acl.c): COMMAND INFO lists them so.
ACL_CATEGORY_ORDER = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting",
)


def command(name: str, getkeys: GetKeys | None = None) -> Callable[[H], H]:
    """Register the handler of a command (``"get"``) or subcommand (``"client|kill"``)."""

    def register(handler: H) -> H:
        if name in _HANDLERS:
            raise ValueError(f"command {name} registered twice")
        _HANDLERS[name] = (handler, getkeys)
        return handler

    return register


class Command:
    """One command or subcommand: its facts, its handler and its statistics."""

    __slots__ = (
        "name", "fullname", "parent", "arity", "flags", "handler", "getkeys", "subcommands",
        "spec", "acl_categories", "key_specs", "first_key", "last_key", "key_step",
        "movablekeys", "write", "readonly", "denyoom", "admin", "noauth", "noscript",
        "loading", "stale", "fast", "blocking", "may_replicate", "skip_monitor",
        "skip_slowlog", "no_multi", "pubsub", "calls", "usec", "rejected_calls",
        "failed_calls", "latency_short", "latency_long", "data", "native_getkeys", "has_keys",
        "specs_give_keys", "spec_keys", "shows_data",
    )

    def __init__(self, spec: dict[str, Any], handler: Handler | None, getkeys: GetKeys | None,
                 parent: Command | None = None) -> None:
        self.spec = spec
        self.name: str = spec["name"]
        self.parent = parent
        self.fullname = f"{parent.name}|{self.name}" if parent else self.name
        self.arity: int = spec["arity"]
        self.handler = handler
        self.getkeys = getkeys
        self.subcommands: dict[str, Command] | None = None
        flags = set(spec["flags"])
        self.key_specs: list[dict[str, Any]] = spec["key_specs"]
        self.first_key, self.last_key, self.key_step, movable = legacy_key_range(self.key_specs)
        if movable:
            flags.add("movablekeys")
        self.native_getkeys = NATIVE_GETKEYS.get(spec["getkeys_function"] or "")
        self.spec_keys: KeyFinder = compile_key_specs(self.key_specs)
        keyed = any("NOT_KEY" not in s["flags"] for s in self.key_specs)
        self.has_keys = keyed or bool(spec["getkeys_function"])
        self.specs_give_keys = keyed and not any(
            "VARIABLE_FLAGS" in s["flags"] for s in self.key_specs)
        self.flags = frozenset(flags)
        self.movablekeys = "movablekeys" in flags
        self.write = "write" in flags
        self.readonly = "readonly" in flags
        self.denyoom = "denyoom" in flags
        self.admin = "admin" in flags
        self.noscript = "noscript" in flags
        self.loading = "loading" in flags
        self.stale = "stale" in flags
        self.fast = "fast" in flags
        self.blocking = "blocking" in flags
        self.may_replicate = "may_replicate" in flags
        self.skip_monitor = "skip_monitor" in flags
        self.skip_slowlog = "skip_slowlog" in flags
        self.data = False  # set by build_table once subcommands are known
        self.no_multi = "no_multi" in flags
        self.pubsub = "pubsub" in flags
        self.noauth = "no_auth" in flags
        # Its reply may show the dataset (zero-loss mode holds it until replicas have
        # every write it may show: replication/ackgate.py): reads, writes, scripts, EXEC.
        self.shows_data = (self.write or self.readonly or self.may_replicate or self.has_keys
                           or spec["name"] == "exec")
        self.acl_categories = implicit_acl_categories(spec["acl_categories"], flags)
        self.reset_stats()

    def reset_stats(self) -> None:
        self.calls: int = 0
        self.usec: int = 0
        self.rejected_calls: int = 0
        self.failed_calls: int = 0
        # Calls by duration in microseconds (latency_counts): the short ones by index,
        # the list grown as durations come up to SHORT_CALL_USEC.
        self.latency_short: list[int] = []
        self.latency_long: dict[int, int] = {}

    def record_latency(self, usec: int) -> None:
        """Count a call of ``usec`` microseconds (the client loop counts a short call in
        ``latency_short`` itself when its slot exists)."""
        short = self.latency_short
        if usec < SHORT_CALL_USEC:
            if usec >= len(short):
                short.extend([0] * (usec + 1 - len(short)))
            short[usec] = short[usec] + 1
        else:
            self.latency_long[usec] = self.latency_long.get(usec, 0) + 1

    def latency_counts(self) -> dict[int, int]:
        """Calls by duration in microseconds (LATENCY HISTOGRAM, INFO latencystats)."""
        counts = {usec: calls for usec, calls in enumerate(self.latency_short) if calls}
        counts.update(self.latency_long)
        return counts

    def keys(self, argv: list[bytes]) -> list[int]:
        """Positions of the key arguments in ``argv`` (getKeysFromCommandWithSpecs)."""
        return [pos for pos, _ in self.keys_and_flags(argv)]

    def keys_and_flags(self, argv: list[bytes]) -> list[KeyRef]:
        """getKeysFromCommandWithSpecs: the key specs when they can tell, else the procedure."""
        if self.specs_give_keys:
            found = self.spec_keys(argv)
            if found is not None:
                return found
        if self.native_getkeys is not None:
            return self.native_getkeys(argv)
        if self.getkeys is not None:
            return [(pos, ()) for pos in self.getkeys(argv)]
        return []

    def __repr__(self) -> str:
        return f"<Command {self.fullname}>"


def implicit_acl_categories(declared: list[str], flags: set[str]) -> list[str]:
    """setImplicitACLCategories: categories the flags imply, in Redis's listing order."""
    cats = set(declared)
    if "write" in flags:
        cats.add("write")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "admin" in flags:
        cats.update(("admin", "dangerous"))
    if "pubsub" in flags:
        cats.add("pubsub")
    if "fast" in flags:
        cats.add("fast")
    if "blocking" in flags:
        cats.add("blocking")
    if "fast" not in cats:
        cats.add("slow")
    return [c for c in ACL_CATEGORY_ORDER if c in cats]


def _is_range(spec: dict[str, Any]) -> bool:
    return "index" in spec["begin_search"] and "range" in spec["find_keys"]


def legacy_key_range(specs: list[dict[str, Any]]) -> tuple[int, int, int, bool]:
    """populateCommandLegacyRangeSpec: (first, last, step, movablekeys) for COMMAND INFO."""
    if not specs:
        return 0, 0, 0, False
    if len(specs) == 1 and _is_range(specs[0]):
        s = specs[0]
        first = s["begin_search"]["index"]["pos"]
        last = s["find_keys"]["range"]["lastkey"]
        return (first, first + last if last >= 0 else last, s["find_keys"]["range"]["step"],
                "INCOMPLETE" in s["flags"])
    movable = False
    first, last, prev_last = 2**31, 0, 0
    for s in specs:
        if not _is_range(s):
            movable = True
            continue
        pos = s["begin_search"]["index"]["pos"]
        rng = s["find_keys"]["range"]
        if rng["step"] != 1 or (prev_last and prev_last != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in s["flags"]:
            movable = True
        first = min(first, pos)
        abs_last = rng["lastkey"] + pos if rng["lastkey"] >= 0 else rng["lastkey"]
        last = max(last % 2**32, abs_last % 2**32)
        last = last - 2**32 if last >= 2**31 else last
        prev_last = last
    if first == 2**31:
        return 0, 0, 0, True
    return first, last, 1, movable


# --- the native getkeys procedures (db.c), for specs that are incomplete or whose
# flags vary with the arguments; used when the key specs cannot answer ---

_RO_ACCESS = ("RO", "ACCESS")
_OW_UPDATE = ("OW", "UPDATE")
_RW_ACCESS_UPDATE = ("RW", "ACCESS", "UPDATE")
_RW_ACCESS_DELETE = ("RW", "ACCESS", "DELETE")


def _atoi(arg: bytes) -> int:
    """C atoi: optional blanks and sign, then digits up to the first non-digit."""
    text = arg.lstrip(b" \t\n\v\f\r")
    sign = 1
    if text[:1] in (b"-", b"+"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    digits = len(text) - len(text.lstrip(b"0123456789"))
    return sign * int(text[:digits]) if digits else 0


def _generic_keys(store: int, count: int, first: int, argv: list[bytes]) -> list[KeyRef]:
    """genericGetKeys: ``[dest] numkeys key ...`` with flags left out, as Redis does."""
    num = _atoi(argv[count]) if count < len(argv) else 0
    if num < 1 or num > len(argv) - first:
        return []
    keys: list[KeyRef] = [(first + i, ()) for i in range(num)]
    if store:
        keys.append((store, ()))
    return keys


def _sort_keys(argv: list[bytes]) -> list[KeyRef]:
    keys: list[KeyRef] = [(1, _RO_ACCESS)]
    store = 0
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    while i < len(argv):
        arg = argv[i].lower()
        if arg in skip:
            i += skip[arg]
        elif arg == b"store" and i + 1 < len(argv):
            store = i + 1
        i += 1
    if store:
        keys.append((store, _OW_UPDATE))
    return keys


def _migrate_keys(argv: list[bytes]) -> list[KeyRef]:
    first, num = 3, 1
    skip = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}
    i = 6
    while i < len(argv):
        arg = argv[i].lower()
        if arg == b"keys":
            if argv[3]:
                num = 0
            else:
                first, num = i + 1, len(argv) - i - 1
            break
        i += skip.get(arg, 0) + 1
    return [(first + i, _RW_ACCESS_DELETE) for i in range(num)]


def _georadius_keys(argv: list[bytes]) -> list[KeyRef]:
    keys: list[KeyRef] = [(1, ())]
    stored = 0
    i = 5
    while i < len(argv):
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < len(argv):
            stored = i + 1
            i += 1
        i += 1
    if stored:
        keys.append((stored, ()))
    return keys


def _xread_keys(argv: list[bytes]) -> list[KeyRef]:
    streams = -1
    i = 1
    while i < len(argv):
        arg = argv[i].lower()
        if arg in (b"block", b"count"):
            i += 1
        elif arg == b"group":
            i += 2
        elif arg == b"streams":
            streams = i
            break
        elif arg != b"noack":
            break
        i += 1
    num = len(argv) - streams - 1 if streams != -1 else 0
    if streams == -1 or num == 0 or num % 2:
        return []
    return [(i, ()) for i in range(streams + 1, len(argv) - num // 2)]


def _set_keys(argv: list[bytes]) -> list[KeyRef]:
    if any(arg.lower() == b"get" for arg in argv[3:]):
        return [(1, _RW_ACCESS_UPDATE)]
    return [(1, _OW_UPDATE)]


def _bitfield_keys(argv: list[bytes]) -> list[KeyRef]:
    readonly = True
    i = 2
    while i < len(argv):
        remaining = len(argv) - i - 1
        arg = argv[i].lower()
        if arg == b"get" and remaining >= 2:
            i += 3
        elif arg in (b"set", b"incrby") and remaining >= 3:
            readonly = False
            break
        elif arg == b"overflow" and remaining >= 1:
            i += 2
        else:
            readonly = False
            break
    return [(1, _RO_ACCESS if readonly else _RW_ACCESS_UPDATE)]


NATIVE_GETKEYS: dict[str, Callable[[list[bytes]], list[KeyRef]]] = {
    "bitfieldGetKeys": _bitfield_keys,
    "setGetKeys": _set_keys,
    "sortGetKeys": _sort_keys,
    "sortROGetKeys": lambda argv: [(1, _RO_ACCESS)],
    "migrateGetKeys": _migrate_keys,
    "georadiusGetKeys": _georadius_keys,
    "xreadGetKeys": _xread_keys,
    "evalGetKeys": lambda argv: _generic_keys(0, 2, 3, argv),
    "functionGetKeys": lambda argv: _generic_keys(0, 2, 3, argv),
    "blmpopGetKeys": lambda argv: _generic_keys(0, 2, 3, argv),
    "lmpopGetKeys": lambda argv: _generic_keys(0, 1, 2, argv),
    "zmpopGetKeys": lambda argv: _generic_keys(0, 1, 2, argv),
    "sintercardGetKeys": lambda argv: _generic_keys(0, 1, 2, argv),
    "zunionInterDiffGetKeys": lambda argv: _generic_keys(0, 1, 2, argv),
    "zunionInterDiffStoreGetKeys": lambda argv: _generic_keys(1, 2, 3, argv),
}


# Command groups whose commands only read or write data: they never change the state the
# dispatcher's batch loop hoists (authentication, CLIENT REPLY/NO-TOUCH, pause, MONITOR).
DATA_GROUPS = frozenset({
    "string", "generic", "hash", "list", "set", "sorted_set", "bitmap", "hyperloglog",
    "geo", "stream",
})


# Commands outside those groups that only write data: RESTORE-ASKING (group "server") is
# RESTORE for a migrating node, the whole of a reshard's load on its target.
DATA_COMMANDS = frozenset({"restore-asking"})


# Generic commands that block without the "blocking" flag.
UNFLAGGED_BLOCKING = frozenset({"wait", "waitaof"})


def is_data_command(cmd: Command) -> bool:
    return ((cmd.spec["group"] in DATA_GROUPS or cmd.name in DATA_COMMANDS)
            and cmd.subcommands is None
            and not cmd.blocking and "protected" not in cmd.flags
            and cmd.name not in UNFLAGGED_BLOCKING)


def join_handlers() -> dict[str, Command]:
    """The command table: the generated facts joined with the handlers registered so far
    (``redslot.node.commands.build_table`` imports every handler module first)."""
    if not _HANDLERS:
        raise RuntimeError("no command handlers registered: use commands.build_table()")
    table: dict[str, Command] = {}
    for name, (handler, getkeys) in _HANDLERS.items():
        if "|" in name:
            continue
        if name not in SPECS:
            raise KeyError(f"no Redis 7.2 spec for command {name}")
        table[name] = Command(SPECS[name], handler, getkeys)
    for name, (handler, getkeys) in _HANDLERS.items():
        if "|" not in name:
            continue
        parent_name = name.split("|", 1)[0]
        parent = table.get(parent_name)
        if parent is None:
            parent = table[parent_name] = Command(SPECS[parent_name], None, None)
        if parent.subcommands is None:
            parent.subcommands = {}
        parent.subcommands[name.split("|", 1)[1]] = Command(SPECS[name], handler, getkeys, parent)
    for cmd in table.values():
        cmd.data = is_data_command(cmd)
    return table
