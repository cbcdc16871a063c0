"""What pub/sub sees of a client: a Protocol the server's ``Client`` matches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .hub import Subscriptions
    from .tracking import TrackingState


class Subscriber(Protocol):
    id: int
    resp3: bool
    tracking: TrackingState | None  # CLIENT TRACKING ON
    pubsub: bool  # CLIENT_PUBSUB: subscribed to something (RESP2 subscribed mode)
    subscriptions: Subscriptions | None

    def push(self, frame: bytes) -> None:
        """Queue an out-of-band frame (a message or an invalidation) and have it written
        at the end of this loop turn, whatever CLIENT REPLY says (CLIENT_PUSHING). Only
        queues: delivery iterates the subscriber tables without copying them."""
