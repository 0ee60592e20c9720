"""/map in a real browser: the city map renders with its layers and labels, and nothing leaves the host."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from cityops.server import Server
from tests.helpers import wait_until

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def _near(rgb: tuple[int, int, int], target: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(rgb, target, strict=True))


def test_city_map_renders_offline_with_outlines_markers_and_labels(
    watched_page: Any, demo_server: Server
) -> None:
    page = watched_page
    glyphs: list[tuple[str, int]] = []
    page.on("response", lambda r: glyphs.append((r.url, r.status)) if "/map/glyphs/" in r.url else None)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{demo_server.url}/map")
    try:
        page.locator(".city-map canvas.maplibregl-canvas").wait_for(state="attached", timeout=30_000)
    finally:
        page.screenshot(path=str(OUTPUT / "map-zh-loading.png"))
    page.wait_for_timeout(4000)  # tiles are local geometry; give MapLibre time to place labels
    png = page.screenshot(path=str(OUTPUT / "map-zh.png"))

    assert page.external == [], page.external
    assert page.console_errors == [], page.console_errors
    # Latin/digit glyphs come from this server (CJK is drawn by the browser's own fonts).
    assert glyphs and all(status == 200 and url.startswith(demo_server.url) for url, status in glyphs)
    # "数据截至" is the newest observation's time in the city, not the clock's
    from dashboard.freshness import newest_observation

    newest = demo_server.services.local(newest_observation(demo_server.services))
    status = page.locator("#map-status").text_content() or ""
    assert status.startswith(f"数据截至 {newest:%Y-%m-%d %H:%M}（"), (status, newest)
    legend = page.locator(".city-map g.legend").text_content() or ""
    for layer in ("城市运行指数", "主要河流", "空气质量站", "水文站", "雨量站"):
        assert layer in legend, legend

    img = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = list(img.crop((300, 100, 1900, 1060)).get_flattened_data())
    outline = sum(_near(p, (0x9F, 0xB3, 0xC8), 30) for p in pixels)  # district outlines
    labels = sum(p[0] > 220 and p[1] > 220 and p[2] > 220 for p in pixels)  # white label text
    orange = sum(_near(p, (0xFF, 0x9A, 0x2E), 45) for p in pixels)  # a station past its guaranteed level
    assert outline > 500, outline
    assert labels > 300, labels
    assert orange > 20, orange


FIGURE = """() => {
  const gd = document.querySelector('.city-map .js-plotly-plot');
  const by = (m) => gd.data.find((t) => t.meta === m) || null;
  const ch = gd.data.find((t) => t.type === 'choroplethmap');
  return {
    districts: by('labels:districts') && by('labels:districts').text,
    last: gd.data[gd.data.length - 1].meta,
    stations: by('labels:stations') &&
      {text: by('labels:stations').text, opacity: by('labels:stations').opacity},
    rivers: by('labels:rivers') && by('labels:rivers').text,
    ticks: ch.colorbar && ch.showscale ? ch.colorbar.tickvals : null,
    margin: gd._fullLayout.margin,
  };
}"""


def test_city_map_labels_legend_and_scale_and_it_refreshes_without_errors(
    watched_page: Any, demo_server: Server
) -> None:
    page = watched_page
    updates: list[int] = []
    page.on("response", lambda r: updates.append(r.status) if "_dash-update-component" in r.url else None)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{demo_server.url}/map")
    page.locator(".city-map canvas.maplibregl-canvas").wait_for(state="attached", timeout=30_000)
    wait_until(page, "() => !!document.querySelector('.city-map .js-plotly-plot').data", timeout=30_000)
    first = len(updates)
    # the page refreshes its figure every 15 s: the second figure must land without a map error
    page.wait_for_timeout(17_000)
    assert len(updates) > first, updates
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUTPUT / "map-zh-refreshed.png"))
    assert page.console_errors == [], page.console_errors

    fig = page.evaluate(FIGURE)
    names = {"".join(x.split("<br>")[:-1]) for x in fig["districts"]}  # the index is the last line
    assert {"清城区", "连山壮族瑶族自治县", "英德市", "佛冈县"} <= names and len(names) == 8, names
    assert fig["last"] == "labels:districts"  # on top, so no other text pushes a district's name out
    assert fig["stations"] and fig["stations"]["opacity"] == 1, fig["stations"]  # 源潭 is past its level
    assert any("源潭" in x for x in fig["stations"]["text"]), fig["stations"]
    assert {"北江", "连江"} <= set(fig["rivers"]), fig["rivers"]
    assert fig["ticks"] == [0, 20, 40, 60, 80, 100], fig["ticks"]
    assert all(fig["margin"][k] >= 8 for k in "lrtb"), fig["margin"]

    canvas = page.locator(".city-map canvas.maplibregl-canvas").bounding_box()
    graph = page.locator(".city-map").bounding_box()
    legend = page.locator(".city-map g.legend").bounding_box()
    assert canvas and graph and legend
    # the map keeps clear of its panel's edges, and the legend is under it, not over the districts
    assert canvas["x"] > graph["x"] + 4 and canvas["x"] + canvas["width"] < graph["x"] + graph["width"] - 4
    assert canvas["y"] > graph["y"] + 4
    assert legend["y"] >= canvas["y"] + canvas["height"] - 1, (legend, canvas)
