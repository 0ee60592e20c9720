"""Where the city map puts its labels: inside their districts, apart from each other, rivers named."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from shapely.geometry import Point, shape

from dashboard.figures.citymap import (
    BaseLayer,
    LabelBox,
    MapLayers,
    build_city_map,
    line_label_point,
    place_labels,
    text_size,
)
from geo.styles import offline_style

CITY = Path(__file__).resolve().parents[2] / "sample_data" / "qingyuan"
ZOOM = 8.1  # the demo city's default zoom


def _districts() -> tuple[list[dict], list[str]]:
    fc = json.loads((CITY / "districts.geojson").read_text("utf-8"))
    geoms = [f["geometry"] for f in fc["features"]]
    names = [f["properties"].get("name") for f in fc["features"]]
    return geoms, names


def test_every_district_anchor_is_inside_its_district_and_clear_of_the_others() -> None:
    geoms, names = _districts()
    texts = [f"{n}<br>97" for n in names]
    anchors = place_labels(geoms, texts, zoom=ZOOM, font_px=14)
    assert len(anchors) == len(geoms) == 8
    for geom, (lon, lat) in zip(geoms, anchors, strict=True):
        assert shape(geom).contains(Point(lon, lat))
    boxes = [LabelBox(lon, lat, *text_size(t, 14)) for (lon, lat), t in zip(anchors, texts, strict=True)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b, ZOOM, gap=0), (a, b)


def test_the_worst_district_keeps_its_pole_of_inaccessibility() -> None:
    from shapely.ops import polylabel

    geoms, names = _districts()
    worst = names.index("清城区")
    priority = [30.0 if i == worst else 97.0 for i in range(len(names))]
    anchors = place_labels(geoms, [f"{n}<br>0" for n in names], zoom=ZOOM, font_px=20, priority=priority)
    pole = polylabel(shape(geoms[worst]), tolerance=0.001)
    assert abs(anchors[worst][0] - pole.x) < 0.01 and abs(anchors[worst][1] - pole.y) < 0.01


def test_crowded_labels_move_to_another_part_of_their_district() -> None:
    left = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    right = {"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]]}
    # at zoom 6 a degree is ~91 px: two 120 px wide labels at the poles (0.5 and 1.5) would overlap
    texts = ["一二三四五六七八", "一二三四五六七八"]
    anchors = place_labels([left, right], texts, zoom=6, font_px=15)
    a, b = (LabelBox(x, y, *text_size(t, 15)) for (x, y), t in zip(anchors, texts, strict=True))
    assert not a.overlaps(b, 6, gap=0)
    assert shape(left).contains(Point(anchors[0])) and shape(right).contains(Point(anchors[1]))


def test_a_river_is_named_half_way_along_it() -> None:
    assert line_label_point({"type": "LineString", "coordinates": [[0, 0], [2, 0]]}) == (1.0, 0.0)
    assert line_label_point({"type": "Point", "coordinates": [0, 0]}) is None


def _figure(lang: str = "zh") -> dict:
    geoms, names = _districts()
    districts = pd.DataFrame(
        {
            "code": [str(i) for i in range(len(geoms))],
            "name": names,
            "geometry": [json.dumps(g) for g in geoms],
            "lon": [shape(g).centroid.x for g in geoms],
            "lat": [shape(g).centroid.y for g in geoms],
            "index": [30.0 if n == "清城区" else 90.0 for n in names],
        }
    )
    river = {"type": "LineString", "coordinates": [[112.9, 23.7], [113.1, 24.3]]}
    water = pd.DataFrame(
        {
            "entity_id": ["w1", "w2"],
            "name": ["源潭", "石潭"],
            "lon": [113.2, 112.9],
            "lat": [23.8, 24.5],
            "level_m": [12.345, 3.0],
            "signal": [2.0, float("nan")],
        }
    )
    layers = MapLayers(
        districts=districts,
        base=[BaseLayer("主要河流", [river], names=[{"zh": "北江", "en": "Bei River"}])],
        water=water,
    )
    fig = build_city_map(
        layers, style=offline_style("/g/{fontstack}/{range}.pbf"), center=(113, 24.2), zoom=ZOOM, lang=lang
    )
    return fig.to_plotly_json()


def test_the_figure_labels_every_district_last_names_rivers_and_shows_stations_opaque() -> None:
    fig = _figure()
    metas = [t.get("meta") for t in fig["data"]]
    assert metas[-1] == "labels:districts"  # on top: MapLibre places its text first
    districts = fig["data"][-1]
    # each name whole, a long autonomous county's on two lines ("连山壮族瑶族" / "自治县"), the index last
    names = ["".join(x.split("<br>")[:-1]) for x in districts["text"]]
    assert sorted(names) == sorted(_districts()[1])
    assert "连山壮族瑶族<br>自治县<br>" in " ".join(districts["text"])
    assert "清城区<br>30" in list(districts["text"])
    stations = fig["data"][metas.index("labels:stations")]
    assert list(stations["text"]) == ["源潭 12.35m"] and stations["opacity"] == 1
    assert list(fig["data"][metas.index("labels:rivers")]["text"]) == ["北江"]
    assert list(_figure("en")["data"][metas.index("labels:rivers")]["text"]) == ["Bei River"]
    choropleth = fig["data"][0] if fig["data"][0]["type"] == "choroplethmap" else fig["data"][1]
    assert choropleth["showscale"] is True and list(choropleth["colorbar"]["tickvals"]) == [
        0,
        20,
        40,
        60,
        80,
        100,
    ]
    layout = fig["layout"]
    assert min(layout["margin"][k] for k in "lrtb") > 0
    assert layout["legend"]["orientation"] == "h" and layout["legend"]["y"] < 0  # under the map


def test_the_style_always_has_sources() -> None:
    assert offline_style("/g/{fontstack}/{range}.pbf")["sources"]
