"""Delivering a rendered snapshot to webhooks on a real loopback HTTP server (pytest-httpserver):
WeCom gets the headline as markdown and the summary image as a second message (base64 + md5 of the
PNG), the generic target a signed JSON body with the link to the archived report; a failure is retried
and every outcome is in the delivery log."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dashboard.snapshot import SnapshotResult, deliver_snapshot, render_snapshot
from ingest.pipeline import Runtime
from tests.conftest import build_runtime

DAY = date(2026, 6, 15)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SnapshotResult]]:
    """An empty city's day, rendered for real (no feeds, no warnings: a valid, quiet report with its PNG)."""
    tmp = tmp_path_factory.mktemp("delivery")
    rt = build_runtime(tmp, {})
    try:
        result = render_snapshot(rt, DAY)
    finally:
        rt.warehouse.close()
    assert result.status == "ok", result.reason
    yield tmp, result


def _runtime(tmp: Path, server: HTTPServer) -> Runtime:
    return build_runtime(
        tmp,
        {},
        extra={
            "snapshots": {"base_url": "http://ops.intranet:8050"},
            "notifications": [
                {
                    "name": "wecom-group",
                    "format": "wecom",
                    "url": server.url_for("/wecom?key=abc"),
                    "events": ["snapshot"],
                    "backoff": "0s",
                },
                {
                    "name": "ops-json",
                    "format": "generic",
                    "url": server.url_for("/hook"),
                    "secret": "s3cret",
                    "events": ["raised", "snapshot"],
                    "backoff": "0s",
                },
                {
                    "name": "warnings-only",
                    "format": "dingtalk",
                    "url": server.url_for("/ding"),
                    "events": ["raised"],
                },
            ],
        },
    )


def test_snapshot_goes_to_wecom_with_its_image_and_to_generic_json_after_a_retry(
    rendered: tuple[Path, SnapshotResult], httpserver: HTTPServer
) -> None:
    tmp, result = rendered
    received: list[tuple[str, bytes, dict[str, str]]] = []
    hook_calls = {"n": 0}

    def wecom(request: Request) -> Response:
        received.append(("/wecom", request.get_data(), dict(request.headers)))
        return Response(json.dumps({"errcode": 0, "errmsg": "ok"}), content_type="application/json")

    def hook(request: Request) -> Response:
        received.append(("/hook", request.get_data(), dict(request.headers)))
        hook_calls["n"] += 1
        if hook_calls["n"] == 1:
            return Response("busy", status=503)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/wecom", method="POST").respond_with_handler(wecom)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook)
    rt = _runtime(tmp, httpserver)
    try:
        records = deliver_snapshot(rt, result, now=lambda: datetime(2026, 6, 15, 0, 5, tzinfo=UTC))
        log = rt.warehouse.deliveries()
    finally:
        rt.warehouse.close()

    assert {r.target: (r.status, r.attempts) for r in records} == {
        "wecom-group": ("delivered", 2),
        "ops-json": ("delivered", 2),
    }
    wecom_bodies = [json.loads(b) for p, b, _ in received if p == "/wecom"]
    assert [m["msgtype"] for m in wecom_bodies] == ["markdown", "image"]
    assert "每日快照" in wecom_bodies[0]["markdown"]["content"]
    assert (
        "http://ops.intranet:8050/snapshots/2026-06-15/report.html" in wecom_bodies[0]["markdown"]["content"]
    )
    png = (result.directory / "summary.png").read_bytes()
    image = wecom_bodies[1]["image"]
    assert base64.b64decode(image["base64"]) == png
    assert image["md5"] == hashlib.md5(png).hexdigest()

    hook_bodies = [(b, h) for p, b, h in received if p == "/hook"]
    assert len(hook_bodies) == 2  # 503, then delivered on the retry
    body, headers = hook_bodies[-1]
    payload = json.loads(body)
    assert payload["event"] == "snapshot" and payload["warning_id"] == "snapshot-2026-06-15"
    assert payload["link"] == "http://ops.intranet:8050/snapshots/2026-06-15/report.html"
    assert payload["image_url"] == "http://ops.intranet:8050/snapshots/2026-06-15/summary.png"
    assert payload["extra"]["status"] == "ok" and payload["extra"]["day"] == "2026-06-15"
    expected = "sha256=" + __import__("hmac").new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Cityops-Signature"] == expected
    assert not any(p == "/ding" for p, _, _ in received)  # that target does not take snapshots

    rows = log.sort_values("target").to_dict("records")
    assert [(r["target"], r["event"], r["status"], r["attempts"]) for r in rows] == [
        ("ops-json", "snapshot", "delivered", 2),
        ("wecom-group", "snapshot", "delivered", 2),
    ]
    assert all(r["warning_id"] == "snapshot-2026-06-15" for r in rows)


def test_a_failing_image_message_is_a_failed_delivery_in_the_log(
    rendered: tuple[Path, SnapshotResult], httpserver: HTTPServer
) -> None:
    tmp, result = rendered
    kinds: list[str] = []

    def wecom(request: Request) -> Response:
        kind = json.loads(request.get_data())["msgtype"]
        kinds.append(kind)
        if kind == "image":  # WeCom refuses the image (e.g. too large): a final answer, not retried
            return Response(
                json.dumps({"errcode": 40009, "errmsg": "invalid image size"}),
                content_type="application/json",
            )
        return Response(json.dumps({"errcode": 0, "errmsg": "ok"}), content_type="application/json")

    httpserver.expect_request("/wecom", method="POST").respond_with_handler(wecom)
    httpserver.expect_request("/hook", method="POST").respond_with_data("{}")
    rt = _runtime(tmp, httpserver)
    try:
        records = {r.target: r for r in deliver_snapshot(rt, result)}
        log = rt.warehouse.deliveries()
    finally:
        rt.warehouse.close()
    assert kinds == ["markdown", "image"]
    assert records["wecom-group"].status == "failed" and "image message" in records["wecom-group"].error
    assert "40009" in records["wecom-group"].error
    assert records["ops-json"].status == "delivered"
    assert set(log["status"]) == {"failed", "delivered"}
