"""/wall in a real browser: fits 1920×1080 and 3840×2160 with every panel visible and no scrollbars,
shows the scenario's warnings, loads nothing from outside, and heals itself after a server restart."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from cityops.server import Server, build_server

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
PANELS = ("#wall-kpis", ".wall-map", "#wall-warnings", ".wall-trend", ".wall-ticker", ".wall-header")


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_wall_fits_the_screen_with_every_panel(
    watched_page: Any, ticked_server: Server, width: int, height: int
) -> None:
    page = watched_page
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{ticked_server.url}/wall")
    page.locator("#wall-warnings .warning-item").first.wait_for(timeout=30_000)
    page.locator(".wall-map canvas.maplibregl-canvas").wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(3000)
    page.screenshot(path=str(OUTPUT / f"wall-{width}x{height}.png"))
    scroll = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert scroll == [width, height]  # no scrollbars
    for selector in PANELS:
        box = page.locator(selector).bounding_box()
        assert box is not None and box["width"] > 50 and box["height"] > 20, selector
        assert (
            box["x"] >= 0
            and box["y"] >= 0
            and box["x"] + box["width"] <= width + 1
            and box["y"] + box["height"] <= height + 1
        ), selector
    kpis = page.locator("#wall-kpis").inner_text()
    assert "超警戒站点" in kpis and "数据截至" in kpis
    warnings = page.locator("#wall-warnings").inner_text()
    assert "源潭" in warnings and "橙色" in warnings
    # Known, intermittent under headless software WebGL: MapLibre reports a bare "Map error." (Plotly's
    # log line, with no detail) when a wall redraw lands while the previous draw is still loading;
    # the map renders correctly (checked above and in the screenshot). Anything else fails the test.
    errors = [e for e in page.console_errors if e != "Map error."]
    assert page.external == [] and errors == [], (page.external, page.console_errors)


def test_wall_shows_reconnecting_and_recovers_by_itself(
    browser: Any, demo_server: Server, tmp_path: Path
) -> None:
    """Stop the server under a wall, start it again on the same port: the wall comes back alone."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rt = demo_server.services.runtime
    first = build_server(rt, with_scheduler=False, host="127.0.0.1", port=port)
    first.start_background()
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"http://127.0.0.1:{port}/wall")
    page.locator("#wall-kpis .kpi").first.wait_for(timeout=30_000)
    first.close_http()  # the server goes away (the warehouse stays open: it is shared with the test's server)
    page.locator("#wall-reconnecting.show").wait_for(timeout=20_000)
    second = build_server(rt, with_scheduler=False, host="127.0.0.1", port=port)
    second.start_background()
    try:
        page.locator("#wall-reconnecting.show").wait_for(state="detached", timeout=30_000)
        page.locator("#wall-kpis .kpi").first.wait_for(timeout=30_000)
        assert not page.locator("#wall-reconnecting").evaluate("e => e.classList.contains('show')")
    finally:
        second.close_http()
        page.close()
