"""The report window of a day (the 24 hours ending at the cut-off) and the day's report folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SnapshotWindow:
    """The report window of ``day``: [start, end) as aware UTC instants, and the city's timezone."""

    day: date
    start: datetime
    end: datetime
    tz: str

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.tz))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.tz))

    @property
    def aqi_day(self) -> date:
        """The calendar day whose 日报 the report shows: the last complete one at the cut-off."""
        end = self.local_end
        return end.date() - timedelta(days=1)


def snapshot_window(day: date, tz: str, cut_off: time = time(8, 0)) -> SnapshotWindow:
    """The 24 h ending at ``cut_off`` local time on ``day`` (see :mod:`dashboard.snapshot`).

    >>> w = snapshot_window(date(2026, 6, 15), "Asia/Shanghai")
    >>> w.start.isoformat(), w.end.isoformat()
    ('2026-06-14T00:00:00+00:00', '2026-06-15T00:00:00+00:00')
    """
    zone = ZoneInfo(tz)
    end = datetime.combine(day, cut_off, tzinfo=zone)
    start = datetime.combine(day - timedelta(days=1), cut_off, tzinfo=zone)
    return SnapshotWindow(day, start.astimezone(UTC), end.astimezone(UTC), tz)


def last_complete_day(now: datetime, tz: str, cut_off: time = time(8, 0)) -> date:
    """The latest report day whose window has ended at ``now``.

    >>> last_complete_day(datetime(2026, 6, 15, 0, 30, tzinfo=UTC), "Asia/Shanghai")  # 08:30 local
    datetime.date(2026, 6, 15)
    >>> last_complete_day(datetime(2026, 6, 14, 23, 59, tzinfo=UTC), "Asia/Shanghai")  # 07:59 local
    datetime.date(2026, 6, 14)
    """
    local = now.astimezone(ZoneInfo(tz))
    return (
        local.date() if local.timetz().replace(tzinfo=None) >= cut_off else local.date() - timedelta(days=1)
    )


def snapshot_dir(settings: Any, day: date, out_dir: Path | None = None) -> Path:
    """Where the report of ``day`` lives: ``<out_dir or data_dir/snapshots>/YYYY-MM-DD``."""
    parent = Path(out_dir) if out_dir is not None else Path(settings.storage.data_dir) / "snapshots"
    return parent / day.isoformat()
