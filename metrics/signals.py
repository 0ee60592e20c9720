"""Signals: the city's state at one instant, as the warning rules read it. Pure.

:func:`compute_signals` takes recent observation windows (frames, naive UTC), the entity catalogue and
the feeds' freshness, and returns one long frame — ``domain, scope, key, metric, value, ts`` plus
``entity_id, name, district_code, basin, entity_kind`` and, for predictions, ``eta_low, eta_high`` —
the metric catalogue below. Rules name these metrics; the same function runs live (one tick) and in
back-tests (a slice of history per tick).

==========  =========  ============================================================================
domain      scope      metrics
==========  =========  ============================================================================
water       entity     level_m, over_warning_m, over_guaranteed_m, over_historical_m,
                       over_flood_limit_m, rise_1h_m (m/h), rise_3h_m (m/h), flood_signal (level
                       number 1 red … 4 blue), eta_warning_min (Theil–Sen time to the warning /
                       flood-limit level, with eta_low / eta_high)
rain        entity     r1_mm, r3_mm, r6_mm, r12_mm, r24_mm (rolling totals)
air         entity     aqi (real-time report of the edition in force), pm25, pm10, o3, no2, so2, co
traffic     entity     speed_kmh, tti, congestion_grade (1 畅通 … 5 严重拥堵)
traffic     district   tti, traffic_index (0–10), congested_share; also scope city
incident    district   open_incidents, open_severe (class Ⅰ–Ⅱ), open_waterlogging
feeds       feed       freshness_rank (0 fresh, 1 late, 2 stale, −1 never), with the feed's domain
<custom>    entity     the configured metrics, latest value
==========  =========  ============================================================================

Readings older than ``max_age`` (per domain) are left out: stale data must not keep a warning alive
or raise one; the feed-outage rules speak for it instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from metrics import composite, emergency, rain, traffic, water
from metrics.faults import Fault, contained

FRESHNESS_RANK = {"fresh": 0, "late": 1, "stale": 2, "never": -1}
#: The metrics each built-in domain's signals carry (the table above), for checking rule packs.
SIGNAL_METRICS: dict[str, tuple[str, ...]] = {
    "water": (
        "level_m",
        "over_warning_m",
        "over_guaranteed_m",
        "over_historical_m",
        "over_flood_limit_m",
        "rise_1h_m",
        "rise_3h_m",
        "flood_signal",
        "eta_warning_min",
    ),
    "rain": ("r1_mm", "r3_mm", "r6_mm", "r12_mm", "r24_mm"),
    "air": ("aqi", "pm25", "pm10", "o3", "no2", "so2", "co"),
    "traffic": ("speed_kmh", "tti", "congestion_grade", "traffic_index", "congested_share"),
    "incident": ("open_incidents", "open_severe", "open_waterlogging"),
}
DEFAULT_MAX_AGE = {
    "water": timedelta(minutes=30),
    "rain": timedelta(minutes=30),
    "traffic": timedelta(minutes=30),
    "air": timedelta(hours=3),
}
#: How much history each domain's signals need before ``now``.
LOOKBACK = {
    "water": timedelta(hours=3, minutes=15),
    "rain": timedelta(hours=24),
    "traffic": timedelta(minutes=30),
    "air": timedelta(hours=24),
    "custom": timedelta(hours=24),
}

COLUMNS = [
    "domain",
    "scope",
    "key",
    "metric",
    "value",
    "ts",
    "entity_id",
    "name",
    "district_code",
    "basin",
    "entity_kind",
    "eta_low",
    "eta_high",
]


@dataclass
class Window:
    """Observations of every domain over a window ending at or after ``now`` (naive UTC ``ts``)."""

    traffic: pd.DataFrame = field(default_factory=pd.DataFrame)
    air: pd.DataFrame = field(default_factory=pd.DataFrame)
    water: pd.DataFrame = field(default_factory=pd.DataFrame)
    rain: pd.DataFrame = field(default_factory=pd.DataFrame)
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)
    custom: dict[str, pd.DataFrame] = field(default_factory=dict)  # domain → entity_id, ts, metrics…

    def upto(self, now: datetime) -> Window:
        """The part of this window a tick at ``now`` may see (for back-tests over a long window)."""

        def cut(frame: pd.DataFrame, domain: str) -> pd.DataFrame:
            if frame.empty or "ts" not in frame:
                return frame
            lo = now - LOOKBACK.get(domain, timedelta(hours=24))
            ts = frame["ts"].to_numpy()
            i, j = (
                np.searchsorted(ts, np.datetime64(lo), "left"),
                np.searchsorted(ts, np.datetime64(now), "right"),
            )
            return frame.iloc[i:j]

        return Window(
            traffic=cut(self.traffic, "traffic"),
            air=cut(self.air, "air"),
            water=cut(self.water, "water"),
            rain=cut(self.rain, "rain"),
            incidents=self.incidents,
            custom={k: cut(v, "custom") for k, v in self.custom.items()},
        )


def _naive(now: datetime) -> pd.Timestamp:
    ts = pd.Timestamp(now)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def _entity_rows(
    domain: str, frame: pd.DataFrame, metrics: list[str], entities: pd.DataFrame, kind: str | None
) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    present = [m for m in metrics if m in frame.columns]
    long = frame.melt(id_vars=["entity_id", "ts"], value_vars=present, var_name="metric", value_name="value")
    long = long.dropna(subset=["value"])
    long["value"] = long["value"].astype("float64")
    long["domain"], long["scope"], long["key"] = domain, "entity", long["entity_id"]
    meta = entities.reindex(columns=["entity_id", "name", "district_code", "basin", "kind"]).drop_duplicates(
        "entity_id"
    )
    long = long.merge(meta.rename(columns={"kind": "entity_kind"}), on="entity_id", how="left")
    if kind is not None:
        long["entity_kind"] = long["entity_kind"].fillna(kind)
    return long.reindex(columns=COLUMNS)


def _latest(frame: pd.DataFrame, now: pd.Timestamp, max_age: timedelta) -> pd.DataFrame:
    if frame.empty:
        return frame
    recent = frame[(frame["ts"] <= now) & (frame["ts"] >= now - max_age)]
    return recent.sort_values("ts", kind="stable").drop_duplicates("entity_id", keep="last")


def water_signals(
    obs: pd.DataFrame, entities: pd.DataFrame, now: pd.Timestamp, max_age: timedelta
) -> pd.DataFrame:
    if obs.empty:
        return pd.DataFrame(columns=COLUMNS)
    stations = entities[entities["kind"] == "hydro_station"]
    state = water.water_state(obs[obs["ts"] <= now], stations, now)
    state = state[state["age_min"] <= max_age.total_seconds() / 60]
    frame = pd.DataFrame(
        {
            "entity_id": state["entity_id"],
            "ts": state["ts"],
            "level_m": state["level_m"],
            "over_warning_m": state.get("over_warning_m"),
            "over_guaranteed_m": state.get("over_guaranteed_m"),
            "over_historical_m": state.get("over_historical_m"),
            "over_flood_limit_m": state.get("over_flood_limit_m"),
            "rise_1h_m": state["rise_1h_m_per_h"],
            "rise_3h_m": state["rise_3h_m_per_h"],
            "flood_signal": pd.to_numeric(state.get("signal_level"), errors="coerce"),
            "eta_warning_min": state["eta_minutes"],
        }
    )
    rows = _entity_rows(
        "water", frame, [c for c in frame.columns if c not in ("entity_id", "ts")], entities, "hydro_station"
    )
    eta = state.set_index("entity_id")
    for bound, col in (("eta_low", "eta_earliest"), ("eta_high", "eta_latest")):
        minutes = (eta[col] - now).dt.total_seconds() / 60
        mask = rows["metric"] == "eta_warning_min"
        rows.loc[mask, bound] = rows.loc[mask, "entity_id"].map(minutes).astype("float64")
    return rows


def rain_signals(
    obs: pd.DataFrame, entities: pd.DataFrame, now: pd.Timestamp, max_age: timedelta
) -> pd.DataFrame:
    if obs.empty:
        return pd.DataFrame(columns=COLUMNS)
    recent = obs[obs["ts"] < now]
    latest = _latest(recent, now, max_age)
    if latest.empty:
        return pd.DataFrame(columns=COLUMNS)
    totals = rain.rolling_totals(recent[recent["entity_id"].isin(latest["entity_id"])], now=now)
    frame = pd.DataFrame({"entity_id": totals["entity_id"], "ts": now})
    for w in (1, 3, 6, 12, 24):
        frame[f"r{w}_mm"] = totals[f"r{w}h"].to_numpy()
    return _entity_rows("rain", frame, [f"r{w}_mm" for w in (1, 3, 6, 12, 24)], entities, "rain_gauge")


def air_signals(
    obs: pd.DataFrame, entities: pd.DataFrame, now: pd.Timestamp, max_age: timedelta
) -> pd.DataFrame:
    if obs.empty:
        return pd.DataFrame(columns=COLUMNS)
    from metrics import aqi

    recent = obs[obs["ts"] <= now]
    report = aqi.realtime_report(recent)
    report = report[report["ts"] >= now - max_age].sort_values("ts").drop_duplicates("entity_id", keep="last")
    latest = _latest(recent, now, max_age)
    frame = latest.merge(report[["entity_id", "aqi"]], on="entity_id", how="left")
    return _entity_rows(
        "air", frame, ["aqi", "pm25", "pm10", "o3", "no2", "so2", "co"], entities, "air_station"
    )


def traffic_signals(
    obs: pd.DataFrame, entities: pd.DataFrame, now: pd.Timestamp, max_age: timedelta, city_code: str | None
) -> pd.DataFrame:
    latest = _latest(obs, now, max_age)
    if latest.empty:
        return pd.DataFrame(columns=COLUMNS)
    segments = entities[entities["kind"] == "road_segment"]
    seg = latest.merge(segments[["entity_id", "road_class", "free_flow_kmh"]], on="entity_id", how="left")
    seg["tti"] = traffic.segment_tti(
        seg["speed_kmh"].astype("float64"), seg["free_flow_kmh"].astype("float64")
    )
    seg["congestion_grade"] = pd.to_numeric(
        traffic.congestion_grade(seg["speed_kmh"].astype("float64"), seg["road_class"].astype(object)),
        errors="coerce",
    )
    rows = _entity_rows("traffic", seg, ["speed_kmh", "tti", "congestion_grade"], entities, "road_segment")
    state = traffic.network_state(latest, segments, city_code=city_code)
    groups = []
    for rec in state.to_dict("records"):
        scope = rec["scope"]
        key = rec["district_code"] if scope == "district" else "city"
        for metric, col in (
            ("tti", "tti"),
            ("traffic_index", "index"),
            ("congested_share", "congested_share"),
        ):
            groups.append(
                {
                    "domain": "traffic",
                    "scope": scope,
                    "key": key,
                    "metric": metric,
                    "value": rec[col],
                    "ts": latest["ts"].max(),
                    "district_code": rec["district_code"] if scope == "district" else None,
                }
            )
    return pd.concat([rows, pd.DataFrame(groups).reindex(columns=COLUMNS)], ignore_index=True)


def incident_signals(incidents: pd.DataFrame, districts: list[str], now: pd.Timestamp) -> pd.DataFrame:
    if incidents.empty:
        counts = pd.DataFrame(columns=["district_code", "type", "severity", "active"])
    else:
        counts = emergency.open_incidents(incidents, now, by_district=True)
    rows = []
    for district in districts:
        mine = counts[counts["district_code"] == district] if len(counts) else counts
        total = float(mine["active"].sum()) if len(mine) else 0.0
        severe = float(mine[mine["severity"] <= 2]["active"].sum()) if len(mine) else 0.0
        water_logged = float(mine[mine["type"] == "waterlogging"]["active"].sum()) if len(mine) else 0.0
        for metric, value in (
            ("open_incidents", total),
            ("open_severe", severe),
            ("open_waterlogging", water_logged),
        ):
            rows.append(
                {
                    "domain": "incident",
                    "scope": "district",
                    "key": district,
                    "metric": metric,
                    "value": value,
                    "ts": now,
                    "district_code": district,
                }
            )
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def feed_signals(feeds: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``feeds``: name, domain, department, freshness, last_data_at."""
    rows = [
        {
            "domain": f["domain"],
            "scope": "feed",
            "key": f["name"],
            "metric": "freshness_rank",
            "value": float(FRESHNESS_RANK[f["freshness"]]),
            "ts": None if f.get("last_data_at") is None else _naive(f["last_data_at"]),
            "name": f.get("department") or f["name"],
        }
        for f in feeds
    ]
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    frame["freshness"] = [f["freshness"] for f in feeds]
    return frame


def compute_signals(
    window: Window,
    entities: pd.DataFrame,
    now: datetime,
    *,
    districts: list[str],
    feeds: Sequence[Mapping[str, Any]] | None = None,
    city_code: str | None = None,
    max_age: Mapping[str, timedelta] | None = None,
    faults: list[Fault] | None = None,
) -> pd.DataFrame:
    """All signals at ``now`` (see the module docstring). With ``faults``, a domain whose computation
    fails is left out and described there (see :mod:`metrics.faults`); without, the error propagates."""
    t = _naive(now)
    ages = {**DEFAULT_MAX_AGE, **(max_age or {})}
    empty = pd.DataFrame(columns=COLUMNS)

    def custom(domain: str, frame: pd.DataFrame) -> pd.DataFrame:
        latest = _latest(frame, t, ages.get(domain, timedelta(hours=3)))
        metrics = [c for c in frame.columns if c not in ("entity_id", "ts")]
        return _entity_rows(domain, latest, metrics, entities, domain)

    computations: list[tuple[str, Callable[[], pd.DataFrame]]] = [
        ("water", lambda: water_signals(window.water, entities, t, ages["water"])),
        ("rain", lambda: rain_signals(window.rain, entities, t, ages["rain"])),
        ("air", lambda: air_signals(window.air, entities, t, ages["air"])),
        ("traffic", lambda: traffic_signals(window.traffic, entities, t, ages["traffic"], city_code)),
        ("incident", lambda: incident_signals(window.incidents, districts, t)),
    ]
    for domain, frame in window.custom.items():
        computations.append((domain, partial(custom, domain, frame)))
    if feeds:
        computations.append(("feeds", lambda: feed_signals(feeds)))
    # Each domain on its own: with ``faults`` given, one that fails is left out and reported there.
    parts = [contained("signals", domain, compute, empty, faults) for domain, compute in computations]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["ts"] = pd.to_datetime(out["ts"])
    return out


def entity_attributes(entities: pd.DataFrame) -> pd.DataFrame:
    """Numeric entity attributes that thresholds may reference (``warning_level_m`` …), by entity id."""
    numeric = [c for c in entities.columns if c.endswith(("_m", "_kmh")) or c in ("length_m",)]
    return entities.set_index("entity_id")[numeric].apply(pd.to_numeric, errors="coerce")


def district_index(
    signals: pd.DataFrame,
    incidents: pd.DataFrame,
    now: datetime,
    *,
    districts: list[str],
    weights: Mapping[str, float] | None = None,
    rain_profile: rain.Profile = "guangdong",
    faults: list[Fault] | None = None,
) -> pd.DataFrame:
    """The city-operations index (0–100) per district from the signals (see ``metrics.composite``).

    With ``faults``, a failure is contained to the district it comes from: the districts are then
    computed one by one, a district that fails gets no index (coverage 0) and a fault in the list."""
    if faults is None:
        return _district_index(signals, incidents, now, districts, weights, rain_profile)
    try:
        return _district_index(signals, incidents, now, districts, weights, rain_profile)
    except Exception:  # find the district at fault below; the others keep their index
        pass
    has_district = "district_code" in incidents.columns
    parts = []
    for code in districts:
        own = signals[
            (signals["district_code"] == code) | ((signals["scope"] == "district") & (signals["key"] == code))
        ]
        own_incidents = incidents[incidents["district_code"] == code] if has_district else incidents
        parts.append(
            contained(
                "index",
                code,
                partial(_district_index, own, own_incidents, now, [code], weights, rain_profile),
                _no_index(code),
                faults,
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else _no_index(None).iloc[0:0]


def _no_index(code: str | None) -> pd.DataFrame:
    """The index row of a district whose index could not be computed: no data, coverage 0."""
    row: dict[str, Any] = {"district_code": code}
    row.update({f"score_{d}": np.nan for d in composite.DOMAINS})
    row.update({"index": np.nan, "grade": pd.NA, "grade_zh": "", "grade_en": "", "coverage": 0.0})
    row.update({"domains": "", "worst_domain": ""})
    frame = pd.DataFrame([row])
    frame["grade"] = frame["grade"].astype("Int64")
    return frame


def _district_index(
    signals: pd.DataFrame,
    incidents: pd.DataFrame,
    now: datetime,
    districts: list[str],
    weights: Mapping[str, float] | None,
    rain_profile: rain.Profile,
) -> pd.DataFrame:

    def entity(domain: str, metric: str, column: str) -> pd.DataFrame:
        rows = signals[
            (signals["domain"] == domain) & (signals["metric"] == metric) & (signals["scope"] == "entity")
        ]
        return pd.DataFrame(
            {"entity_id": rows["entity_id"], "district_code": rows["district_code"], column: rows["value"]}
        )

    traffic_rows = signals[
        (signals["domain"] == "traffic")
        & (signals["scope"] == "district")
        & (signals["metric"] == "traffic_index")
    ]
    traffic_frame = pd.DataFrame({"district_code": traffic_rows["key"], "index": traffic_rows["value"]})
    water_frame = entity("water", "flood_signal", "signal_level")
    wide = {}
    for w in (3, 6, 12):
        wide[w] = entity("rain", f"r{w}_mm", f"r{w}").set_index("entity_id")
    rain_frame = pd.DataFrame()
    if len(wide[3]):
        joined = wide[3].join(wide[6][["r6"]]).join(wide[12][["r12"]])
        joined["signal_level"] = rain.rainstorm_signal(
            joined["r3"], joined["r6"], joined["r12"], profile=rain_profile
        )
        rain_frame = joined.reset_index()[["district_code", "signal_level"]]
    active = pd.DataFrame(columns=["district_code", "severity"])
    if len(incidents):
        state = emergency.incident_state(incidents, _naive(now))
        active = incidents[state.isin(["open", "dispatched"]).to_numpy()][["district_code", "severity"]]
    scores = composite.district_subscores(
        traffic=traffic_frame if len(traffic_frame) else None,
        air=entity("air", "aqi", "aqi"),
        water=water_frame if len(water_frame) else None,
        rain=rain_frame if len(rain_frame) else None,
        emergency=active,
        districts=districts,
    )
    return composite.combine(scores, weights)
