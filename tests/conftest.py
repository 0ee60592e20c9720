"""Shared fixtures: real local parts only.

- ``make_runtime``: a real :class:`~ingest.pipeline.Runtime` over a DuckDB file in ``tmp_path``, settings
  built with :func:`~cityops.settings.settings_from_dict` (``environ={}`` unless given), a
  :class:`~cityops.clock.FixedClock` and a ``sleep`` that does not wait (so retries are instant).
- ``feed_server``: a stdlib ``ThreadingHTTPServer`` on loopback whose routes a test sets per path
  (static bodies, or handler functions for hanging / trickling behaviour); it records every request.
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
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cityops.clock import FixedClock
from cityops.settings import settings_from_dict
from cityops.warehouse import Warehouse
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
    warehouse = Warehouse(settings.storage.database_path)
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

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                state.requests.append(Request(parts.path, query, {k.lower(): v for k, v in self.headers.items()}))
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

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._closed = False

    def close(self) -> None:
        """Stop serving and release the port (later connections are refused)."""
        if self._closed:
            return
        self._closed = True
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def respond(self, path: str, body: bytes | str, *, status: int = 200, content_type: str = "application/json") -> None:
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
    reason = f"{what} is not available on this machine: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
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
    except Exception as exc:  # noqa: BLE001 - any failure means the service is not usable
        _service_unavailable("PostgreSQL at 127.0.0.1:5432 (user postgres, database test)", exc)
    return PG_DSN


@pytest.fixture(scope="session")
def mysql_dsn() -> str:
    import pymysql

    try:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test", connect_timeout=3)
        conn.close()
    except Exception as exc:  # noqa: BLE001 - any failure means the service is not usable
        _service_unavailable("MariaDB at 127.0.0.1:3306 (user root, database test)", exc)
    return MYSQL_DSN


# -- a healthy neighbour feed: a failing feed must never stop it -------------------------------------


class OtherFeed:
    """A rain feed on its own healthy server; ``check(rt)`` runs it and asserts it lands."""

    name = "city-rain"
    rows = [
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
        from ingest.domains import RAIN
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
