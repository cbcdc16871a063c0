"""A large sorted set's blocked order (node/types/zorder.py) and its slots (node/types/zset.py)
agree with a sorted list of (score, member) tuples and a dict under random inserts, deletes,
rescores, slice deletes and seeks, with small blocks so that splits and merges happen often;
scores tie, include -inf, +inf and -0; ZSCAN's slot walk returns every member present
throughout it while members come and go."""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_left, bisect_right, insort

import pytest
from redslot.node.types.zorder import ZOrder, _find_py
from redslot.node.types.zset import ZSet

SCORES = [-math.inf, math.inf, -0.0, 0.0, 1.0, 1.5, -2.0, 1e300]


def random_pair(rnd: random.Random, spread: int = 5) -> tuple[float, bytes]:
    """Scores tie often with a small ``spread``, seldom with a large one."""
    score = rnd.choice(SCORES) if rnd.random() < 0.5 else float(rnd.randrange(-spread, spread))
    return score, b"m%d" % rnd.randrange(400)


def check(order: ZOrder, model: list[tuple[float, bytes]], rnd: random.Random,
          spread: int = 5) -> None:
    assert len(order) == len(model)
    assert list(order) == model
    assert list(reversed(order)) == model[::-1]
    assert order[:] == model
    for _ in range(20):
        if not model:
            break
        i = rnd.randrange(len(model))
        j = rnd.randrange(len(model) + 1)
        assert order[i] == model[i]
        assert order[i - len(model)] == model[i]
        assert order[i:j] == model[i:j]
        assert order.members(i, j) == [m for _, m in model[i:j]]
        score, member = model[i]
        assert order.rank(score, member) == i
    for _ in range(10):
        probe = rnd.choice(model) if model and rnd.random() < 0.5 else random_pair(rnd, spread)
        assert order.bisect_left(probe) == bisect_left(model, probe)
        assert order.bisect_right(probe) == bisect_right(model, probe)
        assert order.bisect_left(probe[:1]) == bisect_left(model, probe[:1])


@pytest.mark.parametrize(("seed", "load", "spread"),
                         [(0, 4, 5), (1, 8, 5), (2, 8, 5), (3, 64, 5), (4, 8, 10**6)])
def test_random_edits_agree_with_a_sorted_list(seed: int, load: int, spread: int) -> None:
    rnd = random.Random(seed)
    start = sorted({m: s for s, m in (random_pair(rnd, spread) for _ in range(50))}.items(),
                   key=lambda p: (p[1], p[0]))
    model = sorted((s, m) for m, s in start)
    order = ZOrder(list(model), load)
    for step in range(1500):
        op = rnd.random()
        if op < 0.5:
            score, member = random_pair(rnd, spread)
            if any(m == member for _, m in model):
                continue
            order.add(score, member)
            insort(model, (score, member))
        elif op < 0.85 and model:
            pair = model.pop(rnd.randrange(len(model)))
            order.discard(*pair)
        elif model:
            i = rnd.randrange(len(model))
            j = min(len(model), i + rnd.choice([1, 2, load, 3 * load, len(model)]))
            order.del_slice(i, j)
            del model[i:j]
        if step % 50 == 0:
            check(order, model, rnd, spread)
    check(order, model, rnd, spread)
    dup = order.copy()
    order.del_slice(0, len(order))
    assert len(order) == 0 and list(order) == [] and order.bisect_left((0.0,)) == 0
    assert list(dup) == model


def test_minus_zero_keeps_its_sign_and_sorts_with_zero() -> None:
    order = ZOrder(None, 4)
    order.add(0.0, b"b")
    order.add(-0.0, b"a")
    order.add(-0.0, b"c")
    assert [m for _, m in order] == [b"a", b"b", b"c"]
    assert [math.copysign(1.0, s) for s, _ in order] == [-1.0, 1.0, -1.0]


def test_an_empty_order_reads_as_empty() -> None:
    order = ZOrder()
    assert len(order) == 0
    assert order[:] == [] and order.members(0, 0) == []
    assert order.bisect_left((1.0, b"x")) == 0 and order.bisect_right((1.0,)) == 0
    with pytest.raises(IndexError):
        order[0]


def big_zset(scores: dict[bytes, float]) -> ZSet:
    z = ZSet.from_scores(scores, 0, 0)
    assert z.slots is not None
    return z


def test_skiplist_set_agrees_with_a_dict_under_random_edits() -> None:
    rnd = random.Random(7)
    model = {b"m%d" % i: float(rnd.randrange(10)) for i in range(300)}
    z = big_zset(model)
    for _ in range(3000):
        member = b"m%d" % rnd.randrange(600)
        op = rnd.random()
        old = model.get(member)
        assert z.score_of(member) == old
        if op < 0.4:
            score = rnd.choice(SCORES)
            if old is None:
                z.insert(member, score, 0, 0)
            elif score != old:
                z.rescore(member, old, score)
            model[member] = score
        elif op < 0.8:
            assert z.remove(member) == (old is not None)
            model.pop(member, None)
        elif model:
            n = len(model)
            i = rnd.randrange(n)
            removed = z.remove_slice(i, min(n, i + rnd.randrange(1, 40)))
            for _, m in removed:
                del model[m]
    ordered = sorted((s, m) for m, s in model.items())
    assert list(z.order) == ordered
    assert dict(z.scores.items()) == model and len(z) == len(model)
    assert sorted(z.slots or []) == sorted(model)
    for rank, (_, member) in enumerate(ordered):
        assert z.rank(member) == rank
    dup = z.copy()
    assert list(dup.order) == ordered and dict(dup.scores.items()) == model


def scan(z: ZSet, cursor: int, count: int) -> tuple[int, list[bytes]]:
    """zsets.py's ZSCAN walk over the slots, from the top down."""
    slots = z.slots
    assert slots is not None
    top = len(slots) - 1 if cursor == 0 else min(cursor - 1, len(slots) - 1)
    cursor = max(top - count + 1, 0)
    return cursor, [m for m, _ in z.slot_items(cursor, top + 1)]


@pytest.mark.parametrize("seed", range(3))
def test_scan_returns_every_member_present_throughout_while_others_come_and_go(
        seed: int) -> None:
    rnd = random.Random(seed)
    z = big_zset({b"m%d" % i: float(i % 7) for i in range(500)})
    present = set(z.scores)
    stable = set(rnd.sample(sorted(present), 200))
    seen: set[bytes] = set()
    cursor = 0
    fresh = 1000
    while True:
        cursor, members = scan(z, cursor, 10)
        seen.update(members)
        for _ in range(rnd.randrange(0, 12)):
            if rnd.random() < 0.5:
                z.insert(b"m%d" % fresh, rnd.choice(SCORES), 0, 0)
                present.add(b"m%d" % fresh)
                fresh += 1
            else:
                gone = rnd.choice(sorted(present - stable))
                assert z.remove(gone)
                present.discard(gone)
        if cursor == 0:
            break
    assert stable <= seen


def test_the_c_search_agrees_with_the_python_one() -> None:
    """_zsearch.offset (the compiled build's) places pairs as _find_py does, present and
    absent, scores tied or not, -0, the infinities, and score-only seeks (member None)."""
    zsearch = pytest.importorskip("redslot.node.types._zsearch")
    rnd = random.Random(7)
    for spread in (3, 10**6):
        model = sorted({(s, m) for s, m in (random_pair(rnd, spread) for _ in range(300))})
        scores, members = array("d", [s for s, _ in model]), [m for _, m in model]
        for _ in range(2000):
            score, member = rnd.choice(model) if rnd.random() < 0.5 else random_pair(rnd, spread)
            for right in (False, True):
                for probe in (member, None):
                    assert zsearch.offset(scores, members, score, probe, right) == \
                        _find_py(scores, members, score, probe, right)
