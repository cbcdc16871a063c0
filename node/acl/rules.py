"""Users and selectors, changed by ACL rules exactly as ACLSetUser / ACLSetSelector do.

A user holds passwords (SHA-256 hex, as Redis stores them) and selectors: the root one
(rules given outside parentheses) first, then those given in parentheses. A command runs
when any selector allows it. A rule that fails raises ``RuleError`` with acl.c's text.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..base import errors
from ..protocol.splitargs import split_args
from .catalog import ALL_BITS, BY_ID, CATEGORY_BITS, CATEGORY_MASKS, lookup

READ = 1
WRITE = 2
ALL_PERMISSION = READ | WRITE

# User flags in the order ACLDescribeUser prints them.
USER_FLAGS = ("on", "off", "nopass", "skip-sanitize-payload", "sanitize-payload")
_SPACE = frozenset(b" \t\n\v\f\r\0")


class RuleError(Exception):
    """A rule ACLSetUser refuses; ``reason`` is ACLSetUserStringError's text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def hash_password(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def _valid_hash(text: bytes) -> bool:
    return len(text) == 64 and all(c in b"0123456789abcdef" for c in text)


def _has_spaces(text: bytes) -> bool:
    return any(c in _SPACE for c in text)


class Selector:
    """One set of permissions: commands (a bitmap by catalog id), keys and channels."""

    __slots__ = ("root", "allkeys", "allchannels", "allcommands", "commands", "firstargs",
                 "patterns", "channels")

    def __init__(self, root: bool, allchannels: bool) -> None:
        self.root = root
        self.allkeys = False
        self.allchannels = allchannels
        self.allcommands = False
        self.commands = 0
        self.firstargs: dict[int, list[bytes]] = {}
        self.patterns: list[list[Any]] = []  # [pattern, READ | WRITE]
        self.channels: list[bytes] = []

    def copy(self) -> Selector:
        other = Selector(self.root, self.allchannels)
        other.allkeys, other.allcommands = self.allkeys, self.allcommands
        other.commands = self.commands
        other.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        other.patterns = [list(p) for p in self.patterns]
        other.channels = list(self.channels)
        return other

    def allows(self, ident: int) -> bool:
        return bool(self.commands >> ident & 1)

    def set_bits(self, bits: int, allow: bool) -> None:
        if allow:
            self.commands |= bits
        elif bits:
            self.commands &= ~bits
            self.allcommands = False

    def change_command(self, ident: int, allow: bool) -> None:
        """ACLChangeSelectorPerm: the command and all its subcommands."""
        entry = BY_ID[ident]
        bits = 1 << ident
        for sub in entry.subcommands.values():
            bits |= 1 << sub.id
        self.set_bits(bits, allow)
        self.firstargs.pop(ident, None)

    def apply(self, op: bytes) -> None:
        """ACLSetSelector."""
        low = op.lower()
        if low in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns = []
        elif low == b"resetkeys":
            self.allkeys = False
            self.patterns = []
        elif low in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels = []
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels = []
        elif low in (b"allcommands", b"+@all"):
            self.commands = ALL_BITS
            self.allcommands = True
            self.firstargs = {}
        elif low in (b"nocommands", b"-@all"):
            self.commands = 0
            self.allcommands = False
            self.firstargs = {}
        elif op[:1] in (b"~", b"%"):
            self._add_key_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError(errors.ACL_CHANNELS_AFTER_ALL)
            pattern = op[1:]
            if _has_spaces(pattern):
                raise RuleError(errors.ACL_SYNTAX)
            if pattern not in self.channels:
                self.channels.append(pattern)
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            self._allow(op[1:])
        elif op[:1] == b"-" and op[1:2] != b"@":
            entry = lookup(_text(op[1:]))
            if entry is None:
                raise RuleError(errors.ACL_UNKNOWN_COMMAND)
            self.change_command(entry.id, False)
        elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
            category = _text(op[2:]).lower()
            if category not in CATEGORY_BITS:
                raise RuleError(errors.ACL_UNKNOWN_COMMAND)
            self.set_category(category, op[:1] == b"+")
        else:
            raise RuleError(errors.ACL_SYNTAX)

    def set_category(self, category: str, allow: bool) -> None:
        self.set_bits(CATEGORY_MASKS[category], allow)
        flag = CATEGORY_BITS[category]
        for ident in [i for i in self.firstargs if BY_ID[i].categories & flag]:
            del self.firstargs[ident]

    def _add_key_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise RuleError(errors.ACL_KEYS_AFTER_ALL)
        flags = 0
        offset = 1
        if op[:1] == b"%":
            while offset < len(op):
                ch = op[offset:offset + 1]
                if ch.upper() == b"R" and not flags & READ:
                    flags |= READ
                elif ch.upper() == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif ch == b"~":
                    offset += 1
                    break
                else:
                    raise RuleError(errors.ACL_SYNTAX)
                offset += 1
            if not flags:
                raise RuleError(errors.ACL_SYNTAX)
        else:
            flags = ALL_PERMISSION
        pattern = op[offset:]
        if _has_spaces(pattern):
            raise RuleError(errors.ACL_SYNTAX)
        for existing in self.patterns:
            if existing[0] == pattern:
                existing[1] |= flags
                break
        else:
            self.patterns.append([pattern, flags])
        self.allkeys = False

    def _allow(self, name: bytes) -> None:
        if b"|" not in name:
            entry = lookup(_text(name))
            if entry is None:
                raise RuleError(errors.ACL_UNKNOWN_COMMAND)
            self.change_command(entry.id, True)
            return
        base, _, sub = name.rpartition(b"|")
        entry = lookup(_text(base))
        if entry is None:
            raise RuleError(errors.ACL_UNKNOWN_COMMAND)
        if entry.parent is not None:
            raise RuleError(errors.ACL_SUBCOMMAND_FIRSTARG)
        if not sub:
            raise RuleError(errors.ACL_SYNTAX)
        if entry.subcommands:
            subentry = lookup(_text(name))
            if subentry is None:
                raise RuleError(errors.ACL_UNKNOWN_COMMAND)
            self.change_command(subentry.id, True)
            return
        allowed = self.firstargs.setdefault(entry.id, [])
        if all(arg.lower() != sub.lower() for arg in allowed):
            allowed.append(sub)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class User:
    """An ACL user: name, flags, password hashes and selectors (the root one first).

    ``unrestricted``: every command, key and channel allowed by the root selector, so
    checks can be skipped. Kept as a field, settled by each change of the rules
    (``apply``, ``copy_from``), because a client's read tests it (dispatch.py): a method
    call there cost as much as the rest of the read's set-up.
    """

    __slots__ = ("name", "flags", "passwords", "selectors", "unrestricted")

    def __init__(self, name: bytes, pubsub_allchannels: bool) -> None:
        self.name = name
        self.flags = {"off"}
        self.passwords: list[str] = []
        self.selectors = [Selector(True, pubsub_allchannels)]
        self.unrestricted = False

    @property
    def enabled(self) -> bool:
        return "on" in self.flags

    @property
    def nopass(self) -> bool:
        return "nopass" in self.flags

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def copy_from(self, other: User) -> None:
        """ACLCopyUser: the rules of ``other``, keeping this user's name."""
        self.flags = set(other.flags)
        self.passwords = list(other.passwords)
        self.selectors = [s.copy() for s in other.selectors]
        self.unrestricted = other.unrestricted

    def _settle(self) -> None:
        root = self.selectors[0]
        self.unrestricted = root.allcommands and root.allkeys and root.allchannels

    def check_password(self, password: bytes) -> bool:
        if "off" in self.flags:
            return False
        return self.nopass or hash_password(password) in self.passwords

    def apply(self, op: bytes, pubsub_allchannels: bool) -> None:
        """ACLSetUser."""
        try:
            self._apply(op, pubsub_allchannels)
        finally:
            self._settle()

    def _apply(self, op: bytes, pubsub_allchannels: bool) -> None:
        if not op:
            return
        low = op.lower()
        flags = self.flags
        if low in (b"on", b"off"):
            flags.discard("off" if low == b"on" else "on")
            flags.add(low.decode())
        elif low in (b"skip-sanitize-payload", b"sanitize-payload"):
            flags.discard("sanitize-payload" if low == b"skip-sanitize-payload"
                          else "skip-sanitize-payload")
            flags.add(low.decode())
        elif low == b"nopass":
            flags.add("nopass")
            self.passwords = []
        elif low == b"resetpass":
            flags.discard("nopass")
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            if op[:1] == b">":
                digest = hash_password(op[1:])
            elif not _valid_hash(op[1:]):
                raise RuleError(errors.ACL_BAD_HASH)
            else:
                digest = op[1:].decode()
            if digest not in self.passwords:
                self.passwords.append(digest)
            flags.discard("nopass")
        elif op[:1] in (b"<", b"!"):
            if op[:1] == b"<":
                digest = hash_password(op[1:])
            elif not _valid_hash(op[1:]):
                raise RuleError(errors.ACL_BAD_HASH)
            else:
                digest = op[1:].decode()
            if digest not in self.passwords:
                raise RuleError(errors.ACL_NO_SUCH_PASSWORD)
            self.passwords.remove(digest)
        elif op[:1] == b"(" and op[-1:] == b")":
            selector = Selector(False, pubsub_allchannels)
            for inner in split_args(op[1:-1]) or []:
                selector.apply(inner)
            self.selectors.append(selector)
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            for step in (b"resetpass", b"resetkeys", b"resetchannels"):
                self.apply(step, pubsub_allchannels)
            if pubsub_allchannels:
                self.apply(b"allchannels", pubsub_allchannels)
            for step in (b"off", b"sanitize-payload", b"clearselectors", b"-@all"):
                self.apply(step, pubsub_allchannels)
        else:
            self.root.apply(op)


def merge_selector_arguments(args: list[bytes]) -> list[bytes]:
    """ACLMergeSelectorArguments: a selector spread over several arguments becomes one.

    Raises ``ValueError`` carrying the argument its unmatched parenthesis opens.
    """
    merged: list[bytes] = []
    selector: bytes | None = None
    start = b""
    for op in args:
        if selector is None and op[:1] == b"(" and op[-1:] != b")":
            selector, start = op, op
            continue
        if selector is not None:
            selector += b" " + op
            if op[-1:] == b")":
                merged.append(selector)
                selector = None
            continue
        merged.append(op)
    if selector is not None:
        raise ValueError(start)
    return merged


def set_user(user: User | None, name: bytes, args: list[bytes],
             pubsub_allchannels: bool) -> User:
    """ACLStringSetUser: all rules applied to a copy, so a failing rule changes nothing.

    Returns the changed copy (the caller installs it); raises ``RuleError`` whose reason
    is the full reply text.
    """
    try:
        ops = merge_selector_arguments(args)
    except ValueError as exc:
        raise RuleError(errors.ACL_UNMATCHED_PAREN % _text(exc.args[0])) from None
    staged = User(name, pubsub_allchannels)
    if user is not None:
        staged.copy_from(user)
    for op in ops:
        try:
            staged.apply(op, pubsub_allchannels)
        except RuleError as exc:
            shown = _text(op.split(b"\0", 1)[0])
            raise RuleError(errors.ACL_SETUSER_ERROR % (shown, exc.reason)) from None
    return staged
