"""Everything the explorer draws for one state, read through the warehouse: :class:`ExploreData`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from dashboard.explore.catalog import Catalog, load_catalog, metric_unit
from dashboard.explore.compare import ComparePanel, load_compare
from dashboard.explore.query import (
    Resolution,
    read_heatmap,
    read_newest,
    read_series,
    series_query,
    time_window,
)
from dashboard.explore.thresholds import Threshold, thresholds_for
from dashboard.explore.view import ExploreState

#: The heatmap covers at most this many days (the last ones of the range).
HEATMAP_DAYS = 366


@dataclass
class ExploreData:
    """What the charts draw for one resolved state: the window, its plan and the rows."""

    state: ExploreState
    start: datetime
    end: datetime
    resolution: Resolution
    step_s: int
    unit: str
    label: str  # station or district name (or the city) the series stands for
    series: pd.DataFrame  # time (local), value, min, max, n
    heatmap: pd.DataFrame  # day (local date), hour (0–23), value
    compare: list[ComparePanel] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    #: The newest observation (naive UTC) behind the series in range, or ``None``.
    newest: datetime | None = None


def load_explore_data(svc: Any, state: ExploreState, catalog: Catalog | None = None) -> ExploreData:
    """Everything the explorer draws for ``state`` (already resolved), read through the warehouse."""
    catalog = catalog or load_catalog(svc)
    wh = svc.warehouse
    tz = svc.settings.city.timezone
    start, end = time_window(state, svc.now(), tz)
    domain = catalog.domains[state.domain]
    metric = state.metric or catalog.metrics(state.domain)[0]
    q = series_query(domain, metric, start, end, entity=state.entity, district=state.district)
    series = read_series(wh, q, tz)
    entity = catalog.entity(state.entity)
    label = _place_label(catalog, state)
    heat = read_heatmap(wh, replace(q, start=max(start, end - timedelta(days=HEATMAP_DAYS))), tz)
    data = ExploreData(
        state,
        start,
        end,
        q.resolution,
        q.step_s,
        metric_unit(domain, metric),
        label,
        series,
        heat,
        thresholds=thresholds_for(state.domain, metric, entity, q.resolution),
        newest=read_newest(wh, q),
    )
    data.compare = load_compare(wh, catalog, state.district, start, end, tz)
    return data


def _place_label(catalog: Catalog, state: ExploreState) -> str:
    entity = catalog.entity(state.entity)
    if entity is not None:
        name = entity.get("name_en") if state.lang == "en" and entity.get("name_en") else entity.get("name")
        return str(name or entity["entity_id"])
    row = catalog.district(state.district)
    if row is not None:
        return str(row["name_en"] if state.lang == "en" and row.get("name_en") else row["name"])
    return ""
