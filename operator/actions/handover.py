"""Manual failover: a master hands its shard to a replica without losing a write.

As Redis's CLUSTER FAILOVER does it: the master's writes are paused (clients wait, they
are not refused), the replica catches up to the master's final offset, the new table
(replica promoted, master demoted) is pushed, and only then is the master unpaused: the
clients it held are redirected to the new master by MOVED.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from .connection import Connections, NodeError
from .observe import parse_info

PAUSE_MS = 5000


class HandoverAborted(Exception):
    """The replica did not catch up in time; the master was unpaused and keeps its role."""


async def replicated_offset(conns: Connections, address: str) -> int:
    info = parse_info(await conns.call(address, "INFO", "replication"))
    return int(info.get("slave_repl_offset") or info.get("master_repl_offset") or 0)


async def hand_over(conns: Connections, master: str, replica: str,
                    switch: Callable[[], Awaitable[None]], timeout: float = 4.0) -> int:
    """Pause ``master``, wait for ``replica`` to reach its offset, run ``switch`` (the table
    push), unpause. Returns the offset handed over."""
    await conns.call(master, "CLIENT", "PAUSE", PAUSE_MS, "WRITE")
    try:
        target = int(parse_info(await conns.call(master, "INFO", "replication"))
                     ["master_repl_offset"])
        deadline = time.monotonic() + timeout
        while await replicated_offset(conns, replica) < target:
            if time.monotonic() > deadline:
                raise HandoverAborted(
                    f"replica {replica} did not reach offset {target} in {timeout:g}s")
            await asyncio.sleep(0.01)
        await switch()
        return target
    finally:
        try:
            await conns.call(master, "CLIENT", "UNPAUSE")
        except NodeError:
            pass
