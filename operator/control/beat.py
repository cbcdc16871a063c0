"""The control plane's timers on a shared beat: multiples of their period on the
monotonic clock, as the nodes' own timers (redslot.node.base.beat, which this side may not
import).

A node woken for a lease renewal, again for a glance and again for its peers' pings spends
about 0.25 ms of CPU on each wake-up, whatever the request. Renewal rounds and idle passes
that start at multiples of their periods reach every node together, with the nodes' own
timers when the clocks are one (a local cluster): a node wakes once for all of it, and so
does the control plane for its two loops.
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
