"""The cross-department comparison: rain, river levels, traffic speed and incident counts of a district
(or the city) on one time axis.

River levels are drawn against each station's warning level (level − warning level, in metres; 0 is the
warning level): stations on different datums then share one axis, and one high-datum station does not
flatten the others. Stations without a warning level have no place on that axis and are left out."""

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
#: The river panel's metric: the level minus the station's warning level (m).
RELATIVE_METRIC = "level_above_warning_m"

_PANELS: tuple[tuple[str, str, str, Literal["bar", "line"]], ...] = (
    ("explore.cmp.rain", "rain", "rain_mm", "bar"),
    ("explore.cmp.water_rel", "water", "level_m", "line"),
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
    #: i18n key of a reference line at 0 (the river panel's warning level), or ``None``.
    zero_line: str | None = None


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
        zero_line = None
        if per_entity:
            frame = _above_warning(frame, catalog)
            frame = _top_stations(frame, COMPARE_STATIONS) if len(frame) else frame
            metric, zero_line = RELATIVE_METRIC, "explore.cmp.warning_line"
        if "entity_id" not in frame:
            frame["entity_id"] = None
        frame["name"] = frame["entity_id"].map(names)
        unit = metric_unit(domain, "level_m" if per_entity else metric)
        panels.append(ComparePanel(key, dom, metric, unit, kind, frame, zero_line))
    return panels


def _above_warning(frame: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Levels as metres above each station's warning level (``level`` keeps the level itself);
    stations without a warning level are left out."""
    if frame.empty:
        return frame.assign(level=pd.Series(dtype="float64"), warning=pd.Series(dtype="float64"))
    ents = catalog.entities.set_index("entity_id")
    warn = pd.to_numeric(frame["entity_id"].map(ents["warning_level_m"]), errors="coerce")
    out = frame.assign(level=frame["value"], warning=warn)[warn.notna().to_numpy()].copy()
    for col in ("value", "min", "max"):
        out[col] = out[col] - out["warning"]
    return out.reset_index(drop=True)


def _top_stations(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` stations nearest to (or furthest above) their warning level over the range."""
    over = frame.groupby("entity_id")["max"].max()
    order = over.sort_values(ascending=False).index[:n]
    return frame[frame["entity_id"].isin(order)].reset_index(drop=True)
