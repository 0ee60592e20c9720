"""IAQI of one item and AQI of one set of concentrations, with the editions' fallbacks and missing-data rules.

Conventions (not fixed by the standards; chosen here)
=====================================================
* **Invalid input** — ``None``, NaN, ±inf, ``pandas.NA`` or a negative concentration gives ``None``.
* **Above the table** — neither edition defines a value above the 500 limits; the IAQI is capped at 500
  (as aqi-hub and other implementations do). The table ends below 500 only for SO2_1H (800 → 200) and
  O3_8H (800 → 300), where the editions' own rules apply:
  - 2012: SO2_1H > 800 → the IAQI of SO2_24H (``companion``); O3_8H > 800 → the IAQI of O3_1H
    (``companion``); ``None`` when no companion is given.
  - 2026: SO2_1H > 800 → 200; O3_8H > 800 → 300 (``companion`` is ignored).
* **IAQI 0** — a zero concentration gives IAQI 0 in both editions (the formula's value). 2026 §4.1.1 says
  the AQI scale is 1–500; a 0 is not raised to 1 and falls in level 1 (优) like any AQI ≤ 50.
* **PM10_1H / PM25_1H** — 2026 (§4.2.4): the 1-h values are evaluated against the daily (24H) limits.
  2012 has no 1-h PM limits; its real-time report computes the PM sub-index from the **24-h moving
  average** (standards §1.4). ``iaqi("PM25_1H", c, edition="HJ 633-2012")`` therefore evaluates ``c``
  against the 24H table *as the real-time PM input*, i.e. the caller should pass the 24-h moving
  average (that is what :func:`~metrics.aqi.reports.realtime_report` does), not a raw 1-h value.
* **Missing pollutants** (:func:`aqi` and the reports; overridable with ``missing=``):
  - 2026 (§5.3, ``missing="above100"``): the AQI is computed from the available pollutants and published
    only if it is > 100; if it is ≤ 100 with any of the six pollutants missing, ``aqi`` is ``None`` while
    the available sub-indices are still reported.
  - 2012 ("NA for the missing item", ``missing="available"``): the missing pollutant's IAQI is NA and
    the AQI is the maximum of the available ones.
  - ``missing="complete"`` gives ``None`` whenever any of the six is missing.
  With no pollutant at all the AQI is ``None`` under every rule.
* **Primary pollutants** — the pollutants whose IAQI equals the AQI, when the AQI is > 50; ties are all
  listed, in the fixed order of :data:`~metrics.aqi.tables.POLLUTANTS` (PM2.5, PM10, SO2, NO2, CO, O3).
  Empty when the AQI is ≤ 50 or ``None``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from metrics.aqi.arithmetic import parse_concentration, round_2026
from metrics.aqi.editions import DEFAULT_EDITION, EDITION_2026
from metrics.aqi.tables import (
    CAP,
    CATEGORIES,
    COLORS,
    FALLBACK_2012,
    FIXED_2026,
    ITEM_POLLUTANT,
    ITEMS,
    POLLUTANTS,
    STEPS,
    TABLES,
    check_edition,
    check_item,
    level_for,
)

#: Rules for missing pollutants (see the module docstring).
MISSING_RULES: Final = ("edition", "above100", "available", "complete")


def iaqi(
    item: str, concentration: Any, *, edition: str = DEFAULT_EDITION, companion: Any = None
) -> int | None:
    """The individual AQI (IAQI) of one item, exactly (see the module docstring for the conventions).

    ``companion`` is only used by HJ 633-2012 above the top of the SO2_1H and O3_8H tables
    (> 800 µg/m³): it is then the SO2_24H, respectively O3_1H, concentration whose IAQI is reported.
    """
    check_edition(edition)
    check_item(item)
    c = parse_concentration(concentration)
    if c is None:
        return None
    if edition == EDITION_2026:
        c = round_2026(item, c)
    limits = TABLES[edition][item]
    if c > limits[-1]:
        if item in FIXED_2026:
            if edition == EDITION_2026:
                return FIXED_2026[item]
            return iaqi(FALLBACK_2012[item], companion, edition=edition)
        return CAP
    i = bisect_left(limits, c)
    if i == 0:
        return 0
    lo, hi = limits[i - 1], limits[i]
    value = STEPS[i - 1] + (STEPS[i] - STEPS[i - 1]) * (c - lo) / (hi - lo)
    return math.ceil(value)


@dataclass(frozen=True)
class AqiResult:
    """The result of :func:`aqi`.

    ``iaqi`` has all six pollutants as keys (:data:`POLLUTANTS` order), ``None`` for a missing one;
    ``missing`` lists those. ``level``, ``category`` and ``color`` are ``None`` when ``aqi`` is.
    """

    aqi: int | None
    iaqi: dict[str, int | None]
    primary_pollutants: tuple[str, ...]
    level: int | None
    category: str | None
    color: str | None
    edition: str
    missing: tuple[str, ...]


def resolve_missing_rule(edition: str, missing: str) -> str:
    """The missing-data rule in force: ``missing``, or the edition's own for ``"edition"``."""
    if missing not in MISSING_RULES:
        raise ValueError(f"unknown missing-data rule {missing!r}; expected one of {', '.join(MISSING_RULES)}")
    if missing == "edition":
        return "above100" if edition == EDITION_2026 else "available"
    return missing


def aqi(values: Mapping[str, Any], *, edition: str = DEFAULT_EDITION, missing: str = "edition") -> AqiResult:
    """AQI and its parts from concentrations keyed by item (``{"PM25_24H": 75, "O3_8H": 120, …}``).

    A pollutant's IAQI is the largest over its given items; the 2012 fallbacks (SO2_1H > 800,
    O3_8H > 800) take the companion item from the same mapping. ``missing`` selects the missing-data
    rule (``"edition"``: 2026 §5.3 for 2026, "NA for the missing item" for 2012; see the module docs).
    """
    check_edition(edition)
    rule = resolve_missing_rule(edition, missing)
    unknown = sorted(set(values) - set(ITEM_POLLUTANT))
    if unknown:
        raise ValueError(
            f"unknown AQI item(s) {', '.join(map(str, unknown))}; expected some of {' '.join(ITEMS)}"
        )
    sub: dict[str, int | None] = dict.fromkeys(POLLUTANTS)
    for item, conc in values.items():
        fallback = FALLBACK_2012.get(item)
        companion = values.get(fallback) if fallback else None
        value = iaqi(item, conc, edition=edition, companion=companion)
        pollutant = ITEM_POLLUTANT[item]
        current = sub[pollutant]
        if value is not None and (current is None or value > current):
            sub[pollutant] = value
    available = [v for v in sub.values() if v is not None]
    absent = tuple(p for p in POLLUTANTS if sub[p] is None)
    result: int | None = max(available) if available else None
    if result is not None and absent and (rule == "complete" or (rule == "above100" and result <= 100)):
        result = None
    if result is None:
        return AqiResult(None, sub, (), None, None, None, edition, absent)
    primary = tuple(p for p in POLLUTANTS if sub[p] == result) if result > 50 else ()
    level = level_for(result)
    return AqiResult(result, sub, primary, level, CATEGORIES[level], COLORS[level], edition, absent)
