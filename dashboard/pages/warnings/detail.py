"""One warning on /warnings: its header, facts and rule (with the citation), and its audit trail, as
component trees built by pure functions; and the callback that shows them for the selected warning and
greys the action buttons that do not apply. Department text stays text: nothing here is HTML."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import dash
import pandas as pd
from dash import ALL, Input, Output, State, html

from cityops.base.times import aware_utc, local_text
from dashboard.i18n import t, t_or
from dashboard.pages.warnings.actions import applicable
from dashboard.pages.warnings.ids import (
    ID_AUDIT,
    ID_DETAIL,
    ID_INTERVAL,
    ID_LANG,
    ID_SELECTED,
    ID_VERSION,
    act_id,
)
from dashboard.pages.warnings.values import (
    LEVEL_CLASS,
    cell_text,
    condition_text,
    eta_reached,
    evidence_of,
    find_rule,
    format_age,
    is_missing,
    level_text,
    place_text,
    point_text,
    reason_text,
    since_of,
    state_text,
    summary_text,
    title_text,
    value_text,
)
from metrics.warnings.rules import Rule


def _fact(label: str, value: Any, cls: str = "") -> list[Any]:
    return [html.Dt(label), html.Dd(value if value not in (None, "") else "—", className=cls)]


def _evidence_facts(row: Mapping[str, Any], rule: Rule | None, tz: str, lang: str) -> list[Any]:
    ev = evidence_of(row)
    out: list[Any] = []
    if row.get("kind") == "predicted" and not is_missing(ev.get("eta_min")):
        base = aware_utc(row.get("data_ts")) or aware_utc(row.get("updated_at"))
        # reached (0 minutes left): the value line says so; there is no time ahead to show
        if base is not None and not eta_reached(ev["eta_min"]):
            at = base + timedelta(minutes=float(ev["eta_min"]))
            text = local_text(at, tz)
            if not is_missing(ev.get("eta_low")) and not is_missing(ev.get("eta_high")):
                low = local_text(base + timedelta(minutes=float(ev["eta_low"])), tz, "%H:%M")
                high = local_text(base + timedelta(minutes=float(ev["eta_high"])), tz, "%H:%M")
                if low != high:  # a band of one minute says nothing more than the time itself
                    text = t("warnings.detail.eta_band", lang).format(at=text, low=low, high=high)
            out += _fact(t("warnings.detail.eta", lang), text)
    if ev.get("contributing"):
        metric = ev.get("metric") or (rule.metric if rule is not None else None)
        op = ev.get("op") or (rule.op if rule is not None else ">=")
        unit = rule.unit if rule is not None else ""
        items = [html.Li(point_text(c, metric, op, lang, unit)) for c in ev["contributing"]]
        out += _fact(t("warnings.detail.contributing", lang), html.Ul(items, className="plain"))
    if ev.get("conditions"):
        items = [
            html.Li(
                f"{condition_text(c, lang)} · "
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
    rule: Rule | None,
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
        f"{cell_text(acked)} · {local_text(row.get('acknowledged_at'), tz)}" if not is_missing(acked) else "—"
    )
    unit = rule.unit if rule is not None else ""
    head = html.Div(
        [
            html.Span(level_text(level, lang), className=f"badge level-badge {LEVEL_CLASS.get(level, '')}"),
            html.H2(title_text(row, lang, rule), className="warning-title"),
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
            *_evidence_facts(row, rule, tz, lang),
            *_fact(t("warnings.detail.acknowledged", lang), ack_text),
            *_fact(t("warnings.detail.assignee", lang), cell_text(row.get("assignee"))),
            *(
                []
                if is_missing(row.get("silenced_until"))
                else _fact(
                    t("warnings.detail.silenced_until", lang),
                    local_text(row.get("silenced_until"), tz, "%Y-%m-%d %H:%M"),
                )
            ),
        ],
        className="facts",
    )
    rule_facts = [
        *_fact(t("warnings.detail.rule_id", lang), cell_text(row.get("rule_id")), "mono"),
        *_fact(
            t("warnings.detail.kind", lang),
            t_or(f"warnings.kind.{cell_text(row.get('kind'))}", lang, cell_text(row.get("kind"))),
        ),
        *_fact(t("warnings.detail.pack", lang), cell_text(row.get("pack_version"))),
    ]
    if rule is not None:
        citation = rule.citation_en if lang == "en" and rule.citation_en else rule.citation
        rule_facts += _fact(t("warnings.detail.citation", lang), citation, "citation")
        rule_facts += _fact(t("warnings.detail.effective", lang), rule.effective.isoformat())
        note = None
    elif pack_version is None:
        note = html.P(t("warnings.detail.no_pack", lang), className="empty")
    else:
        note = html.P(t("warnings.detail.rule_gone", lang).format(version=pack_version), className="empty")
    return html.Div(
        [
            head,
            html.P(summary_text(row, lang), className="warning-summary"),
            facts,
            html.H3(t("warnings.detail.rule", lang)),
            html.Dl(rule_facts, className="facts rule-facts"),
            *([note] if note is not None else []),
        ],
        className=f"warning-detail {LEVEL_CLASS.get(level, '')}",
    )


def _level_cell(level: Any, lang: str) -> str:
    return "" if is_missing(level) else level_text(int(level), lang)


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
        from_state = cell_text(rec.get("from_state"))
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
                    html.Td(reason_text(rec.get("reason"), lang)),
                ],
                className="audit-row",
            )
        )
    return html.Table([head, html.Tbody(body)], className="grid compact audit")


# -- layout ---------------------------------------------------------------------------------------


def build_detail_main(lang: str) -> html.Div:
    """The detail and the audit trail, empty until :func:`refresh_detail` fills them."""
    return html.Div(
        [
            html.Div(id=ID_DETAIL, children=html.P(t("warnings.select", lang), className="empty")),
            html.H3(t("warnings.detail.audit", lang)),
            html.Div(id=ID_AUDIT),
        ],
        className="detail-main",
    )


# -- callbacks ------------------------------------------------------------------------------------


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


def register_callbacks(app: dash.Dash) -> None:
    """The detail follows the selection, every change and the clock."""
    app.callback(
        Output(ID_DETAIL, "children"),
        Output(ID_AUDIT, "children"),
        Output(act_id(ALL), "disabled"),
        Input(ID_SELECTED, "data"),
        Input(ID_VERSION, "data"),
        Input(ID_INTERVAL, "n_intervals"),
        State(ID_LANG, "data"),
        State(act_id(ALL), "id"),
    )(refresh_detail)
