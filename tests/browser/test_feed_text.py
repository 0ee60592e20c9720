"""A department sends hostile text: incident descriptions with markup reach the wall as text, through
the real pull path (a loopback feed server), and no script of theirs runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cityops.server import Server
from ingest.pipeline import Runtime, run_feed
from tests.conftest import FeedServer

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">桥下积水'


def test_incident_description_with_markup_shows_as_text(watched_page: Any, demo_server: Server) -> None:
    rt = demo_server.services.runtime
    now = rt.clock.now()
    local = now.astimezone(ZoneInfo(rt.settings.city.timezone))
    feed = FeedServer()
    try:
        feed.json(
            "/hotline",
            {
                "items": [
                    {
                        "id": "HOT-1",
                        "type": "waterlogging",
                        "severity": 2,
                        "status": "open",
                        "at": (local - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S"),
                        "district": "441802",
                        "text": HOSTILE,
                    }
                ]
            },
        )
        hotline = {
            "department": "12345热线",
            "domain": "incident",
            "cadence": "5m",
            "fields": {
                "incident_id": "id",
                "reported_at": "at",
                "district_code": "district",
                "description": "text",
            },
            "source": {"type": "http", "url": feed.url("/hotline"), "records": "items"},
        }
        settings = rt.settings.model_validate({**rt.settings.model_dump(), "feeds": {"hotline": hotline}})
        report = run_feed(Runtime(settings, rt.warehouse, rt.clock, rt.environ), "hotline")
        assert report.status == "ok" and report.rows_inserted == 1, report
    finally:
        feed.close()

    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{demo_server.url}/wall")
    incident = page.locator(".wall-ticker .tick-incident", has_text="桥下积水")
    incident.first.wait_for(timeout=30_000)  # the next wall tick (10 s) at the latest
    assert "<script>window.__pwned = 1</script>" in incident.first.inner_text()
    assert page.locator(".wall-ticker script, .wall-ticker img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)
