"""Tests for geo.aggregate: raw points when few, square grid cells by zoom when many."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.aggregate import aggregate_points, cell_size_deg, zoom_level

CITY_BBOX = (111.92, 23.45, 113.93, 25.20)


def random_points(n: int, seed: int = 7, bbox: tuple[float, float, float, float] = CITY_BBOX) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lon0, lat0, lon1, lat1 = bbox
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "lon": rng.uniform(lon0, lon1, n),
            "lat": rng.uniform(lat0, lat1, n),
            "value": rng.gamma(2.0, 20.0, n),
        }
    )


def test_cell_size_halves_with_each_zoom_level() -> None:
    assert cell_size_deg(0) == 45.0
    assert [cell_size_deg(z) for z in range(1, 5)] == [22.5, 11.25, 5.625, 2.8125]
    assert cell_size_deg(9.99) == cell_size_deg(9) == 360 / 2**12  # fractional zooms are floored
    assert zoom_level(-3) == 0 and zoom_level(99) == 30
    with pytest.raises(ValueError, match="NaN"):
        zoom_level(float("nan"))


def test_many_points_become_a_bounded_number_of_cells() -> None:
    pts = random_points(10_000)
    bbox = (112.0, 23.5, 113.5, 24.8)
    zoom = 8.4
    cells, mode = aggregate_points(pts, bbox=bbox, zoom=zoom, max_points=500)
    assert mode == "cells"
    size = cell_size_deg(zoom)  # 360 / 2**11 = 0.17578125°
    bound = (math.ceil((bbox[2] - bbox[0]) / size) + 1) * (math.ceil((bbox[3] - bbox[1]) / size) + 1)
    assert 0 < len(cells) <= bound <= 100
    in_bbox = pts["lon"].between(bbox[0], bbox[2]) & pts["lat"].between(bbox[1], bbox[3])
    assert cells["count"].sum() == in_bbox.sum() < len(pts)
    assert list(cells.columns) == [
        "cell_x",
        "cell_y",
        "lon",
        "lat",
        "lon0",
        "lat0",
        "lon1",
        "lat1",
        "count",
        "value",
    ]
    # Every cell centre sits on the global grid, half a cell from its edges.
    np.testing.assert_allclose(cells["lon1"] - cells["lon0"], size)
    np.testing.assert_allclose(
        (cells["lon0"] + 180.0) / size, np.round((cells["lon0"] + 180.0) / size), atol=1e-9
    )
    np.testing.assert_allclose(cells["lon"], cells["lon0"] + size / 2)
    np.testing.assert_allclose(cells["lat"], cells["lat0"] + size / 2)
    # The whole city at a lower zoom: fewer, larger cells, all points counted.
    whole, mode = aggregate_points(pts, bbox=None, zoom=6, max_points=500)
    assert mode == "cells" and whole["count"].sum() == 10_000 and len(whole) < len(cells)


def test_zooming_in_returns_raw_points() -> None:
    pts = random_points(10_000)
    bbox = (113.00, 23.60, 113.10, 23.70)  # a 0.1° box holds about 28 of the points
    raw, mode = aggregate_points(pts, bbox=bbox, zoom=13, max_points=500)
    assert mode == "points"
    inside = pts[pts["lon"].between(113.0, 113.1) & pts["lat"].between(23.6, 23.7)]
    assert 0 < len(raw) <= 500
    pd.testing.assert_frame_equal(raw, inside)  # unchanged rows, all columns, original index


def test_mean_max_count_on_a_small_grid_by_hand() -> None:
    # Zoom 5: cells of 360 / 2**8 = 1.40625°. Global cell edges near here: lon 112.5 and 113.90625,
    # lat 22.5 and 23.90625 (-180 + 208 * 1.40625 = 112.5; -90 + 80 * 1.40625 = 22.5).
    pts = pd.DataFrame(
        {
            "lon": [112.6, 113.0, 113.8, 113.95, 114.2, 112.4],
            "lat": [23.0, 23.5, 23.8, 23.2, 23.0, 23.0],
            "value": [10.0, 20.0, np.nan, 40.0, 60.0, 1000.0],
        }
    )
    bbox = (112.5, 22.6, 115.0, 23.85)  # excludes the last point (lon 112.4)
    cells, mode = aggregate_points(pts, bbox=bbox, zoom=5.7, max_points=2)
    assert mode == "cells"
    assert cells[["cell_x", "cell_y"]].values.tolist() == [[208, 80], [209, 80]]
    np.testing.assert_allclose(cells["lon"], [112.5 + 1.40625 / 2, 113.90625 + 1.40625 / 2])
    np.testing.assert_allclose(cells["lat"], [22.5 + 1.40625 / 2] * 2)
    assert cells["count"].tolist() == [3, 2]
    np.testing.assert_allclose(cells["value"], [(10.0 + 20.0) / 2, (40.0 + 60.0) / 2])  # NaN ignored
    biggest, _ = aggregate_points(pts, bbox=bbox, zoom=5, max_points=2, how="max")
    assert biggest["value"].tolist() == [20.0, 60.0]
    counted, _ = aggregate_points(pts[["lon", "lat"]], bbox=bbox, zoom=5, max_points=2, how="count")
    assert "value" not in counted.columns and counted["count"].tolist() == [3, 2]


def test_points_outside_the_bbox_and_without_coordinates_are_excluded() -> None:
    pts = pd.DataFrame(
        {
            "lon": [113.0, 113.05, 120.0, np.nan, 113.02],
            "lat": [23.6, 23.65, 23.6, 23.6, np.nan],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    raw, mode = aggregate_points(pts, bbox=(112.9, 23.5, 113.1, 23.7), zoom=10)
    assert mode == "points" and raw.index.tolist() == [0, 1]
    cells, mode = aggregate_points(pts, bbox=(112.9, 23.5, 113.1, 23.7), zoom=10, max_points=1)
    assert mode == "cells" and cells["count"].sum() == 2 and cells["value"].sum() == 3.0


def test_bad_arguments() -> None:
    pts = random_points(10)
    with pytest.raises(ValueError, match="lon0 < lon1"):
        aggregate_points(pts, bbox=(113.0, 23.0, 112.0, 24.0), zoom=5)
    with pytest.raises(ValueError, match="how must be"):
        aggregate_points(pts, zoom=5, how="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no 'level' column"):
        aggregate_points(pts, zoom=5, value="level")


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    zoom=st.floats(0, 16),
    dx=st.floats(-5.0, 5.0),
    dy=st.floats(-5.0, 5.0),
)
def test_panning_keeps_cells_aligned(seed: int, zoom: float, dx: float, dy: float) -> None:
    """Cells come from a global grid: a point falls in the same cell whatever the view, and counts add up."""
    pts = random_points(800, seed=seed)
    view_a = (CITY_BBOX[0] + dx, CITY_BBOX[1] + dy, CITY_BBOX[2] + dx + 1.0, CITY_BBOX[3] + dy + 1.0)
    full, mode_full = aggregate_points(pts, bbox=None, zoom=zoom, max_points=0)
    part, mode_part = aggregate_points(pts, bbox=view_a, zoom=zoom, max_points=0)
    assert mode_full == "cells" and full["count"].sum() == len(pts)
    if len(part):
        assert mode_part == "cells"
        merged = part.merge(full, on=["cell_x", "cell_y"], suffixes=("", "_full"))
        assert len(merged) == len(part)  # every visible cell is a cell of the global grid
        assert (merged["count"] <= merged["count_full"]).all()
        np.testing.assert_array_equal(merged["lon"], merged["lon_full"])
