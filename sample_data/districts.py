"""The sample city's districts: their names and character, and per-district lookups over arrays."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["DISTRICT_NAMES", "MOUNTAIN", "URBAN", "lookup"]

DISTRICT_NAMES: dict[str, str] = {
    "441802": "清城区",
    "441803": "清新区",
    "441821": "佛冈县",
    "441823": "阳山县",
    "441825": "连山壮族瑶族自治县",
    "441826": "连南瑶族自治县",
    "441881": "英德市",
    "441882": "连州市",
}

# Per-district character (0..1); callers give the fallback for a district not listed.
URBAN: dict[str, float] = {
    "441802": 1.0,
    "441803": 0.6,
    "441881": 0.55,
    "441882": 0.4,
    "441821": 0.4,
    "441823": 0.3,
    "441826": 0.25,
    "441825": 0.2,
}
MOUNTAIN: dict[str, float] = {
    "441802": 0.15,
    "441803": 0.6,
    "441821": 0.6,
    "441881": 0.7,
    "441882": 0.8,
    "441823": 1.0,
    "441825": 1.0,
    "441826": 1.0,
}


def lookup(table: Mapping[str, float], keys: np.ndarray, default: float) -> np.ndarray:
    """``table[key]`` for every district code in ``keys`` (``default`` where the table has none)."""
    keys = np.asarray(keys)
    out = np.full(keys.shape, default, dtype=np.float64)
    for k, v in table.items():
        out[keys == k] = v
    return out
