"""The query plan, which keeps every range interactive, and the read of one series.

Raw observations (bucketed so a series never exceeds :data:`MAX_POINTS`) up to :data:`RAW_MAX`, hourly
rollups up to :data:`HOURLY_MAX`, daily rollups beyond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd

from cityops.base.domains import INCIDENT, Domain
from dashboard.explore.aqi import aqi_heatmap, aqi_series, is_aqi
from dashboard.explore.catalog import INCIDENT_METRIC
from dashboard.explore.view import ExploreState, local_bounds

Resolution = Literal["raw", "hourly", "daily"]

RANGE_SPANS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}
#: Raw observations are read (in buckets) up to this span, hourly rollups up to HOURLY_MAX, daily beyond.
RAW_MAX = timedelta(days=2)
HOURLY_MAX = timedelta(days=60)
#: At most this many points per series reach the browser.
MAX_POINTS = 2000
#: Metrics whose buckets add up (an amount per interval) rather than average.
SUM_METRICS = {("rain", "rain_mm"), ("incident", INCIDENT_METRIC)}


def time_window(state: ExploreState, now: datetime, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC: the last span up to ``now``, or the custom local range (days: the end day
    included; times of day: up to the end minute)."""
    if state.range == "custom" and state.start is not None and state.end is not None:
        zone = ZoneInfo(tz)
        lo, hi = local_bounds(state.start, state.end)
        return lo.replace(tzinfo=zone).astimezone(UTC), hi.replace(tzinfo=zone).astimezone(UTC)
    end = now.astimezone(UTC)
    return end - RANGE_SPANS.get(state.range, RANGE_SPANS["24h"]), end


def plan_resolution(start: datetime, end: datetime) -> Resolution:
    """Raw for short ranges, hourly rollups up to HOURLY_MAX, daily rollups beyond."""
    span = end - start
    if span <= RAW_MAX:
        return "raw"
    if span <= HOURLY_MAX:
        return "hourly"
    return "daily"


def bucket_seconds(start: datetime, end: datetime, resolution: Resolution) -> int:
    """Bucket width: whole minutes for raw reads so that a series stays within MAX_POINTS."""
    if resolution == "hourly":
        return 3600
    if resolution == "daily":
        return 86400
    seconds = max(60.0, (end - start).total_seconds() / MAX_POINTS)
    return int(math.ceil(seconds / 60.0) * 60)


@dataclass(frozen=True)
class SeriesQuery:
    """One series to read: a station, or every station of the domain in a district (or the city)."""

    domain: Domain
    metric: str
    start: datetime
    end: datetime
    resolution: Resolution
    step_s: int
    how: Literal["mean", "sum"]
    entity_ids: tuple[str, ...] | None = None
    district: str | None = None
    kind: str | None = None
    per_entity: bool = False


def series_query(
    domain: Domain,
    metric: str,
    start: datetime,
    end: datetime,
    *,
    entity: str | None = None,
    district: str | None = None,
    per_entity: bool = False,
) -> SeriesQuery:
    resolution = plan_resolution(start, end)
    step = bucket_seconds(start, end, resolution)
    if domain.name == INCIDENT.name:
        step = max(step, 3600)  # counts per minute are noise; an hour is the finest useful bucket
    how: Literal["mean", "sum"] = "sum" if (domain.name, metric) in SUM_METRICS else "mean"
    return SeriesQuery(
        domain,
        metric,
        start,
        end,
        resolution,
        step,
        how,
        (entity,) if entity else None,
        district,
        domain.entity_kind,
        per_entity,
    )


def _zero_fill(frame: pd.DataFrame, start: datetime, end: datetime, step_s: int, tz: str) -> pd.DataFrame:
    """Counts per bucket with the empty buckets as 0 (an hour with no incident is a 0, not a gap)."""
    zone = ZoneInfo(tz)
    if step_s >= 86400:
        first = pd.Timestamp(start.astimezone(zone).date())
        last = pd.Timestamp((end - timedelta(microseconds=1)).astimezone(zone).date())
        grid = pd.date_range(first, last, freq="D")
    else:
        lo = pd.Timestamp(start).tz_convert(zone).tz_localize(None).floor(f"{step_s}s")
        hi = pd.Timestamp(end).tz_convert(zone).tz_localize(None)
        grid = pd.date_range(lo, hi, freq=f"{step_s}s", inclusive="left")
    full = pd.DataFrame({"time": grid.astype("datetime64[us]")})
    frame = frame.assign(time=frame["time"].astype("datetime64[us]"))
    out = full.merge(frame, on="time", how="left")
    for col in ("value", "min", "max", "n"):
        out[col] = out[col].fillna(0.0) if col in out else 0.0
    return out


def read_series(wh: Any, q: SeriesQuery, tz: str) -> pd.DataFrame:
    """The rows of one series (zero-filled for counts; the AQI computed from the concentrations)."""
    if is_aqi(q.domain.name, q.metric):
        return aqi_series(wh, q, tz)
    frame = wh.explore_series(q, tz)
    if q.domain.name == INCIDENT.name:
        frame = _zero_fill(frame, q.start, q.end, q.step_s, tz)
    return frame


def read_heatmap(wh: Any, q: SeriesQuery, tz: str) -> pd.DataFrame:
    """Hour of day × local day of a series: day, hour, value, n."""
    if is_aqi(q.domain.name, q.metric):
        return aqi_heatmap(wh, q, tz)
    return wh.explore_heatmap(q, tz)


def read_newest(wh: Any, q: SeriesQuery) -> datetime | None:
    """The newest observation (naive UTC) behind a series, or ``None``."""
    newest: datetime | None = wh.explore_newest(q)
    return newest
