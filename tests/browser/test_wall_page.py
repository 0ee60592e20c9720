"""/wall in a real browser: fits 1920×1080 and 3840×2160 with every panel visible and no scrollbars,
type no smaller than the wall's minimum (Plotly's too), shows the scenario's warnings — every one of
them reachable through groups and pages, none cut — raises a banner for an unacknowledged red or orange
warning until an operator acknowledges it, colours a department's tile by its warnings, says in words
(not in a level's colour) how late a feed is, waits on a dark branded screen before the first snapshot,
loads nothing from outside, and heals itself after a server restart."""

from __future__ import annotations

import dataclasses
import re
import shutil
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cityops.alerting.records import state_from_row
from cityops.server import Server, build_server
from dashboard.pages.wall import MIN_TEXT_PX, PAGE_SECONDS
from metrics.levels import Level
from tests.helpers import wait_until

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
PANELS = ("#wall-kpis", ".wall-map", "#wall-warnings", ".wall-trend", ".wall-ticker", ".wall-header")

# Every visible piece of text on the wall, HTML and Plotly's SVG alike, smaller than ``min``.
SMALL_TEXT = """(min) => {
  const small = [];
  const walker = document.createTreeWalker(document.querySelector('.wall'), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el) { continue; }
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) { continue; }
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < min) { small.push([el.tagName, node.textContent.trim().slice(0, 24), size]); }
  }
  return small;
}"""
# Plotly's SVG text on the wall (legends, axes, colour scales): that it is there to be measured at all.
SVG_TEXT = """() => Array.from(document.querySelectorAll('.wall .main-svg text'))
  .filter(e => e.textContent.trim() && e.getBoundingClientRect().width > 0)
  .map(e => parseFloat(getComputedStyle(e).fontSize))"""
# Cards (and their lines) outside the list that holds them: a cut card.
CUT_CARDS = """() => {
  const list = document.querySelector('#wall-warnings .warning-list');
  if (!list) { return ['no list']; }
  const panel = document.querySelector('#wall-warnings').getBoundingClientRect();
  const l = list.getBoundingClientRect();
  const cut = [];
  if (l.bottom > panel.bottom + 1 || l.right > panel.right + 1) { cut.push('list'); }
  for (const card of list.querySelectorAll('.warning-item')) {
    const c = card.getBoundingClientRect();
    if (c.top < l.top - 1 || c.bottom > l.bottom + 1 || c.left < l.left - 1 || c.right > l.right + 1) {
      cut.push('card ' + card.innerText.slice(0, 20));
    }
    for (const line of card.children) {
      const b = line.getBoundingClientRect();
      if (b.top < c.top - 1 || b.bottom > c.bottom + 1 || b.right > c.right + 1) {
        cut.push(line.className + ' of ' + card.innerText.slice(0, 20));
      }
    }
  }
  return cut;
}"""
# The page on show and the warnings behind its cards.
PAGE = """() => {
  const pager = document.querySelector('#wall-pager');
  const cards = Array.from(document.querySelectorAll('#wall-warnings .warning-item'));
  return pager && cards.length ? [pager.textContent, cards.map(c => Number(c.dataset.count)),
    document.querySelector('#wall-total').textContent] : null;
}"""


def screenshot_with_the_map_drawn(page: Any, shot: Path, timeout_s: float = 60) -> bool:
    """A screenshot of the wall once its map panel shows a drawn map (software WebGL at 4K takes a
    while, and a scene change redraws it): the README's pictures show the map, not an empty panel."""
    from PIL import Image

    box = page.locator(".wall-map").bounding_box()
    deadline = time.monotonic() + timeout_s
    while True:
        page.screenshot(path=str(shot))
        with Image.open(shot) as image:
            panel = image.crop(
                (
                    int(box["x"]),
                    int(box["y"]),
                    int(box["x"] + box["width"]),
                    int(box["y"] + box["height"] * 0.6),
                )
            )
            colours = panel.convert("RGB").resize((200, 120)).getcolors(maxcolors=100_000) or []
        if len(colours) > 1500:  # a drawn map (an empty panel has a handful of colours)
            return True
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(1000)


def readme_picture(shot: Path, target: Path) -> None:
    """The README's picture of the wall: the screenshot, downscaled to 1920 wide when large."""
    from PIL import Image

    target.parent.mkdir(exist_ok=True)
    if shot.stat().st_size <= 2_000_000:
        shutil.copyfile(shot, target)
        return
    with Image.open(shot) as image:
        height = round(image.height * 1920 / image.width)
        image.resize((1920, height), Image.Resampling.LANCZOS).save(target, optimize=True)


def shown_warnings(server: Server) -> int:
    """The warnings the wall must show: every open warning but those still pending confirmation."""
    open_ = server.services.warehouse.warnings(open_only=True, limit=10_000)
    return int((open_["state"] != "pending").sum())


def open_wall(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/wall")
    page.locator("#wall-warnings .warning-item").first.wait_for(timeout=30_000)


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
    shot = OUTPUT / f"wall-{width}x{height}.png"
    assert screenshot_with_the_map_drawn(page, shot), "the map panel stays empty"
    # the README's pictures are made here and copied into docs/ by hand (a test run changes no tracked file)
    readme_picture(shot, OUTPUT / ("readme-wall-1080p.png" if width == 1920 else "readme-wall-4k.png"))
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
    # readable at 3-5 m: no text below the minimum, Plotly's SVG text included, at either resolution
    smallest = MIN_TEXT_PX * width / 1920 - 0.5
    assert page.evaluate(SMALL_TEXT, smallest) == []
    svg_sizes = page.evaluate(SVG_TEXT)
    assert len(svg_sizes) >= 8 and min(svg_sizes) >= smallest, svg_sizes  # legends and axes measured
    assert page.evaluate(CUT_CARDS) == []
    banner, hint = page.locator("#wall-banner").bounding_box(), page.locator(".banner-hint").bounding_box()
    assert banner and hint and hint["x"] + hint["width"] <= banner["x"] + banner["width"] + 1  # not cut
    kpis = page.locator("#wall-kpis").inner_text()
    assert "超警戒站点" in kpis and "数据截至" in kpis
    wall = page.locator(".wall").inner_text()  # the page on show may hold other warnings: the ticker has all
    assert "源潭" in wall and "橙色" in wall and "未签收" in page.locator("#wall-banner").inner_text()
    assert "Loading" not in page.locator("body").inner_text()
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


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


def test_every_active_warning_is_reachable_in_groups_and_pages(
    watched_page: Any, ticked_server: Server
) -> None:
    """The storm's warnings outnumber the cards a page holds: the pages turn by themselves, say "n / m",
    and the warnings behind their cards add up to every warning in force, with no card cut."""
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, ticked_server)
    expected = shown_warnings(ticked_server)
    assert expected > 20  # the storm: more warnings than any page could hold one per card
    behind: dict[int, int] = {}
    pages = 0
    deadline = time.monotonic() + 60 + 3 * PAGE_SECONDS * 4  # a full turn of a few pages, generously
    while not pages or len(behind) < pages:
        assert time.monotonic() < deadline, f"the pages do not turn: saw {sorted(behind)} of {pages}"
        pager, counts, total = wait_until(page, PAGE)
        found = re.fullmatch(r"(\d+) / (\d+)", pager)
        assert found, pager
        number, pages = int(found[1]), int(found[2])
        assert int(total) == expected
        assert page.evaluate(CUT_CARDS) == [], pager
        behind[number] = sum(counts)
        page.wait_for_timeout(1000)
    assert pages >= 2 and sum(behind.values()) == expected, (behind, expected)
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def test_an_unacknowledged_red_warning_raises_the_banner_until_acknowledged(
    watched_page: Any, ticked_server: Server
) -> None:
    """A red rain warning: the banner (red) holds and the rain tile turns red; acknowledged on the
    console's path (the engine's action, as an operator), the banner goes at the next tick."""
    wh = ticked_server.services.warehouse
    rows = wh.warnings(open_only=True, limit=10_000)
    rain = rows[(rows["domain"] == "rain") & (rows["state"] == "active")].iloc[0].to_dict()
    red = dataclasses.replace(
        state_from_row(rain),
        warning_id="wall-test-red",
        dedup_key="wall-test-red",
        level=Level.RED,
        peak_level=Level.RED,
        summary="英德测试站 3小时雨量 104 mm（红色阈值 100 mm）",
    )
    wh.save_warnings([red], [])
    try:
        raise_and_acknowledge(watched_page, ticked_server)
    finally:  # the test's warning ends
        done = state_from_row(wh.warning("wall-test-red") or {})
        wh.save_warnings([dataclasses.replace(done, state="resolved", resolved_at=done.updated_at)], [])


def raise_and_acknowledge(page: Any, ticked_server: Server) -> None:
    wh = ticked_server.services.warehouse
    engine = ticked_server.services.engine()
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(page, ticked_server)
    page.locator("#wall-banner.show.lv-red").wait_for(timeout=30_000)
    banner = page.locator("#wall-banner").inner_text()
    assert "红色预警未签收" in banner and "104 mm" in banner
    assert "alarm-lv-red" in (page.locator("#wall-root").get_attribute("class") or "")
    tile = page.locator("#wall-tile-rain")
    assert "lv-red" in (tile.get_attribute("class") or "").split()
    assert "lv-red" in (tile.locator(".kpi-value").get_attribute("class") or "").split()
    page.screenshot(path=str(OUTPUT / "wall-banner-red.png"))
    # an operator acknowledges the red and orange warnings on the console: the banner goes
    for r in wh.warnings(open_only=True, limit=10_000).to_dict("records"):
        if r["level"] <= 2 and r["state"] == "active":
            engine.acknowledge(r["warning_id"], "值班员 (duty)")
    page.locator("#wall-banner.show").wait_for(state="detached", timeout=30_000)
    assert page.locator("#wall-banner").inner_text().strip() == ""
    assert "alarm" not in (page.locator("#wall-root").get_attribute("class") or "")
    # acknowledged is still in force: the tile keeps its red
    assert "lv-red" in (page.locator("#wall-tile-rain").get_attribute("class") or "").split()
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def test_a_late_feed_says_so_in_words_and_in_no_warning_colour(
    watched_page: Any, ticked_server: Server
) -> None:
    """Three hours with no new data: each tile says "数据延迟 …" in the freshness style, not amber."""
    clock = ticked_server.services.runtime.clock
    then = clock.now()
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    try:
        clock.set(then + timedelta(hours=3))
        open_wall(page, ticked_server)
        age = page.locator("#wall-tile-water .age.freshness")
        age.wait_for(timeout=30_000)
        assert re.fullmatch(r"数据延迟 (\d+ 小时 )?\d+ 分钟", age.inner_text().strip()), age.inner_text()
        tile_classes = (page.locator("#wall-tile-water").get_attribute("class") or "").split()
        age_classes = (age.get_attribute("class") or "").split()
        assert any(c in ("fresh-late", "fresh-stale") for c in tile_classes), tile_classes
        assert not any(c.startswith(("lv-", "age-late", "age-stale")) for c in age_classes), age_classes
        # its colours are none of the levels' (red, orange, yellow, blue): greys only
        colours = age.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
        for colour in colours:
            rgb = [int(v) for v in re.findall(r"\d+", colour)[:3]]
            assert max(rgb) - min(rgb) <= 40, colours  # a grey (or white): no hue
        page.screenshot(path=str(OUTPUT / "wall-late-feeds.png"))
    finally:
        clock.set(then)
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)


def test_a_new_screen_waits_on_a_dark_branded_screen_for_its_first_snapshot(
    watched_page: Any, ticked_server: Server
) -> None:
    """Held back: first the page's layout, then the wall's first refresh. Meanwhile the screen is dark
    and branded — never "Loading..." and never Plotly's empty axes — and then the wall appears."""
    page = watched_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    held: list[Any] = []

    def hold_layout(route: Any) -> None:
        held.append(route)

    def hold_refresh(route: Any) -> None:
        if "wall-clock.children" in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    # (Dash adds a suffix to its callback address: match on the path's start)
    page.route(re.compile(r"/_dash-layout"), hold_layout)
    page.route(re.compile(r"/_dash-update-component"), hold_refresh)
    page.goto(f"{ticked_server.url}/wall")
    wait_until(page, "() => document.getElementById('wall-boot') !== null")
    page.wait_for_timeout(500)
    assert held, "the layout was not requested"
    assert "Loading" not in page.locator("body").inner_text()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(7, 14, 24)"
    assert page.locator("#wall-boot .wall-waiting-mark").is_visible()
    page.screenshot(path=str(OUTPUT / "wall-waiting-boot.png"))
    for route in held:
        route.continue_()
    held.clear()
    page.unroute(re.compile(r"/_dash-layout"))
    # the layout is there; its first refresh is held: the branded waiting screen covers everything
    waiting = page.locator("#wall-waiting")
    waiting.wait_for(state="visible", timeout=30_000)
    wait_until(page, "() => document.getElementById('wall-boot') === null")
    assert "清远" in waiting.inner_text() and "正在接收" in waiting.inner_text()
    assert page.evaluate("document.elementFromPoint(960, 540).closest('#wall-waiting') !== null")
    assert page.evaluate("document.elementFromPoint(1700, 900).closest('#wall-waiting') !== null")
    assert "Loading" not in page.locator("body").inner_text()
    page.screenshot(path=str(OUTPUT / "wall-waiting.png"))
    wait_until(page, "() => document.querySelectorAll('.wall .main-svg').length > 0", timeout=30_000)
    assert page.evaluate(SVG_TEXT) == []  # no default axes (their numbers) drawn behind it either
    assert held, "the wall's first refresh was not requested"
    for route in held:
        route.continue_()
    page.unroute(re.compile(r"/_dash-update-component"))
    page.locator("#wall-waiting.done").wait_for(state="attached", timeout=30_000)
    page.locator("#wall-kpis .kpi").first.wait_for(timeout=30_000)
    assert not waiting.is_visible()
    assert page.external == [] and page.console_errors == [], (page.external, page.console_errors)
