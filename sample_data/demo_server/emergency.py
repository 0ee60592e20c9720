"""4. 应急管理局 — emergency incidents (JSON).

``GET /emergency/incidents?updatedSince=<ISO-8601>``

* ``updatedSince`` (required): ISO-8601 with offset, as ``since`` above. Returns every incident
  whose latest change (report, dispatch or closure, whichever is latest as of now) is
  ``> updatedSince`` and ``<= now``, in its state as of now.
* Response 200::

    {"result": [{"eventId": "EV2026061506441802WL0",
                 "eventType": "内涝",         # 内涝 | 交通事故 | 山体滑坡 | 火灾 | 树木倒伏
                 "level": "Ⅱ级",             # Ⅰ级 (most severe) | Ⅱ级 | Ⅲ级 | Ⅳ级 (U+2160..U+2163 + 级)
                 "state": "处置中",           # 待处置 (open) | 处置中 (dispatched) | 已办结 (closed)
                 "reportTime": "2026-06-15T06:12:40+08:00",   # local time with offset
                 "dispatchTime": "2026-06-15T06:20:02+08:00", # or null (not yet dispatched)
                 "finishTime": null,                          # or time closed
                 "updateTime": "2026-06-15T06:20:02+08:00",   # latest of the three (the watermark)
                 "bdLng": 113.0xxxxx, "bdLat": 23.6xxxxx,     # BD-09 datum (Baidu), 6 decimals
                 "areaCode": "441802",                        # county-level district code (string)
                 "content": "清城区...积水约30厘米...",         # free text (zh-CN)
                 "reportDept": "市住房和城乡建设局"}]}           # responsible department
"""

from __future__ import annotations

from datetime import timedelta
from email.message import Message
from typing import Any

import numpy as np
import pandas as pd

from geo.coords import wgs84_to_bd09
from sample_data.demo_server.localtime import format_local_iso_one
from sample_data.demo_server.params import Query, parse_iso, read_param
from sample_data.demo_server.replies import Reply, build_json_reply
from sample_data.demo_server.source import MeasuredCity
from sample_data.series.incidents import INCIDENT_TYPE_ZH

__all__ = ["LEVEL_ZH", "STATE_ZH", "EmergencyDepartment"]

LEVEL_ZH = {1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级", 4: "Ⅳ级"}
STATE_ZH = {"open": "待处置", "dispatched": "处置中", "closed": "已办结"}
# Anything reported up to a lifetime before the watermark may have changed since.
_LOOKBACK = timedelta(days=2)


class EmergencyDepartment:
    """The emergency bureau's incident list, in BD-09 with Chinese codes."""

    def __init__(self, city: MeasuredCity) -> None:
        self.city = city

    def incidents(self, query: Query, headers: Message) -> Reply:
        """``GET /emergency/incidents``."""
        since = parse_iso("updatedSince", read_param(query, "updatedSince") or "")
        found = self.city.incidents(since, _LOOKBACK)
        if found is None:
            return build_json_reply({"result": []})
        f, lo = found
        result: list[dict[str, Any]] = []
        if len(f):
            blon, blat = wgs84_to_bd09(
                f["lon"].to_numpy(dtype=np.float64), f["lat"].to_numpy(dtype=np.float64)
            )
            blon, blat = np.atleast_1d(blon), np.atleast_1d(blat)
            lo_ts = pd.Timestamp(lo)
            for i, row in enumerate(f.itertuples(index=False)):
                times = [
                    t
                    for t in (row.reported_at, row.dispatched_at, row.closed_at)
                    if t is not None and t is not pd.NaT
                ]
                updated = max(pd.Timestamp(t) for t in times)
                if not updated > lo_ts:
                    continue
                result.append(
                    {
                        "eventId": row.incident_id,
                        "eventType": INCIDENT_TYPE_ZH.get(row.type, row.type),
                        "level": LEVEL_ZH[int(row.severity)],
                        "state": STATE_ZH[row.status],
                        "reportTime": format_local_iso_one(row.reported_at),
                        "dispatchTime": format_local_iso_one(row.dispatched_at),
                        "finishTime": format_local_iso_one(row.closed_at),
                        "updateTime": format_local_iso_one(updated),
                        "bdLng": round(float(blon[i]), 6),
                        "bdLat": round(float(blat[i]), 6),
                        "areaCode": str(row.district_code),
                        "content": row.description,
                        "reportDept": row.department,
                        "_u": updated,
                    }
                )
        result.sort(key=lambda r: (r["_u"], r["eventId"]))
        for r in result:
            del r["_u"]
        return build_json_reply({"result": result})
