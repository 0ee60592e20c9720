"""IAQI and AQI over numpy arrays, exactly: the same numbers as :mod:`metrics.aqi.scalar`, row by row."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from metrics.aqi.arithmetic import ceil_div, round_half_even_div
from metrics.aqi.editions import DEFAULT_EDITION, EDITION_2012, EDITION_2026
from metrics.aqi.scalar import iaqi, resolve_missing_rule
from metrics.aqi.tables import (
    CAP,
    CATEGORIES,
    COLORS,
    DECIMALS_2026,
    FALLBACK_2012,
    FIXED_2026,
    LEVEL_UPPER,
    POLLUTANTS,
    STEPS,
    TABLES,
    check_edition,
    check_item,
)

_SCALE_EXP: Final = 9  # iaqi_array reads a float as an exact decimal with up to 9 decimals when it is one
_SCALE: Final = 10**_SCALE_EXP
_MARGIN: Final = 1e-6  # distance from a rounding/ceil boundary beyond which float arithmetic is safe


def compute_iaqi_rational(
    item: str, edition: str, num: NDArray[np.int64], den: NDArray[np.int64] | int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """IAQI of the exact rationals ``num / den`` (num ≥ 0, den > 0; int64, small enough not to overflow).

    Returns the IAQI (float) and a mask of values above the table whose 2012 fallback the caller
    resolves (their IAQI is NaN here).
    """
    num = np.asarray(num, dtype=np.int64)
    den_arr = np.broadcast_to(np.asarray(den, dtype=np.int64), num.shape)
    if edition == EDITION_2026:
        scale = 10 ** DECIMALS_2026[item]
        num = round_half_even_div(num * scale, den_arr)
        den_arr = np.full(num.shape, scale, dtype=np.int64)
    limits = np.asarray(TABLES[edition][item], dtype=np.int64)
    steps = np.asarray(STEPS[: len(limits)], dtype=np.int64)
    out = np.full(num.shape, np.nan)
    above = num > limits[-1] * den_arr
    fallback = np.zeros(num.shape, dtype=bool)
    if above.any():
        if item in FIXED_2026:
            if edition == EDITION_2026:
                out[above] = FIXED_2026[item]
            else:
                fallback = above
        else:
            out[above] = CAP
    inside = ~above
    n, d = num[inside], den_arr[inside]
    # Segment i covers (limit[i-1], limit[i]]: the number of limits strictly below the value.
    seg = (n[:, None] > limits[None, :] * d[:, None]).sum(axis=1)
    lo_i = np.maximum(seg - 1, 0)
    hi_i = np.maximum(seg, 1)
    d_iaqi = steps[hi_i] - steps[lo_i]
    d_bp = limits[hi_i] - limits[lo_i]
    value = steps[lo_i] + ceil_div(d_iaqi * (n - limits[lo_i] * d), d_bp * d)
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
    check_edition(edition)
    check_item(item)
    x = np.asarray(concentrations, dtype=np.float64)
    shape = x.shape
    x = x.ravel()
    out = np.full(x.shape, np.nan)
    limits = TABLES[edition][item]
    top = float(limits[-1])
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(x) & (x >= 0)
    above = valid & (x > top)  # a float above an integer limit stands for a decimal above it (both editions)
    inside_idx = np.flatnonzero(valid & ~above)
    xi = x[inside_idx]
    scaled = np.rint(xi * _SCALE)
    exact = scaled / _SCALE == xi  # xi is the double nearest to scaled·10⁻⁹, hence repr(xi) is that decimal
    if exact.any():
        val, _ = compute_iaqi_rational(item, edition, scaled[exact].astype(np.int64), _SCALE)
        out[inside_idx[exact]] = val
    rest_idx = inside_idx[~exact]
    if rest_idx.size:
        xr = x[rest_idx]
        if edition == EDITION_2026:
            s = xr * 10 ** DECIMALS_2026[item]
            safe = np.abs(s - np.floor(s) - 0.5) > _MARGIN
            val, _ = compute_iaqi_rational(
                item, edition, np.rint(s[safe]).astype(np.int64), 10 ** DECIMALS_2026[item]
            )
        else:
            lim = np.asarray(limits, dtype=np.float64)
            seg = np.clip(np.searchsorted(lim, xr, side="left"), 1, len(lim) - 1)
            steps = np.asarray(STEPS, dtype=np.float64)
            v = steps[seg - 1] + (steps[seg] - steps[seg - 1]) * (xr - lim[seg - 1]) / (
                lim[seg] - lim[seg - 1]
            )
            safe = np.abs(v - np.rint(v)) > _MARGIN
            val = np.ceil(v[safe])
        out[rest_idx[safe]] = val
        for i in rest_idx[~safe]:
            out[i] = iaqi(item, float(x[i]), edition=edition)
    if above.any():
        if item in FIXED_2026:
            if edition == EDITION_2026:
                out[above] = FIXED_2026[item]
            elif companion is not None:
                comp = np.broadcast_to(np.asarray(companion, dtype=np.float64), shape).ravel()
                out[above] = iaqi_array(FALLBACK_2012[item], comp[above], edition=edition)
        else:
            out[above] = CAP
    return out.reshape(shape)


#: String arrays indexed by code: primary-pollutant sets (bit k = POLLUTANTS[k]), categories, colours.
_PRIMARY_LABELS: Final = pd.array(
    [",".join(p for k, p in enumerate(POLLUTANTS) if code >> k & 1) for code in range(1 << len(POLLUTANTS))],
    dtype="str",
)
_CATEGORY_LABELS: Final = pd.array([CATEGORIES[k] for k in range(1, 7)], dtype="str")
_COLOR_LABELS: Final = pd.array([COLORS[k] for k in range(1, 7)], dtype="str")


def compute_aqi_columns(sub: NDArray[np.float64], is_2026: NDArray[np.bool_], missing: str) -> dict[str, Any]:
    """AQI columns from per-pollutant IAQIs (rows × POLLUTANTS, NaN = missing), vectorised :func:`aqi`.

    Returns ``aqi``, ``primary_pollutants`` (comma-joined), ``level``, ``category`` and ``color``;
    ``is_2026`` picks each row's edition for the missing-data rule.
    """
    avail = ~np.isnan(sub)
    top = np.where(avail, sub, -1.0).max(axis=1)
    value = np.where(top >= 0, top, np.nan)
    incomplete = ~avail.all(axis=1)
    rule_2026 = resolve_missing_rule(EDITION_2026, missing)
    rule_2012 = resolve_missing_rule(EDITION_2012, missing)
    for rule, rows in ((rule_2026, is_2026), (rule_2012, ~is_2026)):
        if rule == "complete":
            value[rows & incomplete] = np.nan
        elif rule == "above100":
            value[rows & incomplete & (value <= 100)] = np.nan
    has = ~np.isnan(value)
    is_primary = avail & (sub == value[:, None]) & (value > 50)[:, None]
    code = (is_primary * (1 << np.arange(len(POLLUTANTS)))).sum(axis=1)
    level = (
        np.searchsorted(np.asarray(LEVEL_UPPER, dtype=np.float64), np.where(has, value, 0), side="left") + 1
    )
    return {
        "aqi": to_int_array(value),
        "primary_pollutants": _PRIMARY_LABELS.take(np.where(has, code, -1), allow_fill=True),
        "level": to_int_array(np.where(has, level, np.nan)),
        "category": _CATEGORY_LABELS.take(np.where(has, level - 1, -1), allow_fill=True),
        "color": _COLOR_LABELS.take(np.where(has, level - 1, -1), allow_fill=True),
    }


def to_int_array(values: NDArray[np.float64]) -> pd.arrays.IntegerArray:
    """A nullable integer array: NaN becomes NA."""
    mask = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(mask, 0, values).astype(np.int64), mask)
