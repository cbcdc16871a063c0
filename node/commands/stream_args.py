"""Stream arguments as t_stream.c parses them: IDs (strict or not, ``ms-*``, ``(`` bounds),
trimming options (MAXLEN/MINID with = or ~, LIMIT), and the entry replies they select.

Redis copies an argument into a C string before parsing it, so an ID or an option word
ends at its first NUL byte; that is kept.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..base import errors
from ..base.errors import CommandError
from ..protocol.request import strict_int
from ..types.stream import MASK64, MAX_ID, Stream, format_id
from .args import to_int

if TYPE_CHECKING:
    from .context import Client

_STRTOULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(\d+)")


def word(arg: bytes) -> bytes:
    """An option as strcasecmp sees it: up to a NUL byte, lower-cased."""
    if b"\0" in arg:
        arg = arg[:arg.index(b"\0")]
    return arg.lower()


def _string2ull(s: bytes) -> int | None:
    """string2ull: string2ll's integers if not negative, else what strtoull accepts."""
    value = strict_int(s) if len(s) <= 20 else None
    if value is not None and -(2**63) <= value < 2**63:
        return None if value < 0 else value
    m = _STRTOULL.fullmatch(s)
    if m is None:
        return None
    value = int(m[2])
    if value > MASK64:
        return None
    return (-value) & MASK64 if m[1] == b"-" else value


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False) -> int:
    """streamGenericParseIDOrReply: ``-`` and ``+`` (unless strict), ``ms`` or ``ms-seq``."""
    stream_id = _parse(arg, missing_seq, strict, False)
    if stream_id is None:
        raise CommandError(errors.STREAM_INVALID_ID)
    return stream_id[0]


def parse_add_id(arg: bytes) -> tuple[int, bool]:
    """XADD's explicit ID: (id, seq_given); ``ms-*`` leaves the sequence to XADD."""
    stream_id = _parse(arg, 0, True, True)
    if stream_id is None:
        raise CommandError(errors.STREAM_INVALID_ID)
    return stream_id


def _parse(arg: bytes, missing_seq: int, strict: bool,
           star: bool) -> tuple[int, bool] | None:
    if len(arg) > 127:
        return None
    if b"\0" in arg:
        arg = arg[:arg.index(b"\0")]
    if arg in (b"-", b"+"):
        if strict:
            return None
        return (0 if arg == b"-" else MAX_ID), True
    ms_part, dash, seq_part = arg.partition(b"-")
    ms = _string2ull(ms_part)
    if ms is None:
        return None
    if not dash:
        return ms << 64 | missing_seq, True
    if star and seq_part == b"*":
        return ms << 64, False
    seq = _string2ull(seq_part)
    if seq is None:
        return None
    return ms << 64 | seq, True


def parse_interval(arg: bytes, missing_seq: int) -> tuple[int, bool]:
    """streamParseIntervalIDOrReply: (id, exclusive) for ``(id`` bounds."""
    if len(arg) > 1 and arg[0] == 0x28:
        return parse_id(arg[1:], missing_seq, strict=True), True
    return parse_id(arg, missing_seq), False


def range_bounds(start_arg: bytes, end_arg: bytes) -> tuple[int, int]:
    """XRANGE-style bounds made inclusive; ``(`` past the ends is an error."""
    start, exclusive = parse_interval(start_arg, 0)
    if exclusive:
        if start == MAX_ID:
            raise CommandError(errors.STREAM_INVALID_START)
        start += 1
    end, exclusive = parse_interval(end_arg, MASK64)
    if exclusive:
        if end == 0:
            raise CommandError(errors.STREAM_INVALID_END)
        end -= 1
    return start, end


class TrimArgs:
    """streamAddTrimArgs: what XADD and XTRIM parsed."""

    __slots__ = ("maxlen", "minid", "approx", "limit", "arg_index", "no_mkstream",
                 "id", "id_given", "seq_given", "strategy")

    def __init__(self) -> None:
        self.strategy = ""  # "", "maxlen" or "minid"
        self.maxlen = 0
        self.minid = 0
        self.approx = False
        self.limit = 0
        self.arg_index = 0
        self.no_mkstream = False
        self.id = 0
        self.id_given = False
        self.seq_given = True


def parse_trim(c: Client, argv: list[bytes], xadd: bool) -> tuple[TrimArgs, int]:
    """streamParseAddOrTrimArgsOrReply: the options, and where XADD's ID is."""
    args = TrimArgs()
    limit_given = False
    i = 2
    argc = len(argv)
    while i < argc:
        arg = argv[i]
        if xadd and arg[:1] == b"*" and (len(arg) == 1 or arg[1] == 0):
            break
        more = argc - 1 - i
        opt = word(arg)
        if opt in (b"maxlen", b"minid") and more:
            if args.strategy:
                raise CommandError(errors.STREAM_TRIM_BOTH)
            args.approx = False
            following = argv[i + 1]
            if more >= 2 and following[:1] == b"~" and (len(following) == 1 or following[1] == 0):
                args.approx = True
                i += 1
            elif more >= 2 and following[:1] == b"=" and (len(following) == 1
                                                          or following[1] == 0):
                i += 1
            if opt == b"maxlen":
                args.maxlen = to_int(argv[i + 1])
                if args.maxlen < 0:
                    raise CommandError(errors.STREAM_MAXLEN_NEGATIVE)
            else:
                args.minid = parse_id(argv[i + 1], strict=True)
            i += 1
            args.strategy = opt.decode()
            args.arg_index = i
        elif opt == b"limit" and more:
            args.limit = to_int(argv[i + 1])
            if args.limit < 0:
                raise CommandError(errors.STREAM_LIMIT_NEGATIVE)
            limit_given = True
            i += 1
        elif xadd and opt == b"nomkstream":
            args.no_mkstream = True
        elif xadd:
            args.id, args.seq_given = parse_add_id(arg)
            args.id_given = True
            break
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if args.limit and not args.strategy:
        raise CommandError(errors.STREAM_LIMIT_NO_STRATEGY)
    if not xadd and not args.strategy:
        raise CommandError(errors.STREAM_XTRIM_NO_STRATEGY)
    if c.is_master:
        args.limit = 0
    elif limit_given:
        if not args.approx:
            raise CommandError(errors.STREAM_LIMIT_NOT_APPROX)
    elif args.approx:
        limit = 100 * c.server.config["stream-node-max-entries"]
        args.limit = 10000 if limit <= 0 else min(limit, 1000000)
    else:
        args.limit = 0
    return args, i


def trim(s: Stream, args: TrimArgs) -> int:
    return s.trim(args.maxlen if args.strategy == "maxlen" else None, args.minid,
                  args.approx, args.limit)


def exact_trim_argv(argv: list[bytes], s: Stream, args: TrimArgs) -> list[bytes]:
    """streamRewriteApproxSpecifier + streamRewriteTrimArgument: ``~`` becomes ``=`` and
    the threshold what the trim left, so a replica trims exactly the same entries."""
    argv = list(argv)
    argv[args.arg_index - 1] = b"="
    if args.strategy == "maxlen":
        argv[args.arg_index] = b"%d" % s.length
    else:
        argv[args.arg_index] = format_id(s.edge_id(True, tombstones=True))
    return argv
