"""Client eviction (maxmemory-clients, networking.c evictClients).

When the buffers of the normal and pub/sub clients together pass the limit, the clients
using the most memory are disconnected, largest first, until the total is back under it.
Our master's link, replicas and CLIENT NO-EVICT clients are never evicted. A client's
memory is what it holds: its query buffer (and requests queued while it waits), its
pending replies and what its socket has not taken yet. Checked by the cron and whenever a
client's unsent output or unparsed input grows, rather than before every command.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..commands.client import client_info

if TYPE_CHECKING:
    from .client import Client
    from .server import Server

FLOOR = 128 * 1024  # getClientEvictionLimit: never below this


def client_memory(c: Client) -> int:
    transport = c.transport
    unsent = transport.get_write_buffer_size() if transport is not None else 0
    return c.parser.buffered + c.queued_bytes + sum(map(len, c.out)) + unsent


def eviction_limit(server: Server) -> int:
    """getClientEvictionLimit: bytes, 0 when off (a percentage needs maxmemory)."""
    setting = server.config["maxmemory-clients"]
    if setting < 0:
        if not server.maxmemory:
            return 0
        limit = int(server.maxmemory * -setting / 100)
    elif setting > 0:
        limit = setting
    else:
        return 0
    return max(limit, FLOOR)


def evictable(c: Client) -> bool:
    """clientEvictionAllowed: normal and pub/sub clients without NO-EVICT."""
    return not (c.no_evict or c.is_master or c.closing
                or (c.replica is not None and not c.monitor))


def evict_clients(server: Server) -> None:
    limit = eviction_limit(server)
    if not limit:
        return
    total = 0
    sized = []
    for c in server.clients.values():
        if c.is_master or (c.replica is not None and not c.monitor):
            continue
        size = client_memory(c)
        total += size  # NO-EVICT clients count toward the total, as in Redis
        if evictable(c):
            sized.append((size, c))
    if total < limit:
        return
    sized.sort(key=lambda pair: pair[0], reverse=True)
    for size, c in sized:
        if total < limit:
            return
        server.log_notice(f"Evicting client: {client_info(c, time.time())}")
        server.stat_evicted_clients += 1
        c.drop()
        total -= size
    server.log_warning("Over client maxmemory after evicting all evictable clients")
