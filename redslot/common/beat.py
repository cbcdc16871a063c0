"""Timers on a shared beat: they fire at multiples of their period on the monotonic clock.

An idle node wakes for what it is sent and for its own timers (peer pings, replication
acks, the control plane's lease renewals and glances), and on a loaded machine a wake-up of
a Python process costs far more than the little work it does (a cache-cold interpreter:
about 0.25 ms of CPU a wake-up, whatever the request). Timers that fire at multiples of
their period fire together: within a process in one wake-up, and across the processes of
one machine (whose monotonic clocks are one clock) at the same instant, so a node meets what
its peers and the control plane send it while it is awake, or wakes once for all of it; the
control plane's two loops likewise.
"""

from __future__ import annotations

import math
import time

# uvloop's timers count whole milliseconds and fire up to one early: a sleep this much
# longer wakes after the beat, not just before it (and then again for it).
LATE = 0.002


def next_beat(after: float, period: float) -> float:
    """The first multiple of ``period`` later than ``after`` (monotonic seconds)."""
    return (math.floor(after / period) + 1) * period


def sleep_until(when: float) -> float:
    """Seconds to sleep from now to wake at ``when`` (monotonic seconds) or just after."""
    return max(0.0, when - time.monotonic() + LATE)
