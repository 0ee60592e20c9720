"""Plausibility of mapped rows: could the city really have measured this? Pure: frames in, frames out.

Checked after mapping and before the schema validation:

- a value outside its metric's physical range becomes null (the rest of the row lands); when the value
  is about 1000× too large for the range, it is named a likely unit slip (µg/m³ sent where mg/m³ is
  declared);
- a point outside the city's extent (the districts' bounding box with a margin) refuses its row; when
  the point with latitude and longitude swapped is inside, the reason says so;
- a time before the earliest plausible date or older than the feed's backfill window refuses its row;
- a domain whose computation needs readings on a time grid (air on the hour) gets them moved onto the
  grid within a tolerance; a reading further off refuses its row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cityops.base.domains import Domain, unit_smaller_by
from ingest.parse import ROW
from ingest.reasons import make_reason

# A value above its range is named a likely unit slip when, divided by this factor, it is in range and
# the column's unit has a sibling this many times smaller (µg/m³ for mg/m³, kPa for MPa).
UNIT_SLIP_FACTOR = 1000.0
# ... and it is more than this many times the maximum (just above the range is just out of range).
UNIT_SLIP_MIN_EXCESS = 2.0
_KM_PER_DEG_LAT = 111.32


@dataclass(frozen=True)
class Extent:
    """A bounding box in WGS-84 degrees."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return (lon >= self.min_lon) & (lon <= self.max_lon) & (lat >= self.min_lat) & (lat <= self.max_lat)

    def text(self) -> str:
        return f"lon {self.min_lon:.3f}…{self.max_lon:.3f}, lat {self.min_lat:.3f}…{self.max_lat:.3f}"


def _positions(node: Any) -> Iterable[tuple[float, float]]:
    if isinstance(node, list | tuple):
        if len(node) >= 2 and all(isinstance(v, int | float) for v in node[:2]):
            yield float(node[0]), float(node[1])
        else:
            for child in node:
                yield from _positions(child)


def extent_of(geometries: Iterable[Any], margin_km: float) -> Extent | None:
    """The bounding box of GeoJSON geometries (dicts or JSON text), widened by ``margin_km``; None
    when there are none (no districts loaded: nothing to check against)."""
    lons: list[float] = []
    lats: list[float] = []
    for geom in geometries:
        if isinstance(geom, str):
            try:
                geom = json.loads(geom)
            except json.JSONDecodeError:
                continue
        if isinstance(geom, dict):
            for lon, lat in _positions(geom.get("coordinates")):
                lons.append(lon)
                lats.append(lat)
    if not lons:
        return None
    mid_lat = (min(lats) + max(lats)) / 2
    dlat = margin_km / _KM_PER_DEG_LAT
    dlon = margin_km / (_KM_PER_DEG_LAT * max(math.cos(math.radians(mid_lat)), 0.01))
    return Extent(min(lons) - dlon, min(lats) - dlat, max(lons) + dlon, max(lats) + dlat)


@dataclass(frozen=True)
class Grid:
    step: timedelta
    tolerance: timedelta
    direction: str = "nearest"  # nearest | floor


@dataclass(frozen=True)
class Plausibility:
    """What a payload's rows are checked against (built per run from settings and districts)."""

    earliest: datetime | None = None  # naive UTC
    backfill_from: datetime | None = None  # naive UTC: now − the feed's backfill window
    extent: Extent | None = None
    grid: Grid | None = None
    timezone: str = "UTC"  # the city's: a grid (daily at midnight, every 6 h from 00:00) is on its clock


@dataclass
class Checked:
    frame: pd.DataFrame
    rejects: list[tuple[int, str]]  # whole rows
    cells: list[tuple[int, str]]  # cells made null


def check_plausible(frame: pd.DataFrame, domain: Domain, checks: Plausibility) -> Checked:
    """Apply the checks to mapped rows (index 0..n-1, with ROW)."""
    frame = frame.reset_index(drop=True)
    rejects: list[tuple[int, str]] = []
    cells: list[tuple[int, str]] = []
    if frame.empty:
        return Checked(frame, rejects, cells)
    rows = frame[ROW].to_numpy()
    if domain.storage != "record":
        frame = _check_ranges(frame, domain, rows, cells)
    _check_extent(frame, checks.extent, rows, rejects)
    time_col = domain.time_column
    if time_col in frame:
        ts = frame[time_col]
        if checks.earliest is not None:
            early = (ts < pd.Timestamp(checks.earliest)).to_numpy()
            for i in np.flatnonzero(early):
                rejects.append(
                    (
                        int(rows[i]),
                        make_reason(
                            "too_early",
                            f"{time_col}: {ts.iloc[i]:%Y-%m-%d %H:%M} UTC is before the earliest "
                            f"plausible date {checks.earliest:%Y-%m-%d}",
                            column=time_col,
                            value=f"{ts.iloc[i]:%Y-%m-%d %H:%M}",
                            earliest=f"{checks.earliest:%Y-%m-%d}",
                        ),
                    )
                )
        if checks.backfill_from is not None:
            old = (ts < pd.Timestamp(checks.backfill_from)).to_numpy()
            if checks.earliest is not None:
                old = old & ~(ts < pd.Timestamp(checks.earliest)).to_numpy()
            for i in np.flatnonzero(old):
                rejects.append(
                    (
                        int(rows[i]),
                        make_reason(
                            "before_backfill",
                            f"{time_col}: {ts.iloc[i]:%Y-%m-%d %H:%M} UTC is older than the feed's "
                            f"backfill window (from {checks.backfill_from:%Y-%m-%d %H:%M} UTC)",
                            column=time_col,
                            value=f"{ts.iloc[i]:%Y-%m-%d %H:%M}",
                            since=f"{checks.backfill_from:%Y-%m-%d %H:%M}",
                        ),
                    )
                )
        if checks.grid is not None and domain.storage != "record":
            frame = _snap_to_grid(frame, time_col, checks.grid, checks.timezone, rows, rejects)
    return Checked(frame, rejects, cells)


def _check_ranges(
    frame: pd.DataFrame, domain: Domain, rows: np.ndarray, cells: list[tuple[int, str]]
) -> pd.DataFrame:
    for col in domain.columns:
        if col.type not in ("float", "int") or col.name not in frame or col.required:
            continue
        if col.min is None and col.max is None:
            continue
        values = frame[col.name].to_numpy(dtype="float64", na_value=np.nan)
        lo = -np.inf if col.min is None else col.min
        hi = np.inf if col.max is None else col.max
        with np.errstate(invalid="ignore"):
            outside = ~np.isnan(values) & ((values < lo) | (values > hi))
        if not outside.any():
            continue
        unit = f" {col.unit}" if col.unit else ""
        slip_unit = unit_smaller_by(col.unit, UNIT_SLIP_FACTOR) if col.unit else None
        for i in np.flatnonzero(outside):
            v = float(values[i])
            slipped = v / UNIT_SLIP_FACTOR
            params = {
                "column": col.name,
                "value": f"{v:g}",
                "min": f"{lo:g}",
                "max": f"{hi:g}",
                "unit": col.unit,
            }
            if slip_unit and v > UNIT_SLIP_MIN_EXCESS * hi and lo <= slipped <= hi:
                reason = make_reason(
                    "cell_unit_slip",
                    f"{col.name}: {v:g}{unit} is outside the plausible range [{lo:g}, {hi:g}]{unit} "
                    f"but {slipped:g}{unit} would be plausible: likely sent in {slip_unit}, not "
                    f"{col.unit}; check the feed's [units]",
                    sent_unit=slip_unit,
                    **params,
                )
            else:
                reason = make_reason(
                    "cell_out_of_range",
                    f"{col.name}: {v:g}{unit} is outside the plausible range [{lo:g}, {hi:g}]{unit}",
                    **params,
                )
            cells.append((int(rows[i]), reason))
        frame[col.name] = frame[col.name].mask(pd.Series(outside, index=frame.index))
    return frame


def _check_extent(
    frame: pd.DataFrame, extent: Extent | None, rows: np.ndarray, rejects: list[tuple[int, str]]
) -> None:
    if extent is None or "lon" not in frame or "lat" not in frame:
        return
    lon = frame["lon"].to_numpy(dtype="float64", na_value=np.nan)
    lat = frame["lat"].to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(lon) & ~np.isnan(lat)
    outside = known & ~extent.contains(lon, lat)
    swapped = outside & extent.contains(lat, lon)
    for i in np.flatnonzero(outside):
        params = {"lon": f"{lon[i]:.5f}", "lat": f"{lat[i]:.5f}", "extent": extent.text()}
        if swapped[i]:
            reason = make_reason(
                "latlon_swapped",
                f"point ({lon[i]:.5f}, {lat[i]:.5f}) is outside the city; with longitude and latitude "
                "swapped it is inside: the department likely sent them the other way round",
                **params,
            )
        else:
            reason = make_reason(
                "outside_extent",
                f"point ({lon[i]:.5f}, {lat[i]:.5f}) is outside the city's extent ({extent.text()})",
                **params,
            )
        rejects.append((int(rows[i]), reason))


def _grid_times(ts: pd.Series, step: pd.Timedelta, direction: str, tz: str) -> pd.Series:
    """The grid time of each naive UTC time in ``ts``; the grid is the times whose clock reading in
    ``tz`` is a multiple of ``step`` (a 1-day grid is local midnight). Near a clock change the grid time
    is the nearest such instant (``floor``: the latest at or before the reading); a grid time the clock
    skips is the first instant after the change."""
    zone = ZoneInfo(tz)
    wall = ts.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
    below = wall.dt.floor(step)
    n = len(ts)
    candidates = np.stack(
        [
            (below + shift)
            .dt.tz_localize(zone, ambiguous=np.full(n, summer), nonexistent="shift_forward")
            .dt.tz_convert("UTC")
            .dt.tz_localize(None)
            .to_numpy(dtype="datetime64[us]")
            for shift in (pd.Timedelta(0), step)
            for summer in (True, False)
        ]
    )
    offsets = (ts.to_numpy(dtype="datetime64[us]") - candidates).astype(np.int64)
    if direction == "floor":
        distance = np.where(offsets >= 0, offsets, np.iinfo(np.int64).max)
    else:
        distance = np.abs(offsets)
    best = np.argmin(distance, axis=0)
    chosen = candidates[best, np.arange(n)]
    return pd.Series(chosen, index=ts.index).where(ts.notna()).astype(ts.dtype)


def _snap_to_grid(
    frame: pd.DataFrame,
    time_col: str,
    grid: Grid,
    tz: str,
    rows: np.ndarray,
    rejects: list[tuple[int, str]],
) -> pd.DataFrame:
    ts = frame[time_col]
    known = ts.notna().to_numpy()
    step = pd.Timedelta(grid.step)
    target = _grid_times(ts, step, grid.direction, tz)
    off = (ts - target).abs()
    tolerance = pd.Timedelta(grid.tolerance)
    far = known & (off > tolerance).to_numpy()
    for i in np.flatnonzero(far):
        rejects.append(
            (
                int(rows[i]),
                make_reason(
                    "off_grid",
                    f"{time_col}: {ts.iloc[i]:%Y-%m-%d %H:%M:%S} UTC is {_minutes(off.iloc[i])} from the "
                    f"{_minutes(step)} grid this domain needs (tolerance {_minutes(tolerance)})",
                    column=time_col,
                    value=f"{ts.iloc[i]:%Y-%m-%d %H:%M:%S}",
                    step=_minutes(step),
                    tolerance=_minutes(tolerance),
                ),
            )
        )
    snap = known & ~far
    if snap.any():
        frame[time_col] = ts.where(~pd.Series(snap, index=frame.index), target).astype(ts.dtype)
    return frame


def _minutes(delta: pd.Timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}min"
    return f"{seconds}s"
