"""Tests for geo.spatial on tiny synthetic geometries (explicit CRS) and on the demo city."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPoint, Point, box, mapping, shape

from geo.boundaries import load_districts
from geo.layers import load_layer, to_datum
from geo.spatial import (
    SpatialInputError,
    aggregate_by_polygon,
    assign_to_polygons,
    buffer_km,
    geodesic_km,
    nearest,
    within_buffer,
    within_radius,
)

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "sample_data" / "qingyuan"
R_KM = 6371.0088  # mean Earth radius


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R_KM * math.asin(math.sqrt(a))


def north_of(lon: float, lat: float, km: float) -> tuple[float, float]:
    """The point ``km`` due north on the sphere."""
    return lon, lat + math.degrees(km / R_KM)


def squares() -> gpd.GeoDataFrame:
    """Three 0.1° squares side by side near Qingyuan: A [113.0, 113.1], B [113.1, 113.2], C [113.2, 113.3]."""
    return gpd.GeoDataFrame(
        {"code": ["A", "B", "C"], "name": ["甲", "乙", "丙"]},
        geometry=[
            box(113.0, 23.6, 113.1, 23.7),
            box(113.1, 23.6, 113.2, 23.7),
            box(113.2, 23.6, 113.3, 23.7),
        ],
        crs="EPSG:4326",
    )


# ------------------------------------------------------------------------------------------------------------
# assign_to_polygons
# ------------------------------------------------------------------------------------------------------------


def test_assign_to_polygons_synthetic() -> None:
    lon = np.array([113.05, 113.15, 113.25, 113.5, np.nan, 113.1])
    lat = np.array([23.65, 23.65, 23.61, 23.65, 23.65, 23.65])
    codes = assign_to_polygons(lon, lat, squares(), "code")
    # The point on the shared A|B border goes to the first polygon in frame order.
    assert codes.tolist() == ["A", "B", "C", None, None, "A"]
    assert assign_to_polygons(np.array([]), np.array([]), squares(), "code").tolist() == []


def test_assign_to_polygons_transforms_a_projected_polygon_frame() -> None:
    utm = squares().to_crs("EPSG:32649")  # UTM zone 49N, metres
    codes = assign_to_polygons([113.05, 113.15, 113.25], [23.65, 23.65, 23.65], utm, "code")
    assert codes.tolist() == ["A", "B", "C"]


def test_assign_to_polygons_accepts_geojson_text_frames() -> None:
    frame = pd.DataFrame(
        {"code": ["A", "B"], "geometry": [json.dumps(mapping(g)) for g in squares().geometry[:2]]}
    )
    assert assign_to_polygons([113.15, 113.05], [23.65, 23.65], frame, "code").tolist() == ["B", "A"]


def test_inputs_must_carry_a_crs_or_lon_lat() -> None:
    no_crs = squares().set_crs(None, allow_override=True)
    with pytest.raises(SpatialInputError, match="has no CRS"):
        assign_to_polygons([113.0], [23.6], no_crs, "code")
    with pytest.raises(SpatialInputError, match="no column 'district'"):
        assign_to_polygons([113.0], [23.6], squares(), "district")
    with pytest.raises(SpatialInputError, match="'lon' and 'lat' columns"):
        within_radius(pd.DataFrame({"x": [1.0], "y": [2.0]}), 113.0, 23.6, 1.0)


# ------------------------------------------------------------------------------------------------------------
# Distances: nearest, within_radius, within_buffer (checked against a haversine)
# ------------------------------------------------------------------------------------------------------------


STATIONS = pd.DataFrame(
    {
        "entity_id": ["S1", "S2", "S3"],
        "lon": [113.00, 113.10, 113.30],
        "lat": [23.70, 23.70, 23.70],
    }
)
INCIDENTS = pd.DataFrame(
    {
        "incident": ["i1", "i2", "i3", "i4"],
        "lon": [113.01, 113.08, 113.22, 114.50],
        "lat": [23.71, 23.69, 23.70, 23.70],
    },
    index=[10, 11, 12, 13],
)


def _stations_gdf(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        STATIONS[["entity_id"]],
        geometry=gpd.points_from_xy(STATIONS["lon"], STATIONS["lat"]),
        crs="EPSG:4326",
    )
    return gdf.to_crs(crs)


def test_geodesic_agrees_with_haversine() -> None:
    # The sphere and the ellipsoid differ by well under 0.5 %.
    got = geodesic_km(113.0, 23.7, 113.3, 24.0)
    assert got == pytest.approx(haversine_km(113.0, 23.7, 113.3, 24.0), rel=5e-3)
    assert math.isnan(geodesic_km(np.nan, 23.7, 113.3, 24.0))


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:3857", "EPSG:32649"])
def test_nearest_station_by_hand(crs: str) -> None:
    result = nearest(INCIDENTS, _stations_gdf(crs))
    assert list(result.index) == [10, 11, 12, 13]
    # i1 is next to S1, i2 is closer to S2 (0.022° vs 0.08°), i3 is 0.08° from S3 and 0.12° from S2,
    # i4 is 1.2° east of S3.
    assert result["nearest_id"].tolist() == ["S1", "S2", "S3", "S3"]
    expected = [
        haversine_km(113.01, 23.71, 113.00, 23.70),
        haversine_km(113.08, 23.69, 113.10, 23.70),
        haversine_km(113.22, 23.70, 113.30, 23.70),
        haversine_km(114.50, 23.70, 113.30, 23.70),
    ]
    np.testing.assert_allclose(result["distance_km"], expected, rtol=5e-3)


def test_nearest_with_max_km_and_missing_coordinates() -> None:
    incidents = pd.concat(
        [INCIDENTS, pd.DataFrame({"incident": ["nan"], "lon": [np.nan], "lat": [23.7]}, index=[14])]
    )
    result = nearest(incidents, STATIONS, max_km=10.0)
    assert result["nearest_id"].tolist() == ["S1", "S2", "S3", None, None]
    assert result["distance_km"].isna().tolist() == [False, False, False, True, True]
    by_index = nearest(INCIDENTS, STATIONS.set_index("entity_id"), key=None)
    assert by_index["nearest_id"].tolist() == ["S1", "S2", "S3", "S3"]


def test_nearest_line_target() -> None:
    rivers = gpd.GeoDataFrame(
        {"name": ["west", "east"]},
        geometry=[LineString([(113.0, 23.5), (113.0, 23.9)]), LineString([(113.2, 23.5), (113.2, 23.9)])],
        crs="EPSG:4326",
    )
    pts = pd.DataFrame({"lon": [113.03, 113.15], "lat": [23.7, 23.7]})
    result = nearest(pts, rivers, key="name")
    assert result["nearest_id"].tolist() == ["west", "east"]
    # Perpendicular to a meridian at 23.7°N: the distance along the parallel.
    np.testing.assert_allclose(
        result["distance_km"],
        [haversine_km(113.03, 23.7, 113.0, 23.7), haversine_km(113.15, 23.7, 113.2, 23.7)],
        rtol=5e-3,
    )


def test_within_radius_by_hand() -> None:
    centre = (113.10, 23.70)
    pts = pd.DataFrame({"id": ["in", "edge-in", "edge-out", "out", "nan"]})
    coords_ = [
        north_of(*centre, 0.5),
        north_of(*centre, 1.95),
        north_of(*centre, 2.05),
        (113.2, 23.7),
        (np.nan, 1.0),
    ]
    pts["lon"] = [c[0] for c in coords_]
    pts["lat"] = [c[1] for c in coords_]
    got = within_radius(pts, *centre, 2.0)
    assert got["id"].tolist() == ["in", "edge-in"]
    expected = [haversine_km(*centre, *coords_[0]), haversine_km(*centre, *coords_[1])]
    np.testing.assert_allclose(got["distance_km"], expected, rtol=5e-3)


def test_within_buffer_of_a_line_and_of_stations() -> None:
    # A river along the parallel 23.7°N from 113.0 to 113.2, and points due north of its middle.
    river = LineString([(113.0, 23.7), (113.2, 23.7)])
    pts = pd.DataFrame({"id": ["a", "b", "c", "d"]})
    coords_ = [
        north_of(113.1, 23.7, 1.0),
        north_of(113.1, 23.7, 1.9),
        north_of(113.1, 23.7, 2.1),
        (113.25, 23.7),
    ]
    pts["lon"] = [c[0] for c in coords_]
    pts["lat"] = [c[1] for c in coords_]
    got = within_buffer(pts, river, 2.0)
    assert got["id"].tolist() == ["a", "b"]
    # The meridian radius of curvature at 23.7°N is 0.4 % below the mean radius used by north_of.
    np.testing.assert_allclose(got["distance_km"], [1.0, 1.9], rtol=5e-3)
    # Beyond the end of the line the distance is to the end point.
    far = within_buffer(pts, river, 6.0)
    assert far["id"].tolist() == ["a", "b", "c", "d"]
    assert far["distance_km"].iloc[3] == pytest.approx(haversine_km(113.25, 23.7, 113.2, 23.7), rel=5e-3)

    # Incidents within 2 km of any station above warning level (S1 and S3 here), given in UTM.
    above = _stations_gdf("EPSG:32649").iloc[[0, 2]]
    near = within_buffer(INCIDENTS, above, 2.0)
    assert near["incident"].tolist() == ["i1"]
    assert within_buffer(INCIDENTS, MultiPoint([(113.0, 23.7), (113.3, 23.7)]), 2.0)["incident"].tolist() == [
        "i1"
    ]


def test_buffer_km_is_metric() -> None:
    ring = buffer_km(Point(113.1, 23.7), 2.0)
    xy = shapely.get_coordinates(ring)
    dists = [haversine_km(113.1, 23.7, x, y) for x, y in xy]
    np.testing.assert_allclose(dists, 2.0, rtol=5e-3)  # a circle on the ground, not in degrees
    assert ring.contains(Point(north_of(113.1, 23.7, 1.9))) and not ring.contains(
        Point(north_of(113.1, 23.7, 2.1))
    )


# ------------------------------------------------------------------------------------------------------------
# aggregate_by_polygon
# ------------------------------------------------------------------------------------------------------------


def test_aggregate_by_polygon() -> None:
    pts = pd.DataFrame(
        {
            "lon": [113.01, 113.02, 113.03, 113.15, 113.16, 114.0],
            "lat": [23.65, 23.65, 23.65, 23.65, 23.65, 23.65],
            "aqi": [10.0, 20.0, np.nan, 50.0, 70.0, 999.0],
        }
    )
    polys = squares()
    mean = aggregate_by_polygon(pts, polys, "code", "aqi", how="mean")
    assert mean["code"].tolist() == ["A", "B", "C"]
    assert mean["count"].tolist() == [3, 2, 0]
    np.testing.assert_array_equal(mean["aqi"], [15.0, 60.0, np.nan])
    np.testing.assert_array_equal(
        aggregate_by_polygon(pts, polys, "code", "aqi", how="max")["aqi"], [20.0, 70.0, np.nan]
    )
    assert aggregate_by_polygon(pts, polys, "code", "aqi", how="sum")["aqi"].tolist() == [30.0, 120.0, 0.0]
    assert aggregate_by_polygon(pts, polys, "code", "aqi", how="count")["aqi"].tolist() == [2, 2, 0]
    only_counts = aggregate_by_polygon(pts, polys.to_crs("EPSG:3857"), "code")
    assert list(only_counts.columns) == ["code", "count"] and only_counts["count"].tolist() == [3, 2, 0]
    with pytest.raises(SpatialInputError, match="how must be"):
        aggregate_by_polygon(pts, polys, "code", "aqi", how="median")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------------
# The demo city
# ------------------------------------------------------------------------------------------------------------


def _entities() -> gpd.GeoDataFrame:
    return load_layer(CITY / "entities.geojson", name="entities", kind="point").frame


def _entity_positions() -> pd.DataFrame:
    """Every entity's position: the point, or a segment's midpoint along its length (as placed)."""
    data = json.loads((CITY / "entities.geojson").read_text("utf-8"))
    rows = []
    for f in data["features"]:
        g = shape(f["geometry"])
        p = g if g.geom_type == "Point" else g.interpolate(0.5, normalized=True)
        rows.append(
            {
                "entity_id": f["properties"]["entity_id"],
                "district_code": f["properties"]["district_code"],
                "lon": p.x,
                "lat": p.y,
            }
        )
    return pd.DataFrame(rows)


def test_every_demo_entity_lands_in_its_district() -> None:
    ents = _entity_positions()
    assert len(ents) == 416
    districts = load_layer(CITY / "districts.geojson", name="districts")
    codes = assign_to_polygons(ents["lon"], ents["lat"], districts.frame, "code")
    wrong = ents.loc[codes != ents["district_code"].to_numpy(dtype=object), "entity_id"].tolist()
    assert wrong == []  # 100 %
    # The same from the warehouse-shaped frame (GeoJSON text) and from a GCJ-02 copy of the layer.
    text_frame = load_districts(CITY / "districts.geojson")
    assert (assign_to_polygons(ents["lon"], ents["lat"], text_frame, "code") == codes).all()
    gcj = to_datum(districts, "gcj02")
    assert (assign_to_polygons(ents["lon"], ents["lat"], gcj, "code") == codes).all()


def test_every_river_station_is_within_3_km_of_its_river() -> None:
    rivers = load_layer(CITY / "rivers.geojson", name="rivers")
    lines = dict(zip(rivers.frame["name"], rivers.frame.geometry, strict=True))
    stations = _entities()
    stations = stations[(stations["kind"] == "hydro_station") & (stations["station_type"] == "river")]
    on_mapped = stations[stations["river"].isin(list(lines))]
    assert len(on_mapped) >= 20
    for river, group in on_mapped.groupby("river"):
        near = within_buffer(group, lines[river], 3.0)
        assert sorted(near["entity_id"]) == sorted(group["entity_id"]), f"stations off the {river} line"
    # Stations named in a river's properties are exactly the stations on it.
    listed = {s for ss in rivers.frame["stations"] for s in ss}
    assert listed == set(on_mapped["entity_id"])


def test_demo_rivers_are_small_and_inside_the_city_mostly() -> None:
    path = CITY / "rivers.geojson"
    assert path.stat().st_size < 40_000
    data = json.loads(path.read_text("utf-8"))
    assert "approximate" in data["note"].lower()
    rivers = load_layer(path, name="rivers")
    assert {"北江", "连江", "滨江", "潖江"} <= set(rivers.frame["name"])
    city = shapely.union_all(load_layer(CITY / "districts.geojson", name="d").frame.geometry.to_numpy())
    for name, line in zip(rivers.frame["name"], rivers.frame.geometry, strict=True):
        assert line.intersection(city).length / line.length > 0.6, name
    # Tributaries end on the 北江 (to within a metre of rounding).
    bei = rivers.frame.geometry[rivers.frame["name"] == "北江"].iloc[0]
    for name, joins, line in zip(
        rivers.frame["name"], rivers.frame["joins"], rivers.frame.geometry, strict=True
    ):
        if joins == "北江":
            end = Point(line.coords[-1])
            assert within_buffer(pd.DataFrame({"lon": [end.x], "lat": [end.y]}), bei, 0.01).shape[0] == 1, (
                name
            )


def test_nearest_station_for_demo_incidents() -> None:
    stations = _entities()
    stations = stations[stations["kind"] == "hydro_station"]
    # An incident 1 km north of 飞来峡 station: its nearest hydrological station is 飞来峡.
    fl = stations[stations["entity_id"] == "HYD-BJ-FEILAIXIA"].geometry.iloc[0]
    lon, lat = north_of(fl.x, fl.y, 1.0)
    result = nearest(pd.DataFrame({"lon": [lon], "lat": [lat]}), stations)
    assert result["nearest_id"].iloc[0] == "HYD-BJ-FEILAIXIA"
    assert result["distance_km"].iloc[0] == pytest.approx(1.0, rel=5e-3)
