"""Hydrology: exceedances of characteristic levels, flood signal levels, rate of rise and time to a level.

Sources (standards §3): characteristic levels (警戒 warning, 保证 guaranteed, 汛限 flood-limit, 历史最高
historical) §3.1; the flood signal criteria of SL 758-2018 / MWR 2014 wording §3.2; the dashboard rule
set §3.3, implemented here:

* Exceedances: ``超警 = H − H_warn``, ``超保 = H − H_guar``, ``超汛限 = Z − Z_fl``, ``超历史 = H − H_hist``
  (metres, signed; NaN where the reference level is missing). Bulletins report them when > 0.
* Signal level of a station, most severe criterion wins:

  ===========  ==========================================================================
  red          ``H ≥ H_hist``  (or ``Q ≥ Q50`` when the station has ``q50_m3s``)
  orange       ``H ≥ H_guar``  (or ``Q ≥ Q20``)
  yellow       ``H ≥ H_warn``  (or ``Q ≥ Q5``)
  blue         ``H ≥ H_warn − δ``, or a forecast reaches ``H_warn`` within the ``lead`` horizon
  ===========  ==========================================================================

  ``δ`` ("接近") is **not standardised** (§3.3): :data:`APPROACH_M` = 0.3 m by default (the low end of
  the 0.3–0.5 m suggested for large rivers), overridable per station with an ``approach_m`` column.
  A prediction alone never raises more than blue unless ``escalate_within`` is given (§3.3 item 3,
  "escalate blue→yellow early if the ETA is less than the lead time"; off by default), and never red.
* **Reservoirs (convention)**: ``Z ≥ Z_fl`` (超汛限) → yellow; ``Z ≥ Z_fl − δ`` or a forecast reaching
  ``Z_fl`` within the horizon → blue. Any river-style references a reservoir also carries (warning,
  guaranteed, historical) apply as for rivers and the most severe level wins. Rationale: holding water
  above the flood-limit level in flood season is a dispatch breach that needs attention (防汛条例
  Art. 26) but is not, by itself, a threat at the level of the guaranteed level.
* Rate of rise ``r = ΔH/Δt`` in m/h over 1 h and 3 h, from the reading nearest to ``t − window``
  within a tolerance (:data:`RISE_TOLERANCE`, 10 min by convention; NaN when no reading is that close),
  divided by the *actual* time between the two readings.
* Time to a level (:func:`eta_to_level`): a **Theil–Sen** line over the last ``window`` (3 h) of
  readings. Slope = median of all pairwise slopes ``(H_j − H_i)/(t_j − t_i)``; intercept = median of
  ``H_i − b·t_i``; the ETA is where the line reaches the target. The band uses the distribution-free
  confidence interval of Sen's slope (Sen 1968; Gilbert 1987 §16.5): with ``N`` pairwise slopes sorted
  ascending and ``C = z_(1+c)/2 · sqrt(n(n−1)(2n+5)/18)``, the bounds are the ``(N − C)/2``-th and the
  ``(N + C)/2 + 1``-th slopes (1-based, rounded to the nearest rank). Each bound slope gets its own
  median intercept, so the lines pivot about the data; the steeper line gives the earliest ETA and
  the shallower the latest (``None`` when the shallower slope is not rising: it may never arrive).
  Without scipy, ``z`` comes from :class:`statistics.NormalDist`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from metrics.levels import Level, level_label, severity_rank

__all__ = [
    "APPROACH_M",
    "ETA_CONFIDENCE",
    "ETA_MIN_POINTS",
    "ETA_WINDOW",
    "FORECAST_LEAD",
    "RISE_TOLERANCE",
    "LevelEta",
    "eta_to_level",
    "exceedance",
    "flood_signal_level",
    "rise_at_last",
    "rise_rate",
    "theil_sen",
    "water_state",
    "worst_signal",
]

#: "Approaching the warning level" margin δ in metres (convention; §3.3 suggests 0.3–0.5 m on large rivers).
APPROACH_M = 0.3
#: Forecast horizon: a predicted crossing of the warning level within this time raises blue (convention).
FORECAST_LEAD = pd.Timedelta("3h")
#: Tolerance around ``t − window`` for the earlier reading of a rate of rise (convention: two 5-min steps).
RISE_TOLERANCE = pd.Timedelta("10min")
#: Trend window, minimum points and confidence of the ETA band (convention).
ETA_WINDOW = pd.Timedelta("3h")
ETA_MIN_POINTS = 4
ETA_CONFIDENCE = 0.90

_REF_COLUMNS = {
    "over_warning_m": "warning_level_m",
    "over_guaranteed_m": "guaranteed_level_m",
    "over_flood_limit_m": "flood_limit_level_m",
    "over_historical_m": "historical_level_m",
}
#: Chinese bulletin names of the exceedance columns.
EXCEEDANCE_NAMES_ZH = {
    "over_warning_m": "超警",
    "over_guaranteed_m": "超保",
    "over_flood_limit_m": "超汛限",
    "over_historical_m": "超历史",
}


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    """A numeric column as float64 (all NaN when the column is absent)."""
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _with_station(level: pd.DataFrame, station: pd.DataFrame) -> pd.DataFrame:
    """``level`` rows joined with their station's catalogue columns (left join on ``entity_id``)."""
    extra = [c for c in station.columns if c not in level.columns or c == "entity_id"]
    return level.merge(station.loc[:, extra].drop_duplicates("entity_id"), on="entity_id", how="left")


def exceedance(level: pd.DataFrame, station: pd.DataFrame) -> pd.DataFrame:
    """超警 / 超保 / 超汛限 / 超历史 in metres for each row of ``level`` (``entity_id, level_m``).

    ``station`` is the hydro-station catalogue (``warning_level_m, guaranteed_level_m,
    flood_limit_level_m, historical_level_m``). Returns ``entity_id`` and the four signed
    ``over_*_m`` columns, NaN where the station has no such reference level (or no reading).
    """
    merged = _with_station(level.loc[:, ["entity_id", "level_m"]], station)
    h = _num(merged, "level_m")
    out = pd.DataFrame({"entity_id": merged["entity_id"]})
    for name, ref in _REF_COLUMNS.items():
        out[name] = h - _num(merged, ref)
    return out


def _eta_hours(forecast_eta: pd.Series | dict[Any, Any] | None, ids: pd.Series) -> pd.Series:
    """Forecast ETA per row in hours (NaN when unknown) from a Series or dict of Timedelta keyed by entity."""
    if forecast_eta is None:
        return pd.Series(np.nan, index=ids.index)
    mapping = (
        pd.Series(forecast_eta, dtype=object) if isinstance(forecast_eta, dict) else pd.Series(forecast_eta)
    )
    hours = pd.to_timedelta(mapping, errors="coerce").dt.total_seconds() / 3600.0
    hours = hours[~hours.index.duplicated(keep="last")]
    return pd.Series(hours.reindex(ids.to_numpy()).to_numpy(dtype="float64"), index=ids.index)


def flood_signal_level(
    level: pd.DataFrame,
    station: pd.DataFrame,
    *,
    approach_m: float = APPROACH_M,
    forecast_eta: pd.Series | dict[Any, Any] | None = None,
    lead: pd.Timedelta | str = FORECAST_LEAD,
    escalate_within: pd.Timedelta | str | None = None,
) -> pd.DataFrame:
    """Flood signal level per station reading (standards §3.3; reservoir mapping in the module docstring).

    ``level``: ``entity_id, level_m`` (and optionally ``discharge_m3s``). ``station``: the catalogue; an
    ``approach_m`` column overrides the default δ per station, and optional ``q5_m3s, q20_m3s, q50_m3s``
    columns add the return-period discharge criteria. ``forecast_eta``: the predicted time until the
    station reaches its primary reference (warning level; flood-limit level for a reservoir without a
    warning level), as a Series or dict of Timedelta keyed by ``entity_id`` (NaT/None = no crossing
    predicted). A predicted crossing within
    ``lead`` raises blue; within ``escalate_within`` (if given) it raises yellow.

    Returns ``entity_id, signal_level`` (``Int64`` 1 red … 4 blue, ``<NA>`` none), ``signal_reason``
    (``historical | q50 | guaranteed | q20 | warning | q5 | flood_limit | approach |
    flood_limit_approach | forecast | ""``), ``signal_zh``, ``signal_en``.
    """
    merged = _with_station(
        level.loc[:, [c for c in ("entity_id", "level_m", "discharge_m3s") if c in level]], station
    )
    h = _num(merged, "level_m")
    q = _num(merged, "discharge_m3s")
    warn, guar, hist, flim = (
        _num(merged, c)
        for c in ("warning_level_m", "guaranteed_level_m", "historical_level_m", "flood_limit_level_m")
    )
    delta = _num(merged, "approach_m").fillna(approach_m)
    is_res = (
        (merged["station_type"] == "reservoir")
        if "station_type" in merged
        else pd.Series(False, merged.index)
    )
    eta_h = _eta_hours(forecast_eta, merged["entity_id"])
    lead_h = pd.Timedelta(lead).total_seconds() / 3600.0
    esc_h = None if escalate_within is None else pd.Timedelta(escalate_within).total_seconds() / 3600.0
    has_target = warn.notna() | (is_res & flim.notna())

    # (condition, level, reason) from the most to the least severe; comparisons with NaN are False.
    rules: list[tuple[pd.Series, Level, str]] = [
        (h >= hist, Level.RED, "historical"),
        (q >= _num(merged, "q50_m3s"), Level.RED, "q50"),
        (h >= guar, Level.ORANGE, "guaranteed"),
        (q >= _num(merged, "q20_m3s"), Level.ORANGE, "q20"),
        (h >= warn, Level.YELLOW, "warning"),
        (q >= _num(merged, "q5_m3s"), Level.YELLOW, "q5"),
        (is_res & (h >= flim), Level.YELLOW, "flood_limit"),
    ]
    if esc_h is not None:
        rules.append((has_target & (eta_h <= esc_h), Level.YELLOW, "forecast"))
    rules += [
        (h >= warn - delta, Level.BLUE, "approach"),
        (is_res & (h >= flim - delta), Level.BLUE, "flood_limit_approach"),
        (has_target & (eta_h <= lead_h), Level.BLUE, "forecast"),
    ]
    numbers = np.full(len(merged), np.nan)
    reasons = np.full(len(merged), "", dtype=object)
    for cond, lv, reason in reversed(rules):  # least severe first, so the most severe overwrites
        mask = cond.fillna(False).to_numpy(dtype=bool)
        numbers[mask] = float(lv)
        reasons[mask] = reason
    out = pd.DataFrame({"entity_id": merged["entity_id"]})
    out["signal_level"] = pd.array([pd.NA if np.isnan(v) else int(v) for v in numbers], dtype="Int64")
    out["signal_reason"] = reasons
    out["signal_zh"] = [level_label(v, "zh") for v in out["signal_level"]]
    out["signal_en"] = [level_label(v, "en") for v in out["signal_level"]]
    return out


def rise_rate(
    series: pd.Series,
    window: pd.Timedelta | str = "1h",
    *,
    tolerance: pd.Timedelta | str = RISE_TOLERANCE,
) -> pd.Series:
    """Rate of rise in m/h at every reading of one station's level series (indexed by timestamp).

    For a reading at ``t`` the earlier reading is the one nearest to ``t − window`` within
    ``tolerance``; the rate is ``(H(t) − H(t'))/(t − t')`` in m/h (the actual elapsed time, so a reading
    a few minutes off the nominal window is still exact). NaN where no reading is close enough (gaps)
    or the level is missing. Unsorted input and NaN readings are handled (NaNs are gaps). Returned on
    the sorted, de-duplicated index of the non-missing readings.
    """
    win, tol = pd.Timedelta(window), pd.Timedelta(tolerance)
    s = pd.to_numeric(series, errors="coerce").dropna()
    s = s[~s.index.duplicated(keep="last")].sort_index()
    if s.empty:
        return pd.Series(dtype="float64", name="rise_m_per_h")
    ts = pd.DatetimeIndex(s.index)
    left = pd.DataFrame({"target": ts - win, "ts": ts, "h": s.to_numpy(dtype="float64")})
    right = pd.DataFrame({"target": ts, "t0": ts, "h0": s.to_numpy(dtype="float64")})
    left["target"] = left["target"].astype(right["target"].dtype)
    matched = pd.merge_asof(left, right, on="target", direction="nearest", tolerance=tol)
    dt_h = (matched["ts"] - matched["t0"]).dt.total_seconds() / 3600.0
    rate = (matched["h"] - matched["h0"]) / dt_h.where(dt_h > 0)
    return pd.Series(rate.to_numpy(dtype="float64"), index=ts, name="rise_m_per_h")


def rise_at_last(
    series: pd.Series, window: pd.Timedelta | str = "1h", *, tolerance: pd.Timedelta | str = RISE_TOLERANCE
) -> float:
    """:func:`rise_rate` at the latest reading only (same definition), without building frames: the
    per-tick path calls it for every station."""
    win, tol = pd.Timedelta(window), pd.Timedelta(tolerance)
    s = pd.to_numeric(series, errors="coerce").dropna()
    if s.empty:
        return math.nan
    s = s[~s.index.duplicated(keep="last")].sort_index()
    t = pd.DatetimeIndex(s.index).as_unit("ns").asi8
    h = s.to_numpy(dtype="float64")
    target = t[-1] - win.value
    j = int(np.searchsorted(t, target))
    best = -1
    for k in (j - 1, j):
        if (
            0 <= k < len(t)
            and abs(t[k] - target) <= tol.value
            and (best < 0 or abs(t[k] - target) < abs(t[best] - target))
        ):
            best = k
    if best < 0 or t[-1] <= t[best]:
        return math.nan
    return float((h[-1] - h[best]) / ((t[-1] - t[best]) / 3.6e12))


def theil_sen(
    x: ArrayLike, y: ArrayLike, *, confidence: float = ETA_CONFIDENCE
) -> tuple[float, float, float, float]:
    """Theil–Sen fit: ``(slope, intercept, slope_low, slope_high)`` (module docstring for the band).

    Slope = median of pairwise slopes over pairs with distinct ``x``; intercept = median of ``y − slope·x``.
    NaN pairs are ignored. All NaN when fewer than two distinct ``x``.
    """
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = ~(np.isnan(xa) | np.isnan(ya))
    xa, ya = xa[ok], ya[ok]
    i, j = np.triu_indices(len(xa), k=1)
    dx = xa[j] - xa[i]
    keep = dx != 0
    slopes = np.sort((ya[j] - ya[i])[keep] / dx[keep])
    if slopes.size == 0:
        return (math.nan, math.nan, math.nan, math.nan)
    slope = float(np.median(slopes))
    intercept = float(np.median(ya - slope * xa))
    n, big_n = len(xa), slopes.size
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    c = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo_rank = round((big_n - c) / 2.0)  # 1-based rank
    hi_rank = round((big_n + c) / 2.0) + 1
    low = float(slopes[min(max(lo_rank, 1), big_n) - 1])
    high = float(slopes[min(max(hi_rank, 1), big_n) - 1])
    return (slope, intercept, low, high)


@dataclass(frozen=True)
class LevelEta:
    """A predicted crossing of a target level, with its band (all times naive UTC like the inputs)."""

    eta: pd.Timestamp
    earliest: pd.Timestamp
    latest: pd.Timestamp | None  # None: the slow edge of the band does not rise, so it may never arrive
    slope_m_per_h: float
    slope_low_m_per_h: float
    slope_high_m_per_h: float
    level_now_m: float  # the trend line's level at ``now``
    n_points: int
    confidence: float
    now: pd.Timestamp

    @property
    def minutes(self) -> float:
        """Minutes from ``now`` to the central ETA (for "expected in ~35 min")."""
        return float((self.eta - self.now).total_seconds() / 60.0)


def eta_to_level(
    times: ArrayLike | pd.Series | pd.DatetimeIndex,
    levels: ArrayLike | pd.Series,
    target: float,
    *,
    now: pd.Timestamp | str,
    window: pd.Timedelta | str = ETA_WINDOW,
    min_points: int = ETA_MIN_POINTS,
    confidence: float = ETA_CONFIDENCE,
) -> LevelEta | None:
    """When a station's level is expected to reach ``target``, from a Theil–Sen trend with a band.

    Uses the readings with ``now − window < t ≤ now`` (NaN levels dropped). Returns ``None`` when there are
    fewer than ``min_points`` readings, the target is missing, the latest reading is already at or
    above the target, or the trend is not rising (slope ≤ 0). If the trend line is already at the target
    while the latest reading is below it, the ETA is ``now``.
    """
    if target is None or (isinstance(target, float) and math.isnan(target)):
        return None
    now_ts = pd.Timestamp(now)
    t = pd.DatetimeIndex(pd.to_datetime(np.asarray(times)))
    h = np.asarray(pd.to_numeric(pd.Series(np.asarray(levels)), errors="coerce"), dtype=np.float64)
    keep = (t > now_ts - pd.Timedelta(window)) & (t <= now_ts) & ~np.isnan(h)
    t, h = t[keep], h[keep]
    if len(h) < min_points:
        return None
    order = np.argsort(t.asi8, kind="stable")
    t, h = t[order], h[order]
    if h[-1] >= target:
        return None
    x = np.asarray((t - now_ts).total_seconds() / 3600.0, dtype=np.float64)  # hours relative to now (≤ 0)
    slope, intercept, low, high = theil_sen(x, h, confidence=confidence)
    if not slope > 0:
        return None

    def crossing(b: float) -> pd.Timestamp | None:
        """Crossing time of the line with slope ``b`` through the data (``None`` if not rising)."""
        if not b > 0:
            return None
        a = float(np.median(h - b * x))  # this slope's own intercept: the line pivots about the data
        hours = max((target - a) / b, 0.0)
        return (now_ts + pd.Timedelta(hours=hours)).round("s")  # whole seconds, like the warehouse's times

    eta, earliest = crossing(slope), crossing(high)
    if eta is None or earliest is None:  # cannot happen: high ≥ slope > 0
        return None
    return LevelEta(
        eta=eta,
        earliest=min(earliest, eta),
        latest=None if (late := crossing(low)) is None else max(late, eta),
        slope_m_per_h=slope,
        slope_low_m_per_h=low,
        slope_high_m_per_h=high,
        level_now_m=intercept,
        n_points=len(h),
        confidence=confidence,
        now=now_ts,
    )


def _primary_target(row: pd.Series) -> tuple[str, float]:
    """The level an ETA is computed for: the warning level, else a reservoir's flood-limit level."""
    warn = pd.to_numeric(row.get("warning_level_m"), errors="coerce")
    if pd.notna(warn):
        return ("warning", float(warn))
    flim = pd.to_numeric(row.get("flood_limit_level_m"), errors="coerce")
    if row.get("station_type") == "reservoir" and pd.notna(flim):
        return ("flood_limit", float(flim))
    return ("", math.nan)


def water_state(
    obs: pd.DataFrame,
    stations: pd.DataFrame,
    now: pd.Timestamp | str,
    *,
    approach_m: float = APPROACH_M,
    lead: pd.Timedelta | str = FORECAST_LEAD,
    escalate_within: pd.Timedelta | str | None = None,
    eta_window: pd.Timedelta | str = ETA_WINDOW,
    tolerance: pd.Timedelta | str = RISE_TOLERANCE,
) -> pd.DataFrame:
    """Per-station water state as of ``now`` from a recent window of obs (at least 3 h for the 3 h rate).

    ``obs``: ``entity_id, ts, level_m[, discharge_m3s]`` (readings after ``now`` are ignored);
    ``stations``: the hydro-station catalogue. One row per station with a reading: ``entity_id,
    station_type, district_code, basin, river, ts, age_min, level_m, discharge_m3s``, the four
    ``over_*_m`` exceedances, ``rise_1h_m_per_h, rise_3h_m_per_h``, ``eta_target`` (``warning`` |
    ``flood_limit``), ``eta_target_m``, ``eta_warning, eta_earliest, eta_latest`` (naive UTC
    timestamps, NaT when no crossing is predicted), ``eta_minutes``, and the signal columns of
    :func:`flood_signal_level` (whose forecast criterion uses ``eta_warning``).
    """
    now_ts = pd.Timestamp(now)
    data = obs[pd.to_datetime(obs["ts"]) <= now_ts].copy()
    data["ts"] = pd.to_datetime(data["ts"])
    data["level_m"] = pd.to_numeric(data["level_m"], errors="coerce")
    data = data.dropna(subset=["level_m"]).sort_values(["entity_id", "ts"], kind="stable")
    cat = stations.drop_duplicates("entity_id").set_index("entity_id")
    rows: list[dict[str, Any]] = []
    for entity, group in data.groupby("entity_id", sort=True):
        last = group.iloc[-1]
        series = pd.Series(group["level_m"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(group["ts"]))
        r1 = rise_at_last(series, "1h", tolerance=tolerance)
        r3 = rise_at_last(series, "3h", tolerance=tolerance)
        st = cat.loc[entity] if entity in cat.index else pd.Series(dtype=object)
        target_name, target = _primary_target(st)
        eta = eta_to_level(group["ts"], group["level_m"], target, now=now_ts, window=eta_window)
        rows.append(
            {
                "entity_id": entity,
                "ts": last["ts"],
                "age_min": (now_ts - last["ts"]).total_seconds() / 60.0,
                "level_m": float(last["level_m"]),
                "discharge_m3s": float(pd.to_numeric(last.get("discharge_m3s"), errors="coerce")),
                "rise_1h_m_per_h": r1,
                "rise_3h_m_per_h": r3,
                "eta_target": target_name,
                "eta_target_m": target,
                "eta_warning": pd.NaT if eta is None else eta.eta,
                "eta_earliest": pd.NaT if eta is None else eta.earliest,
                "eta_latest": pd.NaT if eta is None or eta.latest is None else eta.latest,
                "eta_minutes": math.nan if eta is None else eta.minutes,
            }
        )
    columns = [
        "entity_id",
        "ts",
        "age_min",
        "level_m",
        "discharge_m3s",
        "rise_1h_m_per_h",
        "rise_3h_m_per_h",
        "eta_target",
        "eta_target_m",
        "eta_warning",
        "eta_earliest",
        "eta_latest",
        "eta_minutes",
    ]
    state = pd.DataFrame(rows, columns=columns)
    for col in ("eta_warning", "eta_earliest", "eta_latest"):
        state[col] = pd.to_datetime(state[col]).astype("datetime64[us]")
    meta = [c for c in ("station_type", "district_code", "basin", "river") if c in stations.columns]
    state = state.merge(
        stations.drop_duplicates("entity_id").loc[:, ["entity_id", *meta]], on="entity_id", how="left"
    )
    exc = exceedance(state, stations).drop(columns="entity_id")
    eta_td = pd.Series((state["eta_warning"] - now_ts).to_numpy(), index=state["entity_id"].to_numpy())
    sig = flood_signal_level(
        state,
        stations,
        approach_m=approach_m,
        forecast_eta=eta_td,
        lead=lead,
        escalate_within=escalate_within,
    ).drop(columns="entity_id")
    out = pd.concat(
        [state.reset_index(drop=True), exc.reset_index(drop=True), sig.reset_index(drop=True)], axis=1
    )
    front = ["entity_id", *meta]
    return out.loc[:, front + [c for c in out.columns if c not in front]]


def worst_signal(levels: pd.Series) -> int | None:
    """The most severe signal level number in a series of level numbers (``None`` if none)."""
    ranks = [(severity_rank(v), v) for v in levels if pd.notna(v)]
    return int(max(ranks)[1]) if ranks else None
