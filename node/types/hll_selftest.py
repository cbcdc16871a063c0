"""PFSELFTEST (hyperloglog.c's pfselftestCommand), scaled to pure Python.

Redis checks its register macros over 1000 rounds of random registers and the estimate
of up to ten million elements; the same checks here run over 10 rounds and 100,000
elements, so that the command stays well under a second.
"""

from __future__ import annotations

import math
import random

from .hll_sparse import sparse_set
from .hll_value import count
from .hyperloglog import (
    DENSE,
    DENSE_SIZE,
    HEADER_SIZE,
    MAGIC,
    REGISTERS,
    SPARSE,
    dense_set,
    new_hll,
    pack,
    pattern,
    raw_bytes,
    unpack,
)
from .typeinfo import SdsString

ROUNDS = 10
ELEMENTS = 100_000


def selftest(max_bytes: int) -> str | None:
    """None when every check passes, else the failure (without the ``TESTFAILED`` word)."""
    rng = random.Random()
    failure = _check_registers(rng)
    if failure is None:
        failure = _check_estimates(rng, max_bytes)
    return failure


def _check_registers(rng: random.Random) -> str | None:
    """Test 1: registers set one by one and packed at once read back as they were set."""
    for _ in range(ROUNDS):
        raw = bytes(rng.getrandbits(6) for _ in range(REGISTERS))
        value = SdsString(MAGIC + bytes(12) + bytes(DENSE_SIZE - HEADER_SIZE))
        for index, register in enumerate(raw):
            dense_set(value, index, register)
        for got in (raw_bytes(unpack(value)), raw_bytes(unpack(pack(int.from_bytes(raw, "little")), 0))):
            if got != raw:
                index = next(i for i in range(REGISTERS) if got[i] != raw[i])
                return f"Register {index} should be {raw[index]} but is {got[index]}"
    return None


def _check_estimates(rng: random.Random, max_bytes: int) -> str | None:
    """Test 2: a dense and a sparse HLL fed the same elements agree, the sparse one stays
    sparse while small, and the estimate stays within six standard errors."""
    dense = SdsString(MAGIC + bytes(12) + bytes(DENSE_SIZE - HEADER_SIZE))
    sparse = new_hll()
    relerr = 1.04 / math.sqrt(REGISTERS)
    seed = rng.getrandbits(64)
    checkpoint = 1
    for j in range(1, ELEMENTS + 1):
        element = (j ^ seed).to_bytes(8, "little")
        index, run = pattern(element)
        dense_set(dense, index, run)
        if sparse[4] == DENSE:
            dense_set(sparse, index, run)
        else:
            sparse_set(sparse, index, run, max_bytes)
        if j != checkpoint:
            continue
        if j < max_bytes / 2 and sparse[4] != SPARSE:
            return "sparse encoding not used"
        estimate = count(dense)
        if estimate != count(sparse):
            return "dense/sparse disagree"
        abserr = abs(checkpoint - (estimate or 0))
        maxerr = 1 if j == 10 else math.ceil(relerr * 6 * checkpoint)
        if abserr > maxerr:
            return f"Too big error. card:{checkpoint} abserr:{abserr}"
        checkpoint *= 10
    return None
