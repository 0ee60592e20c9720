"""/wall — the operations-centre big screen: dark, large type, fits 1920×1080 and 3840×2160 exactly,
refreshes itself, says how old each panel's data is, and rotates scenes decided by the server."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html
from flask import request

from dashboard.i18n import t, t_or
from metrics.levels import Level

PREFIX = "wall"
ID_INTERVAL = f"{PREFIX}-interval"
ID_CLOCK = f"{PREFIX}-clock"
ID_SCENE = f"{PREFIX}-scene"
ID_KPIS = f"{PREFIX}-kpis"
ID_MAP = f"{PREFIX}-map"
ID_WARNINGS = f"{PREFIX}-warnings"
ID_TICKER = f"{PREFIX}-ticker"
ID_TREND = f"{PREFIX}-trend"
ID_LANG = f"{PREFIX}-lang"
ID_SCREEN = f"{PREFIX}-screen"
ID_SEEN = f"{PREFIX}-seen"  # the map content and width this screen last drew
BASE_WIDTH = 1920  # the design width; larger screens scale the figures' zoom and type

CLASS_ZH = {1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级", 4: "Ⅳ级"}
LEVEL_CLASS = {1: "lv-red", 2: "lv-orange", 3: "lv-yellow", 4: "lv-blue"}


def wall_title(settings: Any, lang: str) -> str:
    """The city's own name on its wall (from the configuration)."""
    return t("wall.title", lang).format(city=settings.city.name if lang == "zh" else settings.city.name_en)


def layout(lang: str = "zh", **_: Any) -> html.Div:
    from dashboard.services import services

    lang = lang if lang in ("zh", "en") else "zh"
    title = wall_title(services().settings, lang)
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            dcc.Store(id=ID_SCREEN, data=BASE_WIDTH),
            dcc.Store(id=ID_SEEN, data=None),
            dcc.Interval(id=ID_INTERVAL, interval=5_000),
            html.Header(
                [
                    html.Div(title, className="wall-title"),
                    html.Div(id=ID_SCENE, className="wall-scene"),
                    html.Div(id=ID_CLOCK, className="wall-clock"),
                ],
                className="wall-header",
            ),
            html.Section(id=ID_KPIS, className="wall-kpis"),
            html.Section(
                dcc.Graph(
                    id=ID_MAP,
                    config={"displayModeBar": False, "staticPlot": False},
                    style={"height": "100%", "width": "100%"},
                ),
                className="wall-map panel",
            ),
            html.Section(id=ID_WARNINGS, className="wall-warnings panel"),
            html.Section(
                dcc.Graph(
                    id=ID_TREND,
                    config={"displayModeBar": False, "staticPlot": True},
                    style={"height": "100%", "width": "100%"},
                ),
                className="wall-trend panel",
            ),
            html.Footer(html.Div(id=ID_TICKER, className="ticker-track"), className="wall-ticker"),
            html.Div(t("wall.reconnecting", lang), id="wall-reconnecting", className="wall-reconnecting"),
        ],
        className="wall",
    )


def _age(svc: Any, at: datetime | None, freshness: str, lang: str) -> html.Div:
    when = "—" if at is None else svc.local(at).strftime("%H:%M")
    return html.Div(f"{t('wall.as_of', lang)} {when}", className=f"age age-{freshness}")


def _tile(
    title: str, value: str, detail: str, age: html.Div, freshness: str, level_class: str = ""
) -> html.Div:
    return html.Div(
        [
            html.Div(title, className="kpi-title"),
            html.Div(value, className=f"kpi-value {level_class}"),
            html.Div(detail, className="kpi-detail"),
            age,
        ],
        className=f"kpi panel fresh-{freshness}",
    )


def build_kpis(snap: Any, svc: Any, lang: str) -> list[html.Div]:
    k, f, a = snap.kpis, snap.freshness, snap.data_as_of

    def age(dom: str) -> html.Div:
        return _age(svc, a.get(dom), f.get(dom, "never"), lang)

    tiles = []
    tr = k.get("traffic")
    tiles.append(
        _tile(
            t("wall.kpi.traffic", lang),
            f"{tr['index']:.1f}" if tr else "—",
            (tr["grade_zh"] if lang == "zh" else tr["grade_en"]) if tr else "",
            age("traffic"),
            f.get("traffic", "never"),
        )
    )
    air = k.get("air")
    tiles.append(
        _tile(
            t("wall.kpi.air", lang),
            str(air["aqi"]) if air else "—",
            f"{air['category']} · {air['station']}" if air else "",
            age("air"),
            f.get("air", "never"),
            f"aqi-{air['level']}" if air else "",
        )
    )
    wa = k.get("water")
    tiles.append(
        _tile(
            t("wall.kpi.water", lang),
            f"{wa['above_warning']}" if wa else "—",
            (
                f"{t('wall.kpi.water_of', lang)} {wa['stations']} · "
                f"{wa['worst_station']} {wa['worst_over_m']:+.2f} m"
                if wa
                else ""
            ),
            age("water"),
            f.get("water", "never"),
            "lv-orange" if wa and wa["above_warning"] else "",
        )
    )
    ra = k.get("rain")
    tiles.append(
        _tile(
            t("wall.kpi.rain", lang),
            f"{ra['max_3h_mm']:.0f}" if ra else "—",
            f"mm/3h · {ra['gauge_3h']} · 1h {ra['max_1h_mm']:.0f} mm" if ra else "",
            age("rain"),
            f.get("rain", "never"),
        )
    )
    inc = k.get("incident", {"open": 0, "by_class": {}})
    classes = " ".join(f"{CLASS_ZH[c]} {n}" for c, n in sorted(inc["by_class"].items()) if n)
    tiles.append(
        _tile(
            t("wall.kpi.incident", lang),
            str(inc["open"]),
            classes or t("wall.none", lang),
            age("incident"),
            f.get("incident", "never"),
        )
    )
    return tiles


def _since(now: datetime, at: Any, lang: str) -> str:
    if at is None:
        return ""
    minutes = int((now - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{max(minutes, 0)}m"


def build_warnings(snap: Any, lang: str) -> list[Any]:
    head = html.Div(
        [html.Span(t("wall.warnings", lang)), html.Span(str(len(snap.warnings)), className="count")],
        className="panel-title",
    )
    if not snap.warnings:
        return [head, html.Div(t("wall.no_warnings", lang), className="empty")]
    items = []
    for w in sorted(snap.warnings, key=lambda w: (w["level"], w["since"] or snap.computed_at))[:12]:
        level = Level(w["level"])
        items.append(
            html.Div(
                [
                    html.Span(
                        level.zh_color if lang == "zh" else level.en,
                        className=f"badge {LEVEL_CLASS[w['level']]}",
                    ),
                    html.Div(
                        [
                            html.Div(w["summary"], className="w-summary"),
                            html.Div(
                                [
                                    html.Span(w["title"]),
                                    html.Span(_since(snap.computed_at, w["since"], lang)),
                                    html.Span(
                                        t("wall.acked", lang)
                                        if w["acknowledged"]
                                        else t("wall.unacked", lang),
                                        className="acked" if w["acknowledged"] else "unacked",
                                    ),
                                ],
                                className="w-meta",
                            ),
                        ],
                        className="w-body",
                    ),
                ],
                className=f"warning-item {LEVEL_CLASS[w['level']]}",
            )
        )
    return [head, html.Div(items, className="warning-list")]


def build_trend(snap: Any, svc: Any, lang: str, scale: float = 1.0) -> go.Figure:
    tr = snap.trend
    fig = go.Figure()
    x = [svc.local(h.to_pydatetime().replace(tzinfo=UTC)) for h in tr["hour"]]
    if "rain_max_mm" in tr:
        fig.add_trace(
            go.Bar(x=x, y=tr["rain_max_mm"], name=t("wall.trend.rain", lang), marker_color="#3d8fd9")
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=tr["incidents"],
            name=t("wall.trend.incidents", lang),
            yaxis="y2",
            line={"color": "#ff9a2e", "width": 3},
        )
    )
    most = tr["incidents"].max()
    top = max(4.0, float(most) * 1.15) if pd.notna(most) else 4.0
    fig.update_layout(
        margin={"l": 40 * scale, "r": 40 * scale, "t": 8 * scale, "b": 28 * scale},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": "#c8d4e3", "size": round(14 * scale)},
        legend={"orientation": "h", "y": 1.15, "x": 0},
        xaxis={"gridcolor": "#1d2c40", "tickformat": "%H:%M"},
        yaxis={"gridcolor": "#1d2c40", "title": None},
        # counts: whole numbers from zero (never the fractional or negative ticks of an autorange)
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickformat": "d",
            "range": [0, top],
            "tick0": 0,
            "dtick": max(1, math.ceil(top / 4)),
        },
        bargap=0.2,
    )
    return fig


def for_screen(figure: Any, width: float, glyphs_url: str) -> Any:
    """The shared map for one screen: its host's glyph URL, and zoom and type scaled to its width
    (a 3840-px wall sees the same city as a 1920-px one, one zoom level closer). Shallow copies only:
    the shared snapshot is never modified."""
    scale = max(0.5, min(4.0, (width or BASE_WIDTH) / BASE_WIDTH))
    fig = dict(figure)
    layout_ = dict(fig["layout"])
    map_ = dict(layout_["map"])
    style = dict(map_["style"])
    style["glyphs"] = glyphs_url
    map_["style"] = style
    map_["zoom"] = map_.get("zoom", 8) + math.log2(scale)
    legend = dict(layout_.get("legend") or {})
    legend["font"] = {**legend.get("font", {}), "size": round(14 * scale)}
    layout_["map"], layout_["legend"], fig["layout"] = map_, legend, layout_
    layout_["uirevision"] = f"wall-{scale:.2f}"  # a new screen size is a new view
    data = []
    for trace in fig["data"]:
        if "textfont" in trace or "marker" in trace or "line" in trace:
            trace = dict(trace)
            if "textfont" in trace:
                trace["textfont"] = {
                    **trace["textfont"],
                    "size": round(trace["textfont"].get("size", 14) * scale),
                }
            line = trace.get("line")
            if isinstance(line, dict) and "width" in line:
                trace["line"] = {**line, "width": line["width"] * scale}
            marker = trace.get("marker")
            if isinstance(marker, dict) and "size" in marker:
                size = marker["size"]
                marker = {
                    **marker,
                    "size": [v * scale for v in size] if isinstance(size, list | tuple) else size * scale,
                }
                trace["marker"] = marker
        data.append(trace)
    fig["data"] = data
    return fig


def build_ticker(snap: Any, svc: Any, lang: str) -> list[Any]:
    """The scrolling line: the active warnings, then the newest incidents (their text as text)."""
    parts: list[Any] = [
        html.Span(
            f"【{Level(w['level']).zh_color}】{w['summary']}", className=f"tick-warning level-{w['level']}"
        )
        for w in snap.warnings
    ] or [html.Span(t("wall.no_warnings", lang))]
    if snap.latest_incidents:
        parts.append(html.Span(t("wall.latest_incidents", lang), className="tick-label"))
        for inc in snap.latest_incidents:
            what = t_or(f"incident.type.{inc['type']}", lang, inc["type"])
            text = (
                f"{svc.local(inc['at']):%H:%M} {inc['district']} {what}"
                f"（{inc['severity']}级）{inc['description']}"
            )
            parts.append(html.Span(text, className="tick-incident"))
    return parts


def refresh(_n: int | None, lang: str | None, width: float | None, seen: Any = None) -> tuple[Any, ...]:
    from dashboard.services import services

    svc = services()
    lang = lang or "zh"
    snap = svc.wall().get()
    ticker = build_ticker(snap, svc, lang)
    clock = svc.local(svc.now()).strftime("%Y-%m-%d %H:%M")
    glyphs = request.host_url.rstrip("/") + "/map/glyphs/{fontstack}/{range}.pbf"
    scale = (width or BASE_WIDTH) / BASE_WIDTH
    drawn = [snap.figure_key, width or BASE_WIDTH]
    # The map is only sent when it changed (new content or a new screen size): redrawing a WebGL map
    # every poll would cancel its own glyph loads, and resending it unchanged wastes the network.
    the_map = dash.no_update if seen == drawn else for_screen(snap.figure_json, width or BASE_WIDTH, glyphs)
    return (
        clock,
        t(f"wall.scene.{snap.scene}", lang),
        build_kpis(snap, svc, lang),
        the_map,
        build_warnings(snap, lang),
        build_trend(snap, svc, lang, scale),
        ticker,
        drawn,
    )


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/wall", title="城市运行大屏 · cityops", layout=layout)
    app.callback(
        Output(ID_CLOCK, "children"),
        Output(ID_SCENE, "children"),
        Output(ID_KPIS, "children"),
        Output(ID_MAP, "figure"),
        Output(ID_WARNINGS, "children"),
        Output(ID_TREND, "figure"),
        Output(ID_TICKER, "children"),
        Output(ID_SEEN, "data"),
        Input(ID_INTERVAL, "n_intervals"),
        State(ID_LANG, "data"),
        Input(ID_SCREEN, "data"),
        State(ID_SEEN, "data"),
    )(refresh)
    # The screen's width, measured in the browser (no server round trip).
    app.clientside_callback(
        "function(n, known) { var w = window.innerWidth; "
        "return w === known ? window.dash_clientside.no_update : w; }",
        Output(ID_SCREEN, "data"),
        Input(ID_INTERVAL, "n_intervals"),
        State(ID_SCREEN, "data"),
    )
