"""Key specs compiled into finders (table/keyspecs.py), at the edges where they say None.

test_command.py compares the finders with a real server for every kind of key spec; these
pin the boundaries of each compiled shape without one.
"""

from __future__ import annotations

from redslot.node.table.keyspecs import compile_key_specs
from redslot.node.table.specs import SPECS


def finder(name: str):
    return compile_key_specs(SPECS[name]["key_specs"])


def argv(*args: str) -> list[bytes]:
    return [a.encode() for a in args]


def test_fixed_keys_are_found_once_the_arguments_reach_them():
    assert finder("lmove")(argv("lmove", "a", "b", "left", "right")) == [
        (1, ("RW", "ACCESS", "DELETE")), (2, ("RW", "INSERT"))]
    assert finder("lmove")(argv("lmove", "a")) is None


def test_fixed_keys_are_a_fresh_list_each_call():
    find = finder("get")
    first = find(argv("get", "k"))
    assert first is not None
    first.clear()
    assert find(argv("get", "k")) == [(1, ("RO", "ACCESS"))]


def test_keys_running_to_the_end_stop_before_trailing_arguments():
    assert [pos for pos, _ in finder("blpop")(argv("blpop", "a", "b", "0"))] == [1, 2]
    assert finder("blpop")(argv("blpop", "0")) is None


def test_keys_running_to_the_end_follow_their_step():
    assert [pos for pos, _ in finder("mset")(argv("mset", "a", "1", "b", "2"))] == [1, 3]


def test_a_key_count_that_is_not_a_number_says_nothing():
    assert finder("zunionstore")(argv("zunionstore", "d", "x", "a")) is None


def test_a_keyword_that_is_absent_adds_no_keys():
    assert finder("georadius")(argv("georadius", "k", "0", "0", "1", "km")) == [
        (1, ("RO", "ACCESS"))]


def test_a_spec_of_unknown_kind_says_nothing():
    assert finder("sort")(argv("sort", "k")) is None


def test_a_command_without_keys_has_none():
    assert finder("ping")(argv("ping")) == []
