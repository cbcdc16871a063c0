"""The latency monitor: per-event history of spikes over latency-monitor-threshold (ms).

Each event ("command", "fast-command", "expire-cycle" ...) keeps its last 160 samples,
at most one per second (the worst of that second), and its worst latency ever, as
latency.c does. ``analyse`` gives the figures LATENCY DOCTOR reports.
"""

from __future__ import annotations

import time
from collections import deque

HISTORY_LEN = 160


class LatencyEvent:
    __slots__ = ("samples", "max")

    def __init__(self) -> None:
        self.samples: deque[tuple[int, int]] = deque(maxlen=HISTORY_LEN)
        self.max = 0


class EventAnalysis:
    """analyzeLatencyForEvent: the figures of one event's stored samples."""

    __slots__ = ("samples", "min", "max", "avg", "mad", "period", "worst")

    def __init__(self, event: LatencyEvent, now: int) -> None:
        latencies = [ms for _, ms in event.samples]
        self.samples = len(latencies)
        self.min = min(latencies)
        self.max = max(latencies)
        self.avg = sum(latencies) // self.samples
        self.mad = sum(abs(ms - self.avg) for ms in latencies) // self.samples
        oldest = min(t for t, _ in event.samples)
        self.period = (now - oldest or 1) / self.samples
        self.worst = event.max


class LatencyMonitor:
    def __init__(self) -> None:
        self.events: dict[str, LatencyEvent] = {}

    def add(self, event: str, ms: int) -> None:
        """latencyAddSample: one sample per second per event, keeping the worst."""
        now = int(time.time())
        ev = self.events.get(event)
        if ev is None:
            ev = self.events[event] = LatencyEvent()
        ev.max = max(ev.max, ms)
        if ev.samples and ev.samples[-1][0] == now:
            last = ev.samples[-1]
            ev.samples[-1] = (now, max(last[1], ms))
        else:
            ev.samples.append((now, ms))

    def reset(self, names: list[str] | None = None) -> int:
        if names is None:
            count = len(self.events)
            self.events.clear()
            return count
        count = 0
        for name in names:
            if self.events.pop(name, None) is not None:
                count += 1
        return count

    def analyse(self) -> dict[str, EventAnalysis]:
        now = int(time.time())
        return {name: EventAnalysis(ev, now) for name, ev in self.events.items() if ev.samples}
