"""The cyclic garbage collector around a load (an RDB file, an AOF replay).

A load creates millions of tracked objects (small values are instances of Python classes)
and no garbage: the collections they would trigger cost a quarter of a snapshot's load.
The collector is off meanwhile, and on success what the load built is moved to the
permanent generation (gc.freeze): the first collection after it would otherwise walk every
loaded value (50 ms for 1M small hashes), and each full collection after that again
(100 ms). Frozen values are still freed when the keyspace drops them; only cycles among
them would outlive their use, and loaded values hold none.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if collecting:
            gc.enable()
