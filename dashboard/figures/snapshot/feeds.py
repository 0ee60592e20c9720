"""The feeds section's chart: each feed's outages and failed runs over the day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.snapshot.common import NEUTRAL, add_message, style_figure

KIND_COLORS = {"outage": "#ff4d4f", "failed_run": "#ff9a2e"}


def build_feed_figure(
    periods: pd.DataFrame,
    feeds: Sequence[str],
    *,
    title: str,
    start: Any,
    end: Any,
    kind_names: Mapping[str, str],
    empty_message: str,
    height: int = 300,
) -> go.Figure:
    """Feed health over the day: per feed (rows), its outage periods and failed runs on the time axis.

    ``periods``: feed, kind (``outage`` | ``failed_run``), start, end (local, naive)."""
    fig = go.Figure()
    shown: set[str] = set()
    for row in periods.itertuples(index=False):
        kind = str(row.kind)
        fig.add_trace(
            go.Scatter(
                x=[row.start, row.end],
                y=[row.feed, row.feed],
                mode="lines+markers",
                line={"color": KIND_COLORS.get(kind, NEUTRAL), "width": 14 if kind == "outage" else 6},
                marker={"size": 6 if kind == "failed_run" else 1},
                name=kind_names.get(kind, kind),
                legendgroup=kind,
                showlegend=kind not in shown,
                hoverinfo="name+x",
            )
        )
        shown.add(kind)
    # An invisible trace spanning the day: on a day without periods it still makes the time axis a date
    # axis and gives the feed axis a category.
    fig.add_trace(
        go.Scatter(
            x=[start, end],
            y=[feeds[0], feeds[0]] if feeds else [None, None],
            mode="markers",
            marker={"opacity": 0},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(feeds)), type="category")
    fig.update_xaxes(range=[start, end], tickformat="%H:%M\n%m-%d")
    if periods.empty:
        add_message(fig, empty_message)
    return style_figure(fig, title=title, height=max(height, 40 * len(feeds) + 140))
