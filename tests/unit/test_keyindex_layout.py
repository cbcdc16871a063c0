"""The keyspace's code and meta-word masks are written twice, in base/keyindex.py (the
dict index's read, and every Python user) and in _keyindex.c (the C index's read and
prefetch): the C module exposes its values, which must be the Python ones."""

from __future__ import annotations

import importlib

import pytest
from redslot.node.base import keyindex


def test_the_c_index_masks_are_the_python_ones() -> None:
    try:
        c_index = importlib.import_module("redslot.node.base._keyindex")
    except ImportError:
        pytest.skip("the C index is not built")
    assert (c_index.POS_MASK, c_index.CLOCK_MASK) == (keyindex.POS_MASK, keyindex.CLOCK_MASK)
