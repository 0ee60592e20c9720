"""Tests for geo.layers: reading GeoJSON / Shapefile / GeoPackage with CRS rules, datums, GeoJSON output."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from geo.coords import gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_gcj02
from geo.layers import (
    Layer,
    LayerCrsError,
    LayerCrsWarning,
    LayerFileError,
    layer_to_geojson,
    load_layer,
    normalise_datum,
    to_datum,
)

ROOT = Path(__file__).resolve().parents[2]
CITY = ROOT / "sample_data" / "qingyuan"

# Two points in Qingyuan (WGS-84) and their Web Mercator (EPSG:3857) coordinates, computed by hand:
# x = R * lon_rad, y = R * ln(tan(pi/4 + lat_rad/2)), R = 6378137.
LONLAT = [(113.05, 23.68), (113.40, 24.18)]


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    r = 6378137.0
    return r * math.radians(lon), r * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _frame(points: list[tuple[float, float]], crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["A", "B"], "level": [1.5, float("nan")]}, geometry=[Point(p) for p in points], crs=crs
    )


def _write_no_crs(frame: gpd.GeoDataFrame, path: Path, **kwargs: object) -> None:
    with (
        warnings.catch_warnings()
    ):  # pyogrio warns that the written file has no projection: that is the point
        warnings.simplefilter("ignore", UserWarning)
        frame.to_file(path, engine="pyogrio", **kwargs)


def _write_geojson(path: Path, coords: list[tuple[float, float]], crs_member: str | None = None) -> Path:
    obj: dict[str, object] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": c, "n": i},
                "geometry": {"type": "Point", "coordinates": list(p)},
            }
            for i, (c, p) in enumerate(zip("AB", coords, strict=True))
        ],
    }
    if crs_member is not None:
        obj["crs"] = {"type": "name", "properties": {"name": crs_member}}
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def _xy(layer: Layer) -> np.ndarray:
    return shapely.get_coordinates(layer.frame.geometry.to_numpy())


# ------------------------------------------------------------------------------------------------------------
# Formats and CRS rules
# ------------------------------------------------------------------------------------------------------------


def test_geojson_without_crs_member_is_wgs84(tmp_path: Path) -> None:
    path = _write_geojson(tmp_path / "pts.geojson", LONLAT)
    layer = load_layer(path, name="pts", label_field="code")
    assert (layer.name, layer.kind, layer.datum, layer.label_field) == ("pts", "point", "wgs84", "code")
    assert layer.frame.crs.to_epsg() == 4326
    np.testing.assert_allclose(_xy(layer), LONLAT)
    assert list(layer.frame["code"]) == ["A", "B"]
    assert len(layer) == 2


def test_geojson_without_crs_member_takes_the_declared_crs(tmp_path: Path) -> None:
    path = _write_geojson(tmp_path / "merc.geojson", [_mercator(*p) for p in LONLAT])
    layer = load_layer(path, name="m", crs="EPSG:3857")
    np.testing.assert_allclose(_xy(layer), LONLAT, atol=1e-9)


def test_geojson_with_projected_crs_member_is_transformed(tmp_path: Path) -> None:
    merc = _frame(LONLAT, "EPSG:4326").to_crs("EPSG:3857")
    merc.to_file(tmp_path / "merc.geojson", engine="pyogrio")
    assert '"crs"' in (tmp_path / "merc.geojson").read_text("utf-8")
    layer = load_layer(tmp_path / "merc.geojson", name="m")
    assert layer.frame.crs.to_epsg() == 4326
    np.testing.assert_allclose(_xy(layer), LONLAT, atol=1e-9)


def test_projected_geojson_without_crs_is_an_error_naming_the_fix(tmp_path: Path) -> None:
    path = _write_geojson(tmp_path / "merc.geojson", [_mercator(*p) for p in LONLAT])
    with pytest.raises(LayerCrsError, match=r"merc\.geojson.*looks projected; declare its CRS"):
        load_layer(path, name="m")


def test_shapefile_with_prj(tmp_path: Path) -> None:
    _frame(LONLAT, "EPSG:4326").to_file(tmp_path / "pts.shp", engine="pyogrio")
    assert (tmp_path / "pts.prj").exists()
    layer = load_layer(tmp_path / "pts.shp", name="pts")
    np.testing.assert_allclose(_xy(layer), LONLAT)
    assert layer.frame.crs.to_epsg() == 4326
    assert layer.frame["level"].isna().tolist() == [False, True]


def test_shapefile_without_prj_needs_a_declared_crs(tmp_path: Path) -> None:
    _write_no_crs(_frame(LONLAT, None), tmp_path / "bare.shp")
    assert not (tmp_path / "bare.prj").exists()
    with pytest.raises(LayerCrsError) as info:
        load_layer(tmp_path / "bare.shp", name="bare")
    message = str(info.value)
    assert "bare.shp" in message and "has no CRS" in message
    assert "set crs = 'EPSG:4326' (or the file's CRS) for this layer" in message
    layer = load_layer(tmp_path / "bare.shp", name="bare", crs="EPSG:4326")
    np.testing.assert_allclose(_xy(layer), LONLAT)


def test_shapefile_without_prj_in_metres_declared_as_degrees_looks_projected(tmp_path: Path) -> None:
    _write_no_crs(_frame([_mercator(*p) for p in LONLAT], None), tmp_path / "merc.shp")
    with pytest.raises(
        LayerCrsError, match=r"merc\.shp.*outside lon -180\.\.180 / lat -90\.\.90.*looks projected"
    ):
        load_layer(tmp_path / "merc.shp", name="m", crs="EPSG:4326")
    layer = load_layer(tmp_path / "merc.shp", name="m", crs=3857)
    np.testing.assert_allclose(_xy(layer), LONLAT, atol=1e-9)


def test_projected_shapefile_with_prj_is_transformed(tmp_path: Path) -> None:
    _frame(LONLAT, "EPSG:4326").to_crs("EPSG:32649").to_file(tmp_path / "utm.shp", engine="pyogrio")
    layer = load_layer(tmp_path / "utm.shp", name="utm")
    np.testing.assert_allclose(_xy(layer), LONLAT, atol=1e-8)


def test_cgcs2000_file_is_read_as_lon_lat(tmp_path: Path) -> None:
    # CGCS2000 and WGS-84 differ by centimetres: the coordinates stay put (to ~1e-7 degrees).
    _frame(LONLAT, "EPSG:4490").to_file(tmp_path / "cgcs.gpkg", engine="pyogrio", layer="stations")
    layer = load_layer(tmp_path / "cgcs.gpkg", name="cgcs")
    assert layer.frame.crs.to_epsg() == 4326
    np.testing.assert_allclose(_xy(layer), LONLAT, atol=1e-6)
    _write_no_crs(_frame(LONLAT, None), tmp_path / "bare4490.shp")
    declared = load_layer(tmp_path / "bare4490.shp", name="b", crs="EPSG:4490")
    np.testing.assert_allclose(_xy(declared), LONLAT, atol=1e-6)


def test_declared_crs_contradicting_the_file_warns_and_uses_the_file(tmp_path: Path) -> None:
    _frame(LONLAT, "EPSG:4326").to_file(tmp_path / "pts.shp", engine="pyogrio")
    with pytest.warns(LayerCrsWarning) as record:
        layer = load_layer(tmp_path / "pts.shp", name="pts", crs="EPSG:3857")
    message = str(record[0].message)
    assert "pts.shp" in message and "EPSG:3857" in message and "EPSG:4326" in message
    assert "using the file's CRS" in message
    np.testing.assert_allclose(_xy(layer), LONLAT)


def test_declared_crs_equal_to_the_file_is_silent(tmp_path: Path) -> None:
    _frame(LONLAT, "EPSG:4326").to_file(tmp_path / "pts.shp", engine="pyogrio")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_layer(tmp_path / "pts.shp", name="pts", crs="EPSG:4326")
        load_layer(
            _write_geojson(tmp_path / "crs84.geojson", LONLAT, "urn:ogc:def:crs:OGC:1.3:CRS84"),
            name="c",
            crs="EPSG:4326",
        )


def test_gpkg_layers(tmp_path: Path) -> None:
    path = tmp_path / "city.gpkg"
    _frame(LONLAT, "EPSG:4326").to_file(path, engine="pyogrio", layer="stations")
    line = gpd.GeoDataFrame({"name": ["北江"]}, geometry=[LineString(LONLAT)], crs="EPSG:4326")
    line.to_crs("EPSG:3857").to_file(path, engine="pyogrio", layer="rivers")
    with pytest.raises(LayerFileError, match=r"city\.gpkg holds 2 layers \(stations, rivers\).*set layer ="):
        load_layer(path, name="x")
    rivers = load_layer(path, name="rivers", layer="rivers", label_field="name")
    assert rivers.kind == "line"
    np.testing.assert_allclose(_xy(rivers), LONLAT, atol=1e-9)
    stations = load_layer(path, name="stations", layer="stations")
    assert stations.kind == "point"


def test_gpkg_without_srs_needs_a_declared_crs(tmp_path: Path) -> None:
    _write_no_crs(_frame(LONLAT, None), tmp_path / "bare.gpkg", layer="pts")
    with pytest.raises(
        LayerCrsError, match=r"GeoPackage layer file .*bare\.gpkg has no CRS.*set crs = 'EPSG:4326'"
    ):
        load_layer(tmp_path / "bare.gpkg", name="bare")
    assert load_layer(tmp_path / "bare.gpkg", name="bare", crs="EPSG:4326").frame.crs.to_epsg() == 4326


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(LayerFileError, match="does not exist"):
        load_layer(tmp_path / "missing.geojson", name="m")
    (tmp_path / "x.kml").write_text("<kml/>", encoding="utf-8")
    with pytest.raises(LayerFileError, match=r"unsupported format '\.kml'"):
        load_layer(tmp_path / "x.kml", name="x")
    (tmp_path / "bad.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(LayerFileError, match=r"bad\.geojson"):
        load_layer(tmp_path / "bad.geojson", name="bad")
    path = _write_geojson(tmp_path / "pts.geojson", LONLAT)
    with pytest.raises(LayerFileError, match="label_field 'nope' is not a property"):
        load_layer(path, name="p", label_field="nope")
    with pytest.raises(LayerCrsError, match="cannot understand CRS 'EPSG:99999999'"):
        load_layer(path, name="p", crs="EPSG:99999999")
    with pytest.raises(LayerCrsError, match="unknown datum 'mars'"):
        load_layer(path, name="p", datum="mars")


def test_mixed_geometries_need_a_kind(tmp_path: Path) -> None:
    mixed = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[Point(LONLAT[0]), LineString(LONLAT)], crs="EPSG:4326")
    mixed.to_file(tmp_path / "mixed.geojson", engine="pyogrio")
    with pytest.raises(LayerFileError, match="mixes line, point geometries: set kind ="):
        load_layer(tmp_path / "mixed.geojson", name="m")
    lines = load_layer(tmp_path / "mixed.geojson", name="m", kind="line")
    assert lines.kind == "line" and list(lines.frame["id"]) == [2]


def test_demo_city_layers() -> None:
    districts = load_layer(CITY / "districts.geojson", name="districts", label_field="name")
    assert districts.kind == "polygon" and len(districts) == 8
    rivers = load_layer(CITY / "rivers.geojson", name="rivers", label_field="name")
    assert rivers.kind == "line" and {"北江", "连江", "滨江", "潖江"} <= set(rivers.frame["name"])
    assert rivers.frame["approximate"].all()
    roads = load_layer(CITY / "entities.geojson", name="roads", kind="line")
    assert len(roads) == 300 and set(roads.frame["kind"]) == {"road_segment"}


# ------------------------------------------------------------------------------------------------------------
# Datums
# ------------------------------------------------------------------------------------------------------------


def test_datum_names() -> None:
    assert normalise_datum(None) == "wgs84"
    assert normalise_datum("GCJ-02") == "gcj02"
    assert normalise_datum("BD_09") == "bd09"
    assert normalise_datum("CGCS2000") == "wgs84"


def test_gcj02_layer_is_stored_as_given_and_converted_on_request(tmp_path: Path) -> None:
    gcj = [wgs84_to_gcj02(*p) for p in LONLAT]
    poly = Polygon([gcj[0], gcj[1], (gcj[1][0], gcj[0][1])])
    frame = gpd.GeoDataFrame({"code": ["P"]}, geometry=[poly], crs="EPSG:4326")
    frame.to_file(tmp_path / "amap.geojson", engine="pyogrio")
    layer = load_layer(tmp_path / "amap.geojson", name="amap", datum="GCJ-02")
    assert layer.datum == "gcj02"
    np.testing.assert_allclose(_xy(layer)[:2], gcj)  # stored as given

    wgs = to_datum(layer, "wgs84")
    assert wgs.datum == "wgs84" and wgs.name == "amap" and layer.datum == "gcj02"  # the original is untouched
    expected = np.column_stack(gcj02_to_wgs84(_xy(layer)[:, 0], _xy(layer)[:, 1]))
    np.testing.assert_allclose(_xy(wgs), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(_xy(wgs)[:2], LONLAT, atol=1e-9)

    bd = to_datum(layer, "bd09")
    np.testing.assert_allclose(_xy(bd), np.column_stack(gcj02_to_bd09(_xy(layer)[:, 0], _xy(layer)[:, 1])))
    back = to_datum(to_datum(bd, "wgs84"), "gcj02")
    np.testing.assert_allclose(_xy(back), _xy(layer), atol=1e-9)
    assert to_datum(layer, "gcj02") is layer


def test_to_datum_keeps_z(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(113.05, 23.68, 12.5)], crs="EPSG:4326")
    frame.to_file(tmp_path / "z.gpkg", engine="pyogrio", layer="z")
    moved = to_datum(load_layer(tmp_path / "z.gpkg", name="z"), "gcj02")
    x, y, z = shapely.get_coordinates(moved.frame.geometry.to_numpy(), include_z=True)[0]
    assert (x, y) == pytest.approx(wgs84_to_gcj02(113.05, 23.68), abs=1e-12) and z == 12.5


# ------------------------------------------------------------------------------------------------------------
# GeoJSON out
# ------------------------------------------------------------------------------------------------------------


def test_layer_to_geojson(tmp_path: Path) -> None:
    _frame(LONLAT, "EPSG:4326").to_file(tmp_path / "pts.gpkg", engine="pyogrio", layer="pts")
    layer = load_layer(tmp_path / "pts.gpkg", name="pts")
    out = layer_to_geojson(layer)
    text = json.dumps(out, allow_nan=False)  # no NaN anywhere
    assert json.loads(text) == out
    assert out["type"] == "FeatureCollection" and out["name"] == "pts"
    first, second = out["features"]
    assert first["properties"] == {"code": "A", "level": 1.5}
    assert second["properties"] == {"code": "B", "level": None}
    assert first["geometry"] == {"type": "Point", "coordinates": [113.05, 23.68]}


def test_demo_rivers_round_trip_through_geojson() -> None:
    rivers = load_layer(CITY / "rivers.geojson", name="rivers")
    out = layer_to_geojson(rivers)
    source = json.loads((CITY / "rivers.geojson").read_text("utf-8"))
    assert [f["properties"]["name"] for f in out["features"]] == [
        f["properties"]["name"] for f in source["features"]
    ]
    for mine, theirs in zip(out["features"], source["features"], strict=True):
        np.testing.assert_allclose(mine["geometry"]["coordinates"], theirs["geometry"]["coordinates"])
        assert mine["properties"]["stations"] == theirs["properties"]["stations"]
