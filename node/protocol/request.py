"""Request parsing: RESP multibulk and inline commands, with Redis's limits and error texts.

The rules follow Redis's ``processMultibulkBuffer`` and ``processInlineBuffer``: a request
starting with ``*`` is a multibulk, anything else is an inline command line; counts and
lengths are parsed as strictly as ``string2ll``; the two bytes after a bulk are skipped
unchecked.

Speed comes from hiredis (0.3 us a request against 2.6 us in Python, measured), but hiredis
does not say where a request ends and parses things Redis refuses (``+`` lines, nested
arrays, nulls). So hiredis takes a read only when it is plainly well formed: hiredis finds only
whole requests in it, and laying those requests out canonically (``*N``, then ``$len`` and
the bytes of every argument) lands on a ``*`` or ``$`` at every header and ends exactly at
the read's end. Any ``+``/``:`` line, nested array, null, RESP3 type or non-canonical length
breaks that walk. Anything else (inline commands, errors,
requests split across reads, unauthenticated clients) is parsed by the Python parser,
which is exact; since hiredis is only used on reads that start at a boundary, the Python
parser can always take over from the start of the read.
"""

from __future__ import annotations

import hiredis

from ..base import errors

INLINE_MAX_SIZE = 64 * 1024
MAX_MULTIBULK = 2**31 - 1


def strict_int(data: bytes) -> int | None:
    """Redis's ``string2ll``: optional '-', digits, no leading zeros, no spaces or '+'."""
    if data.isdigit():
        if len(data) > 1 and data[0] == 48:
            return None
        return int(data)
    if data[:1] == b"-" and data[1:].isdigit() and data[1:2] != b"0":
        return int(data)
    return None


def split_args(line: bytes) -> list[bytes] | None:
    """Redis's ``sdssplitargs``: split an inline command, honouring quotes and escapes.

    Returns None for unbalanced quotes (or a closing quote not followed by a space).
    """
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    return None
                ch = line[i]
                if (
                    ch == 92
                    and i + 3 < n
                    and line[i + 1] == 120
                    and _is_hex(line[i + 2])
                    and _is_hex(line[i + 3])
                ):
                    current.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif ch == 92 and i + 1 < n:
                    i += 1
                    current.append(_ESCAPES.get(line[i], line[i]))
                elif ch == 34:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    in_double = False
                    i += 1
                    break
                else:
                    current.append(ch)
            elif in_single:
                if i >= n:
                    return None
                ch = line[i]
                if ch == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    current.append(39)
                elif ch == 39:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    in_single = False
                    i += 1
                    break
                else:
                    current.append(ch)
            else:
                if i >= n:
                    break
                ch = line[i]
                if ch in b" \n\r\t\v\f":
                    break
                if ch == 34:
                    in_double = True
                elif ch == 39:
                    in_single = True
                else:
                    current.append(ch)
            i += 1
        args.append(bytes(current))


_ESCAPES = {110: 10, 114: 13, 116: 9, 98: 8, 97: 7}


def _is_hex(ch: int) -> bool:
    return 48 <= ch <= 57 or 65 <= ch <= 70 or 97 <= ch <= 102


class RequestParser:
    """Incremental parser for one connection.

    ``feed`` returns the complete requests found so far. After a malformed request
    ``error`` holds the text for ``-ERR Protocol error: <text>`` and nothing more is parsed.
    """

    __slots__ = ("_pending", "_need", "_reader", "error", "auth_required", "max_bulk_len")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024) -> None:
        self._pending = bytearray()
        self._need = 0
        self._reader = hiredis.Reader()
        self.error: str | None = None
        self.auth_required = False
        self.max_bulk_len = max_bulk_len

    @property
    def buffered(self) -> int:
        """Bytes received but not yet parsed into a request (the query buffer)."""
        return len(self._pending)

    @property
    def free(self) -> int:
        """Room the query buffer has allocated past its content (CLIENT LIST qbuf-free).
        It never keeps more: once parsed it is released, which is Redis's shrinking."""
        return max(self._pending.__alloc__() - len(self._pending) - 1, 0)

    def feed(self, data: bytes) -> list[list[bytes]]:
        if self.error is not None:
            return []
        if (not self._pending and data[:1] == b"*" and not self.auth_required
                and len(data) <= self.max_bulk_len):
            whole = _parse_with_hiredis(self._reader, data)
            if whole is not None:
                return whole
            self._reader = hiredis.Reader()
        if self._pending:
            self._pending += data
            if len(self._pending) < self._need:
                return []
            data = bytes(self._pending)
            self._pending.clear()
        commands: list[list[bytes]] = []
        pos = self._parse(data, commands)
        if pos < len(data):
            self._pending += data[pos:] if pos else data
        return commands

    def _parse(self, buf: bytes, commands: list[list[bytes]]) -> int:
        """Parse requests from ``buf``; return the offset of the first unparsed byte."""
        n = len(buf)
        pos = 0
        append = commands.append
        while pos < n:
            if buf[pos] != 42:  # not '*': an inline command
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    if n - pos > INLINE_MAX_SIZE:
                        self.error = errors.PROTO_TOO_BIG_INLINE
                    self._need = 0
                    return pos
                end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
                args = split_args(buf[pos:end])
                if args is None:
                    self.error = errors.PROTO_UNBALANCED
                    return n
                pos = nl + 1
                if args:
                    append(args)
                continue
            nl = buf.find(b"\r", pos)
            if nl < 0 or nl + 1 >= n:
                if n - pos > INLINE_MAX_SIZE:
                    self.error = errors.PROTO_TOO_BIG_MBULK
                self._need = 0
                return pos
            count = strict_int(buf[pos + 1 : nl])
            if count is None or count > MAX_MULTIBULK:
                self.error = errors.PROTO_MBULK_LEN
                return n
            if count > 10 and self.auth_required:
                self.error = errors.PROTO_UNAUTH_MBULK
                return n
            p = nl + 2
            if count <= 0:
                pos = p
                continue
            args = []
            for _ in range(count):
                if p >= n:
                    self._need = 0
                    return pos
                if buf[p] != 36:  # '$'
                    nl = buf.find(b"\r", p)
                    if nl < 0 and n - p <= INLINE_MAX_SIZE:
                        self._need = 0
                        return pos
                    self.error = errors.PROTO_EXPECTED_DOLLAR % chr(buf[p])
                    return n
                nl = buf.find(b"\r", p)
                if nl < 0 or nl + 1 >= n:
                    if n - p > INLINE_MAX_SIZE:
                        self.error = errors.PROTO_TOO_BIG_BULK
                    self._need = 0
                    return pos
                size = strict_int(buf[p + 1 : nl])
                if size is None or size < 0 or size > self.max_bulk_len:
                    self.error = errors.PROTO_BULK_LEN
                    return n
                if size > 16384 and self.auth_required:
                    self.error = errors.PROTO_UNAUTH_BULK
                    return n
                start = nl + 2
                p = start + size + 2
                if p > n:
                    self._need = p - pos
                    return pos
                args.append(buf[start : start + size])
            pos = p
            append(args)
        self._need = 0
        return pos


# Canonical encoded size of a multibulk header and of one bulk argument, by length.
_FAST_ARG_MAX = 16384
_MULTIBULK_SIZE = [len(b"*%d\r\n" % n) for n in range(1025)]
_ARG_SIZE = [len(b"$%d\r\n" % n) + n + 2 for n in range(_FAST_ARG_MAX)]


def _parse_with_hiredis(reader: hiredis.Reader, data: bytes) -> list[list[bytes]] | None:
    """All requests of ``data`` if it holds only whole, canonical multibulks; else None.

    Walking the canonical offsets checks that every request starts with ``*`` and every
    argument with ``$`` at exactly the size hiredis found, so nothing else can pass.
    ``reader`` must be empty; it is empty again on success and must be dropped on None.
    """
    reader.feed(data)
    commands = []
    pos = 0
    try:
        while (request := reader.gets()) is not False:
            if request is None or data[pos] != 42:
                return None
            pos += _MULTIBULK_SIZE[len(request)]
            for arg in request:
                if data[pos] != 36:
                    return None
                pos += _ARG_SIZE[len(arg)]
            if request:
                commands.append(request)
    except (hiredis.ProtocolError, TypeError, IndexError):
        return None
    if pos != len(data) or reader.has_data():
        return None
    return commands
