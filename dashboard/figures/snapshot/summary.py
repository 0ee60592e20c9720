"""The one-page summary image: headline numbers, warnings by event and level, the map and the warnings
still open at the cut-off."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.citymap import MapLayers, esc
from dashboard.figures.snapshot.common import add_message, has_counts, level_color, style_figure
from dashboard.figures.snapshot.map import LABELS_NAME, build_snapshot_map, district_labels
from dashboard.figures.snapshot.warnings import build_level_traces
from dashboard.palette import BACKGROUND, GRID, PAPER, TEXT

SUMMARY_SIZE = (1600, 1080)  # px
SUMMARY_MARGIN = {"l": 24, "r": 24, "t": 80, "b": 24}
OPEN_ROWS = 14  # as many as the image has room for
OPEN_COLUMNS = ("level_label", "title", "place", "age", "ack")


def _build_headline_table(headline: Sequence[tuple[str, str]]) -> go.Table:
    return go.Table(
        header={"values": ["", ""], "height": 0, "fill": {"color": PAPER}, "line": {"color": PAPER}},
        cells={
            "values": [[esc(k) for k, _ in headline], [esc(v) for _, v in headline]],
            "height": 34,
            "fill": {"color": [[BACKGROUND, PAPER] * len(headline)]},
            "line": {"color": GRID},
            "font": {"size": [16, 18], "color": TEXT},
            "align": ["left", "right"],
        },
        columnwidth=[0.62, 0.38],
    )


def _build_open_table(open_rows: pd.DataFrame, texts: Mapping[str, str]) -> go.Table:
    """The first open warnings, the level cell in the level's colour; a single row when none is open."""
    rows = open_rows.head(OPEN_ROWS)
    return go.Table(
        header={
            "values": [esc(h) for h in texts["open_columns"].split("|")],
            "fill": {"color": GRID},
            "font": {"size": 14, "color": TEXT},
            "align": "left",
            "height": 30,
        },
        cells={
            "values": [[esc(v) for v in rows[c]] for c in OPEN_COLUMNS]
            if len(rows)
            else [[esc(texts["no_open"])], [""], [""], [""], [""]],
            "fill": {
                "color": [
                    [
                        level_color(v) if i == 0 else BACKGROUND
                        for v in (rows["level"] if len(rows) else [None])
                    ]
                    for i in range(5)
                ]
            },
            "font": {
                "size": 13,
                "color": [[PAPER if len(rows) else TEXT] * max(1, len(rows))]
                + [[TEXT] * max(1, len(rows))] * 4,
            },
            "align": "left",
            "height": 28,
            "line": {"color": GRID},
        },
        columnwidth=[0.12, 0.38, 0.22, 0.12, 0.16],
    )


def build_summary_figure(
    headline: Sequence[tuple[str, str]],
    counts: pd.DataFrame,
    open_rows: pd.DataFrame,
    layers: MapLayers,
    points: pd.DataFrame,
    *,
    title: str,
    texts: Mapping[str, str],
    events: Mapping[str, str],
    level_names: Mapping[int, str],
) -> go.Figure:
    """The one-page summary image: headline numbers, warnings by event and level, the map and the
    warnings still open at the cut-off (the same data as the report's figures)."""
    fig = make_subplots(
        rows=2,
        cols=2,
        column_widths=[0.52, 0.48],
        row_heights=[0.42, 0.58],
        horizontal_spacing=0.04,
        vertical_spacing=0.08,
        specs=[[{"type": "table"}, {"type": "xy"}], [{"type": "xy"}, {"type": "table"}]],
        subplot_titles=[
            esc(texts["headline"]),
            esc(texts["levels"]),
            esc(texts["map"]),
            esc(texts["open"]),
        ],
    )
    fig.add_trace(_build_headline_table(headline), row=1, col=1)
    if has_counts(counts):
        for trace in build_level_traces(counts, events, level_names, showlegend=False):
            fig.add_trace(trace, row=1, col=2)
    else:
        add_message(fig, texts["none"], xref="x domain", yref="y domain", size=18)
    small = build_snapshot_map(
        layers, points, title="", legend_names={"open": "", "closed": "", "none": ""}, level_names=level_names
    )
    for trace in small.data:
        if trace.name == LABELS_NAME:
            continue  # placed again below, for this image's scale
        trace.showlegend = False
        fig.add_trace(trace, row=2, col=1)
    ratio = small.layout.yaxis.scaleratio
    x_range, y_range = small.layout.xaxis.range, small.layout.yaxis.range
    fig.update_xaxes(visible=False, range=x_range, constrain="domain", row=2, col=1)
    fig.update_yaxes(
        visible=False, scaleanchor="x2", scaleratio=ratio, range=y_range, constrain="domain", row=2, col=1
    )
    fig.add_trace(_build_open_table(open_rows, texts), row=2, col=2)
    fig.update_yaxes(gridcolor=GRID, row=1, col=2)
    style_figure(fig, title=title, height=SUMMARY_SIZE[1], legend=False)
    fig.update_layout(width=SUMMARY_SIZE[0], margin=SUMMARY_MARGIN, title={"font": {"size": 26}})
    if x_range is not None and y_range is not None:
        width, height = plot_area(fig, "xaxis2", "yaxis2")
        labels = district_labels(layers.districts, x_range, y_range, width, height, ratio)
        if labels is not None:
            fig.add_trace(labels, row=2, col=1)
    return fig


def plot_area(fig: go.Figure, xaxis: str, yaxis: str) -> tuple[float, float]:
    """Width and height in px of the plot area of the subplot on ``xaxis`` and ``yaxis``."""
    m = fig.layout.margin
    x0, x1 = fig.layout[xaxis].domain
    y0, y1 = fig.layout[yaxis].domain
    return (fig.layout.width - m.l - m.r) * (x1 - x0), (fig.layout.height - m.t - m.b) * (y1 - y0)
