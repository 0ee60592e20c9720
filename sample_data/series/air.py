"""Air quality of the sample city: hourly SO2, NO2, PM10, PM2.5, O3 (µg/m³) and CO (mg/m³) per station.

Concentrations follow the town's character and the local time of day (traffic peaks for NO2, the
afternoon for ozone), build up during the scenario's pollution episode, and are washed out by its
storm. About 1 % of values are missing (sensor gaps), and a station is sometimes offline for an hour.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sample_data.catalogue import Catalogue
from sample_data.districts import URBAN, lookup
from sample_data.scenario import Scenario
from sample_data.series.entities import load_entities
from sample_data.streams import draw_normal, draw_smooth_noise, draw_uniform, hash_key
from sample_data.timegrid import STEP_HOUR, build_frame, daily_bump, make_grid, split_local_time

__all__ = ["POLLUTANTS", "AirQuality"]

POLLUTANTS = ("so2", "no2", "pm10", "pm25", "o3", "co")


class AirQuality:
    """Air quality at every station of the catalogue under a scenario."""

    def __init__(self, catalogue: Catalogue, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        stations = load_entities(catalogue, "air_station", seed, "air")
        self._ids, self._key, self._district = stations.ids, stations.keys, stations.districts
        self._urban = lookup(URBAN, self._district, 0.3)
        self._episode_w = lookup(scenario.episode_weights, self._district, 0.3)
        self._storm_w = lookup(scenario.storm_weights, self._district, 0.2)

    def frame(self, start: Any, end: Any) -> pd.DataFrame:
        """Rows ``entity_id, ts, so2, no2, pm10, pm25, o3, co`` for ``start <= ts < end``; NaN = gap."""
        sc = self.scenario
        t = make_grid(start, end, STEP_HOUR)
        tt = t[None, :]
        tf = tt.astype(np.float64)
        key = self._key[:, None]
        urb = self._urban[:, None]
        hod, _ = split_local_time(tt)
        city = np.full((1, 1), hash_key(self.seed, "air-city"), dtype=np.uint64)
        synoptic = np.exp(
            0.22 * draw_smooth_noise(city, tt, 86400, 41) + 0.08 * draw_smooth_noise(key, tt, 86400, 42)
        )
        ep = sc.episode_shape(tf) * self._episode_w[:, None]
        storm = sc.storm_envelope(tf, self._district[:, None]) * np.clip(self._storm_w[:, None] * 1.5, 0, 1)
        # Wash-out after heavy rain, recovering over ~18 h.
        h_after = (tf - sc.storm_peak.timestamp()) / 3600.0
        washout = np.where(h_after > 0, 0.45 + 0.55 * (1 - np.exp(-h_after / 18.0)), 1.0)
        washout = np.minimum(washout, 1.0 - 0.6 * storm)
        washout = 1.0 - (1.0 - washout) * np.clip(self._storm_w[:, None] * 1.5, 0, 1)

        def jitter(stream: int, sd: float) -> np.ndarray:
            return np.exp(sd * draw_normal(key, tt // STEP_HOUR, stream))

        pm_diurnal = (
            1.0
            + 0.2 * daily_bump(hod, 8.0, 2.0)
            + 0.25 * daily_bump(hod, 22.0, 3.0)
            - 0.2 * daily_bump(hod, 15.0, 2.5)
        )
        pm25_base = (16.0 + 14.0 * urb) * synoptic * pm_diurnal
        pm25 = (pm25_base + ep * (sc.episode_pm25_peak - 30.0)) * washout * jitter(43, 0.08)
        pm10 = pm25 * (1.55 - 0.25 * ep) * jitter(44, 0.08) + 5.0
        no2_d = (
            1.0
            + 0.5 * daily_bump(hod, 8.5, 1.2)
            + 0.6 * daily_bump(hod, 19.5, 1.8)
            - 0.35 * daily_bump(hod, 14.0, 2.5)
        )
        no2 = (
            (10.0 + 22.0 * urb) * no2_d * synoptic * (1.0 + 0.7 * ep) * (1.0 - 0.3 * storm) * jitter(45, 0.1)
        )
        so2 = (5.0 + 5.0 * urb) * synoptic * (1.0 + 0.5 * ep) * jitter(46, 0.12)
        co = (0.45 + 0.3 * urb) * synoptic * (1.0 + 0.12 * no2_d) * (1.0 + 1.0 * ep) * jitter(47, 0.06)
        o3_d = 0.4 + 1.35 * daily_bump(hod, 15.0, 2.8)
        sun = 1.0 - 0.7 * np.clip(storm * 3.0, 0, 1)
        o3 = (
            (55.0 + 30.0 * (1 - urb))
            * o3_d
            * sun
            * np.exp(0.15 * draw_smooth_noise(city, tt, 86400, 48))
            * (1.0 + 0.15 * ep)
            * jitter(49, 0.07)
        )
        values = {"so2": so2, "no2": no2, "pm10": pm10, "pm25": pm25, "o3": o3}
        out: dict[str, np.ndarray] = {k: np.round(v, 0) for k, v in values.items()}
        out["co"] = np.round(co, 3)
        # Occasional sensor gaps: a pollutant missing (1 %), or the whole station offline (0.5 %).
        offline = draw_uniform(key, tt // STEP_HOUR, 50) < 0.005
        for j, name in enumerate(POLLUTANTS):
            gap = offline | (draw_uniform(key, tt // STEP_HOUR, 51 + j) < 0.01)
            out[name] = np.where(gap, np.nan, out[name])
        ordered = {k: out[k] for k in POLLUTANTS}
        return build_frame(self._ids, t, ordered)
