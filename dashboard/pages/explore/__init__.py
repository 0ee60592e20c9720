"""/explore — charts for bureau analysts: time range, district, department, metric, station; drill down
from the map or a chart; compare departments; export what is shown; the URL holds the whole view.

The page is rendered from its query string (``layout(**query)``), so a shared or reloaded link shows
the same view. While the analyst works, the state lives in a store and is written back to the address
bar with ``history.replaceState`` (a Location ``search`` change would make the page router rebuild the
page on every pick). Exports: ``/explore/export.csv`` and ``/explore/export.parquet`` with the same query.

- :mod:`~dashboard.pages.explore.ids` — the component ids.
- :mod:`~dashboard.pages.explore.options` — what the pickers offer.
- :mod:`~dashboard.pages.explore.layout` — the component tree.
- :mod:`~dashboard.pages.explore.state` — pickers and clicks → the state (and the address bar).
- :mod:`~dashboard.pages.explore.charts` — the state → the charts and links.
- :mod:`~dashboard.pages.explore.drilldown` — the clickable city map.
- :mod:`~dashboard.pages.explore.export` — the CSV / Parquet download.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State

from dashboard.pages.explore.charts import build_figures, render
from dashboard.pages.explore.drilldown import decorate_map, render_map
from dashboard.pages.explore.export import export_response
from dashboard.pages.explore.ids import (
    ID_COMPARE,
    ID_CSV,
    ID_DATES,
    ID_DIST,
    ID_DISTRICT,
    ID_DOMAIN,
    ID_END,
    ID_END_TIME,
    ID_ENTITY,
    ID_FRESH,
    ID_HEAT,
    ID_LANG,
    ID_LANG_LINK,
    ID_MAP,
    ID_MAPKEY,
    ID_METRIC,
    ID_NOTICE,
    ID_PARQUET,
    ID_RANGE,
    ID_SERIES,
    ID_START,
    ID_START_TIME,
    ID_STATE,
    ID_STATUS,
    ID_URLSYNC,
    PREFIX,
)
from dashboard.pages.explore.layout import GRAPH_CONFIG, build_layout, layout
from dashboard.pages.explore.options import district_options, domain_options, metric_label, metric_options
from dashboard.pages.explore.state import SYNC_URL_JS, map_key, sync_state


def register(app: dash.Dash) -> None:
    """Register the page, its callbacks and its export route on ``app``."""
    dash.register_page(__name__, path="/explore", title="数据分析 · cityops", layout=layout)
    app.server.add_url_rule("/explore/export.<fmt>", endpoint="explore_export", view_func=export_response)
    app.callback(
        Output(ID_RANGE, "value"),
        Output(ID_START, "date"),
        Output(ID_START_TIME, "value"),
        Output(ID_END, "date"),
        Output(ID_END_TIME, "value"),
        Output(ID_DATES, "style"),
        Output(ID_DISTRICT, "value"),
        Output(ID_DOMAIN, "value"),
        Output(ID_METRIC, "options"),
        Output(ID_METRIC, "value"),
        Output(ID_ENTITY, "options"),
        Output(ID_ENTITY, "value"),
        Output(ID_STATE, "data"),
        Output(ID_MAPKEY, "data"),
        Input(ID_RANGE, "value"),
        Input(ID_START, "date"),
        Input(ID_START_TIME, "value"),
        Input(ID_END, "date"),
        Input(ID_END_TIME, "value"),
        Input(ID_DISTRICT, "value"),
        Input(ID_DOMAIN, "value"),
        Input(ID_METRIC, "value"),
        Input(ID_ENTITY, "value"),
        Input(ID_MAP, "clickData"),
        Input(ID_SERIES, "clickData"),
        Input(ID_HEAT, "clickData"),
        Input(ID_COMPARE, "clickData"),
        State(ID_LANG, "data"),
        State(ID_MAPKEY, "data"),
        prevent_initial_call=True,
    )(sync_state)
    app.callback(
        Output(ID_SERIES, "figure"),
        Output(ID_DIST, "figure"),
        Output(ID_HEAT, "figure"),
        Output(ID_COMPARE, "figure"),
        Output(ID_STATUS, "children"),
        Output(ID_FRESH, "children"),
        Output(ID_CSV, "href"),
        Output(ID_PARQUET, "href"),
        Output(ID_LANG_LINK, "href"),
        Input(ID_STATE, "data"),
    )(render)
    app.callback(Output(ID_MAP, "figure"), Input(ID_MAPKEY, "data"))(render_map)
    app.clientside_callback(SYNC_URL_JS, Output(ID_URLSYNC, "data"), Input(ID_STATE, "data"))


__all__ = [
    "GRAPH_CONFIG",
    "ID_COMPARE",
    "ID_CSV",
    "ID_DATES",
    "ID_DIST",
    "ID_DISTRICT",
    "ID_DOMAIN",
    "ID_END",
    "ID_END_TIME",
    "ID_ENTITY",
    "ID_FRESH",
    "ID_HEAT",
    "ID_LANG",
    "ID_LANG_LINK",
    "ID_MAP",
    "ID_MAPKEY",
    "ID_METRIC",
    "ID_NOTICE",
    "ID_PARQUET",
    "ID_RANGE",
    "ID_SERIES",
    "ID_START",
    "ID_START_TIME",
    "ID_STATE",
    "ID_STATUS",
    "ID_URLSYNC",
    "PREFIX",
    "build_figures",
    "build_layout",
    "decorate_map",
    "district_options",
    "domain_options",
    "export_response",
    "layout",
    "map_key",
    "metric_label",
    "metric_options",
    "register",
    "render",
    "render_map",
    "sync_state",
]
