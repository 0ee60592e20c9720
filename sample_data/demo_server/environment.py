"""2. 生态环境局 — hourly air quality (CSV).

``GET /env/aqi/hourly.csv?start=<YYYY-MM-DD HH:MM:SS>``

* ``start`` (required): LOCAL naive time, exactly ``%Y-%m-%d %H:%M:%S`` (e.g. ``2026-06-15 08:00:00``);
  rows have ``监测时间 > start``.
* Response 200, ``Content-Type: text/csv; charset=utf-8``; body UTF-8 **with BOM** (``EF BB BF``),
  CRLF line endings, comma-separated, header row exactly::

    站点编码,站点名称,监测时间,SO2,NO2,PM10,PM2.5,CO,O3

  ``站点编码`` station id; ``站点名称`` station name; ``监测时间`` LOCAL naive time
  ``2026-06-15 08:00:00`` (hourly, on the hour); ``SO2``, ``NO2``, ``PM10``, ``PM2.5``, ``O3`` in
  µg/m³ (integers); ``CO`` in **µg/m³** (integer; = mg/m³ × 1000). A missing value (sensor gap) is an
  empty cell. An empty window gives the header row only.
"""

from __future__ import annotations

import csv
import io
from email.message import Message

import numpy as np
import pandas as pd

from sample_data.demo_server.localtime import format_local_naive
from sample_data.demo_server.params import Query, parse_local, read_param
from sample_data.demo_server.replies import Reply
from sample_data.demo_server.source import MeasuredCity

__all__ = ["AIR_HEADER", "EnvironmentDepartment"]

AIR_HEADER = ["站点编码", "站点名称", "监测时间", "SO2", "NO2", "PM10", "PM2.5", "CO", "O3"]


def _num(v: float) -> str:
    if v is None or not np.isfinite(v):
        return ""
    return str(round(v))


class EnvironmentDepartment:
    """The environment bureau's hourly CSV; station names are looked up once, at creation."""

    def __init__(self, city: MeasuredCity) -> None:
        self.city = city
        air = city.generator.catalogue.by_kind.get("air_station", pd.DataFrame(columns=["entity_id", "name"]))
        self._air_names = dict(zip(air["entity_id"].astype(str), air["name"].astype(str), strict=True))

    def hourly_csv(self, query: Query, headers: Message) -> Reply:
        """``GET /env/aqi/hourly.csv``."""
        since = parse_local("start", read_param(query, "start") or "")
        window = self.city.window(since)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(AIR_HEADER)
        if window:
            f = self.city.frame("air", window, 3600)
            times = format_local_naive(f["ts"]).to_numpy()
            cols = {c: f[c].to_numpy(dtype=np.float64) for c in ("so2", "no2", "pm10", "pm25", "o3")}
            co_ug = f["co"].to_numpy(dtype=np.float64) * 1000.0
            ids = f["entity_id"].to_numpy()
            for i in range(len(f)):
                writer.writerow(
                    [
                        ids[i],
                        self._air_names.get(ids[i], ids[i]),
                        times[i],
                        _num(cols["so2"][i]),
                        _num(cols["no2"][i]),
                        _num(cols["pm10"][i]),
                        _num(cols["pm25"][i]),
                        _num(co_ug[i]),
                        _num(cols["o3"][i]),
                    ]
                )
        return 200, ("\ufeff" + buf.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
