"""The day's warnings on the city, drawn without MapLibre.

:func:`dashboard.figures.citymap.build_city_map` draws on MapLibre, whose text labels need glyphs
fetched over HTTP from our server; a report opened from a file (or archived and mailed) has no server,
so the labels would be missing or requested from outside. :func:`build_snapshot_map` therefore draws
the same layers (:class:`MapLayers`: district outlines, the city's base layers, warnings in their level
colour) as plain scatter traces on Cartesian axes with an equal aspect ratio (longitude scaled by
cos(latitude)), which renders identically in the HTML report and in the PNG export with no network and
no WebGL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.citymap import MapLayers, as_lines, esc
from dashboard.figures.snapshot.common import LEVELS, add_message, level_color, style_figure
from dashboard.palette import PAPER

CITY_LATITUDE = 24.0  # where the aspect ratio is taken when there are no districts to measure


def trace_lines(geometries: list[Mapping[str, Any]]) -> tuple[list[float | None], list[float | None]]:
    """The lines (polygons: their rings) of ``geometries`` as x and y, each line ended by a None gap."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for line in as_lines(geometries):
        parts = [line["coordinates"]] if line["type"] == "LineString" else line["coordinates"]
        for part in parts:
            xs += [p[0] for p in part] + [None]
            ys += [p[1] for p in part] + [None]
    return xs, ys


def compute_aspect(lats: Sequence[float]) -> float:
    """The y:x scale that keeps distances true at the mean of ``lats`` (one degree of longitude is
    cos(latitude) of one degree of latitude)."""
    mid = float(np.mean(lats)) if lats else CITY_LATITUDE
    return 1.0 / max(0.2, math.cos(math.radians(mid)))


def _add_districts(fig: go.Figure, districts: pd.DataFrame) -> list[float]:
    """District outlines and names; returns the outlines' latitudes."""
    lats: list[float] = []
    for geom_text in districts.get("geometry", pd.Series(dtype=object)):
        geom = json.loads(geom_text) if isinstance(geom_text, str) else geom_text
        xs, ys = trace_lines([geom])
        lats += [y for y in ys if y is not None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                fill="toself",
                fillcolor="rgba(27,42,61,0.6)",
                line={"color": "#9fb3c8", "width": 1.2},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    return lats


LABEL_SIZE = 13  # px, the district names
LABELS_NAME = "district-labels"  # the name of the trace of district names (figures are looked up by it)
MAP_PAD = 0.04  # of the districts' extent, around them


def text_box(text: str, size: float) -> tuple[float, float]:
    """Width and height in px of one line of ``text`` at font ``size`` px: a CJK character is one em wide,
    other characters about 0.6 em; the height is the line's, 1.3 em."""
    wide = sum(1 for c in text if ord(c) >= 0x2E80)
    return wide * size + (len(text) - wide) * 0.6 * size, 1.3 * size


def _anchor(geometry: Any, fallback: tuple[float, float]) -> tuple[float, float]:
    """The pole of inaccessibility of the district's largest part (the point inside it farthest from its
    edge): a label there stays inside a concave or many-parted district, which its centroid may not."""
    from shapely.geometry import shape
    from shapely.ops import polylabel

    try:
        geom = shape(json.loads(geometry) if isinstance(geometry, str) else geometry)
        parts = list(getattr(geom, "geoms", [geom]))
        largest = max(parts, key=lambda g: g.area)
        p = polylabel(largest, tolerance=0.002)
        return float(p.x), float(p.y)
    except Exception:  # no usable outline: the stored point
        return fallback


def spread_labels(
    anchors: Sequence[tuple[float, float]], boxes: Sequence[tuple[float, float]], *, gap: float = 2.0
) -> list[tuple[float, float]]:
    """Label centres (px, y up) near ``anchors`` whose boxes (width, height) do not overlap: each
    overlapping pair is pushed apart, half each, along the axis that needs the smaller move."""
    pos = [list(a) for a in anchors]
    for _ in range(300):
        moved = False
        for i in range(len(pos)):
            for j in range(i + 1, len(pos)):
                dx = pos[j][0] - pos[i][0]
                dy = pos[j][1] - pos[i][1]
                ox = (boxes[i][0] + boxes[j][0]) / 2 + gap - abs(dx)
                oy = (boxes[i][1] + boxes[j][1]) / 2 + gap - abs(dy)
                if ox <= 0 or oy <= 0:
                    continue
                moved = True
                if oy <= ox:  # apart vertically (the cheaper move for short, wide labels)
                    step = (oy / 2 + 0.01) * (1 if dy >= 0 else -1)
                    pos[i][1] -= step
                    pos[j][1] += step
                else:
                    step = (ox / 2 + 0.01) * (1 if dx >= 0 else -1)
                    pos[i][0] -= step
                    pos[j][0] += step
        if not moved:
            break
    return [(p[0], p[1]) for p in pos]


def map_extent(lons: Sequence[float], lats: Sequence[float]) -> tuple[list[float], list[float]]:
    """The x and y ranges of a map of these outlines, with a margin."""
    x0, x1, y0, y1 = min(lons), max(lons), min(lats), max(lats)
    px, py = (x1 - x0) * MAP_PAD or 0.01, (y1 - y0) * MAP_PAD or 0.01
    return [x0 - px, x1 + px], [y0 - py, y1 + py]


def px_per_unit(
    x_range: Sequence[float], y_range: Sequence[float], width: float, height: float, ratio: float
) -> float:
    """Pixels per unit of x on axes tied by ``scaleanchor`` with ``scaleratio`` = ratio (a unit of y is
    ``ratio`` times as long): Plotly widens the range of the looser axis, so the tighter one sets it."""
    return min(width / (x_range[1] - x_range[0]), height / ((y_range[1] - y_range[0]) * ratio))


def place_district_labels(
    districts: pd.DataFrame, scale: float, ratio: float, size: float = LABEL_SIZE
) -> pd.DataFrame:
    """name, x, y: where each district's name is written so that no two names overlap on a map drawn
    at ``scale`` px per degree of longitude (a degree of latitude is ``ratio`` times as long)."""
    if not len(districts):
        return pd.DataFrame(columns=["name", "x", "y"])
    names = [str(n) for n in districts["name"]]
    geoms = districts["geometry"] if "geometry" in districts else [None] * len(districts)
    anchors = [
        _anchor(g, (float(lon), float(lat)))
        for g, lon, lat in zip(geoms, districts["lon"], districts["lat"], strict=True)
    ]
    sy = scale * ratio
    placed = spread_labels([(x * scale, y * sy) for x, y in anchors], [text_box(n, size) for n in names])
    return pd.DataFrame(
        {"name": names, "x": [p[0] / scale for p in placed], "y": [p[1] / sy for p in placed]}
    )


def district_labels(
    districts: pd.DataFrame,
    x_range: Sequence[float],
    y_range: Sequence[float],
    width: float,
    height: float,
    ratio: float,
) -> go.Scatter | None:
    """The trace of the district names (``LABELS_NAME``) for a map of ``width`` × ``height`` px over
    these ranges, placed so that no two overlap; None without districts."""
    if not len(districts):
        return None
    labels = place_district_labels(districts, px_per_unit(x_range, y_range, width, height, ratio), ratio)
    return go.Scatter(
        x=labels["x"],
        y=labels["y"],
        mode="text",
        text=[esc(n) for n in labels["name"]],
        textfont={"size": LABEL_SIZE, "color": "#e6edf5", "shadow": "0px 0px 3px #0b1420"},
        name=LABELS_NAME,
        cliponaxis=False,  # a name may reach past the outlines' extent
        hoverinfo="skip",
        showlegend=False,
    )


def _add_base_layers(fig: go.Figure, layers: MapLayers) -> None:
    for base in layers.base:
        xs, ys = trace_lines(list(base.geometries))
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": base.color, "width": 1.8},
                    name=esc(base.name),
                    hoverinfo="skip",
                )
            )


def _add_warnings(
    fig: go.Figure, placed: pd.DataFrame, legend_names: Mapping[str, str], level_names: Mapping[int, str]
) -> None:
    """One trace per level and state: open warnings filled, closed ones as rings."""
    for level in LEVELS:
        for is_open in (True, False):
            sub = placed[(placed["level"] == level) & (placed["open"] == is_open)] if len(placed) else placed
            if not len(sub):
                continue
            color = level_color(level)
            marker = (
                {"size": 15, "color": color, "line": {"color": PAPER, "width": 1}}
                if is_open
                else {"size": 13, "color": "rgba(0,0,0,0)", "line": {"color": color, "width": 2.5}}
            )
            name = f"{level_names[level]} · {legend_names['open' if is_open else 'closed']}"
            fig.add_trace(
                go.Scatter(
                    x=sub["lon"],
                    y=sub["lat"],
                    mode="markers",
                    marker=marker,
                    name=esc(name),
                    text=[esc(s) for s in sub["label"]],
                    hoverinfo="text",
                )
            )


def build_snapshot_map(
    layers: MapLayers,
    points: pd.DataFrame,
    *,
    title: str,
    legend_names: Mapping[str, str],
    level_names: Mapping[int, str],
    height: int = 560,
) -> go.Figure:
    """The day's warnings on the city (see the module docstring for why this is not a MapLibre map).

    ``points``: lon, lat (WGS-84), level (1–4, the most severe reached in the day), label, open (bool:
    still open at the cut-off, drawn filled; closed ones are drawn as rings)."""
    fig = go.Figure()
    lats = _add_districts(fig, layers.districts)
    _add_base_layers(fig, layers)
    placed = points.dropna(subset=["lon", "lat"]) if len(points) else points
    _add_warnings(fig, placed, legend_names, level_names)
    ratio = compute_aspect(lats)
    margin = {"l": 8, "r": 8, "t": 56, "b": 8}
    lons = [x for tr in fig.data if tr.fill == "toself" for x in tr.x if x is not None]
    if lons:
        x_range, y_range = map_extent(lons, lats)
        # "domain": the looser axis gets a narrower plot area, never a wider range, so redrawing at
        # another size (the report on paper) keeps the map's extent and its labels' spacing
        fig.update_xaxes(range=x_range, constrain="domain")
        fig.update_yaxes(range=y_range, constrain="domain")
        # The report's map is as wide as the page (wider than the map is tall): its height sets the scale.
        labels = district_labels(
            layers.districts, x_range, y_range, math.inf, height - margin["t"] - margin["b"], ratio
        )
        if labels is not None:
            fig.add_trace(labels)  # last: the names stay readable over the warnings
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=ratio)
    style_figure(fig, title=title, height=height)
    fig.update_layout(
        plot_bgcolor=PAPER,
        margin=margin,
        legend={  # the city's south-west corner is empty land of the map's frame
            "orientation": "v",
            "x": 0.01,
            "y": 0.02,
            "xanchor": "left",
            "yanchor": "bottom",
            "bgcolor": "rgba(11,20,32,0.8)",
        },
    )
    if not len(placed):
        add_message(fig, legend_names["none"], x=0.02, y=0.98, xanchor="left", yanchor="top", size=15)
    return fig
