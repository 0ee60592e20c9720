"""The air quality index as a metric of the explorer, computed from the stored hourly concentrations.

The AQI is not stored: it is the hourly real-time report (实时报) of the edition in force, computed by
:mod:`metrics.aqi` from the hours in range and the 24 before them (the 2012 edition's moving averages
need them), then bucketed like any stored metric: a station's mean AQI per bucket, and across stations
their mean with the lowest and highest. Daily buckets are the daily report (日报).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

AQI_METRIC = "aqi"
#: The hours before a window that its first hours' moving averages read.
LOOKBACK_S = 24 * 3600

_SERIES = ["time", "value", "min", "max", "n"]


def is_aqi(domain: str, metric: str | None) -> bool:
    return domain == "air" and metric == AQI_METRIC


def hourly_aqi(wh: Any, q: Any, tz: str, *, daily: bool = False) -> pd.DataFrame:
    """``entity_id, t`` (local, naive: the hour's end, or the day for ``daily``) ``, aqi`` in the window."""
    from metrics.aqi import daily_report, realtime_report

    rows = wh.explore_rows(q, lookback_s=LOOKBACK_S)
    if len(rows):
        ts = pd.to_datetime(rows["ts"])
        rows = rows[ts == ts.dt.floor("h")]  # the reports read hourly values stamped on the hour
    if rows.empty:
        return pd.DataFrame({"entity_id": pd.Series(dtype="object"), "t": [], "aqi": []})
    start = pd.Timestamp(q.start).tz_convert("UTC").tz_localize(None)
    end = pd.Timestamp(q.end).tz_convert("UTC").tz_localize(None)
    if daily:
        rep = daily_report(rows, tz=tz)
        first = pd.Timestamp(q.start).tz_convert(tz).tz_localize(None).normalize()
        last = (pd.Timestamp(q.end).tz_convert(tz).tz_localize(None) - pd.Timedelta("1us")).normalize()
        rep = rep[(rep["date"] >= first) & (rep["date"] <= last)]
        t = pd.to_datetime(rep["date"])
    else:
        rep = realtime_report(rows, tz=tz)
        rep = rep[(rep["ts"] >= start) & (rep["ts"] < end)]
        t = pd.to_datetime(rep["ts"]).dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    out = pd.DataFrame(
        {"entity_id": rep["entity_id"].to_numpy(), "t": t.to_numpy(), "aqi": pd.to_numeric(rep["aqi"])}
    )
    return out.dropna(subset=["aqi"]).reset_index(drop=True)


def aqi_series(wh: Any, q: Any, tz: str) -> pd.DataFrame:
    """The AQI series of a query (as :meth:`explore_series` returns a stored metric's)."""
    daily = q.resolution == "daily"
    hours = hourly_aqi(wh, q, tz, daily=daily)
    if hours.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="datetime64[us]" if c == "time" else "float64") for c in _SERIES}
        )
    if daily:
        hours["time"] = hours["t"]
    else:
        # The hour's end stamps the hour (monitoring convention); its bucket is the one it falls in.
        zone_start = pd.Timestamp(q.start).tz_convert(tz).tz_localize(None)
        step = pd.Timedelta(seconds=q.step_s)
        hours["time"] = zone_start.floor(step) + ((hours["t"] - zone_start.floor(step)) // step) * step
    per_station = (
        hours.groupby(["entity_id", "time"])["aqi"].agg(["mean", "min", "max", "count"]).reset_index()
    )
    if q.per_entity or (q.entity_ids is not None and len(q.entity_ids) == 1):
        out = per_station.rename(columns={"mean": "value", "count": "n"})
    else:
        out = (
            per_station.groupby("time")
            .agg(value=("mean", "mean"), min=("min", "min"), max=("max", "max"), n=("count", "sum"))
            .reset_index()
        )
    out["time"] = pd.to_datetime(out["time"]).astype("datetime64[us]")
    cols = [*(["entity_id"] if q.per_entity else []), *_SERIES]
    return out.sort_values([*(["entity_id"] if q.per_entity else []), "time"])[cols].reset_index(drop=True)


def aqi_heatmap(wh: Any, q: Any, tz: str) -> pd.DataFrame:
    """Hour of day × local day of the hourly AQI: day, hour, value (mean over stations), n."""
    hours = hourly_aqi(wh, replace(q, resolution="hourly"), tz)
    if hours.empty:
        return pd.DataFrame({"day": [], "hour": pd.Series(dtype="int64"), "value": [], "n": []})
    t = pd.to_datetime(hours["t"])
    frame = pd.DataFrame({"day": t.dt.normalize(), "hour": t.dt.hour, "value": hours["aqi"]})
    out = frame.groupby(["day", "hour"])["value"].agg(["mean", "count"]).reset_index()
    out = out.rename(columns={"mean": "value", "count": "n"})
    out["day"] = out["day"].dt.date
    return out
