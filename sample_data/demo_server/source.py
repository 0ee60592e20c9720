"""The city as measured so far: the generator's values up to the clock's now, within the served window."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from cityops.base.clock import Clock
from sample_data.generator import CityGenerator

__all__ = ["MeasuredCity", "Window"]

_ONE_NS = pd.Timedelta(1, "ns")
_CACHED_FRAMES = 12

# (start, end) for the generator: its rows ``start <= ts < end`` are the served ``since < ts <= now``.
Window = tuple[pd.Timestamp, pd.Timestamp]


class MeasuredCity:
    """What the departments can report: nothing later than ``clock.now()``, nothing older than
    ``max_window`` before it. Recent frames are cached (thread-safe) for paging clients."""

    def __init__(self, generator: CityGenerator, clock: Clock, max_window: timedelta) -> None:
        self.generator = generator
        self.clock = clock
        self.max_window = max_window
        self._cache: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        self._cache_lock = threading.Lock()

    def span(self, since: datetime) -> tuple[datetime, datetime] | None:
        """(watermark, now): the watermark moved up to the window's start; ``None`` if nothing is
        left to serve (a watermark at or after now)."""
        now = self.clock.now()
        lo = max(since, now - self.max_window)
        if lo >= now:
            return None
        return lo, now

    def window(self, since: datetime) -> Window | None:
        """(start, end) for the generator so that rows satisfy since < ts <= now."""
        span = self.span(since)
        if span is None:
            return None
        lo, now = span
        return pd.Timestamp(lo) + _ONE_NS, pd.Timestamp(now) + _ONE_NS

    def frame(self, domain: str, window: Window, step_s: int) -> pd.DataFrame:
        """The generator's ``domain`` frame for ``window`` (``step_s``: the domain's grid step)."""
        start, end = window
        step = pd.Timedelta(seconds=step_s)
        # Key on the grid instants covered, so a running clock still hits the cache between ticks.
        key = (domain, start.ceil(step), end.ceil(step))
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        frame = getattr(self.generator, domain)(start, end)
        with self._cache_lock:
            self._cache[key] = frame
            while len(self._cache) > _CACHED_FRAMES:
                self._cache.popitem(last=False)
        return frame

    def incidents(self, since: datetime, lookback: timedelta) -> tuple[pd.DataFrame, datetime] | None:
        """Incidents reported from ``lookback`` before the served watermark up to now, in their state as
        of now, with that watermark; ``None`` if nothing is left to serve."""
        span = self.span(since)
        if span is None:
            return None
        lo, now = span
        return self.generator.incidents(pd.Timestamp(lo - lookback), pd.Timestamp(now) + _ONE_NS, now), lo
