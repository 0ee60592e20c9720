"""/map — the cross-department city map (the wall and the explorer build on the same figure)."""

from __future__ import annotations

from typing import Any, cast

import dash
from dash import Input, Output, State, dcc, html
from flask import request

from dashboard.auth import current_principal
from dashboard.components import build_header, build_nav
from dashboard.i18n import t
from dashboard.plotly_locale import graph_config

PREFIX = "map"
ID_GRAPH = f"{PREFIX}-graph"
ID_INTERVAL = f"{PREFIX}-interval"
ID_LANG = f"{PREFIX}-lang"
ID_STATUS = f"{PREFIX}-status"
ID_VIEW = f"{PREFIX}-view"


def layout(lang: str = "zh", **_: Any) -> html.Div:
    lang = lang if lang in ("zh", "en") else "zh"
    other = "en" if lang == "zh" else "zh"
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            dcc.Store(id=ID_VIEW, data=None),
            dcc.Interval(id=ID_INTERVAL, interval=15_000),
            build_nav("/map", lang, current_principal()),
            build_header(t("map.title", lang), lang, f"/map?lang={other}", clock_id=ID_STATUS),
            dcc.Graph(
                id=ID_GRAPH,
                className="city-map",
                config=cast(dcc.Graph.Config, graph_config(lang, displaylogo=False, scrollZoom=True)),
                style={"height": "calc(100vh - 130px)"},
            ),
        ],
        className="page map-page",
    )


def remember_zoom(relayout: dict[str, Any] | None, view: float | None) -> Any:
    """The user's zoom, so that points are aggregated for what is on screen."""
    zoom = (relayout or {}).get("map.zoom")
    if zoom is None or (view is not None and abs(float(zoom) - float(view)) < 0.5):
        return dash.no_update
    return float(zoom)


def refresh(_n: int | None, view_zoom: float | None, lang: str | None) -> tuple[Any, str]:
    from dashboard.figures.citymap import build_city_map
    from dashboard.mapdata import load_map_layers
    from dashboard.offline import map_style
    from dashboard.services import services

    svc = services()
    lang = lang or "zh"
    settings = svc.settings
    # MapLibre wants an absolute glyph URL: the host as this browser reached us.
    style = map_style(settings, request.host_url.rstrip("/") + "/map/glyphs/{fontstack}/{range}.pbf")
    center = settings.city.center or (113.0, 24.2)
    fig = build_city_map(
        load_map_layers(svc),
        style=style,
        center=center,
        zoom=settings.map.zoom,
        datum=settings.map.tile_datum,
        lang=lang,
        label_font=settings.map.glyph_stack,
        view_zoom=view_zoom,
    )
    from dashboard.freshness import freshness_text, newest_observation

    # the data's time and age, not the clock's: a map whose feeds stopped says so
    return fig, freshness_text(svc, newest_observation(svc), lang)


def register(app: dash.Dash) -> None:
    """Register the page and its callbacks on ``app``."""
    dash.register_page(__name__, path="/map", title="城市运行一张图 · cityops", layout=layout)
    app.callback(
        Output(ID_VIEW, "data"),
        Input(ID_GRAPH, "relayoutData"),
        State(ID_VIEW, "data"),
        prevent_initial_call=True,
    )(remember_zoom)
    app.callback(
        Output(ID_GRAPH, "figure"),
        Output(ID_STATUS, "children"),
        Input(ID_INTERVAL, "n_intervals"),
        Input(ID_VIEW, "data"),
        State(ID_LANG, "data"),
    )(refresh)
