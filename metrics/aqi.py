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

Arithmetic (exact)
==================
Both editions round every IAQI **up** (2012 §6.2 "进位取整", 2026 §4.2.6 "向上进位取整"), so the
linear interpolation is done in exact rational arithmetic: a float input stands for its shortest decimal
representation (``repr``; ``2.2`` is 2.2, not 2.20000000000000017763…), so CO_24H 2.2 → 55 and
PM10_24H 352.1 (2012) → 203, where naive float code gives 56 and 204.

HJ 633-2026 §4.2.2 first rounds concentrations per GB/T 8170 (SO2, NO2, O3, PM10, PM2.5 to integer
µg/m³, CO to 0.1 mg/m³). GB/T 8170 rounds an *exact* trailing 5 to even: "exact" is judged on the decimal
representation, so 0.25 mg/m³ → 0.2, 0.35 → 0.4, 0.15 → 0.2 (even though the binary double nearest 0.15
is a hair below it), 2.5 µg/m³ → 2, 3.5 → 4, 2.5000001 → 3. Rounding happens once, from the given value.
HJ 633-2012 has no such step: its IAQI is computed from the concentration as given.

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
  average (that is what :func:`realtime_report` does), not a raw 1-h value.
* **Missing pollutants** (:func:`aqi` and the reports; overridable with ``missing=``):
  - 2026 (§5.3, ``missing="above100"``): the AQI is computed from the available pollutants and published
    only if it is > 100; if it is ≤ 100 with any of the six pollutants missing, ``aqi`` is ``None`` while
    the available sub-indices are still reported.
  - 2012 ("NA for the missing item", ``missing="available"``): the missing pollutant's IAQI is NA and
    the AQI is the maximum of the available ones.
  - ``missing="complete"`` gives ``None`` whenever any of the six is missing.
  With no pollutant at all the AQI is ``None`` under every rule.
* **Primary pollutants** — the pollutants whose IAQI equals the AQI, when the AQI is > 50; ties are all
  listed, in the fixed order of :data:`POLLUTANTS` (PM2.5, PM10, SO2, NO2, CO, O3). Empty when the AQI
  is ≤ 50 or ``None``.
* **Edition switch** — HJ 633-2026 applies from 2026-03-01 00:00 China Standard Time (UTC+8), i.e.
  2026-02-28 16:00 UTC (:data:`EDITION_2026_EFFECTIVE`). Naive datetimes are UTC (the warehouse's
  convention); a ``datetime.date`` is a calendar day in China. Reports pick the edition by the *start*
  of each averaging period (the hour for the real-time report, the local day for the daily report), so
  the hour 2026-02-28 23:00–24:00 (CST) is still 2012 and the day 2026-03-01 is 2026.

Reports
=======
See :func:`realtime_report` and :func:`daily_report` for the averaging windows, the timestamp
convention (``ts`` marks the END of its hour by default, as in HJ 663's "8时至24时" windows) and the
minimum-data rules (HJ 663-2013 / GB 3095-2012 Table 4 style: 24-h average ≥ 20 hourly values, 8-h
average ≥ 6 of 8, daily max 8-h average ≥ 14 of the 17 windows 8时–24时; the last two are from
memory of HJ 663-2013 and are parameters).

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

import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

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

EDITION_2012: Final = "HJ 633-2012"
EDITION_2026: Final = "HJ 633-2026"
EDITIONS: Final = (EDITION_2012, EDITION_2026)
DEFAULT_EDITION: Final = EDITION_2026

#: HJ 633-2026 takes effect at 2026-03-01 00:00 China Standard Time (UTC+8, no DST).
CST: Final = timezone(timedelta(hours=8), "CST")
EDITION_2026_EFFECTIVE: Final = datetime(2026, 3, 1, tzinfo=CST)
_EFFECTIVE_UTC_NS: Final = int(pd.Timestamp(EDITION_2026_EFFECTIVE).value)

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
_STEPS: Final = (0, 50, 100, 150, 200, 300, 400, 500)

# Concentration limits per IAQI row (standards §1.2). All limits are integers in the item's unit.
_TABLE_2012: Final[dict[str, tuple[int, ...]]] = {
    "SO2_24H": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "SO2_1H": (0, 150, 500, 650, 800),  # > 800: no 1-h IAQI (see _ABOVE)
    "NO2_24H": (0, 40, 80, 180, 280, 565, 750, 940),
    "NO2_1H": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "PM10_24H": (0, 50, 150, 250, 350, 420, 500, 600),
    "PM25_24H": (0, 35, 75, 115, 150, 250, 350, 500),
    "CO_24H": (0, 2, 4, 14, 24, 36, 48, 60),
    "CO_1H": (0, 5, 10, 35, 60, 90, 120, 150),
    "O3_1H": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "O3_8H": (0, 100, 160, 215, 265, 800),  # > 800: no 8-h IAQI (see _ABOVE)
}
_TABLE_2026: Final[dict[str, tuple[int, ...]]] = {
    **_TABLE_2012,
    "PM10_24H": (0, 50, 120, 250, 350, 420, 500, 600),
    "PM25_24H": (0, 35, 60, 115, 150, 250, 350, 500),
}
_TABLES: Final[dict[str, dict[str, tuple[int, ...]]]] = {}
for _ed, _tab in ((EDITION_2012, _TABLE_2012), (EDITION_2026, _TABLE_2026)):
    # 1-h PM: 2026 evaluates it against the daily limits (§4.2.4); 2012 uses the 24-h (moving) average.
    _TABLES[_ed] = {**_tab, "PM10_1H": _tab["PM10_24H"], "PM25_1H": _tab["PM25_24H"]}

#: Items whose table stops below IAQI 500, with the edition's rule above the top limit:
#: 2012 falls back to the companion item, 2026 gives a fixed IAQI.
_FALLBACK_2012: Final = {"SO2_1H": "SO2_24H", "O3_8H": "O3_1H"}
_FIXED_2026: Final = {"SO2_1H": 200, "O3_8H": 300}
_CAP: Final = 500

#: GB/T 8170 rounding of HJ 633-2026 §4.2.2: number of decimals kept per item (CO 1, others 0).
_DECIMALS_2026: Final = {item: (1 if item.startswith("CO") else 0) for item in ITEMS}

#: Level boundaries (upper AQI of levels 1–5), categories and colours (standards §1.5).
_LEVEL_UPPER: Final = (50, 100, 150, 200, 300)
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

#: Rules for missing pollutants (see the module docstring).
MISSING_RULES: Final = ("edition", "above100", "available", "complete")


# --------------------------------------------------------------------------------------------- helpers


def _check_edition(edition: str) -> None:
    if edition not in _TABLES:
        raise ValueError(f"unknown AQI edition {edition!r}; expected one of {', '.join(EDITIONS)}")


def _check_item(item: str) -> None:
    if item not in ITEM_POLLUTANT:
        raise ValueError(f"unknown AQI item {item!r}; expected one of {' '.join(ITEMS)}")


def breakpoints(item: str, edition: str = DEFAULT_EDITION) -> tuple[tuple[int, int], ...]:
    """The (concentration limit, IAQI) rows of ``item``'s table in ``edition``.

    >>> breakpoints("PM25_24H")[:3]
    ((0, 0), (35, 50), (60, 100))
    """
    _check_edition(edition)
    _check_item(item)
    return tuple(zip(_TABLES[edition][item], _STEPS, strict=False))


def _exact(value: Any) -> Fraction | None:
    """The exact value a concentration stands for, or ``None`` if it is missing, not finite or negative.

    Floats stand for their shortest decimal representation (``repr``), so 2.2 is exactly 11/5.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"a concentration must be a number, not {value!r}")
    if isinstance(value, Fraction):
        frac = value
    elif isinstance(value, (int, np.integer)):
        frac = Fraction(int(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            return None
        frac = Fraction(value)
    elif isinstance(value, float):  # includes numpy.float64
        if not math.isfinite(value):
            return None
        frac = Fraction(float.__repr__(float(value)))
    elif isinstance(value, np.floating):  # float32, float16: their own shortest representation
        if not np.isfinite(value):
            return None
        frac = Fraction(str(value))
    else:
        raise TypeError(f"a concentration must be a number, not {type(value).__name__}")
    return frac if frac >= 0 else None


def _round_2026(item: str, c: Fraction) -> Fraction:
    """GB/T 8170 rounding (round half to even on the exact value) to the item's decimals."""
    scale = 10 ** _DECIMALS_2026[item]
    return Fraction(round(c * scale), scale)  # Fraction.__round__ rounds half to even


def level_for(aqi_value: int) -> int:
    """The AQI level 1–6 (一级 … 六级) of an AQI value (0–50 → 1, 51–100 → 2, …, > 300 → 6)."""
    return bisect_left(_LEVEL_UPPER, aqi_value) + 1


# --------------------------------------------------------------------------------------------- scalar


def iaqi(
    item: str, concentration: Any, *, edition: str = DEFAULT_EDITION, companion: Any = None
) -> int | None:
    """The individual AQI (IAQI) of one item, exactly (see the module docstring for the conventions).

    ``companion`` is only used by HJ 633-2012 above the top of the SO2_1H and O3_8H tables
    (> 800 µg/m³): it is then the SO2_24H, respectively O3_1H, concentration whose IAQI is reported.
    """
    _check_edition(edition)
    _check_item(item)
    c = _exact(concentration)
    if c is None:
        return None
    if edition == EDITION_2026:
        c = _round_2026(item, c)
    limits = _TABLES[edition][item]
    if c > limits[-1]:
        if item in _FIXED_2026:
            if edition == EDITION_2026:
                return _FIXED_2026[item]
            return iaqi(_FALLBACK_2012[item], companion, edition=edition)
        return _CAP
    i = bisect_left(limits, c)
    if i == 0:
        return 0
    lo, hi = limits[i - 1], limits[i]
    value = _STEPS[i - 1] + (_STEPS[i] - _STEPS[i - 1]) * (c - lo) / (hi - lo)
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


def _missing_rule(edition: str, missing: str) -> str:
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
    _check_edition(edition)
    rule = _missing_rule(edition, missing)
    unknown = sorted(set(values) - set(ITEM_POLLUTANT))
    if unknown:
        raise ValueError(
            f"unknown AQI item(s) {', '.join(map(str, unknown))}; expected some of {' '.join(ITEMS)}"
        )
    sub: dict[str, int | None] = dict.fromkeys(POLLUTANTS)
    for item, conc in values.items():
        fallback = _FALLBACK_2012.get(item)
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


def edition_for(ts: Any) -> str:
    """The HJ 633 edition in force at ``ts`` (before 2026-03-01 00:00 CST → 2012, from then on → 2026).

    ``ts`` may be a ``datetime`` / ``pandas.Timestamp`` / ``numpy.datetime64`` / ISO string (naive ones
    are UTC, like the warehouse's timestamps; aware ones are converted) or a ``datetime.date`` (a calendar
    day in China).

    >>> edition_for("2026-02-28 15:59"), edition_for("2026-02-28 16:00")
    ('HJ 633-2012', 'HJ 633-2026')
    >>> edition_for(date(2026, 3, 1))
    'HJ 633-2026'
    """
    if isinstance(ts, date) and not isinstance(ts, datetime):
        return EDITION_2026 if ts >= EDITION_2026_EFFECTIVE.date() else EDITION_2012
    stamp = pd.Timestamp(ts)
    if stamp is pd.NaT:
        raise ValueError("edition_for needs a timestamp, got NaT")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return EDITION_2026 if stamp >= pd.Timestamp(EDITION_2026_EFFECTIVE) else EDITION_2012


# --------------------------------------------------------------------------------------------- vectorised

_SCALE_EXP: Final = 9  # iaqi_array reads a float as an exact decimal with up to 9 decimals when it is one
_SCALE: Final = 10**_SCALE_EXP
_MARGIN: Final = 1e-6  # distance from a rounding/ceil boundary beyond which float arithmetic is safe


def _ceil_div(a: NDArray[np.int64], b: NDArray[np.int64] | int) -> NDArray[np.int64]:
    return -((-a) // b)


def _round_half_even_div(num: NDArray[np.int64], den: NDArray[np.int64] | int) -> NDArray[np.int64]:
    """``num / den`` rounded to an integer, exact ties to even (num ≥ 0, den > 0)."""
    q, r = np.divmod(num, den)
    twice = 2 * r
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    rounded: NDArray[np.int64] = q + up  # numpy's stubs type the sum as Any
    return rounded


def _iaqi_rational(
    item: str, edition: str, num: NDArray[np.int64], den: NDArray[np.int64] | int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """IAQI of the exact rationals ``num / den`` (num ≥ 0, den > 0; int64, small enough not to overflow).

    Returns the IAQI (float) and a mask of values above the table whose 2012 fallback the caller
    resolves (their IAQI is NaN here).
    """
    num = np.asarray(num, dtype=np.int64)
    den_arr = np.broadcast_to(np.asarray(den, dtype=np.int64), num.shape)
    if edition == EDITION_2026:
        scale = 10 ** _DECIMALS_2026[item]
        num = _round_half_even_div(num * scale, den_arr)
        den_arr = np.full(num.shape, scale, dtype=np.int64)
    limits = np.asarray(_TABLES[edition][item], dtype=np.int64)
    steps = np.asarray(_STEPS[: len(limits)], dtype=np.int64)
    out = np.full(num.shape, np.nan)
    above = num > limits[-1] * den_arr
    fallback = np.zeros(num.shape, dtype=bool)
    if above.any():
        if item in _FIXED_2026:
            if edition == EDITION_2026:
                out[above] = _FIXED_2026[item]
            else:
                fallback = above
        else:
            out[above] = _CAP
    inside = ~above
    n, d = num[inside], den_arr[inside]
    # Segment i covers (limit[i-1], limit[i]]: the number of limits strictly below the value.
    seg = (n[:, None] > limits[None, :] * d[:, None]).sum(axis=1)
    lo_i = np.maximum(seg - 1, 0)
    hi_i = np.maximum(seg, 1)
    d_iaqi = steps[hi_i] - steps[lo_i]
    d_bp = limits[hi_i] - limits[lo_i]
    value = steps[lo_i] + _ceil_div(d_iaqi * (n - limits[lo_i] * d), d_bp * d)
    out[inside] = np.where(seg == 0, 0, value)
    return out, fallback


def iaqi_array(
    item: str,
    concentrations: ArrayLike,
    *,
    edition: str = DEFAULT_EDITION,
    companion: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """:func:`iaqi` over an array: the same values as float, NaN where :func:`iaqi` gives ``None``.

    Exact like the scalar function (each float stands for its ``repr`` decimal): values that are exact
    decimals with ≤ 9 decimals are scaled to integers and go through integer ceil-division; for other
    floats (e.g. averages like 37.416666666666664) float arithmetic decides unless the result lies within
    1e-6 of a rounding or ceiling boundary, where the scalar function is called for that element.
    ``companion`` (broadcast to the shape of ``concentrations``) is used for the 2012 fallbacks.
    """
    _check_edition(edition)
    _check_item(item)
    x = np.asarray(concentrations, dtype=np.float64)
    shape = x.shape
    x = x.ravel()
    out = np.full(x.shape, np.nan)
    limits = _TABLES[edition][item]
    top = float(limits[-1])
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(x) & (x >= 0)
    above = valid & (x > top)  # a float above an integer limit stands for a decimal above it (both editions)
    inside_idx = np.flatnonzero(valid & ~above)
    xi = x[inside_idx]
    scaled = np.rint(xi * _SCALE)
    exact = scaled / _SCALE == xi  # xi is the double nearest to scaled·10⁻⁹, hence repr(xi) is that decimal
    if exact.any():
        val, _ = _iaqi_rational(item, edition, scaled[exact].astype(np.int64), _SCALE)
        out[inside_idx[exact]] = val
    rest_idx = inside_idx[~exact]
    if rest_idx.size:
        xr = x[rest_idx]
        if edition == EDITION_2026:
            s = xr * 10 ** _DECIMALS_2026[item]
            safe = np.abs(s - np.floor(s) - 0.5) > _MARGIN
            val, _ = _iaqi_rational(
                item, edition, np.rint(s[safe]).astype(np.int64), 10 ** _DECIMALS_2026[item]
            )
        else:
            lim = np.asarray(limits, dtype=np.float64)
            seg = np.clip(np.searchsorted(lim, xr, side="left"), 1, len(lim) - 1)
            steps = np.asarray(_STEPS, dtype=np.float64)
            v = steps[seg - 1] + (steps[seg] - steps[seg - 1]) * (xr - lim[seg - 1]) / (
                lim[seg] - lim[seg - 1]
            )
            safe = np.abs(v - np.rint(v)) > _MARGIN
            val = np.ceil(v[safe])
        out[rest_idx[safe]] = val
        for i in rest_idx[~safe]:
            out[i] = iaqi(item, float(x[i]), edition=edition)
    if above.any():
        if item in _FIXED_2026:
            if edition == EDITION_2026:
                out[above] = _FIXED_2026[item]
            elif companion is not None:
                comp = np.broadcast_to(np.asarray(companion, dtype=np.float64), shape).ravel()
                out[above] = iaqi_array(_FALLBACK_2012[item], comp[above], edition=edition)
        else:
            out[above] = _CAP
    return out.reshape(shape)


# --------------------------------------------------------------------------------------------- combining


#: String arrays indexed by code: primary-pollutant sets (bit k = POLLUTANTS[k]), categories, colours.
_PRIMARY_LABELS: Final = pd.array(
    [",".join(p for k, p in enumerate(POLLUTANTS) if code >> k & 1) for code in range(1 << len(POLLUTANTS))],
    dtype="str",
)
_CATEGORY_LABELS: Final = pd.array([CATEGORIES[k] for k in range(1, 7)], dtype="str")
_COLOR_LABELS: Final = pd.array([COLORS[k] for k in range(1, 7)], dtype="str")
_EDITION_LABELS: Final = (EDITION_2012, EDITION_2026)


def _combine(sub: NDArray[np.float64], is_2026: NDArray[np.bool_], missing: str) -> dict[str, Any]:
    """AQI columns from per-pollutant IAQIs (rows × POLLUTANTS, NaN = missing), vectorised."""
    avail = ~np.isnan(sub)
    top = np.where(avail, sub, -1.0).max(axis=1)
    value = np.where(top >= 0, top, np.nan)
    incomplete = ~avail.all(axis=1)
    rule_2026 = _missing_rule(EDITION_2026, missing)
    rule_2012 = _missing_rule(EDITION_2012, missing)
    for rule, rows in ((rule_2026, is_2026), (rule_2012, ~is_2026)):
        if rule == "complete":
            value[rows & incomplete] = np.nan
        elif rule == "above100":
            value[rows & incomplete & (value <= 100)] = np.nan
    has = ~np.isnan(value)
    is_primary = avail & (sub == value[:, None]) & (value > 50)[:, None]
    code = (is_primary * (1 << np.arange(len(POLLUTANTS)))).sum(axis=1)
    level = (
        np.searchsorted(np.asarray(_LEVEL_UPPER, dtype=np.float64), np.where(has, value, 0), side="left") + 1
    )
    return {
        "aqi": _int_array(value),
        "primary_pollutants": _PRIMARY_LABELS.take(np.where(has, code, -1), allow_fill=True),
        "level": _int_array(np.where(has, level, np.nan)),
        "category": _CATEGORY_LABELS.take(np.where(has, level - 1, -1), allow_fill=True),
        "color": _COLOR_LABELS.take(np.where(has, level - 1, -1), allow_fill=True),
    }


def _labels(codes: NDArray[np.bool_], labels: tuple[str, str]) -> Any:
    """A string array: ``labels[1]`` where ``codes`` else ``labels[0]``."""
    return pd.array(list(labels), dtype="str").take(codes.astype(np.int64))


def _int_array(values: NDArray[np.float64]) -> pd.arrays.IntegerArray:
    mask = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(mask, 0, values).astype(np.int64), mask)


# --------------------------------------------------------------------------------------------- reports

_OBS_COLUMNS: Final = ("so2", "no2", "pm10", "pm25", "co", "o3")
_COLUMN_POLLUTANT: Final = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "so2": "SO2",
    "no2": "NO2",
    "co": "CO",
    "o3": "O3",
}
_MICRO: Final = 10**6  # hourly values enter averages as exact multiples of 1e-6
_CLIP: Final = 1e6  # hourly values above this enter averages as 1e6 (any average is then off the tables)


def _quantize(values: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Hourly values as exact integers in units of 1e-6 (µg/m³ or mg/m³) plus a validity mask.

    A value with ≤ 6 decimals is taken exactly (its ``repr`` decimal); longer ones are rounded to
    6 decimals. NaN and negative values are invalid (missing).
    """
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & (values >= 0)
    scaled = np.rint(np.minimum(np.where(ok, values, 0.0), _CLIP) * _MICRO).astype(np.int64)
    return scaled, ok


def _prepare(obs: pd.DataFrame, hour_label: str) -> pd.DataFrame:
    """Validated observations sorted by entity and hour, one row per (entity, hour)."""
    if hour_label not in ("end", "start"):
        raise ValueError(f"hour_label must be 'end' or 'start', not {hour_label!r}")
    absent = [c for c in ("entity_id", "ts", *_OBS_COLUMNS) if c not in obs.columns]
    if absent:
        raise ValueError(f"observations lack column(s) {', '.join(absent)}")
    ts = pd.to_datetime(obs["ts"])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    if ts.isna().any():
        raise ValueError("observations have missing timestamps (ts)")
    ts_ns = ts.to_numpy(dtype="datetime64[ns]")
    hours = ts_ns.astype("datetime64[h]")
    if (hours != ts_ns).any():
        raise ValueError(
            "hourly observations must be timestamped on the hour (ts with minutes/seconds found)"
        )
    frame = pd.DataFrame(
        {
            "entity_id": obs["entity_id"].to_numpy(),
            "ts": ts_ns,
            "_h": hours.astype(np.int64) - (1 if hour_label == "end" else 0),  # hour START, hours since epoch
            **{
                c: pd.to_numeric(obs[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                for c in _OBS_COLUMNS
            },
        }
    )
    frame = frame.drop_duplicates(subset=["entity_id", "_h"], keep="last")
    return frame.sort_values(["entity_id", "_h"], kind="stable").reset_index(drop=True)


def _is_2026_hours(hour_start: NDArray[np.int64]) -> NDArray[np.bool_]:
    return hour_start * 3_600_000_000_000 >= _EFFECTIVE_UTC_NS


def _edition_mask(n: int, is_2026: NDArray[np.bool_], edition: str | None) -> NDArray[np.bool_]:
    if edition is None:
        return is_2026
    _check_edition(edition)
    return np.full(n, edition == EDITION_2026)


def _window_sums(
    key: NDArray[np.int64], scaled: NDArray[np.int64], ok: NDArray[np.bool_], width: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Sum and count of valid values over the ``width`` hours ending at each row (same entity)."""
    start = np.searchsorted(key, key - (width - 1), side="left")
    end = np.arange(1, key.size + 1)
    cs = np.concatenate(([0], np.cumsum(np.where(ok, scaled, 0))))
    cc = np.concatenate(([0], np.cumsum(ok.astype(np.int64))))
    return cs[end] - cs[start], cc[end] - cc[start]


def _iaqi_of_means(
    item: str,
    is_2026: NDArray[np.bool_],
    total: NDArray[np.int64],
    count: NDArray[np.int64],
    valid: NDArray[np.bool_],
    companion: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Exact IAQI of means total / (count·1e6) where ``valid``, per row edition; NaN elsewhere."""
    out = np.full(total.shape, np.nan)
    for edition, rows in ((EDITION_2026, is_2026 & valid), (EDITION_2012, ~is_2026 & valid)):
        if not rows.any():
            continue
        val, fallback = _iaqi_rational(item, edition, total[rows], count[rows] * _MICRO)
        if fallback.any() and companion is not None:
            val[fallback] = companion[rows][fallback]
        out[rows] = val
    return out


def _iaqi_of_values(
    item: str,
    is_2026: NDArray[np.bool_],
    values: NDArray[np.float64],
    companion: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """IAQI of single (1-h) values per row edition; ``companion`` is the fallback IAQI (2012)."""
    out = np.full(values.shape, np.nan)
    for edition, rows in ((EDITION_2026, is_2026), (EDITION_2012, ~is_2026)):
        if rows.any():
            out[rows] = iaqi_array(item, values[rows], edition=edition)
    if companion is not None and item in _FALLBACK_2012:
        with np.errstate(invalid="ignore"):
            fall = ~is_2026 & (values > _TABLES[EDITION_2012][item][-1])
        out[fall] = companion[fall]
    return out


def _mean(
    total: NDArray[np.int64], count: NDArray[np.int64], valid: NDArray[np.bool_]
) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, total / (count * float(_MICRO)), np.nan)


def realtime_report(
    obs: pd.DataFrame,
    *,
    tz: str = "Asia/Shanghai",
    hour_label: str = "end",
    edition: str | None = None,
    missing: str = "edition",
    min_hours_24h: int = 20,
    min_hours_8h: int = 6,
) -> pd.DataFrame:
    """实时报 (hourly real-time report) for every (entity_id, ts) row of ``obs``.

    ``obs`` columns: ``entity_id``, ``ts`` (naive UTC, hourly), ``so2 no2 pm10 pm25 o3`` (µg/m³), ``co``
    (mg/m³); NaN or negative = missing; absent hours count as missing in the moving windows. ``ts`` marks
    the END of its hour by default (``hour_label="end"``: the row at 14:00 is the 13:00–14:00 average,
    the convention of Chinese monitoring data and of HJ 663's "8时至24时" 8-h windows); pass
    ``hour_label="start"`` for feeds that stamp the start. Duplicate (entity, hour) rows: the last wins.
    ``tz`` is accepted for symmetry with :func:`daily_report` (hours do not depend on it).

    Edition per row by the hour's start (see :func:`edition_for`) unless ``edition`` is given:

    * 2026 — the six 1-h values; PM10/PM2.5 against the daily limits (§4.2.4).
    * 2012 — SO2, NO2, CO, O3 1-h values, O3 8-h moving average, PM10/PM2.5 24-h moving averages
      (the hour and the 7 / 23 before it). SO2 1-h > 800 falls back to the SO2 24-h moving average.

    Minimum data (convention after GB 3095-2012 Table 4 / HJ 663-2013): a 24-h moving average needs
    ``min_hours_24h`` (20) valid hours of 24, an 8-h one ``min_hours_8h`` (6) of 8, else it is NaN.
    Averages are exact means of the hourly values (taken to 1e-6), and their IAQI is computed from that
    exact mean.

    Output (sorted by entity_id, ts): ``entity_id, ts, edition``, the values used (``so2_1h no2_1h
    co_1h o3_1h pm10_1h pm25_1h o3_8h pm10_24h pm25_24h so2_24h``; NaN where the row's edition does not
    use it), ``iaqi_pm25 iaqi_pm10 iaqi_so2 iaqi_no2 iaqi_co iaqi_o3``, ``aqi``, ``primary_pollutants``
    (comma-joined, "" when AQI ≤ 50), ``level``, ``category``, ``color`` (NA when the AQI is NA).
    """
    del tz
    f = _prepare(obs, hour_label)
    n = len(f)
    codes = pd.factorize(f["entity_id"], sort=False)[0].astype(np.int64)
    h = f["_h"].to_numpy(dtype=np.int64)
    h_rel = h - (h.min() if n else 0) + 48
    key = codes * (int(h_rel.max() if n else 0) + 100) + h_rel
    is_2026 = _edition_mask(n, _is_2026_hours(h), edition)
    old = ~is_2026
    vals = {c: f[c].to_numpy(dtype=np.float64) for c in _OBS_COLUMNS}
    q = {c: _quantize(vals[c]) for c in ("so2", "pm10", "pm25", "o3")}

    def moving(
        col: str, width: int, need: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        scaled, ok = q[col]
        total, count = _window_sums(key, scaled, ok, width)
        return total, count, old & (count >= need)

    o3_8 = moving("o3", 8, min_hours_8h)
    pm10_24 = moving("pm10", 24, min_hours_24h)
    pm25_24 = moving("pm25", 24, min_hours_24h)
    so2_24 = moving("so2", 24, min_hours_24h)

    i_so2 = _iaqi_of_values(
        "SO2_1H", is_2026, vals["so2"], companion=_iaqi_of_means("SO2_24H", is_2026, *so2_24)
    )
    i_no2 = _iaqi_of_values("NO2_1H", is_2026, vals["no2"])
    i_co = _iaqi_of_values("CO_1H", is_2026, vals["co"])
    i_o3_1h = _iaqi_of_values("O3_1H", is_2026, vals["o3"])
    # 2012: O3 8-h moving average too; above 800 µg/m³ its IAQI is the 1-h one (NaN if that is missing).
    i_o3_8h = _iaqi_of_means("O3_8H", is_2026, *o3_8, companion=i_o3_1h)
    i_o3 = np.fmax(i_o3_1h, i_o3_8h)
    i_pm10 = np.where(
        is_2026,
        _iaqi_of_values("PM10_1H", is_2026, vals["pm10"]),
        _iaqi_of_means("PM10_24H", is_2026, *pm10_24),
    )
    i_pm25 = np.where(
        is_2026,
        _iaqi_of_values("PM25_1H", is_2026, vals["pm25"]),
        _iaqi_of_means("PM25_24H", is_2026, *pm25_24),
    )

    sub = {"PM2.5": i_pm25, "PM10": i_pm10, "SO2": i_so2, "NO2": i_no2, "CO": i_co, "O3": i_o3}
    out = pd.DataFrame(
        {
            "entity_id": f["entity_id"].to_numpy(),
            "ts": f["ts"].to_numpy(),
            "edition": _labels(is_2026, _EDITION_LABELS),
            "so2_1h": vals["so2"],
            "no2_1h": vals["no2"],
            "co_1h": vals["co"],
            "o3_1h": vals["o3"],
            "pm10_1h": np.where(is_2026, vals["pm10"], np.nan),
            "pm25_1h": np.where(is_2026, vals["pm25"], np.nan),
            "o3_8h": _mean(*o3_8),
            "pm10_24h": _mean(*pm10_24),
            "pm25_24h": _mean(*pm25_24),
            "so2_24h": _mean(*so2_24),
        }
    )
    for col in ("so2_1h", "no2_1h", "co_1h", "o3_1h"):
        out[col] = out[col].where(out[col] >= 0)
    for col, pollutant in _COLUMN_POLLUTANT.items():
        out[f"iaqi_{col}"] = _int_array(sub[pollutant])
    matrix = np.column_stack([sub[p] for p in POLLUTANTS]) if n else np.empty((0, len(POLLUTANTS)))
    for name, column in _combine(matrix, is_2026, missing).items():
        out[name] = column
    return out


def daily_report(
    obs: pd.DataFrame,
    *,
    tz: str = "Asia/Shanghai",
    hour_label: str = "end",
    edition: str | None = None,
    missing: str = "edition",
    min_hours_24h: int = 20,
    min_hours_8h: int = 6,
    min_windows_8h: int = 14,
) -> pd.DataFrame:
    """日报 (daily report) per entity and local calendar day in ``tz``.

    Input as for :func:`realtime_report` (``ts`` marks the END of its hour by default, so the day
    D holds the hours stamped D 01:00 … D+1 00:00 local, i.e. the 24 h before midnight; with
    ``hour_label="start"`` the hours stamped D 00:00 … 23:00). A day belongs to the edition in force at
    its local start (from 2026-03-01 → 2026) unless ``edition`` is given.

    * 2026 — 24-h averages of SO2, NO2, CO, PM10, PM2.5 + O3 daily maximum 8-h moving average.
    * 2012 — the same 24-h averages + O3 daily maximum 1-h value + O3 daily maximum 8-h average
      (O3 8-h > 800 falls back to the O3 1-h maximum).

    The 8-h windows are those ending 08:00 … 24:00 local (HJ 663: "8时至24时"), i.e. within the day.
    Minimum data (convention after GB 3095-2012 Table 4 / HJ 663-2013; parameters): a 24-h average
    needs ``min_hours_24h`` (20) valid hourly values, as does the O3 daily 1-h maximum (a convention);
    an 8-h average needs ``min_hours_8h`` (6) of 8; the daily maximum 8-h average needs
    ``min_windows_8h`` (14) valid windows. HJ 663's exception (an incomplete statistic that already
    exceeds the limit counts) is not applied.

    Output (sorted by entity_id, date): ``entity_id, date`` (local midnight, naive), ``edition``,
    ``hours`` (hours with any value), ``so2_24h no2_24h co_24h pm10_24h pm25_24h o3_8h_max o3_1h_max``
    (NaN where invalid or not used by the edition), ``iaqi_*``, ``aqi``, ``primary_pollutants``,
    ``level``, ``category``, ``color``.
    """
    f = _prepare(obs, hour_label)
    n = len(f)
    start_utc = pd.to_datetime(f["_h"].to_numpy(dtype=np.int64) * 3_600_000_000_000, utc=True)
    local = pd.DatetimeIndex(start_utc).tz_convert(tz)
    day_local = local.normalize()
    day_naive = day_local.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    # position of the hour within its local day (UTC arithmetic, so DST days have 23/25 hours)
    pos = ((start_utc - day_local.tz_convert("UTC")).to_numpy() // np.timedelta64(1, "h")).astype(np.int64)
    pos = np.clip(pos, 0, 24)
    codes = pd.factorize(f["entity_id"], sort=False)[0].astype(np.int64)
    day_code = day_naive.astype("datetime64[D]").astype(np.int64)
    group_key = codes * 10**7 + (day_code - (day_code.min() if n else 0))
    group, first = np.unique(group_key, return_index=True)
    gid = np.searchsorted(group, group_key)
    g = group.size
    day_start_utc = np.asarray(
        day_local.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
    )[first]
    is_2026 = _edition_mask(g, day_start_utc.astype(np.int64) >= _EFFECTIVE_UTC_NS, edition)
    old = ~is_2026

    def grid(col: str) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
        scaled, ok = _quantize(f[col].to_numpy(dtype=np.float64))
        s = np.zeros((g, 25), dtype=np.int64)
        m = np.zeros((g, 25), dtype=bool)
        raw = np.full((g, 25), np.nan)
        s[gid, pos] = scaled
        m[gid, pos] = ok
        raw[gid, pos] = np.where(ok, f[col].to_numpy(dtype=np.float64), np.nan)
        return np.where(m, s, 0), m, raw

    columns: dict[str, Any] = {}
    sub: dict[str, NDArray[np.float64]] = {}
    for col, item in (
        ("so2", "SO2_24H"),
        ("no2", "NO2_24H"),
        ("co", "CO_24H"),
        ("pm10", "PM10_24H"),
        ("pm25", "PM25_24H"),
    ):
        s, m, _ = grid(col)
        total, count = s.sum(axis=1), m.sum(axis=1)
        valid = count >= min_hours_24h
        columns[f"{col}_24h"] = _mean(total, count, valid)
        sub[_COLUMN_POLLUTANT[col]] = _iaqi_of_means(item, is_2026, total, count, valid)

    s, m, raw = grid("o3")
    zero = np.zeros((g, 1), dtype=np.int64)
    cs: NDArray[np.int64] = np.concatenate((zero, np.cumsum(s, axis=1, dtype=np.int64)), axis=1)
    cc: NDArray[np.int64] = np.concatenate((zero, np.cumsum(m, axis=1, dtype=np.int64)), axis=1)
    w_total = cs[:, 8:25] - cs[:, 0:17]  # the 17 windows over hour positions [k, k+8), k = 0 … 16
    w_count = cc[:, 8:25] - cc[:, 0:17]
    w_ok = w_count >= min_hours_8h
    # The largest valid window mean, compared exactly: a/b > c/d  ⇔  a·d > c·b.
    best_t = np.zeros(g, dtype=np.int64)
    best_c = np.ones(g, dtype=np.int64)
    for k in range(w_total.shape[1]):
        better = w_ok[:, k] & (w_total[:, k] * best_c > best_t * w_count[:, k])
        best_t = np.where(better, w_total[:, k], best_t)
        best_c = np.where(better, w_count[:, k], best_c)
    valid_8h = w_ok.sum(axis=1) >= min_windows_8h
    columns["o3_8h_max"] = _mean(best_t, best_c, valid_8h)
    o3_hours = m.sum(axis=1)
    valid_1h = old & (o3_hours >= min_hours_24h)
    o3_1h_max = np.where(valid_1h, np.where(m, raw, -1.0).max(axis=1), np.nan)
    columns["o3_1h_max"] = o3_1h_max
    i_o3_1h = _iaqi_of_values("O3_1H", np.zeros(g, dtype=bool), o3_1h_max)
    i_o3_8h = _iaqi_of_means("O3_8H", is_2026, best_t, best_c, valid_8h, companion=i_o3_1h)
    sub["O3"] = np.fmax(i_o3_8h, np.where(old, i_o3_1h, np.nan))

    hours_any = np.zeros(g, dtype=np.int64)
    anyvalue = np.zeros(n, dtype=bool)
    for col in _OBS_COLUMNS:
        anyvalue |= _quantize(f[col].to_numpy(dtype=np.float64))[1]
    np.add.at(hours_any, gid, anyvalue.astype(np.int64))

    out = pd.DataFrame(
        {
            "entity_id": f["entity_id"].to_numpy()[first],
            "date": day_naive[first],
            "edition": _labels(is_2026, _EDITION_LABELS),
            "hours": hours_any,
            **columns,
        }
    )
    for col, pollutant in _COLUMN_POLLUTANT.items():
        out[f"iaqi_{col}"] = _int_array(sub[pollutant])
    matrix = np.column_stack([sub[p] for p in POLLUTANTS]) if g else np.empty((0, len(POLLUTANTS)))
    for name, column in _combine(matrix, is_2026, missing).items():
        out[name] = column
    return out.sort_values(["entity_id", "date"], kind="stable").reset_index(drop=True)
