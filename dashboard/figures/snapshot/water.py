"""The water section's charts: river peaks against their warning levels, and the heaviest rainfall."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.citymap import esc
from dashboard.figures.snapshot.common import level_color, style_figure


def build_water_figure(
    peaks: pd.DataFrame,
    *,
    title: str,
    axis: str,
    level_names: Mapping[int, str],
    normal_name: str,
    height: int = 420,
) -> go.Figure:
    """Each river station's peak against its warning level (``name, over_warning_m, signal``): bars of
    peak − warning level in metres, coloured by the level the peak reached (none: neutral)."""
    frame = peaks.sort_values("over_warning_m")
    fig = go.Figure()
    for level in (None, 4, 3, 2, 1):
        sub = frame[frame["signal"].isna()] if level is None else frame[frame["signal"] == level]
        if not len(sub):
            continue
        fig.add_trace(
            go.Bar(
                y=[esc(n) for n in sub["name"]],
                x=sub["over_warning_m"],
                orientation="h",
                name=normal_name if level is None else level_names[level],
                marker={"color": level_color(level)},
                text=[f"{v:+.2f} m" for v in sub["over_warning_m"]],
                textposition="outside",
                cliponaxis=False,
            )
        )
    fig.add_vline(x=0, line={"color": level_color(3), "width": 2, "dash": "dash"})
    fig.update_xaxes(title={"text": esc(axis)})
    fig.update_yaxes(
        categoryorder="array", categoryarray=[esc(n) for n in frame["name"]], tickfont={"size": 11}
    )
    fig.update_layout(barmode="overlay")
    # A bar per station: the chart grows with the stations so that their names stay readable.
    return style_figure(fig, title=title, height=max(height, 22 * len(frame) + 120))


def build_rain_figure(totals: pd.DataFrame, *, title: str, axis: str, height: int = 380) -> go.Figure:
    """The heaviest gauges (``name, total_mm, color``) as bars, largest first."""
    frame = totals.sort_values("total_mm", ascending=False)
    fig = go.Figure(
        go.Bar(
            x=[esc(n) for n in frame["name"]],
            y=frame["total_mm"],
            marker={"color": frame["color"]},
            text=[f"{v:.1f}" for v in frame["total_mm"]],
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
        )
    )
    fig.update_yaxes(title={"text": esc(axis)}, rangemode="tozero")
    fig.update_xaxes(tickangle=-45)
    return style_figure(fig, title=title, height=height, legend=False)
