"""1. 交通运输局 — road traffic (JSON, paginated, bearer token).

``GET /traffic/api/v2/speeds?since=<ISO-8601>&page=<n>&size=<n>``

* Header ``Authorization: Bearer <token>`` (constructor argument ``traffic_token``, default
  ``demo-traffic-token``); missing or wrong → 401 ``{"code": 401, "error": "unauthorized", ...}``.
* ``since`` (required): ISO-8601 instant **with** a UTC offset, e.g. ``2026-06-15T00:00:00Z`` or
  ``2026-06-15T08:00:00+08:00`` (a ``+`` that arrived unencoded as a space is accepted); a naive
  time → 400. Items have ``collectTime > since``.
* ``page`` (optional, default 1, ≥ 1), ``size`` (optional, default 1000, 1–5000). Items are ordered
  by (``collectTime``, ``roadId``); page ``p`` holds items ``(p-1)*size .. p*size-1``; a page past
  the end has an empty ``items`` list. Pages of a fixed ``since`` are stable while the clock runs
  (new items only append at the end) as long as ``since`` is within the 7-day window.
* Response 200::

    {"code": 0, "message": "ok",
     "data": {"total": <int, items in the whole window>, "page": <int>, "size": <int>,
              "items": [{"roadId": "<road segment id>",
                         "collectTime": "2026-06-15T08:05:00+08:00",  # local time with offset, 5-min grid
                         "avgSpeed": 12.47,   # mean speed, METRES PER SECOND (km/h ÷ 3.6), 2 decimals
                         "flow": 1830,        # volume, vehicles per hour (integer)
                         "occ": 0.215,        # occupancy, FRACTION 0..1 (percent ÷ 100), 4 decimals
                         "lng": 113.0xxxxx, "lat": 23.6xxxxx}]}}  # segment midpoint, GCJ-02 datum, 6 decimals
"""

from __future__ import annotations

from email.message import Message
from typing import Any

import numpy as np
import pandas as pd

from geo.coords import wgs84_to_gcj02
from sample_data.demo_server.localtime import format_local_iso
from sample_data.demo_server.params import Query, parse_int, parse_iso, read_param
from sample_data.demo_server.replies import HttpError, Reply, build_json_reply
from sample_data.demo_server.source import MeasuredCity

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "TrafficDepartment"]

MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 1000


class TrafficDepartment:
    """The traffic bureau's speeds endpoint; road midpoints are converted to GCJ-02 once, at creation."""

    def __init__(self, city: MeasuredCity, token: str) -> None:
        self.city = city
        self.token = token
        roads = city.generator.catalogue.by_kind.get(
            "road_segment", pd.DataFrame(columns=["entity_id", "lon", "lat"])
        )
        glon, glat = wgs84_to_gcj02(
            roads["lon"].to_numpy(dtype=np.float64), roads["lat"].to_numpy(dtype=np.float64)
        )
        self._road_gcj = pd.DataFrame(
            {
                "entity_id": roads["entity_id"].astype(str).to_numpy(),
                "lng": np.round(np.asarray(glon, dtype=np.float64), 6),
                "lat": np.round(np.asarray(glat, dtype=np.float64), 6),
            }
        ).set_index("entity_id")

    def speeds(self, query: Query, headers: Message) -> Reply:
        """``GET /traffic/api/v2/speeds``."""
        auth = headers.get("Authorization") or ""
        if auth != f"Bearer {self.token}":
            raise HttpError(
                401,
                "unauthorized",
                "missing or invalid bearer token",
                {"WWW-Authenticate": 'Bearer realm="traffic"'},
            )
        since = parse_iso("since", read_param(query, "since") or "")
        page = parse_int("page", read_param(query, "page", required=False), 1, 1, 10**9)
        size = parse_int(
            "size", read_param(query, "size", required=False), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE
        )
        window = self.city.window(since)
        frame = self.city.frame("traffic", window, 300) if window else None
        total = 0 if frame is None else len(frame)
        items: list[dict[str, Any]] = []
        if frame is not None and (page - 1) * size < total:
            items = self._items(frame.iloc[(page - 1) * size : page * size])
        return build_json_reply(
            {"code": 0, "message": "ok", "data": {"total": total, "page": page, "size": size, "items": items}}
        )

    def _items(self, part: pd.DataFrame) -> list[dict[str, Any]]:
        coords = self._road_gcj.reindex(part["entity_id"])
        out = pd.DataFrame(
            {
                "roadId": part["entity_id"].to_numpy(),
                "collectTime": format_local_iso(part["ts"]).to_numpy(),
                "avgSpeed": np.round(part["speed_kmh"].to_numpy() / 3.6, 2),
                "flow": part["volume_vph"].round().astype("int64").to_numpy(),
                "occ": np.round(part["occupancy_pct"].to_numpy() / 100.0, 4),
                "lng": coords["lng"].to_numpy(),
                "lat": coords["lat"].to_numpy(),
            }
        )
        items = out.to_dict(orient="records")
        for it in items:  # numpy scalars → plain Python for json
            it["flow"] = int(it["flow"])
            for k in ("avgSpeed", "occ", "lng", "lat"):
                it[k] = float(it[k])
        return items
