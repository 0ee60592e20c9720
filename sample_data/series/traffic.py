"""Road traffic of the sample city: speed, volume and occupancy per road segment every 5 minutes.

Demand follows the local time of day (weekday rush hours, lighter weekends); speed falls with the
volume-to-capacity ratio (a BPR curve) and with hard rain in the scenario's storm districts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sample_data.catalogue import Catalogue
from sample_data.districts import URBAN, lookup
from sample_data.scenario import Scenario
from sample_data.series.entities import load_entities
from sample_data.streams import draw_normal, draw_smooth_noise, draw_uniform
from sample_data.timegrid import STEP_5MIN, build_frame, compute_demand_profile, make_grid

__all__ = ["ROAD_CLASSES", "RoadTraffic"]

ROAD_CLASSES = {
    # class: (capacity veh/h (both directions, whole segment), BPR alpha, peak v/c factor, lanes)
    "expressway": (7200.0, 0.6, 0.72, 4),
    "arterial": (4000.0, 2.0, 1.0, 4),
    "secondary": (1800.0, 1.6, 0.92, 2),
    "branch": (800.0, 1.2, 0.8, 2),
}


class RoadTraffic:
    """Traffic on every road segment of the catalogue under a scenario (parameters fixed at creation)."""

    def __init__(self, catalogue: Catalogue, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        roads = load_entities(catalogue, "road_segment", seed, "road")
        n = len(roads)
        self._ids, self._key, self._district = roads.ids, roads.keys, roads.districts
        cls = roads.texts("road_class", "secondary")
        params = np.array(
            [ROAD_CLASSES.get(c, ROAD_CLASSES["secondary"]) for c in cls], dtype=np.float64
        ).reshape(n, 4)
        self._cap, self._alpha, peak_vc, self._lanes = params.T
        lanes = roads.numbers("lanes")
        ok = np.isfinite(lanes) & (lanes > 0)
        # Capacity scales with the lane count the catalogue gives.
        self._cap = np.where(ok, self._cap * np.where(ok, lanes, 1.0) / self._lanes, self._cap)
        self._lanes = np.where(ok, lanes, self._lanes)
        ff = roads.numbers("free_flow_kmh")
        default_ff = np.select(
            [cls == "expressway", cls == "arterial", cls == "branch"], [100.0, 60.0, 30.0], 45.0
        )
        self._ff = np.where(np.isfinite(ff) & (ff > 0), ff, default_ff)
        urban = lookup(URBAN, self._district, 0.3)
        u = draw_uniform(self._key, np.zeros(1, dtype=np.int64), 1) if n else np.empty(0)
        # Peak v/c: busier in town, with a per-segment spread.
        self._peak_vc = peak_vc * (0.5 + 0.45 * urban) * (0.85 + 0.3 * u)
        self._storm_w = lookup(scenario.traffic_storm_weights, self._district, 0.2)

    def frame(self, start: Any, end: Any) -> pd.DataFrame:
        """Rows ``entity_id, ts, speed_kmh, volume_vph, occupancy_pct`` for ``start <= ts < end``."""
        sc = self.scenario
        t = make_grid(start, end, STEP_5MIN)
        tt = t[None, :]
        key = self._key[:, None]
        prof = compute_demand_profile(t)[None, :]
        storm = np.clip(sc.storm_envelope(tt.astype(np.float64), self._district[:, None]) / 0.35, 0.0, 1.0)
        impact = sc.traffic_slowdown * self._storm_w[:, None] * storm
        day_noise = 0.06 * draw_smooth_noise(key, tt, 86400, 31)
        vc = self._peak_vc[:, None] * prof * (1.0 + day_noise + 0.05 * draw_smooth_noise(key, tt, 1800, 32))
        vc = np.clip(vc * (1.0 - 0.3 * impact), 0.01, 1.3)
        rel = 1.0 / (1.0 + self._alpha[:, None] * vc**4)
        rel = rel * (1.0 - impact) * (1.0 + 0.035 * draw_normal(key, tt // STEP_5MIN, 33))
        ff = self._ff[:, None]
        speed = np.clip(ff * rel, 3.0, ff * 1.08)
        volume = vc * self._cap[:, None] * (1.0 + 0.06 * draw_normal(key, tt // STEP_5MIN, 34))
        volume = np.clip(volume, 0.0, None)
        # Occupancy from density: (veh/h per lane) / (km/h) → veh/km per lane × 6.5 m effective length.
        density = volume / self._lanes[:, None] / speed
        occ = np.clip(density * 6.5 / 10.0, 0.0, 97.0)
        return build_frame(
            self._ids,
            t,
            {
                "speed_kmh": np.round(speed, 1),
                "volume_vph": np.round(volume, 0),
                "occupancy_pct": np.round(occ, 1),
            },
        )
