"""/audit — the audit log, for administrators: every sign-in (refused ones too) and every change, with
who, their role, their address and the time, newest first; filters by date (the city's calendar days),
actor, action family and outcome; the same rows as a CSV download (``/audit/export.csv?<filters>``).

The role is checked on the server: the layout shows the filters to administrators only, the callback
that reads the log and the export route check again whoever asks. Everything in the log may have been
typed by anyone (a refused sign-in's name): it is shown as text (Dash escapes it), never as markup, and
exported with spreadsheet formulas neutralised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from cityops.base.audit import ACTION_FAMILIES, OUTCOMES
from cityops.base.times import local_text
from dashboard.auth import current_principal
from dashboard.components import build_header, build_nav
from dashboard.i18n import t, t_or
from dashboard.pages.warnings.values import dropdown_labels

PREFIX = "audit"
ID_LANG = f"{PREFIX}-lang"
ID_BODY = f"{PREFIX}-body"
ID_DATES = f"{PREFIX}-dates"
ID_ACTOR = f"{PREFIX}-actor"
ID_ACTION = f"{PREFIX}-action"
ID_OUTCOME = f"{PREFIX}-outcome"
ID_MORE = f"{PREFIX}-more"
ID_LOG = f"{PREFIX}-log"
ID_EXPORT = f"{PREFIX}-export"
COLUMNS = ("time", "actor", "role", "kind", "address", "action", "subject", "outcome", "detail")
OUTCOME_CLASS = {"ok": "badge fresh", "refused": "badge stale", "failed": "badge late"}
ROLE_KEYS = ("viewer", "analyst", "operator", "admin")
KIND_KEYS = tuple(f"audit.kind.{k}" for k in ("user", "display", "anonymous", "cli", "system"))
PAGE_ROWS = 200
MAX_ROWS = 10_000  # the page's ceiling; the export and `cityops audit` read more
EXPORT_LIMIT = 1_000_000


@dataclass(frozen=True)
class AuditFilter:
    """What the page and its export show: local calendar days (inclusive), a part of the actor's name,
    an action family, an outcome. Every field is optional."""

    start: date | None = None
    end: date | None = None
    actor: str = ""
    action: str = ""
    outcome: str = ""

    def window(self, tz: str) -> tuple[datetime | None, datetime | None]:
        """The UTC instants of the local days: from the start day's midnight to the one after the end."""
        zone = ZoneInfo(tz)
        since = datetime.combine(self.start, time(), zone) if self.start else None
        until = datetime.combine(self.end + timedelta(days=1), time(), zone) if self.end else None
        return since, until

    def query(self) -> str:
        """The export link's query string (only the fields set)."""
        pairs = {
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "actor": self.actor,
            "action": self.action,
            "outcome": self.outcome,
        }
        return urlencode({k: v for k, v in pairs.items() if v})


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def parse_filter(values: Mapping[str, Any]) -> AuditFilter:
    """A filter from the page's controls or the export's query; anything unknown is dropped."""
    action = str(values.get("action") or "")
    outcome = str(values.get("outcome") or "")
    return AuditFilter(
        start=_date(values.get("start")),
        end=_date(values.get("end")),
        actor=str(values.get("actor") or "").strip()[:64],
        action=action if action in ACTION_FAMILIES else "",
        outcome=outcome if outcome in OUTCOMES else "",
    )


def read_events(warehouse: Any, flt: AuditFilter, tz: str, limit: int) -> pd.DataFrame:
    since, until = flt.window(tz)
    return warehouse.audit_events(
        since=since,
        until=until,
        actor=flt.actor or None,
        action=flt.action or None,
        outcome=flt.outcome or None,
        limit=limit,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def build_log(frame: pd.DataFrame, tz: str, lang: str) -> html.Div:
    """The table of events (pure given its inputs): times in the city's timezone, every text as text."""
    if frame.empty:
        return html.Div(html.P(t("audit.none", lang), className="empty"))
    head = html.Thead(html.Tr([html.Th(t(f"audit.col.{c}", lang)) for c in COLUMNS]))
    rows = []
    for rec in frame.to_dict("records"):
        outcome = _text(rec["outcome"])
        kind = _text(rec["actor_kind"])
        detail = _text(rec["detail"])
        rows.append(
            html.Tr(
                [
                    html.Td(local_text(rec["at"], tz, "%Y-%m-%d %H:%M:%S"), className="nowrap"),
                    html.Td(_text(rec["actor"])),
                    html.Td(
                        t(f"role.{rec['role']}", lang) if rec["role"] in ROLE_KEYS else _text(rec["role"])
                    ),
                    html.Td(t(f"audit.kind.{kind}", lang) if f"audit.kind.{kind}" in KIND_KEYS else kind),
                    html.Td(_text(rec["address"]), className="mono small"),
                    html.Td(
                        t_or(f"audit.action.{_text(rec['action'])}", lang, _text(rec["action"])),
                        title=_text(rec["action"]),
                    ),
                    html.Td(_text(rec["subject"])),
                    html.Td(
                        html.Span(
                            t(f"audit.outcome.{outcome}", lang) if outcome in OUTCOME_CLASS else outcome,
                            className=OUTCOME_CLASS.get(outcome, "badge never"),
                        ),
                        className="nowrap",
                    ),
                    html.Td("" if detail == "{}" else detail, className="small"),
                ],
                className=f"row-{outcome}",
            )
        )
    return html.Div(
        [
            html.P(t("audit.shown", lang).format(n=len(frame)), className="small", id=f"{PREFIX}-count"),
            html.Table([head, html.Tbody(rows)], className="grid audit", id=f"{PREFIX}-table"),
        ]
    )


def _filter(label: str, *controls: Any) -> html.Div:
    return html.Div([html.Label(label), *controls], className="filter")


def build_filters(lang: str) -> html.Div:
    every = [{"label": t("audit.filter.all", lang), "value": ""}]
    return html.Div(
        [
            _filter(
                t("audit.filter.dates", lang),
                dcc.DatePickerRange(
                    id=ID_DATES,
                    display_format="YYYY-MM-DD",
                    start_date_placeholder_text=t("audit.filter.start", lang),
                    end_date_placeholder_text=t("audit.filter.end", lang),
                ),
            ),
            _filter(
                t("audit.filter.actor", lang),
                dcc.Input(
                    id=ID_ACTOR,
                    value="",
                    debounce=True,
                    maxLength=64,
                    placeholder=t("audit.filter.actor_hint", lang),
                    className="text",
                    style={"width": "180px"},
                ),
            ),
            _filter(
                t("audit.filter.action", lang),
                dcc.Dropdown(
                    id=ID_ACTION,
                    options=every
                    + [{"label": t(f"audit.family.{f}", lang), "value": f} for f in ACTION_FAMILIES],
                    value="",
                    clearable=False,
                    style={"minWidth": "180px"},
                    labels=dropdown_labels(lang),
                ),
            ),
            _filter(
                t("audit.filter.outcome", lang),
                dcc.Dropdown(
                    id=ID_OUTCOME,
                    options=every + [{"label": t(f"audit.outcome.{o}", lang), "value": o} for o in OUTCOMES],
                    value="",
                    clearable=False,
                    style={"minWidth": "120px"},
                    labels=dropdown_labels(lang),
                ),
            ),
            html.A(t("audit.export", lang), id=ID_EXPORT, href="/audit/export.csv", className="export"),
        ],
        className="warnings-filters",
    )


def layout(lang: str = "zh", **_: Any) -> html.Div:
    lang = lang if lang in ("zh", "en") else "zh"
    other = "en" if lang == "zh" else "zh"
    principal = current_principal()
    body: Any = (
        html.Section(
            [
                build_filters(lang),
                html.Div(id=ID_LOG),
                html.Button(t("audit.more", lang), id=ID_MORE, n_clicks=0, hidden=True, className="more"),
            ],
            id=ID_BODY,
        )
        if principal.can("audit")
        else html.Section(html.P(t("audit.denied", lang), className="error-text"), id=ID_BODY)
    )
    return html.Div(
        [
            dcc.Store(id=ID_LANG, data=lang),
            build_nav("/audit", lang, principal),
            build_header(
                t("audit.title", lang), lang, f"/audit?lang={other}", subtitle=t("audit.subtitle", lang)
            ),
            body,
        ],
        className="page audit-page",
    )


def refresh(
    start: Any, end: Any, actor: Any, action: Any, outcome: Any, more: int | None, lang: str | None
) -> tuple[Any, str, bool]:
    """The log, the export link and whether to hide "more", for the filters — administrators only,
    checked here on the server."""
    from cityops.base.auth import PermissionDenied, require
    from dashboard.services import services

    lang = lang if lang in ("zh", "en") else "zh"
    try:
        require(current_principal(), "audit")
    except PermissionDenied:
        return html.P(t("audit.denied", lang), className="error-text"), "", True
    flt = parse_filter({"start": start, "end": end, "actor": actor, "action": action, "outcome": outcome})
    limit = min(MAX_ROWS, PAGE_ROWS * (1 + max(0, int(more or 0))))
    svc = services()
    tz = svc.settings.city.timezone
    frame = read_events(svc.warehouse, flt, tz, limit + 1)
    more_hidden = not (len(frame) > limit and limit < MAX_ROWS)
    return build_log(frame.head(limit), tz, lang), f"/audit/export.csv?{flt.query()}".rstrip("?"), more_hidden


def export_frame(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The rows as a spreadsheet reads them: local time with its zone, texts neutralised."""
    from cityops.base.exports import neutralise_frame

    out = pd.DataFrame(
        {
            "time_local": [local_text(v, tz, "%Y-%m-%d %H:%M:%S") for v in frame["at"]],
            "timezone": tz,
            **{c: frame[c].astype("object") for c in frame.columns if c not in ("at",)},
        }
    )
    return neutralise_frame(out)


def export_response() -> Any:
    """``/audit/export.csv?<filters>``: the filtered log as CSV (UTF-8 with a BOM) — administrators only."""
    from flask import Response, request

    from dashboard.services import services

    if not current_principal().can("audit"):
        return Response("the audit log needs the admin role\n", status=403, mimetype="text/plain")
    svc = services()
    tz = svc.settings.city.timezone
    flt = parse_filter(request.args)
    frame = export_frame(read_events(svc.warehouse, flt, tz, EXPORT_LIMIT), tz)
    stamp = svc.local(svc.now()).strftime("%Y%m%d-%H%M")
    headers = {
        "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
        "Cache-Control": "no-store",
    }
    body = ("\ufeff" + frame.to_csv(index=False)).encode("utf-8")
    return Response(body, content_type="text/csv; charset=utf-8", headers=headers)


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path="/audit", title="审计日志 · cityops", layout=layout)
    app.server.add_url_rule("/audit/export.csv", endpoint="audit_export", view_func=export_response)
    app.callback(
        Output(ID_LOG, "children"),
        Output(ID_EXPORT, "href"),
        Output(ID_MORE, "hidden"),
        Input(ID_DATES, "start_date"),
        Input(ID_DATES, "end_date"),
        Input(ID_ACTOR, "value"),
        Input(ID_ACTION, "value"),
        Input(ID_OUTCOME, "value"),
        Input(ID_MORE, "n_clicks"),
        State(ID_LANG, "data"),
    )(refresh)
