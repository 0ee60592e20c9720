"""The automated daily warning snapshot: a self-contained, archived, reproducible report of one day.

The day
-------
The report **for** day D covers the 24 hours that end at the cut-off on D, in the city's timezone:
with the default cut-off 08:00 (``snapshots.cut_off``), the report for 2026-06-15 covers
2026-06-14 08:00 → 2026-06-15 08:00 local, the night shift's handover time. Warnings and their
transitions count when they happened in [start, end); observations when stamped in (start, end] (a
stamp marks the end of its interval, so the 08:00 rain reading is the last of the day). The daily
AQI is the 日报 of the last complete calendar day at the cut-off (D−1), by the HJ 633 edition in force
on that day, because the daily report is defined per calendar day.

Layout
------
``<data_dir>/snapshots/YYYY-MM-DD/`` (or ``<out>/YYYY-MM-DD/``)::

    report.html          self-contained: plotly.js embedded once, no external URL
    summary.png          the one-page summary image
    summary.json         headline numbers, the day's warnings, per-domain summary, feed health, status
    figures/<name>.png   one image per figure
    data/<name>.parquet  the rows behind each figure
    manifest.json        SHA-256 of every file, rule-pack version, feed-health table, status

Reproducible: the data files and ``summary.json`` contain no wall-clock time, so rendering the same
day twice from the same warehouse gives byte-identical files (and identical manifest entries for
them); the render time is only in ``manifest.json``'s ``rendered_at`` and the warehouse record.

Fails loudly: a query error in the warnings section marks the snapshot ``failed``; a domain with a
configured feed but no data, a query error in a domain section, or a PNG export that cannot run
(no browser) marks it ``partial``; the reason is in the result, ``summary.json``, ``manifest.json``,
the report's banner and the warehouse's ``snapshot`` table. A day without warnings is not an error:
the report says so.

:func:`render_snapshot` is what the CLI (`cityops snapshot`), the scheduled job ``snapshot:daily`` and
the ``/snapshots`` page call; :func:`deliver_snapshot` sends a rendered day to the notification
targets whose events include ``snapshot``.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import math
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.parquet as pq

from cityops.base.domains import AIR
from cityops.base.errors import CityopsError
from cityops.base.times import local_text, utc_naive
from dashboard.figures import snapshot as figs
from dashboard.figures.citymap import MapLayers
from dashboard.i18n import t, t_or
from geo.styles import external_urls
from metrics import traffic as traffic_metrics
from metrics.aqi import daily_report
from metrics.emergency import ALL_TYPES, response_stats, severity_class
from metrics.levels import Level
from metrics.rain import rain_grade
from metrics.water import flood_signal_level

log = logging.getLogger("cityops.snapshot")

STATUSES = ("ok", "partial", "failed")
EVENTS = ("raised", "escalated", "resolved")
LEVEL_KEYS = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}
RAIN_COLORS = {
    0: "#6f8399",
    1: "#9fd3ff",
    2: "#5fb0f0",
    3: "#2f86d9",
    4: "#f2c925",
    5: "#f28c28",
    6: "#d7263d",
}
FIGURE_SIZE = (1200, 520)
WECOM_IMAGE_LIMIT = 2 * 1024 * 1024


class PngExportError(CityopsError):
    """The PNG export cannot run (no browser, the browser failed, a figure timed out)."""


# -- the window ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotWindow:
    """The report window of ``day``: [start, end) as aware UTC instants, and the city's timezone."""

    day: date
    start: datetime
    end: datetime
    tz: str

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.tz))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.tz))

    @property
    def aqi_day(self) -> date:
        """The calendar day whose 日报 the report shows: the last complete one at the cut-off."""
        end = self.local_end
        return end.date() - timedelta(days=1)


def snapshot_window(day: date, tz: str, cut_off: time = time(8, 0)) -> SnapshotWindow:
    """The 24 h ending at ``cut_off`` local time on ``day`` (see the module docstring).

    >>> w = snapshot_window(date(2026, 6, 15), "Asia/Shanghai")
    >>> w.start.isoformat(), w.end.isoformat()
    ('2026-06-14T00:00:00+00:00', '2026-06-15T00:00:00+00:00')
    """
    zone = ZoneInfo(tz)
    end = datetime.combine(day, cut_off, tzinfo=zone)
    start = datetime.combine(day - timedelta(days=1), cut_off, tzinfo=zone)
    return SnapshotWindow(day, start.astimezone(UTC), end.astimezone(UTC), tz)


def last_complete_day(now: datetime, tz: str, cut_off: time = time(8, 0)) -> date:
    """The latest report day whose window has ended at ``now``.

    >>> last_complete_day(datetime(2026, 6, 15, 0, 30, tzinfo=UTC), "Asia/Shanghai")  # 08:30 local
    datetime.date(2026, 6, 15)
    >>> last_complete_day(datetime(2026, 6, 14, 23, 59, tzinfo=UTC), "Asia/Shanghai")  # 07:59 local
    datetime.date(2026, 6, 14)
    """
    local = now.astimezone(ZoneInfo(tz))
    return (
        local.date() if local.timetz().replace(tzinfo=None) >= cut_off else local.date() - timedelta(days=1)
    )


def snapshot_dir(settings: Any, day: date, out_dir: Path | None = None) -> Path:
    """Where the report of ``day`` lives: ``<out_dir or data_dir/snapshots>/YYYY-MM-DD``."""
    parent = Path(out_dir) if out_dir is not None else Path(settings.storage.data_dir) / "snapshots"
    return parent / day.isoformat()


# -- the result -------------------------------------------------------------------------------------------


@dataclass
class SnapshotResult:
    """What a render produced. ``files`` are paths relative to ``directory``."""

    day: date
    status: str  # ok | partial | failed
    reason: str | None
    directory: Path
    files: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    pack_version: str | None = None
    rendered_at: datetime | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# -- PNG export ------------------------------------------------------------------------------------------


Exporter = Callable[[Sequence[tuple[Path, go.Figure, int, int]]], None]


def find_browser(settings: Any) -> str | None:
    """The Chromium for the PNG export: ``snapshots.browser``, else the first one on PATH. Never downloads."""
    configured = settings.snapshots.browser
    if configured is not None:
        return str(configured)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def kaleido_exporter(browser: str | None, *, timeout: float = 60.0) -> Exporter:
    """Export figures to PNG with kaleido 1.x driving ``browser`` (one browser for all figures).

    MathJax is off (kaleido would load it from a CDN) and plotly.js comes from the installed plotly
    package, so the export makes no network request. Raises :class:`PngExportError`."""

    def export(jobs: Sequence[tuple[Path, go.Figure, int, int]]) -> None:
        if browser is None:
            raise PngExportError(
                "no Chromium found for the PNG export",
                hint="install it (apt-get install chromium) or set snapshots.browser",
            )
        if not Path(browser).exists():
            raise PngExportError(
                f"the browser {browser} for the PNG export does not exist",
                hint="install chromium or fix snapshots.browser",
            )

        async def run() -> None:
            from kaleido import Kaleido

            async with Kaleido(n=1, timeout=timeout, mathjax=False, path=browser, headless=True) as k:
                for path, fig, width, height in jobs:
                    data = await k.calc_fig(
                        fig, opts={"format": "png", "width": width, "height": height, "scale": 1}
                    )
                    path.write_bytes(data)

        failure: list[BaseException] = []

        def thread() -> None:  # its own event loop, whatever the caller runs (Dash, Playwright, APScheduler)
            try:
                asyncio.run(run())
            except BaseException as exc:
                failure.append(exc)

        worker = threading.Thread(target=thread, name="cityops-png-export", daemon=True)
        worker.start()
        worker.join(timeout * (len(jobs) + 2))
        if worker.is_alive():
            raise PngExportError(f"the PNG export did not finish within {timeout * (len(jobs) + 2):.0f} s")
        if failure:
            exc = failure[0]
            raise PngExportError(
                f"the PNG export failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            ) from None

    return export


# -- small helpers ---------------------------------------------------------------------------------------


def _local_naive(values: Any, tz: str) -> pd.Series:
    """UTC-naive timestamps → local-naive (what people read)."""
    s = pd.to_datetime(pd.Series(values))
    return s.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[us]")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _num(value: Any, digits: int = 1) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else round(v, digits)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Deterministic Parquet: no index, object columns as strings, the same bytes for the same rows."""
    out = frame.reset_index(drop=True).copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith("string"):
            out[col] = out[col].map(
                lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            )
        elif str(out[col].dtype).startswith("datetime64"):
            out[col] = out[col].astype("datetime64[us]")
    table = pa.Table.from_pandas(out, preserve_index=False)
    table = table.replace_schema_metadata(None)  # pandas metadata carries nothing people need
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class _Figure:
    name: str
    title: str
    fig: go.Figure
    data: pd.DataFrame
    width: int = FIGURE_SIZE[0]
    height: int = FIGURE_SIZE[1]


@dataclass
class _Problems:
    fatal: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    def status(self) -> str:
        return "failed" if self.fatal else "partial" if self.partial else "ok"

    def reason(self) -> str | None:
        items = self.fatal + self.partial
        return "; ".join(items) if items else None


# -- the report's data -----------------------------------------------------------------------------------


class _Report:
    """Reads one window through the warehouse's snapshot queries and computes the report's tables."""

    def __init__(self, rt: Any, window: SnapshotWindow, lang: str, pack_version: str | None) -> None:
        self.rt = rt
        self.wh = rt.warehouse
        self.settings = rt.settings
        self.w = window
        self.lang = lang
        self.tz = window.tz
        self.pack_version = pack_version
        self.problems = _Problems()
        self.figures: list[_Figure] = []
        self.summary: dict[str, Any] = {}
        self.sections: dict[str, Any] = {}
        self.districts = self.wh.districts()
        self.district_names = (
            dict(zip(self.districts["code"], self.districts["name"], strict=True))
            if len(self.districts)
            else {}
        )
        self.entities = self.wh.entities()
        departments: dict[str, list[str]] = {}
        for feed in self.settings.feeds.values():
            departments.setdefault(feed.domain, [])
            if feed.department not in departments[feed.domain]:
                departments[feed.domain].append(feed.department)
        self.departments = {d: "、".join(sorted(v)) for d, v in departments.items()}

    # names
    def tr(self, key: str, **kw: Any) -> str:
        text = t(key, self.lang)
        return text.format(**kw) if kw else text

    def level_name(self, level: Any) -> str:
        try:
            return (
                Level(int(level)).zh_color + "预警"
                if self.lang == "zh"
                else f"{Level(int(level)).en} warning"
            )
        except (TypeError, ValueError):
            return "—"

    def level_names(self) -> dict[int, str]:
        return {lv: self.level_name(lv) for lv in (1, 2, 3, 4)}

    def department(self, domain: Any) -> str:
        return self.departments.get(str(domain)) or self.tr("snapshot.dept.centre")

    def district(self, code: Any) -> str:
        if not isinstance(code, str) or not code:
            return self.settings.city.name if self.lang == "zh" else self.settings.city.name_en
        return self.district_names.get(code, code)

    def expected(self, domain: str) -> list[str]:
        return sorted(n for n, f in self.settings.feeds.items() if f.enabled and f.domain == domain)

    def section(self, name: str, fn: Callable[[], None], *, fatal: bool = False) -> None:
        try:
            fn()
        except Exception as exc:
            log.exception("snapshot %s: section %s failed", self.w.day, name)
            message = f"{name}: {type(exc).__name__}: {' '.join(str(exc).split())[:240]}"
            (self.problems.fatal if fatal else self.problems.partial).append(message)
            title = self.tr(f"snapshot.fig.{name}", day=self.w.aqi_day.isoformat())
            self.figures.append(
                _Figure(
                    name,
                    title,
                    figs.build_message_figure(
                        self.tr("snapshot.section_failed", reason=message), title=title
                    ),
                    pd.DataFrame({"error": [message]}),
                )
            )

    # -- warnings ----------------------------------------------------------------------------------------

    def build_warnings(self) -> None:
        tr = self.wh.snapshot_transitions(self.w.start, self.w.end)
        open_end = self.wh.snapshot_open_at(self.w.end)
        open_start = self.wh.snapshot_open_at(self.w.start)
        self.transitions, self.open_start = tr, open_start
        fs, ts = tr["from_state"].astype(object), tr["to_state"].astype(object)
        fl = pd.to_numeric(tr["from_level"], errors="coerce")
        tl = pd.to_numeric(tr["to_level"], errors="coerce")
        event = np.select(
            [
                (fs == "pending") & (ts == "active"),
                (ts == "active") & fs.isin(["active", "acknowledged"]) & (tl < fl),
                (ts == "resolved") & fs.isin(["active", "acknowledged", "suppressed"]),
                (ts == "suppressed"),
            ],
            ["raised", "escalated", "resolved", "suppressed"],
            default="",
        )
        tr = tr.assign(event=event, level=tl.where(event != "resolved", fl).fillna(tl).astype("Int64"))
        events = tr[tr["event"] != ""].copy()
        events["department"] = events["domain"].map(self.department)
        events["district"] = events["district_code"].map(self.district)
        events["time"] = _local_naive(events["occurred_at"], self.tz)
        self.events = events

        counts = (
            events[events["event"].isin(EVENTS)]
            .groupby(["event", "level"])
            .size()
            .rename("count")
            .reset_index()
            if len(events)
            else pd.DataFrame({"event": [], "level": [], "count": []})
        )
        counts["level"] = counts["level"].astype("int64")
        counts["count"] = counts["count"].astype("int64")
        # Per warning: the most severe level it was raised or escalated to in the day.
        up = events[events["event"].isin(["raised", "escalated"])]
        peak = (
            up.groupby("warning_id")
            .agg(level=("level", "min"), department=("department", "first"), district=("district", "first"))
            .reset_index()
            if len(up)
            else pd.DataFrame(columns=["warning_id", "level", "department", "district"])
        )
        rows = []
        for group in ("department", "district"):
            if len(peak):
                g = (
                    peak.groupby([group, "level"])
                    .size()
                    .rename("count")
                    .reset_index()
                    .rename(columns={group: "name"})
                )
                g.insert(0, "group", group)
                rows.append(g)
        places = (
            pd.concat(rows, ignore_index=True)
            if rows
            else pd.DataFrame({"group": [], "name": [], "level": [], "count": []})
        )
        places["level"] = places["level"].astype("int64")
        places["count"] = places["count"].astype("int64")

        end_naive = utc_naive(self.w.end)
        open_rows = open_end.copy()
        open_rows["level"] = pd.to_numeric(open_rows["level_at"], errors="coerce").astype("int64")
        open_rows["age_h"] = (
            (end_naive - pd.to_datetime(open_rows["activated_at"])).dt.total_seconds() / 3600
        ).round(1)
        open_rows["department"] = open_rows["domain"].map(self.department)
        open_rows["district"] = open_rows["district_code"].map(self.district)
        open_rows["acknowledged"] = open_rows["acknowledged_at"].notna() & (open_rows["state_at"] != "active")
        self.open_rows = open_rows

        # Every warning the day touched (an event in the window, or open at its end).
        touched = pd.concat(
            [
                events[
                    [
                        "warning_id",
                        "rule_id",
                        "rule_title",
                        "domain",
                        "name",
                        "district_code",
                        "entity_id",
                        "dedup_key",
                    ]
                ],
                open_rows[
                    [
                        "warning_id",
                        "rule_id",
                        "rule_title",
                        "domain",
                        "name",
                        "district_code",
                        "entity_id",
                        "dedup_key",
                    ]
                ],
            ],
            ignore_index=True,
        ).drop_duplicates("warning_id")
        peak_any = (
            pd.concat([up[["warning_id", "level"]], open_rows[["warning_id", "level"]]])
            .groupby("warning_id")["level"]
            .min()
        )
        touched["level"] = touched["warning_id"].map(peak_any)
        first_level = events.groupby("warning_id")["level"].min()
        touched["level"] = touched["level"].fillna(touched["warning_id"].map(first_level))
        touched = touched.dropna(subset=["level"])
        touched["level"] = touched["level"].astype("int64")
        touched["open_at_cut_off"] = touched["warning_id"].isin(set(open_rows["warning_id"]))
        for kind in EVENTS:
            touched[kind] = touched["warning_id"].isin(set(events.loc[events["event"] == kind, "warning_id"]))
        touched["department"] = touched["domain"].map(self.department)
        touched["district"] = touched["district_code"].map(self.district)
        self.touched = touched.sort_values(["level", "rule_id", "warning_id"]).reset_index(drop=True)

        level_names = self.level_names()
        event_names = {e: self.tr(f"snapshot.event.{e}") for e in EVENTS}
        none = self.tr("snapshot.no_warnings")
        self.figures.append(
            _Figure(
                "warnings_levels",
                self.tr("snapshot.fig.warnings_levels"),
                figs.build_level_bars(
                    counts,
                    title=self.tr("snapshot.fig.warnings_levels"),
                    events=event_names,
                    level_names=level_names,
                    empty_message=none,
                ),
                counts,
            )
        )
        self.figures.append(
            _Figure(
                "warnings_places",
                self.tr("snapshot.fig.warnings_places"),
                figs.build_place_bars(
                    places,
                    title=self.tr("snapshot.fig.warnings_places"),
                    panel_titles=(self.tr("snapshot.by_department"), self.tr("snapshot.by_district")),
                    level_names=level_names,
                    empty_message=none,
                ),
                places,
            )
        )
        self.counts = counts

        def listing(kind: str) -> list[dict[str, Any]]:
            sub = events[events["event"] == kind]
            return [
                {
                    "warning_id": r["warning_id"],
                    "rule_id": r["rule_id"],
                    "title": r["rule_title"],
                    "level": LEVEL_KEYS.get(int(r["level"]), "?"),
                    "name": _text(r["name"]) or None,
                    "district": r["district"],
                    "department": r["department"],
                    "at": local_text(r["occurred_at"], self.tz, "%Y-%m-%d %H:%M"),
                }
                for r in sub.to_dict("records")
            ]

        self.summary["warnings"] = {
            "total": len(self.touched),
            "none": bool(len(self.touched) == 0),
            "counts": {
                e: {
                    LEVEL_KEYS[lv]: int(
                        counts[(counts["event"] == e) & (counts["level"] == lv)]["count"].sum()
                    )
                    for lv in (1, 2, 3, 4)
                }
                for e in EVENTS
            },
            "raised": listing("raised"),
            "escalated": listing("escalated"),
            "resolved": listing("resolved"),
            "open_at_cut_off": [
                {
                    "warning_id": r["warning_id"],
                    "rule_id": r["rule_id"],
                    "title": r["rule_title"],
                    "level": LEVEL_KEYS.get(int(r["level"]), "?"),
                    "name": _text(r["name"]) or None,
                    "district": r["district"],
                    "state": r["state_at"],
                    "acknowledged": bool(r["acknowledged"]),
                    "acknowledged_by": _text(r["acknowledged_by"]) or None,
                    "since": local_text(r["activated_at"], self.tz, "%Y-%m-%d %H:%M"),
                    "age_h": _num(r["age_h"]),
                }
                for r in open_rows.to_dict("records")
            ],
        }

    # -- the map -----------------------------------------------------------------------------------------

    def build_map(self) -> None:
        from dashboard.mapdata import load_base_layers

        base = load_base_layers(self.settings)
        placed = self.touched.merge(self.entities[["entity_id", "lon", "lat"]], on="entity_id", how="left")
        by_district = (
            self.districts.set_index("code")[["lon", "lat"]]
            if len(self.districts)
            else pd.DataFrame(columns=["lon", "lat"])
        )
        missing = placed["lon"].isna() & placed["district_code"].notna()
        placed.loc[missing, "lon"] = placed.loc[missing, "district_code"].map(by_district["lon"])
        placed.loc[missing, "lat"] = placed.loc[missing, "district_code"].map(by_district["lat"])
        placed["label"] = [
            f"{self.level_name(lv)} {title} {_text(n)}".strip()
            for lv, title, n in zip(placed["level"], placed["rule_title"], placed["name"], strict=True)
        ]
        placed["open"] = placed["open_at_cut_off"].astype(bool)
        self.map_layers = MapLayers(districts=self.districts, base=base)
        self.map_points = placed
        data = placed[["warning_id", "rule_id", "level", "open", "lon", "lat", "district_code", "label"]]
        legend = {
            "open": self.tr("snapshot.map.open"),
            "closed": self.tr("snapshot.map.closed"),
            "none": self.tr("snapshot.no_warnings"),
        }
        fig = figs.build_snapshot_map(
            self.map_layers,
            placed,
            title=self.tr("snapshot.fig.map"),
            legend_names=legend,
            level_names=self.level_names(),
        )
        self.figures.append(_Figure("map", self.tr("snapshot.fig.map"), fig, data, 1200, 760))

    # -- domains ------------------------------------------------------------------------------------------

    def missing_data(self, domain: str, what: str) -> bool:
        feeds = self.expected(domain)
        if feeds:
            self.problems.partial.append(
                self.tr("snapshot.problem.no_data", domain=domain, feeds=", ".join(feeds), what=what)
            )
            return True
        return False

    def build_air(self) -> None:
        day = self.w.aqi_day
        zone = ZoneInfo(self.tz)
        lo = datetime.combine(day, time(0), tzinfo=zone)
        obs = self.wh.observations(AIR, start=lo - timedelta(hours=1), end=lo + timedelta(days=1, hours=1))
        title = self.tr("snapshot.fig.air", day=day.isoformat())
        report = daily_report(obs, tz=self.tz) if len(obs) else pd.DataFrame()
        if len(report):
            report = report[pd.to_datetime(report["date"]).dt.date == day]
        names = (
            self.entities.set_index("entity_id")["name"] if len(self.entities) else pd.Series(dtype=object)
        )
        if report.empty:
            missing = self.missing_data("air", day.isoformat())
            self.summary["air"] = {"day": day.isoformat(), "stations": 0}
            if missing:
                self.figures.append(
                    _Figure(
                        "air",
                        title,
                        figs.build_message_figure(self.tr("snapshot.no_data"), title=title),
                        pd.DataFrame(),
                    )
                )
            return
        report = report.assign(name=report["entity_id"].map(names).fillna(report["entity_id"]))
        report["aqi"] = pd.to_numeric(report["aqi"], errors="coerce")
        report["primary_pollutants"] = report["primary_pollutants"].map(
            lambda v: "/".join(v) if isinstance(v, tuple | list) else _text(v)
        )
        valid = report["aqi"].notna()
        if not valid.any():
            self.problems.partial.append(
                self.tr(
                    "snapshot.problem.aqi_insufficient", day=day.isoformat(), hours=int(report["hours"].max())
                )
            )
        data = report[
            [
                "entity_id",
                "name",
                "date",
                "edition",
                "hours",
                "aqi",
                "level",
                "category",
                "primary_pollutants",
                "pm25_24h",
                "pm10_24h",
                "o3_8h_max",
            ]
        ].copy()
        data["level"] = pd.to_numeric(data["level"], errors="coerce")
        fig = figs.build_aqi_figure(data, title=title, axis="AQI")
        self.figures.append(_Figure("air", title, fig, data))
        worst = data.loc[data["aqi"].idxmax()] if valid.any() else None
        self.summary["air"] = {
            "day": day.isoformat(),
            "edition": str(data["edition"].iloc[0]),
            "stations": len(data),
            "stations_with_aqi": int(valid.sum()),
            "worst": None
            if worst is None
            else {"name": worst["name"], "aqi": int(worst["aqi"]), "category": _text(worst["category"])},
            "over_100": int((data["aqi"] > 100).sum()),
            "over_200": int((data["aqi"] > 200).sum()),
        }

    def build_water(self) -> None:
        peaks = self.wh.snapshot_water_peaks(self.w.start, self.w.end)
        title = self.tr("snapshot.fig.water")
        if peaks.empty:
            if self.missing_data("water", title):
                self.figures.append(
                    _Figure(
                        "water",
                        title,
                        figs.build_message_figure(self.tr("snapshot.no_data"), title=title),
                        pd.DataFrame(),
                    )
                )
            self.summary["water"] = {"stations": 0}
            return
        signal = flood_signal_level(
            peaks.rename(columns={"peak_m": "level_m"})[["entity_id", "level_m"]],
            peaks.drop(columns=["peak_m"]),
        )
        peaks["signal"] = pd.to_numeric(signal["signal_level"], errors="coerce").to_numpy()
        peaks["over_warning_m"] = (peaks["peak_m"] - peaks["warning_level_m"]).round(2)
        peaks["over_guaranteed_m"] = (peaks["peak_m"] - peaks["guaranteed_level_m"]).round(2)
        peaks["peak_time"] = _local_naive(peaks["peak_at"], self.tz)
        data = peaks[
            [
                "entity_id",
                "name",
                "river",
                "district_code",
                "station_type",
                "peak_m",
                "peak_time",
                "warning_level_m",
                "guaranteed_level_m",
                "historical_level_m",
                "over_warning_m",
                "over_guaranteed_m",
                "signal",
                "readings",
            ]
        ]
        rivers = data[data["warning_level_m"].notna()]
        fig = figs.build_water_figure(
            rivers,
            title=title,
            axis=self.tr("snapshot.axis.over_warning"),
            level_names=self.level_names(),
            normal_name=self.tr("snapshot.below_warning"),
        )
        self.figures.append(_Figure("water", title, fig, data, 1200, max(520, 22 * len(rivers) + 140)))
        over = rivers[rivers["over_warning_m"] >= 0].sort_values("over_warning_m", ascending=False)
        self.summary["water"] = {
            "stations": len(data),
            "over_warning": len(over),
            "over_guaranteed": int((rivers["over_guaranteed_m"] >= 0).sum()),
            "peaks_over_warning": [
                {
                    "name": r["name"],
                    "river": _text(r["river"]),
                    "peak_m": _num(r["peak_m"], 2),
                    "over_warning_m": _num(r["over_warning_m"], 2),
                    "at": r["peak_time"].strftime("%m-%d %H:%M"),
                }
                for r in over.to_dict("records")
            ],
        }

    def build_rain(self) -> None:
        totals = self.wh.snapshot_rain_totals(self.w.start, self.w.end)
        title = self.tr("snapshot.fig.rain")
        if totals.empty:
            if self.missing_data("rain", title):
                self.figures.append(
                    _Figure(
                        "rain",
                        title,
                        figs.build_message_figure(self.tr("snapshot.no_data"), title=title),
                        pd.DataFrame(),
                    )
                )
            self.summary["rain"] = {"gauges": 0}
            return
        totals["total_mm"] = totals["total_mm"].astype("float64").round(1)
        totals["max_1h_mm"] = totals["max_1h_mm"].astype("float64").round(1)
        totals["grade"] = rain_grade(totals["total_mm"], "24h").astype("Int64")
        totals["color"] = totals["grade"].map(
            lambda g: RAIN_COLORS.get(int(g), "#6f8399") if not pd.isna(g) else "#6f8399"
        )
        totals["max_1h_time"] = _local_naive(totals["max_1h_hour"], self.tz)
        data = totals.sort_values(["total_mm", "entity_id"], ascending=[False, True]).reset_index(drop=True)
        data = data[
            [
                "entity_id",
                "name",
                "district_code",
                "total_mm",
                "max_1h_mm",
                "max_1h_time",
                "grade",
                "color",
                "readings",
            ]
        ]
        top = data.head(12)
        self.figures.append(_Figure("rain", title, figs.build_rain_figure(top, title=title, axis="mm"), data))
        self.summary["rain"] = {
            "gauges": len(data),
            "mean_mm": _num(data["total_mm"].mean()),
            "over_50mm": int((data["total_mm"] >= 50).sum()),
            "heaviest": [
                {
                    "name": r["name"],
                    "district": self.district(r["district_code"]),
                    "total_mm": _num(r["total_mm"]),
                    "max_1h_mm": _num(r["max_1h_mm"]),
                }
                for r in top.head(5).to_dict("records")
            ],
        }

    def build_traffic(self) -> None:
        hours = self.wh.snapshot_traffic_hours(self.w.start, self.w.end)
        title = self.tr("snapshot.fig.traffic")
        if hours.empty:
            if self.missing_data("traffic", title):
                self.figures.append(
                    _Figure(
                        "traffic",
                        title,
                        figs.build_message_figure(self.tr("snapshot.no_data"), title=title),
                        pd.DataFrame(),
                    )
                )
            self.summary["traffic"] = {"hours": 0}
            return
        rows = []
        city = self.settings.city.code
        for hour, part in hours.groupby("hour", sort=True):
            state = traffic_metrics.network_state(
                part[["entity_id", "speed_kmh", "volume_vph"]],
                part[["entity_id", "road_class", "length_m", "free_flow_kmh", "district_code"]],
                city_code=city,
            )
            state.insert(0, "hour", hour)
            rows.append(state)
        index = pd.concat(rows, ignore_index=True)
        index["city"] = index["scope"] == "city"
        index["name"] = [
            self.tr("snapshot.city") if c else self.district(d)
            for c, d in zip(index["city"], index["district_code"], strict=True)
        ]
        index["time"] = _local_naive(index["hour"], self.tz)
        index["index"] = index["index"].astype("float64").round(2)
        data = index[
            [
                "time",
                "scope",
                "district_code",
                "name",
                "city",
                "tti",
                "index",
                "grade",
                "n_segments",
                "congested_share",
            ]
        ].copy()
        data["tti"] = data["tti"].astype("float64").round(3)
        data["congested_share"] = data["congested_share"].astype("float64").round(3)
        self.figures.append(
            _Figure(
                "traffic",
                title,
                figs.build_traffic_figure(data, title=title, axis=self.tr("snapshot.axis.traffic_index")),
                data,
            )
        )
        peaks = (
            data.dropna(subset=["index"])
            .sort_values(["index", "time"], ascending=[False, True])
            .drop_duplicates("name")
        )
        city_peak = peaks[peaks["city"]]
        self.summary["traffic"] = {
            "hours": int(data["time"].nunique()),
            "city_peak": None
            if city_peak.empty
            else {
                "index": _num(city_peak["index"].iloc[0]),
                "at": city_peak["time"].iloc[0].strftime("%m-%d %H:%M"),
            },
            "district_peaks": [
                {"district": r["name"], "index": _num(r["index"]), "at": r["time"].strftime("%m-%d %H:%M")}
                for r in peaks[~peaks["city"]].head(5).to_dict("records")
            ],
        }

    def build_incidents(self) -> None:
        inc = self.wh.snapshot_incidents(self.w.start, self.w.end)
        title = self.tr("snapshot.fig.incidents")
        runs = self.wh.snapshot_runs(self.w.start, self.w.end)
        feeds = self.expected("incident")
        delivered = (
            runs[runs["feed"].isin(feeds) & runs["status"].isin(["ok", "partial"])] if len(runs) else runs
        )
        if inc.empty and feeds and delivered.empty:
            self.missing_data("incident", title)

        def type_label(v: Any) -> str:
            return t_or(f"incident.type.{v}", self.lang, str(v))

        counts = (
            inc.groupby(["type", "severity"]).size().rename("count").reset_index()
            if len(inc)
            else pd.DataFrame({"type": pd.Series(dtype=object), "severity": [], "count": []})
        )
        counts["severity"] = counts["severity"].astype("int64")
        counts["count"] = counts["count"].astype("int64")
        counts["type_label"] = counts["type"].map(type_label)
        counts["class"] = counts["severity"].map(lambda s: severity_class(s, self.lang))
        stats = (
            response_stats(inc, utc_naive(self.w.end), since=utc_naive(self.w.start))
            if len(inc)
            else pd.DataFrame(
                {
                    "type": pd.Series(dtype=object),
                    "response_count": [],
                    "response_median_min": [],
                    "response_p90_min": [],
                }
            )
        )
        response = (
            stats[(stats["type"] != ALL_TYPES) & (stats["response_count"] > 0)].copy()
            if len(stats)
            else stats
        )
        response = response.assign(
            type_label=response["type"].map(type_label),
            median_min=response["response_median_min"].astype("float64").round(1),
            p90_min=response["response_p90_min"].astype("float64").round(1),
        )
        data = counts.merge(
            response[["type", "median_min", "p90_min", "response_count"]], on="type", how="left"
        )
        if inc.empty:
            fig = figs.build_message_figure(self.tr("snapshot.no_incidents"), title=title)
        else:
            fig = figs.build_incident_figure(
                counts,
                response,
                title=title,
                panel_titles=(self.tr("snapshot.by_type_class"), self.tr("snapshot.response_time")),
                class_names={s: severity_class(s, self.lang) for s in (1, 2, 3, 4)},
                axis=self.tr("snapshot.axis.minutes"),
            )
        self.figures.append(_Figure("incidents", title, fig, data))
        total = stats[stats["type"] == ALL_TYPES] if len(stats) else stats
        self.summary["incidents"] = {
            "reported": len(inc),
            "by_type": {str(k): int(v) for k, v in inc.groupby("type").size().items()} if len(inc) else {},
            "by_class": {str(int(k)): int(v) for k, v in inc.groupby("severity").size().items()}
            if len(inc)
            else {},
            "response_median_min": None if total.empty else _num(total["response_median_min"].iloc[0]),
            "response_p90_min": None if total.empty else _num(total["response_p90_min"].iloc[0]),
        }

    # -- feed health -------------------------------------------------------------------------------------

    def build_feeds(self) -> None:
        runs = self.wh.snapshot_runs(self.w.start, self.w.end)
        tr = getattr(self, "transitions", pd.DataFrame())
        open_start = getattr(self, "open_start", pd.DataFrame())
        end_naive, start_naive = utc_naive(self.w.end), utc_naive(self.w.start)
        periods: list[dict[str, Any]] = []
        # Outages: the feed-outage warnings' open intervals (their key is the feed's name).
        stale_tr = tr[tr["kind"] == "feed_stale"] if len(tr) else tr
        stale_start = open_start[open_start["kind"] == "feed_stale"] if len(open_start) else open_start
        for wid in sorted(set(stale_tr.get("warning_id", [])) | set(stale_start.get("warning_id", []))):
            trail = stale_tr[stale_tr["warning_id"] == wid] if len(stale_tr) else stale_tr
            key = (
                trail["key"].iloc[0]
                if len(trail)
                else stale_start[stale_start["warning_id"] == wid]["key"].iloc[0]
            )
            begin = start_naive if wid in set(stale_start.get("warning_id", [])) else None
            for row in trail.to_dict("records"):
                if row["to_state"] == "active" and begin is None:
                    begin = row["occurred_at"]
                elif row["to_state"] == "resolved" and begin is not None:
                    periods.append({"feed": key, "kind": "outage", "start": begin, "end": row["occurred_at"]})
                    begin = None
            if begin is not None:
                periods.append({"feed": key, "kind": "outage", "start": begin, "end": end_naive})
        failed = runs[runs["status"].isin(["failed", "interrupted"])] if len(runs) else runs
        for row in failed.to_dict("records"):
            finish = (
                row["finished_at"]
                if row["finished_at"] is not None and not pd.isna(row["finished_at"])
                else row["started_at"]
            )
            periods.append(
                {
                    "feed": row["feed"],
                    "kind": "failed_run",
                    "start": row["started_at"],
                    "end": max(
                        pd.Timestamp(finish), pd.Timestamp(row["started_at"]) + pd.Timedelta(minutes=3)
                    ),
                }
            )
        frame = pd.DataFrame(periods, columns=["feed", "kind", "start", "end"])
        frame["start"] = pd.to_datetime(frame["start"]).astype("datetime64[us]")
        frame["end"] = pd.to_datetime(frame["end"]).astype("datetime64[us]")
        frame = frame.sort_values(["feed", "kind", "start"]).reset_index(drop=True)
        # Effect: warnings of the feed's domain that the system suppressed during its outage.
        suppressed = tr[(tr["to_state"] == "suppressed") & (tr["actor"] == "system")] if len(tr) else tr
        table = []
        for name, feed in sorted(self.settings.feeds.items()):
            own = runs[runs["feed"] == name] if len(runs) else runs
            outages = frame[(frame["feed"] == name) & (frame["kind"] == "outage")]
            hit: set[str] = set()
            for o in outages.to_dict("records"):
                within = (
                    suppressed[
                        (suppressed["domain"] == feed.domain)
                        & (suppressed["occurred_at"] >= o["start"] - pd.Timedelta(minutes=15))
                        & (suppressed["occurred_at"] <= o["end"])
                    ]
                    if len(suppressed)
                    else suppressed
                )
                hit |= set(within.get("warning_id", []))
            minutes = (
                float(((outages["end"] - outages["start"]).dt.total_seconds() / 60).sum())
                if len(outages)
                else 0.0
            )
            errors = own[own["error"].notna()]["error"] if len(own) else pd.Series(dtype=object)
            table.append(
                {
                    "feed": name,
                    "department": feed.department,
                    "domain": feed.domain,
                    "enabled": bool(feed.enabled),
                    "runs": len(own),
                    "failed_runs": int(own["status"].isin(["failed", "interrupted"]).sum())
                    if len(own)
                    else 0,
                    "rows_loaded": int((own["rows_inserted"] + own["rows_updated"]).sum()) if len(own) else 0,
                    "outages": [
                        f"{local_text(o['start'], self.tz, '%m-%d %H:%M')}–"
                        f"{local_text(o['end'], self.tz, '%m-%d %H:%M')}"
                        for o in outages.to_dict("records")
                    ],
                    "outage_minutes": round(minutes, 1),
                    "suppressed_warnings": len(hit),
                    "last_error": _text(errors.iloc[-1])[:200] if len(errors) else None,
                }
            )
        self.feed_table = table
        local = frame.assign(
            start=_local_naive(frame["start"], self.tz), end=_local_naive(frame["end"], self.tz)
        )
        names = sorted(self.settings.feeds)
        title = self.tr("snapshot.fig.feeds")
        fig = figs.build_feed_figure(
            local,
            names,
            title=title,
            start=self.w.local_start.replace(tzinfo=None),
            end=self.w.local_end.replace(tzinfo=None),
            kind_names={
                "outage": self.tr("snapshot.feed.outage"),
                "failed_run": self.tr("snapshot.feed.failed_run"),
            },
            empty_message=self.tr("snapshot.feeds_ok"),
        )
        self.figures.append(_Figure("feeds", title, fig, local))
        self.summary["feeds"] = table


# -- rendering -------------------------------------------------------------------------------------------


def _headline(rep: _Report) -> list[tuple[str, str]]:
    s, tr = rep.summary, rep.tr
    w = s.get("warnings", {})
    counts = w.get("counts", {})
    rows = [
        (tr("snapshot.head.raised"), str(sum(counts.get("raised", {}).values()))),
        (tr("snapshot.head.escalated"), str(sum(counts.get("escalated", {}).values()))),
        (tr("snapshot.head.resolved"), str(sum(counts.get("resolved", {}).values()))),
        (tr("snapshot.head.open"), str(len(w.get("open_at_cut_off", [])))),
    ]
    water = s.get("water", {})
    if water.get("stations"):
        rows.append((tr("snapshot.head.water"), str(water.get("over_warning", 0))))
    rain = s.get("rain", {})
    if rain.get("heaviest"):
        top = rain["heaviest"][0]
        rows.append((tr("snapshot.head.rain"), f"{top['total_mm']} mm · {top['name']}"))
    air = s.get("air", {})
    if air.get("worst"):
        rows.append(
            (tr("snapshot.head.air", day=air["day"][5:]), f"{air['worst']['aqi']} · {air['worst']['name']}")
        )
    traffic = s.get("traffic", {})
    if traffic.get("city_peak"):
        rows.append(
            (
                tr("snapshot.head.traffic"),
                f"{traffic['city_peak']['index']} · {traffic['city_peak']['at'][6:]}",
            )
        )
    inc = s.get("incidents", {})
    rows.append((tr("snapshot.head.incidents"), str(inc.get("reported", 0))))
    outages = sum(len(f["outages"]) for f in s.get("feeds", []))
    rows.append((tr("snapshot.head.outages"), str(outages)))
    return rows


_CSS = """
body{margin:0;background:#0b1420;color:#e6edf5;
font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;font-size:15px}
main{max-width:1260px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #22344d;padding-bottom:4px}
.muted{color:#8aa0b8}.banner{padding:12px 16px;border-radius:6px;margin:16px 0;font-weight:600}
.banner.ok{background:#12351f;color:#8fe3b0}.banner.partial{background:#4a3510;color:#ffd27a}
.banner.failed{background:#4a1418;color:#ff9ca3}
.note{padding:10px 14px;background:#111d2e;border-left:4px solid #3aa66b;margin:12px 0}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #22344d}
th{color:#8aa0b8;font-weight:600}
.lv{display:inline-block;padding:1px 8px;border-radius:3px;color:#0b1420;font-weight:700}
.lv1{background:#ff4d4f;color:#fff}.lv2{background:#ff9a2e}.lv3{background:#ffd60a}.lv4{background:#4da3ff}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:10px;margin:12px 0}
.kpi{background:#111d2e;padding:10px 14px;border-radius:6px}
.kpi b{display:block;font-size:22px;margin-top:4px}
.figure{margin:10px 0 18px}
"""


def _place(name: Any, district: str) -> str:
    """``源潭 清城区``; a zone warning named after its district shows the district once."""
    name = _text(name)
    return district if not name or name == district else f"{name} {district}"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _html_report(
    rep: _Report, status: str, reason: str | None, figures: list[_Figure], headline: list[tuple[str, str]]
) -> str:
    tr, w, tz = rep.tr, rep.w, rep.tz
    city = rep.settings.city.name if rep.lang == "zh" else rep.settings.city.name_en
    title = tr("snapshot.title", city=city, day=w.day.isoformat())
    window_text = tr(
        "snapshot.window",
        start=w.local_start.strftime("%Y-%m-%d %H:%M"),
        end=w.local_end.strftime("%Y-%m-%d %H:%M"),
        tz=tz,
    )
    parts = [
        f'<!DOCTYPE html><html lang="{"zh-CN" if rep.lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_esc(title)}</h1>",
        f'<div class="muted">{_esc(window_text)}'
        f" · {_esc(tr('snapshot.pack'))} {_esc(rep.pack_version or '—')}</div>",
        f'<div class="banner {status}" id="snapshot-status">{_esc(tr("snapshot.status." + status))}'
        + (f": {_esc(reason)}" if reason else "")
        + "</div>",
    ]
    parts.append(
        '<div class="kpis">'
        + "".join(f'<div class="kpi">{_esc(k)}<b>{_esc(v)}</b></div>' for k, v in headline)
        + "</div>"
    )
    if rep.summary.get("warnings", {}).get("none"):
        parts.append(f'<div class="note" id="no-warnings">{_esc(tr("snapshot.no_warnings_day"))}</div>')
    # Warnings still open at the cut-off.
    parts.append(f"<h2>{_esc(tr('snapshot.open_title'))}</h2>")
    open_rows = getattr(rep, "open_rows", pd.DataFrame())
    if len(open_rows):
        cols = tr("snapshot.open_columns_full").split("|")
        parts.append(
            '<table id="open-warnings"><tr>' + "".join(f"<th>{_esc(c)}</th>" for c in cols) + "</tr>"
        )
        for r in open_rows.to_dict("records"):
            lv = int(r["level"])
            state = tr(f"snapshot.state.{r['state_at']}")
            ack = (
                tr("snapshot.acked_by", who=_text(r["acknowledged_by"]) or "—")
                if r["acknowledged"]
                else tr("snapshot.unacked")
            )
            parts.append(
                f'<tr><td><span class="lv lv{lv}">{_esc(rep.level_name(lv))}</span></td>'
                f"<td>{_esc(r['rule_title'])}</td>"
                f"<td>{_esc(_place(r['name'], r['district']))}</td><td>{_esc(r['department'])}</td>"
                f"<td>{_esc(local_text(r['activated_at'], tz))}</td><td>{_esc(r['age_h'])} h</td>"
                f"<td>{_esc(state)}</td>"
                f"<td>{_esc(ack)}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append(f'<p class="muted">{_esc(tr("snapshot.no_open"))}</p>')
    first = True
    sections = {
        "warnings_levels": "snapshot.sec.warnings",
        "map": "snapshot.sec.map",
        "air": "snapshot.sec.domains",
        "feeds": "snapshot.sec.feeds",
    }
    for f in figures:
        if f.name in sections:
            parts.append(f"<h2>{_esc(tr(sections[f.name]))}</h2>")
        div = f.fig.to_html(
            full_html=False,
            include_plotlyjs=first,
            div_id=f"fig-{f.name}",
            config={"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["sendDataToCloud"]},
            default_width="100%",
            default_height=f"{f.height}px",
        )
        first = False
        parts.append(f'<div class="figure" data-figure="{_esc(f.name)}">{div}</div>')
    # The feed-health table.
    parts.append(
        '<table id="feed-health"><tr>'
        + "".join(f"<th>{_esc(c)}</th>" for c in tr("snapshot.feed_columns").split("|"))
        + "</tr>"
    )
    for row in getattr(rep, "feed_table", []):
        parts.append(
            f"<tr><td>{_esc(row['feed'])}</td><td>{_esc(row['department'])}</td><td>{row['runs']}</td><td>{row['failed_runs']}</td>"
            f"<td>{_esc('、'.join(row['outages']) or '—')}</td><td>{row['suppressed_warnings']}</td>"
            f"<td>{_esc(row['last_error'] or '')}</td></tr>"
        )
    parts.append("</table>")
    parts.append(f'<p class="muted">{_esc(tr("snapshot.footer"))}</p></main></body></html>')
    return "\n".join(parts)


def report_external_urls(text: str, allowed_hosts: Sequence[str] = ()) -> list[str]:
    """External URLs in a report, outside the embedded plotly.js bundle (whose code carries URL strings
    it only uses when a figure asks for them, e.g. hosted map styles, which the snapshot never does)."""
    from plotly.offline import get_plotlyjs

    return external_urls(text.replace(get_plotlyjs(), ""), allowed_hosts=allowed_hosts)


def render_snapshot(
    rt: Any,
    day: date,
    *,
    out_dir: Path | None = None,
    pack: Any | None = None,
    trigger: str = "manual",
    lang: str = "zh",
    exporter: Exporter | None = None,
) -> SnapshotResult:
    """Render the report of ``day`` (see the module docstring) and record it in the warehouse.

    ``pack``: the rule pack whose version the manifest names (default: the configured packs as of
    ``day``); ``exporter``: the PNG exporter (default kaleido with :func:`find_browser`). Never raises
    for a data or export problem: the result's status and reason say what went wrong."""
    import time as _time

    t0 = _time.monotonic()
    settings = rt.settings
    cut_off = settings.snapshots.cut_off_time
    window = snapshot_window(day, settings.city.timezone, cut_off)
    directory = snapshot_dir(settings, day, out_dir)
    pack_version: str | None = getattr(pack, "version", None)
    pack_problem: str | None = None
    if pack is None and settings.warnings.packs:
        from cityops.alerting import load_rule_pack

        try:
            pack_version = load_rule_pack(settings, today=day).version
        except CityopsError as exc:
            pack_problem = f"rule pack: {exc.message}"
    rep = _Report(rt, window, lang, pack_version)
    if pack_problem:
        rep.problems.partial.append(pack_problem)
    rep.section("warnings", rep.build_warnings, fatal=True)
    if hasattr(rep, "touched"):
        rep.section("map", rep.build_map)
    for name in ("air", "water", "rain", "traffic", "incidents"):
        rep.section(name, getattr(rep, f"build_{name}"))
    rep.section("feeds", rep.build_feeds)

    # Prepare the directory: a previous render of the day is replaced, anything else is left alone.
    ours = {"figures", "data", "report.html", "summary.json", "summary.png", "manifest.json"}
    if directory.exists() and any(p.name not in ours for p in directory.iterdir()):
        rep.problems.fatal.append(
            f"{directory} exists and is not a snapshot directory; refusing to overwrite it"
        )
        return _finish(rt, rep, directory, [], trigger, t0, write=False)
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "figures").mkdir(parents=True)
    (directory / "data").mkdir()

    figures = rep.figures
    headline = _headline(rep)
    files: list[str] = []
    for f in figures:
        rel = f"data/{f.name}.parquet"
        _write_parquet(f.data, directory / rel)
        files.append(rel)

    # PNG export: each figure and the one-page summary.
    summary_fig = None
    if hasattr(rep, "map_layers"):
        open_rows = rep.open_rows
        table = pd.DataFrame(
            {
                "level": open_rows["level"],
                "level_label": [rep.level_name(v) for v in open_rows["level"]],
                "title": open_rows["rule_title"],
                "place": [
                    _place(n, d) for n, d in zip(open_rows["name"], open_rows["district"], strict=True)
                ],
                "age": [f"{v} h" for v in open_rows["age_h"]],
                "ack": [
                    rep.tr("snapshot.acked") if a else rep.tr(f"snapshot.state.{s}")
                    for a, s in zip(open_rows["acknowledged"], open_rows["state_at"], strict=True)
                ],
            }
        )
        city = settings.city.name if lang == "zh" else settings.city.name_en
        summary_fig = figs.build_summary_figure(
            headline,
            rep.counts,
            table,
            rep.map_layers,
            rep.map_points,
            title=rep.tr("snapshot.title", city=city, day=day.isoformat())
            + f"  ({window.local_start:%m-%d %H:%M} → {window.local_end:%m-%d %H:%M})",
            texts={
                "headline": rep.tr("snapshot.sum.headline"),
                "levels": rep.tr("snapshot.fig.warnings_levels"),
                "map": rep.tr("snapshot.fig.map"),
                "open": rep.tr("snapshot.open_title"),
                "none": rep.tr("snapshot.no_warnings"),
                "open_columns": rep.tr("snapshot.open_columns"),
                "no_open": rep.tr("snapshot.no_open"),
            },
            events={e: rep.tr(f"snapshot.event.{e}") for e in EVENTS},
            level_names=rep.level_names(),
        )
    jobs = [(directory / "figures" / f"{f.name}.png", f.fig, f.width, f.height) for f in figures]
    if summary_fig is not None:
        jobs.append((directory / "summary.png", summary_fig, 1600, 1080))
    export = exporter or kaleido_exporter(
        find_browser(settings), timeout=settings.snapshots.export_timeout.total_seconds()
    )
    try:
        export(jobs)
    except PngExportError as exc:
        rep.problems.partial.append(
            rep.tr("snapshot.problem.png", reason=exc.message + (f" ({exc.hint})" if exc.hint else ""))
        )
        for path, *_ in jobs:
            path.unlink(missing_ok=True)
    for path, *_ in jobs:
        if path.exists():
            files.append(str(path.relative_to(directory)))
    return _finish(rt, rep, directory, files, trigger, t0, figures=figures, headline=headline)


def _finish(
    rt: Any,
    rep: _Report,
    directory: Path,
    files: list[str],
    trigger: str,
    t0: float,
    *,
    write: bool = True,
    figures: list[_Figure] | None = None,
    headline: list[tuple[str, str]] | None = None,
) -> SnapshotResult:
    import time as _time

    status, reason = rep.problems.status(), rep.problems.reason()
    w = rep.w
    summary = {
        "schema": "cityops.snapshot/1",
        "day": w.day.isoformat(),
        "window": {"start": w.local_start.isoformat(), "end": w.local_end.isoformat(), "timezone": w.tz},
        "city": rep.settings.city.name,
        "status": status,
        "reason": reason,
        "pack_version": rep.pack_version,
        "headline": [{"label": k, "value": v} for k, v in (headline or [])],
        **rep.summary,
    }
    if write:
        (directory / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n", "utf-8"
        )
        (directory / "report.html").write_text(
            _html_report(rep, status, reason, figures or [], headline or []), "utf-8"
        )
        files = ["report.html", "summary.json", *sorted(files)]
        rendered_at = datetime.now(UTC)
        manifest = {
            "schema": "cityops.snapshot-manifest/1",
            "day": w.day.isoformat(),
            "status": status,
            "reason": reason,
            "pack_version": rep.pack_version,
            "window": summary["window"],
            "files": [
                {"path": p, "sha256": _sha256(directory / p), "bytes": (directory / p).stat().st_size}
                for p in files
            ],
            "feed_health": getattr(rep, "feed_table", []),
            "rendered_at": rendered_at.isoformat(
                timespec="seconds"
            ),  # the only wall-clock time; not part of the data
        }
        (directory / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8"
        )
        files.append("manifest.json")
    else:
        rendered_at = datetime.now(UTC)
    result = SnapshotResult(
        w.day,
        status,
        reason,
        directory,
        files,
        summary,
        rep.pack_version,
        rendered_at,
        round(_time.monotonic() - t0, 3),
    )
    if directory.resolve() != snapshot_dir(rt.settings, w.day).resolve():
        return result  # a copy rendered elsewhere (--out) is an export, not the day's archived report
    try:
        rt.warehouse.save_snapshot(
            day=w.day,
            status=status,
            reason=reason,
            trigger=trigger,
            rendered_at=rendered_at,
            path=str(directory),
            pack_version=rep.pack_version,
            files=len(files),
            warnings=int(summary.get("warnings", {}).get("total", 0)),
        )
    except Exception as exc:
        log.exception("snapshot %s: could not record it in the warehouse", w.day)
        result.reason = "; ".join(
            x for x in (reason, f"not recorded in the warehouse: {type(exc).__name__}: {exc}") if x
        )
    return result


# -- delivery --------------------------------------------------------------------------------------------


def snapshot_notification(rt: Any, result: SnapshotResult, *, at: datetime) -> Any:
    """The :class:`~cityops.notify.Notification` of a rendered day: headline numbers, the link to the
    archived report and (WeCom) the summary image itself."""
    from cityops.notify import Notification

    settings = rt.settings
    s = result.summary
    counts = s.get("warnings", {}).get("counts", {})
    worst = "blue"
    for key in ("red", "orange", "yellow", "blue"):
        if any(counts.get(e, {}).get(key) for e in ("raised", "escalated")) or any(
            w.get("level") == key for w in s.get("warnings", {}).get("open_at_cut_off", [])
        ):
            worst = key
            break
    headline = "；".join(f"{h['label']} {h['value']}" for h in s.get("headline", []))
    if result.status != "ok":
        headline = f"{t('snapshot.status.' + result.status)}：{result.reason}；{headline}"
    base = settings.snapshots.base_url or settings.warnings.dashboard_url
    day = result.day.isoformat()
    link = f"{base.rstrip('/')}/snapshots/{day}/report.html" if base else None
    image_path = result.directory / "summary.png"
    image = image_path.read_bytes() if image_path.exists() else None
    image_url = f"{base.rstrip('/')}/snapshots/{day}/summary.png" if base and image is not None else None
    end = snapshot_window(result.day, settings.city.timezone, settings.snapshots.cut_off_time).end
    return Notification(
        event="snapshot",
        warning_id=f"snapshot-{day}",
        dedup_key=f"snapshot:{day}",
        rule_id="snapshot.daily",
        rule_title=t("snapshot.title", "zh").format(city=settings.city.name, day=day),
        level=worst,
        state=result.status,
        department=t("snapshot.dept.centre", "zh"),
        district=settings.city.name,
        summary=headline,
        raised_at=end,
        at=at,
        link=link,
        image_url=image_url,
        image=image if image is not None and len(image) <= WECOM_IMAGE_LIMIT else None,
        extra={
            "day": day,
            "status": result.status,
            "reason": result.reason,
            "counts": counts,
            "open_at_cut_off": len(s.get("warnings", {}).get("open_at_cut_off", [])),
            "pack_version": result.pack_version,
        },
    )


def deliver_snapshot(
    rt: Any,
    result: SnapshotResult,
    *,
    now: Callable[[], datetime] | None = None,
    client: Any = None,
    sleep: Callable[[float], Any] | None = None,
) -> list[Any]:
    """Send a rendered day to every enabled target whose events include ``snapshot``, with retries;
    each outcome goes to the delivery log. Returns the delivery records."""
    import time as _time

    from cityops.notify import deliver

    targets = [tg for tg in rt.settings.notifications if tg.enabled and "snapshot" in tg.events]
    if not targets:
        return []
    clock = now or (lambda: datetime.now(UTC))
    note = snapshot_notification(rt, result, at=rt.clock.now())
    return deliver(
        targets,
        note,
        client=client,
        now=clock,
        environ=rt.environ,
        sleep=sleep or _time.sleep,
        log=rt.warehouse.log_delivery,
        timezone=rt.settings.city.timezone,
    )
