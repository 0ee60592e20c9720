"""/feeds in a real browser: data shows, nothing leaves the host, the language switch works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cityops.server import Server

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def test_feed_health_page_renders_offline(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{demo_server.url}/feeds")
    rows = page.locator("#feeds-health-table tbody tr")
    rows.first.wait_for(timeout=15_000)
    assert rows.count() == 5
    text = page.locator("#feeds-health-table").inner_text()
    for feed in ("traffic", "air", "water", "rain", "incidents"):
        assert feed in text
    assert page.locator("#feeds-health-table .badge.fresh").count() == 5
    assert "市交通运输局" in text
    # the clock shows the (simulated) city time
    assert "2026" in page.locator("#feeds-clock").inner_text()
    page.screenshot(path=str(OUTPUT / "feeds-zh.png"))
    assert page.external == [], page.external
    assert page.console_errors == [], page.console_errors


def test_language_switch(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.goto(f"{demo_server.url}/feeds")
    page.locator("a.lang-switch").click()
    page.locator("#feeds-health-table").wait_for(timeout=15_000)
    assert page.locator("h1").inner_text() == "Feed health"
    assert "Fresh" in page.locator("#feeds-health-table").inner_text()
    page.screenshot(path=str(OUTPUT / "feeds-en.png"))
    assert page.external == [] and page.console_errors == []
