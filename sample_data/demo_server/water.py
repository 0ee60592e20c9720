"""3. 水利局 / 水文分局 — water levels and rainfall (JSON lists).

``GET /water/levels.json?from=<epoch ms>`` and ``GET /water/rain.json?from=<epoch ms>``

* ``from`` (required): Unix epoch in **milliseconds** (non-negative integer, UTC); rows have
  ``TM > from``.
* ``levels.json`` → 200, JSON list, one row per station per 5 minutes::

    [
        {
            "STCD": "<hydro station id>",
            "TM": "2026-06-15 08:05:00",  # LOCAL naive time
            "Z": 1183,  # water level in CENTIMETRES (integer) on the station's own datum
            "Q": 5437.2,
        }
    ]  # discharge m³/s (1 decimal), null at reservoirs

* ``rain.json`` → 200, JSON list, one row per gauge per 5 minutes (dry intervals included, DRP 0)::

    [
        {
            "STCD": "<rain gauge id>",
            "TM": "2026-06-15 08:05:00",  # LOCAL naive time, START of the interval
            "DRP": 37,
        }
    ]  # rain in the 5 minutes from TM, in units of 0.1 mm (integer; 37 = 3.7 mm)
"""

from __future__ import annotations

from email.message import Message

import numpy as np
import pandas as pd

from sample_data.demo_server.localtime import format_local_naive
from sample_data.demo_server.params import Query, parse_epoch_ms, read_param
from sample_data.demo_server.replies import Reply, build_json_reply
from sample_data.demo_server.source import MeasuredCity

__all__ = ["WaterDepartment"]


class WaterDepartment:
    """The water bureau's two lists: station levels and gauge rainfall."""

    def __init__(self, city: MeasuredCity) -> None:
        self.city = city

    def _frame_after(self, query: Query, domain: str) -> pd.DataFrame | None:
        """The ``domain`` rows after the ``from`` watermark; ``None`` when the window is empty."""
        since = parse_epoch_ms("from", read_param(query, "from") or "")
        window = self.city.window(since)
        return self.city.frame(domain, window, 300) if window else None

    def levels(self, query: Query, headers: Message) -> Reply:
        """``GET /water/levels.json``."""
        f = self._frame_after(query, "water")
        if f is None:
            return build_json_reply([])
        z = np.round(f["level_m"].to_numpy(dtype=np.float64) * 100.0).astype("int64")
        q = f["discharge_m3s"].to_numpy(dtype=np.float64)
        rows = [
            {"STCD": s, "TM": tm, "Z": int(zz), "Q": (None if not np.isfinite(qq) else float(qq))}
            for s, tm, zz, qq in zip(
                f["entity_id"].to_numpy(), format_local_naive(f["ts"]).to_numpy(), z, q, strict=True
            )
        ]
        return build_json_reply(rows)

    def rain(self, query: Query, headers: Message) -> Reply:
        """``GET /water/rain.json``."""
        f = self._frame_after(query, "rain")
        if f is None:
            return build_json_reply([])
        drp = np.round(f["rain_mm"].to_numpy(dtype=np.float64) * 10.0).astype("int64")
        rows = [
            {"STCD": s, "TM": tm, "DRP": int(d)}
            for s, tm, d in zip(
                f["entity_id"].to_numpy(), format_local_naive(f["ts"]).to_numpy(), drp, strict=True
            )
        ]
        return build_json_reply(rows)
