"""Outgoing TCP connections of the node (replication link, cluster bus, manual failover),
from ``bind-source-addr`` when it is set, as anetTcpGenericConnect does: the binding is
best effort (ANET_CONNECT_BE_BINDING), so an address that cannot be bound is skipped and
the system picks the source, rather than the link never coming up."""

from __future__ import annotations

import asyncio
import ssl


async def connect(host: str, port: int, source: str,
                  tls: ssl.SSLContext | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if source:
        try:
            return await asyncio.open_connection(host, port, ssl=tls, local_addr=(source, 0))
        except OSError:
            pass
    return await asyncio.open_connection(host, port, ssl=tls)
