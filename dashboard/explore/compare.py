"""The cross-department comparison: rain, river levels, traffic speed and incident counts of a district
(or the city) on one time axis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from cityops.base.domains import INCIDENT
from dashboard.explore.catalog import INCIDENT_METRIC, Catalog, metric_unit
from dashboard.explore.query import read_series, series_query

#: Stations drawn one by one in the comparison's river-level panel.
COMPARE_STATIONS = 6

_PANELS: tuple[tuple[str, str, str, Literal["bar", "line"]], ...] = (
    ("explore.cmp.rain", "rain", "rain_mm", "bar"),
    ("explore.cmp.water", "water", "level_m", "line"),
    ("explore.cmp.traffic", "traffic", "speed_kmh", "line"),
    ("explore.cmp.incident", INCIDENT.name, INCIDENT_METRIC, "bar"),
)


@dataclass
class ComparePanel:
    """One panel of the cross-department comparison; ``frame``: time, value, entity_id, name."""

    key: str  # i18n key of the title
    domain: str
    metric: str
    unit: str
    kind: Literal["bar", "line"]
    frame: pd.DataFrame


def load_compare(
    wh: Any, catalog: Catalog, district: str | None, start: datetime, end: datetime, tz: str
) -> list[ComparePanel]:
    """Rain, river levels, traffic speed and incident counts of a district (or the city) on one time axis."""
    panels: list[ComparePanel] = []
    names = catalog.entities.set_index("entity_id")["name"]
    for key, dom, metric, kind in _PANELS:
        domain = catalog.domains[dom]
        per_entity = dom == "water"  # levels of different stations do not average: one line per station
        q = series_query(domain, metric, start, end, district=district, per_entity=per_entity)
        frame = read_series(wh, q, tz)
        if per_entity and len(frame):
            frame = _top_stations(frame, catalog, COMPARE_STATIONS)
        if "entity_id" not in frame:
            frame["entity_id"] = None
        frame["name"] = frame["entity_id"].map(names)
        panels.append(ComparePanel(key, dom, metric, metric_unit(domain, metric), kind, frame))
    return panels


def _top_stations(frame: pd.DataFrame, catalog: Catalog, n: int) -> pd.DataFrame:
    """The ``n`` stations nearest to (or furthest above) their warning level over the range."""
    ents = catalog.entities.set_index("entity_id")
    warn = pd.to_numeric(frame["entity_id"].map(ents["warning_level_m"]), errors="coerce")
    over = (frame["max"] - warn).groupby(frame["entity_id"]).max()
    order = over.sort_values(ascending=False, na_position="last").index[:n]
    return frame[frame["entity_id"].isin(order)].reset_index(drop=True)
