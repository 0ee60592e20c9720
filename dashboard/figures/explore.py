"""The analyst explorer's charts: pure builders (frames in, ``go.Figure`` out).

Shared with the daily snapshot.

- :func:`build_series_figure`: the metric over time (mean line with the min–max band) and the
  reference levels (a station's warning/guaranteed levels, AQI category bounds, congestion grade bounds).
- :func:`build_distribution_figure`: histogram and box of the same rows.
- :func:`build_heatmap_figure`: hour of day × day; each cell carries ``day:<iso date>`` for drill-down.
- :func:`build_compare_figure`: departments stacked on one shared time axis; station traces carry
  ``entity:<id>`` so a click selects that station; river levels are drawn above/below each station's
  warning level, with the warning level as a line at 0.
- :func:`build_empty_figure`: a chart that says there is nothing to show, instead of a blank.

Feed text (station names) is escaped for Plotly's label markup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.explore import ComparePanel, Threshold
from dashboard.figures.citymap import esc
from dashboard.i18n import t
from dashboard.palette import BACKGROUND, GRID, MUTED, TEXT
from dashboard.plotly_locale import date_axis

LINE = "#4da3ff"
BAND = "rgba(77,163,255,0.18)"
PANEL_COLORS = {"rain": "#3d8fd9", "water": "#2fbf71", "traffic": "#f2c925", "incident": "#ff9a2e"}
#: The river panel's warning-level line (the warning palette's yellow).
WARNING_LINE = "#f2c925"
STATION_COLORS = ("#2fbf71", "#4da3ff", "#f2c925", "#ff9a2e", "#c77dff", "#ff4d4f", "#9fb3c8")


def _layout(fig: go.Figure, *, height: int | None = None, uirevision: str = "explore") -> go.Figure:
    fig.update_layout(
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        font={"color": TEXT, "size": 13},
        margin={"l": 56, "r": 16, "t": 36, "b": 40},
        legend={"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom", "bgcolor": "rgba(0,0,0,0)"},
        hovermode="closest",
        uirevision=uirevision,
    )
    if height is not None:
        fig.update_layout(height=height)
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor=GRID)
    return fig


def build_empty_figure(message: str, *, title: str = "") -> go.Figure:
    """A chart area that says why it is empty."""
    fig = go.Figure()
    fig.add_annotation(
        text=esc(message),
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 16, "color": MUTED},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    _layout(fig)
    if title:
        fig.update_layout(title={"text": esc(title), "font": {"size": 15}})
    return fig


def _axis_title(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def visible_thresholds(thresholds: Sequence[Threshold], top: float) -> list[Threshold]:
    """The reference lines worth drawing over data that reaches ``top``: every one at or below it and
    the next one above, so a clean day is not a flat line under a ladder of levels it is far from.

    >>> [th.value for th in visible_thresholds([Threshold("a", v, "#fff") for v in (50.0, 100.0, 300.0)], 64)]
    [50.0, 100.0]
    """
    ordered = sorted(thresholds, key=lambda th: th.value)
    above = [th for th in ordered if th.value > top]
    return [th for th in ordered if th.value <= top] + above[:1]


def build_series_figure(
    series: pd.DataFrame,
    thresholds: Sequence[Threshold],
    *,
    title: str,
    metric_label: str,
    unit: str,
    lang: str = "zh",
    band: bool = True,
) -> go.Figure:
    """The metric over time; ``series``: time, value, min, max. Thresholds are horizontal lines (shapes)."""
    if series.empty or series["value"].notna().sum() == 0:
        return build_empty_figure(t("explore.empty", lang), title=title)
    fig = go.Figure()
    x = series["time"]
    if (
        band
        and {"min", "max"} <= set(series)
        and not np.allclose(series["min"], series["max"], equal_nan=True)
    ):
        # The max line is drawn invisibly first; the min line fills up to it, and that fill is the band.
        edges = (
            ("max", {"showlegend": False, "name": "max"}),
            ("min", {"fill": "tonexty", "fillcolor": BAND, "name": t("explore.band", lang)}),
        )
        for column, style in edges:
            fig.add_trace(
                go.Scatter(x=x, y=series[column], mode="lines", line={"width": 0}, hoverinfo="skip", **style)
            )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=series["value"],
            mode="lines+markers" if len(series) <= 60 else "lines",
            name=esc(metric_label),
            line={"color": LINE, "width": 2},
            marker={"size": 5},
            customdata=[f"day:{pd.Timestamp(v).date().isoformat()}" for v in x],
            hovertemplate="%{x}<br>%{y:.2f} " + esc(unit) + "<extra></extra>",
        )
    )
    if thresholds and all(th.key.startswith("explore.th.aqi") for th in thresholds):
        # a ladder of air-quality categories: up to the next one above the data (a station's own levels
        # — a river's warning and guaranteed levels — are always all drawn)
        thresholds = visible_thresholds(thresholds, float(np.nanmax(series["value"])))
    for th in thresholds:
        fig.add_hline(
            y=th.value,
            line={"color": th.color, "width": 1.5, "dash": "dash"},
            annotation_text=f"{esc(t(th.key, lang))} {th.value:g}",
            annotation_position="top left",
            annotation_font={"color": th.color, "size": 12},
        )
    if thresholds:
        lo = min([float(np.nanmin(series["value"]))] + [th.value for th in thresholds])
        hi = max([float(np.nanmax(series["value"]))] + [th.value for th in thresholds])
        pad = (hi - lo) * 0.06 or 1.0
        fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_layout(title={"text": esc(title), "font": {"size": 15}}, showlegend=False)
    fig.update_yaxes(title=esc(_axis_title(metric_label, unit)))
    fig.update_xaxes(**date_axis(lang))
    return _layout(fig)


def build_distribution_figure(
    series: pd.DataFrame,
    thresholds: Sequence[Threshold],
    *,
    title: str,
    metric_label: str,
    unit: str,
    lang: str = "zh",
) -> go.Figure:
    """Histogram with a box above it, of the series' values (the same rows as the time series)."""
    values = series["value"].dropna() if "value" in series else pd.Series(dtype="float64")
    if values.empty:
        return build_empty_figure(t("explore.empty", lang), title=title)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.2, 0.8], vertical_spacing=0.03)
    fig.add_trace(
        go.Box(
            x=values,
            name="",
            marker={"color": LINE},
            boxpoints=False,
            orientation="h",
            hovertemplate="%{x:.2f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Histogram(
            x=values,
            marker={"color": LINE},
            nbinsx=40,
            name=esc(metric_label),
            hovertemplate="%{x}<br>%{y}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    for th in thresholds:
        fig.add_vline(x=th.value, line={"color": th.color, "width": 1.5, "dash": "dash"}, row=2, col=1)
    fig.update_yaxes(visible=False, row=1, col=1)
    fig.update_yaxes(title=t("explore.count", lang), row=2, col=1)
    fig.update_xaxes(title=esc(_axis_title(metric_label, unit)), row=2, col=1)
    fig.update_layout(title={"text": esc(title), "font": {"size": 15}}, showlegend=False, bargap=0.05)
    return _layout(fig)


def build_heatmap_figure(heat: pd.DataFrame, *, title: str, unit: str, lang: str = "zh") -> go.Figure:
    """Hour of day (x) × local day (y); ``heat``: day, hour, value. A click on a cell names its day."""
    if heat.empty or heat["value"].notna().sum() == 0:
        return build_empty_figure(t("explore.empty", lang), title=title)
    days = pd.to_datetime(heat["day"]).dt.date
    grid = heat.assign(day=days).pivot_table(index="day", columns="hour", values="value", aggfunc="mean")
    grid = grid.reindex(columns=range(24))
    labels = [d.isoformat() for d in grid.index]
    custom = [[f"day:{d}"] * 24 for d in labels]
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(dtype="float64"),
            x=list(range(24)),
            y=labels,
            customdata=custom,
            colorscale="Viridis",
            colorbar={"title": {"text": esc(unit)}, "thickness": 12},
            hovertemplate="%{y} %{x}:00<br>%{z:.2f} " + esc(unit) + "<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.update_xaxes(title=t("explore.hour", lang), dtick=3)
    fig.update_yaxes(type="category", autorange="reversed", nticks=min(len(labels), 16))
    fig.update_layout(title={"text": esc(title), "font": {"size": 15}})
    return _layout(fig)


def build_compare_figure(panels: Sequence[ComparePanel], *, title: str, lang: str = "zh") -> go.Figure:
    """Departments on one shared time axis (stacked subplots): bars for amounts, lines for levels/speeds."""
    shown = [p for p in panels if len(p.frame) and p.frame["value"].notna().any()]
    if not shown:
        return build_empty_figure(t("explore.empty", lang), title=title)
    titles = [esc(_axis_title(t(p.key, lang), p.unit)) for p in shown]
    fig = make_subplots(
        rows=len(shown), cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=titles
    )
    for row, p in enumerate(shown, start=1):
        color = PANEL_COLORS.get(p.domain, LINE)
        f = p.frame
        if "entity_id" in f and f["entity_id"].notna().any():
            relative = p.zero_line is not None and "level" in f
            for i, (eid, g) in enumerate(f.groupby("entity_id", sort=False)):
                name = g["name"].iloc[0] if "name" in g and isinstance(g["name"].iloc[0], str) else eid
                hover = esc(name) + "<br>%{x}<br>%{y:.2f}"
                text = None
                if relative:  # metres above the warning level, and the level itself
                    hover = (
                        esc(name) + "<br>%{x}<br>" + t("explore.cmp.above", lang) + " %{y:+.2f} m"
                        "<br>" + t("explore.metric.level_m", lang) + " %{text} m"
                    )
                    text = [f"{v:.2f}" for v in g["level"]]
                fig.add_trace(
                    go.Scatter(
                        x=g["time"],
                        y=g["value"],
                        mode="lines",
                        name=esc(name),
                        legendgroup=p.domain,
                        line={"color": STATION_COLORS[i % len(STATION_COLORS)], "width": 1.8},
                        customdata=[f"entity:{eid}"] * len(g),
                        text=text,
                        hovertemplate=hover + "<extra></extra>",
                    ),
                    row=row,
                    col=1,
                )
        elif p.kind == "bar":
            fig.add_trace(
                go.Bar(
                    x=f["time"],
                    y=f["value"],
                    marker={"color": color},
                    name=esc(t(p.key, lang)),
                    showlegend=False,
                    hovertemplate="%{x}<br>%{y:.2f}<extra></extra>",
                ),
                row=row,
                col=1,
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=f["time"],
                    y=f["value"],
                    mode="lines",
                    line={"color": color, "width": 2},
                    name=esc(t(p.key, lang)),
                    showlegend=False,
                    hovertemplate="%{x}<br>%{y:.2f}<extra></extra>",
                ),
                row=row,
                col=1,
            )
    _layout(fig)
    fig.update_layout(
        title={"text": esc(title), "font": {"size": 15}},
        height=170 * len(shown) + 90,
        bargap=0.1,
        legend={
            "orientation": "v",
            "x": 1.01,
            "y": 1,
            "yanchor": "top",
            "xanchor": "left",
            "font": {"size": 11},
        },
        margin={"l": 56, "r": 16, "t": 60, "b": 40},
    )
    fig.update_annotations(font={"size": 13, "color": MUTED}, xanchor="left", x=0)  # the panel titles
    for row, p in enumerate(shown, start=1):
        if p.zero_line is not None:
            fig.add_hline(
                y=0,
                line={"color": WARNING_LINE, "width": 1.5, "dash": "dash"},
                annotation_text=esc(t(p.zero_line, lang)),
                annotation_position="bottom right",
                annotation_font={"color": WARNING_LINE, "size": 12},
                row=row,
                col=1,
            )
    fig.update_xaxes(**date_axis(lang))
    return fig
