"""Moving between pages: every page's navigation reaches the others; an unknown address says so in
the user's language, with the navigation to get back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cityops.server import Server
from tests.helpers import sign_in

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def test_unknown_address_is_a_translated_page_with_the_way_back(
    watched_page: Any, demo_server: Server
) -> None:
    page = watched_page
    page.goto(f"{demo_server.url}/no/such/page")
    page.locator("h1", has_text="没有这个页面").wait_for(timeout=15_000)
    links = page.locator(".nav-bar a.nav-link")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "/map?lang=zh",
        "/explore?lang=zh",
        "/warnings?lang=zh",
        "/feeds?lang=zh",
        "/snapshots?lang=zh",
        "/wall?lang=zh",
    ]
    page.goto(f"{demo_server.url}/no/such/page?lang=en")
    page.locator("h1", has_text="No such page").wait_for(timeout=15_000)
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def test_an_administrator_reaches_the_delivery_log_from_the_navigation(
    watched_page: Any, demo_server: Server
) -> None:
    page = watched_page
    sign_in(page, demo_server.url, "admin", "admin-demo", "/feeds")
    page.locator(".nav-bar a.nav-link[href='/notifications?lang=zh']").click()
    page.wait_for_url(f"{demo_server.url}/notifications*")
    page.locator("h1", has_text="通知发送记录").wait_for(timeout=15_000)
    page.locator("#notifications-counts").wait_for(timeout=15_000)  # the log's callback answered
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "notifications-zh.png"))
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def test_signing_out_with_the_navigation_button_ends_the_session(
    watched_page: Any, demo_server: Server
) -> None:
    page = watched_page
    sign_in(page, demo_server.url, "duty", "duty-demo", "/warnings")
    page.locator("#nav-sign-out").wait_for(timeout=15_000)
    saved = [c for c in page.context.cookies() if c["name"] == "cityops_session"]
    assert len(saved) == 1 and saved[0]["httpOnly"] and saved[0]["sameSite"] == "Lax"
    page.locator("#nav-sign-out").click()
    page.wait_for_url(f"{demo_server.url}/login*")
    assert [c for c in page.context.cookies() if c["name"] == "cityops_session"] == []
    page.context.add_cookies(saved)  # a copy kept from before sign-out opens nothing
    page.goto(f"{demo_server.url}/warnings")
    page.locator("#nav-sign-in").wait_for(timeout=15_000)  # the demo lets anyone read: a guest again
    assert page.locator("#nav-sign-out").count() == 0
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def test_an_administrator_reads_the_audit_log_with_their_own_sign_in(
    watched_page: Any, demo_server: Server
) -> None:
    page = watched_page
    sign_in(page, demo_server.url, "admin", "admin-demo", "/feeds")
    page.locator(".nav-bar a.nav-link[href='/audit?lang=zh']").click()
    page.wait_for_url(f"{demo_server.url}/audit*")
    row = page.locator("#audit-table tr", has_text="admin").filter(has_text="登录").first
    row.wait_for(timeout=15_000)
    assert "成功" in row.inner_text() and "127.0.0.1" in row.inner_text()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "audit-zh.png"))
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)
