"""/warnings — the duty operators' console: every warning with its evidence, and the actions on it.

The grid lists warnings (open ones first, most severe first) with filters; ``?id=W…`` opens one
(notifications link there) and selecting a row rewrites the URL in place, so a view can be shared.
The detail shows the rule and its citation, the contributing points on a small offline map, the
warned metric's series with its thresholds (and, for predictions, the expected crossing), and the
audit trail.

Actions (acknowledge, assign, comment, resolve, silence) are shown only to principals whose role may
perform them, and :func:`perform_action` checks the role again on the server before anything changes:
hiding a button is courtesy, the check is the callback's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dash
import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, dcc, html

from cityops.base.auth import PERMISSIONS, PermissionDenied, Principal, require
from cityops.base.times import aware_utc, local_text
from dashboard.components import build_nav
from dashboard.figures.warning import (
    EtaMark,
    ThresholdLine,
    build_evidence_map,
    build_series_figure,
    metric_series,
    plotted_metric,
)
from dashboard.i18n import t, t_or
from metrics.levels import Level, level_label
from metrics.warnings.lifecycle import OPEN_STATES, ActionError

PREFIX = "warnings"
ID_LANG = f"{PREFIX}-lang"
ID_INTERVAL = f"{PREFIX}-interval"
ID_SELECTED = f"{PREFIX}-selected"
ID_VERSION = f"{PREFIX}-version"
ID_CLOCK = f"{PREFIX}-clock"
ID_LANG_LINK = f"{PREFIX}-lang-link"
ID_LEVEL = f"{PREFIX}-level"
ID_STATE = f"{PREFIX}-state"
ID_DOMAIN = f"{PREFIX}-domain"
ID_DISTRICT = f"{PREFIX}-district"
ID_RANGE = f"{PREFIX}-range"
ID_DATES = f"{PREFIX}-dates"
ID_COUNT = f"{PREFIX}-count"
ID_GRID = f"{PREFIX}-grid"
ID_DETAIL = f"{PREFIX}-detail"
ID_AUDIT = f"{PREFIX}-audit"
ID_EVIDENCE = f"{PREFIX}-evidence"
ID_MAP = f"{PREFIX}-map"
ID_SERIES = f"{PREFIX}-series"
ID_EVIDENCE_NOTE = f"{PREFIX}-evidence-note"
ID_ACTIONS = f"{PREFIX}-actions"
ID_MESSAGE = f"{PREFIX}-message"
ACT_TYPE = f"{PREFIX}-act"
FIELD_TYPE = f"{PREFIX}-field"

ACTIONS = ("acknowledge", "assign", "comment", "resolve", "silence")
STATES = ("pending", "active", "acknowledged", "suppressed", "resolved")
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
SILENCES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}
LEVEL_CLASS = {1: "lv-red", 2: "lv-orange", 3: "lv-yellow", 4: "lv-blue"}
SERIES_HISTORY = timedelta(hours=6)  # drawn before the condition began
MAX_SERIES = 6  # contributing points drawn as lines (the rest are on the map)
OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


def act_id(action: str) -> dict[str, str]:
    return {"type": ACT_TYPE, "action": action}


def field_id(name: str) -> dict[str, str]:
    return {"type": FIELD_TYPE, "name": name}


# -- values ---------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return (
        value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
    )


def _local_naive(value: Any, tz: str) -> datetime | None:
    at = aware_utc(value)
    return None if at is None else at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def format_age(delta: timedelta) -> str:
    """``45m``, ``3h05m``, ``2d04h``."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 24 * 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes // 1440}d{(minutes % 1440) // 60:02d}h"


def _num(value: Any) -> str:
    if _missing(value):
        return "—"
    v = float(value)
    return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:.0f}"


def _evidence(row: Mapping[str, Any]) -> dict[str, Any]:
    ev = row.get("evidence")
    if isinstance(ev, str):
        try:
            return dict(json.loads(ev))
        except ValueError:
            return {}
    return dict(ev) if isinstance(ev, Mapping) else {}


def level_text(level: Any, lang: str) -> str:
    return level_label(level, lang) or "—"


def state_text(state: str, lang: str) -> str:
    return t_or(f"warnings.state.{state}", lang, state)


def value_text(row: Mapping[str, Any], lang: str, unit: str = "") -> str:
    """The value against its threshold, in words fitting the rule kind."""
    ev = _evidence(row)
    kind = row.get("kind")
    if kind == "predicted":
        eta = ev.get("eta_min", row.get("value"))
        return t("warnings.eta_in", lang).format(eta=f"{float(eta):.0f}") if not _missing(eta) else "—"
    if kind == "k_of_n":
        hits = ev.get("contributing") or []
        return t("warnings.k_of_n", lang).format(hits=len(hits), of=ev.get("of", "—"))
    if kind == "feed_stale":
        return t("warnings.feed_out", lang).format(feed=ev.get("feed") or row.get("key") or "")
    if kind == "compound":
        parts = ev.get("conditions") or []
        return (
            "；".join(
                f"{p.get('label')} {_num(p.get('value'))} "
                f"{OP_TEXT.get(p.get('op'), '')} {_num(p.get('threshold'))}"
                for p in parts
            )
            or "—"
        )
    if _missing(row.get("value")):
        return "—"
    op = OP_TEXT.get(ev.get("op") or ">=", ev.get("op"))
    return t("warnings.value_vs", lang).format(
        value=_num(row.get("value")),
        op=op,
        threshold=_num(row.get("threshold")),
        unit=f" {unit}" if unit else "",
    )


def place_text(row: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """Entity name and its district, or the district / basin / feed the warning is about."""
    name = _text(row.get("name")) or _text(row.get("key"))
    district = names.get(_text(row.get("district_code")), "")
    if row.get("scope") == "entity" and district and district != name:
        return f"{name} · {district}"
    return name or district


def since_of(row: Mapping[str, Any]) -> datetime | None:
    return aware_utc(row.get("activated_at")) or aware_utc(row.get("created_at"))


# -- the list -------------------------------------------------------------------------------------


def range_bounds(
    choice: str | None, start_date: str | None, end_date: str | None, now: datetime, tz: str
) -> tuple[datetime | None, datetime | None]:
    """UTC bounds of the chosen time range (custom: local calendar days, end day included)."""
    if choice in RANGES:
        return now - RANGES[choice], None
    if choice == "custom":
        zone = ZoneInfo(tz)
        lo = (
            datetime.fromisoformat(start_date[:10]).replace(tzinfo=zone).astimezone(UTC)
            if start_date
            else None
        )
        hi = (
            (datetime.fromisoformat(end_date[:10]) + timedelta(days=1)).replace(tzinfo=zone).astimezone(UTC)
            if end_date
            else None
        )
        return lo, hi
    return None, None


def filter_warnings(
    frame: pd.DataFrame,
    *,
    levels: Sequence[int] | None = None,
    states: Sequence[str] | None = None,
    domains: Sequence[str] | None = None,
    districts: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The warnings matching every given filter (an empty or None filter lets everything through).

    A warning is in the time range when it was open at some moment of it: raised before the end, and
    still open or resolved after the start."""
    if frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    if levels:
        keep &= frame["level"].astype(int).isin([int(v) for v in levels])
    if states:
        keep &= frame["state"].isin(list(states))
    if domains:
        keep &= frame["domain"].isin(list(domains))
    if districts:
        keep &= frame["district_code"].isin(list(districts))

    def utc(col: str) -> pd.Series:
        return (
            pd.to_datetime(frame[col]).dt.tz_localize("UTC")
            if pd.to_datetime(frame[col]).dt.tz is None
            else frame[col]
        )

    if start is not None:
        resolved = utc("resolved_at")
        keep &= resolved.isna() | (resolved >= pd.Timestamp(start))
    if end is not None:
        keep &= utc("created_at") < pd.Timestamp(end)
    return frame[keep]


def order_warnings(frame: pd.DataFrame) -> pd.DataFrame:
    """Open warnings first, then the most severe, then the most recent."""
    if frame.empty:
        return frame
    since = pd.to_datetime(frame["activated_at"]).fillna(pd.to_datetime(frame["created_at"]))
    keyed = frame.assign(_closed=~frame["state"].isin(OPEN_STATES), _since=since)
    return keyed.sort_values(
        ["_closed", "level", "_since"], ascending=[True, True, False], kind="stable"
    ).drop(columns=["_closed", "_since"])


def build_rows(
    frame: pd.DataFrame,
    *,
    now: datetime,
    tz: str,
    lang: str,
    names: Mapping[str, str],
    units: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Grid rows (plain values: the grid renders every cell as text, never as HTML)."""
    units = units or {}
    rows = []
    for rec in frame.to_dict("records"):
        level = int(rec["level"])
        since = since_of(rec)
        until = aware_utc(rec.get("resolved_at")) or now
        rows.append(
            {
                "id": rec["warning_id"],
                "level": level,
                "level_text": level_text(level, lang),
                "level_class": LEVEL_CLASS.get(level, ""),
                "title": _text(rec.get("rule_title")),
                "rule_id": _text(rec.get("rule_id")),
                "place": place_text(rec, names),
                "domain": _text(rec.get("domain")),
                "state": rec["state"],
                "state_text": state_text(rec["state"], lang),
                "open": rec["state"] in OPEN_STATES,
                "since": local_text(since, tz),
                "since_iso": "" if since is None else since.astimezone(ZoneInfo(tz)).isoformat(),
                "age": format_age(until - since) if since else "—",
                "acked_by": _text(rec.get("acknowledged_by")),
                "assignee": _text(rec.get("assignee")),
                "value": value_text(rec, lang, units.get(_text(rec.get("rule_id")), "")),
                "summary": _text(rec.get("summary")),
            }
        )
    return rows


def column_defs(lang: str) -> list[dict[str, Any]]:
    level_rules = {f"wl-level {cls}": f"params.data.level === {n}" for n, cls in LEVEL_CLASS.items()}
    return [
        {
            "field": "level",
            "headerName": t("warnings.col.level", lang),
            "width": 150,
            "cellClassRules": level_rules,
            "valueFormatter": {"function": "params.data.level_text"},
        },
        {
            "field": "title",
            "headerName": t("warnings.col.title", lang),
            "width": 260,
            "tooltipField": "summary",
        },
        {"field": "place", "headerName": t("warnings.col.place", lang), "width": 200},
        {
            "field": "state_text",
            "headerName": t("warnings.col.state", lang),
            "width": 100,
            "cellClassRules": {f"ws-{s}": f"params.data.state === '{s}'" for s in STATES},
        },
        {
            "field": "since_iso",
            "headerName": t("warnings.col.since", lang),
            "width": 120,
            "valueFormatter": {"function": "params.data.since"},
        },
        {"field": "age", "headerName": t("warnings.col.age", lang), "width": 90},
        {"field": "acked_by", "headerName": t("warnings.col.acked_by", lang), "width": 170},
        {"field": "assignee", "headerName": t("warnings.col.assignee", lang), "width": 130},
        {"field": "value", "headerName": t("warnings.col.value", lang), "width": 250},
        {
            "field": "summary",
            "headerName": t("warnings.col.summary", lang),
            "flex": 1,
            "minWidth": 240,
            "tooltipField": "summary",
        },
    ]


# -- the detail -----------------------------------------------------------------------------------


def find_rule(pack: Any, rule_id: str) -> Any | None:
    """The rule of the loaded pack, or None (no pack, or the rule has left it)."""
    if pack is None:
        return None
    for rule in pack.rules:
        if rule.id == rule_id:
            return rule
    return None


def _fact(label: str, value: Any, cls: str = "") -> list[Any]:
    return [html.Dt(label), html.Dd(value if value not in (None, "") else "—", className=cls)]


def _evidence_facts(row: Mapping[str, Any], tz: str, lang: str) -> list[Any]:
    ev = _evidence(row)
    out: list[Any] = []
    if row.get("kind") == "predicted" and not _missing(ev.get("eta_min")):
        base = aware_utc(row.get("data_ts")) or aware_utc(row.get("updated_at"))
        if base is not None:
            at = base + timedelta(minutes=float(ev["eta_min"]))
            text = local_text(at, tz)
            if not _missing(ev.get("eta_low")) and not _missing(ev.get("eta_high")):
                text = t("warnings.detail.eta_band", lang).format(
                    at=text,
                    low=local_text(base + timedelta(minutes=float(ev["eta_low"])), tz, "%H:%M"),
                    high=local_text(base + timedelta(minutes=float(ev["eta_high"])), tz, "%H:%M"),
                )
            out += _fact(t("warnings.detail.eta", lang), text)
    if ev.get("contributing"):
        items = [
            html.Li(
                f"{c.get('name') or c.get('entity_id')}  {_num(c.get('value'))} / {_num(c.get('threshold'))}"
            )
            for c in ev["contributing"]
        ]
        out += _fact(t("warnings.detail.contributing", lang), html.Ul(items, className="plain"))
    if ev.get("conditions"):
        items = [
            html.Li(
                f"{c.get('label')}: {_num(c.get('value'))} {c.get('op', '')} {_num(c.get('threshold'))} · "
                + t("warnings.detail.holds" if c.get("holds") else "warnings.detail.not_holds", lang)
            )
            for c in ev["conditions"]
        ]
        out += _fact(t("warnings.detail.conditions", lang), html.Ul(items, className="plain"))
    if ev.get("feed"):
        out += _fact(t("warnings.detail.feed", lang), f"{ev['feed']} ({ev.get('freshness') or ''})")
    return out


def build_detail(
    row: Mapping[str, Any],
    rule: Any | None,
    *,
    pack_version: str | None,
    names: Mapping[str, str],
    tz: str,
    lang: str,
    now: datetime,
) -> html.Div:
    """The warning's header, facts and rule as a component tree (pure; feed text stays text)."""
    level = int(row["level"])
    since = since_of(row)
    acked = row.get("acknowledged_by")
    ack_text = (
        f"{_text(acked)} · {local_text(row.get('acknowledged_at'), tz)}" if not _missing(acked) else "—"
    )
    unit = getattr(rule, "unit", "") if rule is not None else ""
    head = html.Div(
        [
            html.Span(level_text(level, lang), className=f"badge level-badge {LEVEL_CLASS.get(level, '')}"),
            html.H2(_text(row.get("rule_title")), className="warning-title"),
            html.Span(state_text(row["state"], lang), className=f"badge state-badge ws-{row['state']}"),
            html.Span(row["warning_id"], className="mono small"),
        ],
        className="warning-head",
    )
    facts = html.Dl(
        [
            *_fact(t("warnings.detail.place", lang), place_text(row, names)),
            *_fact(
                t("warnings.detail.since", lang),
                f"{local_text(since, tz, '%Y-%m-%d %H:%M')} "
                f"({format_age((aware_utc(row.get('resolved_at')) or now) - since) if since else '—'})",
            ),
            *_fact(t("warnings.detail.value", lang), value_text(row, lang, unit)),
            *_evidence_facts(row, tz, lang),
            *_fact(t("warnings.detail.acknowledged", lang), ack_text),
            *_fact(t("warnings.detail.assignee", lang), _text(row.get("assignee"))),
            *(
                []
                if _missing(row.get("silenced_until"))
                else _fact(
                    t("warnings.detail.silenced_until", lang),
                    local_text(row.get("silenced_until"), tz, "%Y-%m-%d %H:%M"),
                )
            ),
        ],
        className="facts",
    )
    rule_facts = [
        *_fact(t("warnings.detail.rule_id", lang), _text(row.get("rule_id")), "mono"),
        *_fact(t("warnings.detail.kind", lang), _text(row.get("kind"))),
        *_fact(t("warnings.detail.pack", lang), _text(row.get("pack_version"))),
    ]
    if rule is not None:
        rule_facts += _fact(t("warnings.detail.citation", lang), rule.citation, "citation")
        rule_facts += _fact(t("warnings.detail.effective", lang), rule.effective.isoformat())
        note = None
    elif pack_version is None:
        note = html.P(t("warnings.detail.no_pack", lang), className="empty")
    else:
        note = html.P(t("warnings.detail.rule_gone", lang).format(version=pack_version), className="empty")
    return html.Div(
        [
            head,
            html.P(_text(row.get("summary")), className="warning-summary"),
            facts,
            html.H3(t("warnings.detail.rule", lang)),
            html.Dl(rule_facts, className="facts rule-facts"),
            *([note] if note is not None else []),
        ],
        className=f"warning-detail {LEVEL_CLASS.get(level, '')}",
    )


def _level_cell(level: Any, lang: str) -> str:
    return "" if _missing(level) else level_text(int(level), lang)


def build_audit(transitions: pd.DataFrame, *, tz: str, lang: str) -> html.Table | html.P:
    """The audit trail, oldest first: time, actor, from → to, level, reason (comments included)."""
    if transitions.empty:
        return html.P("—", className="empty")
    head = html.Thead(
        html.Tr(
            [html.Th(t(f"warnings.audit.{k}", lang)) for k in ("time", "actor", "change", "level", "reason")]
        )
    )
    body = []
    for rec in transitions.to_dict("records"):
        from_state = _text(rec.get("from_state"))
        change = (
            f"{state_text(from_state, lang) if from_state else '∅'} → {state_text(rec['to_state'], lang)}"
        )
        from_level, to_level = (
            _level_cell(rec.get("from_level"), lang),
            _level_cell(rec.get("to_level"), lang),
        )
        level = to_level if from_level in ("", to_level) else f"{from_level} → {to_level}"
        actor = t("warnings.audit.system", lang) if rec["actor"] == "system" else rec["actor"]
        body.append(
            html.Tr(
                [
                    html.Td(local_text(rec["occurred_at"], tz, "%m-%d %H:%M:%S"), className="mono"),
                    html.Td(actor, className="actor" if rec["actor"] != "system" else "actor system"),
                    html.Td(change),
                    html.Td(level),
                    html.Td(_text(rec.get("reason"))),
                ],
                className="audit-row",
            )
        )
    return html.Table([head, html.Tbody(body)], className="grid compact audit")


def applicable(action: str, state: str) -> bool:
    """Whether an action applies to a warning in ``state`` (the lifecycle decides; this greys buttons)."""
    if action == "acknowledge":
        return state == "active"
    if action == "comment":
        return True
    return state in OPEN_STATES


# -- evidence (reads) -----------------------------------------------------------------------------


def _thresholds(
    row: Mapping[str, Any], rule: Any | None, plotted: str, attrs: Mapping[str, Any], lang: str
) -> list[ThresholdLine]:
    ev = _evidence(row)
    label = t("warnings.fig.threshold", lang)
    if row.get("kind") == "predicted":
        target = attrs.get("warning_level_m")
        if _missing(target):
            target = attrs.get("flood_limit_level_m")
        expects = str(ev.get("expects") or "yellow").upper()
        lvl = Level[expects] if expects in Level.__members__ else Level.YELLOW
        return (
            []
            if _missing(target)
            else [ThresholdLine(float(target), int(lvl), f"{level_text(lvl, lang)} {label} {_num(target)}")]
        )
    if row.get("kind") == "k_of_n":
        values = sorted(
            {float(c["threshold"]) for c in ev.get("contributing") or [] if not _missing(c.get("threshold"))}
        )
        return [
            ThresholdLine(v, int(row["level"]), f"{level_text(row['level'], lang)} {label} {_num(v)}")
            for v in values
        ]
    lines = []
    if rule is not None and rule.levels:
        for lvl, th in rule.ladder():
            if (th.metric or rule.metric) != plotted:
                continue
            value = th.value
            if value is None and th.attr is not None and not _missing(attrs.get(th.attr)):
                value = float(attrs[th.attr]) + th.offset
            if value is not None:
                lines.append(
                    ThresholdLine(float(value), int(lvl), f"{level_text(lvl, lang)} {label} {_num(value)}")
                )
    if not lines and not _missing(row.get("threshold")):
        lines.append(
            ThresholdLine(
                float(row["threshold"]),
                int(row["level"]),
                f"{level_text(row['level'], lang)} {label} {_num(row['threshold'])}",
            )
        )
    return lines


def _points(row: Mapping[str, Any], entities: pd.DataFrame) -> pd.DataFrame:
    ev = _evidence(row)
    if ev.get("contributing"):
        contrib = pd.DataFrame(ev["contributing"])[["entity_id", "value"]]
        return contrib.merge(
            entities[["entity_id", "name", "lon", "lat", "district_code"]], on="entity_id", how="left"
        )
    eid = row.get("entity_id")
    if not _missing(eid):
        found = entities[entities["entity_id"] == eid][["entity_id", "name", "lon", "lat", "district_code"]]
        return found.assign(value=row.get("value"))
    return pd.DataFrame(columns=["entity_id", "name", "lon", "lat", "district_code", "value"])


def load_evidence(svc: Any, row: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """Everything the evidence figures need for one warning (the I/O side; the builders are pure)."""
    from ingest.pipeline import resolve_domain

    tz = svc.settings.city.timezone
    pack = getattr(svc.alerting, "pack", None)
    rule = find_rule(pack, _text(row.get("rule_id")))
    entities = svc.warehouse.entities()
    points = _points(row, entities)
    highlight = (
        [str(row["district_code"])]
        if not _missing(row.get("district_code"))
        else sorted({str(d) for d in points.get("district_code", pd.Series(dtype=str)).dropna()})
    )
    ev = _evidence(row)
    metric = plotted_metric(_text(row.get("kind")), ev.get("metric") or getattr(rule, "metric", None))
    series: list[pd.DataFrame] = []
    thresholds: list[ThresholdLine] = []
    eta = None
    now = svc.now()
    condition = aware_utc(row.get("condition_since")) or now
    end = min(now, (aware_utc(row.get("resolved_at")) or now) + timedelta(hours=2))
    start = max(condition - SERIES_HISTORY, end - timedelta(days=3))
    domain_name = _text(row.get("domain"))
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
                    label=attrs.get("name", eid) if len(ids) > 1 else "",
                )
                series.append(s)
        first = by_id.loc[ids[0]].to_dict() if ids[0] in by_id.index else {}
        thresholds = _thresholds(row, rule, metric, first, lang)
    if row.get("kind") == "predicted" and not _missing(ev.get("eta_min")):
        base = aware_utc(row.get("data_ts")) or aware_utc(row.get("updated_at")) or now

        def at(minutes: Any) -> datetime | None:
            return None if _missing(minutes) else _local_naive(base + timedelta(minutes=float(minutes)), tz)

        eta_at = at(ev["eta_min"])
        if eta_at is not None:
            eta = EtaMark(
                eta_at,
                at(ev.get("eta_low")),
                at(ev.get("eta_high")),
                f"{t('warnings.fig.eta', lang)} {eta_at:%H:%M}",
            )
    frame = pd.concat(series, ignore_index=True) if series else pd.DataFrame(columns=["ts", "value", "label"])
    unit = getattr(rule, "unit", "") if rule is not None else ""
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


# -- layout ---------------------------------------------------------------------------------------


def _filters(lang: str, svc: Any) -> html.Section:
    domains = sorted({f.domain for f in svc.settings.feeds.values()} | set(svc.settings.domains))
    departments: dict[str, set[str]] = {}
    for feed in svc.settings.feeds.values():
        departments.setdefault(feed.domain, set()).add(feed.department)
    domain_options = [
        {
            "label": f"{t_or(f'domain.{d}', lang, d)} · {'、'.join(sorted(departments.get(d, [])))}"
            if departments.get(d)
            else t_or(f"domain.{d}", lang, d),
            "value": d,
        }
        for d in domains
    ]
    districts = svc.warehouse.districts()
    district_options = [
        {"label": n, "value": c} for c, n in zip(districts["code"], districts["name"], strict=True)
    ]
    level_options = [
        {"label": html.Span(level_text(n, lang), className=f"chip {cls}"), "value": n}
        for n, cls in LEVEL_CLASS.items()
    ]
    return html.Section(
        [
            html.Div(
                [
                    html.Label(t("warnings.filter.level", lang)),
                    dcc.Checklist(
                        id=ID_LEVEL,
                        options=level_options,
                        value=list(LEVEL_CLASS),
                        inline=True,
                        className="checks",
                    ),
                ],
                className="filter",
            ),
            html.Div(
                [
                    html.Label(t("warnings.filter.state", lang)),
                    dcc.Checklist(
                        id=ID_STATE,
                        options=[{"label": state_text(s, lang), "value": s} for s in STATES],
                        value=list(STATES),
                        inline=True,
                        className="checks",
                    ),
                ],
                className="filter",
            ),
            html.Div(
                [
                    html.Label(t("warnings.filter.domain", lang)),
                    dcc.Dropdown(
                        id=ID_DOMAIN,
                        options=domain_options,
                        multi=True,
                        placeholder=t("warnings.filter.all", lang),
                    ),
                ],
                className="filter filter-wide",
            ),
            html.Div(
                [
                    html.Label(t("warnings.filter.district", lang)),
                    dcc.Dropdown(
                        id=ID_DISTRICT,
                        options=district_options,
                        multi=True,
                        placeholder=t("warnings.filter.all", lang),
                    ),
                ],
                className="filter filter-wide",
            ),
            html.Div(
                [
                    html.Label(t("warnings.filter.range", lang)),
                    dcc.RadioItems(
                        id=ID_RANGE,
                        options=[
                            {"label": t(f"warnings.range.{k}", lang), "value": k} for k in (*RANGES, "custom")
                        ],
                        value="24h",
                        inline=True,
                        className="checks",
                    ),
                    dcc.DatePickerRange(
                        id=ID_DATES,
                        display_format="YYYY-MM-DD",
                        className="dates",
                        start_date_placeholder_text=t("warnings.date.start", lang),
                        end_date_placeholder_text=t("warnings.date.end", lang),
                    ),
                ],
                className="filter",
            ),
        ],
        className="warnings-filters",
    )


def _actions_panel(principal: Principal, lang: str) -> html.Section:
    """The action form, with a button for each action the principal's role may perform (none: a hint)."""
    allowed = [a for a in ACTIONS if principal.can(a)]
    if not allowed:
        return html.Section(
            html.P(t("warnings.actions.sign_in", lang), className="empty"),
            id=ID_ACTIONS,
            className="warnings-actions",
        )

    def buttons(*actions: str) -> list[html.Button]:
        return [
            html.Button(
                t(f"warnings.action.{a}", lang),
                id=act_id(a),
                n_clicks=0,
                className=f"act act-{a}",
                disabled=True,
            )
            for a in actions
            if a in allowed
        ]

    silence_options = [{"label": t(f"warnings.silence.{k}", lang), "value": k} for k in (*SILENCES, "until")]
    return html.Section(
        [
            html.H3(t("warnings.actions", lang)),
            dcc.Textarea(
                id=field_id("note"), placeholder=t("warnings.field.note", lang), className="note", value=""
            ),
            html.Div(buttons("acknowledge", "comment", "resolve"), className="act-row"),
            html.Div(
                [
                    dcc.Input(
                        id=field_id("assignee"),
                        placeholder=t("warnings.field.assignee", lang),
                        value="",
                        className="text",
                    ),
                    *buttons("assign"),
                ],
                className="act-row",
            ),
            html.Div(
                [
                    html.Label(t("warnings.field.silence_for", lang)),
                    dcc.Dropdown(
                        id=field_id("silence_for"),
                        options=silence_options,
                        value="1h",
                        clearable=False,
                        className="silence-for",
                    ),
                    dcc.Input(
                        id=field_id("silence_until"), type="datetime-local", value="", className="text until"
                    ),
                    *buttons("silence"),
                ],
                className="act-row",
            ),
        ],
        id=ID_ACTIONS,
        className="warnings-actions",
    )


def layout(lang: str = "zh", id: str | None = None, **_: Any) -> html.Div:
    from dashboard.auth import current_principal
    from dashboard.services import services

    lang = lang if lang in ("zh", "en") else "zh"
    principal = current_principal()
    svc = services()
    other = "en" if lang == "zh" else "zh"
    selected = id if isinstance(id, str) and id else None
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            dcc.Store(id=ID_SELECTED, data=selected),
            dcc.Store(id=ID_VERSION, data=0),
            dcc.Interval(id=ID_INTERVAL, interval=10_000),
            build_nav("/warnings", lang, principal),
            html.Header(
                [
                    html.H1(t("warnings.title", lang)),
                    html.Span(id=ID_CLOCK, className="clock"),
                    html.A(
                        t("lang.switch", lang),
                        id=ID_LANG_LINK,
                        href=f"/warnings?lang={other}" + (f"&id={selected}" if selected else ""),
                        className="lang-switch",
                    ),
                ],
                className="page-header",
            ),
            _filters(lang, svc),
            html.Div(id=ID_COUNT, className="warnings-count"),
            dag.AgGrid(
                id=ID_GRID,
                columnDefs=column_defs(lang),
                rowData=[],
                getRowId="params.data.id",
                defaultColDef={"resizable": True, "sortable": True, "suppressMovable": True},
                rowClassRules={"wl-row-closed": "!params.data.open"},
                dashGridOptions={
                    "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
                    "rowHeight": 36,
                    "headerHeight": 38,
                    "tooltipShowDelay": 300,
                    "localeText": {"noRowsToShow": t("warnings.none", lang)},
                    "animateRows": False,
                },
                selectedRows={"ids": [selected]} if selected else [],
                className="warnings-grid",
                style={"height": "380px"},
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(
                                id=ID_DETAIL, children=html.P(t("warnings.select", lang), className="empty")
                            ),
                            html.H3(t("warnings.detail.audit", lang)),
                            html.Div(id=ID_AUDIT),
                        ],
                        className="detail-main",
                    ),
                    html.Div(
                        [
                            _actions_panel(principal, lang),
                            html.Div(id=ID_MESSAGE, role="status", className="warnings-message"),
                            html.Div(
                                [
                                    html.H3(t("warnings.detail.evidence", lang)),
                                    html.Div(id=ID_EVIDENCE_NOTE, className="empty"),
                                    dcc.Graph(
                                        id=ID_MAP,
                                        config={"displayModeBar": False, "scrollZoom": True},
                                        className="evidence-map",
                                    ),
                                    dcc.Graph(
                                        id=ID_SERIES,
                                        config={"displayModeBar": False},
                                        className="evidence-series",
                                    ),
                                ],
                                id=ID_EVIDENCE,
                                className="evidence",
                                style={"display": "none"},
                            ),
                        ],
                        className="detail-side",
                    ),
                ],
                className="warnings-detail-area",
            ),
        ],
        className="page warnings-page",
    )


# -- callbacks ------------------------------------------------------------------------------------


def refresh_grid(
    _n: int | None,
    _version: int | None,
    levels: list[int] | None,
    states: list[str] | None,
    domains: list[str] | None,
    districts: list[str] | None,
    choice: str | None,
    start_date: str | None,
    end_date: str | None,
    selected: str | None,
    lang: str | None,
) -> tuple[Any, ...]:
    from dashboard.services import services

    svc = services()
    lang = lang or "zh"
    tz = svc.settings.city.timezone
    now = svc.now()
    start, end = range_bounds(choice, start_date, end_date, now, tz)
    frame = svc.warehouse.warnings(since=start, limit=5000)
    shown = order_warnings(
        filter_warnings(
            frame, levels=levels, states=states, domains=domains, districts=districts, start=start, end=end
        )
    )
    districts_frame = svc.warehouse.districts()
    names = dict(zip(districts_frame["code"], districts_frame["name"], strict=True))
    pack = getattr(svc.alerting, "pack", None)
    units = {r.id: r.unit for r in pack.rules} if pack is not None else {}
    rows = build_rows(shown, now=now, tz=tz, lang=lang, names=names, units=units)
    n_open = sum(1 for r in rows if r["open"])
    chosen = {"ids": [selected]} if selected and any(r["id"] == selected for r in rows) else dash.no_update
    clock = f"{t('clock.now', lang)} {svc.local(now):%Y-%m-%d %H:%M}"
    return rows, t("warnings.count", lang).format(n=len(rows), open=n_open), clock, chosen


def select_row(selected_rows: list[dict[str, Any]] | None, current: str | None) -> Any:
    """The selected warning follows the grid's selection (an emptied selection keeps the detail)."""
    if not selected_rows or not isinstance(selected_rows, list):
        return dash.no_update
    chosen = selected_rows[0].get("id")
    return chosen if chosen and chosen != current else dash.no_update


def refresh_detail(
    selected: str | None,
    _version: int | None,
    _n: int | None,
    lang: str | None,
    button_ids: list[dict[str, str]],
) -> tuple[Any, Any, list[bool]]:
    from dashboard.services import services

    lang = lang or "zh"
    disabled = [True] * len(button_ids)
    if not selected:
        return html.P(t("warnings.select", lang), className="empty"), None, disabled
    svc = services()
    row = svc.warehouse.warning(selected)
    if row is None:
        return html.P(t("warnings.not_found", lang).format(id=selected), className="empty"), None, disabled
    tz = svc.settings.city.timezone
    pack = getattr(svc.alerting, "pack", None)
    districts = svc.warehouse.districts()
    names = dict(zip(districts["code"], districts["name"], strict=True))
    detail = build_detail(
        row,
        find_rule(pack, row["rule_id"]),
        pack_version=getattr(pack, "version", None),
        names=names,
        tz=tz,
        lang=lang,
        now=svc.now(),
    )
    audit = build_audit(svc.warehouse.warning_transitions(selected), tz=tz, lang=lang)
    return detail, audit, [not applicable(b["action"], row["state"]) for b in button_ids]


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
        series: Any = go.Figure().update_layout(
            height=10,
            paper_bgcolor="rgba(0,0,0,0)",
            plot_bgcolor="rgba(0,0,0,0)",
            xaxis={"visible": False},
            yaxis={"visible": False},
            margin={"l": 0, "r": 0, "t": 0, "b": 0},
        )
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


def actor_of(principal: Principal) -> str:
    """The audit trail's actor: the display name and the sign-in name, e.g. ``值班员（演示）(duty)``."""
    if principal.label == principal.name:
        return principal.name
    gap = "" if principal.label.endswith(("）", "」", "】")) else " "  # no space after a full-width bracket
    return f"{principal.label}{gap}({principal.name})"


def _silence_until(choice: str | None, until: str | None, now: datetime, tz: str) -> datetime | None:
    if choice in SILENCES:
        return now + SILENCES[choice]
    if not until:
        return None
    try:
        local = datetime.fromisoformat(until)
    except ValueError:
        return None
    return (local if local.tzinfo else local.replace(tzinfo=ZoneInfo(tz))).astimezone(UTC)


def _message(text: str, ok: bool) -> html.Div:
    return html.Div(text, className="msg ok" if ok else "msg error", role="status" if ok else "alert")


def perform_action(
    action: str,
    warning_id: str | None,
    *,
    note: str = "",
    assignee: str = "",
    silence_for: str | None = "1h",
    silence_until: str | None = None,
    lang: str = "zh",
) -> tuple[html.Div, bool]:
    """Do ``action`` on the warning as the request's principal, after checking the role here, on the
    server. Returns the message to show and whether anything changed (a refusal changes nothing)."""
    from dashboard.auth import current_principal
    from dashboard.services import services

    principal = current_principal()
    if action not in PERMISSIONS or action not in ACTIONS:
        return _message(t("warnings.refused", lang).format(reason=action), False), False
    try:
        require(principal, action)
    except PermissionDenied:
        who = principal.label or t("auth.anonymous", lang)
        return _message(
            t("warnings.denied", lang).format(action=t(f"warnings.action.{action}", lang), who=who), False
        ), False
    if not warning_id:
        return _message(t("warnings.no_selection", lang), False), False
    svc = services()
    until = None
    if action == "silence":
        until = _silence_until(silence_for, silence_until, svc.now(), svc.settings.city.timezone)
        if until is None:
            return _message(t("warnings.bad_until", lang), False), False
    try:
        svc.engine().act(
            warning_id,
            action,
            actor_of(principal),
            note=(note or "").strip(),
            assignee=assignee or "",
            until=until,
        )
    except ActionError as exc:
        return _message(t("warnings.refused", lang).format(reason=str(exc)), False), False
    return _message(t(f"warnings.done.{action}", lang).format(id=warning_id), True), True


def on_action(
    _clicks: list[int | None],
    values: list[Any],
    ids: list[dict[str, str]],
    warning_id: str | None,
    lang: str | None,
    version: int | None,
) -> tuple[Any, Any, list[Any]]:
    """The buttons' callback: which one was pressed, then :func:`perform_action`."""
    trigger = dash.ctx.triggered_id
    if not isinstance(trigger, dict) or not any(c for c in (_clicks or []) if c):
        return dash.no_update, dash.no_update, [dash.no_update] * len(ids)
    fields = {i["name"]: v for i, v in zip(ids, values, strict=True)}
    message, changed = perform_action(
        str(trigger.get("action")),
        warning_id,
        note=fields.get("note") or "",
        assignee=fields.get("assignee") or "",
        silence_for=fields.get("silence_for"),
        silence_until=fields.get("silence_until"),
        lang=lang or "zh",
    )
    cleared = ["" if changed and i["name"] == "note" else dash.no_update for i in ids]
    return message, ((version or 0) + 1) if changed else dash.no_update, cleared


# The URL follows the selection in place (no navigation: the page, its filters and grid stay), and the
# language link keeps the selection.
URL_SYNC = """function(selected, lang) {
    var p = new URLSearchParams(window.location.search);
    if (selected) { p.set("id", selected); } else { p.delete("id"); }
    var qs = p.toString();
    var url = window.location.pathname + (qs ? "?" + qs : "");
    if (url !== window.location.pathname + window.location.search) {
        window.history.replaceState(null, "", url);
    }
    p.set("lang", lang === "en" ? "zh" : "en");
    return window.location.pathname + "?" + p.toString();
}"""


def register(app: dash.Dash) -> None:
    """Register the page and its callbacks on ``app``."""
    dash.register_page(__name__, path="/warnings", title="预警处置 · cityops", layout=layout)
    app.callback(
        Output(ID_GRID, "rowData"),
        Output(ID_COUNT, "children"),
        Output(ID_CLOCK, "children"),
        Output(ID_GRID, "selectedRows"),
        Input(ID_INTERVAL, "n_intervals"),
        Input(ID_VERSION, "data"),
        Input(ID_LEVEL, "value"),
        Input(ID_STATE, "value"),
        Input(ID_DOMAIN, "value"),
        Input(ID_DISTRICT, "value"),
        Input(ID_RANGE, "value"),
        Input(ID_DATES, "start_date"),
        Input(ID_DATES, "end_date"),
        State(ID_SELECTED, "data"),
        State(ID_LANG, "data"),
    )(refresh_grid)
    app.callback(
        Output(ID_SELECTED, "data"),
        Input(ID_GRID, "selectedRows"),
        State(ID_SELECTED, "data"),
        prevent_initial_call=True,
    )(select_row)
    app.callback(
        Output(ID_DETAIL, "children"),
        Output(ID_AUDIT, "children"),
        Output(act_id(ALL), "disabled"),  # type: ignore[arg-type]
        Input(ID_SELECTED, "data"),
        Input(ID_VERSION, "data"),
        Input(ID_INTERVAL, "n_intervals"),
        State(ID_LANG, "data"),
        State(act_id(ALL), "id"),  # type: ignore[arg-type]
    )(refresh_detail)
    app.callback(
        Output(ID_MAP, "figure"),
        Output(ID_SERIES, "figure"),
        Output(ID_EVIDENCE_NOTE, "children"),
        Output(ID_EVIDENCE, "style"),
        Input(ID_SELECTED, "data"),
        Input(ID_VERSION, "data"),
        State(ID_LANG, "data"),
    )(refresh_evidence)
    app.callback(
        Output(ID_MESSAGE, "children"),
        Output(ID_VERSION, "data"),
        Output(field_id(ALL), "value"),  # type: ignore[arg-type]
        Input(act_id(ALL), "n_clicks"),
        State(field_id(ALL), "value"),
        State(field_id(ALL), "id"),  # type: ignore[arg-type]
        State(ID_SELECTED, "data"),
        State(ID_LANG, "data"),
        State(ID_VERSION, "data"),
        prevent_initial_call=True,
    )(on_action)
    app.clientside_callback(
        URL_SYNC, Output(ID_LANG_LINK, "href"), Input(ID_SELECTED, "data"), State(ID_LANG, "data")
    )
