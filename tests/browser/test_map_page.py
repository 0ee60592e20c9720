"""/map in a real browser: the city map renders with its layers and labels, and nothing leaves the host."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from cityops.server import Server

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
