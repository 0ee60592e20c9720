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


def _add_district_names(fig: go.Figure, districts: pd.DataFrame) -> None:
    if len(districts):
        fig.add_trace(
            go.Scatter(
                x=districts["lon"],
                y=districts["lat"],
                mode="text",
                text=[esc(n) for n in districts["name"]],
                textfont={"size": 13, "color": "#c9d6e3"},
                hoverinfo="skip",
                showlegend=False,
            )
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
    _add_district_names(fig, layers.districts)
    placed = points.dropna(subset=["lon", "lat"]) if len(points) else points
    _add_warnings(fig, placed, legend_names, level_names)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=compute_aspect(lats))
    style_figure(fig, title=title, height=height)
    fig.update_layout(
        plot_bgcolor=PAPER,
        margin={"l": 8, "r": 8, "t": 56, "b": 8},
        legend={
            "orientation": "v",
            "x": 0.99,
            "y": 0.02,
            "xanchor": "right",
            "yanchor": "bottom",
            "bgcolor": "rgba(11,20,32,0.8)",
        },
    )
    if not len(placed):
        add_message(fig, legend_names["none"], x=0.02, y=0.98, xanchor="left", yanchor="top", size=15)
    return fig
