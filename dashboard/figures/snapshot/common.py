"""What the report's figures share: level colours, the dark layout, the message a chart shows in place of
data, side-by-side panels, and reading a tally frame (a ``count`` column per category)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.citymap import esc
from dashboard.palette import BACKGROUND, GRID, MUTED, PAPER, TEXT
from metrics.levels import Level

NEUTRAL = "#6f8399"  # no level, no category
LEVELS = (1, 2, 3, 4)
FONT_FAMILY = "Noto Sans CJK SC, Noto Sans, sans-serif"


def level_color(level: Any) -> str:
    """The colour of warning level ``level`` (1–4); neutral for anything else (None: no level)."""
    try:
        return Level(int(level)).color
    except (TypeError, ValueError):
        return NEUTRAL


def style_figure(fig: go.Figure, *, title: str, height: int, legend: bool = True) -> go.Figure:
    """The report's dark layout: title at the top left, legend along the top right, grid lines muted."""
    fig.update_layout(
        title={"text": esc(title), "font": {"size": 17}, "x": 0.01, "xanchor": "left"},
        height=height,
        paper_bgcolor=PAPER,
        plot_bgcolor=BACKGROUND,
        font={"color": TEXT, "size": 13, "family": FONT_FAMILY},
        margin={"l": 64, "r": 24, "t": 56, "b": 48},
        showlegend=legend,
        legend={
            "orientation": "h",
            "y": 1.0,
            "x": 1.0,
            "xanchor": "right",
            "yanchor": "bottom",
            "bgcolor": "rgba(0,0,0,0)",
        },
    )
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor=GRID)
    return fig


def put_legend_below(fig: go.Figure) -> go.Figure:
    """Side-by-side panels have their titles where a top legend would go: put the legend underneath."""
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.14, "yanchor": "top"}, margin={"b": 84}
    )
    return fig


def add_message(
    fig: go.Figure,
    text: str,
    *,
    x: float = 0.5,
    y: float = 0.5,
    xref: str = "paper",
    yref: str = "paper",
    xanchor: str | None = None,
    yanchor: str | None = None,
    size: int = 16,
) -> None:
    """Say on the figure why there is nothing (or not everything) to draw; centred unless placed."""
    fig.add_annotation(
        text=esc(text),
        showarrow=False,
        x=x,
        y=y,
        xref=xref,
        yref=yref,
        xanchor=xanchor,
        yanchor=yanchor,
        font={"size": size, "color": MUTED},
    )


def build_message_figure(message: str, *, title: str, height: int = 320) -> go.Figure:
    """A chart area that states why there is nothing to draw."""
    fig = go.Figure()
    add_message(fig, message)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style_figure(fig, title=title, height=height, legend=False)


def make_panels(titles: Sequence[str], *, spacing: float) -> go.Figure:
    """Two panels side by side, each with its title."""
    return make_subplots(rows=1, cols=2, subplot_titles=[esc(t) for t in titles], horizontal_spacing=spacing)


def add_reference_lines(fig: go.Figure, bounds: Iterable[float]) -> None:
    """Dotted horizontal lines at the category bounds of the y axis."""
    for bound in bounds:
        fig.add_hline(y=bound, line={"color": GRID, "width": 1, "dash": "dot"})


def has_counts(counts: pd.DataFrame) -> bool:
    """Whether a tally frame counts anything at all."""
    return not counts.empty and counts["count"].sum() > 0


def select_counts(counts: pd.DataFrame, column: str, value: Any, *, by: str) -> pd.Series:
    """The ``count`` of the rows whose ``column`` is ``value``, indexed by ``by``."""
    return counts[counts[column] == value].set_index(by)["count"]


def list_counts(counts: pd.Series, keys: Iterable[Any]) -> list[int]:
    """The counts of ``keys`` in their order, zero for a key not counted."""
    return [int(counts.get(key, 0)) for key in keys]
