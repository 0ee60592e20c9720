"""Water of the sample city: level (m, station datum) and discharge (m³/s) per hydro station every 5 min.

A station's level answers the rain on its catchment (Gaussian-distance weights over the gauges; the
北江 main stem drains everything north of it) through a lag and a two-reservoir Nash cascade. The
response is calibrated so that the scenario's storm brings each station to the stage its
``river_targets`` ask for; discharge follows a power-law rating (none at reservoirs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sample_data.catalogue import Catalogue
from sample_data.districts import lookup
from sample_data.scenario import Scenario
from sample_data.series.entities import load_entities
from sample_data.series.rain import Rainfall
from sample_data.streams import draw_normal, draw_smooth_noise, draw_uniform
from sample_data.timegrid import STEP_5MIN, build_frame, make_grid

__all__ = ["WaterLevels"]


class WaterLevels:
    """Levels and discharges at every hydro station of the catalogue, driven by ``rainfall``."""

    def __init__(self, catalogue: Catalogue, scenario: Scenario, seed: int, rainfall: Rainfall) -> None:
        self.scenario = scenario
        self._rainfall = rainfall
        stations = load_entities(catalogue, "hydro_station", seed, "hydro")
        n = len(stations)
        df = stations.frame
        self._ids, self._key = stations.ids, stations.keys
        normal = stations.numbers("normal_level_m")
        warn = stations.numbers("warning_level_m")
        guar = stations.numbers("guaranteed_level_m")
        flood_limit = stations.numbers("flood_limit_level_m")
        normal = np.where(np.isfinite(normal), normal, np.where(np.isfinite(warn), warn - 3.0, 10.0))
        warn = np.where(np.isfinite(warn), warn, normal + 3.0)
        guar = np.where(np.isfinite(guar) & (guar > warn), guar, warn + 1.5)
        self._normal = normal
        self._reservoir = stations.texts("station_type", "river") == "reservoir"
        river = stations.texts("river", "")
        names = df["name"].astype(str).to_numpy() if n else np.empty(0, dtype=object)
        lon, lat = stations.coordinates()
        main = np.array([r.strip() == "北江" for r in river], dtype=bool)
        # Response: translation lag (h) + 2-reservoir Nash cascade with time constant k (h).
        lag = np.where(main, np.clip(4.0 + 6.0 * (24.6 - lat) / 1.1, 4.0, 10.0), 1.5)
        k = np.where(main, 7.0, 2.5)
        self._lag = np.where(self._reservoir, 0.5, lag)
        self._k = np.where(self._reservoir, 12.0, k)
        self._weights = self._catchment_weights(lon, lat, main)
        # Discharge rating: Q = Qb * ((h - h0) / (normal - h0)) ** 1.6
        u = draw_uniform(self._key, np.zeros(1, dtype=np.int64), 3) if n else np.empty(0)
        self._qbase = np.where(main, 900.0 + 600.0 * u, 20.0 + 180.0 * u)
        self._h0 = normal - np.where(main, 2.5, 1.2)

        # Calibrate the gain so each station's crest under the scripted storm hits its target.
        crest = self._storm_response_peak()
        target_stage = np.full(n, np.nan)
        matched = np.zeros(n, dtype=bool)
        for i, nm in enumerate(names):
            if self._reservoir[i]:
                continue
            # A key names a station (substring of its name) or, failing that, a whole river.
            hits = [stage for key, stage in scenario.river_targets.items() if key in nm]
            hits = hits or [stage for key, stage in scenario.river_targets.items() if key == river[i].strip()]
            if hits:
                target_stage[i] = hits[0]
                matched[i] = True
        storm_w = lookup(scenario.storm_weights, stations.districts, 0.2)
        default_stage = scenario.river_default_stage * storm_w
        target_stage = np.where(matched, target_stage, default_stage)
        need = scenario.min_stations_over_warning - int(matched.sum())
        if need > 0:
            cand = [
                i
                for i in np.argsort(-crest * storm_w, kind="stable")
                if not matched[i] and not self._reservoir[i]
            ]
            for i in cand[:need]:
                target_stage[i] = 1.3
        target_level = np.where(
            target_stage <= 1.0,
            normal + target_stage * (warn - normal),
            warn + (target_stage - 1.0) * (guar - warn),
        )
        rise = target_level - normal
        fl_rise = np.where(np.isfinite(flood_limit) & (flood_limit > normal), flood_limit - normal, 1.0)
        rise = np.where(self._reservoir, scenario.reservoir_rise_fraction * fl_rise * storm_w, rise)
        self._gain = np.where(crest > 1e-6, rise / np.maximum(crest, 1e-6), 0.0)
        self._warn, self._guar = warn, guar

    def _catchment_weights(self, lon: np.ndarray, lat: np.ndarray, main: np.ndarray) -> np.ndarray:
        """(stations × gauges) weights of each gauge in a station's catchment rainfall; rows sum to 1."""
        gauges = self._rainfall
        n = len(self._ids)
        if not (n and len(gauges.ids)):
            return np.zeros((n, len(gauges.ids)))
        # Catchment rainfall: Gaussian-distance weights over the gauges (wider on the main stem).
        scale_km = np.where(main, 60.0, 18.0)
        coslat = math.cos(math.radians(24.0))
        dx = (lon[:, None] - gauges.lon[None, :]) * 111.32 * coslat
        dy = (lat[:, None] - gauges.lat[None, :]) * 110.57
        d2 = dx * dx + dy * dy
        w = np.exp(-0.5 * d2 / (scale_km[:, None] ** 2))
        # Main-stem stations drain everything upstream (north) of them: favour northern gauges.
        up = np.where(main[:, None], np.where(gauges.lat[None, :] >= lat[:, None] - 0.05, 1.0, 0.25), 1.0)
        w = w * up + 1e-12
        return w / w.sum(axis=1, keepdims=True)

    def _unit_hydrographs(self) -> tuple[np.ndarray, int]:
        """Per-station unit hydrograph on the 5-min grid (rows sum to 1) and its length."""
        n = len(self._ids)
        if n == 0:
            return np.zeros((0, 1)), 1
        horizon_h = float(np.max(self._lag + 10.0 * self._k))
        L = math.ceil(horizon_h * 12) + 1
        tau = np.arange(L, dtype=np.float64) / 12.0
        x = np.clip(tau[None, :] - self._lag[:, None], 0.0, None) / self._k[:, None]
        uh = x * np.exp(-x)
        uh /= uh.sum(axis=1, keepdims=True)
        return uh, L

    def _response(self, t: np.ndarray, rain_fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Routed catchment rainfall (mm per 5 min, convolved) per station at instants ``t``."""
        n = len(self._ids)
        if n == 0 or len(t) == 0:
            return np.zeros((n, len(t)))
        uh, L = self._unit_hydrographs()
        tt = np.arange(t[0] - (L - 1) * STEP_5MIN, t[-1] + 1, STEP_5MIN, dtype=np.int64)
        gauge = rain_fn(tt)  # (gauges, len(tt))
        basin = self._weights @ gauge if gauge.shape[0] else np.zeros((n, len(tt)))
        out = np.empty((n, len(tt) - L + 1))
        for i in range(n):
            out[i] = np.convolve(basin[i], uh[i], mode="valid")
        idx = (t - tt[0]) // STEP_5MIN - (L - 1)
        return out[:, idx]

    def _storm_response_peak(self) -> np.ndarray:
        sc = self.scenario
        n = len(self._ids)
        if n == 0:
            return np.zeros(0)
        t0 = int(sc.start.timestamp()) // STEP_5MIN * STEP_5MIN
        t = np.arange(
            t0 + int((sc.storm_peak_h - 8) * 3600) // STEP_5MIN * STEP_5MIN,
            t0 + int((sc.storm_peak_h + 72) * 3600),
            STEP_5MIN,
            dtype=np.int64,
        )
        resp = self._response(t, lambda tt: self._rainfall.matrix(tt, storm_only=True))
        return resp.max(axis=1)

    def frame(self, start: Any, end: Any) -> pd.DataFrame:
        """Rows ``entity_id, ts, level_m, discharge_m3s`` for ``start <= ts < end``."""
        t = make_grid(start, end, STEP_5MIN)
        resp = self._response(t, self._rainfall.matrix)
        key = self._key[:, None]
        noise = 0.012 * draw_smooth_noise(key, t[None, :], 3 * 3600, 21) + 0.004 * draw_normal(
            key, t[None, :] // STEP_5MIN, 22
        )
        level = self._normal[:, None] + self._gain[:, None] * resp + noise
        ratio = np.clip((level - self._h0[:, None]) / (self._normal - self._h0)[:, None], 0.05, None)
        q = self._qbase[:, None] * ratio**1.6
        q = np.where(self._reservoir[:, None], np.nan, np.round(q, 1))
        return build_frame(self._ids, t, {"level_m": np.round(level, 2), "discharge_m3s": q})

    def thresholds(self) -> pd.DataFrame:
        """Per hydro station: normal, warning and guaranteed levels as used by the generator."""
        return pd.DataFrame(
            {
                "entity_id": self._ids.astype(str),
                "normal_level_m": self._normal,
                "warning_level_m": self._warn,
                "guaranteed_level_m": self._guar,
                "reservoir": self._reservoir,
            }
        )
