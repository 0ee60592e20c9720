"""The demo's scripted scenario: a stagnant day with a PM2.5 episode, then a rainstorm.

:class:`Scenario` holds every timeline constant and magnitude in one place and the shapes (vectorised
over epoch seconds) that the series of :mod:`sample_data.series` scale: the episode's strength, the
storm's rain rate and envelope, and the dry spell before it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from sample_data.districts import lookup

__all__ = ["Scenario"]


@dataclass(frozen=True, eq=False)
class Scenario:
    """Timeline and magnitudes of the scripted demo scenario. Offsets are hours after ``start``.

    Default timeline (``start`` = 2026-06-14 00:00 Asia/Shanghai, a Sunday):

    * pollution episode: PM2.5 builds from ``episode_onset_h`` (+2 h) to its peak at
      ``episode_peak_h`` (+20 h), holds for ``episode_hold_h`` (5 h), then the storm washes it out
      over ``episode_decay_h`` (3 h). Peak PM2.5 is ``episode_pm25_peak`` in 清城区, scaled by
      ``episode_weights`` elsewhere (southern districts 150–220 µg/m³, i.e. AQI > 200 for hours).
      Rain showers are suppressed from onset to the end of the hold (a stagnant, dry spell).
    * rainstorm: a Gaussian envelope peaking at ``storm_peak_h`` (+30 h = Monday 06:00 local) with
      standard deviation ``storm_sigma_h`` (1.5 h → about 7 h of rain). Each gauge receives
      ``storm_total_mm`` × district weight × a per-gauge factor in [0.8, 1.2]; about 68 % of it falls
      in the 3 peak hours, so gauges in 清城/清新/英德/佛冈 get roughly 60–115 mm in 3 h. Each
      district's peak is shifted by ``storm_delay_h`` (the cell moves south-west → north-east).
    * rivers respond through a lag + Nash-cascade unit hydrograph on catchment rainfall (longer on
      the 北江 main stem, growing downstream); the response is calibrated so the stations named in
      ``river_targets`` (a key matches a station's name, or else its whole ``river``) reach the given
      *stage index* at the crest: 0 = normal level, 1 = warning
      level (警戒), 2 = guaranteed level (保证), linear in between (and beyond 2 at the same slope as
      between 1 and 2).
    * traffic in storm districts slows by up to ``traffic_slowdown`` × ``traffic_storm_weights``
      while it rains hard (50 % in 清城区/清新区).
    """

    start: datetime = datetime(2026, 6, 13, 16, 0, tzinfo=UTC)  # 2026-06-14 00:00 +08:00

    episode_onset_h: float = 2.0
    episode_peak_h: float = 20.0
    episode_hold_h: float = 5.0
    episode_decay_h: float = 3.0
    episode_pm25_peak: float = 190.0
    episode_weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "441802": 1.0,
            "441803": 0.92,
            "441821": 0.85,
            "441881": 0.72,
            "441823": 0.5,
            "441882": 0.38,
            "441826": 0.35,
            "441825": 0.33,
        }
    )

    storm_peak_h: float = 30.0
    storm_sigma_h: float = 1.5
    storm_total_mm: float = 140.0
    storm_weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "441802": 1.0,
            "441803": 0.95,
            "441821": 0.9,
            "441881": 0.85,
            "441823": 0.35,
            "441882": 0.15,
            "441826": 0.2,
            "441825": 0.2,
        }
    )
    storm_delay_h: Mapping[str, float] = field(
        default_factory=lambda: {"441803": -0.4, "441802": 0.0, "441821": 0.6, "441881": 1.0}
    )

    river_targets: Mapping[str, float] = field(
        default_factory=lambda: {"石角": 1.5, "清远": 1.4, "江口圩": 1.6, "源潭": 2.3, "大燕河": 1.6}
    )
    # Stage index at the crest for river stations not named above: this × the district storm weight.
    river_default_stage: float = 0.75
    # If fewer than this many named stations exist, the most responsive others are pushed to 1.3.
    min_stations_over_warning: int = 3
    reservoir_rise_fraction: float = 0.8  # of (flood_limit - normal), the crest rise at reservoirs

    traffic_slowdown: float = 0.5
    traffic_storm_weights: Mapping[str, float] = field(
        default_factory=lambda: {"441802": 1.0, "441803": 1.0, "441821": 0.6, "441881": 0.6}
    )

    def at(self, hours: float) -> datetime:
        return self.start + timedelta(hours=hours)

    @property
    def storm_peak(self) -> datetime:
        """When the rainstorm peaks (in the districts without delay)."""
        return self.at(self.storm_peak_h)

    @property
    def storm_window(self) -> tuple[datetime, datetime]:
        """Roughly when it rains (±2.5 σ around the peak, widened by the district delays)."""
        delays = list(self.storm_delay_h.values()) or [0.0]
        return (
            self.at(self.storm_peak_h + min(0.0, *delays) - 2.5 * self.storm_sigma_h),
            self.at(self.storm_peak_h + max(0.0, *delays) + 2.5 * self.storm_sigma_h),
        )

    @property
    def episode_peak(self) -> datetime:
        return self.at(self.episode_peak_h)

    @property
    def episode_window(self) -> tuple[datetime, datetime]:
        """From the onset of the pollution build-up to its wash-out."""
        return (
            self.at(self.episode_onset_h),
            self.at(self.episode_peak_h + self.episode_hold_h + self.episode_decay_h),
        )

    # -- shapes (vectorised over epoch seconds) ------------------------------------------------

    def _hours(self, t: np.ndarray) -> np.ndarray:
        return (t - self.start.timestamp()) / 3600.0

    def episode_shape(self, t: np.ndarray) -> np.ndarray:
        """0..1 strength of the pollution episode at epoch seconds ``t``."""
        h = self._hours(t)
        rise = np.clip((h - self.episode_onset_h) / (self.episode_peak_h - self.episode_onset_h), 0, 1)
        rise = rise * rise * (3 - 2 * rise)
        end_hold = self.episode_peak_h + self.episode_hold_h
        fall = np.clip((h - end_hold) / self.episode_decay_h, 0, 1)
        return rise * (1 - fall * fall * (3 - 2 * fall))

    def storm_intensity(self, t: np.ndarray, district: np.ndarray) -> np.ndarray:
        """Storm rain rate in mm/h at weight 1 × district weight (no per-gauge factor)."""
        w = lookup(self.storm_weights, district, 0.0)
        d = lookup(self.storm_delay_h, district, 0.0)
        z = (self._hours(t) - self.storm_peak_h - d) / self.storm_sigma_h
        rate = self.storm_total_mm / (self.storm_sigma_h * math.sqrt(2 * math.pi)) * np.exp(-0.5 * z * z)
        return np.where(np.abs(z) < 4.0, w * rate, 0.0)

    def storm_envelope(self, t: np.ndarray, district: np.ndarray) -> np.ndarray:
        """0..1: how hard it rains relative to the district's own peak (for impacts)."""
        d = lookup(self.storm_delay_h, district, 0.0)
        z = (self._hours(t) - self.storm_peak_h - d) / self.storm_sigma_h
        return np.exp(-0.5 * z * z)

    def dry_spell(self, t: np.ndarray) -> np.ndarray:
        h = self._hours(t)
        return (h >= self.episode_onset_h) & (h < self.episode_peak_h + self.episode_hold_h)
