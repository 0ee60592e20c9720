"""The demo city's "true" state: deterministic, stateless, realistic series with a scripted scenario.

:class:`CityGenerator` computes what every sensor of the sample city measures at any UTC instant,
without stored state: every random number is derived from a hash of ``(seed, entity, stream, time
bucket)`` (a counter-based generator), so any time window can be asked for, in any order, and the same
instant always gives the same numbers. A feed server can therefore answer arbitrary ``since`` queries,
and two overlapping windows agree on their overlap.

Domains and canonical units (one frame per domain; ``ts`` is timezone-aware UTC; rows satisfy
``start <= ts < end`` on the domain's regular grid, sorted by ``ts`` then ``entity_id``):

========== ======= ===========================================================================
domain     grid    columns
========== ======= ===========================================================================
traffic    5 min   entity_id, ts, speed_kmh (km/h), volume_vph (veh/h), occupancy_pct (0–100 %)
air        1 h     entity_id, ts, so2, no2, pm10, pm25, o3 (µg/m³), co (mg/m³); NaN = sensor gap
water      5 min   entity_id, ts, level_m (m, station datum), discharge_m3s (m³/s; NaN at reservoirs)
rain       5 min   entity_id, ts, rain_mm (mm fallen in the 5 minutes starting at ts)
incidents  —       incident_id, type, severity (1 most severe … 4), status (open|dispatched|closed),
                   reported_at, dispatched_at, closed_at (None until it happens, as of ``as_of``),
                   lon, lat (WGS-84), district_code, description (zh-CN), department
========== ======= ===========================================================================

Local time patterns (rush hours, afternoon ozone) use Asia/Shanghai, a fixed UTC+8 (no DST).

The scripted scenario (:class:`Scenario`, all timeline constants in one place) plays out relative to
``Scenario.start``: a stagnant day with a PM2.5 episode over the southern districts, then a rainstorm
over 清城区/清新区/英德市/佛冈县 that raises several river stations above their warning level, floods
streets in 清城区/清新区 and slows traffic there.

The parts live in modules of their own: :mod:`sample_data.scenario` (the timeline),
:mod:`sample_data.catalogue` (the entities), :mod:`sample_data.streams` (the counter-based random
numbers), :mod:`sample_data.timegrid` (grids and local time) and :mod:`sample_data.series` (one module
per domain). :class:`CityGenerator` puts them together.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sample_data.catalogue import DEFAULT_CATALOGUE, KINDS, Catalogue, load_catalogue
from sample_data.districts import DISTRICT_NAMES
from sample_data.scenario import Scenario
from sample_data.series.air import AirQuality
from sample_data.series.incidents import INCIDENT_TYPE_ZH, IncidentLog
from sample_data.series.rain import Rainfall
from sample_data.series.traffic import RoadTraffic
from sample_data.series.water import WaterLevels

# The catalogue, district and scenario names stay importable from here, where callers have found them.
__all__ = [
    "DEFAULT_CATALOGUE",
    "DISTRICT_NAMES",
    "INCIDENT_TYPE_ZH",
    "KINDS",
    "Catalogue",
    "CityGenerator",
    "Scenario",
    "load_catalogue",
]


class CityGenerator:
    """Deterministic sensor values of the sample city at any instant (see the module docstring)."""

    def __init__(self, catalogue: Catalogue, scenario: Scenario | None = None, seed: int = 20260614) -> None:
        self.catalogue = catalogue
        self.scenario = scenario if scenario is not None else Scenario()
        self.seed = int(seed)
        self._traffic = RoadTraffic(catalogue, self.scenario, self.seed)
        self._air = AirQuality(catalogue, self.scenario, self.seed)
        self._rain = Rainfall(catalogue, self.scenario, self.seed)
        self._water = WaterLevels(catalogue, self.scenario, self.seed, self._rain)
        self._incidents = IncidentLog(catalogue, self.seed, self._rain)

    def traffic(self, start: Any, end: Any) -> pd.DataFrame:
        return self._traffic.frame(start, end)

    def air(self, start: Any, end: Any) -> pd.DataFrame:
        return self._air.frame(start, end)

    def water(self, start: Any, end: Any) -> pd.DataFrame:
        return self._water.frame(start, end)

    def rain(self, start: Any, end: Any) -> pd.DataFrame:
        return self._rain.frame(start, end)

    def incidents(self, start: Any, end: Any, as_of: Any = None) -> pd.DataFrame:
        """Incidents reported in ``[start, end)`` (and by ``as_of``), with their state as of ``as_of``
        (default ``end``)."""
        return self._incidents.frame(start, end, as_of)

    def station_thresholds(self) -> pd.DataFrame:
        """Per hydro station: normal, warning and guaranteed levels as used by the generator."""
        return self._water.thresholds()
