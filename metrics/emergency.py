"""Emergency incidents: open incidents by type and class, new/closed per period, response and handling times.

Incident classes (standards §2.2; 突发事件应对法 Art. 3 and the national plans' numbering): the warehouse's
``severity`` 1–4 is Ⅰ 特别重大 (1, most severe), Ⅱ 重大, Ⅲ 较大, Ⅳ 一般.

Everything is computed **as of** an instant ``as_of`` (naive UTC, like the warehouse) from the
incidents' timestamps, so the same code answers "now" and any past instant (back-testing):

* an incident exists once ``reported_at ≤ as_of``;
* it is *closed* at ``as_of`` when ``closed_at ≤ as_of``; a row whose ``status`` is ``closed`` but has
  no ``closed_at`` is treated as closed (its closing time is unknown, so it cannot be counted as
  open — convention);
* otherwise it is *dispatched* when ``dispatched_at ≤ as_of`` and *open* (awaiting dispatch) if not.
  "Active" = open + dispatched.

Times: response time = ``dispatched_at − reported_at``; handling time = ``closed_at − reported_at``, both
in minutes, counted only when the end is at or before ``as_of``. Negative durations (clock errors at
the source) are left out. Percentiles use numpy's default linear interpolation.
Periods (hour / day) are cut in the city's local timezone (``tz``, default ``Asia/Shanghai``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "ALL_TYPES",
    "SEVERITY_CLASSES",
    "incident_state",
    "new_and_closed",
    "open_incidents",
    "response_stats",
    "severity_class",
]

#: severity → (Roman numeral, Chinese class, English class); 突发事件应对法 Art. 3 / national plans.
SEVERITY_CLASSES: dict[int, tuple[str, str, str]] = {
    1: ("Ⅰ", "特别重大", "extraordinarily serious"),
    2: ("Ⅱ", "重大", "major"),
    3: ("Ⅲ", "较大", "relatively major"),
    4: ("Ⅳ", "一般", "ordinary"),
}
#: The ``type`` value of the all-types summary row of :func:`response_stats`.
ALL_TYPES = "all"

_TS = ("reported_at", "dispatched_at", "closed_at")


def severity_class(severity: object, lang: str = "zh") -> str:
    """``Ⅰ 特别重大`` … ``Ⅳ 一般`` (or the English name) for a severity 1–4.

    ``""`` when missing or invalid.
    """
    try:
        roman, zh, en = SEVERITY_CLASSES[int(severity)]  # type: ignore[call-overload]
    except (TypeError, ValueError, KeyError):
        return ""
    return f"{roman} {zh if lang == 'zh' else en}"


def _prepared(incidents: pd.DataFrame) -> pd.DataFrame:
    """A copy with the three timestamp columns present and parsed."""
    data = incidents.copy()
    for col in _TS:
        if col not in data.columns:
            data[col] = pd.NaT
        data[col] = pd.to_datetime(data[col])
    return data


def incident_state(incidents: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.Series:
    """Each incident's state at ``as_of``.

    One of ``not_reported | open | dispatched | closed`` (see the module docstring).
    """
    data = _prepared(incidents)
    t = pd.Timestamp(as_of)
    status = data["status"].astype(object) if "status" in data.columns else pd.Series(None, index=data.index)
    closed = (data["closed_at"] <= t) | (data["closed_at"].isna() & (status == "closed"))
    dispatched = data["dispatched_at"] <= t
    state = np.select(
        [~(data["reported_at"] <= t), closed, dispatched],
        ["not_reported", "closed", "dispatched"],
        default="open",
    )
    return pd.Series(state, index=data.index, name="state")


def open_incidents(
    incidents: pd.DataFrame, as_of: pd.Timestamp | str, *, by_district: bool = False
) -> pd.DataFrame:
    """Active incidents at ``as_of`` counted by type and severity class (only non-zero combinations).

    Columns: ``[district_code,] type, severity, class_roman, class_zh, class_en, open, dispatched,
    active`` (open = awaiting dispatch; active = open + dispatched), sorted by severity then type.
    """
    data = _prepared(incidents)
    data["state"] = incident_state(data, as_of)
    active = data[data["state"].isin(["open", "dispatched"])]
    keys = (["district_code"] if by_district else []) + ["type", "severity"]
    columns = [*keys, "class_roman", "class_zh", "class_en", "open", "dispatched", "active"]
    if active.empty:
        return pd.DataFrame(columns=columns)
    counts = (
        pd.crosstab([active[k] for k in keys], active["state"])
        .reindex(columns=["open", "dispatched"], fill_value=0)
        .reset_index()
    )
    counts.columns.name = None
    counts["severity"] = counts["severity"].astype("int64")
    counts["active"] = counts["open"] + counts["dispatched"]
    counts["class_roman"] = counts["severity"].map(lambda s: SEVERITY_CLASSES.get(int(s), ("", "", ""))[0])
    counts["class_zh"] = counts["severity"].map(lambda s: SEVERITY_CLASSES.get(int(s), ("", "", ""))[1])
    counts["class_en"] = counts["severity"].map(lambda s: SEVERITY_CLASSES.get(int(s), ("", "", ""))[2])
    return counts.sort_values(["severity", *keys], kind="stable").loc[:, columns].reset_index(drop=True)


def new_and_closed(
    incidents: pd.DataFrame,
    as_of: pd.Timestamp | str,
    *,
    freq: Literal["h", "D"] = "h",
    periods: int = 24,
    tz: str = "Asia/Shanghai",
) -> pd.DataFrame:
    """Incidents reported (``new``) and closed (``closed``) per local hour or day, the last ``periods``
    periods up to and including the one containing ``as_of``; events after ``as_of`` are not counted
    (so the current period is partial). Columns: ``period_start`` (tz-aware, local), ``period_start_utc``
    (naive UTC), ``new``, ``closed``. Empty periods are present with 0.
    """
    if freq not in ("h", "D"):
        raise ValueError(f"freq must be 'h' or 'D', got {freq!r}")
    data = _prepared(incidents)
    t = pd.Timestamp(as_of)
    last = t.tz_localize("UTC").tz_convert(tz).floor(freq)
    if freq == "D":
        starts = pd.DatetimeIndex([last - pd.DateOffset(days=k) for k in range(periods - 1, -1, -1)])
    else:
        starts = pd.date_range(end=last, periods=periods, freq="h")

    def count(column: str) -> pd.Series:
        """Events of ``column`` at or before ``as_of`` per local period start."""
        when = data[column][data[column] <= t].dt.tz_localize("UTC").dt.tz_convert(tz).dt.floor(freq)
        return when.value_counts().reindex(starts, fill_value=0)

    out = pd.DataFrame({"period_start": starts})
    out["period_start_utc"] = starts.tz_convert("UTC").tz_localize(None).astype("datetime64[us]")
    out["new"] = count("reported_at").to_numpy(dtype="int64")
    out["closed"] = count("closed_at").to_numpy(dtype="int64")
    return out


def _stats(minutes: pd.Series, prefix: str) -> dict[str, Any]:
    """Count, median and p90 of non-negative durations (minutes) with column ``prefix``."""
    values = minutes.dropna().to_numpy(dtype="float64")
    values = values[values >= 0]
    return {
        f"{prefix}_count": int(values.size),
        f"{prefix}_median_min": float(np.median(values)) if values.size else float("nan"),
        f"{prefix}_p90_min": float(np.percentile(values, 90)) if values.size else float("nan"),
    }


def response_stats(
    incidents: pd.DataFrame,
    as_of: pd.Timestamp | str,
    *,
    since: pd.Timestamp | str | None = None,
    include_all: bool = True,
) -> pd.DataFrame:
    """Response (dispatched − reported) and handling (closed − reported) times per incident type, in minutes.

    Only incidents reported in ``[since, as_of]`` (``since=None``: all up to ``as_of``) and only
    intervals that had ended by ``as_of``. Columns: ``type, response_count, response_median_min,
    response_p90_min, handling_count, handling_median_min, handling_p90_min``; with ``include_all`` a
    last row of type :data:`ALL_TYPES` covers every type.
    """
    data = _prepared(incidents)
    t = pd.Timestamp(as_of)
    keep = data["reported_at"] <= t
    if since is not None:
        keep &= data["reported_at"] >= pd.Timestamp(since)
    data = data[keep]
    response = ((data["dispatched_at"] - data["reported_at"]).dt.total_seconds() / 60.0).where(
        data["dispatched_at"] <= t
    )
    handling = ((data["closed_at"] - data["reported_at"]).dt.total_seconds() / 60.0).where(
        data["closed_at"] <= t
    )
    groups: list[tuple[str, pd.Index]] = [(str(k), g.index) for k, g in data.groupby("type", sort=True)]
    if include_all:
        groups.append((ALL_TYPES, data.index))
    rows = [
        {"type": name, **_stats(response.loc[idx], "response"), **_stats(handling.loc[idx], "handling")}
        for name, idx in groups
    ]
    columns = [
        "type",
        "response_count",
        "response_median_min",
        "response_p90_min",
        "handling_count",
        "handling_median_min",
        "handling_p90_min",
    ]
    return pd.DataFrame(rows, columns=columns)
