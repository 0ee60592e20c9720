"""The tables of HJ 633-2012 and HJ 633-2026: items, IAQI breakpoints, levels, categories and colours.

Sources: ``/work/shared/reference/standards.md`` §1 (HJ 633-2012 Table 1, HJ 633-2026 Table 3,
HJ 633-2026 §4.2 / §5.3, categories and colours from the 2012/2026 Table 1-2 + Appendix A).

Items are ``SO2_24H SO2_1H NO2_24H NO2_1H PM10_24H PM10_1H PM25_24H PM25_1H CO_24H CO_1H O3_1H O3_8H``;
concentrations are in µg/m³, CO in mg/m³.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from typing import Final

from metrics.aqi.editions import DEFAULT_EDITION, EDITION_2012, EDITION_2026, EDITIONS

#: The six pollutants; also the fixed order in which tied primary pollutants are listed.
POLLUTANTS: Final = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3")
ITEM_POLLUTANT: Final[Mapping[str, str]] = {
    "SO2_24H": "SO2",
    "SO2_1H": "SO2",
    "NO2_24H": "NO2",
    "NO2_1H": "NO2",
    "PM10_24H": "PM10",
    "PM10_1H": "PM10",
    "PM25_24H": "PM2.5",
    "PM25_1H": "PM2.5",
    "CO_24H": "CO",
    "CO_1H": "CO",
    "O3_1H": "O3",
    "O3_8H": "O3",
}
ITEMS: Final = tuple(ITEM_POLLUTANT)

#: IAQI values of the table rows.
STEPS: Final = (0, 50, 100, 150, 200, 300, 400, 500)

# Concentration limits per IAQI row (standards §1.2). All limits are integers in the item's unit.
_TABLE_2012: Final[dict[str, tuple[int, ...]]] = {
    "SO2_24H": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "SO2_1H": (0, 150, 500, 650, 800),  # > 800: no 1-h IAQI (see FALLBACK_2012 / FIXED_2026)
    "NO2_24H": (0, 40, 80, 180, 280, 565, 750, 940),
    "NO2_1H": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "PM10_24H": (0, 50, 150, 250, 350, 420, 500, 600),
    "PM25_24H": (0, 35, 75, 115, 150, 250, 350, 500),
    "CO_24H": (0, 2, 4, 14, 24, 36, 48, 60),
    "CO_1H": (0, 5, 10, 35, 60, 90, 120, 150),
    "O3_1H": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "O3_8H": (0, 100, 160, 215, 265, 800),  # > 800: no 8-h IAQI (see FALLBACK_2012 / FIXED_2026)
}
_TABLE_2026: Final[dict[str, tuple[int, ...]]] = {
    **_TABLE_2012,
    "PM10_24H": (0, 50, 120, 250, 350, 420, 500, 600),
    "PM25_24H": (0, 35, 60, 115, 150, 250, 350, 500),
}
TABLES: Final[dict[str, dict[str, tuple[int, ...]]]] = {}
for _ed, _tab in ((EDITION_2012, _TABLE_2012), (EDITION_2026, _TABLE_2026)):
    # 1-h PM: 2026 evaluates it against the daily limits (§4.2.4); 2012 uses the 24-h (moving) average.
    TABLES[_ed] = {**_tab, "PM10_1H": _tab["PM10_24H"], "PM25_1H": _tab["PM25_24H"]}

#: Items whose table stops below IAQI 500, with the edition's rule above the top limit:
#: 2012 falls back to the companion item, 2026 gives a fixed IAQI.
FALLBACK_2012: Final = {"SO2_1H": "SO2_24H", "O3_8H": "O3_1H"}
FIXED_2026: Final = {"SO2_1H": 200, "O3_8H": 300}
CAP: Final = 500

#: GB/T 8170 rounding of HJ 633-2026 §4.2.2: number of decimals kept per item (CO 1, others 0).
DECIMALS_2026: Final = {item: (1 if item.startswith("CO") else 0) for item in ITEMS}

#: Level boundaries (upper AQI of levels 1–5), categories and colours (standards §1.5).
LEVEL_UPPER: Final = (50, 100, 150, 200, 300)
CATEGORIES: Final[Mapping[int, str]] = {
    1: "优",
    2: "良",
    3: "轻度污染",
    4: "中度污染",
    5: "重度污染",
    6: "严重污染",
}
COLORS: Final[Mapping[int, str]] = {
    1: "#00E400",
    2: "#FFFF00",
    3: "#FF7E00",
    4: "#FF0000",
    5: "#99004C",
    6: "#7E0023",
}


def check_edition(edition: str) -> None:
    """Raise ``ValueError`` unless ``edition`` is one of :data:`EDITIONS`."""
    if edition not in TABLES:
        raise ValueError(f"unknown AQI edition {edition!r}; expected one of {', '.join(EDITIONS)}")


def check_item(item: str) -> None:
    """Raise ``ValueError`` unless ``item`` is one of :data:`ITEMS`."""
    if item not in ITEM_POLLUTANT:
        raise ValueError(f"unknown AQI item {item!r}; expected one of {' '.join(ITEMS)}")


def breakpoints(item: str, edition: str = DEFAULT_EDITION) -> tuple[tuple[int, int], ...]:
    """The (concentration limit, IAQI) rows of ``item``'s table in ``edition``.

    >>> breakpoints("PM25_24H")[:3]
    ((0, 0), (35, 50), (60, 100))
    """
    check_edition(edition)
    check_item(item)
    return tuple(zip(TABLES[edition][item], STEPS, strict=False))


def level_for(aqi_value: int) -> int:
    """The AQI level 1–6 (一级 … 六级) of an AQI value (0–50 → 1, 51–100 → 2, …, > 300 → 6)."""
    return bisect_left(LEVEL_UPPER, aqi_value) + 1
