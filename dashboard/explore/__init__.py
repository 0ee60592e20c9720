"""The analyst explorer's state, its URL form, the query plan and the data behind its charts.

- :mod:`~dashboard.explore.view` — :class:`ExploreState` and its query string (decoding never raises).
- :mod:`~dashboard.explore.catalog` — what the city has (domains, districts, stations); resolving a state.
- :mod:`~dashboard.explore.drill` — what a click points at, and the state after following it.
- :mod:`~dashboard.explore.query` — the query plan (raw, hourly or daily) and the read of one series.
- :mod:`~dashboard.explore.thresholds` — the reference lines drawn on the series.
- :mod:`~dashboard.explore.compare` — the cross-department comparison panels.
- :mod:`~dashboard.explore.data` — :class:`ExploreData`, everything the charts draw for a state.
- :mod:`~dashboard.explore.export` — those same rows as the downloadable table.

Code inside the project imports from the submodules; the names below are the explorer's public API.
"""

from __future__ import annotations

from dashboard.explore.catalog import (
    INCIDENT_METRIC,
    Catalog,
    entity_options,
    explore_domains,
    load_catalog,
    resolve_state,
)
from dashboard.explore.compare import ComparePanel
from dashboard.explore.data import ExploreData, load_explore_data
from dashboard.explore.drill import apply_click, click_target
from dashboard.explore.export import export_filename, export_frame
from dashboard.explore.query import (
    HOURLY_MAX,
    MAX_POINTS,
    RAW_MAX,
    SeriesQuery,
    plan_resolution,
    series_query,
    time_window,
)
from dashboard.explore.thresholds import Threshold, thresholds_for
from dashboard.explore.view import RANGES, ExploreState, decode_state, encode_state

__all__ = [
    "HOURLY_MAX",
    "INCIDENT_METRIC",
    "MAX_POINTS",
    "RANGES",
    "RAW_MAX",
    "Catalog",
    "ComparePanel",
    "ExploreData",
    "ExploreState",
    "SeriesQuery",
    "Threshold",
    "apply_click",
    "click_target",
    "decode_state",
    "encode_state",
    "entity_options",
    "explore_domains",
    "export_filename",
    "export_frame",
    "load_catalog",
    "load_explore_data",
    "plan_resolution",
    "resolve_state",
    "series_query",
    "thresholds_for",
    "time_window",
]
