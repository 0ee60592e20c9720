"""The report of one window while its sections are built: names, problems, figures and the summary.

Each section (:mod:`.warnings_section`, :mod:`.domains_section`, :mod:`.feeds_section`) is a function
of a :class:`Report`: it reads the window through the warehouse's snapshot queries, appends its
figures and writes its part of the summary. A section that raises is recorded as a problem and drawn
as a message, so one broken query never loses the rest of the day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from cityops.base.redact import redact_text
from dashboard.figures import snapshot as figs
from dashboard.figures.citymap import MapLayers
from dashboard.i18n import t
from dashboard.snapshot.window import SnapshotWindow
from metrics.levels import Level

log = logging.getLogger("cityops.snapshot")

EVENTS = ("raised", "escalated", "resolved")
LEVEL_KEYS = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}
FIGURE_SIZE = (1200, 520)


@dataclass
class ReportFigure:
    """One figure of the report and the rows behind it (written as ``data/<name>.parquet``)."""

    name: str
    title: str
    fig: go.Figure
    data: pd.DataFrame
    width: int = FIGURE_SIZE[0]
    height: int = FIGURE_SIZE[1]


@dataclass
class Problems:
    """What went wrong: a fatal problem fails the snapshot, a partial one makes it incomplete."""

    fatal: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    def status(self) -> str:
        return "failed" if self.fatal else "partial" if self.partial else "ok"

    def reason(self) -> str | None:
        items = self.fatal + self.partial
        return "; ".join(items) if items else None


class Report:
    """One window's report: the names it uses, and what its sections have found so far."""

    def __init__(self, rt: Any, window: SnapshotWindow, lang: str, pack_version: str | None) -> None:
        self.rt = rt
        self.wh = rt.warehouse
        self.settings = rt.settings
        self.w = window
        self.lang = lang
        self.tz = window.tz
        self.pack_version = pack_version
        self.problems = Problems()
        self.figures: list[ReportFigure] = []
        self.summary: dict[str, Any] = {}
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
        # Set by the sections as they go; None while the section has not got that far (or failed before).
        self.transitions: pd.DataFrame | None = None
        self.open_start: pd.DataFrame | None = None
        self.events: pd.DataFrame | None = None
        self.open_rows: pd.DataFrame | None = None
        self.touched: pd.DataFrame | None = None
        self.counts: pd.DataFrame | None = None
        self.map_layers: MapLayers | None = None
        self.map_points: pd.DataFrame | None = None
        self.feed_table: list[dict[str, Any]] | None = None

    # -- names ------------------------------------------------------------------------------------------

    def tr(self, key: str, **kw: Any) -> str:
        text = t(key, self.lang)
        return text.format(**kw) if kw else text

    def city_name(self) -> str:
        return self.settings.city.name if self.lang == "zh" else self.settings.city.name_en

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
            return self.city_name()
        return self.district_names.get(code, code)

    def expected(self, domain: str) -> list[str]:
        return sorted(n for n, f in self.settings.feeds.items() if f.enabled and f.domain == domain)

    # -- building -----------------------------------------------------------------------------------------

    def section(self, name: str, build: Callable[[Report], None], *, fatal: bool = False) -> None:
        """Run one section; if it raises, record the problem and show it in place of the section."""
        try:
            build(self)
        except Exception as exc:
            log.exception("snapshot %s: section %s failed", self.w.day, name)
            message = f"{name}: {type(exc).__name__}: {' '.join(redact_text(str(exc)).split())[:240]}"
            (self.problems.fatal if fatal else self.problems.partial).append(message)
            title = self.tr(f"snapshot.fig.{name}", day=self.w.aqi_day.isoformat())
            self.add_message_figure(
                name,
                title,
                self.tr("snapshot.section_failed", reason=message),
                pd.DataFrame({"error": [message]}),
            )

    def add_message_figure(
        self, name: str, title: str, message: str, data: pd.DataFrame | None = None
    ) -> None:
        """A figure that only says ``message`` (no data, a failed section)."""
        fig = figs.build_message_figure(message, title=title)
        self.figures.append(ReportFigure(name, title, fig, pd.DataFrame() if data is None else data))

    def missing_data(self, domain: str, what: str) -> bool:
        """Record that ``domain`` has configured feeds but no data for ``what``; False if it has none."""
        feeds = self.expected(domain)
        if feeds:
            self.problems.partial.append(
                self.tr("snapshot.problem.no_data", domain=domain, feeds=", ".join(feeds), what=what)
            )
            return True
        return False

    def show_missing_data(self, domain: str, title: str, what: str) -> None:
        """An empty domain section (its figure named after the domain): a problem and a "no data"
        figure if a feed should have delivered."""
        if self.missing_data(domain, what):
            self.add_message_figure(domain, title, self.tr("snapshot.no_data"))
