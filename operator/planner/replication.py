"""When a replica counts as in sync with its master: one rule for every reader.

A shard is healthy (the status, the RedisCluster's ready count) and a rolling restart may
take a node down only while each replica's link to its master is up and its offset is
within ``IN_SYNC_BYTES`` of the master's. The margin is there because the two offsets are
read a moment apart: under writes a replica that keeps up still trails by what the master
took in between, and a stricter rule would call a busy shard degraded for ever.
"""

from __future__ import annotations

IN_SYNC_BYTES = 1024 * 1024


def in_sync(link_up: bool, master_offset: int, replica_offset: int) -> bool:
    return link_up and replica_offset >= master_offset - IN_SYNC_BYTES
