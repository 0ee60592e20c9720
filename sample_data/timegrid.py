"""Time on the sample city's grids: epoch seconds, regular instants, local time of day, long frames.

Series are computed as (entities × instants) matrices over epoch seconds and returned as long frames
with a timezone-aware UTC ``ts``. Local time patterns use Asia/Shanghai, a fixed UTC+8 (no DST).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LOCAL_UTC_OFFSET_S",
    "STEP_5MIN",
    "STEP_HOUR",
    "build_frame",
    "compute_demand_profile",
    "daily_bump",
    "make_grid",
    "split_local_time",
    "to_epoch_s",
    "to_timestamps",
]

LOCAL_UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai: UTC+8 all year
STEP_5MIN = 300
STEP_HOUR = 3600


def _to_epoch_ns(x: datetime | pd.Timestamp | str) -> int:
    ts = pd.Timestamp(x)
    if ts.tzinfo is None:
        raise ValueError(f"time {x!r} must be timezone-aware (UTC)")
    return int(ts.value)


def to_epoch_s(x: datetime | pd.Timestamp | str) -> float:
    """Epoch seconds of a timezone-aware instant (a naive one is refused)."""
    return _to_epoch_ns(x) / 1e9


def make_grid(start: Any, end: Any, step: int) -> np.ndarray:
    """Epoch seconds of the grid instants ``start <= t < end`` (multiples of ``step`` seconds)."""
    s, e = _to_epoch_ns(start), _to_epoch_ns(end)
    step_ns = step * 1_000_000_000
    first = -(-s // step_ns) * step
    last_excl = -(-e // step_ns) * step
    return np.arange(first, last_excl, step, dtype=np.int64)


def to_timestamps(sec: np.ndarray) -> pd.DatetimeIndex:
    """UTC timestamps of integer epoch seconds."""
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(sec, dtype=np.int64), unit="s", utc=True))


def split_local_time(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local (UTC+8) hour of day as a float, and day of week (0 = Monday)."""
    lt = t + LOCAL_UTC_OFFSET_S
    hod = (lt % 86400) / 3600.0
    dow = ((lt // 86400) + 3) % 7  # 1970-01-01 was a Thursday
    return hod, dow


def daily_bump(h: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A Gaussian bump around the hour of day ``centre`` that wraps at midnight."""
    d = (h - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def compute_demand_profile(t: np.ndarray) -> np.ndarray:
    """Relative travel demand (0..~1) by local time: weekday peaks 07:30–09:00 and 17:30–19:00."""
    hod, dow = split_local_time(t)
    weekday = (
        0.12
        + 0.45 * daily_bump(hod, 13.0, 3.2)
        + 0.68 * daily_bump(hod, 8.25, 0.6)
        + 0.72 * daily_bump(hod, 18.25, 0.75)
        + 0.25 * daily_bump(hod, 21.0, 1.5)
    )
    weekend = (
        0.1
        + 0.55 * daily_bump(hod, 14.5, 3.5)
        + 0.2 * daily_bump(hod, 10.5, 1.2)
        + 0.15 * daily_bump(hod, 19.5, 1.5)
    )
    night = 1 - 0.85 * daily_bump(hod, 3.5, 1.6)
    prof = np.where(dow >= 5, 0.8 * weekend, weekday) * night
    return np.clip(prof, 0.03, 1.05)


def build_frame(ids: np.ndarray, t: np.ndarray, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Long frame sorted by (ts, entity_id) from (entities × times) matrices."""
    n, m = len(ids), len(t)
    data: dict[str, Any] = {
        "entity_id": np.tile(np.asarray(ids, dtype=object), m),
        "ts": to_timestamps(np.repeat(t, n)),
    }
    for k, v in values.items():
        arr = np.broadcast_to(np.asarray(v, dtype=np.float64), (n, m))
        data[k] = arr.T.reshape(-1).copy()
    df = pd.DataFrame(data)
    df["entity_id"] = df["entity_id"].astype(str)
    return df
