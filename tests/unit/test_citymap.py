"""The city map builder as data: layers, legend entries, datum conversion, no external URL."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dashboard.figures.citymap import BaseLayer, MapLayers, build_city_map
from geo.coords import wgs84_to_gcj02
from geo.styles import external_urls, offline_style

SQUARE = json.dumps(
    {
        "type": "Polygon",
        "coordinates": [[[113.0, 23.6], [113.1, 23.6], [113.1, 23.7], [113.0, 23.7], [113.0, 23.6]]],
    }
)
LINE = json.dumps({"type": "LineString", "coordinates": [[113.02, 23.65], [113.05, 23.66]]})


def layers() -> MapLayers:
    return MapLayers(
        districts=pd.DataFrame(
            {
                "code": ["441802"],
                "name": ["清城区"],
                "geometry": [SQUARE],
                "lon": [113.05],
                "lat": [23.65],
                "index": [62.0],
            }
        ),
        base=[
            BaseLayer("主要河流", [json.loads(LINE)]),
            BaseLayer("区界", [json.loads(SQUARE)], "#ffffff", 1),
        ],
        roads=pd.DataFrame(
            {"entity_id": ["S1", "S2"], "name": ["a", "b"], "geometry": [LINE, LINE], "grade": [1, 5]}
        ),
        air=pd.DataFrame(
            {
                "entity_id": ["A"],
                "name": ["站"],
                "lon": [113.03],
                "lat": [23.66],
                "aqi": [160.0],
                "aqi_level": [4],
            }
        ),
        water=pd.DataFrame(
            {
                "entity_id": ["H", "H2"],
                "name": ["源潭", "石角"],
                "lon": [113.04, 113.06],
                "lat": [23.67, 23.62],
                "level_m": [16.84, 9.1],
                "signal": [2.0, np.nan],
            }
        ),
        incidents=pd.DataFrame(
            {"lon": [113.05], "lat": [23.65], "severity": [2], "description": ["<script>x</script>"]}
        ),
        warnings=pd.DataFrame(
            {"lon": [113.04], "lat": [23.67], "level": [2], "summary": ["源潭水位 16.84 m"]}
        ),
    )


def test_every_layer_is_a_named_switchable_trace() -> None:
    fig = build_city_map(
        layers(), style=offline_style("/g/{fontstack}/{range}.pbf"), center=(113.05, 23.65), zoom=9
    )
    names = [tr.name for tr in fig.data]
    assert names[0] == "生效预警"  # the warning halo is drawn first, under the markers
    for expected in (
        "城市运行指数",
        "主要河流",
        "道路 · 畅通",
        "道路 · 严重拥堵",
        "空气质量站",
        "水文站",
        "应急事件",
    ):
        assert expected in names
    water = next(tr for tr in fig.data if tr.name == "水文站")
    station_labels = next(tr for tr in fig.data if tr.meta == "labels:stations")
    assert list(station_labels.text) == ["源潭 16.84m"]  # only stations with a signal get a label
    assert water.marker.color[0] == "#ff9a2e" and water.marker.size[0] > water.marker.size[1]
    district_labels = next(tr for tr in fig.data if tr.meta == "labels:districts")
    assert list(district_labels.text) == ["清城区<br>62"]
    assert external_urls(fig.to_plotly_json()) == []


def test_overlays_follow_the_base_maps_datum() -> None:
    wgs = build_city_map(layers(), style={}, center=(113.05, 23.65), zoom=9)
    gcj = build_city_map(layers(), style={}, center=(113.05, 23.65), zoom=9, datum="gcj02")
    air_w = next(tr for tr in wgs.data if tr.name == "空气质量站")
    air_g = next(tr for tr in gcj.data if tr.name == "空气质量站")
    want = wgs84_to_gcj02(113.03, 23.66)
    assert (air_g.lon[0], air_g.lat[0]) == pytest.approx(want) and air_w.lon[0] == pytest.approx(113.03)
    poly = gcj.data[[tr.name for tr in gcj.data].index("城市运行指数")].geojson["features"][0]["geometry"]
    assert poly["coordinates"][0][0] == pytest.approx(list(wgs84_to_gcj02(113.0, 23.6)))
    assert gcj.layout.map.center.lon == pytest.approx(wgs84_to_gcj02(113.05, 23.65)[0])


def test_an_intranet_tile_server_is_the_only_url_and_must_be_allowed() -> None:
    style = offline_style(
        "/g/{fontstack}/{range}.pbf", tile_url="http://gis.intranet.local/tiles/{z}/{x}/{y}.png"
    )
    assert external_urls(style) == ["http://gis.intranet.local/tiles/{z}/{x}/{y}.png"]
    assert external_urls(style, allowed_hosts=["gis.intranet.local"]) == []


def test_base_layers_load_from_config_in_any_datum(tmp_path) -> None:
    from cityops.base.settings import settings_from_dict
    from dashboard.mapdata import load_base_layers

    gcj_lon, gcj_lat = wgs84_to_gcj02(113.05, 23.68)
    (tmp_path / "river.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[gcj_lon, gcj_lat], [gcj_lon + 0.1, gcj_lat]],
                        },
                    }
                ],
            }
        ),
        "utf-8",
    )
    settings = settings_from_dict(
        {
            "map": {
                "layers": [{"name": "北江(高德)", "path": str(tmp_path / "river.geojson"), "datum": "gcj02"}]
            }
        },
        environ={},
    )
    (layer,) = load_base_layers(settings)
    first = layer.geometries[0]["coordinates"][0]
    assert first == pytest.approx([113.05, 23.68], abs=1e-7)  # converted to WGS-84 on load
    fig = build_city_map(
        MapLayers(districts=layers().districts, base=[layer]), style={}, center=(113, 23.7), zoom=9
    )
    assert "北江(高德)" in [tr.name for tr in fig.data]
    bad = settings_from_dict(
        {"map": {"layers": [{"name": "x", "path": str(tmp_path / "nope.shp")}]}}, environ={}
    )
    from cityops.base.errors import ConfigError

    with pytest.raises(ConfigError, match=r"map\.layers 'x'"):
        load_base_layers(bad)


def test_many_incidents_reach_the_browser_as_cells_and_zooming_in_gives_points() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    many = pd.DataFrame(
        {
            "lon": rng.uniform(112.0, 113.9, n),
            "lat": rng.uniform(23.5, 25.1, n),
            "severity": rng.integers(1, 5, n),
            "description": ["x"] * n,
        }
    )
    base = layers()
    city = build_city_map(
        MapLayers(districts=base.districts, incidents=many), style={}, center=(113, 24.2), zoom=8
    )
    cells = next(tr for tr in city.data if tr.name == "应急事件")
    assert len(cells.lon) < 300 and sum(int(x) for x in cells.text) == n  # aggregates, every incident counted
    small = many.iloc[:200]
    street = build_city_map(
        MapLayers(districts=base.districts, incidents=small),
        style={},
        center=(113, 24.2),
        zoom=8,
        view_zoom=13,
    )
    points = next(tr for tr in street.data if tr.name == "应急事件")
    assert len(points.lon) == 200  # few enough: raw points


def test_feed_text_is_escaped_for_plotly_markup() -> None:
    base = layers()
    base.incidents = pd.DataFrame(
        {
            "lon": [113.05],
            "lat": [23.65],
            "severity": [2],
            "description": ['<a href="http://evil.example/">点我</a><b>x</b>'],
        }
    )
    fig = build_city_map(base, style={}, center=(113.05, 23.65), zoom=9)
    inc = next(tr for tr in fig.data if tr.name == "应急事件")
    assert inc.text[0].startswith("&lt;a href=") and "<b>" not in inc.text[0]


def test_warnings_are_placed_at_their_station_or_their_district() -> None:
    import pandas as pd

    from dashboard.mapdata import place_warnings

    entities = pd.DataFrame({"entity_id": ["HYD-1"], "lon": [113.0], "lat": [23.7]})
    districts = pd.DataFrame({"code": ["441802"], "lon": [113.05], "lat": [23.68]})
    station_only = pd.DataFrame(
        {
            "entity_id": ["HYD-1"],
            "district_code": pd.array(["441802"], dtype="string"),
            "state": ["active"],
            "level": [2],
            "summary": ["源潭"],
        }
    )
    placed = place_warnings(station_only, entities, districts)  # every warning has its own position
    assert placed[["lon", "lat"]].values.tolist() == [[113.0, 23.7]]
    mixed = pd.concat(
        [
            station_only,
            pd.DataFrame(
                {
                    "entity_id": [None],
                    "district_code": ["441802"],
                    "state": ["acknowledged"],
                    "level": [3],
                    "summary": ["清城区"],
                }
            ),
            pd.DataFrame(
                {
                    "entity_id": [None],
                    "district_code": ["441802"],
                    "state": ["pending"],
                    "level": [4],
                    "summary": ["待确认"],
                }
            ),
        ],
        ignore_index=True,
    )
    placed = place_warnings(mixed, entities, districts)
    assert placed["summary"].tolist() == ["源潭", "清城区"]  # pending ones are not on the map yet
    assert placed[["lon", "lat"]].values.tolist() == [[113.0, 23.7], [113.05, 23.68]]


def test_a_configured_department_gets_its_own_layer_with_its_latest_readings() -> None:
    from cityops.base.domains import custom_domain
    from dashboard.mapdata import custom_points

    hydrants = custom_domain(
        "hydrant",
        "消防栓",
        None,
        [
            {"name": "pressure_mpa", "label": "水压", "unit": "MPa"},
            {"name": "flow_lps", "label": "流量", "unit": "L/s"},
        ],
    )
    points = pd.DataFrame(
        {
            "entity_id": ["H1", "H2"],
            "name": ["东城<b>1号</b>", None],
            "lon": [113.05, 113.06],
            "lat": [23.68, 23.69],
            "district_code": ["441802", "441802"],
        }
    )
    latest = pd.DataFrame(
        {
            "entity_id": ["H1"],
            "ts": [pd.Timestamp("2026-06-15 02:00")],
            "pressure_mpa": [0.32],
            "flow_lps": [float("nan")],
        }
    )
    frame = custom_points(hydrants, points, latest)
    assert frame["text"].tolist() == ["水压 0.32 MPa", "—"]  # no reading yet: said, not left blank
    fig = build_city_map(
        MapLayers(districts=layers().districts, custom={"消防栓": frame}),
        style={},
        center=(113, 23.7),
        zoom=9,
    )
    (trace,) = [tr for tr in fig.data if tr.name == "消防栓"]
    assert list(trace.lon) == [113.05, 113.06]
    assert trace.text[0] == "东城&lt;b&gt;1号&lt;/b&gt;<br>水压 0.32 MPa" and trace.text[1].startswith("H2")
