"""The command table: Redis 7.2's facts joined with our handlers.

Every other part reads it: dispatch (arity, flags), COMMAND and COMMAND GETKEYS, MULTI
queueing, cluster redirects and replication. Facts come from the generated
``commands/specs.py``; handlers register with ``@command("name")`` in one module per
data type or concern.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .protocol import strict_int

if TYPE_CHECKING:
    from .client import Client

Handler = Callable[["Client", list[bytes]], Any]
GetKeys = Callable[[list[bytes]], list[int]]

_HANDLERS: dict[str, tuple[Handler, GetKeys | None]] = {}

# Redis's ACL category order (ACLCommandCategories in acl.c): COMMAND INFO lists them so.
ACL_CATEGORY_ORDER = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting",
)


def command(name: str, getkeys: GetKeys | None = None) -> Callable[[Handler], Handler]:
    """Register the handler of a command (``"get"``) or subcommand (``"client|kill"``)."""

    def register(handler: Handler) -> Handler:
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
        "failed_calls",
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
        if spec["getkeys_function"] or movable:
            flags.add("movablekeys")
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
        self.no_multi = "no_multi" in flags
        self.pubsub = "pubsub" in flags
        self.noauth = "no_auth" in flags
        self.acl_categories = implicit_acl_categories(spec["acl_categories"], flags)
        self.reset_stats()

    def reset_stats(self) -> None:
        self.calls: int = 0
        self.usec: int = 0
        self.rejected_calls: int = 0
        self.failed_calls: int = 0

    def keys(self, argv: list[bytes]) -> list[int]:
        """Positions of the key arguments in ``argv`` (getKeysFromCommandWithSpecs)."""
        if self.getkeys is not None:
            return self.getkeys(argv)
        return keys_from_specs(self.key_specs, argv)

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


def keys_from_specs(specs: list[dict[str, Any]], argv: list[bytes]) -> list[int]:
    """getKeysUsingKeySpecs: key positions; an invalid spec yields no keys at all."""
    argc = len(argv)
    found: list[int] = []
    for spec in specs:
        if "NOT_KEY" in spec["flags"]:
            continue
        bs, fk = spec["begin_search"], spec["find_keys"]
        if "index" in bs:
            first = bs["index"]["pos"]
        elif "keyword" in bs:
            kw = bs["keyword"]["keyword"].lower().encode()
            start = bs["keyword"]["startfrom"]
            start_i = start if start > 0 else argc + start
            end_i = argc - 1 if start > 0 else 1
            first = 0
            i = start_i
            while True:
                if i >= argc or i < 1:
                    break
                if argv[i].lower() == kw:
                    first = i + 1
                    break
                if i == end_i:
                    break
                i = i + 1 if start_i <= end_i else i - 1
            if not first:
                continue
        else:
            return []
        if "range" in fk:
            step = fk["range"]["step"]
            lastkey, limit = fk["range"]["lastkey"], fk["range"]["limit"]
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif "keynum" in fk:
            step = fk["keynum"]["step"]
            idx = fk["keynum"]["keynumidx"]
            if idx >= argc or first + idx >= argc:
                return []
            numkeys = strict_int(argv[first + idx])
            if numkeys is None or numkeys < 0:
                return []
            first += fk["keynum"]["firstkey"]
            last = first + numkeys - 1
        else:
            return []
        if last >= argc or last < first or first >= argc:
            return []
        found.extend(range(first, last + 1, step))
    return found


def build_table() -> dict[str, Command]:
    """Join the generated facts with the registered handlers (imports every command module)."""
    from . import commands  # noqa: F401  (registers handlers)
    from .commands.specs import SPECS

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
    return table
