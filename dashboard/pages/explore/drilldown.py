"""The explorer's map: the /map page's figure, with clickable stations and the selection ringed."""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import request

from dashboard.explore.catalog import Catalog, district_bounds, load_catalog, resolve_state
from dashboard.explore.view import ExploreState, decode_state
from dashboard.i18n import t_or


def render_map(key: str | None) -> Any:
    """The city map (the /map page's figure) with clickable stations and the selection highlighted."""
    from dashboard.figures.citymap import build_city_map
    from dashboard.mapdata import load_map_layers
    from dashboard.offline import map_style
    from dashboard.services import services

    svc = services()
    settings = svc.settings
    catalog = load_catalog(svc)
    state = resolve_state(decode_state(key), catalog)
    style = map_style(settings, request.host_url.rstrip("/") + "/map/glyphs/{fontstack}/{range}.pbf")
    layers = load_map_layers(svc)
    # The whole city at the configured view, or the chosen district fitted to the panel. The user's own
    # pan and zoom survive other choices (uirevision changes only with the district).
    center, zoom = settings.city.center or (113.0, 24.2), settings.map.zoom
    bounds = district_bounds(catalog, state.district)
    if bounds is not None:
        center, zoom = fit_view(bounds)
    fig = build_city_map(
        layers,
        style=style,
        center=center,
        zoom=zoom,
        datum=settings.map.tile_datum,
        lang=state.lang,
        label_font=settings.map.glyph_stack,
        uirevision=f"explore-{state.district or 'city'}",
    )
    return decorate_map(fig, layers, catalog, state, datum=settings.map.tile_datum)


#: The map panel's size assumed when fitting a district into it (at most; the panel is usually larger).
FIT_PX = (600, 290)


def fit_view(
    bounds: tuple[float, float, float, float], size: tuple[int, int] = FIT_PX
) -> tuple[tuple[float, float], float]:
    """The centre (lon, lat) and zoom that show ``(west, south, east, north)`` whole in ``size`` pixels
    (Web Mercator with 512-pixel tiles, as MapLibre draws it)."""
    import math

    west, south, east, north = bounds

    def merc(lat: float) -> float:
        lat = max(-85.0, min(85.0, lat))
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dx = max((east - west) / 360.0, 1e-6)
    dy = max((merc(north) - merc(south)) / (2 * math.pi), 1e-6)
    zoom = min(math.log2(size[0] / 512 / dx), math.log2(size[1] / 512 / dy), 14.0)
    mid = math.degrees(math.atan(math.sinh((merc(north) + merc(south)) / 2)))
    return ((west + east) / 2, mid), round(zoom, 2)


def decorate_map(
    fig: Any, layers: Any, catalog: Catalog, state: ExploreState, *, datum: str = "wgs84"
) -> Any:
    """Station markers carry ``entity:<id>`` for drill-down; the chosen domain's stations are drawn when the
    city map has no layer of them (road segments, configured departments); the chosen station is ringed."""
    import plotly.graph_objects as go

    from dashboard.figures.citymap import TEXT, esc, to_datum

    names = TEXT.get(state.lang, TEXT["zh"])
    for layer, frame in (("air", layers.air), ("water", layers.water), ("rain", layers.rain)):
        if len(frame):
            fig.update_traces(
                customdata=[f"entity:{e}" for e in frame["entity_id"]], selector={"name": names[layer]}
            )
    for label, frame in layers.custom.items():  # configured departments' own map layers
        pts = frame.dropna(subset=["lon", "lat"])
        if len(pts):
            fig.update_traces(
                customdata=[f"entity:{e}" for e in pts["entity_id"]], selector={"name": esc(label)}
            )
    on_map = set(layers.custom)
    if (
        state.domain not in ("air", "water", "rain", "incident")
        and catalog.domains[state.domain].label not in on_map
    ):
        ents = catalog.domain_entities(state.domain).dropna(subset=["lon", "lat"])
        if state.district:
            ents = ents[ents["district_code"] == state.district]
        if len(ents):
            lon, lat = to_datum(ents["lon"], ents["lat"], datum)
            fig.add_trace(
                go.Scattermap(
                    lon=lon,
                    lat=lat,
                    mode="markers",
                    marker={"size": 9, "color": "#c77dff"},
                    name=esc(t_or(f"domain.{state.domain}", state.lang, catalog.domains[state.domain].label)),
                    text=[esc(n) for n in ents["name"].fillna(ents["entity_id"])],
                    hoverinfo="text",
                    customdata=[f"entity:{e}" for e in ents["entity_id"]],
                )
            )
    chosen = catalog.entity(state.entity)
    if chosen is not None and pd.notna(chosen.get("lon")) and pd.notna(chosen.get("lat")):
        lon, lat = to_datum([chosen["lon"]], [chosen["lat"]], datum)
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                marker={"size": 26, "color": "#ffffff", "opacity": 0.5},
                name=esc(chosen.get("name") or chosen["entity_id"]),
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.data = (fig.data[-1], *fig.data[:-1])  # the ring goes under the markers, which stay clickable
    fig.update_layout(legend={"font": {"size": 12}})
    return fig
