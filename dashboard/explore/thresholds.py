"""The horizontal reference lines of the series chart, taken from the metrics modules and the station."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.explore.query import Resolution


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
    elif domain == "air" and metric == "aqi":
        from metrics.aqi import COLORS

        for below, bound in enumerate((50, 100, 150, 200, 300), start=1):  # the category below the bound
            out.append(Threshold(f"explore.th.aqi{below}", float(bound), COLORS[below + 1], "HJ 633 AQI"))
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
