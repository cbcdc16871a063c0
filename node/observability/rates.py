"""INFO's instantaneous rates (ops/sec, network kbps): sampled by the server's cron."""

from __future__ import annotations

import time

METRIC_SAMPLES = 16


class InstantaneousMetric:
    """trackInstantaneousMetric: a rate averaged over the last 16 samples, one per cron tick
    (100 ms at hz 10)."""

    __slots__ = ("samples", "idx", "last_value", "last_time")

    def __init__(self) -> None:
        self.samples = [0.0] * METRIC_SAMPLES
        self.idx = 0
        self.last_value = 0
        self.last_time = time.monotonic()

    def track(self, value: int, period: float) -> None:
        """One sample per ``period`` (the cron's tick) elapsed: a resting node's tick a
        second apart fills ten slots of hz 10 with the same rate, and a tick right after
        the previous one (a request woke the cron) leaves the rate to the next sample."""
        now = time.monotonic()
        elapsed = now - self.last_time
        if elapsed < period / 2:
            return
        rate = (value - self.last_value) / elapsed
        for _ in range(min(round(elapsed / period), METRIC_SAMPLES)):
            self.samples[self.idx] = rate
            self.idx = (self.idx + 1) % METRIC_SAMPLES
        self.last_value, self.last_time = value, now

    def rate(self) -> float:
        return sum(self.samples) / METRIC_SAMPLES
