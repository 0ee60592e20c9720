"""Clocks: the one place that says what time it is.

Everything that needs "now" (feed health, watermarks, the demo feed server, the scheduler's
evaluation ticks) takes a :class:`Clock` instead of calling ``datetime.now``. Production uses
:class:`SystemClock`; the demo uses :class:`SimulatedClock`, which starts at a scenario instant and
runs faster than real time so a rainstorm unfolds in minutes.

All clocks return timezone-aware UTC datetimes.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def to_real_seconds(self, simulated: timedelta) -> float:
        """How many wall-clock seconds pass while ``simulated`` passes on this clock."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def to_real_seconds(self, simulated: timedelta) -> float:
        return simulated.total_seconds()


class SimulatedClock:
    """A clock that starts at ``start`` and advances ``speed`` times faster than real time.

    >>> c = SimulatedClock(datetime(2026, 6, 1, tzinfo=UTC), speed=60)
    >>> c.to_real_seconds(timedelta(minutes=5))
    5.0
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock start must be timezone-aware (UTC)")
        if speed <= 0:
            raise ValueError(f"SimulatedClock speed must be positive, got {speed}")
        self._start = start.astimezone(UTC)
        self._speed = float(speed)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        with self._lock:
            elapsed = time.monotonic() - self._t0
        return self._start + timedelta(seconds=elapsed * self._speed)

    def to_real_seconds(self, simulated: timedelta) -> float:
        return simulated.total_seconds() / self._speed


class FixedClock:
    """A clock that stands still until moved; for tests."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock instant must be timezone-aware (UTC)")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def to_real_seconds(self, simulated: timedelta) -> float:
        return simulated.total_seconds()
