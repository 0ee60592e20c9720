"""The incidents section's chart: incidents per type and severity class, and how fast they were answered."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.citymap import esc
from dashboard.figures.snapshot.common import (
    list_counts,
    make_panels,
    put_legend_below,
    select_counts,
    style_figure,
)
from dashboard.palette import INCIDENT_COLORS, MUTED, SERIES_COLORS

SEVERITIES = (1, 2, 3, 4)


def build_incident_figure(
    counts: pd.DataFrame,
    response: pd.DataFrame,
    *,
    title: str,
    panel_titles: tuple[str, str],
    class_names: Mapping[int, str],
    axis: str,
    height: int = 380,
) -> go.Figure:
    """Incidents reported per type and severity class (``type_label, severity, count``) and the
    response time (dispatched − reported) per type (``type_label, median_min, p90_min``)."""
    fig = make_panels(panel_titles, spacing=0.12)
    types = list(dict.fromkeys(counts.sort_values("type_label")["type_label"]))
    for severity in SEVERITIES:
        sub = select_counts(counts, "severity", severity, by="type_label")
        if sub.sum() == 0:
            continue
        fig.add_trace(
            go.Bar(
                x=[esc(t) for t in types],
                y=list_counts(sub, types),
                name=esc(class_names.get(severity, str(severity))),
                marker={"color": INCIDENT_COLORS[severity]},
            ),
            row=1,
            col=1,
        )
    if len(response):
        # The bar is the median; the whisker reaches up to the 90th percentile.
        fig.add_trace(
            go.Bar(
                x=[esc(t) for t in response["type_label"]],
                y=response["median_min"],
                name="median",
                marker={"color": SERIES_COLORS[0]},
                showlegend=False,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (response["p90_min"] - response["median_min"]).clip(lower=0),
                    "arrayminus": [0] * len(response),
                    "color": MUTED,
                },
            ),
            row=1,
            col=2,
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title={"text": esc(axis)}, row=1, col=2)
    return put_legend_below(style_figure(fig, title=title, height=height))
