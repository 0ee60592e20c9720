"""Shared fixtures: real local parts only.

- ``make_runtime``: a real :class:`~ingest.pipeline.Runtime` over a DuckDB file in ``tmp_path``, settings
  built with :func:`~cityops.base.settings.settings_from_dict` (``environ={}`` unless given), a
  :class:`~cityops.base.clock.FixedClock` and a ``sleep`` that does not wait (so retries are instant).
- ``feed_server``: a stdlib ``ThreadingHTTPServer`` on loopback whose routes a test sets per path
  (static bodies, or handler functions for hanging / trickling behaviour); it records every request.
  ``LoopbackServer`` serves any other handler the same way (tests that take POSTs import it).
- ``pg_dsn`` / ``mysql_dsn``: the local PostgreSQL and MariaDB services. When a service is absent the
  test is skipped with the reason, unless ``CITYOPS_REQUIRE_SERVICES=1``, where absence fails.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from cityops.base.clock import FixedClock
from cityops.base.settings import settings_from_dict
from cityops.base.warehouse import open_warehouse
from ingest.pipeline import Runtime

# 2026-06-15 01:00 UTC = 09:00 in Asia/Shanghai: payload timestamps before that are "now or past".
DEFAULT_NOW = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)

# Timeouts short enough that a misbehaving server cannot stall the suite, long enough for loopback.
TEST_INGEST = {"connect_timeout": "2s", "read_timeout": "5s", "run_timeout": "60s", "retry_backoff": "0s"}


def build_runtime(
    tmp_path: Path,
    feeds: dict[str, Any],
    domains: dict[str, Any] | None = None,
    clock: FixedClock | None = None,
    *,
    ingest: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Runtime:
    """A Runtime over a fresh DuckDB file under ``tmp_path`` (the caller closes ``rt.warehouse``)."""
    env = {} if environ is None else dict(environ)
    data: dict[str, Any] = {
        "storage": {"data_dir": str(tmp_path / "data")},
        "ingest": {**TEST_INGEST, **(ingest or {})},
        "feeds": feeds,
        **(extra or {}),
    }
    if domains:
        data["domains"] = domains
    settings = settings_from_dict(data, environ=env)
    warehouse = open_warehouse(settings)
    return Runtime(settings, warehouse, clock or FixedClock(DEFAULT_NOW), env, sleep=lambda s: None)


@pytest.fixture
def make_runtime() -> Iterator[Callable[..., Runtime]]:
    """``make_runtime(tmp_path, feeds, domains=None, clock=None, *, ingest=None, environ=None)``."""
    made: list[Runtime] = []

    def make(*args: Any, **kwargs: Any) -> Runtime:
        rt = build_runtime(*args, **kwargs)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.warehouse.close()


# -- a loopback HTTP server whose behaviour each test sets ------------------------------------------


class LoopbackServer:
    """``handler`` served on 127.0.0.1 at a free port until ``close``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        # A short poll interval so that closing does not wait half a second per server.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        """Stop serving and release the port (later connections are refused)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


Handler = Callable[[BaseHTTPRequestHandler], None]


class FeedServer:
    """A loopback HTTP server. Routes by path; ``requests`` records what was asked (path, query, headers).

    ``stop`` is set at teardown: handlers that hang on purpose wait on it, so they end with the test.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self.stop = threading.Event()
        state = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                state.requests.append(
                    Request(parts.path, query, {k.lower(): v for k, v in self.headers.items()})
                )
                handler = state.routes.get(parts.path)
                try:
                    if handler is None:
                        self.send_response(404)
                        self.send_header("Content-Length", "9")
                        self.end_headers()
                        self.wfile.write(b"not found")
                        return
                    handler(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeouts): expected in these tests

            def log_message(self, *args: Any) -> None:
                pass

        self._server = LoopbackServer(H)
        self.port = self._server.port
        self._closed = False

    def close(self) -> None:
        """Stop serving and release the port (later connections are refused)."""
        if self._closed:
            return
        self._closed = True
        self.stop.set()
        self._server.close()

    def url(self, path: str) -> str:
        return self._server.url(path)

    def respond(
        self, path: str, body: bytes | str, *, status: int = 200, content_type: str = "application/json"
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body

        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

        self.routes[path] = handler

    def json(self, path: str, obj: Any, *, status: int = 200) -> None:
        self.respond(path, json.dumps(obj, ensure_ascii=False), status=status)

    def handle(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]


@pytest.fixture
def make_feed_server() -> Iterator[Callable[[], FeedServer]]:
    servers: list[FeedServer] = []

    def make() -> FeedServer:
        servers.append(FeedServer())
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def feed_server(make_feed_server: Callable[[], FeedServer]) -> FeedServer:
    return make_feed_server()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the local database services --------------------------------------------------------------------


def _service_unavailable(what: str, exc: Exception) -> None:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = f"{what} is not available on this machine: {type(exc).__name__}: {detail}"
    if os.environ.get("CITYOPS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (CITYOPS_REQUIRE_SERVICES=1 requires it)", pytrace=False)
    pytest.skip(reason)


PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_DSN = "mysql://root@127.0.0.1:3306/test"


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    import psycopg

    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        _service_unavailable("PostgreSQL at 127.0.0.1:5432 (user postgres, database test)", exc)
    return PG_DSN


@pytest.fixture(scope="session")
def mysql_dsn() -> str:
    import pymysql

    try:
        conn = pymysql.connect(
            host="127.0.0.1", port=3306, user="root", password="", database="test", connect_timeout=3
        )
        conn.close()
    except Exception as exc:
        _service_unavailable("MariaDB at 127.0.0.1:3306 (user root, database test)", exc)
    return MYSQL_DSN


# -- a healthy neighbour feed: a failing feed must never stop it -------------------------------------


class OtherFeed:
    """A rain feed on its own healthy server; ``check(rt)`` runs it and asserts it lands."""

    name = "city-rain"
    rows: ClassVar[list[dict[str, Any]]] = [
        {"gauge": "G1", "time": "2026-06-15 08:00:00", "mm": 1.5},
        {"gauge": "G2", "time": "2026-06-15 08:00:00", "mm": 0.0},
    ]

    def __init__(self, server: FeedServer) -> None:
        server.json("/rain", self.rows)
        self.config = {
            "department": "气象局",
            "domain": "rain",
            "cadence": "5m",
            "source": {"type": "http", "url": server.url("/rain")},
            "fields": {"entity_id": "gauge", "ts": "time", "rain_mm": "mm"},
        }

    def check(self, rt: Runtime) -> None:
        from cityops.base.domains import RAIN
        from ingest.pipeline import run_feed

        report = run_feed(rt, self.name)
        assert report.status == "ok", report.error
        assert report.error is None
        assert report.rows_fetched == 2
        assert report.rows_inserted + report.rows_unchanged == 2
        stored = rt.warehouse.observations(RAIN)
        assert set(stored["entity_id"]) >= {"G1", "G2"}


@pytest.fixture
def other_feed(make_feed_server: Callable[[], FeedServer]) -> OtherFeed:
    return OtherFeed(make_feed_server())


# -- a tiny synthetic catalogue for the generator and the demo feed server ----------------------------


def _build_catalogue(path, n_roads=40):
    feats = []

    def pt(eid, kind, name, dc, lon, lat, **props):
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"entity_id": eid, "kind": kind, "name": name, "district_code": dc, **props},
            }
        )

    hydro = [
        ("HY001", "石角", "441802", 113.08, 23.56, "北江", "river", 8.0, 11.0, 12.5, 14.7),
        ("HY002", "清远", "441802", 113.03, 23.69, "北江", "river", 9.5, 13.5, 15.0, 16.6),
        ("HY003", "英德", "441881", 113.40, 24.18, "北江", "river", 22.0, 27.5, 29.5, 31.9),
        ("HY004", "江口圩", "441803", 112.98, 23.84, "滨江", "river", 10.0, 13.0, 14.5, 15.9),
        ("HY005", "源潭", "441802", 113.25, 23.67, "大燕河", "river", 7.0, 9.0, 10.2, 11.4),
        ("HY009", "龙沥", "441802", 113.15, 23.64, "大燕河", "river", 9.2, 13.0, 14.4, 16.2),
        ("HY006", "高道", "441823", 112.62, 24.45, "连江", "river", 40.0, 46.0, 48.0, 50.1),
        ("HY007", "潖江石潭", "441821", 113.45, 23.88, "潖江", "river", 18.0, 21.0, 22.5, 23.9),
    ]
    for eid, name, dc, lon, lat, river, st, normal, warn, guar, hist in hydro:
        pt(
            eid,
            "hydro_station",
            name,
            dc,
            lon,
            lat,
            river=river,
            basin="北江",
            station_type=st,
            warning_level_m=warn,
            guaranteed_level_m=guar,
            historical_level_m=hist,
            normal_level_m=normal,
        )
    pt(
        "HY008",
        "hydro_station",
        "飞来峡水库",
        "441802",
        113.22,
        23.80,
        river="北江",
        basin="北江",
        station_type="reservoir",
        warning_level_m=None,
        guaranteed_level_m=None,
        historical_level_m=24.2,
        normal_level_m=21.0,
        flood_limit_level_m=23.5,
    )
    gauges = [
        ("441802", 113.05, 23.70),
        ("441802", 113.20, 23.62),
        ("441803", 112.95, 23.75),
        ("441803", 112.88, 24.00),
        ("441881", 113.40, 24.20),
        ("441881", 113.30, 24.40),
        ("441821", 113.55, 23.87),
        ("441821", 113.45, 23.95),
        ("441823", 112.63, 24.47),
        ("441882", 112.38, 24.78),
        ("441826", 112.29, 24.72),
        ("441825", 112.09, 24.57),
    ]
    for i, (dc, lon, lat) in enumerate(gauges):
        pt(f"RG{i + 1:03d}", "rain_gauge", f"雨量站{i + 1}", dc, lon, lat)
    airs = [
        ("441802", 113.04, 23.68),
        ("441802", 113.01, 23.71),
        ("441803", 112.98, 23.73),
        ("441881", 113.41, 24.19),
        ("441821", 113.53, 23.88),
        ("441882", 112.38, 24.78),
    ]
    for i, (dc, lon, lat) in enumerate(airs):
        pt(f"AQ{i + 1:03d}", "air_station", f"空气站{i + 1}", dc, lon, lat)
    classes = [("expressway", 100), ("arterial", 60), ("secondary", 50), ("branch", 30)]
    centres = {
        "441802": (113.03, 23.69),
        "441803": (112.98, 23.73),
        "441881": (113.40, 24.18),
        "441821": (113.53, 23.88),
        "441823": (112.64, 24.46),
        "441882": (112.38, 24.78),
        "441826": (112.29, 24.72),
        "441825": (112.09, 24.57),
    }
    codes = list(centres)
    for i in range(n_roads):
        dc = codes[i % len(codes)] if i % 3 else "441802"
        cls, ff = classes[i % 4]
        lon, lat = centres[dc]
        lon += (i % 7 - 3) * 0.01
        lat += (i % 5 - 2) * 0.01
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[lon, lat], [lon + 0.004, lat + 0.002], [lon + 0.008, lat + 0.003]],
                },
                "properties": {
                    "entity_id": f"RS{i + 1:04d}",
                    "kind": "road_segment",
                    "name": f"路段{i + 1}",
                    "district_code": dc,
                    "road_class": cls,
                    "length_m": 900.0,
                    "free_flow_kmh": ff,
                    "road_name": f"测试路{i % 9 + 1}号",
                },
            }
        )
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"type": "FeatureCollection", "features": feats}, fh, ensure_ascii=False)
    return path


@pytest.fixture(scope="session")
def build_catalogue():
    """``build_catalogue(path, n_roads=40) -> path``: writes a small synthetic entity catalogue."""
    return _build_catalogue
