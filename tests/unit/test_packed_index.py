"""packed.index_of, a small set's membership test: it finds what list.index finds, at both
length widths, without unpacking."""

from __future__ import annotations

import random

import pytest
from redslot.node.types.packed import index_of, pack


@pytest.mark.parametrize("seed", range(4))
def test_index_of_agrees_with_list_index(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(300):
        elements = list({rnd.randbytes(rnd.choice([0, 1, 2, 3, 64, 255, 300]))
                         for _ in range(rnd.randrange(0, 10))})
        packed = pack(elements)
        for i, element in enumerate(elements):
            assert index_of(packed, element) == i
        for probe in (b"\x00", b"zz", b"\x01" * 300, *(e[:-1] for e in elements if e)):
            expected = elements.index(probe) if probe in elements else -1
            assert index_of(packed, probe) == expected
