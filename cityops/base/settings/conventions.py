"""How departments write their data (per feed), and what the city finds plausible (for every feed).

``[feeds.<name>.conventions]`` says which texts mean "no value", whether dates are day-first and how
far back a feed may send data; ``[ingest.plausibility]`` holds the city-wide checks: the earliest
date, the margin around the districts' extent, the longest text value, and the time grid a domain's
computation needs (air readings on the hour for the AQI).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import Field, field_validator

from cityops.base.settings.model import Section
from cityops.base.values import Duration

DEFAULT_MISSING_MARKERS: tuple[str, ...] = (
    "",
    "—",
    "——",
    "–",
    "-",
    "--",
    "---",
    "/",
    "NA",
    "N/A",
    "n/a",
    "na",
    "null",
    "NULL",
    "Null",
    "None",
    "none",
    "无",
    "无数据",
    "缺测",
    "-999",
    "-9999",
    "-99999",
)


class FeedConventions(Section):
    missing_markers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MISSING_MARKERS),
        description="Texts (and numbers such as -999) that mean 'no value': the cell becomes null and "
        "the rest of the row lands. 'NaN' and 'Infinity' are never missing markers: they are invalid.",
    )
    extra_missing_markers: list[str] = Field(
        default_factory=list, description="Markers added to missing_markers (keeps the defaults)."
    )
    day_first: bool = Field(
        False,
        description="Read 'DD/MM/YYYY' dates day first. Without it a date such as 05/06/2026 is "
        "ambiguous and its row is quarantined.",
    )
    backfill: Duration | None = Field(
        None,
        description="Rows older than this (before the run) are quarantined, e.g. '30d'; none: no limit "
        "besides ingest.plausibility.earliest.",
    )

    @field_validator("missing_markers", "extra_missing_markers")
    @classmethod
    def _no_invalid_numbers(cls, value: list[str]) -> list[str]:
        for marker in value:
            if marker.strip().lower() in ("nan", "inf", "infinity", "+inf", "-inf", "-infinity"):
                raise ValueError(
                    f"{marker!r} is an invalid value, not a missing-value marker; remove it from the list"
                )
        return value

    @property
    def markers(self) -> tuple[str, ...]:
        return (*self.missing_markers, *self.extra_missing_markers)


class TimeGrid(Section):
    step: Duration = Field(timedelta(hours=1), description="The grid, e.g. '1h' for hourly readings.")
    tolerance: Duration = Field(
        timedelta(minutes=5),
        description="A reading this close to a grid time is moved onto it (10:00:30 → 10:00); "
        "one further away is quarantined.",
    )
    direction: Literal["nearest", "floor"] = Field(
        "nearest",
        description="'nearest': snap to the closest grid time within the tolerance; 'floor': only a "
        "reading up to the tolerance after a grid time is moved back onto it.",
    )

    @field_validator("step")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0 or 86400 % value.total_seconds():
            raise ValueError("a positive step that divides a day, e.g. '1h', '15m' or '5m'")
        return value


class PlausibilitySettings(Section):
    earliest: date = Field(
        date(2000, 1, 1), description="Rows stamped before this date are quarantined (a broken clock)."
    )
    extent_margin_km: float | None = Field(
        30.0,
        ge=0,
        description="Points further than this outside the districts' bounding box are quarantined "
        "(swapped latitude/longitude is named as such); none: no check.",
    )
    max_text_chars: int = Field(
        10_000, ge=16, description="A text value longer than this is refused (the cell, or a key's row)."
    )
    time_grid: dict[str, TimeGrid] = Field(
        default_factory=lambda: {"air": TimeGrid()},
        description="Domain = the time grid its computation needs: readings are moved onto the grid "
        "within the tolerance, or quarantined. Default: air readings on the hour (for the AQI).",
    )
