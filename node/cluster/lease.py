"""The lease a node needs to serve its slots under the control plane (cluster-lease-fencing).

Without it, a master cut off from the control plane and its replicas goes on acknowledging
the writes of the clients that still reach it while a replica is promoted in its place: the
split brain that loses those writes. Under fencing a node serves keyed commands only until
``until`` (its own monotonic clock, checked at every command, so a node resumed after a
stop refuses at once); the control plane extends it with CLUSTER LEASE a few times per lease
and promotes a replica only once the old master's lease has surely run out.

A renewal is anchored at a stamp the node itself handed out (in its reply to the previous
renewal), not at the moment the renewal arrives: a renewal that waited in a socket buffer
while the node was stopped or cut off grants nothing beyond stamp + duration, and the
control plane knows that bound, having read the stamp before it sent the renewal. No clock
is compared across machines; only the two clocks' rates matter, and the control plane's
margin covers them. The stamp comes with the run id, so a stamp of an earlier process (or
another machine's clock, after a pod moved) grants nothing.
"""

from __future__ import annotations

import math
import time


class Lease:
    __slots__ = ("enforced", "until", "granted", "expiry_noted")

    def __init__(self, enforced: bool) -> None:
        self.enforced = enforced
        # Monotonic seconds; never granted yet under fencing, forever without it.
        self.until = 0.0 if enforced else math.inf
        self.granted = False
        self.expiry_noted = True  # nothing to report before the first grant

    def valid(self) -> bool:
        return self.until > time.monotonic()

    @staticmethod
    def stamp() -> int:
        """Now, in whole milliseconds of the monotonic clock, rounded down."""
        return int(time.monotonic() * 1000)

    def renew(self, stamp_ms: int, duration_ms: int) -> bool:
        """Extend to stamp + duration; a stamp from the future is not one of ours."""
        if not self.enforced or stamp_ms > self.stamp() or duration_ms <= 0:
            return False
        self.until = max(self.until, (stamp_ms + duration_ms) / 1000)
        self.granted = True
        self.expiry_noted = False
        return True

    def remaining_ms(self) -> int:
        """Milliseconds left (0 once expired), -1 when not enforced."""
        if not self.enforced:
            return -1
        return max(0, int((self.until - time.monotonic()) * 1000))

    def expired_now(self) -> bool:
        """True once per expiry, for the log line (from the cron)."""
        if self.expiry_noted or self.valid():
            return False
        self.expiry_noted = True
        return True

    def fence_reason(self, held: bool) -> str:
        """Why keyed commands get CLUSTERDOWN, for INFO; empty while serving."""
        if held:
            return "held: waiting for the control plane to confirm this node's role"
        if self.valid():
            return ""
        if not self.granted:
            return "no lease granted by the control plane since this node started"
        ago = int((time.monotonic() - self.until) * 1000)
        return f"lease expired {ago} ms ago: no renewal from the control plane"
