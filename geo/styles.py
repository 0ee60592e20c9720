"""MapLibre styles with no external URL: a plain background, optional intranet raster tiles, and
glyphs served by this application.

Plotly's map traces (``scattermap``, ``choroplethmap``) take the style as an inline dict. Its only
URLs are the ones given here: the glyph endpoint of our own server (Latin letters and digits of text
labels; CJK ideographs are drawn by MapLibre with the browser's local fonts and never requested) and,
when configured, a tile server on the intranet.

>>> style = offline_style("/map/glyphs/{fontstack}/{range}.pbf")
>>> sorted(style), style["layers"][0]["type"]
(['glyphs', 'layers', 'name', 'sources', 'version'], 'background')
>>> external_urls(style)
[]
>>> bool(style["sources"])  # never empty: see ANCHOR_SOURCE
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

BACKGROUND = "#0b1420"

#: A source with no features, always in the style. MapLibre requires ``sources``; Plotly.react drops an
#: empty object from the layout it keeps, so a style with ``"sources": {}`` reaches MapLibre's
#: ``setStyle`` without them on the next update of the figure, which MapLibre rejects ("missing required
#: property sources") and Plotly reports as a bare "Map error.".
ANCHOR_SOURCE = "cityops-anchor"

_URL = re.compile(r"""(?:https?:)?//[^\s"'()<>]+""")


def offline_style(
    glyphs_url: str, *, background: str = BACKGROUND, tile_url: str | None = None, tile_opacity: float = 0.85
) -> dict[str, Any]:
    """An inline MapLibre style: background (+ intranet raster tiles), glyphs from ``glyphs_url``."""
    style: dict[str, Any] = {
        "version": 8,
        "name": "cityops-offline",
        "glyphs": glyphs_url,
        "sources": {
            ANCHOR_SOURCE: {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}
        },
        "layers": [{"id": "background", "type": "background", "paint": {"background-color": background}}],
    }
    if tile_url:
        style["sources"]["intranet-tiles"] = {"type": "raster", "tiles": [tile_url], "tileSize": 256}
        style["layers"].append(
            {
                "id": "intranet-tiles",
                "type": "raster",
                "source": "intranet-tiles",
                "paint": {"raster-opacity": tile_opacity},
            }
        )
    return style


def _walk(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield from (m.group(0) for m in _URL.finditer(value))
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v)


def external_urls(obj: Any, *, allowed_hosts: Iterable[str] = ()) -> list[str]:
    """Absolute URLs inside ``obj`` (a style, a figure dict, any JSON-like value) whose host is not
    loopback or one of ``allowed_hosts``. Relative URLs (our own server) are fine."""
    allowed = {h.lower() for h in allowed_hosts} | {"127.0.0.1", "localhost", "::1", "[::1]"}
    out = []
    for url in _walk(obj):
        host = (urlsplit(url if not url.startswith("//") else "http:" + url).hostname or "").lower()
        if host and host not in allowed:
            out.append(url)
    return sorted(set(out))
