"""Urban traffic: segment congestion grades, free-flow speed, travel-time index and the 0–10 traffic index.

Sources and conventions (standards §4):

* **Segment grade** from the average travel speed and the road class: the table reproduced from
  DB11/T 785 / GB/T 33171 (standards §4.1, "[check against the GB/T 33171 text]"). Grade 1 畅通 …
  5 严重拥堵; the boundaries are the table's inequalities: e.g. on an expressway 65 km/h is 基本畅通
  (``50 < v ≤ 65``) and 65.01 km/h is 畅通 (``v > 65``).
* **Travel-time index** (Didi / Amap definition, standards §4.2): ``TTI = T / T_free = v_free / v``
  per segment, and for a network
  ``TTI_net = Σ w·L/v ÷ Σ w·L/v_free``.
  The weight ``w`` is the segment's **volume** (veh/h), so ``w·L`` is the vehicle-kilometres travelled
  (VKT) per hour and the ratio is "vehicle-hours actually spent ÷ vehicle-hours at free flow": the
  network TTI is VKT-weighted. A segment without a volume gets the median volume of its road class
  in the same frame (then the overall median, then 1) — a convention, so that a missing volume
  neither drops the segment nor dominates it.
* **Speed floor**: a reported speed of 0 would make ``L/v`` infinite; speeds are floored at
  :data:`MIN_SPEED_KMH` (1 km/h, convention) in the TTI.
* **Free-flow speed** (:func:`free_flow_speed`): primary method after Didi's TrafficIndex
  (``didi/TrafficIndex`` README): the mean of the fastest samples making up a cumulative
  :data:`FASTEST_HOURS` (4 h) of observation time per segment. Alternative: the 85th percentile of
  night-time speeds (00:00–05:00 local; convention). A segment whose history is thinner than
  :data:`MIN_HISTORY_HOURS` (24 h of samples, convention: the fastest 4 h should be the top sixth at
  most) falls back to the catalogue's ``free_flow_kmh``.
* **Traffic index 0–10** from the network TTI: piecewise-linear through TTI 1.0→0, 1.2→2, 1.5→4,
  1.8→6, 2.1→8, 2.4→10, capped to 0–10. This is a **derived convention, not normative text**: it maps
  the "extra travel time" column of the TPI grade table (standards §4.1) onto the index; the DB11/T 785
  Annex C conversion (from congested-length share) was not available.
* **Index grade** (standards §4.1 TPI table): [0, 2) 畅通, [2, 4) 基本畅通, [4, 6) 轻度拥堵,
  [6, 8) 中度拥堵, [8, 10] 严重拥堵.

Road classes are ``expressway`` (快速路), ``arterial`` (主干路), ``secondary`` (次干路) and ``branch`` (支路).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from metrics.levels import shape_like

__all__ = [
    "CONGESTED_GRADE",
    "FASTEST_HOURS",
    "GRADE_NAMES",
    "INDEX_GRADE_BOUNDS",
    "MIN_HISTORY_HOURS",
    "MIN_SPEED_KMH",
    "ROAD_CLASSES",
    "SPEED_THRESHOLDS",
    "TTI_INDEX_POINTS",
    "congestion_grade",
    "free_flow_speed",
    "grade_name",
    "network_state",
    "network_tti",
    "segment_tti",
    "traffic_index",
    "traffic_index_grade",
]

ROAD_CLASSES = ("expressway", "arterial", "secondary", "branch")

#: Upper speed bounds (km/h) of grades 2..5 per road class: grade 1 if v > t[0]; grade 2 if t[1] < v ≤ t[0];
#: … grade 5 if v ≤ t[3]. Source: standards §4.1 segment table (DB11/T 785 / GB/T 33171 as reproduced).
SPEED_THRESHOLDS: dict[str, tuple[float, float, float, float]] = {
    "expressway": (65.0, 50.0, 35.0, 20.0),
    "arterial": (40.0, 30.0, 20.0, 15.0),
    "secondary": (35.0, 25.0, 15.0, 10.0),
    "branch": (35.0, 25.0, 15.0, 10.0),
}

#: Grade names (1 畅通 … 5 严重拥堵), shared by the segment grade and the index grade (standards §4.1).
GRADE_NAMES: dict[str, dict[int, str]] = {
    "zh": {1: "畅通", 2: "基本畅通", 3: "轻度拥堵", 4: "中度拥堵", 5: "严重拥堵"},
    "en": {
        1: "free flow",
        2: "basically free",
        3: "light congestion",
        4: "moderate congestion",
        5: "severe congestion",
    },
}

#: Segment grade from which a segment counts as congested in ``congested_share`` (中度拥堵; convention).
CONGESTED_GRADE = 4

#: Floor on speeds in travel-time computations (km/h; convention) so that a stopped segment stays finite.
MIN_SPEED_KMH = 1.0

#: Didi TrafficIndex: free flow = mean of the fastest samples totalling this many hours.
FASTEST_HOURS = 4.0
#: Minimum observed hours of history per segment before the derived free-flow speed is trusted (convention).
MIN_HISTORY_HOURS = 24.0
#: Night window (local hours, [start, end)) and percentile for the alternative free-flow method (convention).
NIGHT_HOURS = (0, 5)
NIGHT_PERCENTILE = 85.0
#: Minimum night samples for the night-percentile method (convention: one night of 5-min samples).
MIN_NIGHT_SAMPLES = 60

#: TTI → index anchor points (derived convention, standards §4.1; not normative).
TTI_INDEX_POINTS: tuple[tuple[float, float], ...] = (
    (1.0, 0.0),
    (1.2, 2.0),
    (1.5, 4.0),
    (1.8, 6.0),
    (2.1, 8.0),
    (2.4, 10.0),
)

#: Lower bounds of index grades 2..5: [0,2) 畅通, [2,4) 基本畅通, [4,6) 轻度, [6,8) 中度, [8,10] 严重
#: (standards §4.1).
INDEX_GRADE_BOUNDS = (2.0, 4.0, 6.0, 8.0)


def _floats(x: ArrayLike) -> NDArray[np.float64]:
    """Coerce scalars / arrays / series to a float array of the same shape (non-numeric → NaN)."""
    arr = pd.to_numeric(pd.Series(np.ravel(np.asarray(x, dtype=object))), errors="coerce")
    return np.asarray(arr.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64).reshape(np.shape(x))


@overload
def congestion_grade(speed_kmh: float, road_class: str) -> int | None: ...
@overload
def congestion_grade(speed_kmh: pd.Series, road_class: str | pd.Series) -> pd.Series: ...
@overload
def congestion_grade(
    speed_kmh: NDArray[Any] | Sequence[float], road_class: str | NDArray[Any] | Sequence[str]
) -> NDArray[np.float64]: ...
def congestion_grade(speed_kmh: Any, road_class: Any) -> Any:
    """Segment congestion grade 1 (畅通) … 5 (严重拥堵) from speed (km/h) and road class (standards §4.1).

    Vectorised: ``speed_kmh`` may be a scalar, array or series, ``road_class`` a string or an array of
    the same length. Missing speed or an unknown road class gives ``None`` / ``NaN`` / ``<NA>``.

    >>> congestion_grade(65.0, "expressway"), congestion_grade(65.01, "expressway")
    (2, 1)
    """
    speed = _floats(speed_kmh)
    flat = speed.reshape(-1)
    classes = np.broadcast_to(np.asarray(road_class, dtype=object), speed.shape).reshape(-1)
    grade = np.full(flat.shape, np.nan)
    for name, bounds in SPEED_THRESHOLDS.items():
        mask = (classes == name) & ~np.isnan(flat)
        if mask.any():
            # grade = 1 + number of bounds the speed is at or below (v ≤ t → worse than that grade)
            grade[mask] = 1 + (flat[mask, None] <= np.asarray(bounds)[None, :]).sum(axis=1)
    return shape_like(grade.reshape(speed.shape), speed_kmh)


def grade_name(grade: object, lang: str = "zh") -> str:
    """Name of a grade 1–5 (segment or index grade); ``""`` for a missing grade."""
    if grade is None or grade is pd.NA or (isinstance(grade, float) and np.isnan(grade)):
        return ""
    return GRADE_NAMES[lang][int(grade)]  # type: ignore[call-overload]


@overload
def segment_tti(speed_kmh: float, free_flow_kmh: float) -> float: ...
@overload
def segment_tti(speed_kmh: pd.Series, free_flow_kmh: float | pd.Series) -> pd.Series: ...
@overload
def segment_tti(
    speed_kmh: NDArray[Any] | Sequence[float], free_flow_kmh: float | NDArray[Any] | Sequence[float]
) -> NDArray[np.float64]: ...
def segment_tti(speed_kmh: Any, free_flow_kmh: Any) -> Any:
    """Segment travel-time index ``v_free / max(v, MIN_SPEED_KMH)`` (standards §4.2).

    NaN when either is missing.

    Not clipped at 1: a segment faster than its free-flow speed has TTI < 1.

    >>> segment_tti(30.0, 60.0)
    2.0
    """
    v = _floats(speed_kmh)
    free = np.broadcast_to(_floats(free_flow_kmh), v.shape)
    with np.errstate(invalid="ignore"):
        tti = free / np.maximum(v, MIN_SPEED_KMH)
    tti = np.where(free > 0, tti, np.nan)
    return shape_like(tti, speed_kmh, integer=False)


def _fill_weights(frame: pd.DataFrame, weight: str | None) -> NDArray[np.float64]:
    """Per-row weights from ``weight``.

    Missing ones are filled with the road-class median (see the module docstring).
    """
    if weight is None or weight not in frame.columns:
        return np.ones(len(frame))
    w = pd.to_numeric(frame[weight], errors="coerce").astype("float64")
    w = w.where(w >= 0)
    if w.isna().any():
        if "road_class" in frame.columns:
            w = w.fillna(w.groupby(frame["road_class"]).transform("median"))
        w = w.fillna(w.median() if w.notna().any() else 1.0)
    return np.asarray(w.to_numpy(dtype="float64"), dtype=np.float64)


def network_tti(
    frame: pd.DataFrame,
    *,
    weight: str | None = "volume_vph",
    speed: str = "speed_kmh",
    free_flow: str = "free_flow_kmh",
    length: str = "length_m",
) -> float:
    """VKT-weighted network travel-time index ``Σ w·L/v ÷ Σ w·L/v_free`` (standards §4.2).

    ``frame`` has one row per segment with ``length_m``, ``speed_kmh``, ``free_flow_kmh`` and the weight
    column (``volume_vph`` by default: then ``w·L`` is VKT per hour; ``weight=None`` weights by length
    only). Rows without a speed, a free-flow speed or a positive length are left out; missing weights
    are filled with the median of the road class (module docstring). NaN when nothing is left.
    """
    if frame.empty:
        return float("nan")
    v = pd.to_numeric(frame[speed], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    vf = pd.to_numeric(frame[free_flow], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    length_m = pd.to_numeric(frame[length], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    w = _fill_weights(frame, weight)
    ok = ~np.isnan(v) & (vf > 0) & (length_m > 0) & ~np.isnan(w)
    if not ok.any():
        return float("nan")
    wl = w[ok] * length_m[ok]
    actual = float(np.sum(wl / np.maximum(v[ok], MIN_SPEED_KMH)))
    free = float(np.sum(wl / vf[ok]))
    return actual / free if free > 0 else float("nan")


@overload
def traffic_index(tti: float) -> float: ...
@overload
def traffic_index(tti: NDArray[Any] | Sequence[float]) -> NDArray[np.float64]: ...
@overload
def traffic_index(tti: pd.Series) -> pd.Series: ...
def traffic_index(tti: Any) -> Any:
    """Traffic index 0–10 from a TTI, piecewise-linear through :data:`TTI_INDEX_POINTS` (derived convention).

    TTI ≤ 1.0 gives 0 and TTI ≥ 2.4 gives 10; NaN stays NaN.

    >>> round(traffic_index(1.35), 9)
    3.0
    """
    x = _floats(tti)
    xs, ys = zip(*TTI_INDEX_POINTS, strict=True)
    out = np.interp(x, xs, ys)
    out = np.where(np.isnan(x), np.nan, out)
    return shape_like(np.asarray(out, dtype=np.float64), tti, integer=False)


@overload
def traffic_index_grade(index: float) -> int | None: ...
@overload
def traffic_index_grade(index: NDArray[Any] | Sequence[float]) -> NDArray[np.float64]: ...
@overload
def traffic_index_grade(index: pd.Series) -> pd.Series: ...
def traffic_index_grade(index: Any) -> Any:
    """Grade 1–5 of a 0–10 traffic index: [0,2) 1 畅通 … [8,10] 5 严重拥堵 (standards §4.1).

    Values below 0 count as 0 and above 10 as 10; NaN gives a missing grade.

    >>> traffic_index_grade(2.0), traffic_index_grade(1.999), traffic_index_grade(10.0)
    (2, 1, 5)
    """
    x = _floats(index)
    grade = 1.0 + np.digitize(np.clip(x, 0.0, 10.0), INDEX_GRADE_BOUNDS, right=False)
    grade = np.where(np.isnan(x), np.nan, grade)
    return shape_like(np.asarray(grade, dtype=np.float64), index)


def free_flow_speed(
    obs: pd.DataFrame,
    *,
    method: Literal["fastest_hours", "night_percentile"] = "fastest_hours",
    segments: pd.DataFrame | None = None,
    sample_minutes: float = 5.0,
    fastest_hours: float = FASTEST_HOURS,
    min_history_hours: float = MIN_HISTORY_HOURS,
    night_hours: tuple[int, int] = NIGHT_HOURS,
    night_percentile: float = NIGHT_PERCENTILE,
    min_night_samples: int = MIN_NIGHT_SAMPLES,
    tz: str = "Asia/Shanghai",
) -> pd.DataFrame:
    """Free-flow speed per segment derived from its speed history, with the catalogue as fallback.

    ``obs``: ``entity_id``, ``ts`` (naive UTC), ``speed_kmh`` over the history period (e.g. a month).

    * ``method="fastest_hours"`` (primary; Didi TrafficIndex): sort a segment's speeds descending and
      average the fastest ``fastest_hours × 60 / sample_minutes`` samples (48 at 5-min cadence for 4 h).
      Needs at least ``min_history_hours`` of samples.
    * ``method="night_percentile"``: the ``night_percentile``-th percentile (numpy linear) of speeds whose
      local time (``tz``) falls in ``night_hours`` = [start, end) hours; needs ``min_night_samples``.

    Segments with too thin a history take ``free_flow_kmh`` from ``segments`` (when given). Returns
    ``entity_id, free_flow_kmh, source ("fastest_hours" | "night_percentile" | "catalogue" | "none"),
    n_samples`` with one row per segment in ``obs`` or ``segments``.
    """
    data = obs.loc[:, ["entity_id", "ts", "speed_kmh"]].copy()
    data["speed_kmh"] = pd.to_numeric(data["speed_kmh"], errors="coerce")
    data = data.dropna(subset=["speed_kmh"])
    rows: list[dict[str, Any]] = []
    if method == "fastest_hours":
        per_hour = 60.0 / sample_minutes
        k = max(1, round(fastest_hours * per_hour))
        need = int(np.ceil(min_history_hours * per_hour))
        for entity, group in data.groupby("entity_id", sort=True):
            speeds = np.sort(group["speed_kmh"].to_numpy(dtype="float64"))[::-1]
            value = float(speeds[:k].mean()) if len(speeds) >= need else np.nan
            rows.append({"entity_id": entity, "derived": value, "n_samples": len(speeds)})
    elif method == "night_percentile":
        local_hour = pd.to_datetime(data["ts"]).dt.tz_localize("UTC").dt.tz_convert(tz).dt.hour
        start, end = night_hours
        night = (
            (local_hour >= start) & (local_hour < end)
            if start <= end
            else (local_hour >= start) | (local_hour < end)
        )
        for entity, group in data[night.to_numpy()].groupby("entity_id", sort=True):
            speeds = group["speed_kmh"].to_numpy(dtype="float64")
            ok = len(speeds) >= min_night_samples
            value = float(np.percentile(speeds, night_percentile)) if ok else np.nan
            rows.append({"entity_id": entity, "derived": value, "n_samples": len(speeds)})
    else:
        raise ValueError(f"unknown free-flow method {method!r}; use 'fastest_hours' or 'night_percentile'")
    derived = pd.DataFrame(rows, columns=["entity_id", "derived", "n_samples"])
    ids = set(data["entity_id"]) | set(obs["entity_id"])
    if segments is not None:
        ids |= set(segments["entity_id"])
    out = pd.DataFrame({"entity_id": sorted(ids)}).merge(derived, on="entity_id", how="left")
    out["n_samples"] = out["n_samples"].fillna(0).astype("int64")
    if segments is not None and "free_flow_kmh" in segments.columns:
        cat = segments.drop_duplicates("entity_id").set_index("entity_id")["free_flow_kmh"]
        catalogue = pd.to_numeric(out["entity_id"].map(cat), errors="coerce").astype("float64")
    else:
        catalogue = pd.Series(np.nan, index=out.index)
    has_derived = out["derived"].notna()
    out["free_flow_kmh"] = out["derived"].where(has_derived, catalogue).astype("float64")
    out["source"] = np.where(has_derived, method, np.where(catalogue.notna(), "catalogue", "none"))
    return out.loc[:, ["entity_id", "free_flow_kmh", "source", "n_samples"]]


def _latest_per_entity(obs: pd.DataFrame) -> pd.DataFrame:
    """The latest row (by ``ts``) of each entity."""
    if "ts" not in obs.columns:
        return obs.drop_duplicates("entity_id", keep="last")
    return obs.sort_values("ts", kind="stable").drop_duplicates("entity_id", keep="last")


def network_state(
    latest: pd.DataFrame,
    segments: pd.DataFrame,
    *,
    free_flow: pd.DataFrame | None = None,
    weight: str | None = "volume_vph",
    city_code: str | None = None,
) -> pd.DataFrame:
    """Per-district and city-wide TTI, traffic index and grade from the latest observation of each segment.

    ``latest``: traffic obs (``entity_id, ts, speed_kmh, volume_vph``); when a segment has several rows
    its latest ``ts`` is used (the caller decides how old is too old). ``segments``: the road catalogue
    (``entity_id, road_class, length_m, free_flow_kmh, district_code``). ``free_flow``: an optional
    :func:`free_flow_speed` result that overrides the catalogue's free-flow speeds where present.

    Returns one row per district plus a city-wide row (``scope`` = ``"district"`` | ``"city"``; the city
    row's ``district_code`` is ``city_code``): ``tti, index, grade, grade_zh, grade_en, n_segments,
    length_km, congested_share`` (share of observed length at segment grade ≥ :data:`CONGESTED_GRADE`,
    VKT-weighted like the TTI), ``mean_speed_kmh`` (length-weighted).
    """
    obs = _latest_per_entity(latest)
    cols = [c for c in ("entity_id", "speed_kmh", "volume_vph") if c in obs.columns]
    seg_cols = [
        c for c in ("entity_id", "road_class", "length_m", "free_flow_kmh", "district_code") if c in segments
    ]
    frame = obs.loc[:, cols].merge(segments.loc[:, seg_cols], on="entity_id", how="inner")
    if free_flow is not None:
        derived = free_flow.drop_duplicates("entity_id").set_index("entity_id")["free_flow_kmh"]
        override = pd.to_numeric(frame["entity_id"].map(derived), errors="coerce")
        frame["free_flow_kmh"] = override.where(override.notna(), frame["free_flow_kmh"])
    frame["speed_kmh"] = pd.to_numeric(frame["speed_kmh"], errors="coerce")
    frame["grade"] = congestion_grade(
        frame["speed_kmh"].astype("float64"), frame["road_class"].astype(object)
    )

    def summarise(group: pd.DataFrame) -> dict[str, Any]:
        """TTI, index, grade and length statistics of one group of segments."""
        tti = network_tti(group, weight=weight)
        seen = group[group["speed_kmh"].notna() & (pd.to_numeric(group["length_m"], errors="coerce") > 0)]
        length = seen["length_m"].astype("float64")
        w = _fill_weights(seen, weight) * length.to_numpy()
        congested = (seen["grade"].fillna(0) >= CONGESTED_GRADE).to_numpy()
        share = float(w[congested].sum() / w.sum()) if w.sum() > 0 else float("nan")
        mean_speed = (
            float((seen["speed_kmh"] * length).sum() / length.sum()) if length.sum() > 0 else float("nan")
        )
        index = traffic_index(tti)
        grade = traffic_index_grade(index)
        return {
            "tti": tti,
            "index": index,
            "grade": grade,
            "grade_zh": grade_name(grade, "zh"),
            "grade_en": grade_name(grade, "en"),
            "n_segments": len(seen),
            "length_km": float(length.sum() / 1000.0),
            "congested_share": share,
            "mean_speed_kmh": mean_speed,
        }

    rows: list[dict[str, Any]] = []
    if "district_code" in frame.columns:
        for district, group in frame.groupby("district_code", sort=True):
            rows.append({"scope": "district", "district_code": district, **summarise(group)})
    rows.append({"scope": "city", "district_code": city_code, **summarise(frame)})
    out = pd.DataFrame(rows)
    out["grade"] = out["grade"].astype("Int64")
    return out
