"""Redis's CRC64 (node/types/rdb.py): crc64.c's check value, and the C version
(_crc64.c, the compiled build's) equal to the plain-Python folds on any input, whole or
continued piece by piece."""

from __future__ import annotations

import random

import pytest
from redslot.node.types import rdb

C = pytest.importorskip("redslot.node.types._crc64")


def test_the_check_value_of_crc64_c() -> None:
    """crc64.c's own test: crc64(0, "123456789") == 0xe9c6d914c4b8d9ca."""
    assert rdb._crc64_py(b"123456789") == 0xE9C6D914C4B8D9CA
    assert C.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA


@pytest.mark.parametrize("seed", range(3))
def test_c_and_python_agree(seed: int) -> None:
    rnd = random.Random(seed)
    for size in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4097, *rnd.sample(range(5000), 20)]:
        data = rnd.randbytes(size)
        start = rnd.getrandbits(64)
        assert C.crc64(data) == rdb._crc64_py(data)
        assert C.crc64(data, start) == rdb._crc64_py(data, start)
        assert C.crc64(bytearray(data), start) == C.crc64(memoryview(data), start)


def test_a_large_input_whole_or_in_pieces() -> None:
    """Past 1 MB (the C version lets other threads run meanwhile; the Python one folds
    by 2 MB pieces), and continued across uneven pieces."""
    data = random.Random(7).randbytes(5 * (1 << 20) + 3)
    whole = C.crc64(data)
    assert whole == rdb._crc64_py(data)
    crc = 0
    for start, end in [(0, 11), (11, 1 << 20), (1 << 20, 3 * (1 << 20) + 5), (3 * (1 << 20) + 5, len(data))]:
        crc = C.crc64(memoryview(data)[start:end], crc)
    assert crc == whole


def test_bad_arguments_raise() -> None:
    with pytest.raises(TypeError):
        C.crc64("text")
    with pytest.raises(TypeError):
        C.crc64()
    with pytest.raises(OverflowError):
        C.crc64(b"x", -1)
