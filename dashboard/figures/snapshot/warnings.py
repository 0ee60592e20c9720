"""The warnings section's charts: warnings per event and level, and per department and district."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.citymap import esc
from dashboard.figures.snapshot.common import (
    LEVELS,
    build_message_figure,
    has_counts,
    level_color,
    list_counts,
    make_panels,
    put_legend_below,
    select_counts,
    style_figure,
)


def build_level_traces(
    counts: pd.DataFrame,
    events: Mapping[str, str],
    level_names: Mapping[int, str],
    *,
    showlegend: bool | None = None,
) -> list[go.Bar]:
    """One bar trace per level: its count per event (``events``: code → label, in order)."""
    labels = list(events.values())
    traces = []
    for level in LEVELS:
        values = list_counts(select_counts(counts, "level", level, by="event"), events)
        traces.append(
            go.Bar(
                x=labels,
                y=values,
                name=level_names[level],
                marker={"color": level_color(level)},
                showlegend=showlegend,
                text=[v or "" for v in values],
                textposition="outside",
                cliponaxis=False,
            )
        )
    return traces


def build_level_bars(
    counts: pd.DataFrame,
    *,
    title: str,
    events: Mapping[str, str],
    level_names: Mapping[int, str],
    empty_message: str,
    height: int = 340,
) -> go.Figure:
    """Warnings per event (``events``: code → label, in order) and level.

    ``counts`` has event, level, count.
    """
    if not has_counts(counts):
        return build_message_figure(empty_message, title=title, height=height)
    fig = go.Figure(build_level_traces(counts, events, level_names))
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(rangemode="tozero", dtick=max(1, math.ceil(counts["count"].max() / 6)))
    return style_figure(fig, title=title, height=height)


def build_place_bars(
    places: pd.DataFrame,
    *,
    title: str,
    panel_titles: tuple[str, str],
    level_names: Mapping[int, str],
    empty_message: str,
    height: int = 380,
) -> go.Figure:
    """Warnings raised or escalated per department and per district, stacked by level.

    ``places``: group (``department`` | ``district``), name, level, count."""
    if not has_counts(places):
        return build_message_figure(empty_message, title=title, height=height)
    fig = make_panels(panel_titles, spacing=0.22)
    for col, group in enumerate(("department", "district"), start=1):
        part = places[places["group"] == group]
        order = part.groupby("name")["count"].sum().sort_values().index.tolist()
        for level in LEVELS:
            fig.add_trace(
                go.Bar(
                    y=[esc(n) for n in order],
                    x=list_counts(select_counts(part, "level", level, by="name"), order),
                    orientation="h",
                    name=level_names[level],
                    legendgroup=str(level),
                    showlegend=col == 1,
                    marker={"color": level_color(level)},
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="stack")
    return put_legend_below(style_figure(fig, title=title, height=height))
