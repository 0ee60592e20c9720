"""Exact arithmetic for the IAQI: concentrations as rationals, the editions' rounding rules.

Both editions round every IAQI **up** (2012 §6.2 "进位取整", 2026 §4.2.6 "向上进位取整"), so the
linear interpolation is done in exact rational arithmetic: a float input stands for its shortest decimal
representation (``repr``; ``2.2`` is 2.2, not 2.20000000000000017763…), so CO_24H 2.2 → 55 and
PM10_24H 352.1 (2012) → 203, where naive float code gives 56 and 204.

HJ 633-2026 §4.2.2 first rounds concentrations per GB/T 8170 (SO2, NO2, O3, PM10, PM2.5 to integer
µg/m³, CO to 0.1 mg/m³). GB/T 8170 rounds an *exact* trailing 5 to even: "exact" is judged on the decimal
representation, so 0.25 mg/m³ → 0.2, 0.35 → 0.4, 0.15 → 0.2 (even though the binary double nearest 0.15
is a hair below it), 2.5 µg/m³ → 2, 3.5 → 4, 2.5000001 → 3. Rounding happens once, from the given value.
HJ 633-2012 has no such step: its IAQI is computed from the concentration as given.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metrics.aqi.tables import DECIMALS_2026


def parse_concentration(value: Any) -> Fraction | None:
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


def round_2026(item: str, c: Fraction) -> Fraction:
    """GB/T 8170 rounding (round half to even on the exact value) to the item's decimals."""
    scale = 10 ** DECIMALS_2026[item]
    return Fraction(round(c * scale), scale)  # Fraction.__round__ rounds half to even


def ceil_div(a: NDArray[np.int64], b: NDArray[np.int64] | int) -> NDArray[np.int64]:
    """``a / b`` rounded up, in integers (b > 0)."""
    return -((-a) // b)


def round_half_even_div(num: NDArray[np.int64], den: NDArray[np.int64] | int) -> NDArray[np.int64]:
    """``num / den`` rounded to an integer, exact ties to even (num ≥ 0, den > 0)."""
    q, r = np.divmod(num, den)
    twice = 2 * r
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    rounded: NDArray[np.int64] = q + up  # numpy's stubs type the sum as Any
    return rounded
