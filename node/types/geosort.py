"""The two sorts a geo search reply goes through in Redis, reproduced step for step.

GEOSEARCH sorts its matches by distance with libc's qsort (glibc 2.36: a top-down merge
sort) or, when COUNT keeps fewer than it found, with Redis's pqsort (a partial
Bentley-McIlroy quicksort). With distinct distances any correct sort gives the same
reply, and ``sort_points`` takes Python's sort. With ties (two members at one spot) or NaN
distances (near-antipodal points), which tied member comes first, or is kept at all,
depends on the algorithm's exact comparisons and swaps: those cases run the ports below.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

Cmp = Callable[[Any, Any], int]


def _distance(point: Any) -> float:
    return point[0]  # type: ignore[no-any-return]


def _asc(a: Any, b: Any) -> int:
    """sort_gp_asc on the distance (item 0): NaN compares as "less" both ways."""
    if a[0] > b[0]:
        return 1
    if a[0] == b[0]:
        return 0
    return -1


def _desc(a: Any, b: Any) -> int:
    return -_asc(a, b)


def sort_points(points: list[Any], descending: bool, keep: int) -> list[Any]:
    """The first ``keep`` points in Redis's order (points are tuples, distance first)."""
    dists = [p[0] for p in points]
    nan = any(math.isnan(d) for d in dists)
    if keep == len(points):
        if nan:
            return glibc_msort(points, _desc if descending else _asc)
        return sorted(points, key=_distance, reverse=descending)
    if not nan and len(set(dists)) == len(dists):
        pick = heapq.nlargest if descending else heapq.nsmallest
        return pick(keep, points, key=_distance)
    work = list(points)
    pqsort(work, _desc if descending else _asc, 0, keep - 1)
    return work[:keep]


def glibc_msort(items: list[Any], cmp: Cmp) -> list[Any]:
    """glibc's msort_with_tmp: halves of n // 2 and n - n // 2, ties taken from the left."""
    n = len(items)
    if n <= 1:
        return list(items)
    n1 = n // 2
    left = glibc_msort(items[:n1], cmp)
    right = glibc_msort(items[n1:], cmp)
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        if cmp(left[i], right[j]) <= 0:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


def _med3(a: list[Any], i: int, j: int, k: int, cmp: Cmp) -> int:
    if cmp(a[i], a[j]) < 0:
        return j if cmp(a[j], a[k]) < 0 else (k if cmp(a[i], a[k]) < 0 else i)
    return j if cmp(a[j], a[k]) > 0 else (i if cmp(a[i], a[k]) < 0 else k)


def _vecswap(a: list[Any], i: int, j: int, n: int) -> None:
    for k in range(n):
        a[i + k], a[j + k] = a[j + k], a[i + k]


def pqsort(a: list[Any], cmp: Cmp, lrange: int, rrange: int) -> None:
    """pqsort.c: sort ``a`` in place enough that ranks lrange..rrange hold their items."""
    _pqsort(a, 0, len(a), cmp, lrange, rrange)


def _pqsort(a: list[Any], lo: int, n: int, cmp: Cmp, left: int, right: int) -> None:
    while True:
        if n < 7:
            for pm in range(lo + 1, lo + n):
                pl = pm
                while pl > lo and cmp(a[pl - 1], a[pl]) > 0:
                    a[pl], a[pl - 1] = a[pl - 1], a[pl]
                    pl -= 1
            return
        pm = lo + n // 2
        if n > 7:
            pl = lo
            pn = lo + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(a, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(a, pm - d, pm, pm + d, cmp)
                pn = _med3(a, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(a, pl, pm, pn, cmp)
        a[lo], a[pm] = a[pm], a[lo]
        pa = pb = lo + 1
        pc = pd = lo + n - 1
        while True:
            while pb <= pc:
                result = cmp(a[pb], a[lo])
                if result > 0:
                    break
                if result == 0:
                    a[pa], a[pb] = a[pb], a[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                result = cmp(a[pc], a[lo])
                if result < 0:
                    break
                if result == 0:
                    a[pc], a[pd] = a[pd], a[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            a[pb], a[pc] = a[pc], a[pb]
            pb += 1
            pc -= 1
        pn = lo + n
        r = min(pa - lo, pb - pa)
        _vecswap(a, lo, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(a, pb, pn - r, r)
        r = pb - pa
        if r > 1 and _overlaps(lo, lo + r - 1, left, right):
            _pqsort(a, lo, r, cmp, left, right)
        r = pd - pc
        if r <= 1:
            return
        lo = pn - r
        n = r
        if not _overlaps(lo, lo + r - 1, left, right):
            return


def _overlaps(start: int, end: int, left: int, right: int) -> bool:
    """Whether the wanted ranks left..right reach into start..end."""
    return not ((left < start and right < start) or (left > end and right > end))
