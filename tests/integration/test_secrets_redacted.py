"""Secrets never reach a page, a log or a report.

A department's feed whose URL carries a key in its query string (``?appKey=…``) and whose header carries
a token from the environment fails in some runs and succeeds in others: the key and the token appear
nowhere a person or a tool reads — the warehouse's run records, the raw landing's metadata, the /feeds
page and its data callbacks (signed in as a viewer, over real HTTP), the rendered daily report, the log
records, and the command line's output and log.
"""

from __future__ import annotations

import json
import logging
import textwrap
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from cityops.base.auth import hash_password
from cityops.server import build_server
from dashboard.snapshot import render_snapshot
from ingest.pipeline import run_feed
from tests.helpers import run_cityops

KEY = "SECRET123"
TOKEN = "tok-9f8e7d6c5b4a"
SECRETS = (KEY, TOKEN)
PASSWORD = "观察-viewer-7"
ROWS = [
    {"id": "R1", "t": "2026-06-15 08:00:00", "v": 41.5},
    {"id": "R2", "t": "2026-06-15 08:00:00", "v": 22},
]
# The report whose window (08:00 → 08:00 local) holds the runs made at the fixture's clock (09:00 local).
REPORT_DAY = date(2026, 6, 16)


def _feed(url: str, **source: Any) -> dict[str, Any]:
    return {
        "department": "交通运输局",
        "domain": "traffic",
        "cadence": "5m",
        "source": {
            "type": "http",
            "url": url,
            "headers": {"Authorization": "Bearer ${SPEEDS_TOKEN}", "Accept": "application/json"},
            **source,
        },
        "fields": {"entity_id": "id", "ts": "t", "speed_kmh": "v"},
    }


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _fake_png(items: Sequence[tuple[Path, Any, int, int]]) -> None:
    """A PNG exporter that needs no browser: the report's images are not what this test reads."""
    for path, _fig, _w, _h in items:
        path.write_bytes(b"\x89PNG\r\n")


def _serve_mode(feed_server: Any, path: str, mode: dict[str, str]) -> None:
    def handler(h: Any) -> None:
        if mode["now"] == "busy":
            body, status = b'{"msg": "busy"}', 503
        elif mode["now"] == "echo":  # a department that quotes the credentials it refused
            body, status = json.dumps({"error": f"token {TOKEN} refused for appKey={KEY}"}).encode(), 401
        else:
            body, status = json.dumps(ROWS).encode(), 200
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    feed_server.handle(path, handler)


def _dash_callback(client: httpx.Client, base: str, output_part: str, values: list[Any]) -> dict[str, Any]:
    """Post the callback whose output names ``output_part`` as a browser would; its JSON answer."""
    deps = client.get(f"{base}/_dash-dependencies").json()
    spec = next(d for d in deps if output_part in d["output"])
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in spec["output"].strip(".").split("...")
    ]
    inputs = [dict(i, value=v) for i, v in zip(spec["inputs"], values, strict=False)]
    state = [dict(s, value=v) for s, v in zip(spec["state"], values[len(inputs) :], strict=False)]
    body = {
        "output": spec["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [],
    }
    r = client.post(f"{base}/_dash-update-component", json=body)
    assert r.status_code == 200, (output_part, r.status_code, r.text[:300])
    return r.json()


def test_a_key_in_the_url_and_a_token_in_a_header_appear_nowhere(
    tmp_path: Path, make_runtime: Any, feed_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    mode = {"now": "busy"}
    _serve_mode(feed_server, "/speeds", mode)

    # A paging API whose next link (carrying the key) loops: the error quotes the link.
    def paged(h: Any) -> None:
        again = "cursor=" in h.path
        rows = [dict(r, v=r["v"] + 1) for r in ROWS] if again else ROWS
        body = json.dumps({"data": rows, "next": f"/paged?appKey={KEY}&cursor=1"}).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    feed_server.handle("/paged", paged)
    rt = make_runtime(
        tmp_path,
        {
            "speeds": _feed(feed_server.url(f"/speeds?appKey={KEY}&page=1")),
            "paged": _feed(
                feed_server.url(f"/paged?appKey={KEY}"),
                records="data",
                pagination={"style": "next_url", "next_path": "next", "max_pages": 5},
            ),
        },
        environ={"SPEEDS_TOKEN": TOKEN},
        ingest={"retry_attempts": 2},
        extra={
            "auth": {"users": [{"name": "kan", "role": "viewer", "password_hash": hash_password(PASSWORD)}]}
        },
    )

    reports = [run_feed(rt, "speeds")]  # 503 twice: failed, transient
    mode["now"] = "ok"
    reports.append(run_feed(rt, "speeds"))
    mode["now"] = "echo"
    reports.append(run_feed(rt, "speeds"))  # 401 quoting the token and the key: failed, terminal
    reports.append(run_feed(rt, "paged"))  # the next link repeats: failed, terminal

    assert [r.status for r in reports] == ["failed", "ok", "failed", "failed"], [r.error for r in reports]
    # The feed was really asked with the key and the token (so there was something to leak) ...
    asked = feed_server.hits("/speeds")[0]
    assert asked.query["appKey"] == KEY and asked.headers["authorization"] == f"Bearer {TOKEN}"
    # ... and the errors still say what failed and where.
    assert "503" in reports[0].error and "/speeds?appKey=***&page=***" in reports[0].error
    assert "401" in reports[2].error and "refused" in reports[2].error
    assert "already followed" in reports[3].error and "appKey=***" in reports[3].error
    for report in reports:
        assert not _leaks(report.error or ""), report.error

    # The warehouse: every text of the run records and the feeds' state.
    cur = rt.warehouse.cursor()
    for table in ("ingest_run", "feed_state"):
        stored = json.dumps(cur.execute(f"SELECT * FROM {table}").fetchall(), default=str)
        assert not _leaks(stored), (table, stored[:500])
    errors = [e for (e,) in cur.execute("SELECT error FROM ingest_run WHERE error IS NOT NULL").fetchall()]
    assert len(errors) == 3

    # The raw landing area's metadata (the payloads themselves are the department's bytes).
    metas = list((tmp_path / "data" / "raw").rglob("meta.json"))
    assert len(metas) == 4
    for meta in metas:
        text = meta.read_text("utf-8")
        assert not _leaks(text), (meta, text)
    assert any("appKey=***" in m.read_text("utf-8") for m in metas)  # the origin is still named

    # The /feeds page and its data callbacks, signed in as a viewer, over real HTTP.
    server = build_server(rt, with_scheduler=False, host="127.0.0.1", port=0)
    server.start_background()
    try:
        # A browser's requests: same-origin, as the page's own scripts send them.
        with httpx.Client(timeout=30, headers={"Origin": server.url}) as client:
            r = client.post(
                f"{server.url}/login", data={"name": "kan", "password": PASSWORD, "next": "/feeds"}
            )
            assert r.status_code == 303, r.text[:300]
            page = client.get(f"{server.url}/feeds?lang=en")
            assert page.status_code == 200 and not _leaks(page.text)
            layout = _dash_callback(client, server.url, "_pages_content.children", ["/feeds", "?lang=en"])
            assert not _leaks(json.dumps(layout, ensure_ascii=False))
            tables = _dash_callback(client, server.url, "feeds-runs.children", [1, "en"])
            shown = json.dumps(tables, ensure_ascii=False)
            assert "503" in shown and "/speeds?appKey=***" in shown  # the errors are on the page ...
            assert not _leaks(shown), shown[:2000]  # ... without the secrets
    finally:
        server.close_http()

    # The rendered daily report: HTML, summary, manifest, data files.
    result = render_snapshot(rt, REPORT_DAY, exporter=_fake_png)
    files = [p for p in result.directory.rglob("*") if p.is_file()]
    assert {"report.html", "summary.json", "manifest.json"} <= {p.name for p in files}
    summary = json.loads((result.directory / "summary.json").read_text("utf-8"))
    feeds = {f["feed"]: f for f in summary["feeds"]}
    assert feeds["speeds"]["failed_runs"] == 2 and "appKey=***" in feeds["paged"]["last_error"]
    for path in files:
        data = path.read_bytes()
        assert not [s for s in SECRETS if s.encode() in data], path

    # Every log record of all of the above.
    assert caplog.records
    formatter = logging.Formatter()
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += formatter.formatException(record.exc_info)
        assert not _leaks(text), text


def test_the_command_line_shows_and_logs_no_secret(tmp_path: Path, feed_server: Any) -> None:
    mode = {"now": "busy"}
    _serve_mode(feed_server, "/speeds", mode)
    url = feed_server.url(f"/speeds?appKey={KEY}")
    config = tmp_path / "cityops.toml"
    config.write_text(
        textwrap.dedent(f"""
        [storage]
        data_dir = "data"

        [ingest]
        retry_attempts = 1
        read_timeout = "2s"

        [feeds.speeds]
        department = "交通运输局"
        domain = "traffic"
        cadence = "5m"
        fields = {{ entity_id = "id", ts = "t", speed_kmh = "v" }}
        source = {{ type = "http", url = "{url}", headers = {{ "X-Api-Token" = "${{SPEEDS_TOKEN}}" }} }}
        """),
        "utf-8",
    )
    env = {"SPEEDS_TOKEN": TOKEN, "CITYOPS_LOG": "DEBUG"}
    for now in ("busy", "echo"):
        mode["now"] = now
        result = run_cityops("ingest", "run", "--config", str(config), cwd=tmp_path, env=env)
        assert result.returncode != 0
        assert "speeds" in result.stdout + result.stderr
        assert feed_server.hits("/speeds")[-1].headers["x-api-token"] == TOKEN
        assert not _leaks(result.stdout), result.stdout
        assert not _leaks(result.stderr), result.stderr[-2000:]
    runs = run_cityops("ingest", "list", "--config", str(config), cwd=tmp_path, env=env)
    assert not _leaks(runs.stdout + runs.stderr)
