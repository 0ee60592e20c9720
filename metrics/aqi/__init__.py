"""China's Air Quality Index (AQI) per HJ 633-2012 and HJ 633-2026, computed exactly.

Sources and tables: ``/work/shared/reference/standards.md`` §1 (HJ 633-2012 Table 1, HJ 633-2026
Table 3, HJ 633-2026 §4.2 / §5.3, categories and colours from the 2012/2026 Table 1-2 + Appendix A).
HJ 633-2026 replaced HJ 633-2012 on 2026-03-01; 2012 is kept for historical data.

Public API
==========
* :func:`iaqi` — one item's individual index (IAQI), ``int`` or ``None``.
* :func:`iaqi_array` — the same over a numpy array (``float`` out, NaN where :func:`iaqi` gives ``None``),
  exact and vectorised.
* :func:`aqi` — AQI, per-pollutant IAQI, primary pollutants, level, category and colour from a mapping of
  items to concentrations (:class:`AqiResult`).
* :func:`edition_for` — the edition in force at an instant.
* :func:`realtime_report` / :func:`daily_report` — 实时报 / 日报 over stored hourly observations.
* :func:`level_for`, :data:`CATEGORIES`, :data:`COLORS`, :data:`ITEMS`, :data:`POLLUTANTS`, :data:`EDITIONS`.

Items are ``SO2_24H SO2_1H NO2_24H NO2_1H PM10_24H PM10_1H PM25_24H PM25_1H CO_24H CO_1H O3_1H O3_8H``;
concentrations are in µg/m³, CO in mg/m³.

Where each part lives and is explained:

* :mod:`metrics.aqi.editions` — the two editions and the switch between them (2026-03-01 CST).
* :mod:`metrics.aqi.tables` — items, breakpoint tables, levels, categories and colours.
* :mod:`metrics.aqi.arithmetic` — exact rational arithmetic and the editions' rounding rules.
* :mod:`metrics.aqi.scalar` — :func:`iaqi` and :func:`aqi`, with the conventions the standards leave
  open (invalid input, above the table, 1-h PM, missing pollutants, primary pollutants).
* :mod:`metrics.aqi.vectorised` — :func:`iaqi_array` and the AQI columns of the reports.
* :mod:`metrics.aqi.hourly` — hourly observations as exact integers and their moving-window sums.
* :mod:`metrics.aqi.reports` — :func:`realtime_report` and :func:`daily_report`.

>>> iaqi("CO_24H", 2.2)
55
>>> iaqi("PM10_24H", 352.1, edition="HJ 633-2012")
203
>>> iaqi("PM25_24H", 75)
114
>>> iaqi("SO2_1H", 900, edition="HJ 633-2012", companion=65)
58
>>> r = aqi({"PM25_1H": 75, "PM10_1H": 150, "SO2_1H": 500, "NO2_1H": 200, "CO_1H": 10, "O3_1H": 200})
>>> r.aqi, r.category, r.primary_pollutants, r.color
(114, '轻度污染', ('PM2.5',), '#FF7E00')
"""

from __future__ import annotations

from metrics.aqi.editions import (
    CST as CST,
)
from metrics.aqi.editions import (
    DEFAULT_EDITION as DEFAULT_EDITION,
)
from metrics.aqi.editions import (
    EDITION_2012,
    EDITION_2026,
    EDITION_2026_EFFECTIVE,
    EDITIONS,
    edition_for,
)
from metrics.aqi.reports import daily_report, realtime_report
from metrics.aqi.scalar import MISSING_RULES, AqiResult, aqi, iaqi
from metrics.aqi.tables import (
    CATEGORIES,
    COLORS,
    ITEM_POLLUTANT,
    ITEMS,
    POLLUTANTS,
    breakpoints,
    level_for,
)
from metrics.aqi.vectorised import iaqi_array

__all__ = [
    "CATEGORIES",
    "COLORS",
    "EDITIONS",
    "EDITION_2012",
    "EDITION_2026",
    "EDITION_2026_EFFECTIVE",
    "ITEMS",
    "ITEM_POLLUTANT",
    "MISSING_RULES",
    "POLLUTANTS",
    "AqiResult",
    "aqi",
    "breakpoints",
    "daily_report",
    "edition_for",
    "iaqi",
    "iaqi_array",
    "level_for",
    "realtime_report",
]
