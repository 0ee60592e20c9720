"""A bad path is a 404 (or a 400 where the request itself is malformed), never a 500 and never a file
outside the folder a route serves: hostile paths sent over real HTTP to a running server, for every
route family that serves files or takes a path (the report archive, map glyphs, static assets, Dash's
script bundles, the explorer's export).

``http.client`` sends each path byte for byte, as an attacker would: no client-side normalisation of
``..``, percent-escapes or backslashes.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from cityops.server import Server, build_server
from dashboard.snapshot import snapshot_dir

DAY = "2026-06-14"
MARKER = "TOP-SECRET-MARKER-7f3a"
LONG = "a" * 5000

# Hostile ways to name something, each appended to a route's prefix.
HOSTILE = [
    "%00",
    "summary.json%00",
    "summary.json%00.png",
    "..%2f..%2f..%2fsecret.txt",
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "..%5c..%5c..%5csecret.txt",
    "..\\..\\..\\secret.txt",
    LONG,
    "a/" * 400 + "x",
    "%ff%fe",
    "%c0%ae%c0%ae/secret.txt",
    "%",
    "%zz",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "C:%5cWindows%5cwin.ini",
    "figures/%00.png",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.conftest import build_runtime

    tmp = tmp_path_factory.mktemp("bad-paths")
    rt = build_runtime(tmp, {}, extra={"server": {"anonymous_viewer": True}})
    folder = snapshot_dir(rt.settings, date.fromisoformat(DAY))
    (folder / "figures").mkdir(parents=True)
    (folder / "summary.json").write_text('{"day": "2026-06-14"}', "utf-8")
    (folder / "figures" / "aqi.png").write_bytes(b"\x89PNG fake")
    # Files just outside the served folders, which no path may reach.
    for outside in (tmp / "secret.txt", tmp / "data" / "secret.txt", folder.parent / "secret.txt"):
        outside.write_text(MARKER, "utf-8")
    srv = build_server(rt, with_scheduler=False, host="127.0.0.1", port=0)
    srv.start_background()
    try:
        yield srv
    finally:
        srv.close_http()
        rt.warehouse.close()


def get(server: Server, path: str) -> tuple[int, bytes, dict[str, str]]:
    """GET ``path`` sent exactly as given; the status, body and headers."""
    host, port = server.wsgi.effective_host, server.wsgi.effective_port
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def assert_no_leak(status: int, body: bytes, path: str) -> None:
    assert status < 500, (path, status, body[:200])
    assert MARKER.encode() not in body, path
    assert b"root:x:0:0" not in body and b"[fonts]" not in body, path


def test_the_report_archive_serves_its_files_and_nothing_else(server: Server) -> None:
    status, body, _ = get(server, f"/snapshots/{DAY}/summary.json")
    assert (status, body) == (200, b'{"day": "2026-06-14"}')
    assert get(server, f"/snapshots/{DAY}/figures/aqi.png")[0] == 200
    for bad in HOSTILE:
        path = f"/snapshots/{DAY}/{bad}"
        status, body, headers = get(server, path)
        assert_no_leak(status, body, path)
        # A path the route takes is a 404; one it does not match falls to the page shell, never a file.
        assert status == 404 or headers["content-type"].startswith("text/html"), (path, status)
        assert status != 200 or b"<!DOCTYPE html>" in body, path


@pytest.mark.parametrize("day", ["%00", f"{DAY}%00", "2026-13-40", "..%2f..", LONG, "%ff%fe", "2026-06-14x"])
def test_a_bad_day_in_the_archive_is_not_found(server: Server, day: str) -> None:
    path = f"/snapshots/{day}/summary.json"
    status, body, _ = get(server, path)
    assert_no_leak(status, body, path)
    assert status in (404, 400), (path, status)


def test_map_glyphs_refuse_malformed_font_stacks(server: Server) -> None:
    status, body, headers = get(server, "/map/glyphs/Noto%20Sans%20Regular/0-255.pbf")
    assert status == 200 and headers["content-type"] == "application/x-protobuf"
    for stack in ("Noto%00", LONG, "..%2f..%2f", "..%5c..%5csecret.txt", "..\\..\\x", "a%0d%0ab", "..", "."):
        path = f"/map/glyphs/{stack}/0-255.pbf"
        status, body, _ = get(server, path)
        assert_no_leak(status, body, path)
        assert status in (400, 404) or (status == 200 and not body.startswith(b"<")), (path, status)
    for stack in ("Noto%00", LONG, "..%5c..%5csecret.txt", "..%2f..%2f", "Noto%09Sans"):
        assert get(server, f"/map/glyphs/{stack}/0-255.pbf")[0] == 400, stack
    assert get(server, "/map/glyphs/Noto/1-256.pbf")[0] == 400  # not a 256-aligned range


def test_static_assets_serve_the_assets_folder_only(server: Server) -> None:
    status, _, _ = get(server, "/assets/cityops.css")
    assert status == 200
    for bad in [*HOSTILE, "..%2fapp.py", "..\\app.py", "..%2f..%2fpyproject.toml"]:
        path = f"/assets/{bad}"
        status, body, headers = get(server, path)
        assert_no_leak(status, body, path)
        assert b"def create_app" not in body and b"[tool.importlinter]" not in body, path
        assert status == 404 or headers["content-type"].startswith("text/html"), (path, status)


def test_script_bundles_that_are_not_registered_are_not_found(server: Server) -> None:
    for bad in [
        "dash/%00",
        "%00/x.js",
        "dash/..%2f..%2f__init__.py",
        f"dash/{LONG}.js",
        "dash/%ff%fe.js",
        "nosuchpackage/x.js",
        "dash/..\\..\\__init__.py",
    ]:
        path = f"/_dash-component-suites/{bad}"
        status, body, _ = get(server, path)
        assert_no_leak(status, body, path)
        assert b"import " not in body, path  # no Python source
        assert status == 404, (path, status)


def test_the_explorer_export_takes_hostile_queries_and_unknown_formats(server: Server) -> None:
    for bad in ("%00", "csv%00", "xlsx", "..%2f..%2fsecret.txt", LONG):
        path = f"/explore/export.{bad}?domain=water"
        status, body, headers = get(server, path)
        assert_no_leak(status, body, path)
        # 404 from the route, or (a '/' in it: another path) the page shell: never a file or a CSV
        assert status == 404 or headers["content-type"].startswith("text/html"), (path, status)
    assert get(server, "/explore/export.xlsx?domain=water")[0] == 404
    for query in ("domain=%00&entity=%ff%fe", LONG, "entity=a%0d%0aX-Evil:%201", 'entity="x', "range=%00"):
        path = f"/explore/export.csv?{query}"
        status, body, headers = get(server, path)
        assert status == 200, (path, status)
        assert "x-evil" not in headers and headers["content-type"].startswith("text/csv"), path
        disposition: Any = headers["content-disposition"]
        assert disposition.count('"') == 2 and "\r" not in disposition and "\n" not in disposition


def test_server_survives_every_bad_path(server: Server) -> None:
    """After all of the above, the server still answers (no worker died on a bad path)."""
    status, body, _ = get(server, "/healthz")
    assert status in (200, 503) and b"status" in body
