"""Rainfall: rolling totals per gauge, the rainstorm-signal level, rain amount grades.

The level is "rain exceeds rainstorm-signal threshold".

Sources (standards §2.1):

* Rainstorm signal criteria, national CMA scheme (中国气象局令第16号, 2007, annex): blue ≥ 50 mm in 12 h,
  yellow ≥ 50 mm in 6 h, orange ≥ 50 mm in 3 h, red ≥ 100 mm in 3 h. **Guangdong** (which includes
  Qingyuan) has only yellow / orange / red — no blue.
* Dashboard rule (observed rain, standards §2.1): red if R3 ≥ 100; orange if R3 ≥ 50; yellow if R6 ≥ 50;
  blue if R12 ≥ 50 (national profile only). These are **not official warning signals** — only
  meteorological stations may issue those (《气象灾害防御条例》 Art. 30); the result is labelled
  "rain exceeds signal threshold" (雨量达到暴雨…信号标准).
* Rain amount grades, GB/T 28592-2012 (12 h and 24 h totals; the 小/中/大雨 rows are marked
  **[unverified]** in the reference): lower bounds inclusive at the table's 0.1 mm resolution, so 4.9 mm
  is 小雨 and 5.0 mm is 中雨 over 12 h.

Rolling-total edge convention
-----------------------------
A rain observation's ``ts`` is the **start** of an interval of length ``interval`` (5 min) and
``rain_mm`` is the amount in that interval. The total over window ``W`` at ``now`` sums the intervals
lying entirely inside ``[now − W, now]``, i.e. ``now − W ≤ ts`` and ``ts + interval ≤ now``. An interval
still in progress at ``now`` is excluded. The default ``now`` is the end of the latest interval in the
data (``max(ts) + interval``). ``coverage_<W>h`` reports the share of the window's intervals actually
reported (a gap is counted as no data, never silently as 0 mm).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metrics.levels import Level, shape_like

__all__ = [
    "DEFAULT_WINDOWS_H",
    "RAIN_GRADE_LOWER",
    "RAIN_GRADE_NAMES",
    "SIGNAL_THRESHOLDS",
    "rain_grade",
    "rain_grade_name",
    "rain_state",
    "rainstorm_signal",
    "rolling_totals",
    "signal_label",
]

Profile = Literal["national", "guangdong"]

DEFAULT_WINDOWS_H: tuple[int, ...] = (1, 3, 6, 12, 24)
#: Length of one rain observation interval (the feeds' cadence; convention).
INTERVAL = pd.Timedelta("5min")

#: (level, window hours, threshold mm) from the most severe down; standards §2.1 dashboard rule.
SIGNAL_THRESHOLDS: dict[str, tuple[tuple[Level, int, float], ...]] = {
    "national": (
        (Level.RED, 3, 100.0),
        (Level.ORANGE, 3, 50.0),
        (Level.YELLOW, 6, 50.0),
        (Level.BLUE, 12, 50.0),
    ),
    "guangdong": ((Level.RED, 3, 100.0), (Level.ORANGE, 3, 50.0), (Level.YELLOW, 6, 50.0)),
}

#: GB/T 28592-2012 lower bounds (mm, inclusive) of grades 1 小雨 … 6 特大暴雨 per accumulation period.
RAIN_GRADE_LOWER: dict[str, tuple[float, ...]] = {
    "12h": (0.1, 5.0, 15.0, 30.0, 70.0, 140.0),
    "24h": (0.1, 10.0, 25.0, 50.0, 100.0, 250.0),
}
RAIN_GRADE_NAMES: dict[str, dict[int, str]] = {
    "zh": {0: "无降水", 1: "小雨", 2: "中雨", 3: "大雨", 4: "暴雨", 5: "大暴雨", 6: "特大暴雨"},
    "en": {
        0: "no rain",
        1: "light rain",
        2: "moderate rain",
        3: "heavy rain",
        4: "rainstorm",
        5: "downpour",
        6: "heavy downpour",
    },
}


def rolling_totals(
    obs: pd.DataFrame,
    windows: Sequence[float] = DEFAULT_WINDOWS_H,
    now: pd.Timestamp | str | None = None,
    *,
    interval: pd.Timedelta | str = INTERVAL,
) -> pd.DataFrame:
    """Rain totals per gauge over the last ``windows`` hours (edge convention in the module docstring).

    ``obs``: ``entity_id, ts, rain_mm``. Returns one row per gauge in ``obs``: ``entity_id``, ``r<W>h``
    (mm; missing amounts count as 0 but lower the coverage) and ``coverage_<W>h`` (0–1) for each window,
    and ``now`` (the instant the totals are for). Duplicate ``(entity_id, ts)`` rows keep the last.
    """
    step = pd.Timedelta(interval)
    ts = pd.to_datetime(obs["ts"])
    end = (ts.max() + step) if now is None else pd.Timestamp(now)
    amount = pd.to_numeric(obs["rain_mm"], errors="coerce").to_numpy(dtype="float64")
    data = pd.DataFrame({"entity_id": obs["entity_id"].to_numpy(), "ts": ts.to_numpy(), "rain_mm": amount})
    data = data.drop_duplicates(["entity_id", "ts"], keep="last")
    gauges = pd.Index(sorted(data["entity_id"].unique()), name="entity_id")
    out = pd.DataFrame(index=gauges)
    complete = data["ts"] + step <= end
    for w in windows:
        name = f"{w:g}h"
        inside = complete & (data["ts"] >= end - pd.Timedelta(hours=float(w)))
        sub = data[inside]
        expected = pd.Timedelta(hours=float(w)) / step
        out[f"r{name}"] = sub.groupby("entity_id")["rain_mm"].sum(min_count=0).reindex(gauges).fillna(0.0)
        out[f"coverage_{name}"] = (
            sub.groupby("entity_id")["rain_mm"].count().reindex(gauges).fillna(0) / expected
        )
    out["now"] = end
    return out.reset_index()


def _floats(x: Any) -> NDArray[np.float64]:
    """Coerce scalars / arrays / series to a float array of the same shape (non-numeric → NaN)."""
    return np.asarray(
        pd.to_numeric(pd.Series(np.ravel(np.asarray(x, dtype=object))), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        ),
        dtype=np.float64,
    ).reshape(np.shape(x))


@overload
def rainstorm_signal(r3: float, r6: float, r12: float, *, profile: Profile = "national") -> Level | None: ...
@overload
def rainstorm_signal(
    r3: NDArray[Any] | Sequence[float], r6: Any, r12: Any, *, profile: Profile = "national"
) -> NDArray[np.float64]: ...
@overload
def rainstorm_signal(r3: pd.Series, r6: Any, r12: Any, *, profile: Profile = "national") -> pd.Series: ...
def rainstorm_signal(r3: Any, r6: Any, r12: Any, *, profile: Profile = "national") -> Any:
    """Level at which observed rain exceeds a rainstorm-signal threshold (not an official signal).

    ``r3``, ``r6``, ``r12``: rolling totals in mm (scalars, arrays or series of the same shape; ``r12``
    may be ``None`` under the Guangdong profile). A scalar gives a :class:`Level` or ``None``; arrays give
    level numbers with NaN for none; series give ``Int64``. NaN totals never trigger.

    >>> rainstorm_signal(50.0, 50.0, 50.0), rainstorm_signal(0, 0, 60.0, profile="guangdong")
    (<Level.ORANGE: 2>, None)
    """
    if profile not in SIGNAL_THRESHOLDS:
        raise ValueError(f"unknown rain profile {profile!r}; use one of {sorted(SIGNAL_THRESHOLDS)}")
    totals = {3: _floats(r3)}
    shape = totals[3].shape
    totals[6] = np.broadcast_to(_floats(r6), shape)
    totals[12] = np.broadcast_to(_floats(np.nan if r12 is None else r12), shape)
    level = np.full(shape, np.nan)
    for lv, hours, threshold in reversed(SIGNAL_THRESHOLDS[profile]):  # least severe first; severe overwrites
        level = np.where(totals[hours] >= threshold, float(lv), level)
    out = shape_like(np.asarray(level, dtype=np.float64), r3)
    return Level(out) if isinstance(out, int) else out


def signal_label(level: object, lang: str = "zh") -> str:
    """The wording for a derived rain level, e.g. ``雨量达到暴雨橙色预警信号标准`` (``""`` for none)."""
    if level is None or level is pd.NA or (isinstance(level, float) and np.isnan(level)):
        return ""
    lv = Level(int(level))  # type: ignore[call-overload]
    if lang == "zh":
        return f"雨量达到暴雨{lv.zh_color}预警信号标准"
    return f"rain exceeds the {lv.en} rainstorm signal threshold"


@overload
def rain_grade(total_mm: float, period: Literal["12h", "24h"] = "24h") -> int | None: ...
@overload
def rain_grade(
    total_mm: NDArray[Any] | Sequence[float], period: Literal["12h", "24h"] = "24h"
) -> NDArray[np.float64]: ...
@overload
def rain_grade(total_mm: pd.Series, period: Literal["12h", "24h"] = "24h") -> pd.Series: ...
def rain_grade(total_mm: Any, period: Literal["12h", "24h"] = "24h") -> Any:
    """GB/T 28592-2012 grade of a 12 h or 24 h total: 0 无降水 (< 0.1 mm), 1 小雨 … 6 特大暴雨.

    >>> rain_grade(49.9), rain_grade(50.0), rain_grade(30.0, "12h")
    (3, 4, 4)
    """
    x = _floats(total_mm)
    # Compare at the table's 0.1 mm resolution with a small tolerance so 4.9999999 counts as 5.0.
    grade = np.digitize(x + 1e-9, RAIN_GRADE_LOWER[period], right=False).astype("float64")
    grade = np.where(np.isnan(x), np.nan, grade)
    return shape_like(np.asarray(grade, dtype=np.float64), total_mm)


def rain_grade_name(grade: object, lang: str = "zh") -> str:
    """Name of a rain grade 0–6 (``""`` for a missing grade)."""
    if grade is None or grade is pd.NA or (isinstance(grade, float) and np.isnan(grade)):
        return ""
    return RAIN_GRADE_NAMES[lang][int(grade)]  # type: ignore[call-overload]


def rain_state(
    obs: pd.DataFrame,
    now: pd.Timestamp | str | None = None,
    *,
    profile: Profile = "national",
    gauges: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per-gauge rain state: :func:`rolling_totals` plus ``signal_level`` (``Int64``), its label, and the
    24 h rain grade with its name. ``gauges`` (optional catalogue with ``district_code``) adds the district.
    """
    totals = rolling_totals(obs, DEFAULT_WINDOWS_H, now)
    totals["signal_level"] = rainstorm_signal(totals["r3h"], totals["r6h"], totals["r12h"], profile=profile)
    totals["signal_label"] = [signal_label(v) for v in totals["signal_level"]]
    totals["grade_24h"] = rain_grade(totals["r24h"], "24h")
    totals["grade_24h_zh"] = [rain_grade_name(v) for v in totals["grade_24h"]]
    if gauges is not None and "district_code" in gauges.columns:
        districts = gauges.drop_duplicates("entity_id").set_index("entity_id")["district_code"]
        totals.insert(1, "district_code", totals["entity_id"].map(districts))
    return totals
