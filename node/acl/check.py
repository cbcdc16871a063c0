"""Whether a user may run a command (ACLCheckAllUserCommandPerm, ACLSelectorCheckCmd).

A command is allowed when one selector allows it, its keys (by their key-spec access
flags) and its channels. When none does, the reported reason is the command if no selector
allowed it, else the key or channel that failed at the highest argument position.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from ..base.glob import compile_glob, stringmatchlen
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


def channel_allowed(channels: list[bytes], channel: bytes, is_pattern: bool) -> bool:
    """ACLCheckChannelAgainstList: patterns from PSUBSCRIBE must match literally."""
    for allowed in channels:
        if (allowed == channel) if is_pattern else stringmatchlen(allowed, channel):
            return True
    return False


@lru_cache(maxsize=1024)
def key_matcher(pattern: bytes) -> Callable[[bytes], bool]:
    """The matcher of a key pattern: ``prefix*``, the usual ACL pattern, is a startswith
    (an empty key matches no pattern but an empty one, as in stringmatchlen)."""
    prefix = pattern[:-1]
    if pattern.endswith(b"*") and not any(c in _SPECIAL for c in prefix):
        return partial(_starts_with, prefix)
    return compile_glob(pattern)


_SPECIAL = frozenset(b"*?[\\")


def _starts_with(prefix: bytes, key: bytes) -> bool:
    return bool(key) and key.startswith(prefix)


# Key-spec flags -> the access they need, filled as flag combinations are met.
_NEEDS: dict[tuple[str, ...], int] = {}


def _selector_check(selector: Selector, cmd: Any, argv: list[bytes],
                    found: list[list[tuple[int, tuple[str, ...]]]]) -> tuple[int, int]:
    """ACLSelectorCheckCmd; ``found`` caches the command's keys for the next selectors."""
    if not selector.allcommands and not cmd.noauth:
        ident = IDS[cmd.fullname]
        if not selector.commands >> ident & 1:
            allowed = selector.firstargs.get(ident)
            if len(argv) < 2 or not allowed:
                return DENIED_CMD, 0
            first = argv[2 if cmd.parent is not None else 1].lower()
            if all(arg.lower() != first for arg in allowed):
                return DENIED_CMD, 0
    if not selector.allkeys and cmd.has_keys:
        if not found:
            found.append(cmd.keys_and_flags(argv))
        for pos, flags in found[0]:
            need = _NEEDS.get(flags)
            if need is None:
                need = _NEEDS[flags] = key_permission(flags)
            key = argv[pos]
            for pattern, allowed_access in selector.patterns:
                if allowed_access & need == need and key_matcher(pattern)(key):
                    break
            else:
                return DENIED_KEY, pos
    if not selector.allchannels:
        channel_use = CHANNEL_COMMANDS.get(cmd.fullname)
        if channel_use is not None:
            channel_flags, single = channel_use
            is_pattern = bool(channel_flags & PATTERN)
            last = 2 if single else len(argv)
            for pos in range(1, min(last, len(argv))):
                if not channel_allowed(selector.channels, argv[pos], is_pattern):
                    return DENIED_CHANNEL, pos
    return OK, 0


def check_command(user: User, cmd: Any, argv: list[bytes]) -> tuple[int, int]:
    """(reason, argument position): ``(OK, 0)`` when some selector allows the call."""
    found: list[list[tuple[int, tuple[str, ...]]]] = []
    selectors = user.selectors
    if len(selectors) == 1:
        return _selector_check(selectors[0], cmd, argv, found)
    relevant, last = DENIED_CMD, 0
    for selector in selectors:
        result, pos = _selector_check(selector, cmd, argv, found)
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
    found: list[list[tuple[int, tuple[str, ...]]]] = []
    return any(_selector_check(s, cmd, argv, found)[0] == OK and _all_keys_allowed(s, READ)
               for s in user.selectors)
