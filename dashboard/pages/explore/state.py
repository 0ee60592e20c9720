"""Pickers and clicks → the canonical state, which a store carries and the address bar follows."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import dash
from dash import ctx

from dashboard.explore.catalog import entity_options, load_catalog, resolve_state
from dashboard.explore.drill import apply_click, click_target
from dashboard.explore.view import ExploreState, decode_state, encode_state
from dashboard.pages.explore.ids import ID_COMPARE, ID_DOMAIN, ID_ENTITY, ID_HEAT, ID_MAP, ID_SERIES
from dashboard.pages.explore.options import clock_text, dates_style, iso_day, metric_options, moment

# The address bar follows the state without a page-router round trip (replaceState fires no Dash event).
SYNC_URL_JS = """
function(qs) {
    if (typeof qs === "string" && window.location.search !== "?" + qs) {
        window.history.replaceState(window.history.state, "", window.location.pathname + "?" + qs);
    }
    return qs;
}
"""


def map_key(state: ExploreState) -> str:
    """What the map depends on (not the time range): it is rebuilt only when this changes."""
    return encode_state(
        ExploreState(domain=state.domain, district=state.district, entity=state.entity, lang=state.lang)
    )


def sync_state(
    rng: str | None,
    start: Any,
    start_time: Any,
    end: Any,
    end_time: Any,
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
            "start": moment(start, start_time),
            "end": moment(end, end_time),
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
        iso_day(state.start),
        clock_text(state.start),
        iso_day(state.end),
        clock_text(state.end),
        dates_style(state.range),
        state.district,
        state.domain,
        metric_options(catalog, state.domain, state.lang),
        state.metric,
        entity_options(catalog, state.domain, state.district, state.lang),
        state.entity,
        encode_state(state),
        key if key != old_map_key else dash.no_update,
    )
