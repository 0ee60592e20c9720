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
    # each geometry's feature name by language ({"zh": "北江", "en": "Bei River"}); empty: unnamed
    names: list[Mapping[str, str]] = field(default_factory=list)
    name_en: str = ""  # the layer's name in English legends ("": its name)

    def title(self, lang: str) -> str:
        """The layer's name in the legend of a page in ``lang``."""
        return self.name_en if lang == "en" and self.name_en else self.name


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


# -- label placement ------------------------------------------------------------------------------------

#: MapLibre's world is 512 px wide at zoom 0.
_WORLD_PX = 512.0


def px_per_degree(zoom: float) -> float:
    """Screen pixels per degree of longitude at ``zoom`` (Web Mercator)."""
    return _WORLD_PX * 2.0**zoom / 360.0


@dataclass(frozen=True)
class LabelBox:
    """A label's box on screen, in pixels around its anchor (text centred on the anchor)."""

    lon: float
    lat: float
    width: float
    height: float

    def rect(self, zoom: float) -> tuple[float, float, float, float]:
        k = px_per_degree(zoom)
        # y grows with latitude here; Mercator stretch at this latitude for the vertical scale
        ky = k / max(math.cos(math.radians(self.lat)), 1e-6)
        x, y = self.lon * k, self.lat * ky
        return (x - self.width / 2, y - self.height / 2, x + self.width / 2, y + self.height / 2)

    def overlaps(self, other: LabelBox, zoom: float, gap: float = 4.0) -> bool:
        a, b = self.rect(zoom), other.rect(zoom)
        return not (a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1])


_AUTONOMOUS = ("自治县", "自治州", "自治旗")


def district_label(name: str) -> str:
    """A district's name for its label, broken where a reader would break it: the map would otherwise
    wrap a long name mid-word ("连山壮族瑶 / 族自治县"), so 连山壮族瑶族自治县 reads
    "连山壮族瑶族 / 自治县".

    >>> district_label("连山壮族瑶族自治县"), district_label("清城区")
    ('连山壮族瑶族<br>自治县', '清城区')
    """
    if len(name) > 6 and name.endswith(_AUTONOMOUS):
        return f"{name[:-3]}<br>{name[-3:]}"
    return name


def text_size(text: str, font_px: float) -> tuple[float, float]:
    """Approximate size in px of a (multi-line) label: CJK one em wide, Latin and digits about 0.6 em."""
    lines = text.split("<br>")
    width = max(sum(font_px if ord(c) > 0x2E7F else 0.6 * font_px for c in line) for line in lines)
    return width, 1.25 * font_px * len(lines)


def _main_polygon(geom: Mapping[str, Any]) -> Any:
    from shapely.geometry import shape

    g = shape(geom)
    if g.geom_type == "MultiPolygon":
        g = max(g.geoms, key=lambda p: p.area)
    return g if g.is_valid else g.buffer(0)


def _candidates(poly: Any) -> list[tuple[float, float]]:
    """Anchor candidates inside ``poly``, best first: its pole of inaccessibility, then the poles of its
    northern, southern, western and eastern halves (for a neighbour's label in the way)."""
    from shapely.geometry import box
    from shapely.ops import polylabel

    minx, miny, maxx, maxy = poly.bounds
    tol = max(maxx - minx, maxy - miny) / 200
    out = [polylabel(poly, tolerance=tol)]
    midx, midy = (minx + maxx) / 2, (miny + maxy) / 2
    for part in (
        box(minx, midy, maxx, maxy),
        box(minx, miny, maxx, midy),
        box(minx, miny, midx, maxy),
        box(midx, miny, maxx, maxy),
    ):
        piece = poly.intersection(part)
        if piece.is_empty:
            continue
        if piece.geom_type == "MultiPolygon":
            piece = max(piece.geoms, key=lambda p: p.area)
        if piece.geom_type == "Polygon":
            out.append(polylabel(piece, tolerance=tol))
    out.append(poly.representative_point())
    return [(float(p.x), float(p.y)) for p in out if poly.contains(p)]


def place_labels(
    geometries: list[Mapping[str, Any]],
    texts: list[str],
    *,
    zoom: float,
    font_px: float,
    priority: list[float] | None = None,
) -> list[tuple[float, float]]:
    """An anchor inside each polygon (WGS-84 GeoJSON) for its label, chosen so that labels do not
    overlap at ``zoom`` where a choice allows it (pure).

    Labels are placed in ``priority`` order (lowest first; default: as given), each at the first of its
    candidates (pole of inaccessibility first, see :func:`_candidates`) whose box is clear of the ones
    placed before; when none is clear, the one overlapping least keeps the label inside its district.
    """
    order = sorted(range(len(texts)), key=lambda i: (priority[i] if priority else 0.0, i))
    placed: list[LabelBox] = []
    anchors: dict[int, tuple[float, float]] = {}
    for i in order:
        w, h = text_size(texts[i], font_px)
        poly = _main_polygon(geometries[i])
        cands = _candidates(poly) or [(float(poly.centroid.x), float(poly.centroid.y))]
        best, best_hits = cands[0], math.inf
        for lon, lat in cands:
            hits = sum(LabelBox(lon, lat, w, h).overlaps(other, zoom) for other in placed)
            if hits < best_hits:
                best, best_hits = (lon, lat), hits
            if hits == 0:
                break
        anchors[i] = best
        placed.append(LabelBox(best[0], best[1], w, h))
    return [anchors[i] for i in range(len(texts))]


def line_label_point(geom: Mapping[str, Any]) -> tuple[float, float] | None:
    """Where a line's name goes: half way along its longest part (WGS-84), or None for no line."""
    from shapely.geometry import shape

    g = shape(geom)
    if g.geom_type == "MultiLineString":
        g = max(g.geoms, key=lambda p: p.length)
    if g.geom_type != "LineString" or g.length == 0:
        return None
    p = g.interpolate(0.5, normalized=True)
    return float(p.x), float(p.y)


def _label_trace(
    kind: str, lon: Any, lat: Any, text: list[str], size: float, family: str, color: str
) -> go.Scattermap:
    """Text only, always fully opaque, no legend entry; ``meta`` names what it labels. It has no name,
    so a screen that dims the other layers (the wall's scenes) keeps labels legible."""
    return go.Scattermap(
        lon=lon,
        lat=lat,
        mode="text",
        text=text,
        name="",
        meta=f"labels:{kind}",
        showlegend=False,
        hoverinfo="skip",
        opacity=1,
        textfont={"size": size, "color": color, "family": family},
    )


#: The labels of the stations past their warning level are over everything but the district names.
LABEL_COLOR = "#ffffff"
RIVER_LABEL_COLOR = "#8cc8ff"


def _summaries(warnings: pd.DataFrame, lang: str) -> list[str]:
    """The warnings' summaries in ``lang`` (the Chinese one where no English one was stored)."""
    zh = [str(s) if isinstance(s, str) else "" for s in warnings["summary"]]
    if lang != "en" or "summary_en" not in warnings:
        return zh
    return [en if isinstance(en, str) and en else s for en, s in zip(warnings["summary_en"], zh, strict=True)]


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
    text_scale: float = 1.0,
) -> go.Figure:
    """The city map (see the module docstring). ``text_scale`` enlarges every text (labels, legend,
    colour bar) for a screen read from afar (the wall)."""
    t = TEXT.get(lang, TEXT["zh"])
    fig = go.Figure()
    labels_on_top: list[go.Scattermap] = []  # station labels, then district names: added last, on top
    district_font = 14 * text_scale
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
                showscale=bool(has_index),
                colorbar={
                    "title": {"text": t["index"], "side": "top", "font": {"size": 13 * text_scale}},
                    "tickvals": [0, 20, 40, 60, 80, 100],
                    "tickfont": {"size": 12 * text_scale, "color": "#e6edf5"},
                    "orientation": "h",
                    # the south-west corner: the city reaches the south-east, so this one stays empty
                    # on /map and on the wall's narrower panel alike
                    "x": 0.0,
                    "xanchor": "left",
                    "y": 0.0,
                    "yanchor": "bottom",
                    "len": 0.28,
                    "thickness": 10 * text_scale,
                    "outlinewidth": 0,
                    "bgcolor": "rgba(11,20,32,0.85)",
                    "xpad": 8,
                    "ypad": 8,
                },
                name=t["index"],
                legendgroup="districts",
                showlegend=True,
                customdata=np.stack([d["name"], [_fmt(v, 0) for v in index]], axis=-1),
                hovertemplate="%{customdata[0]}<br>" + t["index"] + " %{customdata[1]}<extra></extra>",
            )
        )
        # The name, and the index on a line of its own (a long name is never broken in the middle).
        labels = [
            f"{district_label(esc(n))}<br>{_fmt(v, 0)}"
            if has_index and not pd.isna(v)
            else district_label(esc(n))
            for n, v in zip(d["name"], index, strict=True)
        ]
        # The worst district (lowest index: the storm's centre) is placed first and never moves away.
        anchors = place_labels(
            [json.loads(g) for g in d["geometry"]],
            labels,
            zoom=zoom,
            font_px=district_font,
            priority=[float(v) if not pd.isna(v) else 101.0 for v in index],
        )
        alon, alat = to_datum([a[0] for a in anchors], [a[1] for a in anchors], datum)
        district_labels = _label_trace(
            "districts", alon, alat, labels, district_font, label_font, LABEL_COLOR
        )
    else:
        district_labels = None
    for base in layers.base:
        lons, lats = _lines(as_lines(base.geometries), datum)
        if lons:
            fig.add_trace(
                go.Scattermap(
                    lon=lons,
                    lat=lats,
                    mode="lines",
                    line={"color": base.color, "width": base.width},
                    name=base.title(lang),
                    hoverinfo="skip",
                )
            )
        named: list[tuple[tuple[float, float], str]] = []
        for geom, names in zip(base.geometries, base.names, strict=False):
            label = (names.get(lang) or names.get("zh") or "") if names else ""
            lines = as_lines([geom])
            point = line_label_point(lines[0]) if lines and label else None
            if point is not None:
                named.append((point, esc(label)))
        if named:
            rlon, rlat = to_datum([p[0] for p, _ in named], [p[1] for p, _ in named], datum)
            fig.add_trace(
                _label_trace(
                    "rivers",
                    rlon,
                    rlat,
                    [n for _, n in named],
                    14 * text_scale,
                    label_font,
                    RIVER_LABEL_COLOR,
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
        if labelled.any():
            # Past the warning level: the name and level beside the marker (text starts right of it),
            # opaque, above the other layers. A text-only trace takes no ``textposition`` (Plotly
            # derives its offset from a marker size it does not have: NaN, which MapLibre refuses).
            station_font = 13 * text_scale
            texts = [
                f"{esc(n)} {_fmt(v, 2)}m"
                for n, v in zip(w["name"][labelled], w.get("level_m", sig)[labelled], strict=True)
            ]
            shift = np.array([(18 / 2 + 4 + text_size(x, station_font)[0] / 2) for x in texts])
            labels_on_top.append(
                _label_trace(
                    "stations",
                    lon[labelled.to_numpy()] + shift / px_per_degree(zoom),
                    lat[labelled.to_numpy()],
                    texts,
                    station_font,
                    label_font,
                    LABEL_COLOR,
                )
            )
        fig.add_trace(
            go.Scattermap(
                lon=lon,
                lat=lat,
                mode="markers",
                marker={"size": [18 if a else 10 for a in alarmed], "color": [_level_color(s) for s in sig]},
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
                    text=[esc(s) for s in _summaries(wr, lang)],
                    hoverinfo="text",
                )
            )
        # the highlight halo sits under the station markers
        fig.data = (fig.data[-1], *fig.data[:-1]) if len(wr) else fig.data
    # Labels last: MapLibre places the topmost layer's text first, so a district's name is never
    # pushed out by a marker's text, and a station past its level is not pushed out by other labels.
    for trace in labels_on_top:
        fig.add_trace(trace)
    if district_labels is not None:
        fig.add_trace(district_labels)
    clon, clat = to_datum(center[0], center[1], datum)
    pad = round(12 * text_scale)
    fig.update_layout(
        map={"style": dict(style), "center": {"lon": float(clon), "lat": float(clat)}, "zoom": zoom},
        # the map keeps clear of its panel's edges; the legend sits under it, off the districts
        margin={"l": pad, "r": pad, "t": pad, "b": pad, "autoexpand": True},
        paper_bgcolor="#0b1420",
        font={"color": "#e6edf5"},
        legend={
            "bgcolor": "rgba(11,20,32,0.85)",
            "font": {"size": 13 * text_scale},
            "orientation": "h",
            "x": 0.0,
            "xanchor": "left",
            "y": -0.01,
            "yanchor": "top",
            "itemwidth": 30,
        },
        uirevision=uirevision,
    )
    return fig
