"""Request parsing: RESP multibulk and inline commands, with Redis's limits and error texts.

The rules are Redis's ``processMultibulkBuffer`` and ``processInlineBuffer`` (7.0), state
for state, so that one client cannot stall or blow up the node and every malformed frame
gets Redis's answer:

* a request starting with ``*`` is a multibulk, anything else an inline line;
* counts and lengths are parsed as strictly as ``string2ll`` (no sign but '-', no leading
  zeros, at most 20 characters, within 64 bits); a count above 2**31-1, or a bulk length
  below 0 or above ``proto-max-bulk-len``, is a protocol error;
* nothing is allocated for a header: ``*2147483647`` only records that many arguments are
  to come and ``$536870912`` that many bytes; arguments are kept as they arrive (the
  parser never goes back over them), and a bulk's bytes are only looked at once they are
  all there. ``client-query-buffer-limit`` (server/client.py) bounds the unparsed rest;
* lines are found as ``strchr`` finds them in the NUL-terminated query buffer: a NUL
  before the ``\\r`` of a header or the ``\\n`` of an inline line means "no line yet", so
  such a request waits until the 64 KB inline limit refuses it, as in Redis;
* the two bytes after a header's ``\\r`` and after a bulk are skipped unchecked.

Canonical multibulk requests (``*N``, then ``$len`` and the bytes of every argument, each
line ending in ``\\r\\n``) are parsed in C (``_resp.c``) when it is built, many at a time:
wherever a request starts, ``_parse`` hands the rest of the read to it, and it returns at
the first request it does not take whole (anything else, or one not all there), which is
parsed here. Without the extension, or under ``REDSLOT_PURE_PYTHON=1``, hiredis takes
a read of whole canonical requests (fastpath.py) and everything else is parsed here, with
the same results (tests/node/test_request_canonical.py, test_protocol.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

import hiredis

from ..base import errors
from ..base.compiled import extension
from .fastpath import parse_whole
from .splitargs import split_args

# Final: compiled code uses them as constants (other module-level names it looks up by
# name at each use).
INLINE_MAX_SIZE: Final = 64 * 1024  # PROTO_INLINE_MAX_SIZE
MAX_MULTIBULK: Final = 2**31 - 1  # INT_MAX
UNAUTH_MAX_MULTIBULK: Final = 10
UNAUTH_MAX_BULK: Final = 16384
_LLONG_MIN, _LLONG_MAX = -(2**63), 2**63 - 1

_resp = extension("protocol._resp")
# parse(data, pos, commands, max_args, max_bulk) -> the offset after the whole canonical
# requests from pos on, appended to commands (_resp.c); None: the exact parser does all.
CanonicalParser = Callable[[bytes, int, list[list[bytes]], int, int], int]
_canonical: CanonicalParser | None = None if _resp is None else _resp.parse


def share_command_names(names: Iterable[bytes]) -> None:
    """Make a request's first argument equal to one of ``names`` (the command index's
    keys) that very object, whose hash is cached: the command lookup then hashes nothing."""
    if _resp is not None:
        _resp.share_names(names)


def strict_int(data: bytes | bytearray) -> int | None:
    """Redis's ``string2ll``: optional '-', digits, no leading zeros, no spaces or '+'."""
    if data.isdigit():
        if len(data) > 1 and data[0] == 48:
            return None
        return int(data)
    if data[:1] == b"-" and data[1:].isdigit() and data[1:2] != b"0":
        return int(data)
    return None


def _header_int(data: bytes) -> int | None:
    """string2ll for a count or a length: also within 64 bits and shorter than 21."""
    if len(data) > 20:
        return None
    value = strict_int(data)
    if value is None or not _LLONG_MIN <= value <= _LLONG_MAX:
        return None
    return value


def _line_end(buf: bytes, pos: int, char: bytes) -> int:
    """``strchr(buf + pos, char)`` in a NUL-terminated buffer: -1 if a NUL comes first."""
    end = buf.find(char, pos)
    if end >= 0 and buf.find(b"\0", pos, end) >= 0:
        return -1
    return end


class RequestParser:
    """Incremental parser for one connection.

    ``feed`` returns the complete requests found so far. After a malformed request
    ``error`` holds the text for ``-ERR Protocol error: <text>`` and nothing more is parsed.
    Between feeds it keeps Redis's state: the unparsed bytes, the arguments of the
    multibulk being read, how many are still to come and the length of the bulk being read.
    """

    __slots__ = ("_pending", "_need", "_canonical", "_reader", "_args", "_left", "_bulk",
                 "_partial", "error", "deferred", "auth_required", "max_bulk_len")

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024, exact_only: bool = False) -> None:
        """``exact_only``: neither C path, _resp's nor hiredis's (the tests' reference)."""
        self._pending = bytearray()
        self._need = 0  # bytes _pending must hold before parsing can go on
        self._canonical = None if exact_only else _canonical
        self._reader = None if exact_only or _canonical is not None else hiredis.Reader()
        self._args: list[bytes] = []
        self._left = 0  # arguments still to come (Redis's multibulklen); 0 between requests
        self._bulk = -1  # length of the bulk being read (bulklen), -1 before its header
        self._partial = 0  # bytes of the incomplete request already parsed into _args
        self.error: str | None = None
        self.deferred = False
        self.auth_required = False
        self.max_bulk_len = max_bulk_len

    @property
    def buffered(self) -> int:
        """Bytes received but not yet parsed into a whole request (the query buffer).

        With the bytes of the incomplete request's arguments parsed so far: a replica
        relays, and counts as applied, only whole requests (replica_link.py), and the
        query buffer limit bounds them too (Redis does not count them there, but its
        arguments are 16 bytes smaller each than Python's)."""
        return len(self._pending) + self._partial

    @property
    def free(self) -> int:
        """Room the query buffer has allocated past its content (CLIENT LIST qbuf-free).
        It never keeps more: once parsed it is released, which is Redis's shrinking."""
        return max(self._pending.__alloc__() - len(self._pending) - 1, 0)

    def head(self, size: int) -> bytes:
        """The first ``size`` unparsed bytes (for the query buffer limit's log line)."""
        return bytes(self._pending[:size])

    def feed(self, data: bytes) -> list[list[bytes]]:
        """The requests completed by ``data``.

        An unauthenticated client's header past the unauthenticated limits stops parsing
        (``deferred``) when requests before it are returned: Redis runs those first, and
        one may be the AUTH that lifts the limits. Once they have run, ``feed(b"")``
        goes on, and refuses the header if the client is still unauthenticated."""
        self.deferred = False
        if self.error:  # not "is not None": that narrows it to None below, past _parse's _fail
            return []
        commands: list[list[bytes]] = []
        pos = 0
        canonical = self._canonical
        if canonical is not None and not self._pending and not self._left and not self.auth_required:
            # A read starting at a request, as nearly every read does: _parse's set-up
            # only when the C parser stops short of its end.
            pos = canonical(data, 0, commands, MAX_MULTIBULK, self.max_bulk_len)
            if pos == len(data):
                return commands
        elif (self._reader is not None and not self._pending and not self._left
                and data[:1] == b"*" and not self.auth_required and len(data) <= self.max_bulk_len):
            whole = parse_whole(self._reader, data)
            if whole is not None:
                return whole
            self._reader = hiredis.Reader()
        if self._pending:
            self._pending += data
            if len(self._pending) < self._need:
                return []
            data = bytes(self._pending)
            self._pending.clear()
        pos = self._parse(data, commands, pos)
        if pos < len(data) and self.error is None:
            self._pending += data[pos:] if pos else data
        return commands

    def _fail(self, text: str) -> int:
        self.error = text
        self._args = []
        return 0

    def _parse(self, buf: bytes, commands: list[list[bytes]], pos: int = 0) -> int:
        """Parse requests from ``buf[pos:]``; return the offset of the first unparsed byte."""
        n = len(buf)
        self._need = 0
        left, bulk, args = self._left, self._bulk, self._args
        partial, start = self._partial, 0  # the incomplete request: parsed before, start
        canonical = self._canonical
        if self.auth_required:
            max_args, max_bulk = UNAUTH_MAX_MULTIBULK, min(UNAUTH_MAX_BULK, self.max_bulk_len)
        else:
            max_args, max_bulk = MAX_MULTIBULK, self.max_bulk_len
        while pos < n:
            if not left:
                if canonical is not None and buf[pos] == 42:
                    pos = canonical(buf, pos, commands, max_args, max_bulk)
                    if pos == n:
                        break
                if buf[pos] != 42:  # not '*': an inline command
                    nl = _line_end(buf, pos, b"\n")
                    if nl < 0:
                        if n - pos > INLINE_MAX_SIZE:
                            return self._fail(errors.PROTO_TOO_BIG_INLINE)
                        break
                    end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
                    line = split_args(buf[pos:end])
                    if line is None:
                        return self._fail(errors.PROTO_UNBALANCED)
                    pos = nl + 1
                    if line:
                        commands.append(line)
                    continue
                cr = _line_end(buf, pos, b"\r")
                if cr < 0:
                    if n - pos > INLINE_MAX_SIZE:
                        return self._fail(errors.PROTO_TOO_BIG_MBULK)
                    break
                if cr > n - 2:
                    break
                count = _header_int(buf[pos + 1:cr])
                if count is None or count > MAX_MULTIBULK:
                    return self._fail(errors.PROTO_MBULK_LEN)
                if count > UNAUTH_MAX_MULTIBULK and self.auth_required:
                    if commands:
                        self.deferred = True
                        break
                    return self._fail(errors.PROTO_UNAUTH_MBULK)
                if count <= 0:
                    pos = cr + 2
                    continue
                start, partial = pos, 0
                pos = cr + 2
                left = count
                args = []
            while left:
                if bulk < 0:
                    cr = _line_end(buf, pos, b"\r")
                    if cr < 0:
                        if n - pos > INLINE_MAX_SIZE:
                            return self._fail(errors.PROTO_TOO_BIG_BULK)
                        break
                    if cr > n - 2:
                        break
                    if buf[pos] != 36:  # '$'
                        got = buf[pos:pos + 1].decode("utf-8", "surrogateescape")
                        return self._fail(errors.PROTO_EXPECTED_DOLLAR % got)
                    size = _header_int(buf[pos + 1:cr])
                    if size is None or size < 0 or size > self.max_bulk_len:
                        return self._fail(errors.PROTO_BULK_LEN)
                    if size > UNAUTH_MAX_BULK and self.auth_required:
                        if commands:
                            self.deferred = True
                            break
                        return self._fail(errors.PROTO_UNAUTH_BULK)
                    pos = cr + 2
                    bulk = size
                end = pos + bulk
                if end + 2 > n:
                    self._need = end + 2 - pos
                    break
                args.append(buf[pos:end])
                pos = end + 2
                bulk = -1
                left -= 1
            if left:
                break
            commands.append(args)
            args = []
        self._left, self._bulk, self._args = left, bulk, args
        self._partial = partial + pos - start if left else 0
        return pos
