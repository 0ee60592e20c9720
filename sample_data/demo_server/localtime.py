"""Local time (Asia/Shanghai, UTC+08:00, no daylight saving) as the departments write it."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LOCAL_OFFSET", "format_local_iso", "format_local_iso_one", "format_local_naive"]

LOCAL_OFFSET = timedelta(hours=8)


def format_local_naive(ts: pd.Series) -> pd.Series:
    """UTC timestamps as local ``2026-06-15 08:00:00`` (no offset)."""
    return (ts.dt.tz_convert(None) + LOCAL_OFFSET).dt.strftime("%Y-%m-%d %H:%M:%S")


def format_local_iso(ts: pd.Series) -> pd.Series:
    """UTC timestamps as local ISO-8601 with the offset: ``2026-06-15T08:00:00+08:00``."""
    return (ts.dt.tz_convert(None) + LOCAL_OFFSET).dt.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"


def format_local_iso_one(value: Any) -> str | None:
    """One instant as :func:`format_local_iso` writes it; ``None`` for a missing one."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    ts = pd.Timestamp(value).tz_convert(UTC).tz_localize(None) + LOCAL_OFFSET
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"
