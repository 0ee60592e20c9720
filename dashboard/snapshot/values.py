"""Small conversions of the report's values into what people read and what the JSON files hold."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def to_local_naive(values: Any, tz: str) -> pd.Series:
    """UTC-naive timestamps → local-naive (what people read)."""
    s = pd.to_datetime(pd.Series(values))
    return s.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[us]")


def as_text(value: Any) -> str:
    """``value`` if it is text, else the empty string (a missing name is NaN or None in a frame)."""
    return value if isinstance(value, str) else ""


def round_or_none(value: Any, digits: int = 1) -> float | None:
    """``value`` rounded for the summary; None when it is missing or not a number."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else round(v, digits)


def format_place(name: Any, district: str) -> str:
    """``源潭 清城区``; a zone warning named after its district shows the district once."""
    name = as_text(name)
    return district if not name or name == district else f"{name} {district}"
