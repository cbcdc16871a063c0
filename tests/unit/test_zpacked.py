"""The packed small sorted set (node/types/zpacked.py) agrees with a sorted list of (score,
member) pairs under random inserts, deletes and lookups, at both length widths, including
members that contain other members and the empty member."""

from __future__ import annotations

import random
from bisect import insort

import pytest
from redslot.node.types import zpacked


def random_member(rnd: random.Random) -> bytes:
    return rnd.choice([b"", b"a", b"ab", b"ba", b"aba", b"b" * 300, b"ab" * 130,
                       rnd.randbytes(rnd.randrange(0, 5))])


def check(blob: bytes, model: list[tuple[float, bytes]]) -> None:
    assert zpacked.items(blob) == model
    assert zpacked.size(blob) == len(model)
    for rank, (score, member) in enumerate(model):
        assert zpacked.index_of(blob, member) == rank
        assert zpacked.member_at(blob, rank) == member
        assert zpacked.score_at(blob, rank) == score


@pytest.mark.parametrize("seed", range(4))
def test_random_edits_agree_with_a_sorted_list(seed: int) -> None:
    rnd = random.Random(seed)
    blob = zpacked.EMPTY
    model: list[tuple[float, bytes]] = []
    for _ in range(600):
        member = random_member(rnd)
        present = {m: s for s, m in model}
        if member in present:
            rank = zpacked.index_of(blob, member)
            assert model[rank] == (present[member], member)
            stop = min(len(model), rank + rnd.randrange(1, 3))
            blob = zpacked.delete(blob, rank, stop)
            del model[rank:stop]
        else:
            assert zpacked.index_of(blob, member) == -1
            assert zpacked.score_of(blob, member) is None
            score = float(rnd.choice([0, 1, 1, 2.5, -3, 1e300]))
            blob = zpacked.insert(blob, member, score)
            insort(model, (score, member))
        check(blob, model)


def test_a_hit_straddling_two_members_is_not_a_member() -> None:
    blob = zpacked.build([b"ab", b"cd"], [1.0, 2.0])
    assert zpacked.index_of(blob, b"bc") == -1
    assert zpacked.index_of(blob, b"cd") == 1
    assert zpacked.index_of(blob, b"") == -1
    assert zpacked.index_of(zpacked.build([b"x", b""], [1.0, 2.0]), b"") == 1


def test_deleting_every_member_gives_the_empty_set() -> None:
    blob = zpacked.build([b"a", b"b"], [1.0, 2.0])
    assert zpacked.delete(blob, 0, 2) == zpacked.EMPTY
    assert zpacked.items(zpacked.EMPTY) == []


@pytest.mark.parametrize("seed", range(3))
def test_the_c_insertion_rank_is_the_python_one(seed: int) -> None:
    """_packed.insertion_rank (the compiled build's) places a pair where the plain-Python
    bisect does: among equal scores (-0.0 equal to 0.0) by bytes order, at both widths."""
    c = pytest.importorskip("redslot.node.types._packed")
    rnd = random.Random(seed)
    scores_pool = [-1.5, -0.0, 0.0, 1.0, 2.5, float("inf"), float("-inf")]
    for _ in range(1000):
        pairs = sorted({(rnd.choice(scores_pool), rnd.randbytes(rnd.choice([0, 1, 2, 300])))
                        for _ in range(rnd.randrange(0, 12))})
        unique = list({m: s for s, m in pairs}.items())
        pairs = sorted((s, m) for m, s in unique)
        blob = zpacked.build([m for _, m in pairs], [s for s, _ in pairs])
        for _ in range(8):
            score = rnd.choice(scores_pool)
            member = rnd.randbytes(rnd.choice([0, 1, 2, 300]))
            assert (c.insertion_rank(blob, score, member)
                    == zpacked._insertion_rank_py(blob, score, member)), (pairs, score, member)
