"""City-operations index per district: 0–100, 100 = every domain normal. **Entirely a convention.**

No standard defines a composite "city running state" index; everything below is a documented,
configurable convention meant to summarise the domain states on the wall, not to replace them.

Sub-scores (0–100 per domain and district), each piecewise-linear so that the domain's own grade bands
land in the composite's bands (≥ 85 正常, 70–85 关注, 50–70 预警, < 50 严重):

* ``traffic`` — from the district traffic index 0–10 (:func:`metrics.traffic.network_state`):
  index 0→100, 4→85 (畅通/基本畅通 are normal), 6→70 (轻度), 8→50 (中度), 10→20 (严重).
* ``air`` — from the district AQI, the worst station by default (``air_aggregate="max"``, or ``"mean"``):
  AQI 0→100, 100→85 (优/良 normal), 150→70 (轻度污染), 200→50 (中度), 300→20 (重度), 500→0.
* ``water`` — from the most severe station flood signal in the district
  (:func:`metrics.water.water_state`): none 100, blue 75, yellow 55, orange 30, red 10.
* ``rain`` — from the most severe gauge level of "rain exceeds rainstorm-signal threshold"
  (:func:`metrics.rain.rain_state`, any profile): same level scores as water.
* ``emergency`` — from the active incidents of the district weighted by class (Ⅰ 30, Ⅱ 10, Ⅲ 3, Ⅳ 1):
  load 0→100, 2→85, 5→70, 10→50, 30→0. One Ⅲ incident → 80 (关注); one Ⅱ → 50 (预警); one Ⅰ → 0.

Combination: a weighted mean of the available sub-scores with :data:`DEFAULT_WEIGHTS`
(traffic 0.25, air 0.20, water 0.20, rain 0.15, emergency 0.20; any mapping may be passed). A domain with
no data for a district (no state given, or no station/segment there) is **excluded and the weights are
renormalised** over the domains present; ``coverage`` = Σ weights present ÷ Σ all weights, and
``domains`` lists what was used. So that one severe domain cannot be averaged away, the index is capped
at the worst sub-score + :data:`WORST_CAP_MARGIN` (30; ``None`` disables): a red flood (10) caps the
district at 40 (严重), an orange one (30) at 60 (预警).

Grades (convention): 1 正常 ≥ 85, 2 关注 [70, 85), 3 预警 [50, 70), 4 严重 < 50.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from metrics.levels import Level, severity_rank

__all__ = [
    "AIR_SCORE_POINTS",
    "DEFAULT_WEIGHTS",
    "DOMAINS",
    "EMERGENCY_LOAD_POINTS",
    "GRADE_BOUNDS",
    "GRADE_NAMES",
    "LEVEL_SCORES",
    "SEVERITY_WEIGHTS",
    "TRAFFIC_SCORE_POINTS",
    "WORST_CAP_MARGIN",
    "air_score",
    "city_operations_index",
    "combine",
    "district_subscores",
    "emergency_score",
    "index_grade",
    "level_score",
    "traffic_score",
]

DOMAINS = ("traffic", "air", "water", "rain", "emergency")
#: Default domain weights (convention; configurable).
DEFAULT_WEIGHTS: dict[str, float] = {
    "traffic": 0.25,
    "air": 0.20,
    "water": 0.20,
    "rain": 0.15,
    "emergency": 0.20,
}
#: Cap on the index above the worst sub-score (convention); ``None`` disables the cap.
WORST_CAP_MARGIN: float | None = 30.0

TRAFFIC_SCORE_POINTS: tuple[tuple[float, float], ...] = ((0, 100), (4, 85), (6, 70), (8, 50), (10, 20))
AIR_SCORE_POINTS: tuple[tuple[float, float], ...] = (
    (0, 100),
    (100, 85),
    (150, 70),
    (200, 50),
    (300, 20),
    (500, 0),
)
EMERGENCY_LOAD_POINTS: tuple[tuple[float, float], ...] = ((0, 100), (2, 85), (5, 70), (10, 50), (30, 0))
#: Score of a domain whose worst warning level is this (``None`` = no level).
LEVEL_SCORES: dict[Level | None, float] = {
    None: 100.0,
    Level.BLUE: 75.0,
    Level.YELLOW: 55.0,
    Level.ORANGE: 30.0,
    Level.RED: 10.0,
}
#: Incident severity (1 = Ⅰ 特别重大 … 4 = Ⅳ 一般) → load weight (convention).
SEVERITY_WEIGHTS: dict[int, float] = {1: 30.0, 2: 10.0, 3: 3.0, 4: 1.0}

#: Lower bounds of grades 1..3 (正常, 关注, 预警); below the last is 4 严重 (convention).
GRADE_BOUNDS = (85.0, 70.0, 50.0)
GRADE_NAMES: dict[str, dict[int, str]] = {
    "zh": {1: "正常", 2: "关注", 3: "预警", 4: "严重"},
    "en": {1: "normal", 2: "attention", 3: "warning", 4: "severe"},
}


def _interp(x: ArrayLike, points: tuple[tuple[float, float], ...]) -> NDArray[np.float64]:
    """Piecewise-linear map of values through ``points`` (clamped at the ends; NaN stays NaN)."""
    arr = np.asarray(
        pd.to_numeric(pd.Series(np.ravel(np.asarray(x, dtype=object))), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        ),
        dtype=np.float64,
    )
    xs, ys = zip(*points, strict=True)
    return np.asarray(np.where(np.isnan(arr), np.nan, np.interp(arr, xs, ys)), dtype=np.float64)


def traffic_score(index: ArrayLike) -> NDArray[np.float64]:
    """Traffic sub-score from traffic indices 0–10 (:data:`TRAFFIC_SCORE_POINTS`); NaN stays NaN."""
    return _interp(index, TRAFFIC_SCORE_POINTS)


def air_score(aqi: ArrayLike) -> NDArray[np.float64]:
    """Air sub-score from AQI values (:data:`AIR_SCORE_POINTS`; above 500 → 0); NaN stays NaN."""
    return _interp(aqi, AIR_SCORE_POINTS)


def level_score(levels: Iterable[object]) -> NDArray[np.float64]:
    """Sub-score of each warning level (1 red … 4 blue, none → 100) per :data:`LEVEL_SCORES`."""
    out = []
    for v in levels:
        rank = severity_rank(v)
        out.append(LEVEL_SCORES[None if rank == 0 else Level(5 - rank)])
    return np.asarray(out, dtype=np.float64)


def emergency_score(load: ArrayLike) -> NDArray[np.float64]:
    """Emergency sub-score from severity-weighted incident loads (:data:`EMERGENCY_LOAD_POINTS`)."""
    return _interp(load, EMERGENCY_LOAD_POINTS)


def index_grade(index: ArrayLike) -> NDArray[np.float64]:
    """Grade 1 正常 … 4 严重 of composite indices (NaN for NaN).

    ≥85 → 1, [70,85) → 2, [50,70) → 3, <50 → 4.
    """
    x = np.asarray(index, dtype=np.float64)
    grade = 4.0 - np.digitize(x, GRADE_BOUNDS[::-1], right=False)
    return np.asarray(np.where(np.isnan(x), np.nan, grade), dtype=np.float64)


def _worst_level(frame: pd.DataFrame, column: str) -> pd.Series:
    """Highest severity rank of ``column`` per district."""
    ranks = frame[column].map(severity_rank)
    return ranks.groupby(frame["district_code"]).max()


def district_subscores(
    *,
    traffic: pd.DataFrame | None = None,
    air: pd.DataFrame | None = None,
    water: pd.DataFrame | None = None,
    rain: pd.DataFrame | None = None,
    emergency: pd.DataFrame | None = None,
    districts: Iterable[str] | None = None,
    air_aggregate: Literal["max", "mean"] = "max",
) -> pd.DataFrame:
    """Sub-scores 0–100 per district (NaN = no data for that domain there).

    Inputs, each optional:

    * ``traffic``: ``district_code, index`` (e.g. the ``scope == "district"`` rows of ``network_state``).
    * ``air``: per station ``district_code, aqi``.
    * ``water``: per station ``district_code, signal_level`` (``water_state``).
    * ``rain``: per gauge ``district_code, signal_level`` (``rain_state`` with ``gauges``).
    * ``emergency``: the incidents **active** at the instant (``district_code, severity``), one row per
      incident; when given, every listed district without an incident scores 100.

    ``districts`` fixes the rows (default: every district seen in any input). Returns ``district_code``
    and one ``score_<domain>`` column per domain.
    """
    seen: set[str] = set(districts) if districts is not None else set()
    if districts is None:
        for frame in (traffic, air, water, rain, emergency):
            if frame is not None and "district_code" in frame.columns:
                seen |= set(frame["district_code"].dropna().astype(str))
    index = pd.Index(sorted(seen), name="district_code")
    out = pd.DataFrame(index=index)
    out["score_traffic"] = np.nan
    if traffic is not None and not traffic.empty:
        t = traffic.dropna(subset=["district_code"]).groupby("district_code")["index"].max()
        out["score_traffic"] = pd.Series(traffic_score(t.to_numpy()), index=t.index.astype(str)).reindex(
            index
        )
    out["score_air"] = np.nan
    if air is not None and not air.empty:
        aqi = (
            pd.to_numeric(air["aqi"], errors="coerce")
            .groupby(air["district_code"].astype(str))
            .agg(air_aggregate)
        )
        out["score_air"] = pd.Series(air_score(aqi.to_numpy()), index=aqi.index).reindex(index)
    for name, frame in (("water", water), ("rain", rain)):
        out[f"score_{name}"] = np.nan
        if frame is not None and not frame.empty:
            worst = _worst_level(
                frame.assign(district_code=frame["district_code"].astype(str)), "signal_level"
            )
            levels = [None if r == 0 else 5 - int(r) for r in worst]
            out[f"score_{name}"] = pd.Series(level_score(levels), index=worst.index).reindex(index)
    out["score_emergency"] = np.nan
    if emergency is not None:
        weights = pd.to_numeric(emergency["severity"], errors="coerce").map(SEVERITY_WEIGHTS).fillna(0.0)
        load = weights.groupby(emergency["district_code"].astype(str)).sum().reindex(index, fill_value=0.0)
        out["score_emergency"] = emergency_score(load.to_numpy())
    return out.reset_index()


def combine(
    subscores: pd.DataFrame,
    weights: Mapping[str, float] | None = None,
    *,
    worst_cap_margin: float | None = WORST_CAP_MARGIN,
) -> pd.DataFrame:
    """The composite index from ``score_<domain>`` columns.

    A weighted mean over the available domains, renormalised.

    Adds ``index`` (0–100, NaN when no domain is available), ``grade`` (``Int64`` 1–4), ``grade_zh``,
    ``grade_en``, ``coverage`` (share of the total weight that was available), ``domains`` (comma-separated
    domains used) and ``worst_domain``. Domains with weight 0 or without a column are ignored.
    """
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    if any(v < 0 for v in w.values()):
        raise ValueError("composite weights must be non-negative")
    names = [d for d, v in w.items() if v > 0 and f"score_{d}" in subscores.columns]
    total = sum(w[d] for d in w if w[d] > 0)
    out = subscores.copy()
    if not names or total <= 0:
        scores = np.full((len(out), 0), np.nan)
    else:
        scores = out[[f"score_{d}" for d in names]].to_numpy(dtype="float64")
    wv = np.asarray([w[d] for d in names], dtype=np.float64)
    avail = ~np.isnan(scores)
    wsum = (avail * wv).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(avail, scores * wv, 0.0).sum(axis=1) / wsum
    mean = np.where(wsum > 0, mean, np.nan)
    worst = np.where(
        avail.any(axis=1), np.nanmin(np.where(avail, scores, np.inf), axis=1, initial=np.inf), np.nan
    )
    index = np.minimum(mean, worst + worst_cap_margin) if worst_cap_margin is not None else mean
    out["index"] = index
    grade = index_grade(index)
    out["grade"] = pd.array([pd.NA if np.isnan(g) else int(g) for g in grade], dtype="Int64")
    out["grade_zh"] = [GRADE_NAMES["zh"].get(int(g), "") if not np.isnan(g) else "" for g in grade]
    out["grade_en"] = [GRADE_NAMES["en"].get(int(g), "") if not np.isnan(g) else "" for g in grade]
    out["coverage"] = wsum / total if total > 0 else 0.0
    out["domains"] = [",".join(d for d, a in zip(names, row, strict=True) if a) for row in avail]
    worst_names: list[str] = []
    for row_scores, row_avail in zip(scores, avail, strict=True):
        worst_names.append(
            names[int(np.argmin(np.where(row_avail, row_scores, np.inf)))] if row_avail.any() else ""
        )
    out["worst_domain"] = worst_names
    return out


def city_operations_index(
    *,
    weights: Mapping[str, float] | None = None,
    worst_cap_margin: float | None = WORST_CAP_MARGIN,
    **states: Any,
) -> pd.DataFrame:
    """:func:`district_subscores` then :func:`combine`: the per-district index from domain states.

    Keyword arguments are those of :func:`district_subscores` (``traffic``, ``air``, ``water``, ``rain``,
    ``emergency``, ``districts``, ``air_aggregate``).
    """
    return combine(district_subscores(**states), weights, worst_cap_margin=worst_cap_margin)
