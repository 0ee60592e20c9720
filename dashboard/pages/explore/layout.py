"""The /explore component tree, rendered from the query string (callbacks fill the charts)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from dash import dcc, html

from dashboard.auth import current_principal
from dashboard.components import build_header, build_nav
from dashboard.explore.catalog import (
    Catalog,
    entity_options,
    load_catalog,
    resolve_state,
    unknown_choices,
)
from dashboard.explore.view import RANGES, ExploreState, decode_state, encode_state
from dashboard.freshness import CLASS_NAME as FRESH_CLASS
from dashboard.i18n import t
from dashboard.pages.explore import ids
from dashboard.pages.explore.options import (
    clock_text,
    dates_style,
    district_options,
    domain_options,
    iso_day,
    metric_options,
    notice_lines,
)
from dashboard.pages.explore.state import map_key
from dashboard.plotly_locale import graph_config

GRAPH_CONFIG: dcc.Graph.Config = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def dropdown_labels(lang: str) -> dcc.Dropdown.Labels:
    """A dropdown's own texts (its search box, "select all"…) in ``lang``."""
    return {
        "search": t("dropdown.search", lang),
        "clear_search": t("dropdown.clear_search", lang),
        "select_all": t("dropdown.select_all", lang),
        "deselect_all": t("dropdown.deselect_all", lang),
        "selected_count": t("dropdown.selected_count", lang),
        "clear_selection": t("dropdown.clear_selection", lang),
        "no_options_found": t("dropdown.no_options_found", lang),
    }


def _field(label: str, control: Any, cls: str = "") -> html.Label:
    return html.Label(
        [html.Span(label, className="explore-label"), control], className=f"explore-field {cls}".strip()
    )


def _controls(state: ExploreState, catalog: Catalog, qs: str) -> html.Div:
    """The pickers (range, dates, district, department, metric, station) and the export links."""
    lang = state.lang
    return html.Div(
        [
            _field(
                t("explore.range", lang),
                dcc.RadioItems(
                    id=ids.ID_RANGE,
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
                            id=ids.ID_START,
                            date=iso_day(state.start),
                            display_format="YYYY-MM-DD",
                            placeholder=t("picker.date", lang),
                        ),
                    ),
                    _field(
                        t("explore.start_time", lang),
                        dcc.Input(
                            id=ids.ID_START_TIME,
                            type="time",  # type: ignore[arg-type]  # the browser's time input (HH:MM)
                            value=clock_text(state.start),
                            className="explore-time",
                        ),
                        "narrow",
                    ),
                    _field(
                        t("explore.end", lang),
                        dcc.DatePickerSingle(
                            id=ids.ID_END,
                            date=iso_day(state.end),
                            display_format="YYYY-MM-DD",
                            placeholder=t("picker.date", lang),
                        ),
                    ),
                    _field(
                        t("explore.end_time", lang),
                        dcc.Input(
                            id=ids.ID_END_TIME,
                            type="time",  # type: ignore[arg-type]  # the browser's time input (HH:MM)
                            value=clock_text(state.end),
                            className="explore-time",
                        ),
                        "narrow",
                    ),
                ],
                id=ids.ID_DATES,
                className="explore-dates",
                title=t("explore.time.hint", lang),
                style=dates_style(state.range),
            ),
            _field(
                t("explore.district", lang),
                dcc.Dropdown(
                    id=ids.ID_DISTRICT,
                    labels=dropdown_labels(lang),
                    options=district_options(catalog, lang),
                    value=state.district,
                    placeholder=t("explore.district.all", lang),
                    clearable=True,
                ),
            ),
            _field(
                t("explore.domain", lang),
                dcc.Dropdown(
                    id=ids.ID_DOMAIN,
                    labels=dropdown_labels(lang),
                    placeholder=t("dropdown.select", lang),
                    options=domain_options(catalog, lang),
                    value=state.domain,
                    clearable=False,
                ),
            ),
            _field(
                t("explore.metric", lang),
                dcc.Dropdown(
                    id=ids.ID_METRIC,
                    labels=dropdown_labels(lang),
                    placeholder=t("dropdown.select", lang),
                    options=metric_options(catalog, state.domain, lang),
                    value=state.metric,
                    clearable=False,
                ),
            ),
            _field(
                t("explore.entity", lang),
                dcc.Dropdown(
                    id=ids.ID_ENTITY,
                    labels=dropdown_labels(lang),
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
                        id=ids.ID_CSV,
                        href=f"/explore/export.csv?{qs}",
                        className="explore-export",
                    ),
                    html.A(
                        t("explore.export.parquet", lang),
                        id=ids.ID_PARQUET,
                        href=f"/explore/export.parquet?{qs}",
                        className="explore-export",
                    ),
                ],
                className="explore-exports",
            ),
        ],
        className="explore-controls",
    )


def _graph_panel(
    graph_id: str, lang: str, graph_class: str = "explore-graph", panel_class: str = "explore-panel"
) -> html.Section:
    return html.Section(
        dcc.Graph(
            id=graph_id,
            className=graph_class,
            config=cast(dcc.Graph.Config, graph_config(lang, **GRAPH_CONFIG)),
        ),
        className=panel_class,
    )


def _charts(lang: str) -> html.Div:
    """The map and the four charts, empty until the callbacks draw them."""
    return html.Div(
        [
            html.Section(
                [
                    html.H2(t("explore.map", lang)),
                    dcc.Graph(
                        id=ids.ID_MAP,
                        className="explore-map",
                        config=cast(dcc.Graph.Config, graph_config(lang, **GRAPH_CONFIG, scrollZoom=True)),
                    ),
                ],
                className="explore-panel explore-map-panel",
            ),
            _graph_panel(ids.ID_SERIES, lang),
            _graph_panel(ids.ID_DIST, lang),
            _graph_panel(ids.ID_HEAT, lang),
            _graph_panel(ids.ID_COMPARE, lang, "explore-compare", "explore-panel explore-wide"),
        ],
        className="explore-grid",
    )


def build_layout(
    state: ExploreState, catalog: Catalog, notes: list[tuple[str, str]] | None = None
) -> html.Div:
    """The page for a resolved state (a component tree; callbacks fill the charts). ``notes``: the
    choices of the link the view could not show (see :func:`~dashboard.explore.catalog.unknown_choices`)."""
    lang = state.lang
    other = "en" if lang == "zh" else "zh"
    qs = encode_state(state)
    return html.Div(
        [
            dcc.Store(id=ids.ID_LANG, data=lang),
            dcc.Store(id=ids.ID_STATE, data=qs),
            dcc.Store(id=ids.ID_MAPKEY, data=map_key(state)),
            dcc.Store(id=ids.ID_URLSYNC),
            build_nav("/explore", lang, current_principal()),
            build_header(
                t("explore.title", lang),
                lang,
                f"/explore?{encode_state(replace(state, lang=other))}",
                clock_id=ids.ID_STATUS,
                switch_id=ids.ID_LANG_LINK,
            ),
            _controls(state, catalog, qs),
            html.Div(
                [html.P(line) for line in notice_lines(notes or [], state, catalog)],
                id=ids.ID_NOTICE,
                className="explore-notice",
                role="status",
            ),
            html.Div(id=ids.ID_FRESH, className=FRESH_CLASS),
            _charts(lang),
        ],
        className="page explore-page",
    )


def layout(**query: Any) -> html.Div:
    """Rendered per request from the query string (nothing is read at import)."""
    from dashboard.services import services

    catalog = load_catalog(services())
    state = resolve_state(decode_state(query), catalog)
    return build_layout(state, catalog, unknown_choices(query, state))
