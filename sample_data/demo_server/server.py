"""The HTTP side of the demo feed server: lifecycle, routing, injected faults and error answers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cityops.base.clock import Clock
from sample_data.demo_server.emergency import EmergencyDepartment
from sample_data.demo_server.environment import EnvironmentDepartment
from sample_data.demo_server.faults import FaultBoard
from sample_data.demo_server.params import Query
from sample_data.demo_server.replies import (
    JSON_TYPE,
    BadRequest,
    HttpError,
    Reply,
    build_error_body,
    build_json_reply,
)
from sample_data.demo_server.source import MeasuredCity
from sample_data.demo_server.traffic import TrafficDepartment
from sample_data.demo_server.water import WaterDepartment
from sample_data.generator import CityGenerator

__all__ = ["DemoFeedServer"]

# Logged under the package's name: one logger for the whole demo feed server.
log = logging.getLogger("sample_data.demo_server")

Endpoint = Callable[[Query, Message], Reply]


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
        fault = feed._faults.kind_for(path)
        if fault == "hang":
            feed._faults.hang(path, feed._stopping)
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
        except BadRequest as exc:
            status, body, ctype = 400, build_error_body(400, "bad_request", str(exc)), JSON_TYPE
            extra = {}
        except HttpError as exc:
            status, body, ctype = exc.status, build_error_body(exc.status, exc.error, exc.message), JSON_TYPE
            extra = exc.headers
        except Exception as exc:  # the demo server must answer, whatever happens
            log.exception("demo feed server error on %s", self.path)
            status, body, ctype = 500, build_error_body(500, "internal", repr(exc)), JSON_TYPE
            extra = {}
        if fault == "malformed":
            body = body[: len(body) // 2]
        self._send(status, body, ctype, extra)

    def _method_not_allowed(self) -> None:
        self._send_error_json(405, "method_not_allowed", f"{self.command} is not supported; use GET")

    do_POST = do_PUT = do_DELETE = do_PATCH = _method_not_allowed

    def _send_error_json(self, status: int, error: str, message: str) -> None:
        self._send(status, build_error_body(status, error, message), JSON_TYPE, {})

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


class DemoFeedServer:
    """Serve the generator's city through four departmental feeds (see :mod:`sample_data.demo_server`)."""

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
        self._faults = FaultBoard(hang_seconds)
        self._stopping = threading.Event()
        self._httpd: _FeedHTTPServer | None = None
        self._thread: threading.Thread | None = None
        city = MeasuredCity(generator, clock, max_window)
        traffic = TrafficDepartment(city, traffic_token)
        water = WaterDepartment(city)
        self._endpoints: dict[str, Endpoint] = {
            "/healthz": self._health,
            "/traffic/api/v2/speeds": traffic.speeds,
            "/env/aqi/hourly.csv": EnvironmentDepartment(city).hourly_csv,
            "/water/levels.json": water.levels,
            "/water/rain.json": water.rain,
            "/emergency/incidents": EmergencyDepartment(city).incidents,
        }

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
        self._faults.set(path_prefix, kind)

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- routing -----------------------------------------------------------------------------

    def _route(self, path: str, query: Query, headers: Message) -> Reply:
        endpoint = self._endpoints.get(path)
        if endpoint is None:
            raise HttpError(404, "not_found", f"no such endpoint: {path}")
        return endpoint(query, headers)

    def _health(self, query: Query, headers: Message) -> Reply:
        return build_json_reply({"status": "ok", "now": self.clock.now().isoformat()})
