"""The demo city's "true" state: deterministic, stateless, realistic series with a scripted scenario.

:class:`CityGenerator` computes what every sensor of the sample city measures at any UTC instant,
without stored state: every random number is derived from a hash of ``(seed, entity, stream, time
bucket)`` (a counter-based generator), so any time window can be asked for, in any order, and the same
instant always gives the same numbers. A feed server can therefore answer arbitrary ``since`` queries,
and two overlapping windows agree on their overlap.

Domains and canonical units (one frame per domain; ``ts`` is timezone-aware UTC; rows satisfy
``start <= ts < end`` on the domain's regular grid, sorted by ``ts`` then ``entity_id``):

========== ======= ===========================================================================
domain     grid    columns
========== ======= ===========================================================================
traffic    5 min   entity_id, ts, speed_kmh (km/h), volume_vph (veh/h), occupancy_pct (0–100 %)
air        1 h     entity_id, ts, so2, no2, pm10, pm25, o3 (µg/m³), co (mg/m³); NaN = sensor gap
water      5 min   entity_id, ts, level_m (m, station datum), discharge_m3s (m³/s; NaN at reservoirs)
rain       5 min   entity_id, ts, rain_mm (mm fallen in the 5 minutes starting at ts)
incidents  —       incident_id, type, severity (1 most severe … 4), status (open|dispatched|closed),
                   reported_at, dispatched_at, closed_at (None until it happens, as of ``as_of``),
                   lon, lat (WGS-84), district_code, description (zh-CN), department
========== ======= ===========================================================================

Local time patterns (rush hours, afternoon ozone) use Asia/Shanghai, a fixed UTC+8 (no DST).

The scripted scenario (:class:`Scenario`, all timeline constants in one place) plays out relative to
``Scenario.start``: a stagnant day with a PM2.5 episode over the southern districts, then a rainstorm
over 清城区/清新区/英德市/佛冈县 that raises several river stations above their warning level, floods
streets in 清城区/清新区 and slows traffic there.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_CATALOGUE",
    "DISTRICT_NAMES",
    "INCIDENT_TYPE_ZH",
    "KINDS",
    "Catalogue",
    "CityGenerator",
    "Scenario",
    "load_catalogue",
]

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "qingyuan" / "entities.geojson"
KINDS = ("air_station", "hydro_station", "rain_gauge", "road_segment")

DISTRICT_NAMES: dict[str, str] = {
    "441802": "清城区",
    "441803": "清新区",
    "441821": "佛冈县",
    "441823": "阳山县",
    "441825": "连山壮族瑶族自治县",
    "441826": "连南瑶族自治县",
    "441881": "英德市",
    "441882": "连州市",
}
INCIDENT_TYPE_ZH: dict[str, str] = {
    "waterlogging": "内涝",
    "traffic_accident": "交通事故",
    "landslide": "山体滑坡",
    "fire": "火灾",
    "tree_down": "树木倒伏",
}
INCIDENT_DEPARTMENT: dict[str, str] = {
    "waterlogging": "市住房和城乡建设局",
    "traffic_accident": "市公安局交通警察支队",
    "landslide": "市自然资源局",
    "fire": "市消防救援支队",
    "tree_down": "市城市管理和综合执法局",
}

LOCAL_UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai: UTC+8 all year
STEP_5MIN = 300
STEP_HOUR = 3600

# Per-district character of the sample city (unknown districts fall back to the "default" entry).
_URBAN = {
    "441802": 1.0,
    "441803": 0.6,
    "441881": 0.55,
    "441882": 0.4,
    "441821": 0.4,
    "441823": 0.3,
    "441826": 0.25,
    "441825": 0.2,
}
_MOUNTAIN = {
    "441802": 0.15,
    "441803": 0.6,
    "441821": 0.6,
    "441881": 0.7,
    "441882": 0.8,
    "441823": 1.0,
    "441825": 1.0,
    "441826": 1.0,
}


# ---------------------------------------------------------------------------------------------
# Scenario
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Scenario:
    """Timeline and magnitudes of the scripted demo scenario. Offsets are hours after ``start``.

    Default timeline (``start`` = 2026-06-14 00:00 Asia/Shanghai, a Sunday):

    * pollution episode: PM2.5 builds from ``episode_onset_h`` (+2 h) to its peak at
      ``episode_peak_h`` (+20 h), holds for ``episode_hold_h`` (5 h), then the storm washes it out
      over ``episode_decay_h`` (3 h). Peak PM2.5 is ``episode_pm25_peak`` in 清城区, scaled by
      ``episode_weights`` elsewhere (southern districts 150–220 µg/m³, i.e. AQI > 200 for hours).
      Rain showers are suppressed from onset to the end of the hold (a stagnant, dry spell).
    * rainstorm: a Gaussian envelope peaking at ``storm_peak_h`` (+30 h = Monday 06:00 local) with
      standard deviation ``storm_sigma_h`` (1.5 h → about 7 h of rain). Each gauge receives
      ``storm_total_mm`` × district weight × a per-gauge factor in [0.8, 1.2]; about 68 % of it falls
      in the 3 peak hours, so gauges in 清城/清新/英德/佛冈 get roughly 60–115 mm in 3 h. Each
      district's peak is shifted by ``storm_delay_h`` (the cell moves south-west → north-east).
    * rivers respond through a lag + Nash-cascade unit hydrograph on catchment rainfall (longer on
      the 北江 main stem, growing downstream); the response is calibrated so the stations named in
      ``river_targets`` (a key matches a station's name, or else its whole ``river``) reach the given
      *stage index* at the crest: 0 = normal level, 1 = warning
      level (警戒), 2 = guaranteed level (保证), linear in between (and beyond 2 at the same slope as
      between 1 and 2).
    * traffic in storm districts slows by up to ``traffic_slowdown`` × ``traffic_storm_weights``
      while it rains hard (50 % in 清城区/清新区).
    """

    start: datetime = datetime(2026, 6, 13, 16, 0, tzinfo=UTC)  # 2026-06-14 00:00 +08:00

    episode_onset_h: float = 2.0
    episode_peak_h: float = 20.0
    episode_hold_h: float = 5.0
    episode_decay_h: float = 3.0
    episode_pm25_peak: float = 190.0
    episode_weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "441802": 1.0,
            "441803": 0.92,
            "441821": 0.85,
            "441881": 0.72,
            "441823": 0.5,
            "441882": 0.38,
            "441826": 0.35,
            "441825": 0.33,
        }
    )

    storm_peak_h: float = 30.0
    storm_sigma_h: float = 1.5
    storm_total_mm: float = 140.0
    storm_weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "441802": 1.0,
            "441803": 0.95,
            "441821": 0.9,
            "441881": 0.85,
            "441823": 0.35,
            "441882": 0.15,
            "441826": 0.2,
            "441825": 0.2,
        }
    )
    storm_delay_h: Mapping[str, float] = field(
        default_factory=lambda: {"441803": -0.4, "441802": 0.0, "441821": 0.6, "441881": 1.0}
    )

    river_targets: Mapping[str, float] = field(
        default_factory=lambda: {"石角": 1.5, "清远": 1.4, "江口圩": 1.6, "源潭": 2.3, "大燕河": 1.6}
    )
    # Stage index at the crest for river stations not named above: this × the district storm weight.
    river_default_stage: float = 0.75
    # If fewer than this many named stations exist, the most responsive others are pushed to 1.3.
    min_stations_over_warning: int = 3
    reservoir_rise_fraction: float = 0.8  # of (flood_limit - normal), the crest rise at reservoirs

    traffic_slowdown: float = 0.5
    traffic_storm_weights: Mapping[str, float] = field(
        default_factory=lambda: {"441802": 1.0, "441803": 1.0, "441821": 0.6, "441881": 0.6}
    )

    def at(self, hours: float) -> datetime:
        return self.start + timedelta(hours=hours)

    @property
    def storm_peak(self) -> datetime:
        """When the rainstorm peaks (in the districts without delay)."""
        return self.at(self.storm_peak_h)

    @property
    def storm_window(self) -> tuple[datetime, datetime]:
        """Roughly when it rains (±2.5 σ around the peak, widened by the district delays)."""
        delays = list(self.storm_delay_h.values()) or [0.0]
        return (
            self.at(self.storm_peak_h + min(0.0, *delays) - 2.5 * self.storm_sigma_h),
            self.at(self.storm_peak_h + max(0.0, *delays) + 2.5 * self.storm_sigma_h),
        )

    @property
    def episode_peak(self) -> datetime:
        return self.at(self.episode_peak_h)

    @property
    def episode_window(self) -> tuple[datetime, datetime]:
        """From the onset of the pollution build-up to its wash-out."""
        return (
            self.at(self.episode_onset_h),
            self.at(self.episode_peak_h + self.episode_hold_h + self.episode_decay_h),
        )

    # -- shapes (vectorised over epoch seconds) ------------------------------------------------

    def _hours(self, t: np.ndarray) -> np.ndarray:
        return (t - self.start.timestamp()) / 3600.0

    def episode_shape(self, t: np.ndarray) -> np.ndarray:
        """0..1 strength of the pollution episode at epoch seconds ``t``."""
        h = self._hours(t)
        rise = np.clip((h - self.episode_onset_h) / (self.episode_peak_h - self.episode_onset_h), 0, 1)
        rise = rise * rise * (3 - 2 * rise)
        end_hold = self.episode_peak_h + self.episode_hold_h
        fall = np.clip((h - end_hold) / self.episode_decay_h, 0, 1)
        return rise * (1 - fall * fall * (3 - 2 * fall))

    def storm_intensity(self, t: np.ndarray, district: np.ndarray) -> np.ndarray:
        """Storm rain rate in mm/h at weight 1 × district weight (no per-gauge factor)."""
        w = _lookup(self.storm_weights, district, 0.0)
        d = _lookup(self.storm_delay_h, district, 0.0)
        z = (self._hours(t) - self.storm_peak_h - d) / self.storm_sigma_h
        rate = self.storm_total_mm / (self.storm_sigma_h * math.sqrt(2 * math.pi)) * np.exp(-0.5 * z * z)
        return np.where(np.abs(z) < 4.0, w * rate, 0.0)

    def storm_envelope(self, t: np.ndarray, district: np.ndarray) -> np.ndarray:
        """0..1: how hard it rains relative to the district's own peak (for impacts)."""
        d = _lookup(self.storm_delay_h, district, 0.0)
        z = (self._hours(t) - self.storm_peak_h - d) / self.storm_sigma_h
        return np.exp(-0.5 * z * z)

    def dry_spell(self, t: np.ndarray) -> np.ndarray:
        h = self._hours(t)
        return (h >= self.episode_onset_h) & (h < self.episode_peak_h + self.episode_hold_h)


def _lookup(table: Mapping[str, float], keys: np.ndarray, default: float) -> np.ndarray:
    keys = np.asarray(keys)
    out = np.full(keys.shape, default, dtype=np.float64)
    for k, v in table.items():
        out[keys == k] = v
    return out


# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------


@dataclass
class Catalogue:
    """The city's entities grouped by kind; each kind is a DataFrame with at least ``entity_id``,
    ``name``, ``district_code`` (str), ``lon``, ``lat`` (WGS-84; a road segment's point is the middle
    of its line) and the feature's other properties as columns."""

    by_kind: dict[str, pd.DataFrame]
    path: Path | None = None

    def __getitem__(self, kind: str) -> pd.DataFrame:
        return self.by_kind[kind]

    @property
    def air_stations(self) -> pd.DataFrame:
        return self.by_kind["air_station"]

    @property
    def hydro_stations(self) -> pd.DataFrame:
        return self.by_kind["hydro_station"]

    @property
    def rain_gauges(self) -> pd.DataFrame:
        return self.by_kind["rain_gauge"]

    @property
    def road_segments(self) -> pd.DataFrame:
        return self.by_kind["road_segment"]

    def entity(self, entity_id: str) -> dict[str, Any]:
        for df in self.by_kind.values():
            hit = df[df["entity_id"] == entity_id]
            if len(hit):
                return hit.iloc[0].to_dict()
        raise KeyError(entity_id)


def _line_midpoint(coords: list[list[float]]) -> tuple[float, float]:
    pts = np.asarray(coords, dtype=np.float64)[:, :2]
    if len(pts) == 1:
        return float(pts[0, 0]), float(pts[0, 1])
    coslat = math.cos(math.radians(float(pts[:, 1].mean())))
    seg = np.hypot(np.diff(pts[:, 0]) * coslat, np.diff(pts[:, 1]))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    half = cum[-1] / 2
    i = int(min(np.searchsorted(cum, half, side="right") - 1, len(seg) - 1))
    f = 0.0 if seg[i] == 0 else (half - cum[i]) / seg[i]
    p = pts[i] + f * (pts[i + 1] - pts[i])
    return float(p[0]), float(p[1])


def _feature_point(geom: Mapping[str, Any]) -> tuple[float, float]:
    gtype = geom.get("type")
    coords: Any = geom.get("coordinates")
    if coords is None:
        raise ValueError("feature without coordinates")
    if gtype == "Point":
        return float(coords[0]), float(coords[1])
    if gtype == "LineString":
        return _line_midpoint(coords)
    if gtype == "MultiLineString":
        return _line_midpoint([p for part in coords for p in part])
    if gtype in ("Polygon", "MultiPolygon"):
        ring = coords[0] if gtype == "Polygon" else coords[0][0]
        arr = np.asarray(ring, dtype=np.float64)
        return float(arr[:, 0].mean()), float(arr[:, 1].mean())
    raise ValueError(f"unsupported geometry type {gtype!r}")


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read the entity catalogue (a WGS-84 GeoJSON FeatureCollection) with plain ``json``.

    ``path`` defaults to ``sample_data/qingyuan/entities.geojson`` next to this module.
    """
    p = Path(path) if path is not None else DEFAULT_CATALOGUE
    with p.open(encoding="utf-8") as fh:
        doc = json.load(fh)
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for feat in doc.get("features", []):
        props = dict(feat.get("properties") or {})
        kind = props.get("kind")
        if "entity_id" not in props or kind is None:
            continue
        lon, lat = _feature_point(feat.get("geometry") or {})
        props["entity_id"] = str(props["entity_id"])
        props["district_code"] = str(props.get("district_code", ""))
        props.setdefault("name", props["entity_id"])
        props["lon"], props["lat"] = lon, lat
        if kind == "road_segment":
            props["geometry_coords"] = (feat.get("geometry") or {}).get("coordinates")
        rows.setdefault(str(kind), []).append(props)
    by_kind: dict[str, pd.DataFrame] = {}
    for kind, items in rows.items():
        df = pd.DataFrame(items)
        if df.empty:
            df = pd.DataFrame(columns=["entity_id", "kind", "name", "district_code", "lon", "lat"])
        by_kind[kind] = df.sort_values("entity_id", kind="stable").reset_index(drop=True)
    return Catalogue(by_kind=by_kind, path=p)


# ---------------------------------------------------------------------------------------------
# Counter-based random numbers
# ---------------------------------------------------------------------------------------------

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_STREAM = _U64(0xD1B54A32D192ED03)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (array arithmetic wraps silently)."""
    x = x ^ (x >> _U64(30))
    x = x * _U64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> _U64(27))
    x = x * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def _key(seed: int, *parts: object) -> np.uint64:
    digest = hashlib.blake2b(repr((seed, *parts)).encode("utf-8"), digest_size=8).digest()
    return _U64(int.from_bytes(digest, "little"))


def _keys(seed: int, ids: Any, *parts: object) -> np.ndarray:
    return np.array([_key(seed, str(i), *parts) for i in ids], dtype=np.uint64)


def _uniform(key: np.ndarray, bucket: np.ndarray, stream: int) -> np.ndarray:
    """Uniform (0, 1] from (entity key, integer time bucket, stream); broadcasts."""
    k = np.atleast_1d(np.asarray(key, dtype=np.uint64))
    b = np.atleast_1d(np.asarray(bucket, dtype=np.int64)).view(np.uint64)
    s = np.full(1, stream, dtype=np.uint64)
    x = _mix64(k ^ _mix64(b * _GOLDEN + s * _STREAM))
    return ((x >> _U64(11)).astype(np.float64) + 1.0) * (1.0 / 9007199254740992.0)


def _normal(key: np.ndarray, bucket: np.ndarray, stream: int) -> np.ndarray:
    u1 = _uniform(key, bucket, 2 * stream + 1001)
    u2 = _uniform(key, bucket, 2 * stream + 1002)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _smooth_noise(key: np.ndarray, t: np.ndarray, period_s: int, stream: int) -> np.ndarray:
    """Standard-normal-ish value noise, smooth over ``period_s`` (interpolated knots)."""
    b = np.floor_divide(t, period_s)
    f = (t - b * period_s) / period_s
    f = f * f * (3 - 2 * f)
    n0 = _normal(key, b, stream)
    n1 = _normal(key, b + 1, stream)
    return (n0 + (n1 - n0) * f) * 1.35  # variance of the blend is lower than 1; roughly restore


# ---------------------------------------------------------------------------------------------
# Time helpers
# ---------------------------------------------------------------------------------------------


def _epoch_ns(x: datetime | pd.Timestamp | str) -> int:
    ts = pd.Timestamp(x)
    if ts.tzinfo is None:
        raise ValueError(f"time {x!r} must be timezone-aware (UTC)")
    return int(ts.value)


def _epoch_s(x: datetime | pd.Timestamp | str) -> float:
    return _epoch_ns(x) / 1e9


def _grid(start: Any, end: Any, step: int) -> np.ndarray:
    """Epoch seconds of the grid instants ``start <= t < end`` (multiples of ``step`` seconds)."""
    s, e = _epoch_ns(start), _epoch_ns(end)
    step_ns = step * 1_000_000_000
    first = -(-s // step_ns) * step
    last_excl = -(-e // step_ns) * step
    return np.arange(first, last_excl, step, dtype=np.int64)


def _to_ts(sec: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(sec, dtype=np.int64), unit="s", utc=True))


def _local_hours(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local (UTC+8) hour of day as a float, and day of week (0 = Monday)."""
    lt = t + LOCAL_UTC_OFFSET_S
    hod = (lt % 86400) / 3600.0
    dow = ((lt // 86400) + 3) % 7  # 1970-01-01 was a Thursday
    return hod, dow


def _bump(h: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = (h - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def _demand_profile(t: np.ndarray) -> np.ndarray:
    """Relative travel demand (0..~1) by local time: weekday peaks 07:30–09:00 and 17:30–19:00."""
    hod, dow = _local_hours(t)
    weekday = (
        0.12
        + 0.45 * _bump(hod, 13.0, 3.2)
        + 0.68 * _bump(hod, 8.25, 0.6)
        + 0.72 * _bump(hod, 18.25, 0.75)
        + 0.25 * _bump(hod, 21.0, 1.5)
    )
    weekend = 0.1 + 0.55 * _bump(hod, 14.5, 3.5) + 0.2 * _bump(hod, 10.5, 1.2) + 0.15 * _bump(hod, 19.5, 1.5)
    night = 1 - 0.85 * _bump(hod, 3.5, 1.6)
    prof = np.where(dow >= 5, 0.8 * weekend, weekday) * night
    return np.clip(prof, 0.03, 1.05)


_TS_TYPES = ("reported_at", "dispatched_at", "closed_at")


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------

_ROAD = {
    # class: (capacity veh/h (both directions, whole segment), BPR alpha, peak v/c factor, lanes)
    "expressway": (7200.0, 0.6, 0.72, 4),
    "arterial": (4000.0, 2.0, 1.0, 4),
    "secondary": (1800.0, 1.6, 0.92, 2),
    "branch": (800.0, 1.2, 0.8, 2),
}

_INCIDENT_CODES = {
    "waterlogging": "WL",
    "traffic_accident": "TA",
    "landslide": "LS",
    "fire": "FI",
    "tree_down": "TD",
}
_SLOTS = 8  # max incidents of one type per district per hour
_SEVERITY_P = {  # P(severity = 1, 2, 3, 4)
    "waterlogging": (0.03, 0.15, 0.42, 0.40),
    "traffic_accident": (0.02, 0.08, 0.35, 0.55),
    "landslide": (0.08, 0.22, 0.40, 0.30),
    "fire": (0.04, 0.16, 0.40, 0.40),
    "tree_down": (0.0, 0.05, 0.35, 0.60),
}
_CLOSE_MIN = {  # (min, max) minutes from dispatch to closure
    "waterlogging": (90, 360),
    "traffic_accident": (30, 120),
    "landslide": (240, 1440),
    "fire": (45, 180),
    "tree_down": (60, 240),
}
_MAX_LIFETIME_S = (45 + 1440) * 60


class CityGenerator:
    """Deterministic sensor values of the sample city at any instant (see the module docstring)."""

    def __init__(self, catalogue: Catalogue, scenario: Scenario | None = None, seed: int = 20260614) -> None:
        self.catalogue = catalogue
        self.scenario = scenario if scenario is not None else Scenario()
        self.seed = int(seed)
        self._prep_roads()
        self._prep_air()
        self._prep_rain()
        self._prep_water()
        self._prep_districts()

    # -- preparation (pure functions of catalogue, scenario and seed) ----------------------------

    def _prep_roads(self) -> None:
        df = self.catalogue.by_kind.get("road_segment", pd.DataFrame())
        n = len(df)
        self._road_ids = df["entity_id"].to_numpy(dtype=object) if n else np.empty(0, dtype=object)
        self._road_key = _keys(self.seed, self._road_ids, "road")
        cls = df["road_class"].astype(str).to_numpy() if n and "road_class" in df else np.full(n, "secondary")
        params = np.array([_ROAD.get(c, _ROAD["secondary"]) for c in cls], dtype=np.float64).reshape(n, 4)
        self._road_cap, self._road_alpha, peak_vc, self._road_lanes = params.T
        if n and "lanes" in df:
            lanes = pd.to_numeric(df["lanes"], errors="coerce").to_numpy(dtype=np.float64)
            ok = np.isfinite(lanes) & (lanes > 0)
            # Capacity scales with the lane count the catalogue gives.
            self._road_cap = np.where(
                ok, self._road_cap * np.where(ok, lanes, 1.0) / self._road_lanes, self._road_cap
            )
            self._road_lanes = np.where(ok, lanes, self._road_lanes)
        if n and "free_flow_kmh" in df:
            ff = pd.to_numeric(df["free_flow_kmh"], errors="coerce").to_numpy(dtype=np.float64)
        else:
            ff = np.full(n, np.nan)
        default_ff = np.select(
            [cls == "expressway", cls == "arterial", cls == "branch"], [100.0, 60.0, 30.0], 45.0
        )
        self._road_ff = np.where(np.isfinite(ff) & (ff > 0), ff, default_ff)
        dist = df["district_code"].astype(str).to_numpy() if n else np.empty(0, dtype=object)
        self._road_district = dist
        urban = _lookup(_URBAN, dist, 0.3)
        u = _uniform(self._road_key, np.zeros(1, dtype=np.int64), 1) if n else np.empty(0)
        # Peak v/c: busier in town, with a per-segment spread.
        self._road_peak_vc = peak_vc * (0.5 + 0.45 * urban) * (0.85 + 0.3 * u)
        self._road_storm_w = _lookup(self.scenario.traffic_storm_weights, dist, 0.2)

    def _prep_air(self) -> None:
        df = self.catalogue.by_kind.get("air_station", pd.DataFrame())
        n = len(df)
        self._air_ids = df["entity_id"].to_numpy(dtype=object) if n else np.empty(0, dtype=object)
        self._air_key = _keys(self.seed, self._air_ids, "air")
        dist = df["district_code"].astype(str).to_numpy() if n else np.empty(0, dtype=object)
        self._air_district = dist
        self._air_urban = _lookup(_URBAN, dist, 0.3)
        self._air_episode_w = _lookup(self.scenario.episode_weights, dist, 0.3)
        self._air_storm_w = _lookup(self.scenario.storm_weights, dist, 0.2)

    def _prep_rain(self) -> None:
        df = self.catalogue.by_kind.get("rain_gauge", pd.DataFrame())
        n = len(df)
        self._rain_ids = df["entity_id"].to_numpy(dtype=object) if n else np.empty(0, dtype=object)
        self._rain_key = _keys(self.seed, self._rain_ids, "rain")
        self._rain_district = df["district_code"].astype(str).to_numpy() if n else np.empty(0, dtype=object)
        self._rain_lon = df["lon"].to_numpy(dtype=np.float64) if n else np.empty(0)
        self._rain_lat = df["lat"].to_numpy(dtype=np.float64) if n else np.empty(0)
        u = _uniform(self._rain_key, np.zeros(1, dtype=np.int64), 2) if n else np.empty(0)
        self._rain_factor = 0.8 + 0.4 * u
        # Day-level shower regime shared by a district (coherent showery days).
        self._district_key = {d: _key(self.seed, "district", d) for d in DISTRICT_NAMES}

    def _prep_water(self) -> None:
        sc = self.scenario
        df = self.catalogue.by_kind.get("hydro_station", pd.DataFrame())
        n = len(df)
        self._hyd = df.reset_index(drop=True)
        self._hyd_ids = df["entity_id"].to_numpy(dtype=object) if n else np.empty(0, dtype=object)
        self._hyd_key = _keys(self.seed, self._hyd_ids, "hydro")

        def col(name: str) -> np.ndarray:
            if n and name in df:
                return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=np.float64)
            return np.full(n, np.nan)

        normal = col("normal_level_m")
        warn = col("warning_level_m")
        guar = col("guaranteed_level_m")
        flood_limit = col("flood_limit_level_m")
        normal = np.where(np.isfinite(normal), normal, np.where(np.isfinite(warn), warn - 3.0, 10.0))
        warn = np.where(np.isfinite(warn), warn, normal + 3.0)
        guar = np.where(np.isfinite(guar) & (guar > warn), guar, warn + 1.5)
        self._hyd_normal = normal
        stype = (
            df["station_type"].astype(str).to_numpy() if n and "station_type" in df else np.full(n, "river")
        )
        self._hyd_reservoir = stype == "reservoir"
        river = df["river"].astype(str).to_numpy() if n and "river" in df else np.full(n, "")
        names = df["name"].astype(str).to_numpy() if n else np.empty(0, dtype=object)
        lat = df["lat"].to_numpy(dtype=np.float64) if n else np.empty(0)
        lon = df["lon"].to_numpy(dtype=np.float64) if n else np.empty(0)
        dist = df["district_code"].astype(str).to_numpy() if n else np.empty(0, dtype=object)
        main = np.array([r.strip() == "北江" for r in river], dtype=bool)
        # Response: translation lag (h) + 2-reservoir Nash cascade with time constant k (h).
        lag = np.where(main, np.clip(4.0 + 6.0 * (24.6 - lat) / 1.1, 4.0, 10.0), 1.5)
        k = np.where(main, 7.0, 2.5)
        lag = np.where(self._hyd_reservoir, 0.5, lag)
        k = np.where(self._hyd_reservoir, 12.0, k)
        self._hyd_lag, self._hyd_k = lag, k
        # Catchment rainfall: Gaussian-distance weights over the gauges (wider on the main stem).
        scale_km = np.where(main, 60.0, 18.0)
        if n and len(self._rain_ids):
            coslat = math.cos(math.radians(24.0))
            dx = (lon[:, None] - self._rain_lon[None, :]) * 111.32 * coslat
            dy = (lat[:, None] - self._rain_lat[None, :]) * 110.57
            d2 = dx * dx + dy * dy
            w = np.exp(-0.5 * d2 / (scale_km[:, None] ** 2))
            # Main-stem stations drain everything upstream (north) of them: favour northern gauges.
            up = np.where(
                main[:, None], np.where(self._rain_lat[None, :] >= lat[:, None] - 0.05, 1.0, 0.25), 1.0
            )
            w = w * up + 1e-12
            self._hyd_weights = w / w.sum(axis=1, keepdims=True)
        else:
            self._hyd_weights = np.zeros((n, len(self._rain_ids)))
        # Discharge rating: Q = Qb * ((h - h0) / (normal - h0)) ** 1.6
        u = _uniform(self._hyd_key, np.zeros(1, dtype=np.int64), 3) if n else np.empty(0)
        self._hyd_qbase = np.where(main, 900.0 + 600.0 * u, 20.0 + 180.0 * u)
        self._hyd_h0 = normal - np.where(main, 2.5, 1.2)

        # Calibrate the gain so each station's crest under the scripted storm hits its target.
        crest = self._storm_response_peak()
        target_stage = np.full(n, np.nan)
        matched = np.zeros(n, dtype=bool)
        for i, nm in enumerate(names):
            if self._hyd_reservoir[i]:
                continue
            # A key names a station (substring of its name) or, failing that, a whole river.
            hits = [stage for key, stage in sc.river_targets.items() if key in nm]
            hits = hits or [stage for key, stage in sc.river_targets.items() if key == river[i].strip()]
            if hits:
                target_stage[i] = hits[0]
                matched[i] = True
        storm_w = _lookup(sc.storm_weights, dist, 0.2)
        default_stage = sc.river_default_stage * storm_w
        target_stage = np.where(matched, target_stage, default_stage)
        need = sc.min_stations_over_warning - int(matched.sum())
        if need > 0:
            cand = [
                i
                for i in np.argsort(-crest * storm_w, kind="stable")
                if not matched[i] and not self._hyd_reservoir[i]
            ]
            for i in cand[:need]:
                target_stage[i] = 1.3
        target_level = np.where(
            target_stage <= 1.0,
            normal + target_stage * (warn - normal),
            warn + (target_stage - 1.0) * (guar - warn),
        )
        rise = target_level - normal
        fl_rise = np.where(np.isfinite(flood_limit) & (flood_limit > normal), flood_limit - normal, 1.0)
        rise = np.where(self._hyd_reservoir, sc.reservoir_rise_fraction * fl_rise * storm_w, rise)
        self._hyd_gain = np.where(crest > 1e-6, rise / np.maximum(crest, 1e-6), 0.0)
        self._hyd_warn, self._hyd_guar = warn, guar

    def _prep_districts(self) -> None:
        """Anchor points per district for placing incidents."""
        self._anchors: dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        roads = self.catalogue.by_kind.get("road_segment", pd.DataFrame())
        stations = pd.concat(
            [
                self.catalogue.by_kind.get(k, pd.DataFrame())
                for k in ("hydro_station", "rain_gauge", "air_station")
            ],
            ignore_index=True,
        )
        all_ents = pd.concat([roads, stations], ignore_index=True)
        for d in sorted(set(all_ents["district_code"].astype(str))) if len(all_ents) else []:
            out = {}
            for label, frame in (("road", roads), ("any", all_ents)):
                sub = frame[frame["district_code"].astype(str) == d] if len(frame) else frame
                if not len(sub):
                    sub = all_ents[all_ents["district_code"].astype(str) == d]
                if "road_name" in sub:
                    place = sub["road_name"].where(sub["road_name"].notna(), sub["name"]).astype(str)
                else:
                    place = sub["name"].astype(str)
                out[label] = (
                    sub["lon"].to_numpy(dtype=np.float64),
                    sub["lat"].to_numpy(dtype=np.float64),
                    place.to_numpy(dtype=object),
                )
            self._anchors[d] = out

    # -- rain ------------------------------------------------------------------------------

    def _rain_matrix(self, t: np.ndarray, *, storm_only: bool = False) -> np.ndarray:
        """Rain (mm per 5 min) for every gauge (rows) at the 5-min instants ``t`` (columns)."""
        sc = self.scenario
        n = len(self._rain_ids)
        if n == 0 or len(t) == 0:
            return np.zeros((n, len(t)))
        tt = t[None, :].astype(np.float64)
        dist = self._rain_district[:, None]
        # Storm: intensity integrated over the 5 minutes (midpoint rule), gauge factor, gusty texture.
        rate = sc.storm_intensity(tt + 150.0, dist) * self._rain_factor[:, None]
        storm = rate / 12.0
        if storm_only:
            return storm
        key = self._rain_key[:, None]
        slot = t[None, :] // STEP_5MIN
        texture = np.clip(1.0 + 0.3 * _normal(key, slot, 7), 0.3, 1.8)
        storm = storm * texture
        # Background showers: showery days per district, then showery hours per gauge.
        hour = t[None, :] // STEP_HOUR
        day = (t[None, :] + LOCAL_UTC_OFFSET_S) // 86400
        dkeys = np.array(
            [
                self._district_key.get(str(d), _key(self.seed, "district", str(d)))
                for d in self._rain_district
            ],
            dtype=np.uint64,
        )[:, None]
        showery_day = _uniform(dkeys, day, 11) < 0.35
        hod, _ = _local_hours(t[None, :])
        p_hour = 0.05 + 0.12 * _bump(hod, 16.0, 2.5)  # afternoon convection
        # Neighbouring gauges share showers in part: the same draw per district-hour half of the time.
        u_d = _uniform(dkeys, hour, 12)
        u_g = _uniform(key, hour, 13)
        u = np.where(_uniform(key, hour, 14) < 0.5, u_d, u_g)
        wet = showery_day & (u < p_hour) & ~sc.dry_spell(tt)
        amount = -np.log(_uniform(key, hour, 15)) * 3.0  # mm in the hour, exponential mean 3
        centre = _uniform(key, hour, 16) * 11.0
        width = 1.0 + 2.5 * _uniform(key, hour, 17)
        m = (t[None, :] % STEP_HOUR) // STEP_5MIN
        w = np.exp(-0.5 * ((m - centre) / width) ** 2)
        ms = np.arange(12, dtype=np.float64)
        norm = np.exp(-0.5 * ((ms[None, None, :] - centre[..., None]) / width[..., None]) ** 2).sum(axis=-1)
        shower = np.where(wet, amount * w / norm, 0.0)
        return storm + shower

    def rain(self, start: Any, end: Any) -> pd.DataFrame:
        t = _grid(start, end, STEP_5MIN)
        r = np.round(self._rain_matrix(t), 1)
        r[r < 0.1] = 0.0
        return self._frame(self._rain_ids, t, {"rain_mm": r})

    # -- water -----------------------------------------------------------------------------

    def _unit_hydrographs(self) -> tuple[np.ndarray, int]:
        """Per-station unit hydrograph on the 5-min grid (rows sum to 1) and its length."""
        n = len(self._hyd_ids)
        if n == 0:
            return np.zeros((0, 1)), 1
        horizon_h = float(np.max(self._hyd_lag + 10.0 * self._hyd_k))
        L = math.ceil(horizon_h * 12) + 1
        tau = np.arange(L, dtype=np.float64) / 12.0
        x = np.clip(tau[None, :] - self._hyd_lag[:, None], 0.0, None) / self._hyd_k[:, None]
        uh = x * np.exp(-x)
        uh /= uh.sum(axis=1, keepdims=True)
        return uh, L

    def _response(self, t: np.ndarray, rain_fn: Any) -> np.ndarray:
        """Routed catchment rainfall (mm per 5 min, convolved) per station at instants ``t``."""
        n = len(self._hyd_ids)
        if n == 0 or len(t) == 0:
            return np.zeros((n, len(t)))
        uh, L = self._unit_hydrographs()
        tt = np.arange(t[0] - (L - 1) * STEP_5MIN, t[-1] + 1, STEP_5MIN, dtype=np.int64)
        gauge = rain_fn(tt)  # (gauges, len(tt))
        basin = self._hyd_weights @ gauge if gauge.shape[0] else np.zeros((n, len(tt)))
        out = np.empty((n, len(tt) - L + 1))
        for i in range(n):
            out[i] = np.convolve(basin[i], uh[i], mode="valid")
        idx = (t - tt[0]) // STEP_5MIN - (L - 1)
        return out[:, idx]

    def _storm_response_peak(self) -> np.ndarray:
        sc = self.scenario
        n = len(self._hyd_ids)
        if n == 0:
            return np.zeros(0)
        t0 = int(sc.start.timestamp()) // STEP_5MIN * STEP_5MIN
        t = np.arange(
            t0 + int((sc.storm_peak_h - 8) * 3600) // STEP_5MIN * STEP_5MIN,
            t0 + int((sc.storm_peak_h + 72) * 3600),
            STEP_5MIN,
            dtype=np.int64,
        )
        resp = self._response(t, lambda tt: self._rain_matrix(tt, storm_only=True))
        return resp.max(axis=1)

    def water(self, start: Any, end: Any) -> pd.DataFrame:
        t = _grid(start, end, STEP_5MIN)
        resp = self._response(t, self._rain_matrix)
        key = self._hyd_key[:, None]
        noise = 0.012 * _smooth_noise(key, t[None, :], 3 * 3600, 21) + 0.004 * _normal(
            key, t[None, :] // STEP_5MIN, 22
        )
        level = self._hyd_normal[:, None] + self._hyd_gain[:, None] * resp + noise
        ratio = np.clip(
            (level - self._hyd_h0[:, None]) / (self._hyd_normal - self._hyd_h0)[:, None], 0.05, None
        )
        q = self._hyd_qbase[:, None] * ratio**1.6
        q = np.where(self._hyd_reservoir[:, None], np.nan, np.round(q, 1))
        return self._frame(self._hyd_ids, t, {"level_m": np.round(level, 2), "discharge_m3s": q})

    # -- traffic ---------------------------------------------------------------------------

    def traffic(self, start: Any, end: Any) -> pd.DataFrame:
        sc = self.scenario
        t = _grid(start, end, STEP_5MIN)
        tt = t[None, :]
        key = self._road_key[:, None]
        prof = _demand_profile(t)[None, :]
        storm = np.clip(
            sc.storm_envelope(tt.astype(np.float64), self._road_district[:, None]) / 0.35, 0.0, 1.0
        )
        impact = sc.traffic_slowdown * self._road_storm_w[:, None] * storm
        day_noise = 0.06 * _smooth_noise(key, tt, 86400, 31)
        vc = self._road_peak_vc[:, None] * prof * (1.0 + day_noise + 0.05 * _smooth_noise(key, tt, 1800, 32))
        vc = np.clip(vc * (1.0 - 0.3 * impact), 0.01, 1.3)
        rel = 1.0 / (1.0 + self._road_alpha[:, None] * vc**4)
        rel = rel * (1.0 - impact) * (1.0 + 0.035 * _normal(key, tt // STEP_5MIN, 33))
        ff = self._road_ff[:, None]
        speed = np.clip(ff * rel, 3.0, ff * 1.08)
        volume = vc * self._road_cap[:, None] * (1.0 + 0.06 * _normal(key, tt // STEP_5MIN, 34))
        volume = np.clip(volume, 0.0, None)
        # Occupancy from density: (veh/h per lane) / (km/h) → veh/km per lane × 6.5 m effective length.
        density = volume / self._road_lanes[:, None] / speed
        occ = np.clip(density * 6.5 / 10.0, 0.0, 97.0)
        return self._frame(
            self._road_ids,
            t,
            {
                "speed_kmh": np.round(speed, 1),
                "volume_vph": np.round(volume, 0),
                "occupancy_pct": np.round(occ, 1),
            },
        )

    # -- air -------------------------------------------------------------------------------

    def air(self, start: Any, end: Any) -> pd.DataFrame:
        sc = self.scenario
        t = _grid(start, end, STEP_HOUR)
        tt = t[None, :]
        tf = tt.astype(np.float64)
        key = self._air_key[:, None]
        urb = self._air_urban[:, None]
        hod, _ = _local_hours(tt)
        city = np.full((1, 1), _key(self.seed, "air-city"), dtype=np.uint64)
        synoptic = np.exp(
            0.22 * _smooth_noise(city, tt, 86400, 41) + 0.08 * _smooth_noise(key, tt, 86400, 42)
        )
        ep = sc.episode_shape(tf) * self._air_episode_w[:, None]
        storm = sc.storm_envelope(tf, self._air_district[:, None]) * np.clip(
            self._air_storm_w[:, None] * 1.5, 0, 1
        )
        # Wash-out after heavy rain, recovering over ~18 h.
        h_after = (tf - sc.storm_peak.timestamp()) / 3600.0
        washout = np.where(h_after > 0, 0.45 + 0.55 * (1 - np.exp(-h_after / 18.0)), 1.0)
        washout = np.minimum(washout, 1.0 - 0.6 * storm)
        washout = 1.0 - (1.0 - washout) * np.clip(self._air_storm_w[:, None] * 1.5, 0, 1)

        def jitter(stream: int, sd: float) -> np.ndarray:
            return np.exp(sd * _normal(key, tt // STEP_HOUR, stream))

        pm_diurnal = (
            1.0 + 0.2 * _bump(hod, 8.0, 2.0) + 0.25 * _bump(hod, 22.0, 3.0) - 0.2 * _bump(hod, 15.0, 2.5)
        )
        pm25_base = (16.0 + 14.0 * urb) * synoptic * pm_diurnal
        pm25 = (pm25_base + ep * (sc.episode_pm25_peak - 30.0)) * washout * jitter(43, 0.08)
        pm10 = pm25 * (1.55 - 0.25 * ep) * jitter(44, 0.08) + 5.0
        no2_d = 1.0 + 0.5 * _bump(hod, 8.5, 1.2) + 0.6 * _bump(hod, 19.5, 1.8) - 0.35 * _bump(hod, 14.0, 2.5)
        no2 = (
            (10.0 + 22.0 * urb) * no2_d * synoptic * (1.0 + 0.7 * ep) * (1.0 - 0.3 * storm) * jitter(45, 0.1)
        )
        so2 = (5.0 + 5.0 * urb) * synoptic * (1.0 + 0.5 * ep) * jitter(46, 0.12)
        co = (0.45 + 0.3 * urb) * synoptic * (1.0 + 0.12 * no2_d) * (1.0 + 1.0 * ep) * jitter(47, 0.06)
        o3_d = 0.4 + 1.35 * _bump(hod, 15.0, 2.8)
        sun = 1.0 - 0.7 * np.clip(storm * 3.0, 0, 1)
        o3 = (
            (55.0 + 30.0 * (1 - urb))
            * o3_d
            * sun
            * np.exp(0.15 * _smooth_noise(city, tt, 86400, 48))
            * (1.0 + 0.15 * ep)
            * jitter(49, 0.07)
        )
        values = {"so2": so2, "no2": no2, "pm10": pm10, "pm25": pm25, "o3": o3}
        out: dict[str, np.ndarray] = {k: np.round(v, 0) for k, v in values.items()}
        out["co"] = np.round(co, 3)
        # Occasional sensor gaps: a pollutant missing (1 %), or the whole station offline (0.5 %).
        offline = _uniform(key, tt // STEP_HOUR, 50) < 0.005
        for j, name in enumerate(("so2", "no2", "pm10", "pm25", "o3", "co")):
            gap = offline | (_uniform(key, tt // STEP_HOUR, 51 + j) < 0.01)
            out[name] = np.where(gap, np.nan, out[name])
        ordered = {k: out[k] for k in ("so2", "no2", "pm10", "pm25", "o3", "co")}
        return self._frame(self._air_ids, t, ordered)

    # -- incidents -------------------------------------------------------------------------

    def _district_hourly_rain(self, hours: np.ndarray, districts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Mean hourly rain (mm) and trailing 24 h total (mm) per district for hour buckets ``hours``."""
        if len(hours) == 0:
            return np.zeros((len(districts), 0)), np.zeros((len(districts), 0))
        h0, h1 = int(hours[0]) - 24, int(hours[-1])
        t = np.arange(h0 * STEP_HOUR, (h1 + 1) * STEP_HOUR, STEP_5MIN, dtype=np.int64)
        r = self._rain_matrix(t)  # gauges × 5-min
        hourly = r.reshape(r.shape[0], -1, 12).sum(axis=2) if r.shape[0] else np.zeros((0, h1 - h0 + 1))
        out = np.zeros((len(districts), hourly.shape[1]))
        city = hourly.mean(axis=0) if hourly.shape[0] else np.zeros(hourly.shape[1])
        for i, d in enumerate(districts):
            mask = self._rain_district == d
            out[i] = hourly[mask].mean(axis=0) if mask.any() else city
        cum = np.cumsum(np.concatenate([np.zeros((len(districts), 1)), out], axis=1), axis=1)
        cum24 = cum[:, 25:] - cum[:, 1:-24]  # the 24 hours ending with each requested hour
        return out[:, 24:], cum24

    def incidents(self, start: Any, end: Any, as_of: Any = None) -> pd.DataFrame:
        """Incidents reported in ``[start, end)`` (and by ``as_of``), with their state as of ``as_of``
        (default ``end``)."""
        s, e = _epoch_s(start), _epoch_s(end)
        a = e if as_of is None else _epoch_s(as_of)
        cols = [
            "incident_id",
            "type",
            "severity",
            "status",
            "reported_at",
            "dispatched_at",
            "closed_at",
            "lon",
            "lat",
            "district_code",
            "description",
            "department",
        ]
        districts = sorted(self._anchors)
        if e <= s or not districts:
            return self._empty_incidents(cols)
        hours = np.arange(math.floor(s / STEP_HOUR), math.ceil(e / STEP_HOUR), dtype=np.int64)
        rain_h, cum24 = self._district_hourly_rain(hours, districts)
        ht = hours * STEP_HOUR + 1800  # mid-hour
        prof = _demand_profile(ht)
        rows: list[dict[str, Any]] = []
        for i, d in enumerate(districts):
            urb = _URBAN.get(d, 0.3)
            mnt = _MOUNTAIN.get(d, 0.5)
            r = rain_h[i]
            lam = {
                "waterlogging": (1.0 if urb >= 0.6 else 0.25)
                * 1.3
                * np.clip((r - 10.0) / 12.0, 0, None) ** 1.3,
                "traffic_accident": urb * 0.12 * prof * (1.0 + 2.0 * np.minimum(1.0, r / 20.0)),
                "landslide": mnt * 0.15 * np.clip((cum24[i] - 60.0) / 50.0, 0, None) ** 1.5,
                "fire": 0.012 * (0.5 + urb) * np.where(r > 2.0, 0.3, 1.0),
                "tree_down": (0.5 + 0.5 * urb) * 0.8 * np.clip((r - 12.0) / 20.0, 0, None) ** 1.2,
            }
            dkey = _key(self.seed, "incidents", d)
            for typ, lam_t in lam.items():
                p = np.clip(np.asarray(lam_t, dtype=np.float64) / _SLOTS, 0.0, 1.0)
                tkey = np.full(1, _key(self.seed, "incidents", d, typ), dtype=np.uint64)
                for slot in range(_SLOTS):
                    u = _uniform(tkey, hours, 100 + slot)
                    for j in np.nonzero(u < p)[0]:
                        rows.append(self._make_incident(d, typ, slot, int(hours[j]), float(r[j]), dkey))
        rows = [x for x in rows if s <= x["_rep"] < e and x["_rep"] <= a]
        if not rows:
            return self._empty_incidents(cols)
        for x in rows:
            rep, dis, clo = x.pop("_rep"), x.pop("_dis"), x.pop("_clo")
            x["reported_at"] = rep
            x["dispatched_at"] = dis if dis <= a else None
            x["closed_at"] = clo if clo <= a else None
            x["status"] = "closed" if clo <= a else ("dispatched" if dis <= a else "open")
        df = pd.DataFrame(rows)
        for c in _TS_TYPES:
            sec = pd.to_numeric(df[c], errors="coerce")
            ts = pd.to_datetime(sec, unit="s", utc=True).dt.floor("s")
            df[c] = ts.astype(object).where(sec.notna(), None) if c != "reported_at" else ts
        df["severity"] = df["severity"].astype("int64")
        df = df[cols].sort_values(["reported_at", "incident_id"], kind="stable").reset_index(drop=True)
        return df

    def _empty_incidents(self, cols: list[str]) -> pd.DataFrame:
        df = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
        df["severity"] = df["severity"].astype("int64")
        df["reported_at"] = pd.to_datetime(pd.Series([], dtype="int64"), unit="s", utc=True)
        df["lon"] = df["lon"].astype("float64")
        df["lat"] = df["lat"].astype("float64")
        return df

    def _make_incident(
        self, d: str, typ: str, slot: int, hour: int, rain_h: float, dkey: np.uint64
    ) -> dict[str, Any]:
        key = np.full(1, _key(self.seed, "incident", d, typ, slot, hour), dtype=np.uint64)
        u = _uniform(key, np.arange(12, dtype=np.int64), 0)
        rep = hour * STEP_HOUR + int(u[0] * 3600)
        probs = np.cumsum(_SEVERITY_P[typ])
        sev = int(np.searchsorted(probs, u[1] * probs[-1], side="right")) + 1
        if rain_h > 30.0 and typ in ("waterlogging", "landslide") and u[2] < 0.35:
            sev = max(1, sev - 1)
        sev = min(sev, 4)
        dis = rep + int((2 + 28 * u[3]) * 60 * (0.5 if sev <= 2 else 1.0))
        lo, hi = _CLOSE_MIN[typ]
        clo = dis + int((lo + (hi - lo) * u[4]) * 60)
        anchors = self._anchors[d]["any" if typ in ("landslide", "fire") else "road"]
        k = int(u[5] * len(anchors[0])) % max(1, len(anchors[0]))
        spread = 0.008 if typ == "landslide" else 0.002
        lon = float(anchors[0][k] + (u[6] - 0.5) * 2 * spread)
        lat = float(anchors[1][k] + (u[7] - 0.5) * 2 * spread)
        place = str(anchors[2][k])
        dname = DISTRICT_NAMES.get(d, d)
        if typ == "waterlogging":
            depth = int(15 + 45 * u[8] + min(rain_h, 60.0) * 0.3)
            desc = f"{dname}{place}附近路段积水约{depth}厘米，部分车辆涉水熄火，需排水抢险"
        elif typ == "traffic_accident":
            cars = 2 + int(u[8] * 3)
            lanes = 1 + int(u[9] * 2)
            desc = f"{dname}{place}发生{cars}车追尾事故，占用{lanes}条车道，现场车流缓行"
        elif typ == "landslide":
            vol = int(20 + 480 * u[8] ** 2)
            impact = "道路中断" if u[9] < 0.5 else "威胁坡下民房，已疏散群众"
            desc = f"{dname}{place}附近发生山体滑坡，塌方量约{vol}立方米，{impact}"
        elif typ == "fire":
            what = ("居民楼", "商铺", "厂房", "杂物堆", "车辆")[int(u[8] * 5) % 5]
            desc = f"{dname}{place}附近{what}起火，现场有浓烟，暂无人员被困报告"
        else:
            lanes = 1 + int(u[8] * 2)
            desc = f"{dname}{place}有树木倒伏阻断{lanes}条车道，需清理"
        local = datetime.fromtimestamp(hour * STEP_HOUR + LOCAL_UTC_OFFSET_S, UTC)
        return {
            "incident_id": f"EV{local:%Y%m%d%H}{d}{_INCIDENT_CODES[typ]}{slot}",
            "type": typ,
            "severity": sev,
            "lon": round(lon, 6),
            "lat": round(lat, 6),
            "district_code": d,
            "description": desc,
            "department": INCIDENT_DEPARTMENT[typ],
            "_rep": rep,
            "_dis": dis,
            "_clo": clo,
        }

    # -- common ----------------------------------------------------------------------------

    @staticmethod
    def _frame(ids: np.ndarray, t: np.ndarray, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """Long frame sorted by (ts, entity_id) from (entities × times) matrices."""
        n, m = len(ids), len(t)
        data: dict[str, Any] = {
            "entity_id": np.tile(np.asarray(ids, dtype=object), m),
            "ts": _to_ts(np.repeat(t, n)),
        }
        for k, v in values.items():
            arr = np.broadcast_to(np.asarray(v, dtype=np.float64), (n, m))
            data[k] = arr.T.reshape(-1).copy()
        df = pd.DataFrame(data)
        df["entity_id"] = df["entity_id"].astype(str)
        return df

    # -- helpers for tests and the demo ------------------------------------------------------

    def station_thresholds(self) -> pd.DataFrame:
        """Per hydro station: normal, warning and guaranteed levels as used by the generator."""
        return pd.DataFrame(
            {
                "entity_id": self._hyd_ids.astype(str),
                "normal_level_m": self._hyd_normal,
                "warning_level_m": self._hyd_warn,
                "guaranteed_level_m": self._hyd_guar,
                "reservoir": self._hyd_reservoir,
            }
        )
