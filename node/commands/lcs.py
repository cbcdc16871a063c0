"""LCS: the longest common subsequence of two strings, with Redis's reply shapes.

Redis fills a full (alen+1) x (blen+1) table; in Python that is far too slow, so each table
row is kept as one bit-vector (Hyyro's bit-parallel LCS): bit j of row i is 0 exactly when
LCS(i, j+1) = LCS(i, j) + 1, so LCS(i, j) is j minus the ones among the low j bits. The
walk back through the table is Redis's, step for step, so ties and the emitted ranges match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..table.command import command
from ..types.registry import STRING_TYPES
from .args import to_int

if TYPE_CHECKING:
    from .context import Client

_UINT32_MAX = 2**32 - 1


def lcs_rows(a: bytes, b: bytes) -> list[int]:
    """The bit-vector of every table row 0..len(a)."""
    blen = len(b)
    full = (1 << blen) - 1
    rev = b[::-1]
    masks: dict[int, int] = {}
    for ch in set(b):
        table = bytearray(b"0" * 256)
        table[ch] = ord("1")
        masks[ch] = int(rev.translate(table), 2)
    rows = [full]
    v = full
    for ch in a:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
        rows.append(v)
    return rows


def _parse_options(argv: list[bytes]) -> tuple[bool, bool, bool, int]:
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"idx":
            getidx = True
        elif opt == b"len":
            getlen = True
        elif opt == b"withmatchlen":
            withmatchlen = True
        elif opt == b"minmatchlen" and j + 1 < len(argv):
            minmatchlen = max(to_int(argv[j + 1]), 0)
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return getlen, getidx, withmatchlen, minmatchlen


@command("lcs")
def lcs(c: Client, argv: list[bytes]) -> Any:
    db = c.db
    obja = db.lookup_read(argv[1])
    objb = db.lookup_read(argv[2])
    if (obja is not None and obja.__class__ not in STRING_TYPES) or \
            (objb is not None and objb.__class__ not in STRING_TYPES):
        raise CommandError(errors.LCS_NOT_STRINGS)
    a = bytes(obja) if obja is not None else b""
    b = bytes(objb) if objb is not None else b""
    getlen, getidx, withmatchlen, minmatchlen = _parse_options(argv)
    if getlen and getidx:
        raise CommandError(errors.LCS_LEN_AND_IDX)
    alen, blen = len(a), len(b)
    if alen >= _UINT32_MAX - 1 or blen >= _UINT32_MAX - 1:
        raise CommandError(errors.LCS_TOO_LONG)
    if (alen + 1) * (blen + 1) * 4 > c.server.config["proto-max-bulk-len"]:
        raise CommandError(errors.LCS_TOO_MUCH_MEMORY)
    rows = lcs_rows(a, b)
    total = blen - rows[alen].bit_count()
    if getlen:
        return total

    def table(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    result = bytearray(total)
    matches: list[list[Any]] = []
    idx = total
    arange_start, arange_end, brange_start, brange_end = alen, 0, 0, 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if arange_start == alen:
                arange_start = arange_end = i - 1
                brange_start = brange_end = j - 1
            elif arange_start == i and brange_start == j:
                arange_start -= 1
                brange_start -= 1
            else:
                emit = True
            if arange_start == 0 or brange_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if table(i - 1, j) > table(i, j - 1):
                i -= 1
            else:
                j -= 1
            if arange_start != alen:
                emit = True
        if emit:
            match_len = arange_end - arange_start + 1
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                match: list[Any] = [[arange_start, arange_end], [brange_start, brange_end]]
                if withmatchlen:
                    match.append(match_len)
                matches.append(match)
            arange_start = alen
    if getidx:
        return {b"matches": matches, b"len": total}
    return bytes(result)
