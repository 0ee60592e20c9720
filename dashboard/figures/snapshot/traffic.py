"""The traffic section's chart: the traffic index of the city and its districts over the day."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.citymap import esc
from dashboard.figures.snapshot.common import add_reference_lines, style_figure
from dashboard.palette import SERIES_COLORS

LINE_COLORS = (*SERIES_COLORS, "#f2c925", "#ff9a2e")  # the districts, in turn
CITY_COLOR = "#ffffff"
GRADE_BOUNDS = (2, 4, 6, 8)  # where the congestion grades change on the 0–10 index


def build_traffic_figure(hourly: pd.DataFrame, *, title: str, axis: str, height: int = 380) -> go.Figure:
    """Traffic index (0–10) per hour (``time`` local, ``name``, ``index``, ``city`` bool): the city as a
    thick line, districts thin; each line's peak is marked."""
    fig = go.Figure()
    names = list(dict.fromkeys(hourly.sort_values("city", ascending=False)["name"]))
    for i, name in enumerate(names):
        part = hourly[hourly["name"] == name].sort_values("time")
        city = bool(part["city"].iloc[0])
        color = CITY_COLOR if city else LINE_COLORS[i % len(LINE_COLORS)]
        fig.add_trace(
            go.Scatter(
                x=part["time"],
                y=part["index"],
                mode="lines",
                name=esc(name),
                line={"color": color, "width": 3.5 if city else 1.5},
            )
        )
        if part["index"].notna().any():
            top = part.loc[part["index"].idxmax()]
            fig.add_trace(
                go.Scatter(
                    x=[top["time"]],
                    y=[top["index"]],
                    mode="markers",
                    marker={"color": color, "size": 9},
                    showlegend=False,
                    hovertemplate=f"{esc(name)} %{{y:.1f}}<extra></extra>",
                )
            )
    add_reference_lines(fig, GRADE_BOUNDS)
    fig.update_yaxes(title={"text": esc(axis)}, range=[0, 10])
    fig.update_xaxes(tickformat="%H:%M\n%m-%d")
    return style_figure(fig, title=title, height=height)
