"""INFO's instantaneous rates (ops/sec, network kbps): sampled by the server's cron."""

from __future__ import annotations

import time

METRIC_SAMPLES = 16


class InstantaneousMetric:
    """trackInstantaneousMetric: a rate averaged over the last 16 samples taken every 100 ms."""

    __slots__ = ("samples", "idx", "last_value", "last_time")

    def __init__(self) -> None:
        self.samples = [0.0] * METRIC_SAMPLES
        self.idx = 0
        self.last_value = 0
        self.last_time = time.monotonic()

    def track(self, value: int) -> None:
        now = time.monotonic()
        elapsed = now - self.last_time
        if elapsed <= 0:
            return
        self.samples[self.idx] = (value - self.last_value) / elapsed
        self.idx = (self.idx + 1) % METRIC_SAMPLES
        self.last_value, self.last_time = value, now

    def rate(self) -> float:
        return sum(self.samples) / METRIC_SAMPLES
