"""Moving between pages: every page's navigation reaches the others; an unknown address says so in
the user's language, with the navigation to get back."""

from __future__ import annotations

from typing import Any

from cityops.server import Server


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
