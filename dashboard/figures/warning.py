"""Figures of one warning's evidence: pure builders (frames in, ``go.Figure`` out), shared by the
/warnings console and the daily snapshot.

* :func:`metric_series` derives the warned metric over time from stored observations (rolling rain
  totals, rises per hour, distance to a station's warning level …), the same quantities the rules read.
* :func:`build_series_figure` draws that series with the warning's thresholds as level-coloured lines,
  the moment the warning was raised and, for predictions, the expected crossing and its band.
* :func:`build_evidence_map` draws the contributing points and the warning's district on a small map
  in the offline style (inline style dict, no external URL; see :mod:`dashboard.figures.citymap`).

Times arrive as naive *local* timestamps (the caller converts from UTC in the city's timezone), so the
axes read as the operators' wall clock.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.citymap import esc, geometry_to_datum, to_datum
from dashboard.palette import BACKGROUND, GRID, SERIES_COLORS, TEXT
from metrics.levels import Level

RAISED_COLOR = "#9fb3c8"

# Water metrics that are the level minus a station attribute (see metrics.signals).
OVER_ATTRS = {
    "over_warning_m": "warning_level_m",
    "over_guaranteed_m": "guaranteed_level_m",
    "over_historical_m": "historical_level_m",
    "over_flood_limit_m": "flood_limit_level_m",
}
RAIN_WINDOWS = {"r1_mm": 1, "r3_mm": 3, "r6_mm": 6, "r12_mm": 12, "r24_mm": 24}
RISE_HOURS = {"rise_1h_m": 1, "rise_3h_m": 3}


@dataclass(frozen=True)
class ThresholdLine:
    """A horizontal line at ``value``, coloured by ``level`` (1 red … 4 blue; None: neutral)."""

    value: float
    level: int | None
    label: str


@dataclass(frozen=True)
class EtaMark:
    """The expected crossing time of a prediction and its band (naive local times)."""

    at: datetime
    low: datetime | None
    high: datetime | None
    label: str


def _level_color(level: int | None) -> str:
    return Level(level).color if level in (1, 2, 3, 4) else RAISED_COLOR


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def plotted_metric(kind: str, metric: str | None) -> str | None:
    """The metric whose series is drawn: a prediction of the time to a level is drawn as the level."""
    if metric == "eta_warning_min" or (kind == "predicted" and metric and metric.startswith("eta_")):
        return "level_m"
    return metric


def metric_series(
    obs: pd.DataFrame, domain: str, metric: str, attrs: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """``ts, value`` of ``metric`` over time from one entity's observations ``obs`` (``ts`` + columns).

    Returns an empty frame when the metric cannot be derived from the stored columns (district
    aggregates, incident counts …): the caller says so instead of drawing something else.

    >>> obs = pd.DataFrame(
    ...     {"ts": pd.date_range("2026-06-15", periods=3, freq="h"), "rain_mm": [1.0, 2.0, 4.0]}
    ... )
    >>> metric_series(obs, "rain", "r3_mm")["value"].tolist()
    [1.0, 3.0, 7.0]
    """
    empty = pd.DataFrame({"ts": pd.Series(dtype="datetime64[us]"), "value": pd.Series(dtype="float64")})
    if obs.empty or "ts" not in obs:
        return empty
    frame = obs.sort_values("ts").drop_duplicates("ts", keep="last")
    ts = pd.to_datetime(frame["ts"])
    attrs = attrs or {}
    if domain == "rain" and metric in RAIN_WINDOWS and "rain_mm" in frame:
        s = pd.Series(frame["rain_mm"].astype("float64").to_numpy(), index=ts)
        values = s.fillna(0).rolling(f"{RAIN_WINDOWS[metric]}h").sum()
        return pd.DataFrame({"ts": values.index, "value": values.to_numpy()})
    if domain == "water" and "level_m" in frame:
        level = pd.Series(frame["level_m"].astype("float64").to_numpy(), index=ts).dropna()
        if metric == "level_m":
            return pd.DataFrame({"ts": level.index, "value": level.to_numpy()})
        if metric in OVER_ATTRS:
            base = pd.to_numeric(attrs.get(OVER_ATTRS[metric]), errors="coerce")
            if base is None or pd.isna(base):
                return empty
            return pd.DataFrame({"ts": level.index, "value": level.to_numpy() - float(base)})
        if metric in RISE_HOURS:
            hours = RISE_HOURS[metric]
            earlier = level.reindex(
                level.index - pd.Timedelta(hours=hours), method="nearest", tolerance=pd.Timedelta(minutes=15)
            )
            rise = (level.to_numpy() - earlier.to_numpy()) / hours
            return pd.DataFrame({"ts": level.index, "value": rise}).dropna()
        return empty
    if domain == "air" and metric == "aqi":
        from metrics.aqi import realtime_report

        report = realtime_report(frame.assign(entity_id=frame.get("entity_id", "x")))
        return pd.DataFrame(
            {"ts": pd.to_datetime(report["ts"]), "value": pd.to_numeric(report["aqi"], errors="coerce")}
        )
    if metric in frame:
        return pd.DataFrame(
            {"ts": ts.to_numpy(), "value": pd.to_numeric(frame[metric], errors="coerce").to_numpy()}
        )
    return empty


def build_series_figure(
    series: pd.DataFrame,
    thresholds: Sequence[ThresholdLine],
    *,
    raised_at: datetime | None = None,
    eta: EtaMark | None = None,
    unit: str = "",
    raised_label: str = "raised",
    eta_band_label: str = "window",
    height: int = 300,
) -> go.Figure:
    """The warned metric over time (``series``: ``ts`` local, ``value``, optional ``label`` per line),
    a dashed line per threshold in its level's colour (named with its label, so colour is never the
    only cue), the moment the warning was raised and, for a prediction, the crossing and its band."""
    fig = go.Figure()
    labels = series["label"] if "label" in series else pd.Series("", index=series.index)
    for i, (name, part) in enumerate(series.assign(_label=labels.fillna("")).groupby("_label", sort=False)):
        fig.add_trace(
            go.Scatter(
                x=part["ts"],
                y=part["value"],
                mode="lines",
                name=str(name) or unit or "value",
                line={"color": SERIES_COLORS[i % len(SERIES_COLORS)], "width": 2.5},
                hovertemplate="%{x|%m-%d %H:%M}  %{y:.2f}" + (f" {unit}" if unit else "") + "<extra></extra>",
            )
        )
    xs: list[datetime] = [
        x
        for x in (
            series["ts"].min() if len(series) else None,
            series["ts"].max() if len(series) else None,
            raised_at,
            eta.high if eta else None,
            eta.at if eta else None,
        )
        if x is not None and not pd.isna(x)
    ]
    span = (min(xs), max(xs)) if xs else None
    view: list[datetime] | None = None
    if span is not None:
        x0, x1 = span
        pad = (x1 - x0) * 0.06 if x1 > x0 else pd.Timedelta(minutes=10)
        view = [x0 - pad, x1 + pad]  # room for the labels of marks at the ends
    for th in thresholds:
        if span is None or th.value is None or (isinstance(th.value, float) and math.isnan(th.value)):
            continue
        fig.add_trace(
            go.Scatter(
                x=list(span),
                y=[th.value, th.value],
                mode="lines",
                name=th.label,
                line={"color": _level_color(th.level), "width": 2, "dash": "dash"},
                hoverinfo="name",
                legendgroup="thresholds",
            )
        )
    if raised_at is not None:
        fig.add_shape(
            type="line",
            x0=raised_at,
            x1=raised_at,
            yref="paper",
            y0=0,
            y1=1,
            line={"color": RAISED_COLOR, "width": 1.5, "dash": "dot"},
            name="raised",
        )
        fig.add_annotation(
            x=raised_at,
            y=0,
            yref="paper",
            text=raised_label,
            showarrow=False,
            yanchor="bottom",
            xanchor="left",
            font={"color": RAISED_COLOR, "size": 12},
        )
    if eta is not None:
        if eta.low is not None and eta.high is not None:
            fig.add_shape(
                type="rect",
                x0=eta.low,
                x1=eta.high,
                yref="paper",
                y0=0,
                y1=1,
                fillcolor="#ffd60a",
                opacity=0.15,
                line={"width": 0},
                name="eta-band",
                layer="below",
            )
            fig.add_trace(
                go.Scatter(
                    x=[eta.low, eta.high],
                    y=[None, None],
                    mode="lines",
                    name=eta_band_label,
                    line={"color": "#ffd60a", "width": 8},
                    opacity=0.3,
                    hoverinfo="skip",
                )
            )
        fig.add_shape(
            type="line",
            x0=eta.at,
            x1=eta.at,
            yref="paper",
            y0=0,
            y1=1,
            line={"color": "#ffd60a", "width": 2.5},
            name="eta",
        )
        fig.add_annotation(
            x=eta.at,
            y=1,
            yref="paper",
            text=esc(eta.label),
            showarrow=False,
            yanchor="bottom",
            xanchor="right",
            font={"color": "#ffd60a", "size": 13},
        )
    fig.update_layout(
        height=height,
        margin={"l": 56, "r": 16, "t": 28, "b": 36},
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        font={"color": TEXT, "size": 13},
        showlegend=True,
        uirevision="warning-series",
        legend={"orientation": "h", "y": -0.18, "x": 0, "bgcolor": "rgba(0,0,0,0)"},
        xaxis={
            "gridcolor": GRID,
            "tickformat": "%H:%M\n%m-%d",
            "hoverformat": "%Y-%m-%d %H:%M",
            "range": view,
        },
        yaxis={"gridcolor": GRID, "title": {"text": unit} if unit else None, "zeroline": False},
    )
    return fig


def _zoom_for(lons: np.ndarray, lats: np.ndarray) -> float:
    """A zoom that shows the points with some margin in a panel about 500 px wide."""
    span = max(float(np.nanmax(lons) - np.nanmin(lons)), float(np.nanmax(lats) - np.nanmin(lats)), 0.25)
    return float(max(6.0, min(9.5, math.log2(360 / (span * 2.2)) - 0.6)))


def build_evidence_map(
    districts: pd.DataFrame,
    points: pd.DataFrame,
    *,
    highlight: Sequence[str],
    level: int,
    style: Mapping[str, Any],
    datum: str = "wgs84",
    label_font: str = "Noto Sans Regular",
    points_label: str = "evidence",
    height: int = 300,
) -> go.Figure:
    """The warning's place: its district(s) filled in the level colour, the contributing points
    (``lon, lat, name`` WGS-84, optional ``value``) as labelled markers; centred and zoomed on them."""
    color = _level_color(level)
    fig = go.Figure()
    if len(districts):
        features = [
            {
                "type": "Feature",
                "id": c,
                "properties": {"code": c},
                "geometry": geometry_to_datum(json.loads(g), datum),
            }
            for c, g in zip(districts["code"], districts["geometry"], strict=True)
        ]
        lit = districts["code"].isin(list(highlight))
        fig.add_trace(
            go.Choroplethmap(
                geojson={"type": "FeatureCollection", "features": features},
                locations=districts["code"],
                featureidkey="properties.code",
                z=lit.astype(int),
                zmin=0,
                zmax=1,
                showscale=False,
                colorscale=[[0, "rgba(27,42,61,0.55)"], [1, _rgba(color, 0.4)]],
                marker={"line": {"color": "#9fb3c8", "width": 1}},
                text=[esc(n) for n in districts["name"]],
                hoverinfo="text",
                showlegend=False,
                name="districts",
            )
        )
    placed = points.dropna(subset=["lon", "lat"]) if len(points) else points
    if len(placed):
        lon, lat = to_datum(placed["lon"], placed["lat"], datum)
        names = [esc(n) for n in placed["name"].fillna("")]
        values = placed["value"] if "value" in placed else pd.Series(np.nan, index=placed.index)
        hover = [f"{n} {v:.2f}" if not pd.isna(v) else n for n, v in zip(names, values, strict=True)]
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                marker={"size": 28, "color": color, "opacity": 0.35},
                hoverinfo="skip",
                showlegend=False,
                name="halo",
            )
        )
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers+text",
                marker={"size": 12, "color": color},
                text=names,
                textposition="top right",
                hovertext=hover,
                hoverinfo="text",
                textfont={"size": 13, "color": TEXT, "family": label_font},
                name=points_label,
            )
        )
        all_lon, all_lat = (
            np.asarray(placed["lon"], dtype="float64"),
            np.asarray(placed["lat"], dtype="float64"),
        )
    elif len(districts) and districts["code"].isin(list(highlight)).any():
        lit = districts[districts["code"].isin(list(highlight))]
        all_lon, all_lat = lit["lon"].to_numpy(dtype="float64"), lit["lat"].to_numpy(dtype="float64")
    elif len(districts):
        all_lon, all_lat = (
            districts["lon"].to_numpy(dtype="float64"),
            districts["lat"].to_numpy(dtype="float64"),
        )
    else:
        all_lon, all_lat = np.array([113.0]), np.array([24.2])
    zoom = _zoom_for(all_lon, all_lat) if len(placed) else 8.0
    clon, clat = to_datum(float(np.nanmean(all_lon)), float(np.nanmean(all_lat)), datum)
    fig.update_layout(
        height=height,
        map={"style": dict(style), "center": {"lon": float(clon), "lat": float(clat)}, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor=BACKGROUND,
        font={"color": TEXT},
        showlegend=False,
        uirevision="warning-map",
    )
    return fig
