"""/feeds in a real browser: data shows, nothing leaves the host, the language switch works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cityops.server import Server
from tests.helpers import sign_in

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


def test_only_an_admin_replays_a_run_and_the_server_checks(watched_page: Any, demo_server: Server) -> None:
    from flask import Flask, g

    from cityops.base.auth import Principal
    from dashboard.pages.feeds import replay

    page = watched_page
    wh = demo_server.services.warehouse
    page.goto(f"{demo_server.url}/feeds")
    page.locator("#feeds-health-table").wait_for(timeout=15_000)
    assert page.locator("button.replay").count() == 0  # the anonymous viewer has no replay buttons

    run_id = wh.runs(feed="water", limit=1)["run_id"].iloc[0]
    before = len(wh.runs(limit=1000))
    # the callback refuses an operator even when called directly (a forged request)
    with Flask("forged").test_request_context("/_dash-update-component", method="POST"):
        g.principal = Principal("duty", "operator")
        denied = replay(run_id, "zh")
    assert "需要管理员权限" in denied.children and len(wh.runs(limit=1000)) == before

    sign_in(page, demo_server.url, "admin", "admin-demo", "/feeds")
    assert "管理员（演示）" in page.locator("#nav-user").inner_text()
    button = page.locator(f"#feeds-runs tr:has-text('{run_id}') button.replay")
    button.wait_for(timeout=15_000)
    button.click()
    message = page.locator("#feeds-message")
    message.locator("text=已重放").wait_for(timeout=30_000)
    replays = wh.runs(feed="water", limit=5)
    replayed = replays[replays["replay_of"] == run_id]
    assert len(replayed) == 1 and replayed["status"].iloc[0] == "ok"
    assert replayed["run_id"].iloc[0] in message.inner_text()
    page.screenshot(path=str(OUTPUT / "feeds-replay.png"))
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def test_feeds_work_on_a_phone_and_sign_in_returns_here(watched_page: Any, demo_server: Server) -> None:
    page = watched_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{demo_server.url}/feeds?lang=en")
    page.locator("#feeds-health-table tbody tr").first.wait_for(timeout=15_000)
    page.click("#nav-sign-in")  # signing in from here comes back here, in the same language
    page.fill("#login-name", "admin")
    page.fill("#login-password", "admin-demo")
    page.click("#login-submit")
    page.wait_for_url(f"{demo_server.url}/feeds?lang=en")
    assert (
        "admin" in page.locator("#nav-user").inner_text().lower()
        or "管理员" in page.locator("#nav-user").inner_text()
    )
    button = page.locator("#feeds-runs button.replay").first
    button.wait_for(timeout=15_000)
    page.wait_for_timeout(1000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways page scroll
    # the wide tables scroll inside their own box, and the replay buttons can be reached there
    boxes = page.evaluate(
        "Array.from(document.querySelectorAll('.feeds-page .table-scroll'))"
        ".map(e => [e.clientWidth, e.scrollWidth])"
    )
    assert boxes and all(client <= 390 for client, _ in boxes), boxes
    assert any(wide > client for client, wide in boxes), boxes
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.screenshot(path=str(OUTPUT / "feeds-phone.png"), full_page=True)
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)
