"""One short-timeout RESP connection per node address, as a user's tool would open.

The control plane must notice a dead or hung node quickly and never wait on one for
long: every call has a bounded timeout and no retries (the reconciler's next pass is the
retry). Nodes that ask for a password get it (AUTH on connect); nodes that serve TLS are
reached over TLS, trusting the cluster's CA and showing a client certificate when one is
given (nodes ask for one with tls-auth-clients yes, Redis's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

CALL_TIMEOUT = 2.0
CONNECT_TIMEOUT = 0.5
# The nodes leave commands from connections of this name out of instantaneous_ops_per_sec
# (redslot.node.cluster.internal_clients): the control plane's probes are no client's work.
CLIENT_NAME = "redslot-control"

NodeError = (RedisError, OSError, TimeoutError)


@dataclass(frozen=True)
class ClientTls:
    """Files of a TLS connection to the nodes (PEM paths). Node names are not checked
    against the certificate, as nodes do not check each other's: the CA is the trust."""

    ca_file: str
    cert_file: str = ""
    key_file: str = ""

    def redis_kwargs(self) -> dict[str, Any]:
        """redis-py's connection options for these files."""
        return {"ssl": True, "ssl_ca_certs": self.ca_file,
                "ssl_certfile": self.cert_file or None, "ssl_keyfile": self.key_file or None,
                "ssl_check_hostname": False}


class Connections:
    """A client per ``host:port``, created on first use and kept.

    Observation uses short timeouts so a hung node is noticed at once; key migration uses
    a second instance with a long one, since a MIGRATE of a big batch takes a while.
    """

    def __init__(self, password: str | None = None, timeout: float = CALL_TIMEOUT,
                 tls: ClientTls | None = None) -> None:
        self.password = password
        self.timeout = timeout
        self.tls = tls
        self._clients: dict[str, Redis] = {}

    def get(self, address: str) -> Redis:
        client = self._clients.get(address)
        if client is None:
            host, port = address.rsplit(":", 1)
            client = Redis(host=host, port=int(port), password=self.password,
                           socket_timeout=self.timeout, socket_connect_timeout=CONNECT_TIMEOUT,
                           retry=Retry(NoBackoff(), 0), protocol=2, decode_responses=False,
                           client_name=CLIENT_NAME,
                           **(self.tls.redis_kwargs() if self.tls is not None else {}))
            # Raw replies: the actions parse what they read, redis-py's helpers do not.
            client.response_callbacks.clear()
            self._clients[address] = client
        return client

    async def call(self, address: str, *args: Any) -> Any:
        """One command; raises one of ``NodeError`` when the node fails or refuses it."""
        return await self.get(address).execute_command(*args)

    async def batch(self, address: str, *commands: tuple[Any, ...]) -> list[Any]:
        """Several commands in one round trip (pipelined, not a transaction): half the
        work of as many calls, here and on the node; raises as ``call`` does."""
        pipe = self.get(address).pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute())

    async def use_password(self, password: str | None) -> None:
        """From now on connect with ``password``: every client is dropped, so none
        reconnects later with the old one (which a rotation removes)."""
        self.password = password
        await self.reset()

    async def reset(self) -> None:
        """Drop every client: the next calls connect again, reading the TLS files anew
        (a renewed CA or client certificate)."""
        for address in list(self._clients):
            await self.forget(address)

    async def forget(self, address: str) -> None:
        client = self._clients.pop(address, None)
        if client is not None:
            await client.aclose()

    async def close(self) -> None:
        for address in list(self._clients):
            await self.forget(address)
