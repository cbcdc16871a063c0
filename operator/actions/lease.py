"""Renewing a node's lease: CLUSTER LEASE <duration-ms> <min-epoch> [<run-id> <stamp-ms>].

The node grants stamp + duration, where the stamp is one it handed out itself in its reply
to the previous renewal (node/cluster/lease.py): the reply's stamp is therefore what the
next renewal sends, and the moment it was received here bounds, on this side's clock,
when the lease it anchors can start. The moment the request went out bounds the node's
reading from below: a stamp asked for after another node's stamp was received was read
after that one (control/leases.py lets a replica's clock confirm a master's expiry so).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .connection import Connections


@dataclass(frozen=True)
class Stamp:
    """A node's clock reading: its process (``run_id``), its monotonic milliseconds,
    ``sent`` and ``at``, this side's monotonic seconds when the request went out and when
    the reply carrying it arrived (the reading lies between); with the lease the node had
    left then (-1: it needs none)."""

    run_id: str
    ms: int
    sent: float
    at: float
    remaining_ms: int = -1


async def renew(conns: Connections, address: str, duration_ms: int, min_epoch: int,
                stamp: Stamp | None) -> Stamp:
    """One renewal anchored at ``stamp`` (none: only ask for a stamp); the node's next one.
    Raises one of ``NodeError`` when the node fails or refuses."""
    grant = [stamp.run_id, stamp.ms] if stamp is not None else []
    sent = time.monotonic()
    reply = await conns.call(address, "CLUSTER", "LEASE", duration_ms, min_epoch, *grant)
    return Stamp(reply[0].decode(), int(reply[1]), sent, time.monotonic(), int(reply[2]))
