"""Figures of the daily warning snapshot: pure builders (frames in, ``go.Figure`` out).

The snapshot's map is **not** a MapLibre map. :func:`dashboard.figures.citymap.build_city_map` draws
on MapLibre, whose text labels need glyphs fetched over HTTP from our server; a report opened from a
file (or archived and mailed) has no server, so the labels would be missing or requested from
outside. :func:`build_snapshot_map` therefore draws the same layers (:class:`MapLayers`: district
outlines, the city's base layers, warnings in their level colour) as plain scatter traces on
Cartesian axes with an equal aspect ratio (longitude scaled by cos(latitude)), which renders
identically in the HTML report and in the PNG export with no network and no WebGL.

Every builder that may receive nothing to draw says so on the figure (``empty_message``) instead of
leaving a blank chart; whether "nothing" is an error is the caller's decision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.citymap import MapLayers, as_lines, esc
from dashboard.palette import AQI_COLORS
from metrics.levels import Level

BG = "#111d2e"
PAPER = "#0b1420"
TEXT = "#e6edf5"
MUTED = "#8aa0b8"
GRID = "#22344d"
NEUTRAL = "#6f8399"
LEVELS = (1, 2, 3, 4)


def level_color(level: Any) -> str:
    try:
        return Level(int(level)).color
    except (TypeError, ValueError):
        return NEUTRAL


def _layout(fig: go.Figure, *, title: str, height: int, legend: bool = True) -> go.Figure:
    fig.update_layout(
        title={"text": esc(title), "font": {"size": 17}, "x": 0.01, "xanchor": "left"},
        height=height,
        paper_bgcolor=PAPER,
        plot_bgcolor=BG,
        font={"color": TEXT, "size": 13, "family": "Noto Sans CJK SC, Noto Sans, sans-serif"},
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


def _message(fig: go.Figure, text: str, *, xref: str = "paper", yref: str = "paper") -> None:
    fig.add_annotation(
        text=esc(text),
        showarrow=False,
        x=0.5,
        y=0.5,
        xref=xref,
        yref=yref,
        font={"size": 16, "color": MUTED},
    )


def build_message_figure(message: str, *, title: str, height: int = 320) -> go.Figure:
    """A chart area that states why there is nothing to draw."""
    fig = go.Figure()
    _message(fig, message)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title=title, height=height, legend=False)


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
    if counts.empty or counts["count"].sum() == 0:
        return build_message_figure(empty_message, title=title, height=height)
    fig = go.Figure()
    labels = list(events.values())
    for level in LEVELS:
        sub = counts[counts["level"] == level].set_index("event")["count"]
        values = [int(sub.get(code, 0)) for code in events]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=level_names[level],
                marker={"color": level_color(level)},
                text=[v or "" for v in values],
                textposition="outside",
                cliponaxis=False,
            )
        )
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(rangemode="tozero", dtick=max(1, math.ceil(counts["count"].max() / 6)))
    return _layout(fig, title=title, height=height)


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
    if places.empty or places["count"].sum() == 0:
        return build_message_figure(empty_message, title=title, height=height)
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=[esc(t) for t in panel_titles], horizontal_spacing=0.22
    )
    for col, group in enumerate(("department", "district"), start=1):
        part = places[places["group"] == group]
        order = part.groupby("name")["count"].sum().sort_values().index.tolist()
        for level in LEVELS:
            sub = part[part["level"] == level].set_index("name")["count"]
            fig.add_trace(
                go.Bar(
                    y=[esc(n) for n in order],
                    x=[int(sub.get(n, 0)) for n in order],
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
    return _legend_below(_layout(fig, title=title, height=height))


def _legend_below(fig: go.Figure) -> go.Figure:
    """Side-by-side panels have their titles where a top legend would go: put the legend underneath."""
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.14, "yanchor": "top"}, margin={"b": 84}
    )
    return fig


def _aspect(lat: float) -> float:
    return 1.0 / max(0.2, math.cos(math.radians(lat)))


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
    d = layers.districts
    lats: list[float] = []
    for geom_text in d.get("geometry", pd.Series(dtype=object)):
        geom = json.loads(geom_text) if isinstance(geom_text, str) else geom_text
        xs: list[float | None] = []
        ys: list[float | None] = []
        for line in as_lines([geom]):
            rings = [line["coordinates"]] if line["type"] == "LineString" else line["coordinates"]
            for ring in rings:
                xs += [p[0] for p in ring] + [None]
                ys += [p[1] for p in ring] + [None]
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
    for base in layers.base:
        xs, ys = [], []
        for line in as_lines(list(base.geometries)):
            parts = [line["coordinates"]] if line["type"] == "LineString" else line["coordinates"]
            for part in parts:
                xs += [p[0] for p in part] + [None]
                ys += [p[1] for p in part] + [None]
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
    if len(d):
        fig.add_trace(
            go.Scatter(
                x=d["lon"],
                y=d["lat"],
                mode="text",
                text=[esc(n) for n in d["name"]],
                textfont={"size": 13, "color": "#c9d6e3"},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    placed = points.dropna(subset=["lon", "lat"]) if len(points) else points
    for level in LEVELS:
        for is_open in (True, False):
            sub = placed[(placed["level"] == level) & (placed["open"] == is_open)] if len(placed) else placed
            if not len(sub):
                continue
            color = level_color(level)
            marker = (
                {"size": 15, "color": color, "line": {"color": "#0b1420", "width": 1}}
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
    mid = float(np.mean(lats)) if lats else 24.0
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=_aspect(mid))
    _layout(fig, title=title, height=height)
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
        fig.add_annotation(
            text=esc(legend_names["none"]),
            showarrow=False,
            x=0.02,
            y=0.98,
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="top",
            font={"size": 15, "color": MUTED},
        )
    return fig


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
    for bound in (50, 100, 150, 200, 300):
        fig.add_hline(y=bound, line={"color": GRID, "width": 1, "dash": "dot"})
    fig.update_yaxes(title={"text": esc(axis)}, rangemode="tozero")
    fig.update_xaxes(tickangle=-60, tickfont={"size": 10})
    return _layout(fig, title=title, height=height, legend=False)


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
    return _layout(fig, title=title, height=max(height, 22 * len(frame) + 120))


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
    return _layout(fig, title=title, height=height, legend=False)


def build_traffic_figure(hourly: pd.DataFrame, *, title: str, axis: str, height: int = 380) -> go.Figure:
    """Traffic index (0–10) per hour (``time`` local, ``name``, ``index``, ``city`` bool): the city as a
    thick line, districts thin; each line's peak is marked."""
    fig = go.Figure()
    palette = ("#7fc8ff", "#c3a6ff", "#7fe0b2", "#ffb3c7", "#d9e27a", "#9fb3c8", "#f2c925", "#ff9a2e")
    names = list(dict.fromkeys(hourly.sort_values("city", ascending=False)["name"]))
    for i, name in enumerate(names):
        part = hourly[hourly["name"] == name].sort_values("time")
        city = bool(part["city"].iloc[0])
        color = "#ffffff" if city else palette[i % len(palette)]
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
    for bound in (2, 4, 6, 8):
        fig.add_hline(y=bound, line={"color": GRID, "width": 1, "dash": "dot"})
    fig.update_yaxes(title={"text": esc(axis)}, range=[0, 10])
    fig.update_xaxes(tickformat="%H:%M\n%m-%d")
    return _layout(fig, title=title, height=height)


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
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=[esc(t) for t in panel_titles], horizontal_spacing=0.12
    )
    colors = {1: "#ff4d4f", 2: "#ff9a2e", 3: "#ffd60a", 4: "#4da3ff"}
    types = list(dict.fromkeys(counts.sort_values("type_label")["type_label"]))
    for severity in (1, 2, 3, 4):
        sub = counts[counts["severity"] == severity].set_index("type_label")["count"]
        if sub.sum() == 0:
            continue
        fig.add_trace(
            go.Bar(
                x=[esc(t) for t in types],
                y=[int(sub.get(t, 0)) for t in types],
                name=esc(class_names.get(severity, str(severity))),
                marker={"color": colors[severity]},
            ),
            row=1,
            col=1,
        )
    if len(response):
        fig.add_trace(
            go.Bar(
                x=[esc(t) for t in response["type_label"]],
                y=response["median_min"],
                name="median",
                marker={"color": "#7fc8ff"},
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
    return _legend_below(_layout(fig, title=title, height=height))


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
    colors = {"outage": "#ff4d4f", "failed_run": "#ff9a2e"}
    shown: set[str] = set()
    for row in periods.itertuples(index=False):
        kind = str(row.kind)
        fig.add_trace(
            go.Scatter(
                x=[row.start, row.end],
                y=[row.feed, row.feed],
                mode="lines+markers",
                line={"color": colors.get(kind, NEUTRAL), "width": 14 if kind == "outage" else 6},
                marker={"size": 6 if kind == "failed_run" else 1},
                name=kind_names.get(kind, kind),
                legendgroup=kind,
                showlegend=kind not in shown,
                hoverinfo="name+x",
            )
        )
        shown.add(kind)
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
        _message(fig, empty_message)
    return _layout(fig, title=title, height=max(height, 40 * len(feeds) + 140))


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
    fig.add_trace(
        go.Table(
            header={"values": ["", ""], "height": 0, "fill": {"color": PAPER}, "line": {"color": PAPER}},
            cells={
                "values": [[esc(k) for k, _ in headline], [esc(v) for _, v in headline]],
                "height": 34,
                "fill": {"color": [[BG, PAPER] * len(headline)]},
                "line": {"color": GRID},
                "font": {"size": [16, 18], "color": TEXT},
                "align": ["left", "right"],
            },
            columnwidth=[0.62, 0.38],
        ),
        row=1,
        col=1,
    )
    if not counts.empty and counts["count"].sum() > 0:
        for level in LEVELS:
            sub = counts[counts["level"] == level].set_index("event")["count"]
            fig.add_trace(
                go.Bar(
                    x=list(events.values()),
                    y=[int(sub.get(c, 0)) for c in events],
                    name=level_names[level],
                    marker={"color": level_color(level)},
                    showlegend=False,
                    text=[int(sub.get(c, 0)) or "" for c in events],
                    textposition="outside",
                    cliponaxis=False,
                ),
                row=1,
                col=2,
            )
    else:
        fig.add_annotation(
            text=esc(texts["none"]),
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="x domain",
            yref="y domain",
            font={"size": 18, "color": MUTED},
        )
    small = build_snapshot_map(
        layers, points, title="", legend_names={"open": "", "closed": "", "none": ""}, level_names=level_names
    )
    for trace in small.data:
        trace.showlegend = False
        fig.add_trace(trace, row=2, col=1)
    lats = [
        y for tr in small.data if tr.y is not None for y in tr.y if y is not None and not isinstance(y, str)
    ]
    fig.update_xaxes(visible=False, row=2, col=1)
    fig.update_yaxes(
        visible=False,
        scaleanchor="x2",
        scaleratio=_aspect(float(np.mean(lats)) if lats else 24.0),
        row=2,
        col=1,
    )
    rows = open_rows.head(14)
    fig.add_trace(
        go.Table(
            header={
                "values": [esc(h) for h in texts["open_columns"].split("|")],
                "fill": {"color": GRID},
                "font": {"size": 14, "color": TEXT},
                "align": "left",
                "height": 30,
            },
            cells={
                "values": [[esc(v) for v in rows[c]] for c in ("level_label", "title", "place", "age", "ack")]
                if len(rows)
                else [[esc(texts["no_open"])], [""], [""], [""], [""]],
                "fill": {
                    "color": [
                        [level_color(v) if i == 0 else BG for v in (rows["level"] if len(rows) else [None])]
                        for i in range(5)
                    ]
                },
                "font": {
                    "size": 13,
                    "color": [["#0b1420" if len(rows) else TEXT] * max(1, len(rows))]
                    + [[TEXT] * max(1, len(rows))] * 4,
                },
                "align": "left",
                "height": 28,
                "line": {"color": GRID},
            },
            columnwidth=[0.12, 0.38, 0.22, 0.12, 0.16],
        ),
        row=2,
        col=2,
    )
    fig.update_yaxes(gridcolor=GRID, row=1, col=2)
    _layout(fig, title=title, height=1080, legend=False)
    fig.update_layout(width=1600, margin={"l": 24, "r": 24, "t": 80, "b": 24}, title={"font": {"size": 26}})
    return fig
