"""Pushing the whole topology table: CLUSTER SETTOPOLOGY <epoch> <table> to each node.

A node takes a table only with an epoch greater than the last it took, so pushing the
same (epoch, table) again is harmless, and a node that missed a push (down, partitioned)
gets it on the next pass. A node restarted under the control plane serves nothing until
its first accepted push: the push is how its role is confirmed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from redis.exceptions import ResponseError

from .connection import Connections, NodeError


async def push_table(conns: Connections, address: str, epoch: int, table: str) -> str | None:
    """None once the node has this epoch (now or already), else why it has not."""
    try:
        await conns.call(address, "CLUSTER", "SETTOPOLOGY", epoch, table)
    except ResponseError as exc:
        if f"topology epoch {epoch} is not newer than this node's epoch {epoch}" in str(exc):
            return None
        return str(exc)
    except NodeError as exc:
        return str(exc) or type(exc).__name__
    return None


async def push_everywhere(conns: Connections, addresses: Iterable[str], epoch: int,
                          table: str) -> dict[str, str | None]:
    """Push to every address at once; each node's outcome."""
    targets = list(addresses)
    results = await asyncio.gather(*(push_table(conns, a, epoch, table) for a in targets))
    return dict(zip(targets, results, strict=True))
