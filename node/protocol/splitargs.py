"""Redis's ``sdssplitargs``: how an inline command line (and a config line) becomes words.

Byte for byte what Redis 7.0 does, which is not quite what the comment in sds.c says:
blanks between words are C ``isspace`` (space, \\t, \\n, \\v, \\f, \\r) but an unquoted
word ends only at space, \\t, \\n, \\r, so ``a\\vb`` is one word while ``\\va`` is ``a``;
the line is a C string, so a NUL byte ends it. In double quotes ``\\xHH`` is a byte and
``\\n \\r \\t \\b \\a`` are escapes (any other escaped byte is itself); in single quotes only
``\\'`` is. A closing quote must be followed by a blank or the end, and a quote left open
fails the whole line.
"""

from __future__ import annotations

import re

_BLANKS = b" \t\n\v\f\r"  # C isspace
_WORD_ENDS = b" \n\r\t"  # the unquoted word's terminators in sdssplitargs' switch
_ESCAPES = {110: 10, 114: 13, 116: 9, 98: 8, 97: 7}  # n r t b a
# A line with none of these splits like bytes.split() (whose whitespace is C isspace).
_PLAIN = re.compile(rb"[^\"'\x00\x0b\x0c]*").fullmatch
# Runs of bytes taken as they are: outside quotes, in double quotes, in single quotes
# (a 64 KB line costs 5 ms byte by byte in Python, a few runs cost microseconds).
_RUN = {0: re.compile(rb"[^ \n\r\t\"']+").match, 34: re.compile(rb'[^"\\]+').match,
        39: re.compile(rb"[^'\\]+").match}


def split_args(line: bytes) -> list[bytes] | None:
    """The words of ``line``, or None for unbalanced quotes (or a closing quote followed
    by something other than a blank)."""
    if _PLAIN(line):
        return line.split()
    nul = line.find(b"\0")
    if nul >= 0:
        line = line[:nul]
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _BLANKS:
            i += 1
        if i >= n:
            return args
        word = bytearray()
        quote = 0  # the open quote's byte, 0 outside quotes
        while True:
            if i >= n:
                if quote:
                    return None
                break
            run = _RUN[quote](line, i)
            if run is not None:
                word += run.group()
                i = run.end()
                continue
            ch = line[i]
            if quote == 34:
                if ch == 92 and i + 3 < n and line[i + 1] == 120 and _is_hex(line[i + 2]) \
                        and _is_hex(line[i + 3]):
                    word.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif ch == 92 and i + 1 < n:
                    i += 1
                    word.append(_ESCAPES.get(line[i], line[i]))
                elif ch == 34:
                    if i + 1 < n and line[i + 1] not in _BLANKS:
                        return None
                    i += 1
                    break
                else:
                    word.append(ch)
            elif quote == 39:
                if ch == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    word.append(39)
                elif ch == 39:
                    if i + 1 < n and line[i + 1] not in _BLANKS:
                        return None
                    i += 1
                    break
                else:
                    word.append(ch)
            elif ch in _WORD_ENDS:
                i += 1
                break
            elif ch == 34 or ch == 39:
                quote = ch
            else:
                word.append(ch)
            i += 1
        args.append(bytes(word))


def _is_hex(ch: int) -> bool:
    return 48 <= ch <= 57 or 65 <= ch <= 70 or 97 <= ch <= 102
