"""The evidence of one warning on /warnings: the contributing points on a small offline map and the
warned metric's series with its thresholds (and, for predictions, the expected crossing).

:func:`load_evidence` does the reads; the figures are drawn by the pure builders of
:mod:`dashboard.figures.warning`, which the daily snapshot shares."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html

from cityops.base.times import aware_utc
from dashboard.figures.warning import (
    EtaMark,
    ThresholdLine,
    build_evidence_map,
    build_series_figure,
    metric_series,
    plotted_metric,
)
from dashboard.i18n import t
from dashboard.pages.warnings.ids import (
    ID_EVIDENCE,
    ID_EVIDENCE_NOTE,
    ID_LANG,
    ID_MAP,
    ID_SELECTED,
    ID_SERIES,
    ID_VERSION,
)
from dashboard.pages.warnings.values import (
    METRIC_UNITS,
    OVER_METRICS,
    cell_text,
    eta_reached,
    eta_text,
    evidence_of,
    find_rule,
    float_or_none,
    is_missing,
    level_text,
    number_text,
    since_of,
    threshold_label,
)
from dashboard.plotly_locale import graph_config
from metrics.levels import Level
from metrics.warnings.rules import Rule

if TYPE_CHECKING:
    from dashboard.services import Services

SERIES_HISTORY = timedelta(hours=6)  # drawn before the condition began
MAX_SERIES = 6  # contributing points drawn as lines (the rest are on the map)


def _local_naive(value: Any, tz: str) -> datetime | None:
    at = aware_utc(value)
    return None if at is None else at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def _thresholds(
    row: Mapping[str, Any], rule: Rule | None, plotted: str, attrs: Mapping[str, Any], lang: str
) -> list[ThresholdLine]:
    """The threshold lines, each named by its level and what it means (``橙色（二级）：阈值 ≥ 50 mm``,
    ``…：达到警戒水位即触发``), never a bare number."""
    ev = evidence_of(row)
    op = ev.get("op") or (rule.op if rule is not None else ">=")
    unit = rule.unit if rule is not None else ""
    if row.get("kind") == "predicted":
        target = float_or_none(attrs.get("warning_level_m"))
        ref = t("warnings.ref.over_warning_m", lang)
        if target is None:
            target = float_or_none(attrs.get("flood_limit_level_m"))
            ref = t("warnings.ref.over_flood_limit_m", lang)
        expects = str(ev.get("expects") or "yellow").upper()
        lvl = Level[expects] if expects in Level.__members__ else Level.YELLOW
        label = t("warnings.text.line", lang).format(
            level=level_text(lvl, lang), threshold=f"{ref} {number_text(target)} m"
        )
        return [] if target is None else [ThresholdLine(target, int(lvl), label)]
    if row.get("kind") == "k_of_n":
        values = sorted(
            {
                float(c["threshold"])
                for c in ev.get("contributing") or []
                if not is_missing(c.get("threshold"))
            }
        )
        return [
            ThresholdLine(v, int(row["level"]), threshold_label(row["level"], plotted, op, v, lang, unit))
            for v in values
        ]
    lines = []
    if rule is not None and rule.levels:
        for lvl, th in rule.ladder():
            if (th.metric or rule.metric) != plotted:
                continue
            value = th.value
            if value is None and th.attr is not None and not is_missing(attrs.get(th.attr)):
                value = float(attrs[th.attr]) + th.offset
            if value is not None:
                label = threshold_label(lvl, plotted, op, value, lang, unit)
                lines.append(ThresholdLine(float(value), int(lvl), label))
    if not lines and not is_missing(row.get("threshold")):
        label = threshold_label(row["level"], plotted, op, row["threshold"], lang, unit)
        lines.append(ThresholdLine(float(row["threshold"]), int(row["level"]), label))
    return lines


def _points(row: Mapping[str, Any], entities: pd.DataFrame) -> pd.DataFrame:
    ev = evidence_of(row)
    if ev.get("contributing"):
        contrib = pd.DataFrame(ev["contributing"])[["entity_id", "value"]]
        return contrib.merge(
            entities[["entity_id", "name", "lon", "lat", "district_code"]], on="entity_id", how="left"
        )
    eid = row.get("entity_id")
    if not is_missing(eid):
        found = entities[entities["entity_id"] == eid][["entity_id", "name", "lon", "lat", "district_code"]]
        return found.assign(value=row.get("value"))
    return pd.DataFrame(columns=["entity_id", "name", "lon", "lat", "district_code", "value"])


def load_evidence(svc: Services, row: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """Everything the evidence figures need for one warning (the I/O side; the builders are pure)."""
    from ingest.runtime import resolve_domain

    tz = svc.settings.city.timezone
    pack = getattr(svc.alerting, "pack", None)
    rule = find_rule(pack, cell_text(row.get("rule_id")))
    entities = svc.warehouse.entities()
    points = _points(row, entities)
    highlight = (
        [str(row["district_code"])]
        if not is_missing(row.get("district_code"))
        else sorted({str(d) for d in points.get("district_code", pd.Series(dtype=str)).dropna()})
    )
    ev = evidence_of(row)
    metric = plotted_metric(cell_text(row.get("kind")), ev.get("metric") or getattr(rule, "metric", None))
    series: list[pd.DataFrame] = []
    thresholds: list[ThresholdLine] = []
    eta = None
    now = svc.now()
    condition = aware_utc(row.get("condition_since")) or now
    end = min(now, (aware_utc(row.get("resolved_at")) or now) + timedelta(hours=2))
    start = max(condition - SERIES_HISTORY, end - timedelta(days=3))
    domain_name = cell_text(row.get("domain"))
    known = domain_name in svc.settings.domains or domain_name in ("water", "rain", "air", "traffic")
    ids = list(points["entity_id"].dropna().astype(str))[:MAX_SERIES] if len(points) else []
    if metric and known and ids and row.get("kind") != "feed_stale":
        domain = resolve_domain(svc.settings, domain_name)
        by_id = entities.set_index("entity_id")
        for eid in ids:
            attrs = by_id.loc[eid].to_dict() if eid in by_id.index else {}
            obs = svc.warehouse.observations(domain, entity_id=eid, start=start, end=end)
            s = metric_series(obs, domain_name, metric, attrs)
            if len(s):
                s = s.assign(
                    ts=[_local_naive(v, tz) for v in s["ts"]],
                    label=attrs.get("name") or eid,  # the station, never a bare unit
                )
                series.append(s)
        first = by_id.loc[ids[0]].to_dict() if ids[0] in by_id.index else {}
        thresholds = _thresholds(row, rule, metric, first, lang)
    if row.get("kind") == "predicted" and not is_missing(ev.get("eta_min")):
        base = aware_utc(row.get("data_ts")) or aware_utc(row.get("updated_at")) or now

        def at(minutes: Any) -> datetime | None:
            return None if is_missing(minutes) else _local_naive(base + timedelta(minutes=float(minutes)), tz)

        eta_at = at(ev["eta_min"])
        if eta_at is not None and eta_reached(ev["eta_min"]):  # reached: a mark, no window ahead
            eta = EtaMark(eta_at, None, None, eta_text(ev["eta_min"], ev.get("metric"), lang))
        elif eta_at is not None:
            eta = EtaMark(
                eta_at,
                at(ev.get("eta_low")),
                at(ev.get("eta_high")),
                f"{t('warnings.fig.eta', lang)} {eta_at:%H:%M}",
            )
    frame = pd.concat(series, ignore_index=True) if series else pd.DataFrame(columns=["ts", "value", "label"])
    unit = (rule.unit if rule is not None else "") or METRIC_UNITS.get(metric or "", "")
    if metric in OVER_METRICS:
        unit = "m"
    if metric != (ev.get("metric") or getattr(rule, "metric", None)):
        unit = "m" if metric == "level_m" else ""  # a prediction is drawn as the level it predicts
    return {
        "series": frame,
        "thresholds": thresholds,
        "eta": eta,
        "points": points,
        "highlight": highlight,
        "unit": unit,
        "raised_at": _local_naive(since_of(row), tz),
    }


def _blank_figure() -> go.Figure:
    """A figure that takes no room: the series panel when there is no series to draw."""
    return go.Figure().update_layout(
        height=10,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
    )


# -- layout ---------------------------------------------------------------------------------------


def build_evidence_panel(lang: str) -> html.Div:
    """The evidence heading, note, map and series; hidden until :func:`refresh_evidence` fills it."""
    return html.Div(
        [
            html.H3(t("warnings.detail.evidence", lang)),
            html.Div(id=ID_EVIDENCE_NOTE, className="empty"),
            dcc.Graph(
                id=ID_MAP,
                config=cast(dcc.Graph.Config, graph_config(lang, displayModeBar=False, scrollZoom=True)),
                className="evidence-map",
            ),
            dcc.Graph(
                id=ID_SERIES,
                config=cast(dcc.Graph.Config, graph_config(lang, displayModeBar=False)),
                className="evidence-series",
            ),
        ],
        id=ID_EVIDENCE,
        className="evidence",
        style={"display": "none"},
    )


# -- callbacks ------------------------------------------------------------------------------------


def refresh_evidence(
    selected: str | None, _version: int | None, lang: str | None
) -> tuple[Any, Any, Any, dict[str, str]]:
    from flask import request

    from dashboard.offline import map_style
    from dashboard.services import services

    lang = lang or "zh"
    hidden = {"display": "none"}
    if not selected:
        return dash.no_update, dash.no_update, "", hidden
    svc = services()
    row = svc.warehouse.warning(selected)
    if row is None:
        return dash.no_update, dash.no_update, "", hidden
    ev = load_evidence(svc, row, lang)
    settings = svc.settings
    style = map_style(settings, request.host_url.rstrip("/") + "/map/glyphs/{fontstack}/{range}.pbf")
    the_map = build_evidence_map(
        svc.warehouse.districts(),
        ev["points"],
        highlight=ev["highlight"],
        level=int(row["level"]),
        style=style,
        datum=settings.map.tile_datum,
        label_font=settings.map.glyph_stack,
        points_label=t("warnings.fig.points", lang),
    )
    the_map.update_layout(uirevision=selected)
    notes = []
    if ev["series"].empty:
        notes.append(t("warnings.detail.no_series", lang))
        series = _blank_figure()
    else:
        series = build_series_figure(
            ev["series"],
            ev["thresholds"],
            raised_at=ev["raised_at"],
            eta=ev["eta"],
            unit=ev["unit"],
            raised_label=t("warnings.fig.raised", lang),
            eta_band_label=t("warnings.fig.eta_band", lang),
        )
        series.update_layout(uirevision=selected)
    if ev["points"].dropna(subset=["lon", "lat"]).empty if len(ev["points"]) else True:
        notes.append(t("warnings.detail.no_points", lang))
    return the_map, series, " ".join(notes), {}


def register_callbacks(app: dash.Dash) -> None:
    """The evidence follows the selection and every change."""
    app.callback(
        Output(ID_MAP, "figure"),
        Output(ID_SERIES, "figure"),
        Output(ID_EVIDENCE_NOTE, "children"),
        Output(ID_EVIDENCE, "style"),
        Input(ID_SELECTED, "data"),
        Input(ID_VERSION, "data"),
        State(ID_LANG, "data"),
    )(refresh_evidence)
