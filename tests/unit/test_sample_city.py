"""Checks on the demo city's committed data: sample_data/qingyuan/{districts,entities}.geojson."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point

DATA = Path(__file__).resolve().parents[2] / "sample_data" / "qingyuan"
CODES = {"441802", "441803", "441821", "441823", "441825", "441826", "441881", "441882"}
BBOX = (111.9, 23.4, 113.95, 25.2)  # lon0, lat0, lon1, lat1

PUBLISHED_WARNING = {
    "石角": 11.00,
    "清远(三)": 12.00,
    "飞来峡": 18.00,
    "英德(五)": 26.00,
    "高道(昂坝)": 31.5,
    "沙坝": 42.40,
    "大湾": 42.00,
    "龙头岗": 96.3,
    "江口圩": 16.50,
    "长怖": 16.00,
    "源潭": 15.00,
    "龙沥": 13.00,
}
PUBLISHED_FLOOD_LIMIT = {"兰靛水库": 305.00, "龙须带水库": 267.00, "大秦水库": 65.00}


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return gpd.read_file(DATA / "districts.geojson")


@pytest.fixture(scope="module")
def entities() -> gpd.GeoDataFrame:
    return gpd.read_file(DATA / "entities.geojson")


@pytest.fixture(scope="module")
def raw_entities() -> dict[str, Any]:
    with (DATA / "entities.geojson").open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def test_districts(districts: gpd.GeoDataFrame) -> None:
    assert len(districts) == 8
    assert set(districts["code"]) == CODES
    assert districts["code"].is_unique
    assert districts.geometry.is_valid.all()
    assert set(districts.geom_type) <= {"Polygon", "MultiPolygon"}
    assert districts["name"].str.len().gt(0).all() and districts["name_en"].str.len().gt(0).all()
    # A proper coverage: no overlaps between districts (gaps would show as holes in the union).
    assert shapely.coverage_is_valid(districts.geometry.values)
    union = shapely.union_all(districts.geometry.values)
    parts = getattr(union, "geoms", [union])
    assert sum(len(p.interiors) for p in parts) == 0
    lon0, lat0, lon1, lat1 = districts.total_bounds
    assert lon0 >= BBOX[0] and lat0 >= BBOX[1] and lon1 <= BBOX[2] and lat1 <= BBOX[3]


def test_districts_file_notes_datum() -> None:
    with (DATA / "districts.geojson").open(encoding="utf-8") as fh:
        data = json.load(fh)
    assert data["crs_note"] == "WGS-84 (converted from GCJ-02 Amap outlines)"
    assert (DATA / "districts.geojson").stat().st_size < 120_000


def _anchor(geom: shapely.Geometry) -> Point:
    if isinstance(geom, LineString):
        return geom.interpolate(0.5, normalized=True)
    assert isinstance(geom, Point)
    return geom


def test_entities_lie_in_their_district(districts: gpd.GeoDataFrame, entities: gpd.GeoDataFrame) -> None:
    polys = dict(zip(districts["code"], districts.geometry, strict=True))
    assert set(entities["district_code"]) <= CODES
    outside = [
        eid
        for eid, code, geom in zip(
            entities["entity_id"], entities["district_code"], entities.geometry, strict=True
        )
        if not polys[code].contains(_anchor(geom))
    ]
    assert outside == []


def test_geometry_types_and_bbox(entities: gpd.GeoDataFrame) -> None:
    roads = entities["kind"] == "road_segment"
    assert (entities.loc[roads].geom_type == "LineString").all()
    assert (entities.loc[~roads].geom_type == "Point").all()
    coords = shapely.get_coordinates(entities.geometry.values)
    assert (coords[:, 0] > BBOX[0]).all() and (coords[:, 0] < BBOX[2]).all()
    assert (coords[:, 1] > BBOX[1]).all() and (coords[:, 1] < BBOX[3]).all()


def test_counts_and_ids(entities: gpd.GeoDataFrame) -> None:
    assert entities["entity_id"].is_unique
    counts = Counter(entities["kind"])
    assert set(counts) == {"air_station", "hydro_station", "rain_gauge", "road_segment"}
    assert 35 <= counts["air_station"] <= 45
    assert 25 <= counts["hydro_station"] <= 40
    assert 35 <= counts["rain_gauge"] <= 50
    assert 270 <= counts["road_segment"] <= 330
    for kind in counts:
        for col in ("name", "name_en", "district_code"):
            assert entities.loc[entities["kind"] == kind, col].notna().all(), (kind, col)


def test_air_stations(entities: gpd.GeoDataFrame) -> None:
    air = entities[entities["kind"] == "air_station"]
    assert set(air["station_type"]) <= {"national", "provincial", "county"}
    per = Counter(air["district_code"])
    assert set(per) == CODES
    top = {code for code, _ in per.most_common(3)}
    assert top == {"441802", "441803", "441881"}


def test_hydro_levels(entities: gpd.GeoDataFrame) -> None:
    hydro = entities[entities["kind"] == "hydro_station"]
    assert set(hydro["station_type"]) <= {"river", "reservoir"}
    assert set(hydro["source"]) <= {"published", "synthetic"}
    assert hydro["river"].notna().all() and hydro["basin"].notna().all()
    assert (hydro["normal_level_m"] < hydro["warning_level_m"]).all()
    assert (hydro["warning_level_m"] < hydro["guaranteed_level_m"]).all()
    assert (hydro["guaranteed_level_m"] < hydro["historical_level_m"]).all()
    res = hydro[hydro["station_type"] == "reservoir"]
    assert res["flood_limit_level_m"].notna().all()


def test_published_stations(entities: gpd.GeoDataFrame) -> None:
    hydro = entities[entities["kind"] == "hydro_station"].set_index("name")
    for name, level in PUBLISHED_WARNING.items():
        assert hydro.loc[name, "warning_level_m"] == pytest.approx(level), name
        assert hydro.loc[name, "source"] == "published"
    for name, level in PUBLISHED_FLOOD_LIMIT.items():
        assert hydro.loc[name, "flood_limit_level_m"] == pytest.approx(level), name
        assert hydro.loc[name, "source"] == "published"
    assert hydro.loc["石角", "district_code"] == "441802" and hydro.loc["石角", "river"] == "北江"
    assert hydro.loc["英德(五)", "district_code"] == "441881"
    assert hydro.loc["龙头岗", "district_code"] == "441823" and hydro.loc["龙头岗", "river"] == "七拱河"
    assert hydro.loc["兰靛水库", "district_code"] == "441882"
    assert set(hydro.loc[["长怖", "源潭", "龙沥"], "river"]) == {"大燕河"}


def test_published_marks_invented_fields(raw_entities: dict[str, Any]) -> None:
    for f in raw_entities["features"]:
        p = f["properties"]
        if p["kind"] == "hydro_station" and p["source"] == "published":
            assert "guaranteed_level_m" in p["synthetic_fields"]
            assert "warning_level_m" not in p["synthetic_fields"] or p["station_type"] == "reservoir"


def test_road_segments(entities: gpd.GeoDataFrame) -> None:
    roads = entities[entities["kind"] == "road_segment"]
    classes = Counter(roads["road_class"])
    assert set(classes) == {"expressway", "arterial", "secondary", "branch"}
    for cls, target in {"expressway": 40, "arterial": 90, "secondary": 100, "branch": 70}.items():
        assert abs(classes[cls] - target) <= 15, cls
    geod = Geod(ellps="WGS84")
    ff = {"expressway": (90, 110), "arterial": (50, 60), "secondary": (40, 50), "branch": (30, 40)}
    for _, row in roads.iterrows():
        n = len(row.geometry.coords)
        assert 2 <= n <= 4, row.entity_id
        length = geod.geometry_length(row.geometry)
        assert row.length_m == pytest.approx(length, rel=1e-3, abs=1.0), row.entity_id
        hi = 8500 if row.road_class == "expressway" else 3100
        assert 290 <= row.length_m <= hi, row.entity_id
        lo, up = ff[row.road_class]
        assert lo <= row.free_flow_kmh <= up, row.entity_id
        assert row.lanes >= 1
        assert isinstance(row.road_name, str) and row.road_name
    # Most urban streets are in the Qingcheng / Qingxin urban area.
    urban = roads[roads["road_class"] != "expressway"]
    assert (urban["district_code"].isin(["441802", "441803"])).mean() > 0.5


def test_rain_gauges(entities: gpd.GeoDataFrame) -> None:
    rain = entities[entities["kind"] == "rain_gauge"]
    assert set(rain["district_code"]) == CODES
    assert rain["colocated_with"].notna().sum() >= 3
    hydro = entities[entities["kind"] == "hydro_station"].set_index("entity_id")
    for _, row in rain[rain["colocated_with"].notna()].iterrows():
        assert row.geometry.equals(hydro.loc[row.colocated_with].geometry)
