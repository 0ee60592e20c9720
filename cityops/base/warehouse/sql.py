"""Small pieces every warehouse query uses: bound times, safe identifiers, local calendar days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from cityops.base.errors import WarehouseError


def utc_naive(value: datetime | None) -> datetime | None:
    """A time as the warehouse stores it: naive UTC (an aware time is converted, a naive one kept)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def quote(name: str) -> str:
    """A table or column name as a quoted identifier; anything but letters, digits and _ is refused."""
    if not name.replace("_", "").isalnum():
        raise WarehouseError(f"refusing unsafe identifier {name!r}")
    return f'"{name}"'


def local_day(column: str) -> str:
    """SQL for the calendar day, in the timezone bound as ``$tz``, of a UTC timestamp expression."""
    return f"CAST((({column} AT TIME ZONE 'UTC') AT TIME ZONE $tz) AS DATE)"


def metric_pivots(metrics: Sequence[str]) -> str:
    """SQL columns turning long rows (metric, value) into one column per metric.

    Binds each metric's name as a ``?`` parameter, in order."""
    return ", ".join(f"max(value) FILTER (WHERE metric = ?) AS {quote(m)}" for m in metrics)
