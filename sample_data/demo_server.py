"""The demo departmental feed server: four departments, four deliberately different formats, on loopback.

:class:`DemoFeedServer` serves what a :class:`sample_data.generator.CityGenerator` says the city
measures, driven by a :class:`cityops.base.clock.Clock`: nothing later than ``clock.now()`` is ever served
(it has not been measured yet). It is a stdlib ``ThreadingHTTPServer`` in a background thread::

    with DemoFeedServer(generator, clock) as server:  # or server.start() / server.stop()
        base = server.url  # e.g. "http://127.0.0.1:54321"

Common rules (all four departments)
===================================

* Every data endpoint returns the observations in the half-open window ``(since, now]``: strictly
  later than the watermark parameter, up to and including ``clock.now()``. The window is capped to the
  last 7 days (``max_window``): an older watermark is treated as ``now - 7 days``. A watermark in the
  future gives an empty answer.
* Rows are ordered by time, then by entity/event id. Values are regenerated deterministically, so the
  same query always returns the same rows (idempotent re-fetching is safe).
* A missing or malformed query parameter → HTTP 400, body ``{"code": 400, "error": "bad_request",
  "message": "..."}`` (JSON, UTF-8). Unknown path → 404, other methods → 405, same body shape.
* Local time below means Asia/Shanghai, UTC+08:00 (no daylight saving).
* Entity ids (``roadId``, ``站点编码``, ``STCD``) are the catalogue's ``entity_id`` values.
* ``GET /healthz`` → 200 ``{"status": "ok", "now": "<clock.now(), ISO-8601 UTC>"}``.

1. 交通运输局 — road traffic (JSON, paginated, bearer token)
===========================================================

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

2. 生态环境局 — hourly air quality (CSV)
=======================================

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

3. 水利局 / 水文分局 — water levels and rainfall (JSON lists)
============================================================

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

4. 应急管理局 — emergency incidents (JSON)
=========================================

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

Fault injection (tests and demos)
=================================

``server.set_fault(path_prefix, kind)`` makes every request whose path starts with ``path_prefix``
fail: ``"500"`` → HTTP 500 JSON error; ``"404"`` → HTTP 404 JSON error; ``"hang"`` → no response
until the client gives up (or the fault is cleared or the server stops), then the connection is
dropped; ``"malformed"`` → HTTP 200 with the normal headers but the body truncated to half its
length in bytes (``Content-Length`` matches the truncated body, so the HTTP exchange is valid but the
JSON/CSV is not, and may even end in the middle of a UTF-8 character); ``"none"`` → removes the fault.
The longest matching prefix wins.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from cityops.base.clock import Clock
from geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from sample_data.generator import INCIDENT_TYPE_ZH, CityGenerator

__all__ = ["FAULT_KINDS", "DemoFeedServer"]

log = logging.getLogger(__name__)

FAULT_KINDS = ("500", "404", "hang", "malformed", "none")
LOCAL_OFFSET = timedelta(hours=8)
AIR_HEADER = ["站点编码", "站点名称", "监测时间", "SO2", "NO2", "PM10", "PM2.5", "CO", "O3"]
LEVEL_ZH = {1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级", 4: "Ⅳ级"}
STATE_ZH = {"open": "待处置", "dispatched": "处置中", "closed": "已办结"}
MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 1000
_ONE_NS = pd.Timedelta(1, "ns")
_LOCAL_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_MS_RE = re.compile(r"\d{1,15}")
_INT_RE = re.compile(r"\d{1,9}")


class _BadRequest(Exception):
    pass


class _HttpError(Exception):
    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers or {}


# -- parameter parsing ---------------------------------------------------------------------------


def _param(query: dict[str, list[str]], name: str, *, required: bool = True) -> str | None:
    values = query.get(name)
    if not values:
        if required:
            raise _BadRequest(f"missing query parameter {name!r}")
        return None
    if len(values) > 1:
        raise _BadRequest(f"query parameter {name!r} given more than once")
    return values[0]


def _parse_iso(name: str, value: str) -> datetime:
    v = value.strip()
    # An unencoded "+" in a query string arrives as a space: "…T08:00:00 08:00".
    v = re.sub(r" (\d{2}:?\d{2})$", r"+\1", v)
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise _BadRequest(f"{name}={value!r} is not an ISO-8601 time such as 2026-06-15T00:00:00Z") from None
    if dt.tzinfo is None:
        raise _BadRequest(f"{name}={value!r} has no UTC offset; send e.g. 2026-06-15T00:00:00Z or …+08:00")
    return dt.astimezone(UTC)


def _parse_local(name: str, value: str) -> datetime:
    if not _LOCAL_RE.fullmatch(value):
        raise _BadRequest(f"{name}={value!r} must be local time 'YYYY-MM-DD HH:MM:SS'")
    try:
        naive = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise _BadRequest(f"{name}={value!r} is not a valid date and time") from None
    return (naive - LOCAL_OFFSET).replace(tzinfo=UTC)


def _parse_epoch_ms(name: str, value: str) -> datetime:
    if not _MS_RE.fullmatch(value):
        raise _BadRequest(f"{name}={value!r} must be Unix epoch milliseconds (a non-negative integer)")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(value))


def _parse_int(name: str, value: str | None, default: int, lo: int, hi: int) -> int:
    if value is None:
        return default
    if not _INT_RE.fullmatch(value) or not lo <= int(value) <= hi:
        raise _BadRequest(f"{name}={value!r} must be an integer from {lo} to {hi}")
    return int(value)


# -- formatting -----------------------------------------------------------------------------------


def _local_naive(ts: pd.Series) -> pd.Series:
    return (ts.dt.tz_convert(None) + LOCAL_OFFSET).dt.strftime("%Y-%m-%d %H:%M:%S")


def _local_iso(ts: pd.Series) -> pd.Series:
    return (ts.dt.tz_convert(None) + LOCAL_OFFSET).dt.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"


def _local_iso_one(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    ts = pd.Timestamp(value).tz_convert(UTC).tz_localize(None) + LOCAL_OFFSET
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"


def _num(v: float) -> str:
    if v is None or not np.isfinite(v):
        return ""
    return str(round(v))


class _FeedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    feed: DemoFeedServer


class _Handler(BaseHTTPRequestHandler):
    server: _FeedHTTPServer
    protocol_version = "HTTP/1.0"
    server_version = "CityopsDemoFeed/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        feed = self.server.feed
        parts = urlsplit(self.path)
        path = parts.path
        fault = feed._fault_for(path)
        if fault == "hang":
            feed._hang(path)
            self.close_connection = True
            return
        if fault in ("500", "404"):
            status = int(fault)
            self._send_error_json(status, "injected_fault", f"injected fault {fault} on {path}")
            return
        try:
            status, body, ctype = feed._route(
                path, parse_qs(parts.query, keep_blank_values=True), self.headers
            )
            extra: dict[str, str] = {}
        except _BadRequest as exc:
            status, body, ctype = (
                400,
                _error_body(400, "bad_request", str(exc)),
                "application/json; charset=utf-8",
            )
            extra = {}
        except _HttpError as exc:
            status, body, ctype = (
                exc.status,
                _error_body(exc.status, exc.error, exc.message),
                "application/json; charset=utf-8",
            )
            extra = exc.headers
        except Exception as exc:  # the demo server must answer, whatever happens
            log.exception("demo feed server error on %s", self.path)
            status, body, ctype = (
                500,
                _error_body(500, "internal", repr(exc)),
                "application/json; charset=utf-8",
            )
            extra = {}
        if fault == "malformed":
            body = body[: len(body) // 2]
        self._send(status, body, ctype, extra)

    def _method_not_allowed(self) -> None:
        self._send_error_json(405, "method_not_allowed", f"{self.command} is not supported; use GET")

    do_POST = do_PUT = do_DELETE = do_PATCH = _method_not_allowed

    def _send_error_json(self, status: int, error: str, message: str) -> None:
        self._send(status, _error_body(status, error, message), "application/json; charset=utf-8", {})

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away before the response was written")


def _error_body(status: int, error: str, message: str) -> bytes:
    return json.dumps({"code": status, "error": error, "message": message}, ensure_ascii=False).encode(
        "utf-8"
    )


def _json(obj: Any) -> tuple[int, bytes, str]:
    return (
        200,
        json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        "application/json; charset=utf-8",
    )


class DemoFeedServer:
    """Serve the generator's city through four departmental feeds (see the module docstring)."""

    def __init__(
        self,
        generator: CityGenerator,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        traffic_token: str = "demo-traffic-token",
        max_window: timedelta = timedelta(days=7),
        hang_seconds: float = 600.0,
    ) -> None:
        self.generator = generator
        self.clock = clock
        self.host = host
        self.port = port
        self.traffic_token = traffic_token
        self.max_window = max_window
        self.hang_seconds = hang_seconds
        self._faults: dict[str, str] = {}
        self._faults_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _FeedHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._cache: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        self._cache_lock = threading.Lock()
        cat = generator.catalogue
        roads = cat.by_kind.get("road_segment", pd.DataFrame(columns=["entity_id", "lon", "lat"]))
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
        air = cat.by_kind.get("air_station", pd.DataFrame(columns=["entity_id", "name"]))
        self._air_names = dict(zip(air["entity_id"].astype(str), air["name"].astype(str), strict=True))

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a background thread; returns the base URL."""
        if self._httpd is not None:
            return self.url
        self._stopping.clear()
        httpd = _FeedHTTPServer((self.host, self.port), _Handler)
        httpd.feed = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="demo-feed-server", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port (hanging requests are released too)."""
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("DemoFeedServer is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def __enter__(self) -> DemoFeedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------------------

    def set_fault(self, path_prefix: str, kind: str) -> None:
        """Make requests under ``path_prefix`` fail with ``kind`` ("500", "404", "hang", "malformed"),
        or clear the fault with "none"."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; allowed: {', '.join(FAULT_KINDS)}")
        with self._faults_lock:
            if kind == "none":
                self._faults.pop(path_prefix, None)
            else:
                self._faults[path_prefix] = kind

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    def _fault_for(self, path: str) -> str | None:
        with self._faults_lock:
            hits = [p for p in self._faults if path.startswith(p)]
            return self._faults[max(hits, key=len)] if hits else None

    def _hang(self, path: str) -> None:
        deadline = time.monotonic() + self.hang_seconds
        while time.monotonic() < deadline and not self._stopping.is_set() and self._fault_for(path) == "hang":
            time.sleep(0.05)

    # -- data ----------------------------------------------------------------------------------

    def _window(self, since: datetime) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(start, end) for the generator so that rows satisfy since < ts <= now."""
        now = self.clock.now()
        lo = max(since, now - self.max_window)
        if lo >= now:
            return None
        return pd.Timestamp(lo) + _ONE_NS, pd.Timestamp(now) + _ONE_NS

    def _frame(self, domain: str, window: tuple[pd.Timestamp, pd.Timestamp], step_s: int) -> pd.DataFrame:
        start, end = window
        step = pd.Timedelta(seconds=step_s)
        # Key on the grid instants covered, so a running clock still hits the cache between ticks.
        key = (domain, start.ceil(step), end.ceil(step))
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        frame = getattr(self.generator, domain)(start, end)
        with self._cache_lock:
            self._cache[key] = frame
            while len(self._cache) > 12:
                self._cache.popitem(last=False)
        return frame

    def _route(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, bytes, str]:
        if path == "/healthz":
            return _json({"status": "ok", "now": self.clock.now().isoformat()})
        if path == "/traffic/api/v2/speeds":
            return self._traffic(query, headers)
        if path == "/env/aqi/hourly.csv":
            return self._air(query)
        if path == "/water/levels.json":
            return self._levels(query)
        if path == "/water/rain.json":
            return self._rain(query)
        if path == "/emergency/incidents":
            return self._incidents(query)
        raise _HttpError(404, "not_found", f"no such endpoint: {path}")

    def _traffic(self, query: dict[str, list[str]], headers: Any) -> tuple[int, bytes, str]:
        auth = headers.get("Authorization") or ""
        if auth != f"Bearer {self.traffic_token}":
            raise _HttpError(
                401,
                "unauthorized",
                "missing or invalid bearer token",
                {"WWW-Authenticate": 'Bearer realm="traffic"'},
            )
        since = _parse_iso("since", _param(query, "since") or "")
        page = _parse_int("page", _param(query, "page", required=False), 1, 1, 10**9)
        size = _parse_int("size", _param(query, "size", required=False), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        window = self._window(since)
        frame = self._frame("traffic", window, 300) if window else None
        total = 0 if frame is None else len(frame)
        items: list[dict[str, Any]] = []
        if frame is not None and (page - 1) * size < total:
            part = frame.iloc[(page - 1) * size : page * size]
            coords = self._road_gcj.reindex(part["entity_id"])
            out = pd.DataFrame(
                {
                    "roadId": part["entity_id"].to_numpy(),
                    "collectTime": _local_iso(part["ts"]).to_numpy(),
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
        return _json(
            {"code": 0, "message": "ok", "data": {"total": total, "page": page, "size": size, "items": items}}
        )

    def _air(self, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        since = _parse_local("start", _param(query, "start") or "")
        window = self._window(since)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(AIR_HEADER)
        if window:
            f = self._frame("air", window, 3600)
            times = _local_naive(f["ts"]).to_numpy()
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

    def _levels(self, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        since = _parse_epoch_ms("from", _param(query, "from") or "")
        window = self._window(since)
        if not window:
            return _json([])
        f = self._frame("water", window, 300)
        z = np.round(f["level_m"].to_numpy(dtype=np.float64) * 100.0).astype("int64")
        q = f["discharge_m3s"].to_numpy(dtype=np.float64)
        rows = [
            {"STCD": s, "TM": tm, "Z": int(zz), "Q": (None if not np.isfinite(qq) else float(qq))}
            for s, tm, zz, qq in zip(
                f["entity_id"].to_numpy(), _local_naive(f["ts"]).to_numpy(), z, q, strict=True
            )
        ]
        return _json(rows)

    def _rain(self, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        since = _parse_epoch_ms("from", _param(query, "from") or "")
        window = self._window(since)
        if not window:
            return _json([])
        f = self._frame("rain", window, 300)
        drp = np.round(f["rain_mm"].to_numpy(dtype=np.float64) * 10.0).astype("int64")
        rows = [
            {"STCD": s, "TM": tm, "DRP": int(d)}
            for s, tm, d in zip(f["entity_id"].to_numpy(), _local_naive(f["ts"]).to_numpy(), drp, strict=True)
        ]
        return _json(rows)

    def _incidents(self, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        since = _parse_iso("updatedSince", _param(query, "updatedSince") or "")
        now = self.clock.now()
        lo = max(since, now - self.max_window)
        if lo >= now:
            return _json({"result": []})
        # Anything reported up to a lifetime before the watermark may have changed since.
        lookback = timedelta(days=2)
        f = self.generator.incidents(pd.Timestamp(lo - lookback), pd.Timestamp(now) + _ONE_NS, now)
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
                        "reportTime": _local_iso_one(row.reported_at),
                        "dispatchTime": _local_iso_one(row.dispatched_at),
                        "finishTime": _local_iso_one(row.closed_at),
                        "updateTime": _local_iso_one(updated),
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
        return _json({"result": result})
