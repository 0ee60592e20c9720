"""/wall — the operations-centre big screen: dark, large type, fits 1920×1080 and 3840×2160 exactly,
refreshes itself, says how old each panel's data is, and rotates scenes decided by the server."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html
from flask import request

from dashboard.i18n import t, t_or
from dashboard.wall import (
    WarningCard,
    data_delay_minutes,
    department_levels,
    group_warnings,
    page_of,
    unacknowledged_alarms,
)
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
ID_BANNER = f"{PREFIX}-banner"
ID_ROOT = f"{PREFIX}-root"
ID_WAITING = f"{PREFIX}-waiting"
ID_PAGER = f"{PREFIX}-pager"
ID_TOTAL = f"{PREFIX}-total"
CARDS_PER_PAGE = 5  # slots of the warning list (wall.css gives each a fixed height: no card is cut)
PAGE_SECONDS = 10  # each page of warnings stays this long (every screen shows the same page)
# The smallest type on the wall, in px at the design width (1920; scaled with the screen): secondary
# text (data ages, warning details, axes, legends) is 22 px at 1080p, 44 px at 2160p. wall.css holds
# the same minimum in vw (1.15vw).
MIN_TEXT_PX = 22
SECONDARY_COLOUR = "#b4c3d4"  # 9.7:1 on the panels (#0f1a2a), as wall.css: quieter, never faint
BASE_WIDTH = 1920  # the design width; larger screens scale the figures' zoom and type
# The wall's map panel (wall.css: the middle column, above the trend) is about 0.7 of /map's height at
# the same width: the configured zoom, which frames the whole city on /map, is brought out by that much
# so the wall shows the north of the city too; not the whole log2(0.7) ≈ -0.5, where the district
# labels at the wall's larger type would start hiding one another (issue: fit both).
WALL_ZOOM_OFFSET = -0.2

CLASS_ROMAN = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}
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
                    html.Div(id=ID_BANNER, className="wall-banner"),
                    html.Div(id=ID_CLOCK, className="wall-clock"),
                ],
                className="wall-header",
            ),
            html.Section(id=ID_KPIS, className="wall-kpis"),
            html.Section(
                dcc.Graph(
                    id=ID_MAP,
                    figure=WAITING_FIGURE,
                    config={"displayModeBar": False, "staticPlot": False},
                    style={"height": "100%", "width": "100%"},
                ),
                className="wall-map panel",
            ),
            html.Section(id=ID_WARNINGS, className="wall-warnings panel"),
            html.Section(
                dcc.Graph(
                    id=ID_TREND,
                    figure=WAITING_FIGURE,
                    config={"displayModeBar": False, "staticPlot": True},
                    style={"height": "100%", "width": "100%"},
                ),
                className="wall-trend panel",
            ),
            html.Footer(html.Div(id=ID_TICKER, className="ticker-track"), className="wall-ticker"),
            waiting_state(title, lang),
            html.Div(t("wall.reconnecting", lang), id="wall-reconnecting", className="wall-reconnecting"),
        ],
        id=ID_ROOT,
        className="wall",
    )


# Until the first snapshot arrives the graphs hold this (no axes, no grid), not Plotly's empty default.
WAITING_FIGURE: dict[str, Any] = {
    "data": [],
    "layout": {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
    },
}


def waiting_state(title: str, lang: str) -> html.Div:
    """The dark, branded screen a newly opened wall shows until its first snapshot arrives (the first
    refresh hides it)."""
    return html.Div(
        [
            html.Div(className="wall-waiting-mark"),
            html.Div(title, className="wall-waiting-title"),
            html.Div(t("wall.waiting", lang), className="wall-waiting-text"),
            html.Div(html.Div(className="wall-waiting-bar-fill"), className="wall-waiting-bar"),
        ],
        id=ID_WAITING,
        className="wall-waiting",
    )


def _age(svc: Any, now: datetime, at: datetime | None, freshness: str, lang: str) -> html.Div:
    """How old a tile's data is. Fresh: "数据截至 14:05" in the quiet secondary style. Late, stale or
    missing: words ("数据延迟 19 分钟") in the freshness style, which shares no colour with a warning
    level (a late feed must not read as an orange warning)."""
    when = "—" if at is None else svc.local(at).strftime("%H:%M")
    if freshness == "fresh":
        return html.Div(f"{t('wall.as_of', lang)} {when}", className="age age-fresh")
    minutes = data_delay_minutes(now, at)
    if minutes is None:
        words = t("wall.no_data", lang)
    else:
        words = t("wall.delay", lang).format(duration=_duration(minutes, lang))
    return html.Div(words, className=f"age freshness freshness-{freshness}")


def _duration(minutes: int, lang: str) -> str:
    if minutes < 60:
        return t("wall.minutes", lang).format(m=minutes)
    if minutes < 48 * 60:
        return t("wall.hours_minutes", lang).format(h=minutes // 60, m=minutes % 60)
    return t("wall.days", lang).format(d=minutes // (24 * 60))


def _tile(
    title: str,
    value: str,
    detail: str,
    age: html.Div,
    freshness: str,
    level: tuple[int, int] | None,
    lang: str,
    value_class: str = "",
    tile_id: str = "wall-tile",
) -> html.Div:
    """A department's tile. With warnings in force, the tile (border, value, a badge) takes the colour of
    the department's most severe level; otherwise the value keeps its own scale's colour (AQI)."""
    head: list[Any] = [html.Span(title, className="kpi-name")]
    level_class = ""
    if level is not None:
        lv, n = level
        level_class = LEVEL_CLASS[lv]
        head.append(
            html.Span(
                t("wall.tile_level", lang).format(level=_level_name(lv, lang), n=n),
                className=f"badge kpi-badge {level_class}",
            )
        )
    return html.Div(
        [
            html.Div(head, className="kpi-title"),
            html.Div(value, className=f"kpi-value {level_class or value_class}"),
            html.Div(detail, className="kpi-detail"),
            age,
        ],
        className=f"kpi panel fresh-{freshness} {level_class}".strip(),
        id=tile_id,
    )


def _aqi_category(air: dict[str, Any], lang: str) -> str:
    return t_or(f"wall.aqi.{air['level']}", lang, air["category"])


def _level_name(level: int, lang: str) -> str:
    lv = Level(level)
    return lv.zh_color if lang == "zh" else t(f"wall.level.{lv.en}", lang)


def build_kpis(snap: Any, svc: Any, lang: str) -> list[html.Div]:
    k, f, a = snap.kpis, snap.freshness, snap.data_as_of
    levels = department_levels(snap.warnings)

    def tile(dom: str, title: str, value: str, detail: str, value_class: str = "") -> html.Div:
        age = _age(svc, snap.computed_at, a.get(dom), f.get(dom, "never"), lang)
        fresh = f.get(dom, "never")
        return _tile(
            title, value, detail, age, fresh, levels.get(dom), lang, value_class, f"{PREFIX}-tile-{dom}"
        )

    tiles = []
    tr = k.get("traffic")
    tiles.append(
        tile(
            "traffic",
            t("wall.kpi.traffic", lang),
            f"{tr['index']:.1f}" if tr else "—",
            (tr["grade_zh"] if lang == "zh" else tr["grade_en"]) if tr else "",
        )
    )
    air = k.get("air")
    tiles.append(
        tile(
            "air",
            t("wall.kpi.air", lang),
            str(air["aqi"]) if air else "—",
            f"{_aqi_category(air, lang)} · {air['station']}" if air else "",
            f"aqi-{air['level']}" if air else "",
        )
    )
    wa = k.get("water")
    tiles.append(
        tile(
            "water",
            t("wall.kpi.water", lang),
            f"{wa['above_warning']}" if wa else "—",
            (
                f"{t('wall.kpi.water_of', lang)} {wa['stations']} · "
                f"{wa['worst_station']} {wa['worst_over_m']:+.2f} m"
                if wa
                else ""
            ),
        )
    )
    ra = k.get("rain")
    tiles.append(
        tile(
            "rain",
            t("wall.kpi.rain", lang),
            f"{ra['max_3h_mm']:.0f}" if ra else "—",
            f"mm/3h · {ra['gauge_3h']} · 1h {ra['max_1h_mm']:.0f} mm" if ra else "",
        )
    )
    inc = k.get("incident", {"open": 0, "by_class": {}})
    classes = "  ".join(
        t("wall.incident_class", lang).format(roman=CLASS_ROMAN[c], n=n)
        for c, n in sorted(inc["by_class"].items())
        if n
    )
    tiles.append(
        tile(
            "incident",
            t("wall.kpi.incident", lang),
            str(inc["open"]),
            classes or t("wall.none", lang),
        )
    )
    return tiles


def _since(now: datetime, at: Any, lang: str) -> str:
    if at is None:
        return ""
    minutes = data_delay_minutes(now, at) or 0
    return _duration(minutes, lang)


PLACES_BUDGET = 15  # characters of place names on a group card (its one detail line keeps "等 n 处")


def _places(names: tuple[str, ...], lang: str) -> str:
    """As many names as fit the budget, then "等 n 处" for the rest (a card never grows past its slot)."""
    shown: list[str] = []
    used = 0
    for name in names:
        if shown and used + len(name) + 1 > PLACES_BUDGET:
            break
        shown.append(name)
        used += len(name) + 1
    text = "、".join(shown) if lang == "zh" else ", ".join(shown)
    rest = len(names) - len(shown)
    return text + (t("wall.and_more", lang).format(n=rest) if rest else "")


def _data(attributes: dict[str, Any]) -> dict[str, Any]:
    """``data-*`` attributes for a Dash component (its wildcard properties)."""
    return attributes


def build_card(card: WarningCard, now: datetime, lang: str) -> html.Div:
    """One card of the warning list: a level badge, what (and how many), where, since when, and
    whether someone has acknowledged it."""
    level_class = LEVEL_CLASS[card.level]
    if card.kind == "one":
        headline = card.summary
        detail = card.title
    elif card.kind == "rule":
        headline = t("wall.group.rule", lang).format(title=card.title, n=card.count)
        detail = _places(card.places, lang)
    else:
        headline = t("wall.group.district", lang).format(district=card.title, n=card.count)
        detail = _places(card.places, lang)
    if card.unacked == 0:
        ack, ack_class = t("wall.acked", lang), "acked"
    elif card.count == 1:
        ack, ack_class = t("wall.unacked", lang), "unacked"
    else:
        ack, ack_class = t("wall.unacked_n", lang).format(n=card.unacked), "unacked"
    return html.Div(
        [
            html.Div(
                [
                    html.Span(_level_name(card.level, lang), className=f"badge {level_class}"),
                    html.Span(headline, className="w-summary"),
                ],
                className="w-head",
            ),
            html.Div(detail, className="w-detail"),
            html.Div(
                [
                    html.Span(_since(now, card.since, lang), className="w-since"),
                    html.Span(ack, className=ack_class),
                ],
                className="w-meta",
            ),
        ],
        className=f"warning-item {level_class} card-{card.kind}",
        **_data({"data-count": str(card.count)}),
    )


def build_warnings(snap: Any, lang: str, index: int = 0) -> list[Any]:
    """The warning list: every warning in force behind some card, cards grouped (the same rule across
    stations, the same district), a fixed number per page and the pages rotating by the clock, with
    "n / m" so a viewer knows there is more."""
    cards = group_warnings(snap.warnings)
    shown, number, pages = page_of(cards, CARDS_PER_PAGE, index)
    head = html.Div(
        [
            html.Span(t("wall.warnings", lang)),
            html.Span(str(len(snap.warnings)), className="count", id=ID_TOTAL),
            html.Span(f"{number} / {pages}", className="pager", id=ID_PAGER),
        ],
        className="panel-title",
    )
    if not cards:
        return [head, html.Div(t("wall.no_warnings", lang), className="empty")]
    items = [build_card(c, snap.computed_at, lang) for c in shown]
    return [head, html.Div(items, className="warning-list")]


def build_banner(snap: Any, lang: str) -> tuple[Any, str, str]:
    """The alarm banner: held while a red or orange warning waits for an operator's acknowledgement
    (on the console). (children, banner class, wall class)."""
    alarms = unacknowledged_alarms(snap.warnings)
    if not alarms:
        return [], "wall-banner", "wall"
    top = alarms[0]
    level_class = LEVEL_CLASS[top["level"]]
    by_level = {lv: sum(a["level"] == lv for a in alarms) for lv in sorted({a["level"] for a in alarms})}
    text = " · ".join(
        t("wall.banner" if i == 0 else "wall.banner_more", lang).format(level=_level_name(lv, lang), n=n)
        for i, (lv, n) in enumerate(by_level.items())
    )
    return (
        [
            html.Span("⚠", className="banner-icon"),
            html.Span(text, className="banner-what"),
            html.Span(top["summary"], className="banner-summary"),
            html.Span(t("wall.banner_hint", lang), className="banner-hint"),
        ],
        f"wall-banner show {level_class}",
        f"wall alarm alarm-{level_class}",
    )


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
            line={"color": "#ff9a2e", "width": 3 * scale},
        )
    )
    most = tr["incidents"].max()
    top = max(4.0, float(most) * 1.15) if pd.notna(most) else 4.0
    fig.update_layout(
        margin={"l": 56 * scale, "r": 48 * scale, "t": 44 * scale, "b": 36 * scale},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": SECONDARY_COLOUR, "size": round(MIN_TEXT_PX * scale)},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        xaxis={"gridcolor": "#1d2c40", "tickformat": "%H:%M", "nticks": 8},
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
    map_["zoom"] = map_.get("zoom", 8) + math.log2(scale) + WALL_ZOOM_OFFSET
    legend = dict(layout_.get("legend") or {})
    legend["font"] = {**legend.get("font", {}), "size": round(MIN_TEXT_PX * scale)}
    layout_["map"], layout_["legend"], fig["layout"] = map_, legend, layout_
    layout_["font"] = {**(layout_.get("font") or {}), "size": round(MIN_TEXT_PX * scale)}
    margin = layout_.get("margin")
    if isinstance(margin, dict):  # room for the larger type at the edges (a colour scale's end numbers)
        layout_["margin"] = {
            k: v * scale if isinstance(v, int | float) and k != "autoexpand" else v for k, v in margin.items()
        }
    layout_["uirevision"] = f"wall-{scale:.2f}"  # a new screen size is a new view
    data = []
    for trace in fig["data"]:
        if isinstance(trace.get("colorbar"), dict):  # a colour scale's numbers, at the wall's minimum
            trace = {**trace, "colorbar": _readable_colorbar(trace["colorbar"], scale)}
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
            if isinstance(marker, dict) and isinstance(marker.get("colorbar"), dict):
                marker = {**marker, "colorbar": _readable_colorbar(marker["colorbar"], scale)}
                trace["marker"] = marker
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


def _readable_colorbar(colorbar: dict[str, Any], scale: float) -> dict[str, Any]:
    """A colour scale's numbers and title at no less than the wall's smallest type."""
    smallest = round(MIN_TEXT_PX * scale)
    out = dict(colorbar)
    if isinstance(out.get("thickness"), int | float):
        out["thickness"] = out["thickness"] * scale
    tickfont = dict(out.get("tickfont") or {})
    tickfont["size"] = max(smallest, round((tickfont.get("size") or 0) * scale))
    out["tickfont"] = tickfont
    title = out.get("title")
    if isinstance(title, dict):
        font = dict(title.get("font") or {})
        font["size"] = max(smallest, round((font.get("size") or 0) * scale))
        out["title"] = {**title, "font": font}
    return out


def build_ticker(snap: Any, svc: Any, lang: str) -> list[Any]:
    """The scrolling line: the active warnings, then the newest incidents (their text as text)."""
    parts: list[Any] = [
        html.Span(
            (
                f"【{_level_name(w['level'], lang)}】"
                if lang == "zh"
                else f"{_level_name(w['level'], lang)} · "
            )
            + w["summary"],
            className=f"tick-warning level-{w['level']}",
        )
        for w in snap.warnings
    ] or [html.Span(t("wall.no_warnings", lang))]
    if snap.latest_incidents:
        parts.append(html.Span(t("wall.latest_incidents", lang), className="tick-label"))
        for inc in snap.latest_incidents:
            what = t_or(f"incident.type.{inc['type']}", lang, inc["type"])
            severity = f"（{inc['severity']}级）" if lang == "zh" else f" (level {inc['severity']}) "
            text = f"{svc.local(inc['at']):%H:%M} {inc['district']} {what}{severity}{inc['description']}"
            parts.append(html.Span(text, className="tick-incident"))
    return parts


def in_language(snap: Any, lang: str) -> Any:
    """The snapshot with its warnings' titles and summaries in ``lang`` (the snapshot keeps both)."""
    if lang != "en":
        return snap
    from dataclasses import replace

    rows = [
        dict(w, title=w.get("title_en") or w["title"], summary=w.get("summary_en") or w["summary"])
        for w in snap.warnings
    ]
    return replace(snap, warnings=rows)


def refresh(_n: int | None, lang: str | None, width: float | None, seen: Any = None) -> tuple[Any, ...]:
    from dashboard.services import services

    svc = services()
    lang = lang or "zh"
    snap = in_language(svc.wall().get(), lang)
    ticker = build_ticker(snap, svc, lang)
    clock = svc.local(svc.now()).strftime("%Y-%m-%d %H:%M")
    glyphs = request.host_url.rstrip("/") + "/map/glyphs/{fontstack}/{range}.pbf"
    scale = (width or BASE_WIDTH) / BASE_WIDTH
    drawn = [snap.figure_key_for(lang), width or BASE_WIDTH]
    # The map is only sent when it changed (new content or a new screen size): redrawing a WebGL map
    # every poll would cancel its own glyph loads, and resending it unchanged wastes the network.
    the_map = (
        dash.no_update
        if seen == drawn
        else for_screen(snap.figure_json_for(lang), width or BASE_WIDTH, glyphs)
    )
    banner, banner_class, wall_class = build_banner(snap, lang)
    page = int(time.time() // PAGE_SECONDS)  # the wall clock turns the pages: every screen agrees
    return (
        clock,
        t(f"wall.scene.{snap.scene}", lang),
        build_kpis(snap, svc, lang),
        the_map,
        build_warnings(snap, lang, page),
        build_trend(snap, svc, lang, scale),
        ticker,
        drawn,
        banner,
        banner_class,
        wall_class,
        "wall-waiting done",
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
        Output(ID_BANNER, "children"),
        Output(ID_BANNER, "className"),
        Output(ID_ROOT, "className"),
        Output(ID_WAITING, "className"),
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
