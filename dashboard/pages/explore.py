"""/explore — charts for bureau analysts: time range, district, department, metric, station; drill down
from the map or a chart; compare departments; export what is shown; the URL holds the whole view.

The page is rendered from its query string (``layout(**query)``), so a shared or reloaded link shows
the same view. While the analyst works, the state lives in a store and is written back to the address
bar with ``history.replaceState`` (a Location ``search`` change would make the page router rebuild the
page on every pick). Exports: ``/explore/export.csv`` and ``/explore/export.parquet`` with the same query.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, ctx, dcc, html
from flask import Response, request

from dashboard.auth import current_principal
from dashboard.components import build_nav
from dashboard.explore import (
    INCIDENT_METRIC,
    RANGES,
    Catalog,
    ExploreData,
    ExploreState,
    apply_click,
    click_target,
    decode_state,
    encode_state,
    entity_options,
    export_filename,
    export_frame,
    load_catalog,
    load_explore_data,
    resolve_state,
)
from dashboard.i18n import t, t_or

PREFIX = "explore"
ID_STATE = f"{PREFIX}-state"
ID_MAPKEY = f"{PREFIX}-map-key"
ID_URLSYNC = f"{PREFIX}-url-sync"
ID_LANG = f"{PREFIX}-lang"
ID_STATUS = f"{PREFIX}-status"
ID_LANG_LINK = f"{PREFIX}-lang-link"
ID_RANGE = f"{PREFIX}-range"
ID_START = f"{PREFIX}-start"
ID_END = f"{PREFIX}-end"
ID_DATES = f"{PREFIX}-dates"
ID_DISTRICT = f"{PREFIX}-district"
ID_DOMAIN = f"{PREFIX}-domain"
ID_METRIC = f"{PREFIX}-metric"
ID_ENTITY = f"{PREFIX}-entity"
ID_MAP = f"{PREFIX}-map"
ID_SERIES = f"{PREFIX}-series"
ID_DIST = f"{PREFIX}-distribution"
ID_HEAT = f"{PREFIX}-heatmap"
ID_COMPARE = f"{PREFIX}-compare"
ID_CSV = f"{PREFIX}-export-csv"
ID_PARQUET = f"{PREFIX}-export-parquet"

GRAPH_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
_HIDDEN = {"display": "none"}
_SHOWN = {"display": "flex"}


# -- options (pure given the catalog) ----------------------------------------------------------------------


def domain_options(catalog: Catalog, lang: str) -> list[dict[str, str]]:
    return [
        {"label": t_or(f"domain.{name}", lang, d.label), "value": name} for name, d in catalog.domains.items()
    ]


def metric_options(catalog: Catalog, domain: str, lang: str) -> list[dict[str, str]]:
    if domain == "incident":
        return [{"label": t("explore.metric.count", lang), "value": INCIDENT_METRIC}]
    d = catalog.domains[domain]
    out = []
    for name in d.values:
        col = d.column(name)
        # built-in metrics are translated; a configured department's metric shows its configured label
        label = (
            t_or(f"explore.metric.{name}", lang, col.label or name)
            if d.storage != "long"
            else (col.label or name)
        )
        out.append({"label": f"{label} ({col.unit})" if col.unit else label, "value": name})
    return out


def district_options(catalog: Catalog, lang: str) -> list[dict[str, str]]:
    out = []
    for rec in catalog.districts.to_dict("records"):
        name = rec.get("name_en") if lang == "en" and isinstance(rec.get("name_en"), str) else rec["name"]
        out.append({"label": str(name), "value": rec["code"]})
    return out


def metric_label(catalog: Catalog, state: ExploreState, lang: str) -> str:
    for opt in metric_options(catalog, state.domain, lang):
        if opt["value"] == state.metric:
            return opt["label"].split(" (")[0]
    return state.metric or ""


def map_key(state: ExploreState) -> str:
    """What the map depends on (not the time range): it is rebuilt only when this changes."""
    return encode_state(
        ExploreState(domain=state.domain, district=state.district, entity=state.entity, lang=state.lang)
    )


# -- layout --------------------------------------------------------------------------------------------------


def _field(label: str, control: Any, cls: str = "") -> html.Label:
    return html.Label(
        [html.Span(label, className="explore-label"), control], className=f"explore-field {cls}".strip()
    )


def build_layout(state: ExploreState, catalog: Catalog) -> html.Div:
    """The page for a resolved state (a component tree; callbacks fill the charts)."""
    lang = state.lang
    other = "en" if lang == "zh" else "zh"
    qs = encode_state(state)
    controls = html.Div(
        [
            _field(
                t("explore.range", lang),
                dcc.RadioItems(
                    id=ID_RANGE,
                    options=[{"label": t(f"explore.range.{r}", lang), "value": r} for r in RANGES],
                    value=state.range,
                    inline=True,
                    className="explore-range",
                ),
            ),
            html.Div(
                [
                    _field(
                        t("explore.start", lang),
                        dcc.DatePickerSingle(
                            id=ID_START, date=_iso(state.start), display_format="YYYY-MM-DD"
                        ),
                    ),
                    _field(
                        t("explore.end", lang),
                        dcc.DatePickerSingle(id=ID_END, date=_iso(state.end), display_format="YYYY-MM-DD"),
                    ),
                ],
                id=ID_DATES,
                className="explore-dates",
                style=_SHOWN if state.range == "custom" else _HIDDEN,
            ),
            _field(
                t("explore.district", lang),
                dcc.Dropdown(
                    id=ID_DISTRICT,
                    options=district_options(catalog, lang),
                    value=state.district,
                    placeholder=t("explore.district.all", lang),
                    clearable=True,
                ),
            ),
            _field(
                t("explore.domain", lang),
                dcc.Dropdown(
                    id=ID_DOMAIN, options=domain_options(catalog, lang), value=state.domain, clearable=False
                ),
            ),
            _field(
                t("explore.metric", lang),
                dcc.Dropdown(
                    id=ID_METRIC,
                    options=metric_options(catalog, state.domain, lang),
                    value=state.metric,
                    clearable=False,
                ),
            ),
            _field(
                t("explore.entity", lang),
                dcc.Dropdown(
                    id=ID_ENTITY,
                    options=entity_options(catalog, state.domain, state.district, lang),
                    value=state.entity,
                    placeholder=t("explore.entity.all", lang),
                    clearable=True,
                ),
                "wide",
            ),
            html.Div(
                [
                    html.A(
                        t("explore.export.csv", lang),
                        id=ID_CSV,
                        href=f"/explore/export.csv?{qs}",
                        className="explore-export",
                    ),
                    html.A(
                        t("explore.export.parquet", lang),
                        id=ID_PARQUET,
                        href=f"/explore/export.parquet?{qs}",
                        className="explore-export",
                    ),
                ],
                className="explore-exports",
            ),
        ],
        className="explore-controls",
    )
    graph = {"config": GRAPH_CONFIG}
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            dcc.Store(id=ID_STATE, data=qs),
            dcc.Store(id=ID_MAPKEY, data=map_key(state)),
            dcc.Store(id=ID_URLSYNC),
            build_nav("/explore", lang, current_principal()),
            html.Header(
                [
                    html.H1(t("explore.title", lang)),
                    html.Span(id=ID_STATUS, className="clock"),
                    html.A(
                        t("lang.switch", lang),
                        id=ID_LANG_LINK,
                        href=f"/explore?{encode_state(replace(state, lang=other))}",
                        className="lang-switch",
                    ),
                ],
                className="page-header",
            ),
            controls,
            html.Div(
                [
                    html.Section(
                        [
                            html.H2(t("explore.map", lang)),
                            dcc.Graph(
                                id=ID_MAP,
                                className="explore-map",
                                config={**GRAPH_CONFIG, "scrollZoom": True},
                            ),
                        ],  # type: ignore[arg-type]
                        className="explore-panel explore-map-panel",
                    ),
                    html.Section(
                        dcc.Graph(id=ID_SERIES, className="explore-graph", **graph), className="explore-panel"
                    ),  # type: ignore[arg-type]
                    html.Section(
                        dcc.Graph(id=ID_DIST, className="explore-graph", **graph), className="explore-panel"
                    ),  # type: ignore[arg-type]
                    html.Section(
                        dcc.Graph(id=ID_HEAT, className="explore-graph", **graph), className="explore-panel"
                    ),  # type: ignore[arg-type]
                    html.Section(
                        dcc.Graph(id=ID_COMPARE, className="explore-compare", **graph),  # type: ignore[arg-type]
                        className="explore-panel explore-wide",
                    ),
                ],
                className="explore-grid",
            ),
        ],
        className="page explore-page",
    )


def layout(**query: Any) -> html.Div:
    """Rendered per request from the query string (nothing is read at import)."""
    from dashboard.services import services

    catalog = load_catalog(services())
    return build_layout(resolve_state(decode_state(query), catalog), catalog)


# -- callbacks -------------------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return str(value)[:10] if value else None


def sync_state(
    rng: str | None,
    start: Any,
    end: Any,
    district: str | None,
    domain: str | None,
    metric: str | None,
    entity: str | None,
    map_click: Any,
    series_click: Any,
    heat_click: Any,
    compare_click: Any,
    lang: str | None,
    old_map_key: str | None,
) -> tuple[Any, ...]:
    """Pickers and clicks → the canonical state (the pickers show it back, the store carries it)."""
    from dashboard.services import services

    svc = services()
    catalog = load_catalog(svc)
    trigger = ctx.triggered_id if ctx.triggered else None
    if rng == "custom" and not (start and end):
        today = svc.local(svc.now()).date()
        start, end = start or (today - timedelta(days=6)).isoformat(), end or today.isoformat()
    state = decode_state(
        {
            "range": rng,
            "start": _iso(start),
            "end": _iso(end),
            "district": district,
            "domain": domain,
            "metric": metric,
            "entity": entity,
            "lang": lang,
        }
    )
    if trigger == ID_DOMAIN:
        state = replace(state, metric=None, entity=None)
    elif trigger == ID_ENTITY and state.entity:
        state = apply_click(state, {"entity": state.entity}, catalog)
    clicks = {ID_MAP: map_click, ID_SERIES: series_click, ID_HEAT: heat_click, ID_COMPARE: compare_click}
    if trigger in clicks:
        state = apply_click(state, click_target(clicks[trigger]), catalog)
    state = resolve_state(state, catalog)
    key = map_key(state)
    return (
        state.range,
        state.start.isoformat() if state.start else None,
        state.end.isoformat() if state.end else None,
        _SHOWN if state.range == "custom" else _HIDDEN,
        state.district,
        state.domain,
        metric_options(catalog, state.domain, state.lang),
        state.metric,
        entity_options(catalog, state.domain, state.district, state.lang),
        state.entity,
        encode_state(state),
        key if key != old_map_key else dash.no_update,
    )


def build_figures(data: ExploreData, catalog: Catalog) -> tuple[Any, Any, Any, Any]:
    """The four charts of the explorer for loaded data (pure)."""
    from dashboard.figures.explore import (
        build_compare_figure,
        build_distribution_figure,
        build_heatmap_figure,
        build_series_figure,
    )

    st = data.state
    lang = st.lang
    place = data.label or t("explore.city", lang)
    label = metric_label(catalog, st, lang)
    domain = t_or(f"domain.{st.domain}", lang, catalog.domains[st.domain].label)
    head = f"{domain} · {label} · {place}"
    return (
        build_series_figure(
            data.series,
            data.thresholds,
            title=f"{t('explore.series', lang)} — {head}",
            metric_label=label,
            unit=data.unit,
            lang=lang,
        ),
        build_distribution_figure(
            data.series,
            data.thresholds,
            title=f"{t('explore.distribution', lang)} — {head}",
            metric_label=label,
            unit=data.unit,
            lang=lang,
        ),
        build_heatmap_figure(
            data.heatmap, title=f"{t('explore.heatmap', lang)} — {head}", unit=data.unit, lang=lang
        ),
        build_compare_figure(
            data.compare,
            title=f"{t('explore.compare', lang)} — "
            f"{data.label if st.district and not st.entity else _district_name(catalog, st)}",
            lang=lang,
        ),
    )


def _district_name(catalog: Catalog, state: ExploreState) -> str:
    if state.district:
        rows = catalog.districts[catalog.districts["code"] == state.district]
        if len(rows):
            r = rows.iloc[0]
            return str(
                r["name_en"] if state.lang == "en" and isinstance(r.get("name_en"), str) else r["name"]
            )
    return t("explore.city", state.lang)


def render(qs: str | None) -> tuple[Any, ...]:
    """The state → the charts, the status line, the export links and the language link."""
    from dashboard.services import services

    svc = services()
    catalog = load_catalog(svc)
    state = resolve_state(decode_state(qs), catalog)
    data = load_explore_data(svc, state, catalog)
    series, dist, heat, compare = build_figures(data, catalog)
    lang = state.lang
    start, end = svc.local(data.start), svc.local(data.end)
    status = (
        f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} · {t('explore.status', lang)}: "
        f"{t(f'explore.resolution.{data.resolution}', lang)}, {len(data.series)} {t('explore.points', lang)}"
    )
    q = encode_state(state)
    other = replace(state, lang="en" if lang == "zh" else "zh")
    return (
        series,
        dist,
        heat,
        compare,
        status,
        f"/explore/export.csv?{q}",
        f"/explore/export.parquet?{q}",
        f"/explore?{encode_state(other)}",
    )


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
    # The whole city at the configured view; the user's own pan and zoom survive a drill-down (uirevision).
    fig = build_city_map(
        layers,
        style=style,
        center=settings.city.center or (113.0, 24.2),
        zoom=settings.map.zoom,
        datum=settings.map.tile_datum,
        lang=state.lang,
        label_font=settings.map.glyph_stack,
        uirevision="explore",
    )
    return decorate_map(fig, layers, catalog, state, datum=settings.map.tile_datum)


def decorate_map(
    fig: Any, layers: Any, catalog: Catalog, state: ExploreState, *, datum: str = "wgs84"
) -> Any:
    """Station markers carry ``entity:<id>`` for drill-down; the chosen domain's stations are drawn when the
    city map has no layer of them (road segments, configured departments); the chosen station is ringed."""
    import plotly.graph_objects as go

    from dashboard.figures.citymap import TEXT, _esc, _to_datum

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
                customdata=[f"entity:{e}" for e in pts["entity_id"]], selector={"name": _esc(label)}
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
            lon, lat = _to_datum(ents["lon"], ents["lat"], datum)
            fig.add_trace(
                go.Scattermap(
                    lon=lon,
                    lat=lat,
                    mode="markers",
                    marker={"size": 9, "color": "#c77dff"},
                    name=_esc(
                        t_or(f"domain.{state.domain}", state.lang, catalog.domains[state.domain].label)
                    ),
                    text=[_esc(n) for n in ents["name"].fillna(ents["entity_id"])],
                    hoverinfo="text",
                    customdata=[f"entity:{e}" for e in ents["entity_id"]],
                )
            )
    chosen = catalog.entity(state.entity)
    if chosen is not None and pd.notna(chosen.get("lon")) and pd.notna(chosen.get("lat")):
        lon, lat = _to_datum([chosen["lon"]], [chosen["lat"]], datum)
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                marker={"size": 26, "color": "#ffffff", "opacity": 0.5},
                name=_esc(chosen.get("name") or chosen["entity_id"]),
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.data = (fig.data[-1], *fig.data[:-1])  # the ring goes under the markers, which stay clickable
    fig.update_layout(legend={"font": {"size": 12}})
    return fig


# The address bar follows the state without a page-router round trip (replaceState fires no Dash event).
_SYNC_URL = """
function(qs) {
    if (typeof qs === "string" && window.location.search !== "?" + qs) {
        window.history.replaceState(window.history.state, "", window.location.pathname + "?" + qs);
    }
    return qs;
}
"""


def export_response(fmt: str) -> Any:
    """``/explore/export.<csv|parquet>?<state>``: the rows the charts of that state draw."""
    from dashboard.services import services

    if fmt not in ("csv", "parquet"):
        return Response("export formats: csv, parquet", status=404)
    svc = services()
    catalog = load_catalog(svc)
    state = resolve_state(decode_state(request.query_string.decode("utf-8", "replace")), catalog)
    frame = export_frame(load_explore_data(svc, state, catalog))
    name = export_filename(state, fmt)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        # A BOM so that Excel reads the file as UTF-8 (station names are Chinese).
        body = ("\ufeff" + frame.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S")).encode("utf-8")
        return Response(body, content_type="text/csv; charset=utf-8", headers=headers)
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return Response(buf.getvalue(), mimetype="application/vnd.apache.parquet", headers=headers)


def register(app: dash.Dash) -> None:
    """Register the page, its callbacks and its export route on ``app``."""
    dash.register_page(__name__, path="/explore", title="数据分析 · cityops", layout=layout)
    app.server.add_url_rule("/explore/export.<fmt>", endpoint="explore_export", view_func=export_response)
    app.callback(
        Output(ID_RANGE, "value"),
        Output(ID_START, "date"),
        Output(ID_END, "date"),
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
        Input(ID_END, "date"),
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
        Output(ID_CSV, "href"),
        Output(ID_PARQUET, "href"),
        Output(ID_LANG_LINK, "href"),
        Input(ID_STATE, "data"),
    )(render)
    app.callback(Output(ID_MAP, "figure"), Input(ID_MAPKEY, "data"))(render_map)
    app.clientside_callback(_SYNC_URL, Output(ID_URLSYNC, "data"), Input(ID_STATE, "data"))
