"""Server-side aggregation of many map points, chosen by zoom level.

The browser should receive aggregates, not thousands of raw points. :func:`aggregate_points` returns the
points in view unchanged when there are few of them (mode ``"points"``) and otherwise one row per
non-empty square grid cell (mode ``"cells"``).

Grid: at zoom level ``z`` (MapLibre/Plotly ``map`` zoom; fractional zooms are floored to the level
``floor(z)`` so the grid does not change while zooming between levels) a cell is

    cell_size_deg(z) = 360 / 2 ** (floor(z) + 3)   degrees of longitude and of latitude

which is 1/8 of the world's width at zoom 0 and halves with each level, so a cell is about 64 screen
pixels wide at any zoom (MapLibre draws the world 512 * 2**z px wide; a cell is a little taller than
wide away from the equator, by 1/cos(latitude) in Web Mercator: 9 % at Qingyuan). Cell edges are aligned
to a global grid starting at lon -180, lat -90 (``ix = floor((lon + 180) / size)``,
``iy = floor((lat + 90) / size)``), so panning never moves the cells; only points inside the bounding box
are counted, so a cell on the edge of the view aggregates only its visible points.

Pure: frames in, frames out.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["AggregateMode", "aggregate_points", "cell_size_deg", "zoom_level"]

AggregateMode = Literal["points", "cells"]
BBox = tuple[float, float, float, float]

#: Levels are clipped to this range (level 30 is a cell of about 4 cm).
MAX_LEVEL = 30
_HOW = ("mean", "max", "min", "sum", "count")


def zoom_level(zoom: float) -> int:
    """The integer grid level of a (possibly fractional) map zoom: ``floor(zoom)`` clipped to 0..30."""
    z = float(zoom)
    if math.isnan(z):
        raise ValueError("zoom is NaN")
    return int(min(max(math.floor(z), 0), MAX_LEVEL))


def cell_size_deg(zoom: float) -> float:
    """Side of a grid cell in degrees at ``zoom``: ``360 / 2 ** (floor(zoom) + 3)`` (45° at zoom 0)."""
    return 360.0 / 2.0 ** (zoom_level(zoom) + 3)


def _check_bbox(bbox: BBox) -> BBox:
    if len(bbox) != 4:
        raise ValueError("bbox must be (lon0, lat0, lon1, lat1)")
    lon0, lat0, lon1, lat1 = (float(v) for v in bbox)
    if not (lon0 < lon1 and lat0 < lat1):
        raise ValueError(f"bbox {bbox!r} must satisfy lon0 < lon1 and lat0 < lat1")
    return lon0, lat0, lon1, lat1


def aggregate_points(
    frame: pd.DataFrame,
    *,
    bbox: BBox | None = None,
    zoom: float,
    max_points: int = 500,
    how: Literal["mean", "max", "min", "sum", "count"] = "mean",
    value: str = "value",
) -> tuple[pd.DataFrame, AggregateMode]:
    """The points of ``frame`` (columns ``lon``, ``lat``, ``value``, ...) to draw at ``zoom`` in ``bbox``.

    Points outside ``bbox`` (edges included in the view) and points with NaN coordinates are dropped.
    When at most ``max_points`` remain, they are returned as they are (all columns, original index) with
    mode ``"points"``. Otherwise the result has mode ``"cells"`` and one row per non-empty cell, sorted by
    cell: ``cell_x``, ``cell_y`` (global integer cell indices at this level), ``lon``, ``lat`` (the cell's
    centre), ``lon0``, ``lat0``, ``lon1``, ``lat1`` (its edges), ``count`` (points in it, inside the bbox) and
    ``value`` aggregated with ``how`` over the non-missing values ("count" counts them; the column is
    omitted when the frame has no ``value`` column and ``how`` is "count").
    """
    if how not in _HOW:
        raise ValueError(f"how must be one of {', '.join(_HOW)}, not {how!r}")
    if max_points < 0:
        raise ValueError("max_points must be >= 0")
    if "lon" not in frame.columns or "lat" not in frame.columns:
        raise ValueError("frame needs 'lon' and 'lat' columns (degrees)")
    has_value = value in frame.columns
    if not has_value and how != "count":
        raise ValueError(f"frame has no {value!r} column to aggregate with how={how!r}")
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    keep = np.isfinite(lon) & np.isfinite(lat)
    if bbox is not None:
        lon0, lat0, lon1, lat1 = _check_bbox(bbox)
        keep &= (lon >= lon0) & (lon <= lon1) & (lat >= lat0) & (lat <= lat1)
    if int(keep.sum()) <= max_points:
        return frame.loc[keep].copy(), "points"

    size = cell_size_deg(zoom)
    lon, lat = lon[keep], lat[keep]
    ix = np.floor((lon + 180.0) / size).astype(np.int64)
    iy = np.floor((lat + 90.0) / size).astype(np.int64)
    work = pd.DataFrame({"cell_x": ix, "cell_y": iy})
    if has_value:
        vals = pd.to_numeric(frame[value], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        work["_v"] = vals[keep]
    groups = work.groupby(["cell_x", "cell_y"], sort=True)
    cells = groups.size().rename("count").reset_index()
    if has_value:
        agg = groups["_v"].agg(how).reset_index(drop=True)
        cells[value] = agg.to_numpy(dtype=np.int64 if how == "count" else np.float64)
    cx = cells["cell_x"].to_numpy(dtype=np.float64)
    cy = cells["cell_y"].to_numpy(dtype=np.float64)
    cells.insert(2, "lon", -180.0 + (cx + 0.5) * size)
    cells.insert(3, "lat", -90.0 + (cy + 0.5) * size)
    cells.insert(4, "lon0", -180.0 + cx * size)
    cells.insert(5, "lat0", -90.0 + cy * size)
    cells.insert(6, "lon1", -180.0 + (cx + 1.0) * size)
    cells.insert(7, "lat1", -90.0 + (cy + 1.0) * size)
    cells["count"] = cells["count"].astype(np.int64)
    return cells, "cells"
