"""Stored times. The warehouse keeps naive UTC; pages and reports read aware instants and local text.

>>> local_text(datetime(2026, 6, 15, 1, 5), "Asia/Shanghai")
'06-15 09:05'
>>> local_text(None, "Asia/Shanghai")
'—'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

MISSING_TEXT = "—"


def aware_utc(value: Any) -> datetime | None:
    """A stored time (naive UTC datetime or Timestamp, aware datetime, ISO text) as an aware datetime;
    None for a missing value (None, NaN, NaT, NA)."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def required_utc(value: Any, what: str = "time") -> datetime:
    """:func:`aware_utc` for a stored time that cannot be missing (a NOT NULL column)."""
    at = aware_utc(value)
    if at is None:
        raise ValueError(f"{what} is missing")
    return at


def utc_naive(at: datetime) -> datetime:
    """An aware instant as the warehouse stores it (naive UTC)."""
    return at.astimezone(UTC).replace(tzinfo=None)


def local_text(value: Any, tz: str, fmt: str = "%m-%d %H:%M") -> str:
    """A stored time as people in ``tz`` read it; a dash when it is missing."""
    at = aware_utc(value)
    return MISSING_TEXT if at is None else at.astimezone(ZoneInfo(tz)).strftime(fmt)
