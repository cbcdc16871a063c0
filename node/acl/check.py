"""Whether a user may run a command (ACLCheckAllUserCommandPerm, ACLSelectorCheckCmd).

A command is allowed when one selector allows it, its keys (by their key-spec access
flags) and its channels. When none does, the reported reason is the command if no selector
allowed it, else the key or channel that failed at the highest argument position.
"""

from __future__ import annotations

from typing import Any

from ..base.glob import stringmatchlen
from .catalog import IDS
from .rules import READ, WRITE, Selector, User

OK = 0
DENIED_CMD = 1
DENIED_KEY = 2
DENIED_CHANNEL = 4
DENIED_AUTH = 3

REASON_NAMES = {DENIED_CMD: "command", DENIED_KEY: "key", DENIED_CHANNEL: "channel",
                DENIED_AUTH: "auth"}

SUBSCRIBE, PUBLISH, PATTERN = 1, 2, 4
# getChannelsFromCommand: the commands naming channels and how (UNSUBSCRIBE is not checked).
CHANNEL_COMMANDS = {
    "subscribe": (SUBSCRIBE, False),
    "ssubscribe": (SUBSCRIBE, False),
    "psubscribe": (SUBSCRIBE | PATTERN, False),
    "publish": (PUBLISH, True),
    "spublish": (PUBLISH, True),
}

def key_permission(spec_flags: tuple[str, ...]) -> int:
    """The access a key-spec's flags need: ACCESS reads, INSERT/DELETE/UPDATE write."""
    need = 0
    if "ACCESS" in spec_flags:
        need |= READ
    if "INSERT" in spec_flags or "DELETE" in spec_flags or "UPDATE" in spec_flags:
        need |= WRITE
    return need


def key_allowed(selector: Selector, key: bytes, need: int) -> bool:
    """ACLSelectorCheckKey."""
    if selector.allkeys:
        return True
    for pattern, flags in selector.patterns:
        if flags & need == need and stringmatchlen(pattern, key):
            return True
    return False


def channel_allowed(channels: list[bytes], channel: bytes, is_pattern: bool) -> bool:
    """ACLCheckChannelAgainstList: patterns from PSUBSCRIBE must match literally."""
    for allowed in channels:
        if (allowed == channel) if is_pattern else stringmatchlen(allowed, channel):
            return True
    return False


class _Keys:
    """The command's keys, computed once for all selectors (aclKeyResultCache)."""

    __slots__ = ("cmd", "argv", "found")

    def __init__(self, cmd: Any, argv: list[bytes]) -> None:
        self.cmd, self.argv = cmd, argv
        self.found: list[tuple[int, int]] | None = None

    def get(self) -> list[tuple[int, int]]:
        if self.found is None:
            self.found = [(pos, key_permission(flags))
                          for pos, flags in self.cmd.keys_and_flags(self.argv)]
        return self.found


def _selector_check(selector: Selector, cmd: Any, argv: list[bytes],
                    keys: _Keys) -> tuple[int, int]:
    if not selector.allcommands and not cmd.noauth:
        ident = IDS[cmd.fullname]
        if not selector.allows(ident):
            allowed = selector.firstargs.get(ident)
            if len(argv) < 2 or not allowed:
                return DENIED_CMD, 0
            first = argv[2 if cmd.parent is not None else 1].lower()
            if all(arg.lower() != first for arg in allowed):
                return DENIED_CMD, 0
    if not selector.allkeys and cmd.has_keys:
        for pos, need in keys.get():
            if not key_allowed(selector, argv[pos], need):
                return DENIED_KEY, pos
    channel_use = CHANNEL_COMMANDS.get(cmd.fullname)
    if not selector.allchannels and channel_use is not None:
        flags, single = channel_use
        last = 2 if single else len(argv)
        for pos in range(1, min(last, len(argv))):
            if not channel_allowed(selector.channels, argv[pos], bool(flags & PATTERN)):
                return DENIED_CHANNEL, pos
    return OK, 0


def check_command(user: User, cmd: Any, argv: list[bytes]) -> tuple[int, int]:
    """(reason, argument position): ``(OK, 0)`` when some selector allows the call."""
    keys = _Keys(cmd, argv)
    relevant, last = DENIED_CMD, 0
    for selector in user.selectors:
        result, pos = _selector_check(selector, cmd, argv, keys)
        if result == OK:
            return OK, 0
        if result > relevant or (result == relevant and pos > last):
            relevant, last = result, pos
    return relevant, last


def user_channel_allowed(user: User, channel: bytes, is_pattern: bool) -> bool:
    """ACLUserCheckChannelPerm."""
    for selector in user.selectors:
        if selector.allchannels or channel_allowed(selector.channels, channel, is_pattern):
            return True
    return False


def _all_keys_allowed(selector: Selector, need: int) -> bool:
    """ACLSelectorHasUnrestrictedKeyAccess: ``allkeys``, or a ``*`` pattern granting
    ``need``."""
    return selector.allkeys or any(
        pattern == b"*" and flags & need == need for pattern, flags in selector.patterns)


def may_read_any_key(user: User, cmd: Any, argv: list[bytes]) -> bool:
    """ACLUserCheckCmdWithUnrestrictedKeyAccess with read access: a selector that allows
    the call also allows reading every key (SORT's BY and GET patterns need it)."""
    keys = _Keys(cmd, argv)
    return any(_selector_check(s, cmd, argv, keys)[0] == OK and _all_keys_allowed(s, READ)
               for s in user.selectors)
