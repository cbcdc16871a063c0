"""Users written back as rules: ACL LIST, ACL GETUSER and the ACL file (acl.c's
ACLDescribeUser, ACLDescribeSelector, ACLDescribeSelectorCommandRules).

The command rules are rebuilt from the bitmap as Redis does: ``+@all`` or ``-@all``, then
the categories that fit best, then single commands for what still differs. Redis walks
its command dict in hash order (random per process) for the single commands; here they
come in table order.
"""

from __future__ import annotations

from typing import Any

from ..table.command import ACL_CATEGORY_ORDER
from .catalog import CATEGORY_MEMBERS, FUTURE_BIT, WALK
from .rules import ALL_PERMISSION, READ, USER_FLAGS, Selector, User


def pattern_text(pattern: bytes, flags: int) -> bytes:
    """sdsCatPatternString."""
    if flags == ALL_PERMISSION:
        return b"~" + pattern
    return (b"%R~" if flags == READ else b"%W~") + pattern


def _count(bits: int, category: str) -> tuple[int, int]:
    """ACLCountCategoryBitsForSelector: the category's commands allowed, and denied."""
    members = CATEGORY_MEMBERS[category]
    on = (bits & members).bit_count()
    return on, members.bit_count() - on


def command_rules(selector: Selector) -> bytes:
    """ACLDescribeSelectorCommandRules."""
    additive = not selector.commands & FUTURE_BIT
    rules = [b"-@all" if additive else b"+@all"]
    fake = Selector(False, False)
    fake.apply(rules[0])
    temp = Selector(False, False)
    temp.commands = selector.commands
    applied: set[str] = set()
    while True:
        best = None
        mindiff, maxsame = 2**31 - 1, 0
        for name in ACL_CATEGORY_ORDER:
            if name in applied:
                continue
            on, off = _count(temp.commands, name)
            diff, same = (off, on) if additive else (on, off)
            if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                best, mindiff, maxsame = name, diff, same
        if best is None:
            break
        fake.set_category(best, additive)
        temp.set_category(best, not additive)
        rules.append((b"+@" if additive else b"-@") + best.encode())
        applied.add(best)
    for entry in WALK:
        userbit = selector.allows(entry.id)
        if userbit != fake.allows(entry.id):
            rules.append((b"+" if userbit else b"-") + entry.fullname.encode())
            fake.change_command(entry.id, userbit)
        if not userbit:
            for arg in selector.firstargs.get(entry.id, ()):
                rules.append(b"+" + entry.fullname.encode() + b"|" + arg)
    return b" ".join(rules)


def describe_selector(selector: Selector) -> bytes:
    """ACLDescribeSelector: keys, channels, then command rules."""
    parts: list[bytes] = []
    if selector.allkeys:
        parts.append(b"~*")
    else:
        parts += [pattern_text(p, f) for p, f in selector.patterns]
    if selector.allchannels:
        parts.append(b"&*")
    else:
        parts.append(b"resetchannels")
        parts += [b"&" + c for c in selector.channels]
    parts.append(command_rules(selector))
    return b" ".join(parts)


def describe_user(user: User) -> bytes:
    """ACLDescribeUser: flags, password hashes, the root selector, then ``(selectors)``."""
    out = b"".join(flag.encode() + b" " for flag in USER_FLAGS if flag in user.flags)
    out += b"".join(b"#" + p.encode() + b" " for p in user.passwords)
    out += describe_selector(user.root)
    for selector in user.selectors[1:]:
        out += b" (" + describe_selector(selector) + b")"
    return out


def selector_fields(selector: Selector) -> list[Any]:
    """aclAddReplySelectorDescription: commands, keys and channels as GETUSER shows them."""
    keys = b"~*" if selector.allkeys else b" ".join(
        pattern_text(p, f) for p, f in selector.patterns)
    channels = b"&*" if selector.allchannels else b" ".join(
        b"&" + c for c in selector.channels)
    return [b"commands", command_rules(selector), b"keys", keys, b"channels", channels]
