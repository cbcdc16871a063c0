"""Timers on a shared beat (redslot/common/beat.py: the nodes' and the control plane's)."""

from __future__ import annotations

import time

from redslot.common import beat


def test_the_next_beat_is_the_first_multiple_of_the_period_after() -> None:
    assert beat.next_beat(10.0, 0.5) == 10.5
    assert beat.next_beat(10.2, 0.5) == 10.5
    assert beat.next_beat(10.49, 1.0) == 11.0
    assert beat.next_beat(14.999, 5.0) == 15.0


def test_a_sleep_until_a_beat_ends_just_after_it() -> None:
    when = time.monotonic() + 0.25
    delay = beat.sleep_until(when)
    assert when - time.monotonic() < delay <= when - time.monotonic() + beat.LATE + 0.01
    assert beat.sleep_until(time.monotonic() - 1) == 0.0
