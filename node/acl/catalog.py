"""The commands ACL rules name: every command of the generated table, with an id each.

Rules are parsed against the whole Redis command table, not only the commands this node
serves, as Redis bases them on its original table (``server.orig_commands``): a user may
be allowed commands the node gains later. Ids index the bitmaps selectors keep; the bit
after the last id stands for "future commands", set only by ``+@all``.

Rules are written back (ACL LIST, GETUSER, CAT) over Redis 7.0's commands only, those
``shown``: the few of 7.2 and redslot's own are allowed and denied by category and name
but left out of the listings, so that these read as Redis 7.0's.
"""

from __future__ import annotations

from ..table.command import ACL_CATEGORY_ORDER, implicit_acl_categories
from ..table.specs import SPECS

CATEGORY_BITS = {name: 1 << i for i, name in enumerate(ACL_CATEGORY_ORDER)}


class Entry:
    """One command or subcommand as the ACL sees it."""

    __slots__ = ("id", "fullname", "parent", "categories", "subcommands", "shown")

    def __init__(self, ident: int, fullname: str, parent: Entry | None, categories: int,
                 shown: bool) -> None:
        self.id = ident
        self.fullname = fullname
        self.parent = parent
        self.categories = categories
        self.subcommands: dict[str, Entry] = {}
        self.shown = shown


def _in_redis_70(since: str) -> bool:
    return tuple(int(p) for p in since.split(".")[:2]) < (7, 1)


def _build() -> tuple[dict[str, Entry], list[Entry]]:
    top: dict[str, Entry] = {}
    ordered: list[Entry] = []
    for fullname, spec in SPECS.items():
        cats = 0
        for cat in implicit_acl_categories(spec["acl_categories"], set(spec["flags"])):
            cats |= CATEGORY_BITS[cat]
        parent = top.get(spec["container"]) if spec["container"] else None
        entry = Entry(len(ordered), fullname, parent, cats, _in_redis_70(spec["since"]))
        ordered.append(entry)
        if parent is None:
            top[fullname] = entry
        else:
            parent.subcommands[spec["name"]] = entry
    return top, ordered


COMMANDS, BY_ID = _build()
FUTURE_BIT = 1 << len(BY_ID)
ALL_BITS = (FUTURE_BIT << 1) - 1
IDS = {entry.fullname: entry.id for entry in BY_ID}


def walk() -> list[Entry]:
    """Every command, each followed by its subcommands (the order ACL output uses)."""
    out: list[Entry] = []
    for entry in COMMANDS.values():
        out.append(entry)
        out.extend(entry.subcommands.values())
    return [entry for entry in out if entry.shown]


WALK = walk()


def lookup(name: str) -> Entry | None:
    """lookupCommandBySdsLogic: ``cmd`` or ``cmd|sub``, case-insensitive."""
    parts = name.lower().split("|")
    if len(parts) > 2:
        return None
    entry = COMMANDS.get(parts[0])
    if entry is None or len(parts) == 1:
        return entry
    return entry.subcommands.get(parts[1])


def _category_masks() -> dict[str, int]:
    """ACLSetSelectorCommandBitsForCategory's bits: each command in the category, and with
    a container all of its subcommands (ACLChangeSelectorPerm)."""
    masks = {}
    for name in CATEGORY_BITS:
        bits = 0
        for entry in BY_ID:
            if entry.categories & CATEGORY_BITS[name]:
                bits |= 1 << entry.id
                for sub in entry.subcommands.values():
                    bits |= 1 << sub.id
        masks[name] = bits
    return masks


CATEGORY_MASKS = _category_masks()
CATEGORY_MEMBERS = {
    name: sum(1 << e.id for e in BY_ID if e.categories & flag and e.shown)
    for name, flag in CATEGORY_BITS.items()
}
