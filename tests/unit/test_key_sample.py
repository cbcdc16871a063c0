"""A set of keys by position (node/base/sampling.py KeySample): after any mix of adds and
removals its keys are exactly the keys added and not removed, the position index a first
removal builds agrees with them, and a sample only added to has no index."""

from __future__ import annotations

import random

import pytest
from redslot.node.base.sampling import KeySample


@pytest.mark.parametrize("seed", range(4))
def test_adds_and_removals_keep_the_positions_right(seed: int) -> None:
    rnd = random.Random(seed)
    sample = KeySample([b"k%d" % i for i in range(20)])
    model = set(sample.keys)
    for _ in range(3000):
        key = b"k%d" % rnd.randrange(60)
        if rnd.random() < 0.6:
            if key not in model:
                sample.add(key)
                model.add(key)
        else:
            sample.discard(key)
            model.discard(key)
        assert sorted(sample.keys) == sorted(model)
        if sample.where is not None:
            assert sample.where == {k: i for i, k in enumerate(sample.keys)}


def test_a_sample_only_added_to_has_no_position_index() -> None:
    sample = KeySample()
    sample.add(b"a")
    sample.add(b"b")
    assert sample.where is None and sample.keys == [b"a", b"b"]
    sample.discard(b"a")
    assert sample.where == {b"b": 0} and sample.keys == [b"b"]


def test_membership_counts_the_keys_whether_or_not_an_index_exists() -> None:
    sample = KeySample([b"a", b"b"])
    assert b"a" in sample and b"c" not in sample and len(sample) == 2
    sample.discard(b"c")
    assert list(sample) == [b"a", b"b"]
