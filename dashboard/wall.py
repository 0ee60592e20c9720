"""The wall's state: computed once per tick and shared by every screen that polls.

:class:`WallCache` holds the latest :class:`WallSnapshot`; a screen asking within the same tick gets
the same object (the computation runs under a lock, so ten screens polling at once cost one
computation). Everything here reads the latest state, rollups and open warnings, never raw history:
the cost of a refresh does not grow with the years of data behind it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pandas as pd

from cityops.base.domains import INCIDENT, RAIN
from metrics import traffic
from metrics.aqi import CATEGORIES, level_for

SCENES = ("overview", "water", "traffic", "air")
# Each scene's bright layers, as keys of the map's legend texts (dashboard.figures.citymap.TEXT); the
# city's base layers (rivers) are bright where "rivers" is.
SCENE_LAYERS = {
    "overview": None,  # everything
    "water": {"index", "rivers", "water", "rain", "warnings"},
    "traffic": {"index", "roads", "incidents", "warnings"},
    "air": {"index", "air", "warnings"},
}
WALL_LANGUAGES = ("zh", "en")


@dataclass
class WallSnapshot:
    computed_at: datetime
    tick: int
    scene: str
    kpis: dict[str, Any]
    freshness: dict[str, str]  # domain → fresh | late | stale | never
    data_as_of: dict[str, datetime | None]
    warnings: list[dict[str, Any]]
    trend: pd.DataFrame
    figure: Any = None
    computations: int = 0

    @property
    def figure_json(self) -> dict[str, Any]:
        return self.figure_json_for("zh")

    @property
    def figure_key(self) -> str:
        return self.figure_key_for("zh")

    def figure_for(self, lang: str) -> Any:
        """The map in the screen's language: Chinese is made with the snapshot; another language's
        the first time a screen in it asks (once per snapshot), so a hall of Chinese screens pays
        for one map a tick."""
        if lang == "zh" or lang not in WALL_LANGUAGES:
            return self.figure
        build = self.extra.get("build_map")
        if build is None:
            return self.figure
        with self.extra["map_lock"]:
            made = self.extra.setdefault("figures", {})
            if lang not in made:
                made[lang] = build(lang)
            return made[lang]

    def figure_json_for(self, lang: str) -> dict[str, Any]:
        lang = lang if self.figure_for(lang) is not None else "zh"
        key = f"figure_json:{lang}"
        if key not in self.extra:
            self.extra[key] = self.figure_for(lang).to_plotly_json()
        return self.extra[key]

    def figure_key_for(self, lang: str) -> str:
        """A digest of the map's content: screens redraw the map only when it really changed (a
        5-minute feed changes it every few ticks, not every tick)."""
        lang = lang if self.figure_for(lang) is not None else "zh"
        key = f"figure_key:{lang}"
        if key not in self.extra:
            import hashlib

            import plotly.io as pio

            text = pio.to_json(self.figure_json_for(lang), validate=False, engine="json")
            self.extra[key] = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
        return self.extra[key]

    extra: dict[str, Any] = field(default_factory=dict)
    latest_incidents: list[dict[str, Any]] = field(default_factory=list)


WARNINGS_LIMIT = 2000
# The map's own type (14 px at scale 1) brought to the wall's smallest size at the design width (22 px,
# dashboard/pages/wall.py MIN_TEXT_PX); each screen then scales it with its width.
WALL_TEXT_SCALE = 22 / 14
LEVEL_STATES = ("active", "acknowledged")  # what colours a department's tile (in force, data current)


def _text(v: Any) -> str:
    return v if isinstance(v, str) else ""


@dataclass(frozen=True)
class WarningCard:
    """One card of the wall's warning list: one warning, or several related ones.

    ``kind``: ``one`` (a single warning), ``rule`` (one rule at one level across stations or
    districts), ``district`` (different rules at one level in one district). ``count`` warnings stand
    behind the card; ``places`` are the stations / districts (``rule``) or the rules (``district``)."""

    kind: str
    level: int
    title: str
    places: tuple[str, ...]
    count: int
    unacked: int
    since: datetime | None
    ids: tuple[str, ...]
    summary: str = ""


def _newest(rows: list[dict[str, Any]]) -> datetime | None:
    times = [r["since"] for r in rows if r.get("since") is not None]
    return max(times) if times else None


def group_warnings(rows: list[dict[str, Any]]) -> list[WarningCard]:
    """The warning rows as cards, most severe first: warnings of one rule at one level become one card
    (the same rule across stations); the remaining single warnings of one district at one level become
    one card; the rest stay single. Every row is behind exactly one card (pure)."""
    by_rule: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        by_rule.setdefault((r.get("rule_id") or r["title"], r["level"]), []).append(r)
    cards: list[WarningCard] = []
    singles: list[dict[str, Any]] = []
    for (_rule, level), members in by_rule.items():
        if len(members) < 2:
            singles.extend(members)
            continue
        places = tuple(dict.fromkeys(m.get("place") or m.get("district") or m["title"] for m in members))
        cards.append(
            WarningCard(
                "rule",
                level,
                members[0]["title"],
                places,
                len(members),
                sum(not m["acknowledged"] for m in members),
                _newest(members),
                tuple(m["id"] for m in members),
            )
        )
    by_district: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in singles:
        by_district.setdefault((r.get("district") or "", r["level"]), []).append(r)
    for (district, level), members in by_district.items():
        if district and len(members) >= 2:
            cards.append(
                WarningCard(
                    "district",
                    level,
                    district,
                    tuple(dict.fromkeys(m["title"] for m in members)),
                    len(members),
                    sum(not m["acknowledged"] for m in members),
                    _newest(members),
                    tuple(m["id"] for m in members),
                )
            )
            continue
        for m in members:
            cards.append(
                WarningCard(
                    "one",
                    level,
                    m["title"],
                    (m.get("place") or "",) if m.get("place") else (),
                    1,
                    int(not m["acknowledged"]),
                    m.get("since"),
                    (m["id"],),
                    m.get("summary") or m["title"],
                )
            )
    far_past = datetime.min.replace(tzinfo=UTC)

    def order(c: WarningCard) -> tuple[Any, ...]:
        since = c.since if c.since is None or c.since.tzinfo else c.since.replace(tzinfo=UTC)
        return (c.level, c.unacked == 0, -(since or far_past).timestamp() if since else 0.0, c.title)

    return sorted(cards, key=order)


def page_of(cards: list[WarningCard], per_page: int, index: int) -> tuple[list[WarningCard], int, int]:
    """Page ``index`` (any integer: it wraps, so a clock can drive the rotation) of ``cards``:
    (its cards, its number from 1, the number of pages). No cards is one empty page (pure)."""
    pages = max(1, -(-len(cards) // per_page))
    number = index % pages
    return cards[number * per_page : (number + 1) * per_page], number + 1, pages


def department_levels(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Each department (domain) with warnings in force: (its most severe level, how many at that
    level) — what colours its tile (pure)."""
    out: dict[str, tuple[int, int]] = {}
    for r in rows:
        if r["state"] not in LEVEL_STATES or not r.get("domain"):
            continue
        level, n = out.get(r["domain"], (99, 0))
        if r["level"] < level:
            out[r["domain"]] = (r["level"], 1)
        elif r["level"] == level:
            out[r["domain"]] = (level, n + 1)
    return out


def unacknowledged_alarms(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Red and orange warnings nobody has acknowledged yet, most severe then newest first: the wall's
    banner holds while there is one (pure)."""
    alarms = [r for r in rows if r["level"] <= 2 and r["state"] == "active"]
    far_past = datetime.min.replace(tzinfo=UTC)
    return sorted(
        alarms,
        key=lambda r: (r["level"], -(r.get("since") or far_past).timestamp()),
    )


def data_delay_minutes(now: datetime, as_of: datetime | None) -> int | None:
    """Whole minutes between the data's time and now (None when there is no data yet)."""
    if as_of is None:
        return None
    at = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    return max(0, int((now - at).total_seconds() // 60))


LATEST_INCIDENTS = 5
LATEST_WITHIN = timedelta(hours=6)


def latest_incidents(incidents: pd.DataFrame, names: dict[str, str], now: datetime) -> list[dict[str, Any]]:
    """The newest incidents of the last hours for the ticker: time, type, district, class, description
    (feed text: it goes to the page as text, never as markup)."""
    if incidents.empty:
        return []
    recent = incidents[incidents["reported_at"] >= pd.Timestamp(now - LATEST_WITHIN).tz_convert(None)]
    recent = recent.sort_values(["reported_at", "incident_id"], ascending=False).head(LATEST_INCIDENTS)
    out = []
    for r in recent.to_dict("records"):
        desc = r.get("description")
        out.append(
            {
                "at": r["reported_at"].to_pydatetime().replace(tzinfo=UTC),
                "type": r["type"],
                "district": names.get(r.get("district_code") or "", ""),
                "severity": int(r["severity"]),
                "description": (desc if isinstance(desc, str) else "")[:80],
            }
        )
    return out


def _metric(signals: pd.DataFrame, domain: str, metric: str, scope: str = "entity") -> pd.DataFrame:
    return signals[
        (signals["domain"] == domain) & (signals["metric"] == metric) & (signals["scope"] == scope)
    ]


def compute_kpis(signals: pd.DataFrame, incidents_open: pd.DataFrame) -> dict[str, Any]:
    """Per-department KPI tiles from the signals (pure)."""
    kpis: dict[str, Any] = {}
    city = _metric(signals, "traffic", "traffic_index", "city")
    if len(city):
        index = float(city["value"].iloc[0])
        grade = traffic.traffic_index_grade(index)
        kpis["traffic"] = {
            "index": index,
            "grade": grade,
            "grade_zh": traffic.grade_name(grade, "zh"),
            "grade_en": traffic.grade_name(grade, "en"),
        }
    aqi = _metric(signals, "air", "aqi").dropna(subset=["value"])
    if len(aqi):
        worst = aqi.loc[aqi["value"].idxmax()]
        level = level_for(int(worst["value"]))
        kpis["air"] = {
            "aqi": int(worst["value"]),
            "level": level,
            "category": CATEGORIES[level],
            "station": worst["name"],
        }
    over = _metric(signals, "water", "over_warning_m").dropna(subset=["value"])
    if len(over):
        worst = over.loc[over["value"].idxmax()]
        kpis["water"] = {
            "above_warning": int((over["value"] >= 0).sum()),
            "stations": len(over),
            "worst_station": worst["name"],
            "worst_over_m": float(worst["value"]),
        }
    r1 = _metric(signals, "rain", "r1_mm").dropna(subset=["value"])
    r3 = _metric(signals, "rain", "r3_mm").dropna(subset=["value"])
    if len(r1):
        top1 = r1.loc[r1["value"].idxmax()]
        top3 = r3.loc[r3["value"].idxmax()] if len(r3) else top1
        kpis["rain"] = {
            "max_1h_mm": float(top1["value"]),
            "gauge_1h": top1["name"],
            "max_3h_mm": float(top3["value"]),
            "gauge_3h": top3["name"],
        }
    by_class = dict.fromkeys((1, 2, 3, 4), 0)
    for s in incidents_open.get("severity", pd.Series(dtype="float64")).dropna():
        by_class[int(s)] = by_class.get(int(s), 0) + 1
    kpis["incident"] = {"open": int(sum(by_class.values())), "by_class": by_class}
    return kpis


class WallCache:
    """The wall's snapshot, recomputed at most once per ``tick`` seconds (real time)."""

    def __init__(self, svc: Any, *, tick: float = 10.0, scene_seconds: float = 30.0) -> None:
        self.svc = svc
        self.tick = tick
        self.scene_seconds = scene_seconds
        self._lock = threading.Lock()
        self._snapshot: WallSnapshot | None = None
        self.computations = 0

    def current_tick(self, now: float | None = None) -> int:
        return int((time.time() if now is None else now) // self.tick)

    def get(self) -> WallSnapshot:
        tick = self.current_tick()
        snap = self._snapshot
        if snap is not None and snap.tick == tick:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is None or snap.tick != tick:
                snap = self._compute(tick)
                self._snapshot = snap
        return snap

    def _compute(self, tick: int) -> WallSnapshot:
        from dashboard.mapdata import load_map_layers

        svc = self.svc
        self.computations += 1
        now = svc.now()
        health = svc.feed_health()
        freshness: dict[str, str] = {}
        as_of: dict[str, datetime | None] = {}
        order = {"never": 0, "fresh": 1, "late": 2, "stale": 3}
        for h in health:
            dom = "incident" if h.domain == "incident" else h.domain
            freshness[dom] = max(freshness.get(dom, "never"), h.freshness, key=lambda v: order[v])
            # Event feeds (incidents) are as current as their last successful pull, not their last event.
            at = h.last_success_at if dom == "incident" else (h.last_data_at or h.last_success_at)
            if at is not None and (as_of.get(dom) is None or at > as_of[dom]):
                as_of[dom] = at
        state = svc.engine().state(now)  # one read of the window per tick, for the tiles and the map
        signals = state[0]
        incidents = svc.warehouse.observations(INCIDENT, start=now - timedelta(days=2))
        open_inc = incidents[incidents["status"] != "closed"] if len(incidents) else incidents
        # every open warning (the wall pages through them; a cut-off list hides warnings)
        warnings = svc.warehouse.warnings(open_only=True, limit=WARNINGS_LIMIT)
        names = svc.engine().context().names
        rows = []
        for w in warnings.to_dict("records"):
            if w["state"] == "pending":
                continue
            since = (
                w["activated_at"]
                if w["activated_at"] is not None and w["activated_at"] == w["activated_at"]
                else w["created_at"]
            )
            rows.append(
                {
                    "id": w["warning_id"],
                    "level": int(w["level"]),
                    "title": w["rule_title"],
                    "title_en": _text(w.get("rule_title_en")) or w["rule_title"],
                    "state": w["state"],
                    "summary": w["summary"] or w["rule_title"],
                    "summary_en": _text(w.get("summary_en"))
                    or _text(w.get("rule_title_en"))
                    or w["summary"]
                    or w["rule_title"],
                    "since": since.to_pydatetime().replace(tzinfo=UTC)
                    if hasattr(since, "to_pydatetime")
                    else since,
                    "acknowledged": w["state"] == "acknowledged",
                    "rule_id": w["rule_id"],
                    "domain": w["domain"],
                    "place": _text(w.get("name")) or names.get(_text(w.get("district_code")), ""),
                    "district": names.get(_text(w.get("district_code")), ""),
                }
            )
        scene = SCENES[int(time.time() // self.scene_seconds) % len(SCENES)]
        layers = load_map_layers(svc, state)
        figure = self._map(layers, scene, "zh")
        snap = WallSnapshot(
            now,
            tick,
            scene,
            compute_kpis(signals, open_inc),
            freshness,
            as_of,
            rows,
            self._trend(now),
            figure,
            self.computations,
            extra={"build_map": partial(self._map, layers, scene), "map_lock": threading.Lock()},
            latest_incidents=latest_incidents(incidents, names, now),
        )
        _ = snap.figure_key  # serialise once here, not once per screen
        return snap

    def _map(self, layers: Any, scene: str, lang: str) -> Any:
        """The wall's map in ``lang``, the scene's layers bright and the others dimmed."""
        from dashboard.figures.citymap import TEXT, build_city_map
        from dashboard.offline import map_style

        settings = self.svc.settings
        figure = build_city_map(
            layers,
            style=map_style(settings),  # the glyph URL is set per screen (the host it reached us on)
            center=settings.city.center or (113.0, 24.2),
            zoom=settings.map.zoom,
            datum=settings.map.tile_datum,
            lang=lang,
            label_font=settings.map.glyph_stack,
            uirevision="wall",
            text_scale=WALL_TEXT_SCALE,
        )
        keys = SCENE_LAYERS[scene]
        if keys is not None:
            allowed = {TEXT[lang][k] for k in keys}
            if "rivers" in keys:
                allowed |= {b.title(lang) for b in layers.base}
            # The scene's layers stay bright and the others are dimmed (not removed: taking layers out
            # of a live MapLibre map at every scene change makes it drop in-flight work).
            for trace in figure.data:
                name = (trace.name or "").split(" · ")[0]
                if (
                    name not in allowed
                    and name not in (TEXT[lang]["districts"], "")
                    and hasattr(trace, "opacity")
                ):
                    trace.opacity = 0.2
        return figure

    def _trend(self, now: datetime) -> pd.DataFrame:
        """The last 24 h by hour from the rollups: heaviest gauge's hourly rain, incidents reported."""
        wh = self.svc.warehouse
        start = now - timedelta(hours=24)
        rain = wh.hourly(RAIN, start=start, end=now)
        out = pd.DataFrame(
            {"hour": pd.date_range(pd.Timestamp(start).tz_convert(None).floor("h"), periods=25, freq="h")}
        )
        if len(rain):
            by_hour = rain.groupby("hour")["sum"].max()
            out["rain_max_mm"] = out["hour"].map(by_hour)
        inc = wh.observations(INCIDENT, start=start)
        counts = inc["reported_at"].dt.floor("h").value_counts() if len(inc) else pd.Series(dtype="int64")
        out["incidents"] = out["hour"].map(counts).fillna(0)
        return out
