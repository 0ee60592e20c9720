"""The analyst explorer's state, its URL form, the query plan and the data behind its charts.

The whole view is one :class:`ExploreState`; :func:`encode_state` / :func:`decode_state` turn it into a
query string and back (``range start end district domain metric entity lang``). Decoding never raises:
a value that does not parse falls back to its default, so a garbled or hostile link still opens a page.
:func:`resolve_state` then checks the parsed state against what the city actually has (domains,
metrics, districts, stations).

The query plan keeps every range interactive: raw observations (bucketed so a series never exceeds
:data:`MAX_POINTS`) up to :data:`RAW_MAX`, hourly rollups up to :data:`HOURLY_MAX`, daily rollups beyond.
:func:`load_explore_data` asks the warehouse for exactly the rows the charts draw, and
:func:`export_frame` turns those same rows into the downloadable table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cityops.base.domains import BUILTIN_DOMAINS, INCIDENT, Domain, custom_domain

Resolution = Literal["raw", "hourly", "daily"]

RANGES: tuple[str, ...] = ("24h", "7d", "30d", "1y", "custom")
RANGE_SPANS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "1y": timedelta(days=365),
}
LANGS = ("zh", "en")
DEFAULT_DOMAIN = "water"
#: Raw observations are read (in buckets) up to this span, hourly rollups up to HOURLY_MAX, daily beyond.
RAW_MAX = timedelta(days=2)
HOURLY_MAX = timedelta(days=60)
#: At most this many points per series reach the browser.
MAX_POINTS = 2000
#: The heatmap covers at most this many days (the last ones of the range).
HEATMAP_DAYS = 366
#: A custom range spans at most this many days (daily rollups; still under MAX_POINTS).
MAX_CUSTOM_DAYS = 1830
#: Stations drawn one by one in the comparison's river-level panel.
COMPARE_STATIONS = 6
INCIDENT_METRIC = "count"
#: Metrics whose buckets add up (an amount per interval) rather than average.
SUM_METRICS = {("rain", "rain_mm"), ("incident", INCIDENT_METRIC)}

_QUERY_KEYS = ("range", "start", "end", "district", "domain", "metric", "entity", "lang")


def _ok_id(value: str, *, max_len: int = 80, extra: str = "-_.:") -> bool:
    return 0 < len(value) <= max_len and all(c.isascii() and (c.isalnum() or c in extra) for c in value)


@dataclass(frozen=True)
class ExploreState:
    """What the explorer shows. ``start``/``end`` (local calendar days, inclusive) only for ``custom``."""

    range: str = "24h"
    start: date | None = None
    end: date | None = None
    district: str | None = None
    domain: str = DEFAULT_DOMAIN
    metric: str | None = None
    entity: str | None = None
    lang: str = "zh"


# -- the URL ------------------------------------------------------------------------------------------


def encode_state(state: ExploreState) -> str:
    """The query string (without ``?``) of a state; keys in a fixed order, empty values left out."""
    pairs: list[tuple[str, str]] = [("range", state.range)]
    if state.range == "custom" and state.start is not None and state.end is not None:
        pairs += [("start", state.start.isoformat()), ("end", state.end.isoformat())]
    for key in ("district", "domain", "metric", "entity"):
        value = getattr(state, key)
        if value:
            pairs.append((key, value))
    pairs.append(("lang", state.lang))
    return urlencode(pairs)


def _first(raw: Any) -> str | None:
    if isinstance(raw, list | tuple):
        raw = raw[0] if raw else None
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def _date(raw: str | None) -> date | None:
    if raw is None or len(raw) != 10:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None
    return value if 2000 <= value.year <= 2100 else None


def decode_state(query: str | Mapping[str, Any] | None) -> ExploreState:
    """The state a query string (``?a=b&…``, or already parsed) describes; anything invalid → default."""
    params: Mapping[str, Any]
    if query is None:
        params = {}
    elif isinstance(query, str):
        try:
            params = parse_qs(query[1:] if query.startswith("?") else query, max_num_fields=50)
        except ValueError:  # too many fields, or undecodable: a link nobody made on purpose
            params = {}
    else:
        params = query
    get = {k: _first(params.get(k)) for k in _QUERY_KEYS}
    default = ExploreState()
    rng = get["range"] if get["range"] in RANGES else default.range
    start, end = _date(get["start"]), _date(get["end"])
    if rng == "custom":
        if start is None or end is None or end < start or (end - start).days > MAX_CUSTOM_DAYS:
            rng, start, end = default.range, None, None
    else:
        start = end = None
    district = (
        get["district"] if get["district"] and _ok_id(get["district"], max_len=20, extra="-_") else None
    )
    domain = (
        get["domain"] if get["domain"] and _ok_id(get["domain"], max_len=40, extra="_") else default.domain
    )
    metric = get["metric"] if get["metric"] and _ok_id(get["metric"], max_len=40, extra="_") else None
    entity = get["entity"] if get["entity"] and _ok_id(get["entity"]) else None
    lang = get["lang"] if get["lang"] in LANGS else default.lang
    return ExploreState(rng, start, end, district, domain, metric, entity, lang)  # type: ignore[arg-type]


# -- what the city has --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """The choices the explorer offers: domains (built-in and configured), districts, stations."""

    domains: dict[str, Domain]
    districts: pd.DataFrame  # code, name, name_en, lon, lat
    entities: pd.DataFrame  # entity_id, kind, name, district_code, lon, lat, … (the entity table)

    def metrics(self, domain: str) -> tuple[str, ...]:
        if domain == INCIDENT.name:
            return (INCIDENT_METRIC,)
        return self.domains[domain].values

    def domain_entities(self, domain: str) -> pd.DataFrame:
        if domain == INCIDENT.name or domain not in self.domains:
            return self.entities.iloc[0:0]
        return self.entities[self.entities["kind"] == self.domains[domain].entity_kind]

    def domain_of_kind(self, kind: str) -> str | None:
        for name, d in self.domains.items():
            if d.entity_kind == kind and name != INCIDENT.name:
                return name
        return None

    def entity(self, entity_id: str | None) -> dict[str, Any] | None:
        if not entity_id:
            return None
        rows = self.entities[self.entities["entity_id"] == entity_id]
        return None if rows.empty else rows.iloc[0].to_dict()


def explore_domains(settings: Any) -> dict[str, Domain]:
    """The built-in domains and every domain declared in ``settings.domains`` (a department's new feed)."""
    out = dict(BUILTIN_DOMAINS)
    for name, spec in (getattr(settings, "domains", None) or {}).items():
        out[name] = custom_domain(name, spec.label, spec.entity_kind, [m.model_dump() for m in spec.metrics])
    return out


def load_catalog(svc: Any) -> Catalog:
    wh = svc.warehouse
    return Catalog(explore_domains(svc.settings), wh.districts(), wh.entities())


def resolve_state(state: ExploreState, catalog: Catalog) -> ExploreState:
    """``state`` with every choice the city does not have replaced by a sensible one."""
    domain = (
        state.domain
        if state.domain in catalog.domains
        else (DEFAULT_DOMAIN if DEFAULT_DOMAIN in catalog.domains else next(iter(catalog.domains)))
    )
    metrics = catalog.metrics(domain)
    metric = state.metric if state.metric in metrics else metrics[0]
    district = state.district if state.district in set(catalog.districts["code"]) else None
    entity = catalog.entity(state.entity)
    entity_id = None
    if (
        entity is not None
        and entity["kind"] == catalog.domains[domain].entity_kind
        and domain != INCIDENT.name
    ) and (district is None or entity["district_code"] == district):
        entity_id = entity["entity_id"]
        # a station stands in its district (the comparison and the map follow it)
        district = entity["district_code"] if isinstance(entity["district_code"], str) else district
    return replace(state, domain=domain, metric=metric, district=district, entity=entity_id)


# -- the query plan -----------------------------------------------------------------------------------


def time_window(state: ExploreState, now: datetime, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC: the last span up to ``now``, or the custom local days (end day included)."""
    if state.range == "custom" and state.start is not None and state.end is not None:
        zone = ZoneInfo(tz)
        start = datetime.combine(state.start, time(), zone).astimezone(UTC)
        end = datetime.combine(state.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end
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


# -- thresholds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A horizontal reference line of the series chart."""

    key: str  # i18n key of the label
    value: float
    color: str
    detail: str = ""


_AQI_ITEMS = {"so2": "SO2", "no2": "NO2", "pm10": "PM10", "pm25": "PM25", "co": "CO", "o3": "O3"}


def thresholds_for(
    domain: str, metric: str, entity: Mapping[str, Any] | None, resolution: Resolution
) -> list[Threshold]:
    """Reference levels for the chart, all taken from the metrics modules and the station's attributes."""
    from metrics.levels import LEVEL_INFO, Level

    def num(v: Any) -> float | None:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        return None if math.isnan(f) else f

    out: list[Threshold] = []
    if domain == "water" and metric == "level_m" and entity is not None:
        for key, col, level in (
            ("explore.th.flood_limit", "flood_limit_level_m", Level.YELLOW),
            ("explore.th.warning", "warning_level_m", Level.YELLOW),
            ("explore.th.guaranteed", "guaranteed_level_m", Level.ORANGE),
            ("explore.th.historical", "historical_level_m", Level.RED),
        ):
            v = num(entity.get(col))
            if v is not None:
                out.append(Threshold(key, v, LEVEL_INFO[level].color))
    elif domain == "air" and metric in _AQI_ITEMS:
        from metrics.aqi import COLORS, DEFAULT_EDITION, breakpoints

        # Hourly values against the 1-h table (PM's 1-h rows are its daily limits), daily means against 24-h.
        suffix = "_24H" if resolution == "daily" and metric != "o3" else "_1H"
        item = _AQI_ITEMS[metric] + suffix
        for conc, iaqi in breakpoints(item, DEFAULT_EDITION)[1:]:
            if iaqi in (50, 100, 150, 200, 300):
                below = {50: 1, 100: 2, 150: 3, 200: 4, 300: 5}[iaqi]  # the category below the bound
                out.append(
                    Threshold(f"explore.th.aqi{below}", float(conc), COLORS[below + 1], f"{item} IAQI {iaqi}")
                )
    elif domain == "traffic" and metric == "speed_kmh" and entity is not None:
        from dashboard.palette import GRADE_COLORS
        from metrics.traffic import SPEED_THRESHOLDS

        bounds = SPEED_THRESHOLDS.get(str(entity.get("road_class")))
        if bounds:
            for grade, v in zip((2, 3, 4, 5), bounds, strict=True):
                out.append(Threshold(f"explore.th.grade{grade}", v, GRADE_COLORS[grade]))
    elif domain == "rain" and metric == "rain_mm" and resolution == "daily":
        from metrics.rain import RAIN_GRADE_LOWER

        colors = {
            2: "#4da3ff",
            3: LEVEL_INFO[Level.YELLOW].color,
            4: LEVEL_INFO[Level.ORANGE].color,
            5: LEVEL_INFO[Level.RED].color,
        }
        for grade, v in enumerate(RAIN_GRADE_LOWER["24h"]):
            if grade + 1 in colors:
                out.append(
                    Threshold(f"explore.th.rain{grade + 1}", v, colors[grade + 1], "GB/T 28592-2012 24h")
                )
    return out


# -- the data behind the charts -------------------------------------------------------------------------


@dataclass
class ComparePanel:
    """One panel of the cross-department comparison; ``frame``: time, value, entity_id, name."""

    key: str  # i18n key of the title
    domain: str
    metric: str
    unit: str
    kind: Literal["bar", "line"]
    frame: pd.DataFrame


@dataclass
class ExploreData:
    state: ExploreState
    start: datetime
    end: datetime
    resolution: Resolution
    step_s: int
    unit: str
    label: str  # station or district name (or the city) the series stands for
    series: pd.DataFrame  # time (local), value, min, max, n
    heatmap: pd.DataFrame  # day (local date), hour (0–23), value
    compare: list[ComparePanel] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)


def _unit(domain: Domain, metric: str) -> str:
    if metric == INCIDENT_METRIC and domain.name == INCIDENT.name:
        return ""
    try:
        return domain.column(metric).unit
    except KeyError:
        return ""


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
    """The rows of one series (zero-filled for counts)."""
    frame = wh.explore_series(q, tz)
    if q.domain.name == INCIDENT.name:
        frame = _zero_fill(frame, q.start, q.end, q.step_s, tz)
    return frame


def load_explore_data(svc: Any, state: ExploreState, catalog: Catalog | None = None) -> ExploreData:
    """Everything the explorer draws for ``state`` (already resolved), read through the warehouse."""
    catalog = catalog or load_catalog(svc)
    wh = svc.warehouse
    tz = svc.settings.city.timezone
    start, end = time_window(state, svc.now(), tz)
    domain = catalog.domains[state.domain]
    metric = state.metric or catalog.metrics(state.domain)[0]
    q = series_query(domain, metric, start, end, entity=state.entity, district=state.district)
    series = read_series(wh, q, tz)
    entity = catalog.entity(state.entity)
    label = _place_label(catalog, state)
    heat = wh.explore_heatmap(replace(q, start=max(start, end - timedelta(days=HEATMAP_DAYS))), tz)
    data = ExploreData(
        state,
        start,
        end,
        q.resolution,
        q.step_s,
        _unit(domain, metric),
        label,
        series,
        heat,
        thresholds=thresholds_for(state.domain, metric, entity, q.resolution),
    )
    data.compare = load_compare(wh, catalog, state.district, start, end, tz)
    return data


def _place_label(catalog: Catalog, state: ExploreState) -> str:
    entity = catalog.entity(state.entity)
    if entity is not None:
        name = entity.get("name_en") if state.lang == "en" and entity.get("name_en") else entity.get("name")
        return str(name or entity["entity_id"])
    if state.district:
        rows = catalog.districts[catalog.districts["code"] == state.district]
        if len(rows):
            row = rows.iloc[0]
            return str(row["name_en"] if state.lang == "en" and row.get("name_en") else row["name"])
    return ""


def load_compare(
    wh: Any, catalog: Catalog, district: str | None, start: datetime, end: datetime, tz: str
) -> list[ComparePanel]:
    """Rain, river levels, traffic speed and incident counts of a district (or the city) on one time axis."""
    panels: list[ComparePanel] = []
    names = catalog.entities.set_index("entity_id")["name"]
    for key, dom, metric, kind in (
        ("explore.cmp.rain", "rain", "rain_mm", "bar"),
        ("explore.cmp.water", "water", "level_m", "line"),
        ("explore.cmp.traffic", "traffic", "speed_kmh", "line"),
        ("explore.cmp.incident", INCIDENT.name, INCIDENT_METRIC, "bar"),
    ):
        domain = catalog.domains[dom]
        per_entity = dom == "water"  # levels of different stations do not average: one line per station
        q = series_query(domain, metric, start, end, district=district, per_entity=per_entity)
        frame = read_series(wh, q, tz)
        if per_entity and len(frame):
            frame = _top_stations(frame, catalog, COMPARE_STATIONS)
        if "entity_id" not in frame:
            frame["entity_id"] = None
        frame["name"] = frame["entity_id"].map(names)
        panels.append(ComparePanel(key, dom, metric, _unit(domain, metric), kind, frame))  # type: ignore[arg-type]
    return panels


def _top_stations(frame: pd.DataFrame, catalog: Catalog, n: int) -> pd.DataFrame:
    """The ``n`` stations nearest to (or furthest above) their warning level over the range."""
    ents = catalog.entities.set_index("entity_id")
    warn = pd.to_numeric(frame["entity_id"].map(ents["warning_level_m"]), errors="coerce")
    over = (frame["max"] - warn).groupby(frame["entity_id"]).max()
    order = over.sort_values(ascending=False, na_position="last").index[:n]
    return frame[frame["entity_id"].isin(order)].reset_index(drop=True)


# -- export -------------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "chart",
    "domain",
    "metric",
    "unit",
    "entity_id",
    "name",
    "time_local",
    "value",
    "min",
    "max",
    "n",
)


def export_frame(data: ExploreData) -> pd.DataFrame:
    """The rows every chart draws, one table: ``chart`` says which (series, heatmap, compare:<domain>).

    The distribution is drawn from the ``series`` rows. Times are local (the city's timezone)."""
    st = data.state
    parts = []
    s = data.series
    parts.append(
        pd.DataFrame(
            {
                "chart": "series",
                "domain": st.domain,
                "metric": st.metric,
                "unit": data.unit,
                "entity_id": st.entity,
                "name": data.label,
                "time": s["time"],
                "value": s["value"],
                "min": s["min"],
                "max": s["max"],
                "n": s["n"],
            }
        )
    )
    h = data.heatmap
    parts.append(
        pd.DataFrame(
            {
                "chart": "heatmap",
                "domain": st.domain,
                "metric": st.metric,
                "unit": data.unit,
                "entity_id": st.entity,
                "name": data.label,
                "time": pd.to_datetime(h["day"]) + pd.to_timedelta(h["hour"], unit="h"),
                "value": h["value"],
                "min": np.nan,
                "max": np.nan,
                "n": h["n"],
            }
        )
    )
    for p in data.compare:
        f = p.frame
        parts.append(
            pd.DataFrame(
                {
                    "chart": f"compare:{p.domain}",
                    "domain": p.domain,
                    "metric": p.metric,
                    "unit": p.unit,
                    "entity_id": f["entity_id"],
                    "name": f["name"],
                    "time": f["time"],
                    "value": f["value"],
                    "min": f["min"],
                    "max": f["max"],
                    "n": f["n"],
                }
            )
        )
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in EXPORT_COLUMNS})
    out = pd.concat(parts, ignore_index=True).rename(columns={"time": "time_local"})[list(EXPORT_COLUMNS)]
    out["time_local"] = pd.to_datetime(out["time_local"]).astype("datetime64[us]")
    for col in ("value", "min", "max", "n"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in ("chart", "domain", "metric", "unit", "entity_id", "name"):
        out[col] = out[col].astype("object").where(out[col].notna(), None)
    return out


def export_filename(state: ExploreState, ext: str) -> str:
    """``cityops-explore-<domain>-<metric>-<range>[-<district>][-<entity>].<ext>`` (ASCII only)."""
    rng = f"{state.start}_{state.end}" if state.range == "custom" else state.range
    parts = [
        "cityops-explore",
        state.domain,
        state.metric or "",
        rng,
        state.district or "",
        state.entity or "",
    ]
    return "-".join(p for p in parts if p) + f".{ext}"


def entity_options(catalog: Catalog, domain: str, district: str | None, lang: str) -> list[dict[str, str]]:
    """Dropdown options for the stations of a domain (in a district); labels are feed text, shown as text."""
    ents = catalog.domain_entities(domain)
    if district:
        ents = ents[ents["district_code"] == district]
    out = []
    for rec in ents.to_dict("records"):
        name = rec.get("name_en") if lang == "en" and isinstance(rec.get("name_en"), str) else rec.get("name")
        out.append({"label": f"{name or rec['entity_id']} · {rec['entity_id']}", "value": rec["entity_id"]})
    return out


def click_target(click: Mapping[str, Any] | None) -> dict[str, str]:
    """What a click on a chart or the map points at.

    ``{"entity": id}``, ``{"district": code}`` or ``{"day": iso}``.
    """
    points = (click or {}).get("points") or []
    if not points or not isinstance(points[0], Mapping):
        return {}
    p = points[0]
    custom = p.get("customdata")
    if isinstance(custom, list | tuple):
        custom = custom[0] if custom else None
    if isinstance(custom, str) and custom.startswith("entity:") and _ok_id(custom[7:]):
        return {"entity": custom[7:]}
    if isinstance(custom, str) and custom.startswith("day:") and _date(custom[4:]) is not None:
        return {"day": custom[4:]}
    loc = p.get("location")
    if isinstance(loc, str) and _ok_id(loc, max_len=20, extra="-_"):
        return {"district": loc}
    return {}


def apply_click(state: ExploreState, target: Mapping[str, str], catalog: Catalog) -> ExploreState:
    """The state after drilling into what was clicked (a station brings its domain and district along)."""
    if "entity" in target:
        entity = catalog.entity(target["entity"])
        if entity is None:
            return state
        domain = catalog.domain_of_kind(str(entity["kind"])) or state.domain
        metric = state.metric if domain == state.domain else None
        district = entity.get("district_code") if isinstance(entity.get("district_code"), str) else None
        return replace(state, entity=entity["entity_id"], domain=domain, metric=metric, district=district)
    if "district" in target:
        return replace(state, district=target["district"], entity=None)
    if "day" in target:
        day = _date(target["day"])
        if day is not None:
            return replace(state, range="custom", start=day, end=day)
    return state


def utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


__all__ = [
    "Catalog",
    "ComparePanel",
    "ExploreData",
    "ExploreState",
    "SeriesQuery",
    "Threshold",
    "apply_click",
    "click_target",
    "decode_state",
    "encode_state",
    "entity_options",
    "explore_domains",
    "export_filename",
    "export_frame",
    "load_catalog",
    "load_explore_data",
    "plan_resolution",
    "resolve_state",
    "series_query",
    "thresholds_for",
    "time_window",
]
