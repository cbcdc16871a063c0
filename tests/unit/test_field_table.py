"""A hashtable-encoded hash's fields (node/types/hashes.py FieldTable): after any mix of
sets and removals, its fields by position are exactly its dict's fields, the position
index built by the first removal agrees with them, and put/remove say what changed."""

from __future__ import annotations

import random

import pytest
from redslot.node.types.hashes import FieldTable, dict_slots


def check(table: FieldTable, model: dict[bytes, bytes]) -> None:
    assert table.values == model
    assert sorted(table.keys) == sorted(model)
    if table.where is not None:
        assert table.where == {f: i for i, f in enumerate(table.keys)}


@pytest.mark.parametrize("seed", range(4))
def test_sets_and_removals_keep_the_positions_right(seed: int) -> None:
    rnd = random.Random(seed)
    table = FieldTable({b"f%d" % i: b"v" for i in range(20)})
    model = dict(table.values)
    for step in range(3000):
        field = b"f%d" % rnd.randrange(60)
        if rnd.random() < 0.6:
            value = b"%d" % step
            assert table.put(field, value) == (field not in model)
            model[field] = value
        else:
            assert table.remove(field) == (field in model)
            model.pop(field, None)
        check(table, model)


def test_a_table_only_added_to_has_no_position_index() -> None:
    table = FieldTable({})
    assert table.put_pairs([b"a", b"1", b"b", b"2", b"a", b"3"], 0) == 2
    assert table.where is None
    assert table.keys == [b"a", b"b"] and table.values == {b"a": b"3", b"b": b"2"}
    assert table.remove(b"a") and table.where == {b"b": 0}


def test_slots_grow_and_shrink_as_redis_dict_does() -> None:
    table = FieldTable({b"%d" % i: b"" for i in range(4)})
    assert table.slots == 4
    table.put(b"new", b"")
    assert table.slots == dict_slots(5) == 8
    for i in range(4):
        table.remove(b"%d" % i)
    assert table.slots == 8  # 1 of 8 is above the 10% fill a dict shrinks under
    table.remove(b"new")
    assert table.slots == 4
