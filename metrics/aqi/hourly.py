"""Hourly observations for the reports: validated, held as exact integers, summed over moving windows.

Averages are exact: hourly values enter them as integers in units of 1e-6 (µg/m³ or mg/m³), so a window
is a (total, count) pair of integers whose mean total / (count·1e6) the IAQI reads exactly.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

OBS_COLUMNS: Final = ("so2", "no2", "pm10", "pm25", "co", "o3")
MICRO: Final = 10**6  # hourly values enter averages as exact multiples of 1e-6
_CLIP: Final = 1e6  # hourly values above this enter averages as 1e6 (any average is then off the tables)


def quantize(values: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Hourly values as exact integers in units of 1e-6 (µg/m³ or mg/m³) plus a validity mask.

    A value with ≤ 6 decimals is taken exactly (its ``repr`` decimal); longer ones are rounded to
    6 decimals. NaN and negative values are invalid (missing).
    """
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & (values >= 0)
    scaled = np.rint(np.minimum(np.where(ok, values, 0.0), _CLIP) * MICRO).astype(np.int64)
    return scaled, ok


def prepare_hours(obs: pd.DataFrame, hour_label: str) -> pd.DataFrame:
    """Validated observations sorted by entity and hour, one row per (entity, hour).

    Columns: ``entity_id``, ``ts`` (naive UTC), ``_h`` (the hour's start, hours since the epoch) and the
    :data:`OBS_COLUMNS` as float (NaN where not a number).
    """
    if hour_label not in ("end", "start"):
        raise ValueError(f"hour_label must be 'end' or 'start', not {hour_label!r}")
    absent = [c for c in ("entity_id", "ts", *OBS_COLUMNS) if c not in obs.columns]
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
                for c in OBS_COLUMNS
            },
        }
    )
    frame = frame.drop_duplicates(subset=["entity_id", "_h"], keep="last")
    return frame.sort_values(["entity_id", "_h"], kind="stable").reset_index(drop=True)


def sum_windows(
    key: NDArray[np.int64], scaled: NDArray[np.int64], ok: NDArray[np.bool_], width: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Sum and count of valid values over the ``width`` hours ending at each row (same entity)."""
    start = np.searchsorted(key, key - (width - 1), side="left")
    end = np.arange(1, key.size + 1)
    cs = np.concatenate(([0], np.cumsum(np.where(ok, scaled, 0))))
    cc = np.concatenate(([0], np.cumsum(ok.astype(np.int64))))
    return cs[end] - cs[start], cc[end] - cc[start]


def find_max_8h(
    scaled: NDArray[np.int64], ok: NDArray[np.bool_], min_hours_8h: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The largest 8-h mean of each day, as (total, count), and the day's number of valid windows.

    ``scaled`` and ``ok`` are days × 25 hour positions; the windows are the 17 over positions
    [k, k+8), k = 0 … 16, and a window is valid with ``min_hours_8h`` valid hours. A day without a valid
    window gets (0, 1).
    """
    g = scaled.shape[0]
    zero = np.zeros((g, 1), dtype=np.int64)
    cs: NDArray[np.int64] = np.concatenate((zero, np.cumsum(scaled, axis=1, dtype=np.int64)), axis=1)
    cc: NDArray[np.int64] = np.concatenate((zero, np.cumsum(ok, axis=1, dtype=np.int64)), axis=1)
    w_total = cs[:, 8:25] - cs[:, 0:17]
    w_count = cc[:, 8:25] - cc[:, 0:17]
    w_ok = w_count >= min_hours_8h
    # The largest valid window mean, compared exactly: a/b > c/d  ⇔  a·d > c·b.
    best_t = np.zeros(g, dtype=np.int64)
    best_c = np.ones(g, dtype=np.int64)
    for k in range(w_total.shape[1]):
        better = w_ok[:, k] & (w_total[:, k] * best_c > best_t * w_count[:, k])
        best_t = np.where(better, w_total[:, k], best_t)
        best_c = np.where(better, w_count[:, k], best_c)
    n_ok: NDArray[np.int64] = w_ok.sum(axis=1)
    return best_t, best_c, n_ok


def compute_mean(
    total: NDArray[np.int64], count: NDArray[np.int64], valid: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """The window means (in the value's unit) where ``valid``, NaN elsewhere."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, total / (count * float(MICRO)), np.nan)
