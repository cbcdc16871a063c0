"""The sparse HyperLogLog encoding (hyperloglog.c), edited in place as Redis edits it.

After the 16-byte header come opcodes, each covering a run of registers: ZERO
(``00xxxxxx``, 1..64 zero registers), XZERO (``01xxxxxx xxxxxxxx``, 1..16384 zero
registers) and VAL (``1vvvvvxx``, 1..4 registers of value 1..32). Redis edits this run
list in place (split an opcode, then merge equal neighbours within a window of five), so
its bytes depend on the order registers were set in: ``sparse_set`` follows
hllSparseSet step by step, so that a value built here is byte-identical to one built by
redis-server, including the point where it turns dense (a register above 32, or a
string longer than hll-sparse-max-bytes).

A malformed value reads as Redis reads it: the byte past the end is the sds's NUL
terminator, and a run list that does not cover exactly 16384 registers is invalid.
"""

from __future__ import annotations

import re
from collections import Counter

from .hyperloglog import DENSE, HEADER_SIZE, REGISTERS, dense_set, invalidate, pack
from .typeinfo import SdsString

_VAL_MAX_VALUE = 32
_VAL_MAX_LEN = 4
_ZERO_MAX_LEN = 64
# What one byte spans as a ZERO or VAL opcode; 0 for an XZERO's first byte.
_SPANS = bytes(b + 1 if b < 0x40 else 0 if b < 0x80 else (b & 3) + 1 for b in range(256))
_SPAN_LIST = list(_SPANS)
_ZERO_SPANS = bytes(b + 1 if b < 0x40 else 0 for b in range(256))
_NOT_VAL = bytes(range(0x80))
_ONE_BYTE_OPCODES = bytes(b for b in range(256) if not 0x40 <= b < 0x80)
_LOW_6_BITS = bytes(b & 0x3F for b in range(256))
_XZERO = re.compile(rb"[\x40-\x7f].", re.DOTALL)
_WINDOW = 96  # bytes _locate sums at once
# The registers a VAL opcode byte stands for, by byte.
_RUNS = {b: bytes((((b >> 2) & 31) + 1,)) * ((b & 3) + 1) for b in range(0x80, 0x100)}


def runs(value: bytes | bytearray) -> tuple[list[tuple[int, int]], int]:
    """The VAL opcodes as (first register, opcode byte), and the registers covered.

    The value is valid only if they are exactly 16384: since the fix of CVE-2025-32023
    (in Debian's 7.0.15 too) an opcode running past the last register makes it invalid,
    even after a full count."""
    vals: list[tuple[int, int]] = []
    idx = 0
    pos = HEADER_SIZE
    end = len(value)
    while pos < end:
        b = value[pos]
        if b < 0x40:
            idx += b + 1
            pos += 1
        elif b < 0x80:
            idx += ((b & 0x3F) << 8 | (value[pos + 1] if pos + 1 < end else 0)) + 1
            pos += 2
        else:
            vals.append((idx, b))
            idx += (b & 3) + 1
            pos += 1
    return vals, idx


def sparse_raw(value: bytes | bytearray) -> int | None:
    """The raw registers (hyperloglog.unpack's form) as hllSparseToDense and hllMerge
    read them, or None if the value is invalid."""
    vals, covered = runs(value)
    if covered != REGISTERS:
        return None
    raw = bytearray(REGISTERS)
    for start, b in vals:
        raw[start:start + (b & 3) + 1] = _RUNS[b]
    return int.from_bytes(raw, "little")


def sparse_histogram(value: bytes | bytearray) -> list[int] | None:
    """hllSparseRegHisto: the register histogram, or None for an invalid run list.

    Counted without walking the opcodes: the XZERO pairs are cut out with a regex (a
    scan from an opcode boundary splits them exactly as the opcodes do), then the spans
    of what is left, one-byte opcodes, are summed and counted by byte at C speed."""
    pairs = _XZERO.findall(value, HEADER_SIZE)
    rest = _XZERO.sub(b"", memoryview(value)[HEADER_SIZE:])
    covered = 0
    if pairs:
        xzeros = b"".join(pairs)
        covered = (sum(xzeros[0::2].translate(_LOW_6_BITS)) << 8) + sum(xzeros[1::2]) + len(pairs)
    if rest and 0x40 <= rest[-1] < 0x80:  # an XZERO cut short: its low byte is the NUL
        covered += ((rest[-1] & 0x3F) << 8) + 1
        rest = rest[:-1]
    covered += sum(rest.translate(_ZERO_SPANS))
    histo = [0] * 64
    nonzero = 0
    for b, n in Counter(rest.translate(None, _NOT_VAL)).items():
        length = ((b & 3) + 1) * n
        histo[((b >> 2) & 31) + 1] += length
        nonzero += length
    if covered + nonzero != REGISTERS:
        return None
    histo[0] = REGISTERS - nonzero
    return histo


def to_dense(value: SdsString) -> bool:
    """hllSparseToDense, in place: the header is kept (cached cardinality included) and the
    string becomes a fresh exact-size sds. False (value untouched) if it was invalid."""
    if value[4] == DENSE:
        return True
    raw = sparse_raw(value)
    if raw is None:
        return False
    header = value[:HEADER_SIZE]
    header[4] = DENSE
    value[:] = header + pack(raw)
    value.made_raw()
    return True


class Cursor:
    """Where ``sparse_set`` may start scanning: an opcode's offset, the first register it
    covers and the offset of the opcode before it (-1 for none). Redis scans from the
    start every time; an edit changes nothing before the opcode preceding the one edited,
    so when registers are set in increasing order (PFMERGE) resuming at that opcode finds
    what a scan from the start would (and when it is unknown, the cursor goes back to the
    start)."""

    __slots__ = ("pos", "first", "prev")

    def __init__(self) -> None:
        self.pos = HEADER_SIZE
        self.first = 0
        self.prev = -1


def sparse_set(value: SdsString, index: int, count: int, max_bytes: int,
               cursor: Cursor | None = None) -> int:
    """hllSparseSet: raise register ``index`` to ``count``. 1 if it changed (the value may
    have turned dense), 0 if not, -1 if the value is invalid."""
    if count > _VAL_MAX_VALUE:
        return _promote(value, index, count)
    value.make_room(len(value) + 3)
    end = len(value)
    if cursor is None:
        found = _locate(value, index, HEADER_SIZE, 0, -1)
    else:
        found = _locate(value, index, cursor.pos, cursor.first, cursor.prev)
    if found is None:
        return -1
    p, first, span, prev, prev_first, pprev = found
    oplen = 2 if 0x40 <= value[p] < 0x80 else 1
    if cursor is not None:  # the opcodes before prev stay as they are
        if prev_first >= 0:
            cursor.pos, cursor.first, cursor.prev = prev, prev_first, pprev
        else:
            cursor.pos, cursor.first, cursor.prev = HEADER_SIZE, 0, -1

    b = value[p]
    is_val = b >= 0x80
    if is_val:
        old = ((b >> 2) & 31) + 1
        if old >= count:
            return 0
        if span == 1:
            value[p] = ((count - 1) << 2) | 0x80
            _merge_values(value, prev, end)
            return 1
    elif b < 0x40 and span == 1:
        value[p] = ((count - 1) << 2) | 0x80
        _merge_values(value, prev, end)
        return 1

    seq = bytearray()
    last = first + span - 1
    if not is_val:
        if index != first:
            _zeros(seq, index - first)
        seq.append(((count - 1) << 2) | 0x80)
        if index != last:
            _zeros(seq, last - index)
    else:
        current = (b >> 2) & 31
        if index != first:
            seq.append((current << 2) | (index - first - 1) | 0x80)
        seq.append(((count - 1) << 2) | 0x80)
        if index != last:
            seq.append((current << 2) | (last - index - 1) | 0x80)
    delta = len(seq) - oplen
    if delta > 0 and end + delta > max_bytes:
        return _promote(value, index, count)
    value[p:p + oplen] = seq
    end += delta
    if len(value) > end:  # an XZERO cut short by the end of the string
        del value[end:]
    _merge_values(value, prev, end)
    return 1


def _locate(value: bytearray, index: int, p: int, first: int,
            prev: int) -> tuple[int, int, int, int, int, int] | None:
    """Step 1 of hllSparseSet: find the opcode covering register ``index``, scanning from
    the opcode at ``p`` (covering from register ``first``, after the one at ``prev``).

    Gives that opcode's offset, first register and span, and the two opcodes before it
    (the previous one with its first register, -1 for none met in this scan), or None
    when no opcode covers the register. The scan sums a window of bytes at a time at C
    speed (the XZERO pairs cut out by regex, as in ``sparse_histogram``) and walks opcode
    by opcode only the window holding the register: a sparse value of 3000 bytes is a
    few dozen steps instead of thousands."""
    end = len(value)
    skipped = -1  # the last window summed: its last two opcodes are found only if needed
    skipped_first = 0
    while end - p >= _WINDOW:
        cut = p + _WINDOW
        window = bytes(value[p:cut])
        if window.translate(None, _ONE_BYTE_OPCODES):  # XZERO opcodes in the window
            window = _XZERO.sub(b"", window)
            if 0x40 <= window[-1] < 0x80:  # an XZERO split by the window's end
                cut -= 1
                window = window[:-1]
            pairs = _XZERO.findall(value, p, cut)
            xzeros = b"".join(pairs)
            total = ((sum(xzeros[0::2].translate(_LOW_6_BITS)) << 8) + sum(xzeros[1::2])
                     + len(pairs) + sum(window.translate(_SPANS)))
        else:
            total = sum(window.translate(_SPANS))
        if first + total > index:
            break
        skipped, skipped_first = p, first
        p = cut
        first += total
    start = p
    prev_first = pprev = -1
    spans = _SPAN_LIST
    while p < end:
        span = spans[value[p]]
        oplen = 1
        if not span:  # XZERO
            span = ((value[p] & 0x3F) << 8 | (value[p + 1] if p + 1 < end else 0)) + 1
            oplen = 2
        if index < first + span:
            if skipped >= 0 and pprev < start:  # the opcodes before the walk are needed
                q, qfirst = skipped, skipped_first
                before = [(-1, -1)] * 2
                while q < start:
                    before = [before[1], (q, qfirst)]
                    b = value[q]
                    qfirst += ((b & 0x3F) << 8 | value[q + 1]) + 1 if 0x40 <= b < 0x80 else _SPANS[b]
                    q += 2 if 0x40 <= b < 0x80 else 1
                if p == start:
                    (pprev, _), (prev, prev_first) = before
                else:
                    pprev = before[1][0]
            return p, first, span, prev, prev_first, pprev
        pprev, prev, prev_first = prev, p, first
        p += oplen
        first += span
    return None


def _zeros(seq: bytearray, length: int) -> None:
    if length > _ZERO_MAX_LEN:
        length -= 1
        seq.append((length >> 8) | 0x40)
        seq.append(length & 0xFF)
    else:
        seq.append(length - 1)


def _merge_values(value: SdsString, prev: int, end: int) -> None:
    """Step 4 of hllSparseSet: merge adjacent equal VAL opcodes within five opcodes from
    the one before the edit; then the cached cardinality is stale."""
    p = prev if prev >= 0 else HEADER_SIZE
    scan = 5
    while p < end and scan:
        scan -= 1
        b = value[p]
        if b < 0x80:
            p += 1 if b < 0x40 else 2
            continue
        if p + 1 < end:
            nb = value[p + 1]
            if nb >= 0x80 and (b ^ nb) & 0x7C == 0:
                length = (b & 3) + (nb & 3) + 2
                if length <= _VAL_MAX_LEN:
                    value[p + 1] = (b & 0x7C) | (length - 1) | 0x80
                    del value[p]
                    end -= 1
                    continue
        p += 1
    invalidate(value)


def _promote(value: SdsString, index: int, count: int) -> int:
    """The promote: label of hllSparseSet: turn dense, then set the register there."""
    if not to_dense(value):
        return -1
    return dense_set(value, index, count)
