"""The air section's chart: the day's AQI per station."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.citymap import esc
from dashboard.figures.snapshot.common import NEUTRAL, add_reference_lines, style_figure
from dashboard.palette import AQI_COLORS

AQI_BOUNDS = (50, 100, 150, 200, 300)  # where the AQI categories change


def build_aqi_figure(daily: pd.DataFrame, *, title: str, axis: str, height: int = 360) -> go.Figure:
    """Daily AQI per station (``name, aqi, level, category``), coloured by AQI category."""
    frame = daily.sort_values("aqi", ascending=False, na_position="last")
    colors = [AQI_COLORS.get(int(v), NEUTRAL) if not pd.isna(v) else NEUTRAL for v in frame["level"]]
    fig = go.Figure(
        go.Bar(
            x=[esc(n) for n in frame["name"]],
            y=frame["aqi"],
            marker={"color": colors},
            customdata=np.stack([frame["category"].fillna("—").astype(str)], axis=-1),
            hovertemplate="%{x}<br>AQI %{y} %{customdata[0]}<extra></extra>",
            showlegend=False,
        )
    )
    add_reference_lines(fig, AQI_BOUNDS)
    fig.update_yaxes(title={"text": esc(axis)}, rangemode="tozero")
    fig.update_xaxes(tickangle=-60, tickfont={"size": 10})
    return style_figure(fig, title=title, height=height, legend=False)
