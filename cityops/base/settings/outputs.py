"""What the product makes of the data: warnings and silences, the index, daily snapshots and the map."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from cityops.base.settings.model import Section, check_crontab
from cityops.base.values import Duration


class Silence(Section):
    """A silence window: warnings of matching rules are suppressed (maintenance, a known event)."""

    rules: str = Field(..., description="Glob of rule ids, e.g. 'traffic.*' or 'water.level'.")
    start: datetime = Field(
        ..., description="Start (ISO-8601 with offset, or local time in the city's timezone)."
    )
    end: datetime = Field(..., description="End.")
    reason: str = Field("silenced", description="Shown on the suppressed warnings.")

    @model_validator(mode="after")
    def _ordered(self) -> Silence:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give start and end both as local times or both with an offset")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class WarningSettings(Section):
    enabled: bool = Field(True, description="Evaluate the rules on a schedule in this process.")
    packs: list[Path] = Field(
        default_factory=list,
        description="Rule pack TOML files in layering order (national → province → city); "
        "relative to this file.",
    )
    tick: Duration = Field(
        timedelta(minutes=1), description="Evaluate every … (also when no new data arrives)."
    )
    backtest_step: Duration = Field(timedelta(minutes=5), description="Step of `cityops rules backtest`.")
    rain_profile: Literal["national", "guangdong"] = Field(
        "guangdong", description="Rainstorm signal profile."
    )
    dashboard_url: str | None = Field(
        None, description="Base URL of the dashboard, for links in notifications."
    )
    silences: list[Silence] = Field(default_factory=list, description="Silence windows.")


class MapLayerSettings(Section):
    """A base layer of the city's own (rivers, roads, zones) from GeoJSON, Shapefile or GeoPackage."""

    name: str = Field(..., description="Shown in the legend.")
    name_en: str | None = Field(None, description="Shown in the legend of English pages (default: name).")
    path: Path = Field(..., description="The file; relative to this configuration file.")
    datum: Literal["wgs84", "gcj02", "bd09", "cgcs2000"] = Field(
        "wgs84", description="Datum of the coordinates (Amap/Tencent data are GCJ-02, Baidu's BD-09)."
    )
    crs: str | None = Field(
        None, description="CRS when the file declares none, e.g. 'EPSG:4490' or 'EPSG:32649'."
    )
    layer: str | None = Field(None, description="Layer of a GeoPackage.")
    kind: Literal["polygon", "line", "point"] | None = Field(
        None, description="Keep only this geometry kind."
    )
    color: str = Field("#3d8fd9", description="Line / outline colour.")
    width: float = Field(3.0, gt=0, description="Line width in px.")


class MapSettings(Section):
    """Maps for an intranet with no internet: the base is the city's own layers unless a tile server
    on the intranet is configured; every URL the pages would load is checked at start."""

    offline: bool = Field(
        True, description="The deployment has no internet: no page may load anything from outside."
    )
    self_check: Literal["refuse", "warn"] = Field(
        "refuse",
        description="When offline and an external URL is found at start: refuse to start, or warn loudly.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Intranet hosts pages may load from (e.g. the tile server's host)."
    )
    tile_url: str | None = Field(
        None,
        description="Optional intranet raster tile URL template, e.g. http://gis.intranet/tiles/{z}/{x}/{y}.png.",
    )
    tile_datum: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84",
        description="Datum of the tiles: overlays are converted to it "
        "(GCJ-02 tiles need converted overlays).",
    )
    layers: list[MapLayerSettings] = Field(
        default_factory=list, description="Base layers drawn under the data."
    )
    glyph_stack: str = Field(
        "Noto Sans Regular", description="Font stack of the map's Latin/digit label glyphs (served locally)."
    )
    zoom: float = Field(7.6, ge=0, le=20, description="Initial zoom of the city map.")


class CompositeSettings(Section):
    """The city-operations index: weights of the domains (see metrics/composite.py; a convention)."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "traffic": 0.25,
            "air": 0.20,
            "water": 0.20,
            "rain": 0.15,
            "emergency": 0.20,
        },
        description="Domain weights; missing domains are left out and the rest renormalised.",
    )

    @field_validator("weights")
    @classmethod
    def _known(cls, value: dict[str, float]) -> dict[str, float]:
        allowed = ("traffic", "air", "water", "rain", "emergency")
        for name, weight in value.items():
            if name not in allowed:
                raise ValueError(f"{name!r} is not a domain of the index; allowed: {', '.join(allowed)}")
            if weight < 0:
                raise ValueError(f"weight of {name} must not be negative")
        if not any(value.values()):
            raise ValueError("at least one weight must be positive")
        return value


class SnapshotSettings(Section):
    """The automated daily warning snapshot (dashboard/snapshot.py). The report for day D covers the 24 h
    from the cut-off on D−1 to the cut-off on D, local time (cut-off 08:00: D−1 08:00 → D 08:00)."""

    enabled: bool = Field(
        True,
        description="Render the snapshot on a schedule in the serving process "
        "(when rule packs are configured).",
    )
    cron: str = Field(
        "0 8 * * *",
        description="When the scheduled render runs: 5-field crontab in the city's timezone "
        "(at or after the cut-off; it renders the last complete day).",
    )
    cut_off: str = Field("08:00", description="Local time (HH:MM) at which a report day ends.")
    deliver: bool = Field(
        True,
        description="Send the scheduled snapshot to notification targets whose events include 'snapshot'.",
    )
    base_url: str | None = Field(
        None,
        description="Base URL of the dashboard for the report link (…/snapshots/YYYY-MM-DD/report.html); "
        "default warnings.dashboard_url.",
    )
    browser: Path | None = Field(
        None,
        description="Chromium executable for the PNG export; default the first of chromium, "
        "chromium-browser, google-chrome found on PATH (a browser is never downloaded).",
    )
    export_timeout: Duration = Field(
        timedelta(seconds=60), description="Longest time the PNG export of one figure may take."
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return check_crontab(value, example="0 8 * * *")

    @field_validator("cut_off")
    @classmethod
    def _valid_cut_off(cls, value: str) -> str:
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
            raise ValueError(f"a local time HH:MM such as '08:00', not {value!r}")
        return value

    @property
    def cut_off_time(self) -> time:
        hour, minute = self.cut_off.split(":")
        return time(int(hour), int(minute))
