"""Small values (listpack hashes and sorted sets, packed sets and intsets) are left out of
the cyclic collector in the compiled build: they hold no reference, and a full collection
walked every one of them (0.1 s a million). The pure-Python build leaves them tracked."""

from __future__ import annotations

import gc
import sys

import pytest
from redslot.node.base.compiled import extension
from redslot.node.types.hashes import LoadedHash, PackedHash, new_hash
from redslot.node.types.packed import pack
from redslot.node.types.sets import IntSet, PackedSet
from redslot.node.types.zset import PackedZSet

PACKED = extension("types._packed")
VALUE_CLASSES = [PackedHash, LoadedHash, PackedSet, IntSet, PackedZSet]


@pytest.mark.parametrize("cls", VALUE_CLASSES, ids=lambda c: c.__name__)
def test_small_values_are_untracked_in_the_compiled_build_only(cls: type) -> None:
    value = cls(b"\x01\x02\x00\x00\x00\x01\x01ab")
    assert type(value) is cls and value == b"\x01\x02\x00\x00\x00\x01\x01ab"
    assert gc.is_tracked(value) is (PACKED is None)


def test_a_hash_built_by_a_command_path_is_untracked_and_freed() -> None:
    value = new_hash([b"field", b"value"], 128, 64)
    assert type(value) is PackedHash
    assert gc.is_tracked(value) is (PACKED is None)
    before = sys.getrefcount(PackedHash)
    values = [PackedHash(pack([b"f%d" % i, b"v"])) for i in range(10000)]
    assert sys.getrefcount(PackedHash) == before + 10000  # each instance holds its class
    del values
    gc.collect()
    assert sys.getrefcount(PackedHash) == before  # ... and gives it back when freed


@pytest.mark.skipif(PACKED is None, reason="the C extension is not built (pure build)")
def test_untrack_instances_takes_only_a_direct_bytes_subclass_without_a_dict() -> None:
    class WithDict(bytes):  # (bytes subclasses cannot have slots of their own)
        pass

    class NotBytes:
        __slots__ = ()

    class Grandchild(PackedHash):
        __slots__ = ()

    for cls in (WithDict, NotBytes, Grandchild, bytes):
        with pytest.raises(TypeError, match="untrack_instances"):
            PACKED.untrack_instances(cls)
    with pytest.raises(TypeError):
        PACKED.untrack_instances(b"not a class")
