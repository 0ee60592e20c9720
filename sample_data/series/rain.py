"""Rainfall of the sample city: mm per 5 minutes at every rain gauge.

Two parts add up: the scenario's storm (its rate integrated over the 5 minutes, scaled per gauge, with
a gusty texture) and background showers (showery days per district, then showery afternoon hours per
gauge, shared in part by a district's gauges), none during the scenario's dry spell.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sample_data.catalogue import Catalogue
from sample_data.districts import DISTRICT_NAMES
from sample_data.scenario import Scenario
from sample_data.series.entities import load_entities
from sample_data.streams import draw_normal, draw_uniform, hash_key
from sample_data.timegrid import (
    LOCAL_UTC_OFFSET_S,
    STEP_5MIN,
    STEP_HOUR,
    build_frame,
    daily_bump,
    make_grid,
    split_local_time,
)

__all__ = ["Rainfall"]


class Rainfall:
    """Rain at every gauge of the catalogue under a scenario; rivers and incidents read :meth:`matrix`."""

    def __init__(self, catalogue: Catalogue, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        gauges = load_entities(catalogue, "rain_gauge", seed, "rain")
        self.ids, self.districts = gauges.ids, gauges.districts
        self.lon, self.lat = gauges.coordinates()
        self._key = gauges.keys
        u = draw_uniform(self._key, np.zeros(1, dtype=np.int64), 2) if len(gauges) else np.empty(0)
        self._factor = 0.8 + 0.4 * u
        # Day-level shower regime shared by a district (coherent showery days).
        self._district_key = {d: hash_key(seed, "district", d) for d in DISTRICT_NAMES}

    def matrix(self, t: np.ndarray, *, storm_only: bool = False) -> np.ndarray:
        """Rain (mm per 5 min) for every gauge (rows) at the 5-min instants ``t`` (columns)."""
        sc = self.scenario
        n = len(self.ids)
        if n == 0 or len(t) == 0:
            return np.zeros((n, len(t)))
        tt = t[None, :].astype(np.float64)
        dist = self.districts[:, None]
        # Storm: intensity integrated over the 5 minutes (midpoint rule), gauge factor, gusty texture.
        rate = sc.storm_intensity(tt + 150.0, dist) * self._factor[:, None]
        storm = rate / 12.0
        if storm_only:
            return storm
        key = self._key[:, None]
        slot = t[None, :] // STEP_5MIN
        texture = np.clip(1.0 + 0.3 * draw_normal(key, slot, 7), 0.3, 1.8)
        storm = storm * texture
        # Background showers: showery days per district, then showery hours per gauge.
        hour = t[None, :] // STEP_HOUR
        day = (t[None, :] + LOCAL_UTC_OFFSET_S) // 86400
        dkeys = np.array(
            [self._district_key.get(str(d), hash_key(self.seed, "district", str(d))) for d in self.districts],
            dtype=np.uint64,
        )[:, None]
        showery_day = draw_uniform(dkeys, day, 11) < 0.35
        hod, _ = split_local_time(t[None, :])
        p_hour = 0.05 + 0.12 * daily_bump(hod, 16.0, 2.5)  # afternoon convection
        # Neighbouring gauges share showers in part: the same draw per district-hour half of the time.
        u_d = draw_uniform(dkeys, hour, 12)
        u_g = draw_uniform(key, hour, 13)
        u = np.where(draw_uniform(key, hour, 14) < 0.5, u_d, u_g)
        wet = showery_day & (u < p_hour) & ~sc.dry_spell(tt)
        amount = -np.log(draw_uniform(key, hour, 15)) * 3.0  # mm in the hour, exponential mean 3
        centre = draw_uniform(key, hour, 16) * 11.0
        width = 1.0 + 2.5 * draw_uniform(key, hour, 17)
        m = (t[None, :] % STEP_HOUR) // STEP_5MIN
        w = np.exp(-0.5 * ((m - centre) / width) ** 2)
        ms = np.arange(12, dtype=np.float64)
        norm = np.exp(-0.5 * ((ms[None, None, :] - centre[..., None]) / width[..., None]) ** 2).sum(axis=-1)
        shower = np.where(wet, amount * w / norm, 0.0)
        return storm + shower

    def frame(self, start: Any, end: Any) -> pd.DataFrame:
        """Rows ``entity_id, ts, rain_mm`` (mm in the 5 minutes from ``ts``) for ``start <= ts < end``."""
        t = make_grid(start, end, STEP_5MIN)
        r = np.round(self.matrix(t), 1)
        r[r < 0.1] = 0.0
        return build_frame(self.ids, t, {"rain_mm": r})
