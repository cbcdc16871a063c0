"""The classes of keyspace events and their letters in ``notify-keyspace-events``
(notify.c keyspaceEventsStringToFlags / keyspaceEventsFlagsToString).

Here, below the keyspace, because the configuration parses and shows the directive.
"""

from __future__ import annotations

from typing import Final

# Final: compiled modules use these as constants (a module-level name is otherwise looked
# up by name at each use: NOTIFY_STRING twice per SET).
NOTIFY_KEYSPACE: Final = 1 << 0   # K
NOTIFY_KEYEVENT: Final = 1 << 1   # E
NOTIFY_GENERIC: Final = 1 << 2    # g
NOTIFY_STRING: Final = 1 << 3     # $
NOTIFY_LIST: Final = 1 << 4       # l
NOTIFY_SET: Final = 1 << 5        # s
NOTIFY_HASH: Final = 1 << 6       # h
NOTIFY_ZSET: Final = 1 << 7       # z
NOTIFY_EXPIRED: Final = 1 << 8    # x
NOTIFY_EVICTED: Final = 1 << 9    # e
NOTIFY_STREAM: Final = 1 << 10    # t
NOTIFY_KEY_MISS: Final = 1 << 11  # m (not part of A, as in Redis)
NOTIFY_LOADED: Final = 1 << 12    # modules only
NOTIFY_MODULE: Final = 1 << 13    # d
NOTIFY_NEW: Final = 1 << 14       # n (not part of A)
NOTIFY_ALL: Final = (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH
                     | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

_LETTERS = {
    "A": NOTIFY_ALL, "g": NOTIFY_GENERIC, "$": NOTIFY_STRING, "l": NOTIFY_LIST,
    "s": NOTIFY_SET, "h": NOTIFY_HASH, "z": NOTIFY_ZSET, "x": NOTIFY_EXPIRED,
    "e": NOTIFY_EVICTED, "K": NOTIFY_KEYSPACE, "E": NOTIFY_KEYEVENT, "t": NOTIFY_STREAM,
    "m": NOTIFY_KEY_MISS, "d": NOTIFY_MODULE, "n": NOTIFY_NEW,
}
# keyspaceEventsFlagsToString's order: classes (or A), then K, E, m.
_CLASS_ORDER = "g$lshzxetdn"
_TAIL_ORDER = "KEm"


def flags_from_string(classes: str) -> int:
    """keyspaceEventsStringToFlags: the flags, or -1 if a letter names no class."""
    flags = 0
    for letter in classes:
        if letter == "\0":  # read as a C string
            break
        flag = _LETTERS.get(letter)
        if flag is None:
            return -1
        flags |= flag
    return flags


def flags_to_string(flags: int) -> str:
    """keyspaceEventsFlagsToString: what CONFIG GET notify-keyspace-events shows."""
    if flags & NOTIFY_ALL == NOTIFY_ALL:
        out = ["A"]  # n is not shown beside A (Redis drops it there too)
    else:
        out = [c for c in _CLASS_ORDER if flags & _LETTERS[c]]
    out += [c for c in _TAIL_ORDER if flags & _LETTERS[c]]
    return "".join(out)
