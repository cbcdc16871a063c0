"""One short-timeout RESP connection per node address, as a user's tool would open.

The control plane must notice a dead or hung node quickly and never wait on one for
long: every call has a bounded timeout and no retries (the reconciler's next pass is the
retry).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

CALL_TIMEOUT = 2.0
CONNECT_TIMEOUT = 0.5

NodeError = (RedisError, OSError, TimeoutError)


class Connections:
    """A client per ``host:port``, created on first use and kept.

    Observation uses short timeouts so a hung node is noticed at once; key migration uses
    a second instance with a long one, since a MIGRATE of a big batch takes a while.
    """

    def __init__(self, password: str | None = None, timeout: float = CALL_TIMEOUT) -> None:
        self.password = password
        self.timeout = timeout
        self._clients: dict[str, Redis] = {}

    def get(self, address: str) -> Redis:
        client = self._clients.get(address)
        if client is None:
            host, port = address.rsplit(":", 1)
            client = Redis(host=host, port=int(port), password=self.password,
                           socket_timeout=self.timeout, socket_connect_timeout=CONNECT_TIMEOUT,
                           retry=Retry(NoBackoff(), 0), protocol=2, decode_responses=False)
            # Raw replies: the actions parse what they read, redis-py's helpers do not.
            client.response_callbacks.clear()
            self._clients[address] = client
        return client

    async def call(self, address: str, *args: Any) -> Any:
        """One command; raises one of ``NodeError`` when the node fails or refuses it."""
        return await self.get(address).execute_command(*args)

    async def use_password(self, password: str | None) -> None:
        """From now on connect with ``password``: every client is dropped, so none
        reconnects later with the old one (which a rotation removes)."""
        self.password = password
        for address in list(self._clients):
            await self.forget(address)

    async def forget(self, address: str) -> None:
        client = self._clients.pop(address, None)
        if client is not None:
            await client.aclose()

    async def close(self) -> None:
        for address in list(self._clients):
            await self.forget(address)
