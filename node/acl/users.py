"""The node's users (Redis's ``Users`` rax): the default user, the ACL file, the log.

Clients hold their ``User`` object; changing a user replaces its rules in place (as
ACLCopyUser does), so a client sees new permissions at its next command.
"""

from __future__ import annotations

import os
from time import time

from ..base import errors
from .describe import describe_user
from .log import AclLog
from .rules import RuleError, User, merge_selector_arguments

DEFAULT = b"default"


def default_user(pubsub_allchannels: bool) -> User:
    """ACLCreateDefaultUser: everything allowed, no password."""
    user = User(DEFAULT, pubsub_allchannels)
    for op in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
        user.apply(op, pubsub_allchannels)
    return user


class Users:
    """Users by name; ``default`` always exists."""

    def __init__(self) -> None:
        self.pubsub_allchannels = False  # acl-pubsub-default resetchannels (7.0's default)
        self.default = default_user(True)
        self.users: dict[bytes, User] = {DEFAULT: self.default}
        self.log = AclLog()

    def get(self, name: bytes) -> User | None:
        return self.users.get(name)

    def sorted(self) -> list[User]:
        """In the rax's order: by name, bytewise."""
        return [self.users[name] for name in sorted(self.users)]

    def install(self, name: bytes, staged: User) -> User:
        """The user named ``name`` now has ``staged``'s rules (created when new)."""
        user = self.users.get(name)
        if user is None:
            user = self.users[name] = User(name, self.pubsub_allchannels)
        user.copy_from(staged)
        return user

    def set_requirepass(self, password: str) -> None:
        """ACLUpdateDefaultUserPassword: requirepass is the default user's password."""
        self.default.apply(b"resetpass", self.pubsub_allchannels)
        if password:
            self.default.apply(b">" + password.encode(), self.pubsub_allchannels)
        else:
            self.default.apply(b"nopass", self.pubsub_allchannels)

    def acl_file_text(self) -> bytes:
        """What ACL SAVE writes: one ``user`` line per user, by name."""
        return b"".join(b"user " + u.name + b" " + describe_user(u) + b"\n"
                        for u in self.sorted())

    def save(self, path: str) -> bool:
        tmp = "%s.tmp-%d-%d" % (path, os.getpid(), int(time() * 1000))
        try:
            with open(tmp, "wb") as fh:
                fh.write(self.acl_file_text())
            os.rename(tmp, path)
        except OSError:
            if os.path.exists(tmp):
                os.unlink(tmp)
            return False
        return True

    def parse_file(self, path: str) -> dict[bytes, User] | str:
        """ACLLoadFromFile's parsing: the users, or the error text (nothing changed)."""
        try:
            with open(path, "rb") as fh:
                text = fh.read()
        except OSError as exc:
            return "Error loading ACLs, opening file '%s': %s" % (path, exc.strerror)
        loaded: dict[bytes, User] = {}
        problems = ""
        for number, raw in enumerate(text.split(b"\n"), 1):
            line = raw.strip(b" \t\r\n")
            if not line:
                continue
            argv = [a for a in line.split(b" ")]
            if argv[0] != b"user" or len(argv) < 2:
                problems += ("%s:%d should start with user keyword followed by the "
                             "username. " % (path, number))
                continue
            name = argv[1]
            if any(c in b" \t\n\v\f\r\0" for c in name) or not name:
                problems += "'%s:%d: username '%s' contains invalid characters. " % (
                    path, number, name.decode("utf-8", "surrogateescape"))
                continue
            if name in loaded:
                problems += "WARNING: Duplicate user '%s' found on line %d. " % (
                    name.decode("utf-8", "surrogateescape"), number)
                continue
            user = loaded[name] = User(name, self.pubsub_allchannels)
            try:
                ops = merge_selector_arguments(argv[2:])
            except ValueError:
                problems += "%s:%d: Unmatched parenthesis in selector definition." % (
                    path, number)
                continue
            syntax = False
            for op in ops:
                try:
                    user.apply(op.strip(b"\t\r\n"), self.pubsub_allchannels)
                except RuleError as exc:
                    if exc.reason.startswith("Unknown command"):
                        problems += "%s:%d: Error in applying operation '%s': %s. " % (
                            path, number, op.decode("utf-8", "surrogateescape"), exc.reason)
                    elif not syntax:
                        problems += "%s:%d: %s. " % (path, number, exc.reason)
                        syntax = True
        if problems:
            return problems + ("WARNING: ACL errors detected, no change to the previously "
                               "active ACL rules was performed")
        return loaded

    def load_at_startup(self, user_lines: list[list[bytes]], aclfile: str) -> str | None:
        """ACLLoadUsersAtStartup: the ``user`` lines of the config, else the ACL file.

        Returns the reason to refuse to start, or None.
        """
        if aclfile and user_lines:
            return ("Configuring Redis with users defined in redis.conf and at the same "
                    "setting an ACL file path is invalid. This setup is very likely to lead "
                    "to configuration errors and security holes, please define either an "
                    "ACL file or declare users directly in your redis.conf, but not both.")
        for argv in user_lines:
            name, ops = argv[0], merge_selector_arguments(argv[1:])
            user = self.users.get(name)
            if user is None:
                user = self.users[name] = User(name, self.pubsub_allchannels)
            else:
                user.apply(b"reset", self.pubsub_allchannels)
            for op in ops:
                try:
                    user.apply(op, self.pubsub_allchannels)
                except RuleError as exc:
                    return "Error loading ACL rule '%s' for the user named '%s': %s" % (
                        _text(op), _text(name), exc.reason)
        if aclfile:
            loaded = self.parse_file(aclfile)
            if isinstance(loaded, str):
                return "Aborting Redis startup because of ACL errors: " + loaded
            self.replace_all(loaded)
        return None

    def replace_all(self, loaded: dict[bytes, User]) -> list[User]:
        """Install a loaded set of users; returns the old users that are gone or were
        replaced (their clients are disconnected). ``default`` keeps its identity."""
        new_default = loaded.pop(DEFAULT, None) or default_user(True)
        self.default.copy_from(new_default)
        dropped = [u for name, u in self.users.items() if name != DEFAULT]
        self.users = {DEFAULT: self.default, **loaded}
        return dropped


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def user_line_error(argv: list[bytes], earlier: list[list[bytes]]) -> str | None:
    """ACLAppendUserForLoading's checks of a config ``user`` line (``argv`` from the name
    on), or None when valid: unknown commands pass, reported when the users load. The
    argument named in the error is picked as config.c does, by an index into the rules
    applied to the whole line (so it is often not the faulty rule)."""
    line = [b"user", *argv]
    if any(other[0] == argv[0] for other in earlier):
        return _declaration_error(line[1], errors.ACL_DUPLICATE_USER)
    try:
        ops = merge_selector_arguments(argv[1:])
    except ValueError as exc:
        return _declaration_error(line[argv[1:].index(exc.args[0])], errors.ACL_WRONG_FORMAT)
    probe = User(argv[0], False)
    for index, op in enumerate(ops):
        try:
            probe.apply(op, False)
        except RuleError as exc:
            if exc.reason != errors.ACL_UNKNOWN_COMMAND:
                return _declaration_error(line[index], exc.reason)
    return None


def _declaration_error(arg: bytes, reason: str) -> str:
    return "Error in user declaration '%s': %s" % (_text(arg), reason)
