"""How often the node's cron runs: ``hz`` times a second while it has work, once a second
while the node rests (a little over a second).

Waking a Python process costs far more than waking redis-server (about 60-100 us of CPU
on a loaded 2-core machine, against a few for Redis), so an idle node woken ``hz`` times a
second spends most of its CPU on the wake-ups alone. A node rests when, for the last
second, clients sent fewer requests than the cron has ticks and nothing timed is under
way (keys with a TTL to expire, a child process to reap, replies held for acks, a
replica's full sync, ...: ``Server.cron_needed``). A request reaching a resting node
refreshes the clocks before it runs and brings the cron back right after it, in the same
loop turn (``Server.wake_cron``) when it started something to follow or when the
once-a-second work is due: that tick costs no wake-up of its own, and a node that is sent
something at least once a second (a cluster's node: lease renewals, observations, peer
pings) never wakes for its cron at all. Once-a-second work (client timeouts, the peer links'
resync, memory figures) runs on time either way, as it is timed by the clock, not by
counting ticks.
"""

from __future__ import annotations

# Seconds between ticks of a resting node: a little over the second its once-a-second
# work waits, so that a request arriving now and then gets to do that work in its own turn.
REST_INTERVAL = 1.25


class CronPace:
    __slots__ = ("resting", "second_at", "requests_at_second", "busy")

    def __init__(self, now: float) -> None:
        self.resting = False
        self.second_at = now  # when the last once-a-second work ran
        self.requests_at_second = 0
        self.busy = True  # the first second counts as busy: the node is starting

    def second_due(self, now: float, hz: int) -> bool:
        """Whether once-a-second work is due (a tick's worth of leeway, so that ``hz``
        ticks make one second)."""
        return now - self.second_at >= 1 - 0.5 / hz

    def second_passed(self, now: float, hz: int, requests: int) -> bool:
        """``second_due``, at a tick: it also settles whether the last second was busy
        (``requests`` is the count of clients' requests so far)."""
        if not self.second_due(now, hz):
            return False
        self.second_at = now
        self.busy = requests - self.requests_at_second >= hz
        self.requests_at_second = requests
        return True

    def next_delay(self, hz: int, needed: bool) -> float:
        """Seconds to the next tick; the node rests when it may (at ``hz`` 1 there is
        nothing to gain)."""
        self.resting = not needed and not self.busy and hz > 1
        return REST_INTERVAL if self.resting else 1 / hz
