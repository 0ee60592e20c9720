"""The district names on the report's map and its summary image never overlap, at the size drawn."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest
from shapely.geometry import shape

from dashboard.figures.citymap import MapLayers
from dashboard.figures.snapshot.map import LABEL_SIZE, LABELS_NAME, build_snapshot_map
from dashboard.figures.snapshot.summary import build_summary_figure

DISTRICTS = Path(__file__).resolve().parents[2] / "sample_data" / "qingyuan" / "districts.geojson"
LEVELS = {1: "红色预警", 2: "橙色预警", 3: "黄色预警", 4: "蓝色预警"}
TEXTS = {
    "headline": "要点",
    "levels": "预警",
    "map": "当日预警分布",
    "open": "截止时刻仍生效的预警",
    "none": "无",
    "open_columns": "等级|预警|地点|持续|状态",
    "no_open": "无",
}


def _districts() -> pd.DataFrame:
    """The city's districts as the warehouse keeps them: the stored point is the centroid."""
    rows = []
    for f in json.loads(DISTRICTS.read_text("utf-8"))["features"]:
        c = shape(f["geometry"]).centroid
        rows.append(
            {
                "code": f["properties"]["code"],
                "name": f["properties"]["name"],
                "geometry": json.dumps(f["geometry"]),
                "lon": c.x,
                "lat": c.y,
            }
        )
    return pd.DataFrame(rows)


def _boxes(xs, ys, names, fig, xaxis: str, yaxis: str, width: float, height: float):
    """Each label's box in px (x0, x1, y0, y1), from the figure's ranges, its aspect ratio and the plot
    area (Plotly widens the looser axis, so the tighter one sets the scale); a CJK character is 1 em."""
    xr, yr = fig.layout[xaxis].range, fig.layout[yaxis].range
    ratio = fig.layout[yaxis].scaleratio
    scale = min(width / (xr[1] - xr[0]), height / ((yr[1] - yr[0]) * ratio))
    boxes = []
    for x, y, name in zip(xs, ys, names, strict=True):
        assert xr[0] <= x <= xr[1] and yr[0] <= y <= yr[1], f"{name} is off the map"
        w, h = len(name) * LABEL_SIZE, 1.3 * LABEL_SIZE
        cx, cy = x * scale, y * scale * ratio
        boxes.append((name, cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2))
    return boxes


def _overlaps(boxes) -> list[tuple[str, str]]:
    return [
        (a[0], b[0])
        for a, b in combinations(boxes, 2)
        if a[1] < b[2] and b[1] < a[2] and a[3] < b[4] and b[3] < a[4]
    ]


def _labels(fig):
    (trace,) = [t for t in fig.data if t.name == LABELS_NAME]
    return list(trace.x), list(trace.y), list(trace.text)


def test_the_stored_points_would_overlap() -> None:
    """The case the placement exists for: at the stored points two names collide (连山, 连南)."""
    districts = _districts()
    fig = build_snapshot_map(
        MapLayers(districts=districts),
        pd.DataFrame(),
        title="",
        legend_names={"open": "", "closed": "", "none": ""},
        level_names=LEVELS,
    )
    boxes = _boxes(
        districts["lon"], districts["lat"], list(districts["name"]), fig, "xaxis", "yaxis", 1e9, 560 - 64
    )
    assert _overlaps(boxes)


def test_the_summary_images_labels_do_not_overlap() -> None:
    districts = _districts()
    counts = pd.DataFrame(columns=["event", "level", "count"])
    open_rows = pd.DataFrame(columns=["level", "level_label", "title", "place", "age", "ack"])
    fig = build_summary_figure(
        [("发布预警", "1")],
        counts,
        open_rows,
        MapLayers(districts=districts),
        pd.DataFrame(columns=["lon", "lat", "level", "label", "open"]),
        title="清远市预警日报",
        texts=TEXTS,
        events={},
        level_names=LEVELS,
    )
    m = fig.layout.margin
    (x0, x1), (y0, y1) = fig.layout.xaxis2.domain, fig.layout.yaxis2.domain
    width = (fig.layout.width - m.l - m.r) * (x1 - x0)
    height = (fig.layout.height - m.t - m.b) * (y1 - y0)
    xs, ys, names = _labels(fig)
    assert sorted(names) == sorted(districts["name"])  # every district is named, once
    assert _overlaps(_boxes(xs, ys, names, fig, "xaxis2", "yaxis2", width, height)) == []


@pytest.mark.parametrize("width", [700, 1260])  # printed on A4, and on a wide screen
def test_the_report_maps_labels_do_not_overlap(width: int) -> None:
    fig = build_snapshot_map(
        MapLayers(districts=_districts()),
        pd.DataFrame(columns=["lon", "lat", "level", "label", "open"]),
        title="当日预警分布",
        legend_names={"open": "", "closed": "", "none": ""},
        level_names=LEVELS,
    )
    m = fig.layout.margin
    xs, ys, names = _labels(fig)
    boxes = _boxes(xs, ys, names, fig, "xaxis", "yaxis", width - m.l - m.r, fig.layout.height - m.t - m.b)
    assert _overlaps(boxes) == []
