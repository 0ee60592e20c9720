"""The cross-department city map: a pure builder (layers in, ``go.Figure`` out), shared by the
dashboard pages and the daily snapshot.

Layers, each a legend entry that can be switched off: the district choropleth of the city-operations
index, the main rivers, road segments coloured by congestion grade, air stations by AQI category,
hydrological stations by flood signal level, rain gauges by rainstorm threshold level, incidents by
severity class, and the locations of active warnings highlighted in their level colour.

Offline: the style is the inline dict from :func:`geo.styles.offline_style`; labels use the glyph
stack our server serves (Latin, digits) and MapLibre's local rendering for CJK; every marker is a
plain circle (no sprite icons). Coordinates arrive in WGS-84 and are converted to the base map's datum
(a GCJ-02 intranet tile service needs GCJ-02 overlays) here, at render time.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.palette import (
    AQI_COLORS,
    GRADE_COLORS,
    GRADE_NAMES,
    INCIDENT_COLORS,
    INDEX_SCALE,
    NORMAL,
)
from geo.aggregate import aggregate_points
from geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from metrics.levels import Level

TEXT = {
    "zh": {
        "index": "城市运行指数",
        "rivers": "主要河流",
        "roads": "道路",
        "air": "空气质量站",
        "water": "水文站",
        "rain": "雨量站",
        "incidents": "应急事件",
        "warnings": "生效预警",
        "districts": "区县",
    },
    "en": {
        "index": "Operations index",
        "rivers": "Rivers",
        "roads": "Roads",
        "air": "Air stations",
        "water": "Hydrological stations",
        "rain": "Rain gauges",
        "incidents": "Incidents",
        "warnings": "Active warnings",
        "districts": "Districts",
    },
}


@dataclass
class BaseLayer:
    """A base layer as GeoJSON geometries in WGS-84, drawn as lines (polygons as outlines)."""

    name: str
    geometries: list[Mapping[str, Any]]
    color: str = "#3d8fd9"
    width: float = 3.0


@dataclass
class MapLayers:
    """Everything on the map, in WGS-84. Frames may be empty; missing columns mean 'not known'."""

    districts: pd.DataFrame  # code, name, geometry (GeoJSON text), lon, lat, index (0–100, may be NaN)
    base: list[BaseLayer] = field(default_factory=list)  # the city's own layers (rivers …), WGS-84
    roads: pd.DataFrame = field(default_factory=pd.DataFrame)  # entity_id, name, geometry, grade, speed_kmh
    air: pd.DataFrame = field(default_factory=pd.DataFrame)  # entity_id, name, lon, lat, aqi, aqi_level
    water: pd.DataFrame = field(
        default_factory=pd.DataFrame
    )  # entity_id, name, lon, lat, level_m, signal (1–4)
    rain: pd.DataFrame = field(default_factory=pd.DataFrame)  # entity_id, name, lon, lat, r3_mm, signal (1–4)
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)  # lon, lat, type, severity, description
    warnings: pd.DataFrame = field(default_factory=pd.DataFrame)  # lon, lat, level (1–4), summary
    # A configured department's stations (domains added by configuration): layer name → entity_id,
    # name, lon, lat, text (its latest readings, one line)
    custom: dict[str, pd.DataFrame] = field(default_factory=dict)


CUSTOM_COLORS = ("#c77dff", "#4dd0c8", "#ff8fab", "#a3e635")  # configured departments' layers


def to_datum(lon: Any, lat: Any, datum: str) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    if datum == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if datum == "bd09":
        return wgs84_to_bd09(lon, lat)
    return lon, lat


def geometry_to_datum(geom: Mapping[str, Any], datum: str) -> dict[str, Any]:
    if datum == "wgs84":
        return dict(geom)

    def conv(coords: Any) -> Any:
        arr = np.asarray(coords, dtype="float64")
        if arr.ndim == 1:
            x, y = to_datum(arr[0], arr[1], datum)
            return [float(x), float(y)]
        if arr.ndim == 2:
            x, y = to_datum(arr[:, 0], arr[:, 1], datum)
            return np.column_stack([x, y]).tolist()
        return [conv(c) for c in coords]

    return {"type": geom["type"], "coordinates": conv(geom["coordinates"])}


def _lines(geometries: list[Mapping[str, Any]], datum: str) -> tuple[list[float | None], list[float | None]]:
    """Line geometries as one lon/lat list with ``None`` between parts (one trace for many lines)."""
    lons: list[float | None] = []
    lats: list[float | None] = []
    for geom in geometries:
        g = geometry_to_datum(geom, datum)
        parts = (
            [g["coordinates"]]
            if g["type"] == "LineString"
            else g["coordinates"]
            if g["type"] == "MultiLineString"
            else []
        )
        for part in parts:
            for x, y in part:
                lons.append(x)
                lats.append(y)
            lons.append(None)
            lats.append(None)
    return lons, lats


def as_lines(geometries: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Polygons become their rings (outlines); lines stay; points are not drawn as lines."""
    out: list[Mapping[str, Any]] = []
    for g in geometries:
        if g["type"] in ("LineString", "MultiLineString"):
            out.append(g)
        elif g["type"] == "Polygon":
            out.append({"type": "MultiLineString", "coordinates": g["coordinates"]})
        elif g["type"] == "MultiPolygon":
            out.append(
                {
                    "type": "MultiLineString",
                    "coordinates": [ring for poly in g["coordinates"] for ring in poly],
                }
            )
    return out


def esc(value: Any) -> str:
    """Text from a feed, made safe for Plotly's label markup (which reads <b>, <a href>, <br> …)."""
    return html.escape(str(value), quote=False)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def _points(frame: pd.DataFrame, datum: str) -> tuple[np.ndarray, np.ndarray]:
    return to_datum(frame["lon"].to_numpy(dtype="float64"), frame["lat"].to_numpy(dtype="float64"), datum)


def _level_color(level: Any) -> str:
    try:
        return Level(int(level)).color
    except (TypeError, ValueError):
        return NORMAL


def build_city_map(
    layers: MapLayers,
    *,
    style: Mapping[str, Any],
    center: tuple[float, float],
    zoom: float,
    datum: str = "wgs84",
    lang: str = "zh",
    label_font: str = "Noto Sans Regular",
    uirevision: str = "city-map",
    view_zoom: float | None = None,
    max_points: int = 500,
) -> go.Figure:
    """The city map (see the module docstring)."""
    t = TEXT.get(lang, TEXT["zh"])
    fig = go.Figure()
    d = layers.districts
    if len(d):
        features = [
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code},
                "geometry": geometry_to_datum(json.loads(geom), datum),
            }
            for code, geom in zip(d["code"], d["geometry"], strict=True)
        ]
        index = d["index"] if "index" in d else pd.Series(np.nan, index=d.index)
        has_index = index.notna().any()
        fig.add_trace(
            go.Choroplethmap(
                geojson={"type": "FeatureCollection", "features": features},
                locations=d["code"],
                z=index.fillna(-1) if has_index else np.zeros(len(d)),
                featureidkey="properties.code",
                colorscale=INDEX_SCALE if has_index else [[0, "#1b2a3d"], [1, "#1b2a3d"]],
                zmin=0,
                zmax=100,
                marker={"opacity": 0.45, "line": {"color": "#9fb3c8", "width": 1.5}},
                showscale=False,
                name=t["index"],
                legendgroup="districts",
                showlegend=True,
                customdata=np.stack([d["name"], [_fmt(v, 0) for v in index]], axis=-1),
                hovertemplate="%{customdata[0]}<br>" + t["index"] + " %{customdata[1]}<extra></extra>",
            )
        )
        lon, lat = _points(d, datum)
        labels = [
            f"{n} {_fmt(v, 0)}" if has_index and not pd.isna(v) else str(n)
            for n, v in zip(d["name"], index, strict=True)
        ]
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="text",
                text=labels,
                name=t["districts"],
                legendgroup="districts",
                showlegend=False,
                hoverinfo="skip",
                textfont={"size": 16, "color": "#e6edf5", "family": label_font},
            )
        )
    for base in layers.base:
        lons, lats = _lines(as_lines(base.geometries), datum)
        if lons:
            fig.add_trace(
                go.Scattermap(
                    lon=lons,
                    lat=lats,
                    mode="lines",
                    line={"color": base.color, "width": base.width},
                    name=base.name,
                    hoverinfo="skip",
                )
            )
    roads = layers.roads
    if len(roads) and "geometry" in roads:
        grades = roads["grade"] if "grade" in roads else pd.Series(np.nan, index=roads.index)
        for grade, color in GRADE_COLORS.items():
            sub = roads[grades == grade]
            if sub.empty:
                continue
            lons, lats = _lines([json.loads(g) for g in sub["geometry"]], datum)
            fig.add_trace(
                go.Scattermap(
                    lon=lons,
                    lat=lats,
                    mode="lines",
                    line={"color": color, "width": 2.5},
                    name=f"{t['roads']} · {GRADE_NAMES.get(lang, GRADE_NAMES['zh'])[grade]}",
                    legendgroup="roads",
                    hoverinfo="skip",
                )
            )
    if len(layers.air):
        a = layers.air
        lon, lat = _points(a, datum)
        colors = [
            AQI_COLORS.get(int(v), NORMAL) if not pd.isna(v) else NORMAL
            for v in a.get("aqi_level", pd.Series(np.nan, index=a.index))
        ]
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                marker={"size": 11, "color": colors},
                name=t["air"],
                text=[
                    f"{esc(n)}<br>AQI {_fmt(v, 0)}"
                    for n, v in zip(a["name"], a.get("aqi", pd.Series(np.nan, index=a.index)), strict=True)
                ],
                hoverinfo="text",
            )
        )
    if len(layers.rain):
        r = layers.rain
        lon, lat = _points(r, datum)
        sig = r.get("signal", pd.Series(np.nan, index=r.index))
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                marker={
                    "size": [12 if not pd.isna(s) else 7 for s in sig],
                    "color": [_level_color(s) for s in sig],
                },
                name=t["rain"],
                text=[
                    f"{esc(n)}<br>3h {_fmt(v)} mm"
                    for n, v in zip(r["name"], r.get("r3_mm", sig), strict=True)
                ],
                hoverinfo="text",
            )
        )
    if len(layers.water):
        w = layers.water
        lon, lat = _points(w, datum)
        sig = w.get("signal", pd.Series(np.nan, index=w.index))
        alarmed = ~sig.isna()
        labelled = sig.fillna(9) <= 3  # yellow and above carry their level as a label; blue is only coloured
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers+text",
                marker={"size": [18 if a else 10 for a in alarmed], "color": [_level_color(s) for s in sig]},
                text=[
                    f"{esc(n)} {_fmt(v, 2)}m" if a else ""
                    for n, v, a in zip(w["name"], w.get("level_m", sig), labelled, strict=True)
                ],
                textposition="top right",
                textfont={"size": 14, "color": "#e6edf5", "family": label_font},
                name=t["water"],
                hovertext=[
                    f"{esc(n)}<br>{_fmt(v, 2)} m"
                    for n, v in zip(w["name"], w.get("level_m", sig), strict=True)
                ],
                hoverinfo="text",
            )
        )
    if len(layers.incidents) > max_points:
        # Many points: the browser gets cells (count and worst class), not every point.
        frame = layers.incidents.assign(value=layers.incidents["severity"].astype("float64"))
        cells, _mode = aggregate_points(
            frame, zoom=view_zoom if view_zoom is not None else zoom, max_points=max_points, how="min"
        )
        lon, lat = _points(cells, datum)
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers+text",
                name=t["incidents"],
                marker={
                    "size": [min(40, 10 + 3 * math.sqrt(c)) for c in cells["count"]],
                    "color": [INCIDENT_COLORS.get(int(v), NORMAL) for v in cells["value"]],
                    "opacity": 0.8,
                },
                text=[str(int(c)) for c in cells["count"]],
                textfont={"size": 12, "color": "#0b1420", "family": label_font},
                hovertext=[f"{int(c)}" for c in cells["count"]],
                hoverinfo="text",
            )
        )
    elif len(layers.incidents):
        inc = layers.incidents
        lon, lat = _points(inc, datum)
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                name=t["incidents"],
                marker={"size": 9, "color": [INCIDENT_COLORS.get(int(s), NORMAL) for s in inc["severity"]]},
                # Plotly reads a few HTML tags in text: feed text is escaped so it shows as text.
                text=[esc(x)[:160] for x in inc.get("description", inc["severity"])],
                hoverinfo="text",
            )
        )
    for i, (label, frame) in enumerate(sorted(layers.custom.items())):
        pts = frame.dropna(subset=["lon", "lat"])
        if not len(pts):
            continue
        lon, lat = _points(pts, datum)
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                name=esc(label),
                marker={"size": 10, "color": CUSTOM_COLORS[i % len(CUSTOM_COLORS)]},
                text=[
                    f"{esc(n)}<br>{esc(x)}"
                    for n, x in zip(pts["name"].fillna(pts["entity_id"]), pts["text"], strict=True)
                ],
                hoverinfo="text",
            )
        )
    if len(layers.warnings):
        wr = layers.warnings.dropna(subset=["lon", "lat"])
        if len(wr):
            lon, lat = _points(wr, datum)
            fig.add_trace(
                go.Scattermap(
                    lon=lon,
                    lat=lat,
                    mode="markers",
                    name=t["warnings"],
                    marker={"size": 30, "opacity": 0.35, "color": [_level_color(v) for v in wr["level"]]},
                    text=[esc(s) for s in wr["summary"]],
                    hoverinfo="text",
                )
            )
        # the highlight halo sits under the station markers
        fig.data = (fig.data[-1], *fig.data[:-1]) if len(wr) else fig.data
    clon, clat = to_datum(center[0], center[1], datum)
    fig.update_layout(
        map={"style": dict(style), "center": {"lon": float(clon), "lat": float(clat)}, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor="#0b1420",
        font={"color": "#e6edf5"},
        legend={"bgcolor": "rgba(11,20,32,0.8)", "font": {"size": 14}, "x": 0.01, "y": 0.99},
        uirevision=uirevision,
    )
    return fig
